/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vhdx driver: on-disk layout, native state and the functions shared by
 * formats/vhdx*.c. Facts from Microsoft's [MS-VHDX] v20160714: 2.1 "Layout",
 * 2.2 "Header Section" (file identifier, headers, region table), 2.3 "Log",
 * 2.4 "Blocks", 2.5 "BAT", 2.6 "Metadata Region". Every integer is
 * little-endian; GUIDs are kept as their 16 on-disk bytes (Data1..3 LE).
 *
 * Threading: VIMG_THREAD_SERIALIZE (BAT, dirty pages and the log are mutable).
 */
#ifndef VIMG_VHDX_H
#define VIMG_VHDX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "driver.h"

#define KIB ((uint64_t)1024)
#define MIB ((uint64_t)1024 * 1024)

#define VHDX_FILE_SIG "vhdxfile"
#define VHDX_HEADER_SIG 0x64616568u	/* "head" */
#define VHDX_REGION_SIG 0x69676572u	/* "regi" */
#define VHDX_META_SIG "metadata"
#define VHDX_LOG_SIG 0x65676f6cu	/* "loge" */
#define VHDX_DESC_SIG 0x63736564u	/* "desc" */
#define VHDX_ZERO_SIG 0x6f72657au	/* "zero" */
#define VHDX_DATA_SIG 0x61746164u	/* "data" */

#define VHDX_HEADER1_OFF (64 * KIB)
#define VHDX_HEADER2_OFF (128 * KIB)
#define VHDX_REGION1_OFF (192 * KIB)
#define VHDX_REGION2_OFF (256 * KIB)
#define VHDX_HEADER_LEN (4 * KIB)
#define VHDX_REGION_LEN (64 * KIB)
#define VHDX_REGION_MAX_ENTRIES 2047
#define VHDX_META_TABLE_LEN (64 * KIB)
#define VHDX_META_MAX_ENTRIES 2047
#define VHDX_LOG_SECTOR 4096u
#define VHDX_LOG_DESC_LEN 32u
#define VHDX_LOG_HDR_LEN 64u

/* BAT entry (2.5.1): state in bits 0-2, file offset in MiB in bits 20-63. */
#define VHDX_BAT_STATE_MASK 7ull
#define VHDX_BAT_OFFSET_MASK 0xfffffffffff00000ull
#define VHDX_BAT_NOT_PRESENT 0
#define VHDX_BAT_UNDEFINED 1
#define VHDX_BAT_ZERO 2
#define VHDX_BAT_UNMAPPED 3
#define VHDX_BAT_FULLY_PRESENT 6
#define VHDX_BAT_PARTIALLY_PRESENT 7
#define VHDX_SB_NOT_PRESENT 0
#define VHDX_SB_PRESENT 6

/* File parameters flags (2.6.2.1). */
#define VHDX_PARAM_LEAVE_ALLOCATED 1u
#define VHDX_PARAM_HAS_PARENT 2u
/* Metadata table entry flags (2.6.1.2). */
#define VHDX_META_IS_USER 1u
#define VHDX_META_IS_VIRTUAL_DISK 2u
#define VHDX_META_IS_REQUIRED 4u

/* Implementation limits. */
#define VHDX_MAX_SIZE (64ull << 40)		/* 64 TiB, the spec's maximum */
#define VHDX_MAX_BAT_BYTES (256ull << 20)
#define VHDX_MAX_LOG_BYTES (256ull << 20)
#define VHDX_MAX_META_ITEM (1ull << 20)
#define VHDX_MIN_BLOCK (1u << 20)
#define VHDX_MAX_BLOCK (256u << 20)
#define VHDX_MAX_PATH 4096

/* A GUID from its textual fields, as its 16 on-disk bytes. */
#define VHDX_GUID(a, b, c, d0, d1, d2, d3, d4, d5, d6, d7)                             \
	{ (uint8_t)(a), (uint8_t)((a) >> 8), (uint8_t)((a) >> 16), (uint8_t)((a) >> 24), \
	  (uint8_t)(b), (uint8_t)((b) >> 8), (uint8_t)(c), (uint8_t)((c) >> 8),          \
	  d0, d1, d2, d3, d4, d5, d6, d7 }

