/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The disk-format driver contract (see man/vimg-driver.7) and the helpers the
 * core offers drivers. One `const struct vimg_driver` per format, registered
 * in libvimg/registry.c. The core has already checked the bounds of every
 * request (offsets and lengths are bytes, any alignment); drivers answer block_status for their own layer only and never
 * open or walk backing files (they ask vimg_read_below for what lies beneath).
 * Nothing here is exported from libvimg.so.
 */
#ifndef VIMG_DRIVER_H
#define VIMG_DRIVER_H

#include "vimg.h"

#define VIMG_PROBE_HEAD (64 * 1024)
#define VIMG_PROBE_TAIL (64 * 1024)

struct vimg_probe {
	const uint8_t *head;	/* first bytes of the file */
	size_t head_len;	/* <= VIMG_PROBE_HEAD, less for small files */
	const uint8_t *tail;	/* last bytes of the file */
	size_t tail_len;
	uint64_t file_size;
	const char *name;	/* path, for hints only */
};

enum vimg_thread_model {
	VIMG_THREAD_SERIALIZE = 0,	/* one mutex around every driver call */
	VIMG_THREAD_PARALLEL_READS = 1,	/* read/block_status concurrently (rwlock) */
};

/* Write flags. */
#define VIMG_WRITE_FUA (1u << 0)

struct vimg_opts; /* parsed create options, see opts_get_* */

/* What the core passes to create about the backing file. */
struct vimg_backing_spec {
	const char *name;	/* as it must be recorded in the image */
	const char *format;	/* recorded backing format, or NULL */
	/* The backing image, opened read-only by the core (its format may be
	 * checked with vimg_image_format), or NULL when the caller asked for
	 * VIMG_CREATE_NO_BACKING_CHECK. */
	struct vimg_image *image;
};

struct vimg_driver {
	const char *name;
	/* qemu's name for the format where it differs ("vpc"): accepted wherever
	 * a format is named, and written where qemu reads a format name. */
	const char *qemu_name;
	const char *description;
	const char *const *extensions;	/* NULL-terminated, hints only */
	size_t priv_size;		/* zeroed state the core allocates before open */
	/* Only what the callbacks cannot say: VIMG_FEAT_BACKING, _REPAIR,
	 * _MULTI_FILE, _PROBE_WEAK. READ, WRITE, CREATE, CHECK, SNAPSHOTS and
	 * COMPRESS follow from the callbacks filled (registry_features). */
	unsigned features;
	enum vimg_thread_model thread_model;
	const struct vimg_opt_desc *create_opts;

	/* 0..100 from the probe buffers; no I/O, no allocation. Required. */
	int (*probe)(const struct vimg_probe *p);
	/*
	 * Parse and validate; fill img through image_set_*. `file` is the main
	 * file, owned by the core. flags: VIMG_OPEN_*. Required.
	 */
	int (*open)(struct vimg_image *img, struct vimg_file *file, unsigned flags,
		    struct vimg_error *err);
	/* Parent opened: check a format-specific link (CID, GUID). Optional. */
	int (*backing_opened)(struct vimg_image *img, struct vimg_image *parent,
			      struct vimg_error *err);
	/* Record a new parent (name as it must be written, the parent opened by
	 * the core) or none (both NULL), without touching data. Optional. */
	int (*set_backing)(struct vimg_image *img, const char *name, struct vimg_image *parent,
			   struct vimg_error *err);
	/* Free what the driver allocated; cannot fail (flush is called first). Also
	 * called after a failed open, so it must cope with partly filled state. Required. */
	void (*close)(struct vimg_image *img);

