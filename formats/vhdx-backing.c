/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A differencing VHDX's parent, changed in place (vimg rebase, amend
 * backing_file=): the parent locator metadata item ([MS-VHDX] 2.6.2.6),
 * built exactly as vhdx-create.c builds it for a new child
 * (vhdx_locator_build): parent_linkage is the new parent's DataWriteGuid.
 * A differencing disk's parent is a vhdx of its size and logical sector size.
 *
 * The metadata region has a fixed size (the region table says it): the new
 * item goes where the old one was when it fits there without reaching
 * another item, else after the last item; if the region cannot hold it, a
 * clear error and nothing written. The item and its table entry go through
 * the log in one entry (2.3), as every other metadata change does.
 *
 * No parent (rebase -b "", after the core copied what the parent supplied;
 * rebase -u -b "" drops it): the disk becomes dynamic. A dynamic disk has no
 * sector bitmaps and no PARTIALLY_PRESENT blocks (2.5.1), so first the data
 * behind the clear bits of every partial block is zeroed where it is not
 * zero already (a dynamic disk reads it), the block becomes FULLY_PRESENT
 * and the sector bitmap entries NOT_PRESENT (one log commit: a differencing
 * disk reads the same from that BAT); then, in a second entry, the file
 * parameters lose HasParent and the table its locator entry. The sector
 * bitmap blocks stay in the file, unused.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "endian.h"
#include "vhdx.h"

#define PAGE VHDX_LOG_SECTOR

/* The metadata table and the index of the entry with GUID id, or -1. */
static int table_find(struct vhdx *s, uint8_t *t, const uint8_t *id, int *idx, uint16_t *n,
		      struct vimg_error *err)
{
	int rc = vhdx_meta_pread(s, t, VHDX_META_TABLE_LEN, s->meta_off, err);

	if (rc)
		return rc;
	*n = ld_le16(t + 10);
	*idx = -1;
	for (uint16_t i = 0; i < *n && *n <= VHDX_META_MAX_ENTRIES; i++)
		if (!memcmp(t + 32 + 32 * (size_t)i, id, 16))
			*idx = i;
	if (*idx < 0)
		return vimg_error_set(err, VIMG_ECORRUPT, "vhdx: metadata table: no such item "
				      "(offset 0x%" PRIx64 ")", s->meta_off);
	return 0;
}

/*
 * One log entry with the metadata pages holding [from, to) and [pfrom, pto)
 * (offsets in the region), taken from reg, the whole region as it is to be.
 */
static int log_range(struct vhdx *s, const uint8_t *reg, uint64_t from, uint64_t to,
		     uint64_t pfrom, uint64_t pto, struct vimg_error *err)
{
	uint64_t n = 0, offs[2 * VHDX_MAX_META_ITEM / PAGE + 2];
	uint8_t *data;
	int rc;

	data = malloc(((to - from + PAGE - 1) / PAGE + 2 + (pto - pfrom) / PAGE + 2) * PAGE);
	if (!data)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	for (int r = 0; r < 2; r++) {
		uint64_t a = r ? pfrom : from, b = r ? pto : to;

		for (uint64_t p = a / PAGE * PAGE; p < b; p += PAGE) {
			bool dup = false;

			for (uint64_t k = 0; k < n; k++)
				dup |= offs[k] == s->meta_off + p;
			if (dup)
				continue;
			memcpy(data + n * PAGE, reg + p, PAGE);
			offs[n++] = s->meta_off + p;
		}
	}
	rc = vhdx_log_write_pages(s, offs, data, n, err);
	free(data);
	return rc;
}

/* Start writing: new write GUIDs, BAT changes still in memory committed. */
static int begin(struct vhdx *s, struct vimg_error *err)
{
	int rc = vhdx_session_start(s, err);

	return rc ? rc : vhdx_log_commit(s, err);
}

static int new_parent(struct vhdx *s, const char *name, struct vimg_image *parent,
		      struct vimg_error *err)
{
	const char *fmt = vimg_image_format(parent);
	struct vhdx *ps;
	uint8_t *reg = NULL, *loc = NULL;
	uint32_t old_off, old_len, place, len, wlen, last = 0;
	uint16_t n;
	int li, l, rc;

