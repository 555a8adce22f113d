/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vhdx resize, as Hyper-V's Resize-VHD: the Virtual Disk Size metadata item
 * (2.6.2.2) changes, the BAT (2.5) gains or loses entries. The index of a
 * payload block's entry does not depend on the disk size (2.5: one sector
 * bitmap entry after every chunk_ratio payload entries), so existing entries
 * stay where they are and a grown disk only needs room for more. When the
 * BAT region cannot hold them, a new region (1 MiB aligned) is written at
 * the end of the file and both region tables (2.2.3) are pointed at it; the
 * old region is left unused.
 *
 * New blocks are NOT_PRESENT; a fixed disk (LeaveBlockAllocated) gets its new
 * blocks allocated and FULLY_PRESENT, as Resize-VHD does. A shrink clears
 * the entries of blocks wholly past the end (their space stays in the file).
 * The tail of a partial last block is zeroed on growth, so old data never
 * comes back.
 *
 * Every metadata change goes through the log (2.3), as the BAT does: BAT
 * pages first, then one entry with the size item (and the region tables when
 * the BAT moved), so each step leaves a consistent image; a new BAT region
 * is written and synced before anything points to it. A differencing disk
 * may shrink, and grow back up to its parent's size when its old size was a
 * whole number of blocks (the grown part reads through to the parent, like
 * an unwritten part of the disk).
 */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "crc32c.h"
#include "endian.h"
#include "vhdx.h"

#define PAGE VHDX_LOG_SECTOR

struct geom {
	uint64_t payload_blocks, bitmap_blocks, bat_entries;
};

static struct geom geom_for(const struct vhdx *s, uint64_t size)
{
	struct geom g;

	g.payload_blocks = (size + s->block_size - 1) / s->block_size;
	g.bitmap_blocks = (g.payload_blocks + s->chunk_ratio - 1) / s->chunk_ratio;
	g.bat_entries = s->has_parent ? g.bitmap_blocks * (s->chunk_ratio + 1)
				      : g.payload_blocks + (g.payload_blocks - 1) / s->chunk_ratio;
	return g;
}

/* The valid region table (the one open used), BAT entry pointed at off/len. */
static int region_table(struct vhdx *s, uint8_t *b, uint64_t bat_off, uint64_t bat_len,
			struct vimg_error *err)
{
	for (int slot = 0; slot < 2; slot++) {
		uint64_t roff = slot ? VHDX_REGION2_OFF : VHDX_REGION1_OFF;
		uint32_t sum, n;
		int rc = vhdx_meta_pread(s, b, VHDX_REGION_LEN, roff, err);

		if (rc)
			return rc;
		sum = ld_le32(b + 4);
		memset(b + 4, 0, 4);
		n = ld_le32(b + 8);
		if (ld_le32(b) != VHDX_REGION_SIG || sum != crc32c(0, b, VHDX_REGION_LEN) ||
		    n > VHDX_REGION_MAX_ENTRIES)
			continue;
		for (uint32_t i = 0; i < n; i++) {
			uint8_t *e = b + 16 + 32 * (size_t)i;

			if (memcmp(e, vhdx_guid_bat, 16))
				continue;
			st_le64(e + 16, bat_off);
			st_le32(e + 24, (uint32_t)bat_len);
			st_le32(b + 4, crc32c(0, b, VHDX_REGION_LEN));
			return 0;
		}
	}
	return vimg_error_set(err, VIMG_ECORRUPT,
			      "vhdx: region table: no valid table with a BAT entry (offset 0x%llx)",
			      (unsigned long long)VHDX_REGION1_OFF);
}