	/* Required: describe one run starting exactly at off (see vimg.h). */
	int (*block_status)(struct vimg_image *img, uint64_t off, uint64_t len,
			    struct vimg_run *run, struct vimg_error *err);
	/* Read a DATA run the core cannot read itself (compressed, encoded).
	 * [off, off+len) lies within one run block_status reported. */
	int (*read)(struct vimg_image *img, void *buf, uint64_t off, size_t len,
		    struct vimg_error *err);
	int (*write)(struct vimg_image *img, const void *buf, uint64_t off, size_t len,
		     unsigned flags, struct vimg_error *err);
	/*
	 * Compress one cluster into out (capacity *out_len, at least len). Must be
	 * thread-safe and take no lock: the core calls it outside the image lock.
	 * Returns 0 with *out_len set, 1 if the data does not compress (write
	 * plainly), or a negative code.
	 */
	int (*compress)(struct vimg_image *img, const void *in, size_t len, void *out,
			size_t *out_len, struct vimg_error *err);
	/* Store an already compressed cluster at cluster-aligned virtual offset off. */
	int (*write_compressed)(struct vimg_image *img, const void *cdata, size_t clen,
				uint64_t off, size_t len, struct vimg_error *err);
	/* Zero through metadata; NULL: the core writes zero buffers. */
	int (*zero)(struct vimg_image *img, uint64_t off, uint64_t len, unsigned flags,
		    struct vimg_error *err);
	/* Change the virtual size to `size` (the core has checked what shrinking
	 * cuts); flags VIMG_RESIZE_*. Set the new size with image_set_size (it may
	 * round up); leave the image unchanged on error. Optional. */
	int (*resize)(struct vimg_image *img, uint64_t size, unsigned flags,
		      struct vimg_error *err);
	/* Change what the options (create's table, parsed) name in an open,
	 * flushed image, refusing what cannot change; qemu-img amend. Optional. */
	int (*amend)(struct vimg_image *img, const struct vimg_opts *opts,
		     struct vimg_error *err);
	/* Drop everything the image's own layer holds, so that it reads its
	 * backing file (qemu-img commit without -d). Optional. */
	int (*make_empty)(struct vimg_image *img, struct vimg_error *err);
	/* Make metadata consistent and durable (the core then fsyncs the main file). */
	int (*flush)(struct vimg_image *img, struct vimg_error *err);

	/* Static: create a new image file at path. */
	int (*create)(const char *path, uint64_t size, const struct vimg_opts *opts,
		      const struct vimg_backing_spec *backing, struct vimg_error *err);
	int (*check)(struct vimg_image *img, struct vimg_check *rep, unsigned fix,
		     struct vimg_error *err);
	int (*info)(struct vimg_image *img, const struct vimg_emit *em, struct vimg_error *err);
	/* Extra host files beyond the main one (extents, external data file). */
	int (*files)(struct vimg_image *img, int (*cb)(void *opaque, const char *path),
		     void *opaque, struct vimg_error *err);
	int (*snapshot_list)(struct vimg_image *img,
			     int (*cb)(void *opaque, const struct vimg_snapshot *s), void *opaque,
			     struct vimg_error *err);
	/* Fill `view` (made by image_view_new) as a read-only snapshot view. */
	int (*snapshot_open)(struct vimg_image *img, const char *id_or_name,
			     struct vimg_image *view, struct vimg_error *err);
	/* Internal snapshots of the active state: take one named `name`, make
	 * one (by id or name) the active state, delete one. Optional. */
	int (*snapshot_create)(struct vimg_image *img, const char *name, struct vimg_error *err);
	int (*snapshot_apply)(struct vimg_image *img, const char *id_or_name,
			      struct vimg_error *err);
	int (*snapshot_delete)(struct vimg_image *img, const char *id_or_name,
			       struct vimg_error *err);
};

/* The registered drivers (registry.c). */
extern const struct vimg_driver vimg_drv_raw;
extern const struct vimg_driver vimg_drv_qcow2;
extern const struct vimg_driver vimg_drv_vmdk;
extern const struct vimg_driver vimg_drv_vhdx;
extern const struct vimg_driver vimg_drv_vhd;
extern const struct vimg_driver vimg_drv_vdi;