extern const uint8_t vhdx_guid_bat[16], vhdx_guid_metadata[16];
extern const uint8_t vhdx_guid_file_params[16], vhdx_guid_vsize[16], vhdx_guid_page83[16];
extern const uint8_t vhdx_guid_lsec[16], vhdx_guid_psec[16], vhdx_guid_parent_locator[16];
extern const uint8_t vhdx_guid_parent_type[16];

/* Header (2.2.2) as decoded; `raw` keeps the 4 KiB as read. */
struct vhdx_header {
	uint32_t signature, checksum;
	uint64_t seq;
	uint8_t file_write_guid[16], data_write_guid[16], log_guid[16];
	uint16_t log_version, version;
	uint32_t log_length;
	uint64_t log_offset;
};

/* One replayed write kept in memory (read-only opens): data == NULL means zeros. */
struct vhdx_ovl {
	uint64_t off, len;
	uint8_t *data;
};

struct vhdx {
	struct vimg_image *img;
	struct vimg_file *file;
	bool writable;
	uint64_t file_size;
	struct vhdx_header hdr;		/* the current header */
	int cur;			/* 0 or 1: which slot holds it */
	uint64_t bat_off, bat_len, meta_off, meta_len;
	/* metadata (2.6.2) */
	uint32_t block_size, lsec, psec;
	bool leave_alloc, has_parent;
	uint64_t vsize;
	uint64_t vsize_off;		/* file offset of the virtual disk size item */
	uint64_t parent_size;		/* bytes, once the core opened the parent */
	uint8_t page83[16];
	uint8_t parent_linkage[16];
	bool has_linkage;
	char parent_path[VHDX_MAX_PATH];
	/* BAT geometry (2.5) */
	uint64_t chunk_ratio, payload_blocks, bitmap_blocks, bat_entries;
	uint64_t *bat;			/* bat_len / 8 entries, the whole region */
	uint8_t *dirty;			/* one flag per 4 KiB page of the BAT region */
	uint64_t n_dirty;
	uint64_t data_end;		/* where the next block goes, 1 MiB aligned */
	/* log (2.3) */
	struct vhdx_ovl *ovl;
	size_t n_ovl;
	uint64_t replay_end;		/* LastFileOffset of a replayed sequence */
	bool replayed;			/* a pending log was found on open */
	bool session;			/* headers carry this session's write GUIDs */
	bool stopped;			/* the test hook stopped all writing */
	uint64_t log_seq;
	uint8_t *zero_buf;		/* 1 MiB of zeros */
	uint8_t *tmp_buf;		/* 1 MiB scratch */
};

static inline struct vhdx *vhdx_priv(struct vimg_image *img)
{
	return image_priv(img);
}

/* BAT index of payload block b, and of the sector bitmap block of chunk c. */
static inline uint64_t vhdx_pb_index(const struct vhdx *s, uint64_t b)
{
	return b + b / s->chunk_ratio;
}

static inline uint64_t vhdx_sb_index(const struct vhdx *s, uint64_t c)
{
	return c * (s->chunk_ratio + 1) + s->chunk_ratio;
}

/* ---- vhdx.c ---------------------------------------------------------------- */

/*
 * Write the current header (with its sequence number raised) to the other
 * slot, twice, so both slots end valid and equal but for the sequence
 * number (2.2.2.1 "Updating the Headers"). fsyncs after each write.
 */
int vhdx_headers_update(struct vhdx *s, struct vimg_error *err);
/* "{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}" from on-disk bytes; out has 39 bytes. */
void vhdx_guid_str(const uint8_t g[16], char *out);
/* Parse that form (braces optional, any case). Returns false if malformed. */
bool vhdx_guid_parse(const char *str, uint8_t g[16]);
uint32_t vhdx_header_checksum(const uint8_t *b4k);
void vhdx_header_encode(const struct vhdx_header *h, uint8_t *b4k);

/* ---- vhdx-log.c ------------------------------------------------------------ */

/*
 * A pending log (header LogGuid non-zero): find the active sequence (2.3.3)
 * and replay it: into the file (then fsync and clear LogGuid) when writable,
 * else into s->ovl only, leaving the file byte-identical.
 */
