/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vhd resize (qemu's vpc driver cannot resize; this follows the spec, "Hard
 * Disk Footer Format" and "Dynamic Disk Header Format", and what Hyper-V's
 * Resize-VHD changes): the footer's Current Size and Disk Geometry (Original
 * Size is the size at creation and stays), in the trailing footer and, for a
 * dynamic disk, its copy at offset 0; a dynamic disk's Max Table Entries.
 *
 * Size rule: qemu (block/vpc.c) sizes an image by its CHS geometry unless
 * its creator is one known to size by Current Size ("win ", "qem2", "d2v ",
 * "CTXS", "tap"), or the geometry is the maximum. A disk sized by CHS is
 * rounded up to a geometry that covers the request, one sized by Current
 * Size to 1 MiB, exactly as `vimg create -f vhd` with and without force_size
 * (vhd_choose_size), so qemu, libvhdi and vimg read the same size after.
 *
 * Dynamic and differencing: when the BAT needs more entries than the space
 * up to whatever follows it (first data block, parent locator data, header)
 * holds, the BAT moves to the end of the file (Table Offset in the dynamic
 * header follows) rather than moving data blocks out of its way: one write
 * of the new table, no block copied, and a crash before the dynamic header
 * is rewritten leaves the old table in charge. A BAT that is the last thing
 * in the file just grows in place. The old region is left unused. New
 * entries are 0xFFFFFFFF; growing clears the sector bitmap bits past the old
 * size in its last block and any stale entry past it, so old data never
 * comes back. Shrinking writes the footers first, then clears the entries
 * past the end (their blocks stay in the file) and lowers Max Table Entries.
 * Order of a grow: old footer at the new end, table, sync, dynamic header,
 * sync, footers: every crash leaves an image readable at one of the sizes.
 *
 * Fixed: the footer moves to the new end of the data area (the file is
 * truncated after it on shrink); the old footer's sector, now guest data, is
 * zeroed once the new one is synced. --preallocation=falloc|full allocate
 * the grown part as for raw; metadata is refused (there is none), and every
 * mode on a dynamic disk (its blocks are allocated on write). A differencing
 * disk may shrink, and grow up to its parent's size: grow the parent first.
 */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "endian.h"
#include "vhd.h"

static uint64_t round_sector(uint64_t v)
{
	return (v + VHD_SECTOR - 1) / VHD_SECTOR * VHD_SECTOR;
}

/* qemu block/vpc.c: creators whose images are sized by Current Size. */
static bool sized_by_current(const char *app)
{
	static const char *const apps[] = { "win ", "qem2", "d2v ", "CTXS" };

	for (size_t i = 0; i < sizeof(apps) / sizeof(apps[0]); i++)
		if (!memcmp(app, apps[i], 4))
			return true;
	return !memcmp(app, "tap", 4);
}

/* The footer as read, with the new size and geometry and its checksum. */
static void footer_patch(const struct vhd *s, const struct vhd_footer *nf, uint8_t *out)
{
	memcpy(out, s->footer_raw, VHD_FOOTER_LEN);
	st_be64(out + 40, nf->current_size);
	st_be64(out + 48, nf->current_size);
	st_be16(out + 56, nf->cylinders);
	out[58] = nf->heads;
	out[59] = nf->sectors;
	st_be32(out + 64, vhd_checksum(out, VHD_FOOTER_LEN, 64));
}

/* Trailing footer at `at` (the file ends after it), then the copy at 0 for a
 * dynamic disk (qemu reads that one first), then sync. */
static int put_footers(struct vhd *s, const uint8_t *foot, uint64_t at, struct vimg_error *err)
{
	int rc = file_pwrite_full(s->file, foot, VHD_FOOTER_LEN, at, err);
	int64_t fsz;

	if (!rc)
		rc = file_fsync(s->file, err);
	if (rc)
		return rc;
	fsz = file_size(s->file, err);
	if (fsz < 0)
		return (int)fsz;
	if ((uint64_t)fsz > at + VHD_FOOTER_LEN &&
	    (rc = file_truncate(s->file, at + VHD_FOOTER_LEN, err)))
		return rc;
	if (s->f.disk_type != VHD_TYPE_FIXED)
		rc = file_pwrite_full(s->file, foot, VHD_FOOTER_LEN, 0, err);
	if (!rc)
		rc = file_fsync(s->file, err);
	if (!rc)
		s->file_size = at + VHD_FOOTER_LEN;
	return rc;
}

static void commit_footer(struct vimg_image *img, struct vhd *s, const struct vhd_footer *nf,
			  const uint8_t *foot)
{
	memcpy(s->footer_raw, foot, VHD_FOOTER_LEN);
	vhd_footer_decode((const struct vhd_footer_disk *)foot, &s->f);
	s->size = nf->current_size;
	image_set_size(img, s->size);
}

/* ---- fixed ------------------------------------------------------------------ */