const struct vimg_driver *registry_driver(size_t i);
/* A driver's VIMG_FEAT_* bits: the declared ones and those its callbacks imply. */
unsigned registry_features(const struct vimg_driver *d);
/* By vimg's name or qemu's. */
const struct vimg_driver *registry_by_name(const char *name);
/* The name qemu knows the driver by. */
const char *registry_qemu_name(const struct vimg_driver *d);

/* ---- image accessors for drivers (image.c) --------------------------- */

void *image_priv(const struct vimg_image *img);
struct vimg_file *image_file(const struct vimg_image *img);
const char *image_path(const struct vimg_image *img);
/* Directory the image lives in: names inside the image resolve against it. */
const char *image_dir(const struct vimg_image *img);
bool image_is_writable(const struct vimg_image *img);
unsigned image_open_flags(const struct vimg_image *img);
void image_set_size(struct vimg_image *img, uint64_t size);
void image_set_cluster_size(struct vimg_image *img, uint32_t cluster_size);
/* The format takes writes only in increasing offset order (a stream): the
 * copy engine then commits in order whatever its caller asked. */
void image_set_sequential_writes(struct vimg_image *img);
/* Force the image read-only (corrupt bit, unknown autoclear bits...). */
void image_set_read_only(struct vimg_image *img);
/*
 * Record the backing file (name as stored, format or NULL). The core opens it
 * after open() returns. Copies both strings.
 */
int image_set_backing(struct vimg_image *img, const char *name, const char *format,
		      struct vimg_error *err);
/*
 * For create(): the parent image the core opened, which must be of format
 * `format` (a delta of a vmdk is a vmdk, ...). VIMG_EUNSUPPORTED naming both
 * formats otherwise, or when the caller did not let the core open the parent.
 */
int create_backing_parent(const struct vimg_backing_spec *bk, const char *format,
			  struct vimg_image **parent, struct vimg_error *err);
/* Whether a backing image is attached (opened). */
bool image_has_backing(const struct vimg_image *img);
/*
 * Open a file named inside the image (extent, external data file), resolved
 * against image_dir under the path policy. The driver owns the result and
 * closes it with file_close in its close().
 */
int image_open_sibling(struct vimg_image *img, const char *name, bool writable,
		       struct vimg_file **out, struct vimg_error *err);
/*
 * For snapshot views: a new read-only image sharing img's driver, main file and
 * backing (not owned), with fresh zeroed priv. Used inside snapshot_open only.
 */
int image_view_new(struct vimg_image *img, struct vimg_image **view, struct vimg_error *err);
/*
 * A writable top layer of driver drv, with no file, over base (borrowed:
 * never closed; the core reads it where the layer answers UNALLOCATED).
 * For unregistered drivers such as the in-memory overlay.
 */
int image_layer_new(const struct vimg_driver *drv, struct vimg_image *base,
		    struct vimg_image **out, struct vimg_error *err);

/* ---- the in-memory overlay (overlay-mem.c) ------------------------------ */

/* Not in the registry: never probed, made only by overlay_mem_open. */
extern const struct vimg_driver vimg_drv_mem;
/*
 * A writable layer over base that keeps every write in memory (at most
 * max_bytes, then VIMG_ENOSPC) and never writes base. Close it with
 * vimg_image_close before base.
 */
int overlay_mem_open(struct vimg_image *base, uint64_t max_bytes, struct vimg_image **out,
		     struct vimg_error *err);
/* Bytes of writes it holds (whole chunks); 0 for any other image. */
uint64_t overlay_mem_bytes(struct vimg_image *img);

/*
 * Read what lies below this layer at [off, off+len): the backing chain, or
 * zeros. For partial writes over unallocated clusters. Takes no lock of img.
 */
int vimg_read_below(struct vimg_image *img, void *buf, uint64_t off, size_t len,
		    struct vimg_error *err);

/* ---- create options (opts.c) ------------------------------------------ */