/* One log entry: the size item, and both region tables when the BAT moved. */
static int log_size(struct vhdx *s, uint64_t size, bool moved, uint64_t bat_off,
		    uint64_t bat_len, struct vimg_error *err)
{
	uint64_t n = 1 + (moved ? 2 * VHDX_REGION_LEN / PAGE : 0), offs[1 + 2 * VHDX_REGION_LEN / PAGE];
	uint64_t page = s->vsize_off / PAGE * PAGE, in = s->vsize_off % PAGE;
	uint8_t *data;
	int rc;

	if (in > PAGE - 8)
		return vimg_error_set(err, VIMG_EUNSUPPORTED,
				      "vhdx: metadata: the virtual disk size item crosses a 4 KiB "
				      "page (offset 0x%" PRIx64 ")",
				      s->vsize_off);
	data = malloc(n * PAGE);
	if (!data)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	rc = vhdx_meta_pread(s, data, PAGE, page, err);
	st_le64(data + in, size);
	offs[0] = page;
	if (!rc && moved) {
		rc = region_table(s, data + PAGE, bat_off, bat_len, err);
		memcpy(data + PAGE + VHDX_REGION_LEN, data + PAGE, VHDX_REGION_LEN);
		for (uint64_t k = 0; k < VHDX_REGION_LEN / PAGE; k++) {
			offs[1 + k] = VHDX_REGION1_OFF + k * PAGE;
			offs[1 + VHDX_REGION_LEN / PAGE + k] = VHDX_REGION2_OFF + k * PAGE;
		}
	}
	if (!rc)
		rc = vhdx_log_write_pages(s, offs, data, n, err);
	free(data);
	return rc;
}

static void set_geometry(struct vimg_image *img, struct vhdx *s, uint64_t size)
{
	struct geom g = geom_for(s, size);

	s->vsize = size;
	s->payload_blocks = g.payload_blocks;
	s->bitmap_blocks = g.bitmap_blocks;
	s->bat_entries = g.bat_entries;
	image_set_size(img, size);
}

static int shrink(struct vimg_image *img, struct vhdx *s, uint64_t size, struct vimg_error *err)
{
	struct geom g = geom_for(s, size);
	uint64_t old_pb = s->payload_blocks, old_bm = s->bitmap_blocks;
	int rc = log_size(s, size, false, 0, 0, err);

	if (rc)
		return rc;
	set_geometry(img, s, size);
	/* Past the size now: cleared, so growing again shows no old data. */
	for (uint64_t b = g.payload_blocks; b < old_pb; b++)
		if (s->bat[vhdx_pb_index(s, b)])
			vhdx_set_entry(s, vhdx_pb_index(s, b), 0);
	for (uint64_t c = g.bitmap_blocks; s->has_parent && c < old_bm; c++)
		if (s->bat[vhdx_sb_index(s, c)])
			vhdx_set_entry(s, vhdx_sb_index(s, c), 0);
	return vhdx_log_commit(s, err);
}

/* Zero the old last block past the old size, if the file holds it. */
static int zero_tail(struct vhdx *s, struct vimg_error *err)
{
	uint64_t in = s->vsize % s->block_size, e;
	int rc = 0;

	if (!in)
		return 0;
	e = s->bat[vhdx_pb_index(s, s->payload_blocks - 1)];
	if ((e & VHDX_BAT_STATE_MASK) != VHDX_BAT_FULLY_PRESENT)
		return 0;
	for (uint64_t at = in; at < s->block_size && !rc;) {
		uint64_t n = min_u64(MIB, s->block_size - at);

		rc = file_pwrite_full(s->file, s->zero_buf, n, (e & VHDX_BAT_OFFSET_MASK) + at, err);
		at += n;
	}
	return rc;
}