static int fixed_resize(struct vimg_image *img, struct vhd *s, const struct vhd_footer *nf,
			const uint8_t *foot, unsigned flags, struct vimg_error *err)
{
	uint64_t old = s->size, size = nf->current_size, old_foot = s->file_size - VHD_FOOTER_LEN;
	int rc;

	/* The new footer first: until it is synced the old one rules. */
	rc = put_footers(s, foot, size, err);
	if (rc)
		return rc;
	commit_footer(img, s, nf, foot);
	if (size <= old)
		return 0;
	/* What lay past the old size (the old footer) is guest data now: zeros. */
	if (flags & VIMG_RESIZE_PREALLOC_FULL)
		rc = file_write_zeros(s->file, old, size - old, err);
	else
		rc = file_write_zeros(s->file, old, min_u64(size, old_foot + VHD_FOOTER_LEN) - old, err);
	if (!rc && (flags & VIMG_RESIZE_PREALLOC_FALLOC))
		rc = file_allocate(s->file, old, size - old, err);
	if (!rc)
		rc = file_fsync(s->file, err);
	return rc;
}

/* ---- dynamic and differencing ----------------------------------------------- */

/* Rewrite the dynamic header's Table Offset and Max Table Entries. */
static int write_dyn(struct vhd *s, uint64_t table_off, uint32_t entries, struct vimg_error *err)
{
	uint8_t h[VHD_DYN_LEN];
	int rc = file_pread_full(s->file, h, sizeof(h), s->f.data_offset, err);

	if (rc)
		return rc;
	st_be64(h + 16, table_off);
	st_be32(h + 28, entries);
	st_be32(h + 36, vhd_checksum(h, sizeof(h), 36));
	rc = file_pwrite_full(s->file, h, sizeof(h), s->f.data_offset, err);
	if (!rc)
		rc = file_fsync(s->file, err);
	return rc;
}

/* Write BAT entries [0, n) at off, padded with unused entries to a sector. */
static int write_bat(struct vhd *s, const uint32_t *bat, uint32_t n, uint64_t off,
		     struct vimg_error *err)
{
	uint64_t bytes = round_sector((uint64_t)n * 4);
	uint8_t *raw = malloc(bytes);
	int rc;

	if (!raw)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	memset(raw, 0xff, bytes);
	for (uint32_t i = 0; i < n; i++)
		st_be32(raw + 4 * (size_t)i, bat[i]);
	rc = file_pwrite_full(s->file, raw, bytes, off, err);
	free(raw);
	return rc;
}

/* Where the first thing after the BAT starts: a block, locator data, the
 * dynamic header, else the trailing footer (next_block). */
static uint64_t bat_room_end(const struct vhd *s)
{
	uint64_t lim = s->next_block, t = s->d.table_offset;

	for (uint32_t i = 0; i < s->d.max_entries; i++) {
		uint64_t off = (uint64_t)s->bat[i] * VHD_SECTOR;

		if (s->bat[i] != VHD_BAT_UNUSED && off >= t && off < lim)
			lim = off;
	}
	for (int i = 0; i < VHD_N_LOCATORS; i++) {
		uint64_t off = s->d.loc[i].data_offset;

		if (s->d.loc[i].code && s->d.loc[i].data_space && off >= t && off < lim)
			lim = off;
	}
	if (s->f.data_offset >= t && s->f.data_offset < lim)
		lim = s->f.data_offset;
	return lim;
}

/* Clear the sector bitmap bits past the old size in the old last block. */
static int clear_tail(struct vhd *s, struct vimg_error *err)
{
	uint64_t blk = s->size / s->block_size, first = s->size % s->block_size / VHD_SECTOR;
	uint64_t sectors = s->block_size / VHD_SECTOR, off;
	uint8_t *bm;
	int rc;

	if (!first || blk >= s->d.max_entries || s->bat[blk] == VHD_BAT_UNUSED)
		return 0;
	bm = malloc(s->bitmap_size);
	if (!bm)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	off = (uint64_t)s->bat[blk] * VHD_SECTOR;
	rc = file_pread_full(s->file, bm, s->bitmap_size, off, err);
	for (uint64_t i = first; !rc && i < sectors; i++)
		bm[i / 8] &= (uint8_t)~(0x80u >> (i % 8));
	if (!rc)
		rc = file_pwrite_full(s->file, bm, s->bitmap_size, off, err);
	free(bm);
	s->bitmap_block = VHD_BAT_UNUSED;
	return rc;
}