/* Value of key: the one given, else the table default, else NULL. */
const char *opts_get(const struct vimg_opts *o, const char *key);
bool opts_given(const struct vimg_opts *o, const char *key);
/* Typed getters: 0, or VIMG_EINVAL naming the key when the value is malformed. */
int opts_get_size(const struct vimg_opts *o, const char *key, uint64_t *out,
		  struct vimg_error *err);
int opts_get_uint(const struct vimg_opts *o, const char *key, uint64_t *out,
		  struct vimg_error *err);
int opts_get_bool(const struct vimg_opts *o, const char *key, bool *out,
		  struct vimg_error *err);

/* ---- files (file.c) ---------------------------------------------------- */

#define FILE_RDWR	(1u << 0)
#define FILE_CREATE	(1u << 1) /* create, truncate to 0; fails if it exists and FILE_EXCL */
#define FILE_EXCL	(1u << 2)
#define FILE_NOSYNC	(1u << 3) /* file_fsync does nothing (VIMG_OPEN_NO_SYNC) */

/* Open a host file (O_CLOEXEC). Errors name the path. */
int file_open(const char *path, unsigned flags, struct vimg_file **out, struct vimg_error *err);
void file_close(struct vimg_file *f);
int file_fd(const struct vimg_file *f);
/* Device and inode, to tell two opens of one file apart from two files. */
int file_identity(const struct vimg_file *f, uint64_t *dev, uint64_t *ino,
		  struct vimg_error *err);
bool file_is_block_device(const struct vimg_file *f);
/* Full read; reading past end of file is VIMG_ECORRUPT ("unexpected end of file"). */
int file_pread_full(struct vimg_file *f, void *buf, size_t len, uint64_t off,
		    struct vimg_error *err);
/* Full read; bytes past end of file read as zeros. */
int file_pread_zeroed(struct vimg_file *f, void *buf, size_t len, uint64_t off,
		      struct vimg_error *err);
int file_pwrite_full(struct vimg_file *f, const void *buf, size_t len, uint64_t off,
		     struct vimg_error *err);
/* Write len zero bytes at off (allocating them, unlike file_punch_hole). */
int file_write_zeros(struct vimg_file *f, uint64_t off, uint64_t len, struct vimg_error *err);
int file_fsync(struct vimg_file *f, struct vimg_error *err);
/* Current size (block devices: device size). */
int64_t file_size(struct vimg_file *f, struct vimg_error *err);
int file_truncate(struct vimg_file *f, uint64_t size, struct vimg_error *err);
/* Allocate [off, off+len) (posix_fallocate semantics, extends the file). */
int file_allocate(struct vimg_file *f, uint64_t off, uint64_t len, struct vimg_error *err);
/* Deallocate so the range reads as zeros; VIMG_EUNSUPPORTED if the fs cannot. */
int file_punch_hole(struct vimg_file *f, uint64_t off, uint64_t len, struct vimg_error *err);
/* Next data/hole at or after off via SEEK_DATA/SEEK_HOLE. *found = file size if none.
 * VIMG_EUNSUPPORTED where the fs does not support it. */
int file_seek_data(struct vimg_file *f, uint64_t off, uint64_t *found, struct vimg_error *err);
int file_seek_hole(struct vimg_file *f, uint64_t off, uint64_t *found, struct vimg_error *err);
/* Bytes allocated on the host (st_blocks * 512). */
int64_t file_allocated(struct vimg_file *f, struct vimg_error *err);

/*
 * Until file_window_end, this thread's file_open of exactly `path` opens
 * the bytes of `host` from `base` on, `limit` long (read-only), or to its end
 * (limit UINT64_MAX: writable, created by truncating host to base). Opening
 * any other path meanwhile is refused: a disk inside an archive names no
 * other file. How a disk is read in place inside an OVA, or written into one.
 */
int file_window_begin(const char *path, const char *host, uint64_t base, uint64_t limit,
		      struct vimg_error *err);
void file_window_end(void);
/* The host file of a file opened in a window (and the window), or NULL. */
const char *file_window_of(const struct vimg_file *f, uint64_t *base, uint64_t *limit);

