/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vmdk driver: on-disk constants, native state and the functions shared by
 * formats/vmdk*.c. Layout facts come from the VMware Virtual Disk Format 5.0
 * technote (descriptor, hosted sparse extent header, grain directory/tables,
 * stream markers), libyal's libvmdk documentation (COWD header) and qemu's
 * block/vmdk.c (seSparse, which has no public specification).
 *
 * Model: a disk is a list of extents laid end to end (struct vmdk_extent);
 * each is flat (a plain file region), zero, or sparse (struct vmdk_sparse:
 * hosted KDMV, COWD or seSparse, all mapped through a grain directory whose
 * entries locate grain tables). Grain directories are decoded once at open
 * into byte offsets; grain tables are decoded into 64-bit entries in a small
 * per-extent cache. Threading: VIMG_THREAD_SERIALIZE, every function runs
 * under the image lock.
 */
#ifndef VIMG_VMDK_H
#define VIMG_VMDK_H

#include <stdbool.h>
#include <stdint.h>

#include "driver.h"
#include "kvtext.h"

#define VMDK_SECTOR 512u

/* Hosted sparse extent header ("KDMV"), technote section "Hosted Sparse Extent Header". */
#define VMDK_KDMV_MAGIC "KDMV"
#define VMDK_COWD_MAGIC "COWD"
#define VMDK_FLAG_NL_DETECT (1u << 0)
#define VMDK_FLAG_RGD (1u << 1)
#define VMDK_FLAG_ZERO_GRAIN (1u << 2)
#define VMDK_FLAG_COMPRESSED (1u << 16)
#define VMDK_FLAG_MARKERS (1u << 17)
/* Bits 16-31 are incompatible features: only the two above are known. */
#define VMDK_FLAG_INCOMPAT_MASK 0xffff0000u
#define VMDK_COMPRESS_DEFLATE 1
#define VMDK_GD_AT_END UINT64_MAX
#define VMDK_GTE_ZEROED 1u

/* Stream markers (technote "Stream-Optimized Compressed Sparse Extents"). */
#define VMDK_MARKER_EOS 0
#define VMDK_MARKER_GT 1
#define VMDK_MARKER_GD 2
#define VMDK_MARKER_FOOTER 3

/* seSparse (qemu block/vmdk.c). */
#define VMDK_SE_CONST_MAGIC 0xcafebabeull
#define VMDK_SE_VOLATILE_MAGIC 0xcafecafeull
#define VMDK_SE_VERSION 0x0000000200000001ull

/* Implementation limits. */
#define VMDK_MAX_DESC_BYTES (4u << 20)	  /* descriptor text */
#define VMDK_MAX_EMBEDDED_DESC (1u << 20) /* descriptor inside a sparse extent */
#define VMDK_MAX_EXTENTS 65536u
#define VMDK_MAX_GRAIN_SECTORS 4096u	  /* 2 MiB grains */
#define VMDK_MAX_GD_BYTES (64ull << 20)   /* decoded grain directory */
#define VMDK_MAX_SIZE (1ull << 56)	  /* bytes: keeps every sum far from overflow */
#define VMDK_GT_CACHE 16
#define VMDK_SPLIT_BYTES 0x80000000ull	  /* twoGbMaxExtent* extent size */

enum vmdk_access { VMDK_RW, VMDK_RDONLY, VMDK_NOACCESS };

enum vmdk_ext_type {
	VMDK_EXT_FLAT,
	VMDK_EXT_SPARSE,
	VMDK_EXT_ZERO,
	VMDK_EXT_VMFS,
	VMDK_EXT_VMFSSPARSE,
	VMDK_EXT_SESPARSE,
	VMDK_EXT_VMFSRDM,
	VMDK_EXT_VMFSRAW,
};

/* ---- descriptor (vmdk-descriptor.c) -------------------------------------- */