int vhdx_log_replay(struct vhdx *s, struct vimg_error *err);
/* Read metadata at off, with replayed-but-unwritten log data applied. */
int vhdx_meta_pread(struct vhdx *s, void *buf, size_t len, uint64_t off,
		    struct vimg_error *err);
/* Whether [off, off+len) of the file is touched by the in-memory replay. */
bool vhdx_ovl_overlaps(const struct vhdx *s, uint64_t off, uint64_t len);
/*
 * Commit the dirty BAT pages: data fsync, log entry (fsync), BAT in place
 * (fsync), LogGuid cleared. The environment variable
 * VIMG_VHDX_TEST_STOP_AFTER_LOG (tests only) stops after the log entry is
 * durable, leaving a pending log; every later write then fails.
 */
int vhdx_log_commit(struct vhdx *s, struct vimg_error *err);
void vhdx_log_free(struct vhdx *s);
/*
 * Write n 4 KiB pages of metadata through one log entry (as the BAT is
 * committed): data holds them in order, offs[k] is where page k goes (4 KiB
 * aligned, from the first region table on). VIMG_ENOSPC when the log cannot hold them.
 */
int vhdx_log_write_pages(struct vhdx *s, const uint64_t *offs, const uint8_t *data, uint64_t n,
			 struct vimg_error *err);

/* ---- vhdx-bat.c ------------------------------------------------------------ */

int vhdx_bat_load(struct vhdx *s, struct vimg_error *err);
/* For a PARTIALLY_PRESENT block: whether [off..) is present in this file, and
 * for how long (*run_len, within off+len and the block). Uses s->tmp_buf. */
int vhdx_bitmap_run(struct vhdx *s, uint64_t off, uint64_t len, bool *present,
		    uint64_t *run_len, struct vimg_error *err);
int vhdx_block_status(struct vimg_image *img, uint64_t off, uint64_t len, struct vimg_run *run,
		      struct vimg_error *err);
int vhdx_read(struct vimg_image *img, void *buf, uint64_t off, size_t len,
	      struct vimg_error *err);
int vhdx_write(struct vimg_image *img, const void *buf, uint64_t off, size_t len,
	       unsigned flags, struct vimg_error *err);
int vhdx_zero(struct vimg_image *img, uint64_t off, uint64_t len, unsigned flags,
	      struct vimg_error *err);
int vhdx_flush(struct vimg_image *img, struct vimg_error *err);
/* Before the first change of an open: new write GUIDs in both headers. */
int vhdx_session_start(struct vhdx *s, struct vimg_error *err);
/* Mark BAT entry idx changed (committed through the log at flush). */
void vhdx_set_entry(struct vhdx *s, uint64_t idx, uint64_t e);
int vhdx_check(struct vimg_image *img, struct vimg_check *rep, unsigned fix,
	       struct vimg_error *err);

/* ---- vhdx-create.c --------------------------------------------------------- */

extern const struct vimg_opt_desc vhdx_create_opts[];
/*
 * The parent locator item (2.6.2.6) a child of the parent with data write
 * GUID `linkage`, named `name` (as it must be written), records: type,
 * parent_linkage, and relative_path (".\\name", backslashes) or, for an
 * absolute POSIX name, absolute_win32_path. Returns its length in b[cap], or
 * -1 if the name is too long or not UTF-8.
 */
int vhdx_locator_build(const uint8_t linkage[16], const char *name, uint8_t *b, size_t cap);
/* ---- vhdx-resize.c --------------------------------------------------------- */

int vhdx_resize(struct vimg_image *img, uint64_t size, unsigned flags, struct vimg_error *err);

/* ---- vhdx-backing.c -------------------------------------------------------- */

/* set_backing: a new parent for a differencing disk, or none (it becomes dynamic). */
int vhdx_set_backing(struct vimg_image *img, const char *name, struct vimg_image *parent,
		     struct vimg_error *err);
/* amend: no create option can change (backing_file goes to set_backing). */
int vhdx_amend(struct vimg_image *img, const struct vimg_opts *opts, struct vimg_error *err);

int vhdx_create(const char *path, uint64_t size, const struct vimg_opts *opts,
		const struct vimg_backing_spec *backing, struct vimg_error *err);

#endif