/* A whole small file (configurations), at most max bytes, NUL-terminated;
 * larger is VIMG_ECORRUPT "<what>: <path> is larger than N bytes". */
int file_read_all(const char *path, size_t max, const char *what, char **out, size_t *len,
		  struct vimg_error *err);
/* Replace path with buf atomically: a temporary beside it, fsync, rename,
 * directory fsync. A crash leaves the old file or the new one, never a mix. */
int file_replace(const char *path, const void *buf, size_t len, struct vimg_error *err);

/* ---- path policy (path.c) ----------------------------------------------- */

/*
 * Resolve `name` (relative to dir, or absolute) to a path. Unless allow_escape,
 * the result, with symlinks resolved as far as it exists, must stay inside dir:
 * otherwise VIMG_EACCES naming the path. *out is malloc'd.
 */
int path_resolve(const char *dir, const char *name, bool allow_escape, char **out,
		 struct vimg_error *err);
/* Directory part of path, malloc'd ("." for a bare name). */
char *path_dirname(const char *path);
/* to (a file) as a path relative to the directory from_dir, both resolved
 * through symlinks ("../tmpl/disk.vmdk"); malloc'd, NULL on failure. */
char *path_relative(const char *from_dir, const char *to);

/* ---- bounded allocation (alloc.c) --------------------------------------- */

/*
 * calloc(count, elem_size) after checking the product against overflow and
 * max_bytes; on violation VIMG_ECORRUPT "<what> <count> exceeds limit". `what`
 * should name format and structure ("qcow2: L1 size").
 */
int vimg_alloc_table(uint64_t count, size_t elem_size, uint64_t max_bytes, const char *what,
		     void **out, struct vimg_error *err);

/* ---- text (utf16.c) ------------------------------------------------------ */

/*
 * UTF-16 (be: big-endian, else little-endian) to UTF-8 into out[outsz],
 * NUL-terminated; stops at a NUL code unit. Returns the length, or -1 on
 * malformed input (lone surrogates) or overflow.
 */
int utf16_to_utf8(const uint8_t *in, size_t nbytes, bool be, char *out, size_t outsz);
/* UTF-8 to UTF-16 without terminator; returns the bytes written, or -1. */
int utf8_to_utf16(const char *in, bool be, uint8_t *out, size_t outsz);

/* ---- identity (identity.c) ------------------------------------------------ */

/* Random bytes from getrandom(), with a time-based fallback; never fails. */
void id_random_bytes(void *buf, size_t n);
/* RFC 4122 version-4 UUID, fields big-endian as in its text form. */
void id_uuid_random(uint8_t u[16]);
/* The same for Microsoft GUID layout (first three fields little-endian:
 * VHDX, VHD's neighbour formats, VDI, GPT). */
void id_guid_random(uint8_t g[16]);
void id_uuid_format(const uint8_t u[16], char out[37]);
bool id_uuid_parse(const char *s, uint8_t u[16]);
void id_guid_format(const uint8_t g[16], bool upper, char out[37]);
/* VMware's uuid.bios / uuid.location: random, starting 56 4d. */
void id_vmware_uuid_random(uint8_t u[16]);
/* "56 4d 12 34 56 78 9a bc-de f0 12 34 56 78 9a bc" (47 characters + NUL). */
void id_vmware_uuid_format(const uint8_t u[16], char out[48]);
bool id_vmware_uuid_parse(const char *s, uint8_t u[16]);
/* A VMDK content ID: random, never 0xfffffffe or 0xffffffff. */
uint32_t id_cid_random(void);
/* A MAC in VMware's generated range 00:0c:29:xx:xx:xx. */
void id_mac_vmware_generated(uint8_t mac[6]);
/* "00:0c:29:ab:cd:ef" (':' or '-' separated, any case). */
bool id_mac_parse(const char *s, uint8_t mac[6]);
void id_mac_format(const uint8_t mac[6], char out[18]);

/* Log through the hook set by vimg_set_log (error.c). */
void vimg_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
