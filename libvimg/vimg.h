/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvimg public API: the only header cli/, fuse/ and outside programs include.
 *
 * Conventions (libvimg(3)):
 * - Every fallible function takes a `struct vimg_error *err` last (may be NULL)
 *   and returns 0 or a negative VIMG_E* code; functions returning a quantity
 *   return it as int64_t >= 0, or a negative code.
 * - The caller owns what it passes in; the library copies strings it keeps.
 *   A `const char *` returned by a getter lives until its owning object closes.
 * - The library never prints and never exits.
 * - Reads and block-status queries on one image are safe from several threads;
 *   writes, flush and close must not race with close.
 */
#ifndef VIMG_H
#define VIMG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

/* ---- errors ---------------------------------------------------------- */

enum {
	VIMG_EINVAL = -1,	/* caller misuse or a bad option */
	VIMG_ENOMEM = -2,	/* out of memory */
	VIMG_EIO = -3,		/* system I/O failure; sys_errno says which */
	VIMG_ENOENT = -4,	/* file not found */
	VIMG_EACCES = -5,	/* permission, or refused by the path policy */
	VIMG_EROFS = -6,	/* write to a read-only image */
	VIMG_ENOSPC = -7,	/* no space */
	VIMG_EBUSY = -8,	/* image locked */
	VIMG_EFORMAT = -9,	/* not recognised, or the wrong format */
	VIMG_ECORRUPT = -10,	/* the image violates its specification */
	VIMG_EUNSUPPORTED = -11, /* valid but not implemented / library missing */
	VIMG_ERANGE = -12,	/* request beyond the virtual size */
	VIMG_EBACKING = -13,	/* backing chain broken */
};

#define VIMG_ERROR_MSG_MAX 512

/*
 * A per-call error, on the caller's stack, initialised with VIMG_ERROR_INIT.
 * `msg` is a fixed buffer so that reporting never allocates.
 */
struct vimg_error {
	int code;	/* 0 or a VIMG_E* code */
	int sys_errno;	/* errno behind a system failure, or 0 */
	char msg[VIMG_ERROR_MSG_MAX];
};
#define VIMG_ERROR_INIT { 0, 0, { 0 } }

/* Generic text for a code; never NULL. */
const char *vimg_strerror(int code);

/*
 * Set err (if not NULL and not already set: the first, deepest cause wins).
 * Returns `code`, so `return vimg_error_set(err, VIMG_EINVAL, "...");` works.
 */