	if (!fmt || strcmp(fmt, "vhdx"))
		return vimg_error_set(err, VIMG_EBACKING,
				      "vhdx: the parent of a differencing disk must be a vhdx image, "
				      "not %s",
				      fmt ? fmt : "unknown");
	ps = image_priv(parent);
	if (ps->vsize != s->vsize || ps->lsec != s->lsec)
		return vimg_error_set(err, VIMG_EINVAL,
				      "vhdx: the new parent has %" PRIu64 " bytes in %u-byte sectors, "
				      "the disk %" PRIu64 " in %u-byte sectors: a differencing disk "
				      "has its parent's",
				      ps->vsize, ps->lsec, s->vsize, s->lsec);
	if (s->meta_len > VHDX_MAX_META_ITEM + VHDX_META_TABLE_LEN)
		return vimg_error_set(err, VIMG_EUNSUPPORTED,
				      "vhdx: a metadata region of %" PRIu64 " bytes is too large to "
				      "rewrite", s->meta_len);
	reg = calloc(1, s->meta_len);
	loc = malloc(VHDX_META_TABLE_LEN);
	if (!reg || !loc) {
		rc = vimg_error_set(err, VIMG_ENOMEM, "out of memory");
		goto out;
	}
	l = vhdx_locator_build(ps->hdr.data_write_guid, name, loc, VHDX_META_TABLE_LEN);
	if (l < 0) {
		rc = vimg_error_set(err, VIMG_EINVAL, "vhdx: parent name \"%s\" too long or not UTF-8",
				    name);
		goto out;
	}
	len = (uint32_t)l;
	if ((rc = table_find(s, reg, vhdx_guid_parent_locator, &li, &n, err)) ||
	    (rc = vhdx_meta_pread(s, reg + VHDX_META_TABLE_LEN, s->meta_len - VHDX_META_TABLE_LEN,
				  s->meta_off + VHDX_META_TABLE_LEN, err)))
		goto out;
	old_off = ld_le32(reg + 32 + 32 * li + 16);
	old_len = ld_le32(reg + 32 + 32 * li + 20);
	/* In place unless that reaches another item; else after the last one. */
	place = old_off;
	for (uint16_t i = 0; i < n; i++) {
		const uint8_t *e = reg + 32 + 32 * (size_t)i;
		uint32_t o = ld_le32(e + 16), ln = ld_le32(e + 20);

		if (!ln)
			continue;
		last = (uint32_t)max_u64(last, (uint64_t)o + ln);
		if (i != li && o < (uint64_t)old_off + len && old_off < (uint64_t)o + ln)
			place = 0;
	}
	if (!place || (uint64_t)place + len > s->meta_len)
		place = (last + 7) / 8 * 8;
	if ((uint64_t)place + len > s->meta_len) {
		rc = vimg_error_set(err, VIMG_ENOSPC,
				    "vhdx: metadata region: the new %u-byte parent locator does not "
				    "fit in the %" PRIu64 "-byte region (offset 0x%" PRIx64
				    "), whose items end at %u",
				    len, s->meta_len, s->meta_off, last);
		goto out;
	}
	wlen = place == old_off ? (uint32_t)max_u64(len, old_len) : len;
	memset(reg + place, 0, wlen);
	memcpy(reg + place, loc, len);
	st_le32(reg + 32 + 32 * li + 16, place);
	st_le32(reg + 32 + 32 * li + 20, len);
	if ((rc = begin(s, err)) ||
	    (rc = log_range(s, reg, place, (uint64_t)place + wlen, 32 + 32 * (uint64_t)li,
			    64 + 32 * (uint64_t)li, err)))
		goto out;
	memcpy(s->parent_linkage, ps->hdr.data_write_guid, 16);
	s->has_linkage = true;
	snprintf(s->parent_path, sizeof(s->parent_path), "%s", name);
	s->parent_size = ps->vsize;
out:
	free(reg);
	free(loc);
	return rc;
}