static int dyn_grow(struct vimg_image *img, struct vhd *s, const struct vhd_footer *nf,
		    const uint8_t *foot, struct vimg_error *err)
{
	uint64_t bs = s->block_size, old_n = (s->size + bs - 1) / bs;
	uint64_t new_n = (nf->current_size + bs - 1) / bs, bat_off = s->d.table_offset;
	uint64_t next = s->next_block, lim;
	uint32_t max = s->d.max_entries, n = max, *bat = NULL;
	bool stale = false;
	int rc;

	for (uint64_t i = old_n; i < max; i++)
		stale |= s->bat[i] != VHD_BAT_UNUSED;
	if (new_n > max) {
		uint64_t bytes = round_sector(new_n * 4);

		lim = bat_room_end(s);
		if (lim == s->next_block)
			next = max_u64(next, bat_off + bytes);	/* the BAT is last: in place */
		else if (bat_off + bytes > lim) {
			bat_off = s->next_block;		/* to the end of the file */
			next = bat_off + bytes;
		}
		n = (uint32_t)new_n;
	}
	rc = vimg_alloc_table(n, 4, VHD_MAX_BAT_BYTES, "vhd: BAT entries", (void **)&bat, err);
	if (rc)
		return rc;
	for (uint64_t i = 0; i < n; i++)
		bat[i] = i < old_n ? s->bat[i] : VHD_BAT_UNUSED;
	rc = clear_tail(s, err);
	/* The old footer at the new end first, so the file always ends in one. */
	if (!rc && next > s->next_block)
		rc = file_pwrite_full(s->file, s->footer_raw, VHD_FOOTER_LEN, next, err);
	if (!rc && (n != max || stale))
		rc = write_bat(s, bat, n, bat_off, err);
	if (!rc)
		rc = file_fsync(s->file, err);
	if (!rc && (n != max || bat_off != s->d.table_offset))
		rc = write_dyn(s, bat_off, n, err);
	if (rc)
		goto fail;
	s->next_block = next;
	s->file_size = max_u64(s->file_size, next + VHD_FOOTER_LEN);
	free(s->bat);
	s->bat = bat;
	s->d.table_offset = bat_off;
	s->d.max_entries = n;
	rc = put_footers(s, foot, next, err);
	if (!rc)
		commit_footer(img, s, nf, foot);
	return rc;
fail:
	free(bat);
	return rc;
}

static int dyn_shrink(struct vimg_image *img, struct vhd *s, const struct vhd_footer *nf,
		      const uint8_t *foot, struct vimg_error *err)
{
	uint64_t new_n = (nf->current_size + s->block_size - 1) / s->block_size;
	uint32_t max = s->d.max_entries;
	int rc;

	/* The size first: the table may then be cut under it. */
	rc = put_footers(s, foot, s->next_block, err);
	if (rc)
		return rc;
	commit_footer(img, s, nf, foot);
	if (new_n >= max)
		return 0;
	for (uint64_t i = new_n; i < max; i++)
		s->bat[i] = VHD_BAT_UNUSED;
	if (s->bitmap_block != VHD_BAT_UNUSED && s->bitmap_block >= new_n)
		s->bitmap_block = VHD_BAT_UNUSED;
	rc = write_bat(s, s->bat, max, s->d.table_offset, err);
	if (!rc)
		rc = file_fsync(s->file, err);
	if (!rc)
		rc = write_dyn(s, s->d.table_offset, (uint32_t)new_n, err);
	if (!rc)
		s->d.max_entries = (uint32_t)new_n;
	return rc;
}

int vhd_resize(struct vimg_image *img, uint64_t size, unsigned flags, struct vimg_error *err)
{
	struct vhd *s = image_priv(img);
	uint8_t foot[VHD_FOOTER_LEN];
	struct vhd_footer nf = s->f;
	int rc;

	if (s->f.disk_type != VHD_TYPE_FIXED && (flags & VIMG_RESIZE_PREALLOC_MASK))
		return vimg_error_set(err, VIMG_EUNSUPPORTED,
				      "vhd: preallocation is not supported for a %s disk (its "
				      "blocks are allocated on write)",
				      s->f.disk_type == VHD_TYPE_DIFF ? "differencing" : "dynamic");
	if (flags & VIMG_RESIZE_PREALLOC_METADATA)
		return vimg_error_set(err, VIMG_EUNSUPPORTED,
				      "vhd: a fixed disk has no metadata to preallocate (use falloc "
				      "or full)");
	rc = vhd_choose_size(size, sized_by_current(s->f.creator_app), &nf, err);
	if (rc)
		return rc;
	if (nf.current_size == s->size &&
	    (uint64_t)nf.cylinders * nf.heads * nf.sectors ==
		    (uint64_t)s->f.cylinders * s->f.heads * s->f.sectors)
		return 0;
	if (s->f.disk_type == VHD_TYPE_DIFF && nf.current_size > s->size &&
	    (!image_has_backing(img) || nf.current_size > s->parent_size))
		return vimg_error_set(err, VIMG_EINVAL,
				      "vhd: a differencing disk cannot grow past its parent "
				      "(%" PRIu64 " bytes): grow the parent first",
				      s->parent_size);
	footer_patch(s, &nf, foot);
	if (s->f.disk_type == VHD_TYPE_FIXED)
		return fixed_resize(img, s, &nf, foot, flags, err);
	if (nf.current_size > s->size)
		return dyn_grow(img, s, &nf, foot, err);
	return dyn_shrink(img, s, &nf, foot, err);
}
