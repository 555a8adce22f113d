/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qcow2 driver: on-disk layout, native state and the functions shared by
 * formats/qcow2*.c. Layout facts come from qemu docs/interop/qcow2.txt
 * ("Header", "Host cluster management", "Cluster mapping", "Extended L2
 * Entries", "Snapshots"). All on-disk integers are big-endian and are decoded
 * in exactly one place each (qcow2_header_decode, the L1/L2/refcount loaders).
 *
 * Threading: the driver runs under VIMG_THREAD_SERIALIZE, so every function
 * here is called with the image lock held, except qcow2_compress_cluster,
 * which touches no mutable state.
 */
#ifndef VIMG_QCOW2_H
#define VIMG_QCOW2_H

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>

#include "driver.h"

struct luks;

#define QCOW2_MAGIC 0x514649fbu /* "QFI\xfb" */

#define QCOW2_MIN_CLUSTER_BITS 9
#define QCOW2_MAX_CLUSTER_BITS 21
#define QCOW2_V2_HEADER_LEN 72
#define QCOW2_V3_HEADER_LEN 104
#define QCOW2_HEADER_DISK_LEN 112

/* Implementation limits, the same as qemu's (qcow2.txt "size" note). */
#define QCOW2_MAX_L1_BYTES (32ull << 20)
#define QCOW2_MAX_RT_BYTES (32ull << 20)
#define QCOW2_MAX_VIRTUAL_SIZE (1ull << 61)
#define QCOW2_MAX_SNAPSHOTS 65536
#define QCOW2_MAX_SNAPSHOT_TABLE (64ull << 20)
#define QCOW2_MAX_BACKING_NAME 1023

/* Incompatible feature bits. */
#define QCOW2_INCOMPAT_DIRTY (1ull << 0)
#define QCOW2_INCOMPAT_CORRUPT (1ull << 1)
#define QCOW2_INCOMPAT_DATA_FILE (1ull << 2)
#define QCOW2_INCOMPAT_COMPRESSION (1ull << 3)
#define QCOW2_INCOMPAT_EXTL2 (1ull << 4)
#define QCOW2_INCOMPAT_KNOWN 0x1full
/* Compatible and autoclear bits. */
#define QCOW2_COMPAT_LAZY_REFCOUNTS (1ull << 0)
#define QCOW2_AUTOCLEAR_BITMAPS (1ull << 0)
#define QCOW2_AUTOCLEAR_DATA_FILE_RAW (1ull << 1)

/* Header extension types. */
#define QCOW2_EXT_END 0x00000000u
#define QCOW2_EXT_BACKING_FORMAT 0xe2792acau
#define QCOW2_EXT_FEATURE_TABLE 0x6803f857u
#define QCOW2_EXT_BITMAPS 0x23852875u
#define QCOW2_EXT_CRYPTO 0x0537be77u
#define QCOW2_EXT_DATA_FILE 0x44415441u

/* Table entry bits. */
#define QCOW2_OFLAG_COPIED (1ull << 63)
#define QCOW2_OFLAG_COMPRESSED (1ull << 62)
#define QCOW2_OFLAG_ZERO (1ull << 0)
#define QCOW2_L1E_OFFSET_MASK 0x00fffffffffffe00ull
#define QCOW2_L2E_OFFSET_MASK 0x00fffffffffffe00ull
#define QCOW2_REFT_OFFSET_MASK 0xfffffffffffffe00ull
#define QCOW2_SUBCLUSTERS 32

#define QCOW2_COMPRESSION_ZLIB 0
#define QCOW2_COMPRESSION_ZSTD 1

#define QCOW2_CACHE_SLOTS 16

/* Header as stored (qcow2.txt "Header"), through compression_type + padding. */
struct qcow2_header_disk {
	uint8_t magic[4];
	uint8_t version[4];
	uint8_t backing_file_offset[8];
	uint8_t backing_file_size[4];
	uint8_t cluster_bits[4];
	uint8_t size[8];
	uint8_t crypt_method[4];
	uint8_t l1_size[4];
	uint8_t l1_table_offset[8];
	uint8_t refcount_table_offset[8];
	uint8_t refcount_table_clusters[4];
	uint8_t nb_snapshots[4];
	uint8_t snapshots_offset[8];
	/* version 3 */
	uint8_t incompatible_features[8];
	uint8_t compatible_features[8];
	uint8_t autoclear_features[8];
	uint8_t refcount_order[4];
	uint8_t header_length[4];
	uint8_t compression_type;
	uint8_t padding[7];
} __attribute__((packed));
static_assert(sizeof(struct qcow2_header_disk) == QCOW2_HEADER_DISK_LEN, "qcow2 header size");

/* Byte offsets of header fields rewritten in place. */
#define QCOW2_HDR_SIZE 24 /* size, crypt_method, l1_size, l1_table_offset follow */
#define QCOW2_HDR_RT_OFFSET 48
#define QCOW2_HDR_INCOMPAT 72
#define QCOW2_HDR_AUTOCLEAR 88

struct qcow2_header {
	uint32_t magic;
	uint32_t version;
	uint64_t backing_file_offset;
	uint32_t backing_file_size;
	uint32_t cluster_bits;
	uint64_t size;
	uint32_t crypt_method;
	uint32_t l1_size;
	uint64_t l1_table_offset;
	uint64_t refcount_table_offset;
	uint32_t refcount_table_clusters;
	uint32_t nb_snapshots;
	uint64_t snapshots_offset;
	uint64_t incompatible_features;
	uint64_t compatible_features;
	uint64_t autoclear_features;
	uint32_t refcount_order;
	uint32_t header_length;
	uint8_t compression_type;
};

/* One decoded internal snapshot (qcow2.txt "Snapshots"). */
struct qcow2_snapshot {
	uint64_t l1_table_offset;
	uint32_t l1_size;
	char *id;
	char *name;
	uint32_t date_sec;
	uint32_t date_nsec;
	uint64_t vm_clock_nsec;
	uint64_t vm_state_size;
	uint64_t disk_size;
	uint64_t icount;
	uint64_t entry_offset; /* where the entry lies in the file */
};

/* A small LRU of cluster-sized metadata tables, kept in on-disk byte order. */
struct qcow2_cache_ent {
	uint64_t off; /* 0: slot empty */
	uint64_t used;
	uint8_t *data;
	bool dirty;   /* changed in memory, not yet written back */
};

struct qcow2_cache {
	struct qcow2_cache_ent ent[QCOW2_CACHE_SLOTS];
	uint64_t tick;
};

/* Driver state (the core allocates it zeroed: priv_size). */
struct qcow2 {
	struct vimg_image *img;
	struct vimg_file *file;		/* main file, owned by the core */
	struct vimg_file *data_file;	/* external data file, or == file */
	bool own_data_file;		/* close data_file in close() */
	bool is_view;			/* snapshot view: read-only, nothing shared is freed */
	bool writable;
	bool dirty_set;			/* we set the dirty bit (lazy refcounts) */
	struct qcow2_header h;
	uint8_t *hdr_cluster;		/* the first cluster as read, for info/extensions */

	uint32_t cluster_bits;
	uint64_t cluster_size;
	bool ext_l2;
	unsigned l2_entry_size;		/* 8, or 16 with extended L2 */
	uint32_t l2_bits;		/* log2 of entries per L2 table */
	uint64_t l2_entries;
	uint64_t subcluster_size;
	uint32_t csize_shift;		/* compressed descriptor: sector count position */
	uint64_t csize_mask;
	uint64_t coffset_mask;

	uint64_t *l1;			/* native values */
	uint32_t l1_size;
	uint64_t l1_offset;

	uint64_t *rt;			/* refcount table, native; loaded when writable/checking */
	uint64_t rt_entries;
	uint32_t refcount_bits;
	uint64_t rb_entries;		/* refcounts per refcount block */
	uint64_t refcount_max;

	uint64_t file_size;		/* current main file size */
	uint64_t data_file_size;
	uint64_t alloc_end;		/* first cluster past everything allocated */
	uint64_t free_hint;		/* lowest cluster freed since open, or 0: none */
	uint64_t cfree;			/* free byte in the last compressed cluster, or 0 */

	struct qcow2_cache l2c;
	struct qcow2_cache rbc;

	uint8_t *dc_buf;		/* last decompressed cluster */
	uint64_t dc_entry;		/* its L2 entry, 0 if none */

	char *backing_fmt;
	char *data_file_name;
	bool has_bitmaps_ext;
	/* LUKS encryption (crypt_method 2): the header area the crypto
	 * extension names, and the unlocked header (NULL: not encrypted). */
	uint64_t crypto_off, crypto_len;
	struct luks *luks;
	struct qcow2_snapshot *snaps;
	uint32_t nb_snaps;
	uint64_t snap_table_bytes;
	/* Snapshot views share the table and read its L1 trees: while any is
	 * open (a view may close on another thread, hence atomics), the
	 * snapshots must not change. A view points back at its parent. */
	unsigned views;
	struct qcow2 *parent;
	char incompat_names[64][48];
};

static inline struct qcow2 *qcow2_priv(struct vimg_image *img)
{
	return image_priv(img);
}

/* L1 entries a disk of `size` bytes needs: one per L2 table's span. */
static inline uint64_t qcow2_l1_entries_for(const struct qcow2 *s, uint64_t size)
{
	unsigned span = s->cluster_bits + s->l2_bits;

	return (size + (1ull << span) - 1) >> span;
}

static inline bool qcow2_has_data_file(const struct qcow2 *s)
{
	return s->h.incompatible_features & QCOW2_INCOMPAT_DATA_FILE;
}

static inline bool qcow2_data_file_raw(const struct qcow2 *s)
{
	return qcow2_has_data_file(s) && (s->h.autoclear_features & QCOW2_AUTOCLEAR_DATA_FILE_RAW);
}

/* ---- qcow2.c ---------------------------------------------------------- */

/* Decode the first QCOW2_HEADER_DISK_LEN bytes (zero-filled if shorter). Cannot fail. */
void qcow2_header_decode(const struct qcow2_header_disk *d, struct qcow2_header *h);
/* Encode for create; inverse of qcow2_header_decode. */
void qcow2_header_encode(const struct qcow2_header *h, struct qcow2_header_disk *d);
/* Set geometry fields of s (cluster, L2, compressed descriptor) from s->h. */
void qcow2_set_geometry(struct qcow2 *s);
/* ---- qcow2-crypto.c ------------------------------------------------------- */

/* Open the LUKS header of an image with crypt_method 2 (read-only for now). */
int qcow2_crypto_open(struct vimg_image *img, struct qcow2 *s, struct vimg_error *err);
/* Decrypt buf, len bytes of the data cluster at host offset `host` + in. */
int qcow2_crypto_read(struct qcow2 *s, struct vimg_file *f, uint64_t host, uint64_t in,
		      uint8_t *buf, size_t len, struct vimg_error *err);
void qcow2_crypto_info(struct qcow2 *s, const struct vimg_emit *em);

/* ---- qcow2-backing.c ----------------------------------------------------- */

/*
 * Write the first cluster anew from header nh (header_length no shorter than
 * the current one), every extension kept but the backing format, then the
 * backing format fmt and the name (both NULL: none). On success s->h is nh
 * with the backing fields filled in.
 */
int qcow2_rewrite_first_cluster(struct qcow2 *s, const struct qcow2_header *nh,
				const char *name, const char *fmt, struct vimg_error *err);
/* ---- qcow2-amend.c -------------------------------------------------------- */

int qcow2_amend(struct vimg_image *img, const struct vimg_opts *opts, struct vimg_error *err);

/* The driver's set_backing: a new backing name and format, or none. */
int qcow2_set_backing(struct vimg_image *img, const char *name, struct vimg_image *parent,
		      struct vimg_error *err);

/*
 * Size and L1 table in the header, in one write inside the first sector (so
 * never one without the other), then synced; s->h follows.
 */
int qcow2_write_size_l1(struct qcow2 *s, uint64_t size, uint32_t l1_size, uint64_t l1_off,
			struct vimg_error *err);
/* Write the incompatible-features field of the header from s->h. */
int qcow2_write_incompat(struct qcow2 *s, struct vimg_error *err);
/* Note a write that ended at `end` in the main file (keeps file_size current). */
void qcow2_note_file_end(struct qcow2 *s, struct vimg_file *f, uint64_t end);

/* ---- qcow2-cache (in qcow2-cluster.c) ----------------------------------- */

/*
 * Get the cluster at `off` of the main file through cache c, reading it unless
 * `fresh` (then it is zero-filled). The pointer is valid until the next call on c.
 */
int qcow2_cache_get(struct qcow2 *s, struct qcow2_cache *c, uint64_t off, bool fresh,
		    uint8_t **out, struct vimg_error *err);
void qcow2_cache_drop(struct qcow2_cache *c, uint64_t off);
/* Mark the cached table holding `data` (from qcow2_cache_get) as changed. */
void qcow2_cache_set_dirty(struct qcow2_cache *c, const uint8_t *data);
/*
 * Write back every changed refcount block, then every changed L2 table: a crash
 * in between leaves leaked clusters, never a table pointing at a cluster whose
 * refcount is not on disk yet.
 */
int qcow2_cache_flush(struct qcow2 *s, struct vimg_error *err);
void qcow2_cache_free(struct qcow2_cache *c);

/* ---- qcow2-cluster.c ---------------------------------------------------- */

/* Check an L1 entry; returns the L2 offset (0 = none) or a negative code. */
int qcow2_l1_entry_check(struct qcow2 *s, uint64_t l1e, uint64_t idx, uint64_t l1_off,
			 uint64_t *l2_off, struct vimg_error *err);
/* Load one L2 entry (and its extended bitmap, 0 without extended L2). */
void qcow2_l2_load(const struct qcow2 *s, const uint8_t *tbl, uint64_t idx, uint64_t *e,
		   uint64_t *bm);
int qcow2_block_status(struct vimg_image *img, uint64_t off, uint64_t len, struct vimg_run *run,
		       struct vimg_error *err);
int qcow2_write(struct vimg_image *img, const void *buf, uint64_t off, size_t len,
		unsigned flags, struct vimg_error *err);
int qcow2_zero(struct vimg_image *img, uint64_t off, uint64_t len, unsigned flags,
	       struct vimg_error *err);
/*
 * Find the L2 slot of guest offset off for writing (allocating or un-sharing
 * the L2 table). *l2_off and *idx say where the entry is.
 */
int qcow2_l2_slot(struct qcow2 *s, uint64_t off, uint64_t *l2_off, uint64_t *idx,
		  struct vimg_error *err);
/* Read-only lookup of the entry for guest offset off in L1 table l1 (entries 0 if none). */
int qcow2_l2_lookup(struct qcow2 *s, uint64_t off, uint64_t *e, uint64_t *bm,
		    struct vimg_error *err);
/* Store an L2 entry at slot (l2_off, idx): cache and file. */
int qcow2_l2_store(struct qcow2 *s, uint64_t l2_off, uint64_t idx, uint64_t e, uint64_t bm,
		   struct vimg_error *err);
/* L1 entries [from, to) of l1 as stored, in the table at file offset off. */
int qcow2_l1_write(struct qcow2 *s, uint64_t off, const uint64_t *l1, uint32_t from, uint32_t to,
		   struct vimg_error *err);
/* New clusters holding the n entries of l1; *off 0 for an empty table. */
int qcow2_l1_place(struct qcow2 *s, const uint64_t *l1, uint32_t n, uint64_t *off,
		   struct vimg_error *err);
/*
 * A data cluster of entry e whose refcount fell to 0 goes back to the host
 * (a hole): freeing space, not only clusters (sparsify, shrink). With run,
 * contiguous clusters are gathered there and punched together (a punch can
 * be a synchronous discard), by qcow2_hole_punch at the latest, which must
 * come before anything is allocated; run NULL: punched at once.
 */
struct qcow2_hole {
	uint64_t off, len;
};
int qcow2_unmap_freed(struct qcow2 *s, uint64_t e, struct qcow2_hole *run,
		      struct vimg_error *err);
int qcow2_hole_punch(struct qcow2 *s, struct qcow2_hole *run, struct vimg_error *err);
/* Drop the host clusters an old L2 entry referenced (refcount -1). */
int qcow2_release_entry(struct qcow2 *s, uint64_t e, struct vimg_error *err);
/* Set the dirty bit before the first write of an image with lazy refcounts. */
int qcow2_mark_dirty(struct qcow2 *s, struct vimg_error *err);
/* Preallocate (metadata, falloc, full) every unallocated cluster of the
 * guest range [from, to): create, and resize of the grown part. */
int qcow2_preallocate(struct qcow2 *s, const char *mode, uint64_t from, uint64_t to,
		      struct vimg_error *err);

/* ---- qcow2-refcount.c --------------------------------------------------- */

/* Load the refcount table (needed for writes and checks). */
int qcow2_refcount_init(struct qcow2 *s, struct vimg_error *err);
int qcow2_refcount_get(struct qcow2 *s, uint64_t cluster, uint64_t *val, struct vimg_error *err);
int qcow2_refcount_set(struct qcow2 *s, uint64_t cluster, uint64_t val, struct vimg_error *err);
/* Add delta (+1/-1) to the refcounts of the clusters covering [off, off+len). */
int qcow2_refcount_update(struct qcow2 *s, uint64_t off, uint64_t len, int delta,
			  struct vimg_error *err);
/* Allocate n contiguous new clusters with refcount 1; *off is the first. */
int qcow2_alloc_clusters(struct qcow2 *s, uint64_t n, uint64_t *off, struct vimg_error *err);
/* Allocate bytes for compressed data (sector-aligned, may share clusters). */
int qcow2_alloc_bytes(struct qcow2 *s, uint64_t len, uint64_t *off, struct vimg_error *err);

/* ---- qcow2-compress.c --------------------------------------------------- */

/* Host range a compressed L2 entry describes. */
void qcow2_compressed_range(const struct qcow2 *s, uint64_t e, uint64_t *off, uint64_t *len);
/* Decompress the cluster of entry e into out (cluster_size bytes). */
int qcow2_decompress_entry(struct qcow2 *s, uint64_t e, uint8_t *out, struct vimg_error *err);
/* Copy len bytes at offset `in` of the cluster behind compressed entry e, through a
 * one-cluster cache (s->dc_buf). Caller holds the image lock. */
int qcow2_decompress_cached(struct qcow2 *s, uint64_t e, void *buf, uint64_t in, size_t len,
			    struct vimg_error *err);
int qcow2_read(struct vimg_image *img, void *buf, uint64_t off, size_t len,
	       struct vimg_error *err);
int qcow2_compress(struct vimg_image *img, const void *in, size_t len, void *out,
		   size_t *out_len, struct vimg_error *err);
int qcow2_write_compressed(struct vimg_image *img, const void *cdata, size_t clen, uint64_t off,
			   size_t len, struct vimg_error *err);

/* ---- qcow2-snapshot.c --------------------------------------------------- */

int qcow2_snapshots_load(struct qcow2 *s, struct vimg_error *err);
void qcow2_snapshots_free(struct qcow2 *s);
int qcow2_snapshot_list(struct vimg_image *img,
			int (*cb)(void *opaque, const struct vimg_snapshot *sn), void *opaque,
			struct vimg_error *err);
int qcow2_snapshot_open(struct vimg_image *img, const char *id_or_name, struct vimg_image *view,
			struct vimg_error *err);
/* By id first, then by name (qemu's order); NULL if none. */
const struct qcow2_snapshot *qcow2_snapshot_find(const struct qcow2 *s, const char *id_or_name);
/* A snapshot's L1 table, validated against the file (malloc'd, native order). */
int qcow2_snapshot_l1_load(struct qcow2 *s, const struct qcow2_snapshot *sn, uint64_t **l1,
			   struct vimg_error *err);

/* ---- qcow2-snapshot-write.c ---------------------------------------------- */

int qcow2_snapshot_create(struct vimg_image *img, const char *name, struct vimg_error *err);
int qcow2_snapshot_apply(struct vimg_image *img, const char *id_or_name,
			 struct vimg_error *err);
int qcow2_snapshot_delete(struct vimg_image *img, const char *id_or_name,
			  struct vimg_error *err);

/*
 * Write the snapshot table anew, so that every entry records its own disk
 * size (older writers left it out, and it then reads as the image's).
 */
int qcow2_snapshot_sizes_record(struct qcow2 *s, struct vimg_error *err);

/* ---- qcow2-resize.c ------------------------------------------------------ */

int qcow2_resize(struct vimg_image *img, uint64_t size, unsigned flags, struct vimg_error *err);
int qcow2_make_empty(struct vimg_image *img, struct vimg_error *err);

/* ---- qcow2-create.c ----------------------------------------------------- */

extern const struct vimg_opt_desc qcow2_create_opts[];
int qcow2_create(const char *path, uint64_t size, const struct vimg_opts *opts,
		 const struct vimg_backing_spec *backing, struct vimg_error *err);

/* ---- qcow2-check.c ------------------------------------------------------ */

int qcow2_check(struct vimg_image *img, struct vimg_check *rep, unsigned fix,
		struct vimg_error *err);
/* Rebuild refcounts from the L1/L2 tables (dirty image on rw open). */
int qcow2_repair_refcounts(struct qcow2 *s, struct vimg_error *err);

#endif