struct vmdk_desc_extent {
	enum vmdk_access access;
	uint64_t sectors;
	enum vmdk_ext_type type;
	char *file;		/* NULL for ZERO */
	uint64_t offset;	/* sectors, FLAT only */
};

/* The descriptor kept as its lines (kvtext), so unknown keys and order survive edits. */
struct vmdk_desc {
	struct kvtext kv;
	struct vmdk_desc_extent *ext;
	size_t n_ext;
};

/*
 * Parse `len` bytes of descriptor text (stops at the first NUL). Fills d (the
 * caller zeroes it first and frees it with desc_free, also on failure).
 * Errors: VIMG_ECORRUPT "vmdk: descriptor line N: ...", VIMG_ENOMEM.
 */
int desc_parse(struct vmdk_desc *d, const char *text, size_t len, struct vimg_error *err);
void desc_free(struct vmdk_desc *d);
/* Copy the value of `key` (quotes removed) into buf; false if absent or too long. */
bool desc_get(const struct vmdk_desc *d, const char *key, char *buf, size_t size);
/* Set key to value, editing its line in place or appending a new line. */
int desc_set(struct vmdk_desc *d, const char *key, const char *value, struct vimg_error *err);
/* Render the lines (malloc'd text, *len bytes, NUL-terminated). */
int desc_render(const struct vmdk_desc *d, char **out, size_t *len, struct vimg_error *err);
/*
 * Make the descriptor's extents x[0..n) (copied): the existing extent lines
 * are rewritten in order, new ones follow the last, extra ones are removed.
 * On error the descriptor's lines may be partly changed (re-read it) but
 * d->ext is unchanged.
 */
int desc_set_extents(struct vmdk_desc *d, const struct vmdk_desc_extent *x, size_t n,
		     struct vimg_error *err);
const char *desc_type_name(enum vmdk_ext_type t);
const char *desc_access_name(enum vmdk_access a);
/* Parse "0x"-less hexadecimal CID; false if malformed. */
bool desc_parse_cid(const char *s, uint32_t *out);

/* ---- sparse extents (vmdk-sparse.c, vmdk-cowd.c, vmdk-sesparse.c) --------- */

enum vmdk_sparse_kind { VMDK_SP_KDMV, VMDK_SP_COWD, VMDK_SP_SE };

/* What one grain table entry says. */
enum vmdk_gte_state {
	VMDK_GRAIN_UNALLOC,
	VMDK_GRAIN_ZERO,
	VMDK_GRAIN_DATA,	/* plain, at *off in the extent file */
	VMDK_GRAIN_COMPRESSED,	/* marker/compressed data at *off */
	VMDK_GRAIN_BUFFERED,	/* stream writer: still in memory */
};

struct vmdk_gt_slot {
	uint64_t idx;
	uint64_t stamp;
	uint64_t *e;
	bool valid;
};

struct vmdk_stream_writer;

struct vmdk_sparse {
	enum vmdk_sparse_kind kind;
	uint32_t version, flags;
	uint64_t capacity;	/* sectors */
	uint64_t grain;		/* sectors per grain */
	uint32_t gtes;		/* entries per grain table */
	uint32_t gte_size;	/* 4, or 8 for seSparse */
	uint64_t gd_off, rgd_off; /* bytes (0: none) */
	uint64_t desc_off, desc_size; /* bytes */
	uint64_t overhead;	/* bytes */
	uint16_t compress_alg;
	bool compressed, markers, zeroed_grain, gd_at_end;
	uint64_t n_gts;
	uint64_t *gd, *rgd;	/* byte offsets of grain tables, 0 = none */
	uint64_t se_grains_off;	/* seSparse: first grain (bytes) */
	uint64_t se_tables_off;	/* seSparse: first grain table (bytes) */
	uint64_t file_size;
	uint64_t alloc_end;	/* next free byte for new grains (hosted sparse) */
	struct vmdk_gt_slot cache[VMDK_GT_CACHE];
	uint64_t stamp;
	uint8_t *zbuf;		/* last decompressed grain */
	uint64_t zgrain;
	bool zvalid;
	struct vmdk_stream_writer *sw;
};