static int grow(struct vimg_image *img, struct vhdx *s, uint64_t size, struct vimg_error *err)
{
	struct geom g = geom_for(s, size);
	uint64_t need = g.bat_entries * 8, bat_off = s->bat_off, bat_len = s->bat_len, host = 0;
	uint64_t *bat = s->bat, nblocks = g.payload_blocks - s->payload_blocks, blocks_len = 0;
	uint8_t *dirty = NULL, *raw = NULL;
	bool moved = need > s->bat_len;
	int rc = zero_tail(s, err);

	if (rc)
		return rc;
	if (moved) {
		if (ck_align_up(need, MIB, &bat_len) || bat_len > VHDX_MAX_BAT_BYTES)
			return vimg_error_set(err, VIMG_EINVAL,
					      "vhdx: a BAT of %" PRIu64 " entries is too large",
					      g.bat_entries);
		rc = vimg_alloc_table(bat_len / 8, 8, VHDX_MAX_BAT_BYTES, "vhdx: BAT entries",
				      (void **)&bat, err);
		if (!rc)
			rc = vimg_alloc_table(bat_len / PAGE, 1, VHDX_MAX_BAT_BYTES, "vhdx: BAT pages",
					      (void **)&dirty, err);
		if (rc)
			goto fail;
		memcpy(bat, s->bat, s->bat_len);
		bat_off = s->data_end;
	}
	if (s->leave_alloc) {
		/* Fixed: the new blocks are allocated, after the new BAT if any. */
		host = moved ? bat_off + bat_len : s->data_end;
		if (ck_mul(nblocks, s->block_size, &blocks_len) ||
		    host + blocks_len > VHDX_MAX_SIZE * 2) {
			rc = vimg_error_set(err, VIMG_EINVAL, "vhdx: the file would be too large");
			goto fail;
		}
		rc = file_allocate(s->file, host, blocks_len, err);
		if (rc)
			goto fail;
	}
	if (moved) {
		rc = file_allocate(s->file, bat_off, bat_len, err);
		if (rc)
			goto fail;
	}
	for (uint64_t b = s->payload_blocks; b < g.payload_blocks; b++) {
		uint64_t idx = vhdx_pb_index(s, b);
		uint64_t e = s->leave_alloc ? (host + (b - s->payload_blocks) * s->block_size) |
						      VHDX_BAT_FULLY_PRESENT
					    : 0;

		if (moved)
			bat[idx] = e;
		else if (bat[idx] != e)
			vhdx_set_entry(s, idx, e);
	}
	for (uint64_t c = s->bitmap_blocks; s->has_parent && c < g.bitmap_blocks; c++) {
		if (moved)
			bat[vhdx_sb_index(s, c)] = 0;
		else if (bat[vhdx_sb_index(s, c)])
			vhdx_set_entry(s, vhdx_sb_index(s, c), 0);
	}
	if (moved) {
		raw = malloc(bat_len);
		if (!raw) {
			rc = vimg_error_set(err, VIMG_ENOMEM, "out of memory");
			goto fail;
		}
		for (uint64_t i = 0; i < bat_len / 8; i++)
			st_le64(raw + 8 * i, bat[i]);
		rc = file_pwrite_full(s->file, raw, bat_len, bat_off, err);
		free(raw);
		if (rc)
			goto fail;
	}
	s->data_end = max_u64(s->data_end, max_u64(bat_off + bat_len, host + blocks_len));
	s->file_size = max_u64(s->file_size, s->data_end);
	/* The BAT first (invisible past the old size), then the size. */
	rc = vhdx_log_commit(s, err);
	if (!rc)
		rc = log_size(s, size, moved, bat_off, bat_len, err);
	if (rc)
		goto fail;
	if (moved) {
		free(s->bat);
		free(s->dirty);
		s->bat = bat;
		s->dirty = dirty;
		s->n_dirty = 0;
		s->bat_off = bat_off;
		s->bat_len = bat_len;
	}
	set_geometry(img, s, size);
	return 0;
fail:
	if (moved) {
		free(bat);
		free(dirty);
	}
	return rc;
}

int vhdx_resize(struct vimg_image *img, uint64_t size, unsigned flags, struct vimg_error *err)
{
	struct vhdx *s = vhdx_priv(img);
	int rc;

	if (flags & VIMG_RESIZE_PREALLOC_MASK)
		return vimg_error_set(err, VIMG_EUNSUPPORTED,
				      "vhdx: preallocation modes are not supported (a fixed disk "
				      "allocates its new blocks)");
	if (ck_align_up(size, s->lsec, &size) || size > VHDX_MAX_SIZE)
		return vimg_error_set(err, VIMG_EINVAL, "vhdx: %" PRIu64 " bytes is more than 64 TiB",
				      size);
	if (size == s->vsize)
		return 0;
	if (s->has_parent && size > s->vsize) {
		if (!image_has_backing(img) || size > s->parent_size)
			return vimg_error_set(err, VIMG_EINVAL,
					      "vhdx: a differencing disk cannot grow past its parent "
					      "(%" PRIu64 " bytes): grow the parent first",
					      s->parent_size);
		if (s->vsize % s->block_size)
			return vimg_error_set(err, VIMG_EUNSUPPORTED,
					      "vhdx: a differencing disk whose size is not a whole "
					      "number of %u-byte blocks cannot grow",
					      s->block_size);
	}
	rc = vhdx_session_start(s, err);
	if (!rc)
		rc = vhdx_log_commit(s, err);
	if (rc)
		return rc;
	return size > s->vsize ? grow(img, s, size, err) : shrink(img, s, size, err);
}