int vimg_error_set(struct vimg_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Like vimg_error_set, mapping errnum to a code and appending strerror. */
int vimg_error_set_errno(struct vimg_error *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Prepend "context: " to an already set message. Returns err->code (0 if NULL). */
int vimg_error_prefix(struct vimg_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Reset to VIMG_ERROR_INIT. */
void vimg_error_clear(struct vimg_error *err);

/* Debug log hook; level 0 = errors .. 3 = debug. fn NULL disables. Not thread-safe to change. */
void vimg_set_log(void (*fn)(void *opaque, int level, const char *msg), void *opaque, int level);

/* ---- formats --------------------------------------------------------- */

#define VIMG_FEAT_READ		(1u << 0)
#define VIMG_FEAT_WRITE		(1u << 1)
#define VIMG_FEAT_CREATE	(1u << 2)
#define VIMG_FEAT_BACKING	(1u << 3)
#define VIMG_FEAT_SNAPSHOTS	(1u << 4)
#define VIMG_FEAT_CHECK		(1u << 5)
#define VIMG_FEAT_REPAIR	(1u << 6)
#define VIMG_FEAT_MULTI_FILE	(1u << 7)
#define VIMG_FEAT_PROBE_WEAK	(1u << 8)
#define VIMG_FEAT_COMPRESS	(1u << 9)
#define VIMG_FEAT_RESIZE	(1u << 10)
#define VIMG_FEAT_EMPTY		(1u << 11) /* vimg_image_make_empty */
#define VIMG_FEAT_REBASE	(1u << 12) /* the backing file can change (rebase) */
#define VIMG_FEAT_AMEND		(1u << 13) /* vimg_image_amend */

enum vimg_opt_type {
	VIMG_OPT_STR = 1,	/* free text, or one of `choices` ("a|b|c") */
	VIMG_OPT_SIZE,		/* 64k, 2M, 1G ... */
	VIMG_OPT_UINT,
	VIMG_OPT_BOOL,		/* on/off, true/false, yes/no, 1/0 */
};

/* One create option of a format; tables end with key == NULL. */
struct vimg_opt_desc {
	const char *key;
	enum vimg_opt_type type;
	const char *def;	/* default as text, or NULL */
	const char *choices;	/* for VIMG_OPT_STR: "a|b|c", or NULL for free text */
	const char *help;
};

/*
 * The secret (passphrase bytes) that unlocks encrypted images: one for the
 * process, used by every open of an encrypted image after it (NULL forgets
 * it). The library keeps a copy and wipes it when replaced.
 */
int vimg_set_secret(const void *data, size_t len, struct vimg_error *err);

/* i-th registered format name in probe order, NULL past the end. */
const char *vimg_format_name(size_t i);
/* The format a name means: vimg's own name for it, given that or qemu's
 * ("vpc" is "vhd"); NULL if unknown. Every function taking a format name
 * accepts either. */
const char *vimg_format_canonical(const char *format);
/* The name qemu-img uses for the format ("vpc" for "vhd"); NULL if unknown. */
const char *vimg_format_qemu_name(const char *format);
/* One-line description, or NULL for an unknown format. */
const char *vimg_format_description(const char *format);
/* VIMG_FEAT_* bits of a format, 0 if unknown. */
unsigned vimg_format_features(const char *format);
/* Create-option table of a format (key == NULL terminated), NULL if unknown. */
const struct vimg_opt_desc *vimg_format_create_opts(const char *format);

/* Parse "512", "64k", "1.5G", "2T" (binary units, b/k/M/G/T/P/E, case-insensitive). */
int vimg_parse_size(const char *s, uint64_t *out, struct vimg_error *err);

/* ---- images ---------------------------------------------------------- */

struct vimg_image;
struct vimg_file;

#define VIMG_OPEN_RDWR		(1u << 0) /* open writable (backing files stay read-only) */
#define VIMG_OPEN_ALLOW_ESCAPE	(1u << 1) /* backing/extent names may leave the image's directory */
#define VIMG_OPEN_NO_BACKING	(1u << 2) /* record the backing name but do not open it */
#define VIMG_OPEN_CHECK		(1u << 3) /* opened for check/repair: no automatic repair on open,
					     corrupt images may be opened to be repaired */
#define VIMG_OPEN_NO_SYNC	(1u << 4) /* flush keeps metadata consistent but never fsyncs
					     (qemu's cache=unsafe): faster, not crash-safe */

/* Maximum backing chain depth. */
#define VIMG_MAX_CHAIN_DEPTH 64

/*
 * Open `path`. `format` NULL probes (raw is only a weak fallback); otherwise it
 * names the driver. Backing files are resolved relative to the image's directory
 * under the path policy and opened read-only. On success *out owns everything.
 */
int vimg_image_open(const char *path, const char *format, unsigned flags,
		    struct vimg_image **out, struct vimg_error *err);
/*
 * Flush (if writable) and close; also closes the backing chain it opened.
 * Accepts NULL. Returns the flush result; the image is closed regardless.
 */
int vimg_image_close(struct vimg_image *img, struct vimg_error *err);

/* Getters: strings live until the image closes. */
const char *vimg_image_format(const struct vimg_image *img);
const char *vimg_image_filename(const struct vimg_image *img);
uint64_t vimg_image_virtual_size(const struct vimg_image *img);
/* Allocation unit of the format (qcow2 cluster), 0 if the format has none. */
uint32_t vimg_image_cluster_size(const struct vimg_image *img);
bool vimg_image_is_writable(const struct vimg_image *img);
/* The opened backing image (owned by img), or NULL. */
struct vimg_image *vimg_image_backing(const struct vimg_image *img);
/* Backing name and format as recorded in the image, or NULL. */
const char *vimg_image_backing_name(const struct vimg_image *img);
const char *vimg_image_backing_format(const struct vimg_image *img);
/* Resolved path of the backing file (whether or not opened), or NULL. */
const char *vimg_image_backing_path(const struct vimg_image *img);
/*
 * Make a writable image's layer refer to another backing file (name as it is
 * to be recorded, resolved against the image's directory under the path
 * policy; format NULL probes) or to none (name NULL), without touching its
 * data: qemu-img rebase -u. The new parent is opened and becomes
 * vimg_image_backing(img); formats with a parent link check (VMDK parentCID)
 * record the new parent's identity. VIMG_EBACKING if it would make a loop.
 */
int vimg_image_change_backing(struct vimg_image *img, const char *name, const char *format,
			      struct vimg_error *err);
/*
 * The same parent found under another name (it moved): as
 * vimg_image_change_backing, but the new file must pass the format's link
 * check (VMDK parentCID, VHD parent UUID, VHDX parent_linkage), which is
 * recorded unchanged; VIMG_EBACKING pointing to rebase otherwise. qemu-img
 * amend -o backing_file=.
 */
int vimg_image_move_backing(struct vimg_image *img, const char *name, const char *format,
			    struct vimg_error *err);
/* Bytes the image's files occupy on the host (st_blocks), or a negative code. */
int64_t vimg_image_disk_size(struct vimg_image *img, struct vimg_error *err);
/* Call cb for every host file this image layer consists of (not the backing). */
int vimg_image_files(struct vimg_image *img, int (*cb)(void *opaque, const char *path),
		     void *opaque, struct vimg_error *err);

/*
 * Read/write the virtual disk. off+len must lie within the virtual size
 * (VIMG_ERANGE otherwise). Reads compose the backing chain: unallocated
 * ranges come from the backing image, or read as zeros.
 */
int vimg_image_read(struct vimg_image *img, void *buf, uint64_t off, size_t len,
		    struct vimg_error *err);
int vimg_image_write(struct vimg_image *img, const void *buf, uint64_t off, size_t len,
		     struct vimg_error *err);
/*
 * Write one cluster compressed: off cluster-aligned, len the cluster size (or
 * the tail of the disk). Falls back to a plain write when the data does not
 * compress. VIMG_EUNSUPPORTED if the format has no compression.
 */
int vimg_image_write_compressed(struct vimg_image *img, const void *buf, uint64_t off,
				size_t len, struct vimg_error *err);

#define VIMG_ZERO_MAY_UNMAP (1u << 0) /* the range may be deallocated if it then reads as zero */

/* vimg_image_resize flags: shrinking past allocated data, and how the grown
 * part is allocated (qemu-img resize --preallocation; default off). */
#define VIMG_RESIZE_SHRINK		(1u << 0)
#define VIMG_RESIZE_PREALLOC_METADATA	(1u << 1)
#define VIMG_RESIZE_PREALLOC_FALLOC	(1u << 2)
#define VIMG_RESIZE_PREALLOC_FULL	(1u << 3)
#define VIMG_RESIZE_PREALLOC_MASK	(VIMG_RESIZE_PREALLOC_METADATA | \
					 VIMG_RESIZE_PREALLOC_FALLOC | VIMG_RESIZE_PREALLOC_FULL)
/*
 * Change the virtual size of an image opened writable. Shrinking refuses
 * (VIMG_EINVAL, naming the first allocated offset that would be cut) unless
 * VIMG_RESIZE_SHRINK. A format may round the size (VHD to its CHS geometry):
 * vimg_image_virtual_size says what it became. VIMG_EUNSUPPORTED where the
 * format cannot resize, or cannot preallocate as asked.
 */
int vimg_image_resize(struct vimg_image *img, uint64_t size, unsigned flags,
		      struct vimg_error *err);
/* Make a range read as zeros, through metadata where the format can. */
int vimg_image_zero(struct vimg_image *img, uint64_t off, uint64_t len, unsigned flags,
		    struct vimg_error *err);
/* Make metadata consistent on disk and fsync. */
int vimg_image_flush(struct vimg_image *img, struct vimg_error *err);

/* ---- block status ---------------------------------------------------- */

enum vimg_run_kind {
	VIMG_RUN_DATA = 1,	/* data stored in this layer */
	VIMG_RUN_ZERO = 2,	/* reads as zeros, said by this layer's metadata */
	VIMG_RUN_UNALLOCATED = 3, /* not in this layer: look below (never reported as ZERO) */
};

#define VIMG_RUN_OFFSET_VALID	(1u << 0) /* file/file_off say where the range lies on the host
					     (for DATA: the data itself, uncompressed) */
#define VIMG_RUN_COMPRESSED	(1u << 1)
#define VIMG_RUN_ENCRYPTED	(1u << 2)

/* One run starting at the queried offset. */
struct vimg_run {
	uint64_t length;		/* >= 1, may end before off+len */
	enum vimg_run_kind kind;
	unsigned flags;			/* VIMG_RUN_* */
	struct vimg_file *file;		/* where the data lies, if OFFSET_VALID */
	uint64_t file_off;
};

/* Status of this layer only at [off, off+len). */
int vimg_image_block_status(struct vimg_image *img, uint64_t off, uint64_t len,
			    struct vimg_run *run, struct vimg_error *err);
/*
 * Walk the chain from img down to, not including, `base` (NULL: the whole
 * chain) and report the first layer that says DATA or ZERO, with its depth
 * (0 = img). If no layer has it, kind is UNALLOCATED and depth is the number of
 * layers walked. Past the end of a shorter backing image the run is ZERO at
 * that depth. The run is the longest over which this answer holds.
 */
int vimg_image_block_status_above(struct vimg_image *img, const struct vimg_image *base,
				  uint64_t off, uint64_t len, struct vimg_run *run,
				  unsigned *depth, struct vimg_error *err);
/* Path of a file named by a run (valid while the image is open). */
const char *vimg_file_path(const struct vimg_file *f);

/* ---- creation -------------------------------------------------------- */

#define VIMG_CREATE_ALLOW_ESCAPE (1u << 0) /* backing name may leave the new image's directory */
#define VIMG_CREATE_NO_BACKING_CHECK (1u << 1) /* do not open the backing file (needs size) */

/*
 * Create an image. `options` is "key=val,key=val" checked against the format's
 * create options (NULL for defaults). With a backing file and size 0, the
 * size is the backing image's. The backing name is recorded as given and must
 * resolve (relative to the new image's directory) under the path policy.
 */
int vimg_image_create(const char *path, const char *format, uint64_t size,
		      const char *options, const char *backing, const char *backing_format,
		      unsigned flags, struct vimg_error *err);

/* ---- info emitter ---------------------------------------------------- */

/*
 * Format-specific facts are sent to an emitter the caller owns, so the
 * library never formats output. Inside a list, keys are NULL.
 */
struct vimg_emit {
	void (*str)(void *opaque, const char *key, const char *val);
	void (*u64)(void *opaque, const char *key, uint64_t val);
	void (*i64)(void *opaque, const char *key, int64_t val);
	void (*boolean)(void *opaque, const char *key, bool val);
	void (*begin)(void *opaque, const char *key, bool is_list);
	void (*end)(void *opaque);
	void *opaque;
};

/* Emit the format-specific facts of this layer (may emit nothing). */
int vimg_image_info(struct vimg_image *img, const struct vimg_emit *em, struct vimg_error *err);

/* ---- snapshots ------------------------------------------------------- */

struct vimg_snapshot {
	const char *id;
	const char *name;
	uint64_t vm_state_size;
	uint64_t date_sec;
	uint32_t date_nsec;
	uint64_t vm_clock_nsec;
	uint64_t disk_size;	/* virtual size at the snapshot */
	uint64_t icount;	/* UINT64_MAX if not recorded */
};

/* Call cb for each internal snapshot (none for formats without them). cb returning
 * non-zero stops the walk and that value is returned. */
int vimg_image_snapshot_list(struct vimg_image *img,
			     int (*cb)(void *opaque, const struct vimg_snapshot *s),
			     void *opaque, struct vimg_error *err);
/*
 * Internal snapshots, as qemu-img snapshot -c/-a/-d does them (qcow2).
 * create: take a snapshot named `name` (1..1023 bytes, VIMG_EINVAL otherwise)
 * of the active state, with the next free numeric id; as with qemu-img, a
 * name may repeat, the id is unique. apply: make the snapshot with that id,
 * else that name, the active state (the virtual size follows it). delete:
 * remove the snapshot with that name, else that id (qemu-img -d looks up
 * names only, so a name wins over an equal id).
 * Returns 0, or a negative code: VIMG_EINVAL on bad arguments, VIMG_EROFS
 * unless the image is open writable, VIMG_EUNSUPPORTED "<fmt>: internal
 * snapshots are not supported" for formats without them, VIMG_ENOENT for an
 * unknown snapshot, VIMG_EBUSY while views from vimg_image_snapshot_open are
 * open (close them first). Takes the image's write lock. An interrupted
 * operation leaves at worst leaked clusters.
 */
int vimg_image_snapshot_create(struct vimg_image *img, const char *name,
			       struct vimg_error *err);
int vimg_image_snapshot_apply(struct vimg_image *img, const char *id_or_name,
			      struct vimg_error *err);
int vimg_image_snapshot_delete(struct vimg_image *img, const char *id_or_name,
			       struct vimg_error *err);
/*
 * Open a read-only view of an internal snapshot by id or name. The view shares
 * img's files and backing; close it with vimg_image_close before img.
 */
int vimg_image_snapshot_open(struct vimg_image *img, const char *id_or_name,
			     struct vimg_image **view, struct vimg_error *err);

/* ---- partitions ------------------------------------------------------ */

/* One partition of the virtual disk, as vimg_image_partitions reports it. */
struct vimg_partition {
	unsigned index;		/* 1-based, Linux numbering: primaries 1-4, logicals
				   from 5; GPT: entry slot + 1 */
	uint64_t start, length;	/* bytes; start + length <= the virtual size */
	uint8_t mbr_type;	/* MBR system id, 0 for GPT partitions */
	char gpt_type[37];	/* GPT type GUID "XXXXXXXX-XXXX-...", "" for MBR */
	char gpt_uuid[37];	/* GPT unique partition GUID, "" for MBR */
	char name[72];		/* GPT name as UTF-8 (truncated on a character boundary) */
	bool bootable;		/* MBR active flag, or GPT legacy BIOS bootable attribute */
};

/* Most partitions reported: Linux's limit (primaries 1-4, logicals 5-256). */
#define VIMG_PARTITION_MAX 256

/*
 * Read the partition table of the virtual disk (backing chain composed) and
 * call cb for each partition in index order. *scheme (may be NULL) is set to
 * "mbr", "gpt", or NULL when the disk has no partition table (then returns 0
 * with no call). A protective MBR (type 0xee) means GPT; a GPT whose primary
 * header or entries fail their CRC32 is read from the backup header. Sectors
 * are 512 bytes, or 4096 for a GPT found at byte 4096.
 *
 * Every field is validated. Partitions that start at or past the end of the
 * disk are skipped, and ones that run past it are clamped (both are logged
 * through vimg_set_log); extended partitions are walked, not reported.
 * Returns 0, a negative code (VIMG_ECORRUPT with a message such as
 * "partition: GPT header: entries CRC mismatch (offset 0x200)" for a broken
 * table, an EBR loop or chain longer than VIMG_PARTITION_MAX, or a read
 * error), or the first non-zero value cb returned (which stops the walk).
 * On an error cb may already have been called for the partitions found
 * before the damage: they are valid. The struct passed to cb lives for the
 * call only. Safe to call concurrently with reads.
 */
int vimg_image_partitions(struct vimg_image *img,
			  int (*cb)(void *opaque, const struct vimg_partition *p),
			  void *opaque, const char **scheme, struct vimg_error *err);

/* ---- check ----------------------------------------------------------- */

enum vimg_check_severity {
	VIMG_CHECK_LEAK = 1,		/* allocated but unused: wastes space only */
	VIMG_CHECK_CORRUPTION = 2,	/* metadata wrong: data at risk */
	VIMG_CHECK_ERROR = 3,		/* the check itself could not read something */
	VIMG_CHECK_NOTE = 4,		/* worth knowing, not a problem (a VHDX log pending
					   after a crash); counts in no counter */
};

struct vimg_check_finding {
	enum vimg_check_severity severity;
	const char *structure;	/* "refcount block", "L2 table", ... */
	int64_t index;		/* entry index, or -1 */
	uint64_t file_off;	/* where, in the image file */
	const char *message;
	bool fixed;
};

/* Filled by vimg_image_check; the caller sets report/opaque (report may be NULL). */
struct vimg_check {
	void (*report)(void *opaque, const struct vimg_check_finding *f);
	void *opaque;
	uint64_t corruptions, leaks, check_errors;
	uint64_t corruptions_fixed, leaks_fixed;
	uint64_t allocated_clusters, total_clusters;
	uint64_t fragmented_clusters, compressed_clusters;
	uint64_t image_end_offset;
};

#define VIMG_CHECK_FIX_LEAKS	(1u << 0)
#define VIMG_CHECK_FIX_ERRORS	(1u << 1)

/*
 * Check the image's own layer. Repair (fix != 0) needs an image opened with
 * VIMG_OPEN_RDWR | VIMG_OPEN_CHECK. Returns 0 when the check ran (whatever it
 * found: see rep), VIMG_EUNSUPPORTED if the format has no checker.
 */
int vimg_image_check(struct vimg_image *img, struct vimg_check *rep, unsigned fix,
		     struct vimg_error *err);

/* ---- copy engine ----------------------------------------------------- */

/*
 * Progress callback: done and total in bytes of virtual disk. It may be called
 * from the engine's worker threads, but never from two at once.
 */
typedef void vimg_progress_fn(void *opaque, uint64_t done, uint64_t total);

struct vimg_convert_opts {
	const char *format;		/* -O, default "raw" */
	const char *options;		/* -o, "k=v,..." or NULL */
	bool compress;			/* -c: compress every data cluster */
	uint64_t min_sparse;		/* -S: zero runs of at least this many bytes stay
					   sparse; 0 means write everything (default 4096
					   when has_min_sparse is false) */
	bool has_min_sparse;
	const char *backing;		/* -B: target's backing; source runs not allocated
					   above the source's own backing are skipped */
	const char *backing_format;	/* -F for -B */
	unsigned threads;		/* -m: worker threads, 0 = automatic */
	bool out_of_order;		/* -W: allow unordered writes (a stream target
					   is still written in order) */
	bool no_sync;			/* -t unsafe: never fsync the target */
	unsigned create_flags;		/* VIMG_CREATE_* */
	vimg_progress_fn *progress;
	void *progress_opaque;
};

/* How vimg_image_copy moves data into an image that is already open. */
struct vimg_copy_opts {
	const struct vimg_image *base;	/* a layer of src's chain: copy only what the
					   layers above it hold (NULL: the whole chain) */
	bool compress;			/* compress every data cluster */
	uint64_t min_sparse;		/* as vimg_convert_opts */
	bool has_min_sparse;
	unsigned threads;		/* 0 = automatic */
	bool out_of_order;		/* writes may land in any order (ignored when the
					   target's format takes only ordered writes) */
	bool dst_reads_zero;		/* the target reads as zeros where not written
					   (a new image without backing): holes cost nothing */
	bool keep_dst_data;		/* write only where the target's own layer holds
					   nothing (merging a parent into its child) */
	vimg_progress_fn *progress;
	void *progress_opaque;
};

/*
 * Copy src's virtual disk (or its layers above o->base) into dst, an image
 * opened writable and at least as large. Work follows the data: holes are
 * never read, zero blocks stay sparse, memory stays bounded.
 */
int vimg_image_copy(struct vimg_image *src, struct vimg_image *dst,
		    const struct vimg_copy_opts *o, struct vimg_error *err);

/*
 * Create `dst` and copy the whole virtual disk of src (all its chain) into it
 * through vimg_image_copy.
 */
int vimg_convert(struct vimg_image *src, const char *dst, const struct vimg_convert_opts *o,
		 struct vimg_error *err);

/* Bytes of host files a conversion writes (all its files: extents too). */
struct vimg_measure {
	uint64_t required;		/* converting the source as vimg_convert does */
	uint64_t fully_allocated;	/* every byte of the disk written with data */
};

/*
 * What vimg_convert(src, ..., o) would write, without writing it: the
 * target's own writer runs on simulated files, so the sizes are exact for
 * vimg's writers. Reads src's data (zero blocks are not written, as by the
 * copy engine), o->progress reporting it. With src NULL, an empty disk of
 * `size` bytes. target: the file name the conversion would write (its last
 * component counts: descriptors that name their extents grow with it),
 * NULL for "disk". Nothing is written but an empty directory in $TMPDIR,
 * removed again. -B (o->backing) is not supported.
 */
int vimg_measure(struct vimg_image *src, uint64_t size, const struct vimg_convert_opts *o,
		 const char *target, struct vimg_measure *out, struct vimg_error *err);

/*
 * qemu-img amend: change format options ("key=val,...", the names of
 * create's options) of an image opened writable. VIMG_EUNSUPPORTED for a
 * format without amend or an option that cannot change. Backing files are
 * changed with vimg_image_change_backing.
 */
int vimg_image_amend(struct vimg_image *img, const char *options, struct vimg_error *err);

#define VIMG_SPARSIFY_DRY_RUN (1u << 0) /* count, change nothing */
struct vimg_sparsify {
	uint64_t data_bytes;	/* held as data by the image's own layer */
	uint64_t zero_bytes;	/* of which read as zeros (made zero unless a dry run) */
};
/* Make every unit of img's own layer that holds zeros as data zero through
 * metadata, freeing it where the format can (virt-sparsify --in-place).
 * VIMG_EUNSUPPORTED where the driver cannot zero through metadata. The host
 * space given back shows in vimg_image_disk_size once img is closed. */
int vimg_image_sparsify(struct vimg_image *img, unsigned flags, vimg_progress_fn *progress,
			void *opaque, struct vimg_sparsify *rep, struct vimg_error *err);

#define VIMG_REBASE_UNSAFE (1u << 0) /* only the pointer changes: qemu-img rebase -u */
/*
 * qemu-img rebase: make name (format NULL probes; NULL: no backing file)
 * the backing file of a writable img, first writing into img's own layer
 * every cluster where it holds nothing and the new backing would read
 * differently from the old chain, so the guest's disk is unchanged.
 */
int vimg_image_rebase(struct vimg_image *img, const char *name, const char *format,
		      unsigned flags, vimg_progress_fn *progress, void *opaque,
		      struct vimg_error *err);
/*
 * qemu-img commit: copy what the layers of top's chain above base hold into
 * base_rw, the base file opened again writable (grown first when it is
 * smaller than top). top is left as it is.
 */
int vimg_image_commit(struct vimg_image *top, const struct vimg_image *base,
		      struct vimg_image *base_rw, vimg_progress_fn *progress, void *opaque,
		      struct vimg_error *err);
/*
 * Empty a writable image's own layer: afterwards it reads what its backing
 * file reads (qemu-img commit without -d). VIMG_EUNSUPPORTED where the
 * format cannot, VIMG_EINVAL when the image has no backing file (it would
 * read as zeros).
 */
int vimg_image_make_empty(struct vimg_image *img, struct vimg_error *err);

/*
 * Compare the guest-visible contents. Returns 0 when identical, 1 when they
 * differ (*diff_off = first differing byte offset), negative on error. Unless
 * strict, a size difference is allowed when the extra part of the larger image
 * reads as zeros.
 */
int vimg_compare(struct vimg_image *a, struct vimg_image *b, bool strict, uint64_t *diff_off,
		 vimg_progress_fn *progress, void *progress_opaque, struct vimg_error *err);

/* ---- configuration files (key = "value") --------------------------------- */

/*
 * A VMware dictionary file (.vmx, .vmsd, .vmtx, ...) held losslessly: read
 * and saved unchanged it is byte-identical; a set changes one line (or adds
 * one at the end), an unset removes the key's lines. Keys are matched
 * case-insensitively and keep the case they were written in; values are
 * UTF-8 here, with VMware's |XX escapes and the file's .encoding undone
 * (and redone on the lines that change).
 */
struct vimg_config;

/* Open and parse path (at most 16 MiB, 1,000,000 lines). */
int vimg_config_open(const char *path, struct vimg_config **out, struct vimg_error *err);
/* Accepts NULL; unsaved changes are dropped. */
void vimg_config_close(struct vimg_config *cfg);
/* Number of key lines, in file order (duplicates included). */
size_t vimg_config_count(const struct vimg_config *cfg);
/* i-th key line's key (as spelled) and decoded value; valid until the next
 * change or close. NULL past the end. */
const char *vimg_config_key(const struct vimg_config *cfg, size_t i);
const char *vimg_config_value(const struct vimg_config *cfg, size_t i);
/* Effective (last) value of key, or NULL. Valid until the next change. */
const char *vimg_config_get(const struct vimg_config *cfg, const char *key);
/* VIMG_EINVAL for a key with blanks, '=', '"' or '#', or a value the file's
 * encoding cannot hold. */
int vimg_config_set(struct vimg_config *cfg, const char *key, const char *value,
		    struct vimg_error *err);
/* Returns how many lines were removed (0 if the key was absent). */
int vimg_config_unset(struct vimg_config *cfg, const char *key, struct vimg_error *err);
/* Whether a set or unset changed the document since open or the last save. */
bool vimg_config_modified(const struct vimg_config *cfg);
/* Write the document back to its file atomically (temporary + rename); does
 * nothing when unmodified, so the file's mtime is kept. */
int vimg_config_save(struct vimg_config *cfg, struct vimg_error *err);

/* ---- warnings ----------------------------------------------------------- */

/*
 * What a translation between models could not carry over: each warning names
 * the setting (a key such as "sound.virtualDev") and why. Calls that may lose
 * something fill a list the caller frees; nothing is dropped silently.
 */
struct vimg_warnings;

size_t vimg_warnings_count(const struct vimg_warnings *w);
/* NULL past the end; strings live until vimg_warnings_free. */
const char *vimg_warnings_key(const struct vimg_warnings *w, size_t i);
const char *vimg_warnings_reason(const struct vimg_warnings *w, size_t i);
void vimg_warnings_free(struct vimg_warnings *w);

/* ---- virtual machines (bundles) ------------------------------------------ */

/*
 * A VM read from a hypervisor's files (a bundle codec: vmx, ...) into one
 * normalised model: the pivot every conversion goes through. What the model
 * has no field for is kept verbatim as "extra" keys. Strings returned live
 * until the VM is closed or the field changes.
 */
struct vimg_vm;

/* i-th registered bundle codec ("vmx", "vmsd", "vmxf"), NULL past the end. */
const char *vimg_codec_name(size_t i);
const char *vimg_codec_description(const char *codec);

#define VIMG_VM_ALLOW_ESCAPE (1u << 0) /* files named by the VM may lie outside its folder */

/*
 * Open a VM: a configuration file (.vmx) or a folder holding exactly one.
 * codec NULL probes. The files it names beside it (.vmsd snapshot tree,
 * .vmxf) are read too. Nothing is written.
 */
int vimg_vm_open(const char *path, const char *codec, unsigned flags, struct vimg_vm **out,
		 struct vimg_error *err);
void vimg_vm_close(struct vimg_vm *vm);
/* Write the VM's configuration files back (changed lines only, atomically). */
int vimg_vm_save(struct vimg_vm *vm, struct vimg_error *err);

enum vimg_firmware { VIMG_FIRMWARE_BIOS = 0, VIMG_FIRMWARE_EFI = 1 };

const char *vimg_vm_codec(const struct vimg_vm *vm);
const char *vimg_vm_config_path(const struct vimg_vm *vm);	/* the .vmx */
const char *vimg_vm_dir(const struct vimg_vm *vm);		/* its folder */
const char *vimg_vm_name(const struct vimg_vm *vm);		/* displayName, or NULL */
const char *vimg_vm_guest_os(const struct vimg_vm *vm);		/* the codec's id ("ubuntu-64") */
const char *vimg_vm_annotation(const struct vimg_vm *vm);
/* "uuid.bios", "uuid.location", "vc.uuid" as the codec writes them, or NULL. */
const char *vimg_vm_uuid(const struct vimg_vm *vm, const char *which);
enum vimg_firmware vimg_vm_firmware(const struct vimg_vm *vm);
bool vimg_vm_secure_boot(const struct vimg_vm *vm);
unsigned vimg_vm_hw_version(const struct vimg_vm *vm);		/* 0 if unknown */
unsigned vimg_vm_cpus(const struct vimg_vm *vm);
unsigned vimg_vm_cores_per_socket(const struct vimg_vm *vm);
uint64_t vimg_vm_memory_mb(const struct vimg_vm *vm);
/* Firmware variables (.nvram) and suspended state (.vmss) file names, or NULL. */
const char *vimg_vm_nvram(const struct vimg_vm *vm);
/* The path of a file the VM names (a disk, its nvram, a state file),
 * relative to its folder, under its path policy (VIMG_EACCES outside it
 * unless VIMG_VM_ALLOW_ESCAPE); *out is malloc'd. */
int vimg_vm_resolve(const struct vimg_vm *vm, const char *name, char **out,
		    struct vimg_error *err);
const char *vimg_vm_suspend_state(const struct vimg_vm *vm);
/* Open a disk the VM names (as vimg_vm_resolve finds it); a VM read from
 * an OVA reads its disks in place inside the archive, read-only. */
int vimg_vm_disk_open(const struct vimg_vm *vm, const char *name, unsigned flags,
		      struct vimg_image **out, struct vimg_error *err);

enum vimg_controller_type {
	VIMG_CTRL_IDE = 1,
	VIMG_CTRL_SCSI,		/* model: lsilogic, lsisas1068, pvscsi, buslogic */
	VIMG_CTRL_SATA,		/* AHCI */
	VIMG_CTRL_NVME,
	VIMG_CTRL_VIRTIO,	/* virtio-blk (KVM) */
};

struct vimg_vm_controller {
	const char *id;		/* "scsi0", "sata0", "ide1", "nvme0" */
	enum vimg_controller_type type;
	unsigned bus;
	const char *model;	/* SCSI model, NULL otherwise */
};

enum vimg_device_kind { VIMG_DEV_DISK = 1, VIMG_DEV_CDROM, VIMG_DEV_FLOPPY };

struct vimg_vm_disk {
	const char *node;	/* "scsi0:0", "sata0:1", "floppy0" */
	const char *controller;	/* "scsi0", or NULL for floppies */
	unsigned unit;
	enum vimg_device_kind kind;
	const char *file;	/* as written (relative to the VM's folder), or NULL */
	const char *device_type; /* "scsi-hardDisk", "cdrom-image", "atapi-cdrom", ... or NULL */
	const char *mode;	/* "persistent", "independent-persistent", ... or NULL */
	bool start_connected;
};

enum vimg_mac_type { VIMG_MAC_GENERATED = 1, VIMG_MAC_STATIC, VIMG_MAC_VPX };

struct vimg_vm_nic {
	unsigned index;		/* ethernetN */
	const char *model;	/* "e1000", "e1000e", "vmxnet3", "vlance", ... */
	enum vimg_mac_type mac_type;
	const char *mac;	/* "00:0c:29:12:34:56", or NULL if none yet */
	const char *connection;	/* "bridged", "nat", "hostonly", "custom", ... or NULL */
	const char *network;	/* networkName / vnet, or NULL */
	bool start_connected;
};

enum vimg_port_kind { VIMG_PORT_SERIAL = 1, VIMG_PORT_PARALLEL };

struct vimg_vm_port {
	enum vimg_port_kind kind;
	unsigned index;
	const char *type;	/* "file", "device", "pipe", "network" */
	const char *target;	/* file, device or pipe name, URI */
	bool start_connected;
};

size_t vimg_vm_controller_count(const struct vimg_vm *vm);
const struct vimg_vm_controller *vimg_vm_controller_get(const struct vimg_vm *vm, size_t i);
/* Disks, CD-ROMs and floppies of the current state, in configuration order. */
size_t vimg_vm_disk_count(const struct vimg_vm *vm);
const struct vimg_vm_disk *vimg_vm_disk_get(const struct vimg_vm *vm, size_t i);
size_t vimg_vm_nic_count(const struct vimg_vm *vm);
const struct vimg_vm_nic *vimg_vm_nic_get(const struct vimg_vm *vm, size_t i);
size_t vimg_vm_port_count(const struct vimg_vm *vm);
const struct vimg_vm_port *vimg_vm_port_get(const struct vimg_vm *vm, size_t i);
/* "usb" (and "usb.ehci", "usb.xhci"), "sound", "video": whether present;
 * "sound" and "video" also have a model or VRAM size in extra keys. */
bool vimg_vm_has(const struct vimg_vm *vm, const char *device);
const char *vimg_vm_sound_model(const struct vimg_vm *vm);
uint64_t vimg_vm_video_vram(const struct vimg_vm *vm);	/* bytes, 0 if unset */
/* Keys the model has no field for, kept verbatim in file order. */
size_t vimg_vm_extra_count(const struct vimg_vm *vm);
const char *vimg_vm_extra_key(const struct vimg_vm *vm, size_t i);
const char *vimg_vm_extra_value(const struct vimg_vm *vm, size_t i);

/* ---- snapshot tree of a VM --------------------------------------------- */

struct vimg_vm_snapshot_disk {
	const char *node;	/* "scsi0:0" */
	const char *file;	/* the disk as the snapshot left it (read-only since) */
};

struct vimg_vm_snapshot {
	unsigned uid;		/* > 0 */
	unsigned parent_uid;	/* 0 for a root */
	const char *name;
	const char *description;	/* or "" */
	const char *state_file;	/* the .vmsn, or NULL (a disk-only snapshot) */
	int64_t create_time_us;	/* microseconds since 1970, 0 if unknown */
	size_t n_disks;
	const struct vimg_vm_snapshot_disk *disks;
};

/* Snapshots in the order the .vmsd lists them. */
size_t vimg_vm_snapshot_count(const struct vimg_vm *vm);
const struct vimg_vm_snapshot *vimg_vm_snapshot_get(const struct vimg_vm *vm, size_t i);
/* By name or uid text; NULL if none (or several share the name: then err). */
const struct vimg_vm_snapshot *vimg_vm_snapshot_find(const struct vimg_vm *vm,
						     const char *name_or_uid,
						     struct vimg_error *err);
/* uid of the snapshot the current state runs on, 0 if none. */
unsigned vimg_vm_snapshot_current(const struct vimg_vm *vm);

#define VIMG_VM_FORCE (1u << 0) /* go ahead although the VM looks running or suspended */

struct vimg_vm_snapshot_opts {
	unsigned flags;			/* VIMG_VM_FORCE */
	const char *description;	/* for create, or NULL */
	vimg_progress_fn *progress;	/* per merged disk, or NULL */
	void *progress_opaque;
};

/*
 * VMware snapshots of a VM's disks (disk-only: no memory state). All of them
 * refuse with VIMG_EBUSY while the VM looks powered on or suspended (a .lck,
 * a .vmem without .vmss, checkpoint.vmState) unless VIMG_VM_FORCE, and save
 * the .vmx and .vmsd (atomically) before deleting any file.
 *
 * create: every disk (not independent ones) gets a new delta named as
 * VMware names them (NAME-000001.vmdk ...); the snapshot keeps the files
 * that were current. revert: the current deltas are discarded (unless a
 * snapshot owns them) and fresh deltas are made over the snapshot's files;
 * other snapshots stay. delete: the snapshot's data is merged so that no
 * other snapshot's view and not the current state changes (into its only
 * child, or into each of several children); its children move up to its
 * parent. consolidate: chain links that nothing names are collapsed;
 * *collapsed (may be NULL) says how many. Files outside the VM's folder (a
 * linked clone's template) are never written.
 */
int vimg_vm_snapshot_create(struct vimg_vm *vm, const char *name,
			    const struct vimg_vm_snapshot_opts *o, struct vimg_error *err);
int vimg_vm_snapshot_revert(struct vimg_vm *vm, const char *name_or_uid,
			    const struct vimg_vm_snapshot_opts *o, struct vimg_error *err);
int vimg_vm_snapshot_delete(struct vimg_vm *vm, const char *name_or_uid,
			    const struct vimg_vm_snapshot_opts *o, struct vimg_error *err);
int vimg_vm_consolidate(struct vimg_vm *vm, const struct vimg_vm_snapshot_opts *o,
			unsigned *collapsed, struct vimg_error *err);

/* ---- inspect ------------------------------------------------------------ */

/*
 * Describe the VM from its metadata through em (the caller renders it): "vm"
 * (the model, each disk with its chain of layers: file, format, sizes,
 * allocation and format facts), "snapshots", "files" (every file in the
 * folder with its role: config, extra config, snapshot tree, disk, parent,
 * extent, snapshot state, nvram, suspend state, memory, log, lock, swap,
 * unused disk, unknown), "problems" and "notes" (lists of {where, what}).
 * Problems: missing files, broken delta chains (the link and why), absent
 * snapshot disks, locks, keys that look mistyped; *problems (may be NULL)
 * gets their count. Opens disks read-only, reads only metadata, writes
 * nothing; parents outside the folder are read and noted.
 */
int vimg_vm_inspect(struct vimg_vm *vm, const struct vimg_emit *em, unsigned *problems,
		    struct vimg_error *err);

/* ---- clone ---------------------------------------------------------------- */

struct vimg_vm_clone_opts {
	const char *name;	/* displayName and file names; NULL: NEWDIR's last component */
	bool linked;		/* deltas over the template's files instead of copies */
	const char *snapshot;	/* clone this snapshot's state (name or uid); NULL: current */
	const char *format;	/* full clone: disk format (default vmdk) */
	const char *options;	/* full clone: create options ("subformat=streamOptimized") */
	bool new_macs;		/* regenerate static MACs too (generated ones always are) */
	bool keep_snapshots;	/* not supported yet: VIMG_EUNSUPPORTED */
	vimg_progress_fn *progress; /* per copied disk */
	void *progress_opaque;
};

/*
 * Clone src into the new (or empty) folder newdir as NAME.vmx with NAME.vmdk,
 * NAME_1.vmdk, ... (linked: NAME-000001.vmdk, ... over the template's files,
 * the parent named relative to newdir), NAME.nvram and NAME.vmxf copied, a
 * new identity (uuid.bios, uuid.location, no vc.uuid, new generated MACs,
 * new disk CIDs), no snapshots, saved state, logs or locks. The template's
 * files are only read. What the clone cannot carry goes to *w (may be NULL).
 */
int vimg_vm_clone(struct vimg_vm *src, const char *newdir, const struct vimg_vm_clone_opts *o,
		  struct vimg_warnings **w, struct vimg_error *err);

/* ---- whole-VM conversion ------------------------------------------------- */

struct vimg_vm_convert_opts {
	const char *to;		/* target codec: "libvirt" ("vmware" = "vmx") */
	const char *disk_format; /* -O; NULL: the target's own (qcow2 for libvirt) */
	const char *disk_options; /* create options for the disks, or NULL */
	const char *bus;	/* libvirt: "sata" (default), "ide", "scsi", "virtio" */
	const char *nic_model;	/* NICs' model; NULL: kept if every guest has drivers
				   for it, else e1000 */
	bool new_identity;	/* new UUIDs and generated MACs, as vimg clone */
	const char *manifest;	/* ovf, ova: "sha256" (default), "sha1" or "sha512" */
	unsigned ovf_version;	/* ovf, ova: 1 (0 means 1) or 2 */
	vimg_progress_fn *progress;	/* per converted disk */
	void *progress_opaque;
};

/*
 * Write src as a VM of another hypervisor in outdir (new, or empty): its
 * configuration (NAME.xml for libvirt) and every disk of the current state
 * converted through the copy engine (NAME.qcow2, NAME_1.qcow2, ...); an EFI
 * VM's variables go to NAME_VARS.fd (the OVMF store) for libvirt. Disks move
 * to a bus the guest boots from without new drivers and NICs to a model it
 * has drivers for, unless the options say otherwise. Every setting the
 * target cannot express, and every change made, is a warning in *w (may be
 * NULL). src is only read.
 */
int vimg_vm_convert(struct vimg_vm *src, const char *outdir, const struct vimg_vm_convert_opts *o,
		    struct vimg_warnings **w, struct vimg_error *err);

/* ---- firmware variables (.nvram, edk2 variable stores) ----------------- */

/*
 * A VM's UEFI variables: VMware's .nvram (its sections, and the EFI variable
 * store inside) or an edk2 variable store (OVMF_VARS.fd and the like),
 * probed from its content, read whole (at most 64 MiB) and validated; never
 * written. Strings and data live until vimg_nvram_close.
 */
struct vimg_nvram;

struct vimg_efi_var {
	const char *name;		/* UTF-8 */
	uint8_t guid[16];		/* vendor GUID, EFI byte order */
	uint32_t attributes;		/* EFI_VARIABLE_* bits */
	const uint8_t *data;
	size_t size;
};

int vimg_nvram_open(const char *path, unsigned flags, struct vimg_nvram **out,
		    struct vimg_error *err);
/* The nvram file vm names (nvram = "..."), under the VM's path policy;
 * VIMG_ENOENT when it names none. */
int vimg_vm_nvram_open(const struct vimg_vm *vm, struct vimg_nvram **out,
		       struct vimg_error *err);
void vimg_nvram_close(struct vimg_nvram *nv);
/* "vmware" or "edk2". */
const char *vimg_nvram_format(const struct vimg_nvram *nv);
size_t vimg_nvram_var_count(const struct vimg_nvram *nv);
int vimg_nvram_var(const struct vimg_nvram *nv, size_t i, struct vimg_efi_var *out);
/*
 * Describe the store through em: "format", VMware's "sections" (name,
 * subname, offset, size), "variables" (name, guid, attributes, size, sha256,
 * data when short, "decoded" for the variables people read: Boot####,
 * BootOrder, SecureBoot, PK, KEK, db, dbx, ...), "boot" (order, current,
 * entries with description and device path as efibootmgr prints them) and
 * "secure-boot" (mode, and PK/KEK/db/dbx: set, entries with X.509 subjects).
 */
int vimg_nvram_info(struct vimg_nvram *nv, const struct vimg_emit *em, struct vimg_error *err);
/*
 * Write nv's non-volatile variables to out (replaced atomically) as an edk2
 * variable store OVMF boots from: template's layout (an OVMF_VARS.fd-like
 * file, whose variables are kept unless nv has them too), or with template
 * NULL the layout of OVMF's 4 MiB build (540672 bytes, as Debian's
 * OVMF_VARS_4M.fd). Authenticated variables keep their attributes; their
 * timestamps are those of the source store (for VMware's: those vimg wrote
 * there, else zero). The output is a function of the input alone. Volatile
 * variables are left out with a warning in *w (may be NULL).
 */
int vimg_nvram_export_ovmf(const struct vimg_nvram *nv, const char *out, const char *template,
			   struct vimg_warnings **w, struct vimg_error *err);
/*
 * Write nv's non-volatile variables to out (replaced atomically) as VMware's
 * .nvram: template's sections and layout kept byte for byte (a VMware .nvram,
 * whose variables are kept unless nv has them too; a BIOS VM's file gets an
 * EFI store section appended), or with template NULL the container VMware
 * makes for an EFI VM's variables (version 1, one EFI_/NV section of 256 KiB
 * holding the VMWNVRAM store, 262164 bytes). Time-based authenticated
 * variables carry their timestamp in the 40 bytes VMware keeps before their
 * data. The output is a function of the input alone. Volatile variables are
 * left out with a warning in *w (may be NULL); a variable the store cannot
 * hold is VIMG_ENOSPC naming it.
 */
int vimg_nvram_export_vmware(const struct vimg_nvram *nv, const char *out,
			     const char *template, struct vimg_warnings **w,
			     struct vimg_error *err);
/* ---- saved state (VMware .vmss / .vmsn / .vmem) ------------------------- */

/*
 * A VMware checkpoint: the suspend state (.vmss) or snapshot state (.vmsn)
 * with its groups and tags, the vCPU registers it records, and the guest
 * memory, either embedded in the state file (a "Memory" block of the
 * "memory" group) or in the .vmem file beside it. Guest memory is a set of
 * regions (guest page number, page in the memory file, size in pages);
 * between them lie holes that read as zeros. Nothing is ever written to
 * these files, and memory is only ever read with pread, never loaded whole.
 */
struct vimg_vmstate;

/* Open only the state's metadata (groups, tags, registers) without locating
 * its memory: a .vmsn of a powered-off snapshot has none. Then the memory
 * size and region count are 0 and reads fail with VIMG_ERANGE. */
#define VIMG_VMSTATE_METADATA_ONLY (1u << 0)

/*
 * path: a .vmss/.vmsn (memory embedded, or in the .vmem next to it: same base
 * name), or a .vmem (its .vmss, else .vmsn, is found next to it). vmem: the
 * memory file to use, or NULL to look next to the state file; naming one for
 * a state that embeds its memory is VIMG_EINVAL. flags: 0 or
 * VIMG_VMSTATE_METADATA_ONLY. Errors name the format, the structure and the
 * file offset ("vmss: group \"memory\" tag at offset 0x1234: ..."); a
 * compressed memory block is VIMG_EUNSUPPORTED.
 */
int vimg_vmstate_open(const char *path, const char *vmem, unsigned flags,
		      struct vimg_vmstate **out, struct vimg_error *err);
/* Accepts NULL. */
void vimg_vmstate_close(struct vimg_vmstate *st);
/* The state file, and the file that holds the memory (the state file itself
 * when embedded; NULL with VIMG_VMSTATE_METADATA_ONLY). */
const char *vimg_vmstate_path(const struct vimg_vmstate *st);
const char *vimg_vmstate_memory_path(const struct vimg_vmstate *st);
/* Guest-physical bytes: the end of the highest region. */
uint64_t vimg_vmstate_memory_size(const struct vimg_vmstate *st);
/* Regions in increasing guest-physical order, none overlapping. */
size_t vimg_vmstate_region_count(const struct vimg_vmstate *st);
int vimg_vmstate_region(const struct vimg_vmstate *st, size_t i, uint64_t *gpa, uint64_t *len,
			struct vimg_error *err);
/* Read guest-physical [gpa, gpa+len) (VIMG_ERANGE past the memory size);
 * holes read as zeros. Thread-safe (pread only). */
int vimg_vmstate_read(struct vimg_vmstate *st, void *buf, uint64_t gpa, size_t len,
		      struct vimg_error *err);
/* Facts for inspect: "header" (magic, version, bits), "groups" (name, offset,
 * size, tags), "vcpus" (registers found, per vCPU), "memory" (where it lives,
 * size, and "regions": gpa, ppn, page number, pages, file offset). */
int vimg_vmstate_info(struct vimg_vmstate *st, const struct vimg_emit *em,
		      struct vimg_error *err);

enum vimg_memdump_format { VIMG_MEMDUMP_RAW, VIMG_MEMDUMP_ELF };

/*
 * Write the guest memory to out (a new file, or an existing regular file
 * that is truncated; never one of the state's own files). raw: the
 * guest-physical image, holes (and all-zero chunks) left sparse. elf: an
 * ELF64 ET_CORE for EM_X86_64 with one PT_LOAD per region, p_paddr the
 * guest-physical address and p_vaddr 0 (as qemu's dump-guest-memory writes
 * without paging), data page-aligned. Streams in 1 MiB chunks; memory stays
 * bounded whatever the guest's size. progress (may be NULL) gets bytes of
 * region data done and the total.
 */
int vimg_memdump(struct vimg_vmstate *st, const char *out, enum vimg_memdump_format fmt,
		 vimg_progress_fn *progress, void *progress_opaque, struct vimg_error *err);

/* ---- boot check (mini KVM launcher) ------------------------------------ */

/* Boot stages, in order; a run reports the highest one reached. */
enum vimg_boot_stage {
	VIMG_BOOT_NONE = 0,
	VIMG_BOOT_FIRMWARE,	/* the firmware ran (POST done) */
	VIMG_BOOT_LOADER,	/* a boot sector got control at 0000:7C00 */
	VIMG_BOOT_KERNEL,	/* a Linux kernel got control (setup code or console) */
	VIMG_BOOT_USERSPACE,	/* the kernel started init */
};
#define VIMG_BOOT_NSTAGES 5

struct vimg_boot_opts {
	uint64_t mem;		/* guest RAM in bytes; 0 = 512 MiB (at most 3 GiB) */
	const char *engine;	/* "kvm", "qemu" or "auto" (NULL = auto: kvm when
				   /dev/kvm opens, else qemu) */
	double timeout_s;	/* wall-clock limit; 0 = 60 s */
	const char *expect;	/* POSIX extended regex on the console, or NULL */
	const char *until;	/* stop when this stage is reached: "firmware",
				   "loader", "kernel", "userspace", or NULL */
	const char *keys;	/* scripted int 16h keys ("\n" Enter, "\e" Esc,
				   "\t", "\\"), or NULL */
	bool timer_set;		/* timer says whether the firmware runs the IRQ 0
				   tick; unset: on for hardware KVM, off for an
				   emulated one */
	bool timer;
	const char *kernel;	/* direct Linux boot: bzImage, or NULL */
	const char *initrd;	/* with kernel: initrd file, or NULL */
	const char *append;	/* with kernel: command line, or NULL */
	const char *overlay;	/* keep guest writes in this new qcow2 file (backed
				   by the image) instead of memory, or NULL */
	/* UEFI (qemu engine only): the firmware code (read-only pflash) and a
	   variable store, copied for the run and never written; NULL: BIOS. */
	const char *uefi_code;
	const char *uefi_vars;
	bool secure_boot;	/* with uefi_code: q35 with SMM and secure flash */
	/* Console bytes as the guest produces them (UART, int 10h teletype);
	   called from the caller's thread, may be NULL. */
	void (*serial_out)(void *opaque, const char *buf, size_t n);
	void *opaque;
};

struct vimg_boot_result {
	bool passed;		/* the run met its goal (see vimg_boot_run) */
	enum vimg_boot_stage stage;		/* highest stage reached */
	int64_t stage_ms[VIMG_BOOT_NSTAGES];	/* ms from start to each stage, -1 = not */
	int64_t total_ms;
	char engine[8];		/* "kvm" or "qemu" */
	bool engine_auto;	/* chosen by --engine=auto: hardware KVM, else qemu when
				   installed, else the emulated KVM */
	bool kvm_hw;		/* KVM is hardware-backed (VT-x/AMD-V) */
	char emulated[64];	/* "" or why KVM is not hardware-backed,
				   e.g. "emulated (kvm_pvm)" */
	char stage_source[96];	/* how stages were detected */
	char exit_reason[160];	/* why the run ended, in words */
	int exit_code;		/* debug-exit port byte, or -1 */
	bool expect_matched;
	unsigned resets;	/* guest resets seen */
	uint16_t cs;		/* guest CS:IP when the run ended (kvm engine) */
	uint32_t ip;
	uint64_t exits;		/* KVM exits (kvm engine) */
	uint64_t hypercalls;	/* firmware service calls (kvm engine) */
	char screen[25][81];	/* VGA text screen at the end, NUL-terminated
				   rows without trailing blanks (kvm engine) */
};

/* Name of a stage ("none", "firmware", "loader", "kernel", "userspace"). */
const char *vimg_boot_stage_name(enum vimg_boot_stage stage);

/*
 * Boot img (opened read-only is enough) and watch it. The kvm engine runs the
 * project's firmware under /dev/kvm with the disk served from img through a
 * private overlay, so the image is never written; the qemu engine runs
 * qemu-system-x86_64 on the image's file (formats qemu reads) with
 * snapshot=on and detects stages from console patterns only.
 *
 * The run ends when --expect matches, the `until` stage is reached, the guest
 * writes the debug-exit port (0x501), powers off, resets more than 3 times,
 * has no bootable disk, or the timeout passes. r->passed: the expect pattern
 * matched if one was given; else the until stage was reached if one was
 * given; else the guest wrote 0 to the debug-exit port or reached the kernel
 * stage. Returns 0 when the run happened (passed or not: see *r), or a
 * negative code: VIMG_EUNSUPPORTED without /dev/kvm or qemu, VIMG_EIO for a
 * KVM failure or internal error (the message names CS:IP and registers; *r
 * is still filled in), VIMG_EINVAL for bad options. Not thread-safe against
 * another vimg_boot_run in the same process (a timer signal, SIGUSR2, is
 * borrowed while it runs).
 */
int vimg_boot_run(struct vimg_image *img, const struct vimg_boot_opts *o,
		  struct vimg_boot_result *r, struct vimg_error *err);

/*
 * Boot-check a VM: its first disk (current state), with its firmware. An
 * EFI VM runs on the qemu engine with Debian's OVMF (the Secure Boot build
 * when the VM has it on) and its own UEFI variables (its .nvram exported to
 * a temporary OVMF store; OVMF's empty one when it has none). o as for
 * vimg_boot_run (its uefi_* fields are set here). Nothing of the VM is
 * written.
 */
int vimg_vm_boot(struct vimg_vm *vm, const struct vimg_boot_opts *o,
		 struct vimg_boot_result *r, struct vimg_error *err);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