struct vmdk_extent {
	enum vmdk_ext_type type;
	enum vmdk_access access;
	uint64_t start, len;	/* bytes in the virtual disk */
	char *name;		/* as in the descriptor, or NULL */
	struct vimg_file *file;
	bool owned;		/* file opened here (not the main file) */
	uint64_t flat_off;	/* bytes */
	struct vmdk_sparse *sp;
};

struct vmdk_state {
	struct vmdk_desc desc;
	bool has_desc;
	bool desc_embedded;	/* inside extent 0's sparse header area */
	uint64_t desc_off, desc_cap; /* where the descriptor lives in the main file */
	char create_type[64];
	uint32_t cid, parent_cid;
	bool cid_updated;
	uint64_t parent_size;	/* bytes, once the core opened the parent */
	struct vmdk_extent *ext;
	size_t n_ext;
};

/*
 * Open a hosted sparse (KDMV) extent from file f (size fsize): decode and
 * validate the header, the footer of a stream image, and the grain
 * directories. writable: the caller may write (stream writer set up when the
 * image is an empty stream). On success *out is owned by the caller
 * (sparse_free). Errors name "vmdk: <what>" and the offset.
 */
int sparse_open_kdmv(struct vimg_file *f, const char *what, bool writable,
		     struct vmdk_sparse **out, struct vimg_error *err);
int sparse_open_cowd(struct vimg_file *f, const char *what, struct vmdk_sparse **out,
		     struct vimg_error *err);
int sparse_open_se(struct vimg_file *f, const char *what, struct vmdk_sparse **out,
		   struct vimg_error *err);
void sparse_free(struct vmdk_sparse *sp);
/* Decode a 512-byte KDMV header (after "KDMV" at offset 0) into sp's fields. */
void sparse_decode_header(struct vmdk_sparse *sp, const uint8_t *h);
/* Validate geometry and allocate the decoded grain directories. */
int sparse_setup_gd(struct vmdk_sparse *sp, const char *what, struct vimg_error *err);
/* Read one on-disk grain directory of n_gts entries (entry size gte_size) into dst. */
int sparse_load_gd(struct vimg_file *f, struct vmdk_sparse *sp, uint64_t off, uint64_t *dst,
		   const char *what, const char *name, struct vimg_error *err);
/*
 * Look up grain `g` of the extent: *state and, for DATA/COMPRESSED, *off (bytes
 * in the extent file). Validates the entry against the file size.
 */
int sparse_lookup(struct vmdk_extent *e, uint64_t g, enum vmdk_gte_state *state, uint64_t *off,
		  struct vimg_error *err);
/* Load grain table `gt` (cached); *entries points into the cache. */
int sparse_load_gt(struct vmdk_extent *e, uint64_t gt, uint64_t **entries,
		   struct vimg_error *err);
/* Write [off, off+len) of extent-relative bytes into a hosted sparse extent. */
int sparse_write(struct vimg_image *img, struct vmdk_extent *e, const uint8_t *buf, uint64_t off,
		 uint64_t len, uint64_t vdisk_off, struct vimg_error *err);
/* Make extent-relative [off, off+len) read as zeros. */
int sparse_zero(struct vimg_image *img, struct vmdk_extent *e, uint64_t off, uint64_t len,
		uint64_t vdisk_off, struct vimg_error *err);
/* seSparse entries: GD entry to GT byte offset, GT entry to state/offset. */
int se_decode_gde(const struct vmdk_sparse *sp, uint64_t i, uint64_t raw, uint64_t *gt_off,
		  const char *what, struct vimg_error *err);
int se_decode_gte(const struct vmdk_sparse *sp, uint64_t raw, enum vmdk_gte_state *state,
		  uint64_t *off);