static bool is_zero(const uint8_t *p, uint64_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/* Zero [off, off+len) of the file where it is not zero already. */
static int zero_if_needed(struct vhdx *s, uint8_t *buf, uint64_t off, uint64_t len,
			  struct vimg_error *err)
{
	while (len) {
		uint64_t n = min_u64(len, MIB);
		int rc = file_pread_full(s->file, buf, n, off, err);

		if (!rc && !is_zero(buf, n))
			rc = file_pwrite_full(s->file, s->zero_buf, n, off, err);
		if (rc)
			return rc;
		off += n;
		len -= n;
	}
	return 0;
}

/* Partial blocks become whole ones, reading zeros where they read the parent. */
static int whole_blocks(struct vhdx *s, struct vimg_error *err)
{
	uint8_t *buf = malloc(MIB);
	int rc = buf ? 0 : vimg_error_set(err, VIMG_ENOMEM, "out of memory");

	for (uint64_t b = 0; !rc && b < s->payload_blocks; b++) {
		uint64_t idx = vhdx_pb_index(s, b), e = s->bat[idx];
		uint64_t start = b * s->block_size, end = min_u64(s->vsize, start + s->block_size);

		if ((e & VHDX_BAT_STATE_MASK) != VHDX_BAT_PARTIALLY_PRESENT)
			continue;
		for (uint64_t off = start, run; !rc && off < end; off += run) {
			bool present;

			rc = vhdx_bitmap_run(s, off, end - off, &present, &run, err);
			if (!rc && !present)
				rc = zero_if_needed(s, buf, (e & VHDX_BAT_OFFSET_MASK) + off - start,
						    run, err);
		}
		if (!rc)
			vhdx_set_entry(s, idx, (e & VHDX_BAT_OFFSET_MASK) | VHDX_BAT_FULLY_PRESENT);
	}
	free(buf);
	for (uint64_t c = 0; !rc && c < s->bitmap_blocks; c++)
		if (s->bat[vhdx_sb_index(s, c)])
			vhdx_set_entry(s, vhdx_sb_index(s, c), 0);
	/* The zeros are durable before the BAT says they count (log_write syncs first). */
	return rc ? rc : vhdx_log_commit(s, err);
}

static int no_parent(struct vhdx *s, struct vimg_error *err)
{
	uint8_t *t = malloc(VHDX_META_TABLE_LEN + PAGE), *pp = NULL;
	uint16_t n;
	int li, pi, rc;
	uint32_t poff;

	if (!t)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	if ((rc = table_find(s, t, vhdx_guid_file_params, &pi, &n, err)) ||
	    (rc = table_find(s, t, vhdx_guid_parent_locator, &li, &n, err)))
		goto out;
	poff = ld_le32(t + 32 + 32 * pi + 16);
	if (poff % PAGE > PAGE - 8) {
		rc = vimg_error_set(err, VIMG_EUNSUPPORTED,
				    "vhdx: metadata: the file parameters item crosses a 4 KiB page "
				    "(offset 0x%" PRIx64 ")", s->meta_off + poff);
		goto out;
	}
	if ((rc = begin(s, err)) || (rc = whole_blocks(s, err)))
		goto out;
	/* One entry: the table without the locator, and HasParent cleared. */
	{
		uint64_t offs[VHDX_META_TABLE_LEN / PAGE + 1], k = 0;
		/* From page 0, which holds the entry count, to the old last entry. */
		uint64_t first = 0, lastp = (32 * (uint64_t)n) / PAGE;
		uint8_t *data = malloc((lastp - first + 2) * PAGE);

		if (!data) {
			rc = vimg_error_set(err, VIMG_ENOMEM, "out of memory");
			goto out;
		}
		memmove(t + 32 + 32 * (size_t)li, t + 32 + 32 * ((size_t)li + 1),
			32 * ((size_t)n - li - 1));
		memset(t + 32 + 32 * ((size_t)n - 1), 0, 32);
		st_le16(t + 10, (uint16_t)(n - 1));
		for (uint64_t p = first; p <= lastp && p < VHDX_META_TABLE_LEN / PAGE; p++) {
			memcpy(data + k * PAGE, t + p * PAGE, PAGE);
			offs[k++] = s->meta_off + p * PAGE;
		}
		pp = data + k * PAGE;
		rc = vhdx_meta_pread(s, pp, PAGE, s->meta_off + poff / PAGE * PAGE, err);
		if (!rc) {
			uint8_t *fl = pp + poff % PAGE + 4;

			st_le32(fl, ld_le32(fl) & ~VHDX_PARAM_HAS_PARENT);
			offs[k++] = s->meta_off + poff / PAGE * PAGE;
			rc = vhdx_log_write_pages(s, offs, data, k, err);
		}
		free(data);
		if (rc)
			goto out;
	}
	s->has_parent = s->has_linkage = false;
	s->parent_path[0] = 0;
	s->parent_size = 0;
	s->bat_entries = s->payload_blocks + (s->payload_blocks - 1) / s->chunk_ratio;
out:
	free(t);
	return rc;
}

int vhdx_set_backing(struct vimg_image *img, const char *name, struct vimg_image *parent,
		     struct vimg_error *err)
{
	struct vhdx *s = vhdx_priv(img);

	if (!s->has_parent)
		return vimg_error_set(err, VIMG_EUNSUPPORTED,
				      "vhdx: a %s disk has no parent to change (only a differencing "
				      "disk has one: vimg create -f vhdx -b PARENT)",
				      s->leave_alloc ? "fixed" : "dynamic");
	return name ? new_parent(s, name, parent, err) : no_parent(s, err);
}

int vhdx_amend(struct vimg_image *img, const struct vimg_opts *opts, struct vimg_error *err)
{
	(void)img;
	for (size_t i = 0; vhdx_create_opts[i].key; i++)
		if (opts_given(opts, vhdx_create_opts[i].key))
			return vimg_error_set(err, VIMG_EUNSUPPORTED,
					      "vhdx: %s cannot be amended (convert the image); vhdx "
					      "amends only backing_file and backing_fmt",
					      vhdx_create_opts[i].key);
	return 0;
}