/* ---- streamOptimized (vmdk-stream.c) -------------------------------------- */

/* Read the footer of a GD_AT_END stream (header fields replaced in sp). */
int stream_read_footer(struct vimg_file *f, struct vmdk_sparse *sp, const char *what,
		       struct vimg_error *err);
/* Copy [goff, goff+len) of grain g (compressed at file offset off) into buf. */
int stream_read_grain(struct vmdk_extent *e, uint64_t g, uint64_t off, uint8_t *buf,
		      uint64_t goff, size_t len, struct vimg_error *err);
/* Set up the append-only writer for an empty GD_AT_END stream extent. */
int stream_writer_init(struct vmdk_extent *e, struct vimg_error *err);
void stream_writer_free(struct vmdk_sparse *sp);
/* Buffer/append a write (extent-relative); refuses already written grains. */
int stream_write(struct vmdk_extent *e, const uint8_t *buf, uint64_t off, uint64_t len,
		 struct vimg_error *err);
int stream_zero(struct vmdk_extent *e, uint64_t off, uint64_t len, struct vimg_error *err);
/* Write the tail (pending grain and table, GD, footer, EOS) and truncate. */
int stream_flush(struct vmdk_extent *e, struct vimg_error *err);
/* Grain g is the writer's buffered grain: copy from it. */
bool stream_buffered(const struct vmdk_sparse *sp, uint64_t g);
void stream_copy_buffered(const struct vmdk_sparse *sp, uint8_t *buf, uint64_t goff, size_t len);
/* The writer's in-memory grain table for gt, or NULL. */
uint64_t *stream_current_gt(const struct vmdk_sparse *sp, uint64_t gt);
/* Write an empty stream: header (GD at end), descriptor, GD, footer, EOS. */
int stream_create(struct vimg_file *f, uint64_t capacity_sectors, const char *desc,
		  struct vimg_error *err);

/* ---- creation and check (vmdk-create.c, vmdk-check.c) ---------------------- */

extern const struct vimg_opt_desc vmdk_create_opts[];
int vmdk_create(const char *path, uint64_t size, const struct vimg_opts *opts,
		const struct vimg_backing_spec *backing, struct vimg_error *err);
/* Encode a 512-byte KDMV header; offsets and sizes in sectors. */
struct vmdk_kdmv_fields {
	uint32_t version, flags;
	uint64_t capacity, grain, desc_off, desc_size;
	uint32_t gtes;
	uint64_t rgd_off, gd_off, overhead;
	uint16_t compress_alg;
};
void kdmv_encode(const struct vmdk_kdmv_fields *k, uint8_t *h);
/* Lay out a hosted sparse extent of `sectors` in f (header, RGD+GTs, GD+GTs, descriptor). */
int sparse_create(struct vimg_file *f, uint64_t sectors, bool zeroed_grain, const char *desc,
		  struct vimg_error *err);
int vmdk_check(struct vimg_image *img, struct vimg_check *rep, unsigned fix,
	       struct vimg_error *err);

/* ---- vmdk.c ---------------------------------------------------------------- */

/* Write the descriptor back where it lives (its own file, or embedded). */
int vmdk_desc_write(struct vimg_image *img, struct vmdk_state *s, struct vimg_error *err);
/* A new CID (written with the descriptor) on the first change after open. */
int vmdk_update_cid(struct vimg_image *img, struct vmdk_state *s, struct vimg_error *err);
/*
 * After the extents changed on disk (resize): decode them again from the
 * descriptor (or, for a sparse disk carrying its descriptor, its header) and
 * set the image size.
 */
int vmdk_reload_extents(struct vimg_image *img, struct vmdk_state *s, struct vimg_error *err);

/* ---- resize (vmdk-resize.c) ------------------------------------------------ */

int vmdk_resize(struct vimg_image *img, uint64_t size, unsigned flags, struct vimg_error *err);

#endif
