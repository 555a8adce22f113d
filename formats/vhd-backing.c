/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A differencing VHD's parent, changed in place (vimg rebase, amend
 * backing_file=): the dynamic header's Parent Unique ID, Parent Time Stamp,
 * Parent Unicode Name and parent locators (spec "Dynamic Disk Header
 * Format"), recorded exactly as vhd-create.c records them for a new child
 * (vhd_parent_fields). A differencing disk's parent is a vhd of its size.
 *
 * The new locator data goes into the space of an old locator when it fits
 * there (space that is provably the locator's own: inside the file, clear of
 * the headers, the BAT and every block); otherwise at the end of the file,
 * where the trailing footer was, with the footer moved after it (it must stay
 * last; new blocks then go after the locator). Order: the footer at its new
 * place, sync, the locator data, sync, then the dynamic header, which makes
 * them count, sync. A crash before the header leaves the old parent in
 * charge, except that locator data rewritten in place already names the new
 * file: opening then fails the UUID check, and rebase -u finishes the job.
 *
 * No parent (rebase -b "", after the core copied what the parent supplied;
 * rebase -u -b "" drops it): the disk becomes dynamic, which has the same
 * block layout and sector bitmaps. Readers such as qemu ignore the bitmap of
 * a dynamic disk and read the whole block, so the data behind clear bits is
 * zeroed first where it is not zero already (a dynamic disk reads zeros
 * there), then both footers say dynamic (a dynamic disk ignores parent
 * fields: a crash here is harmless), then the parent fields are cleared.
 */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "endian.h"
#include "vhd.h"

#define ZERO_CHUNK (1024 * 1024)

static uint64_t round_sector(uint64_t v)
{
	return (v + VHD_SECTOR - 1) / VHD_SECTOR * VHD_SECTOR;
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* Whether [off, off+len) holds nothing but locator data: no header, BAT or block. */
static bool room_free(const struct vhd *s, uint64_t off, uint64_t len)
{
	uint64_t end;

	if (!len || off % VHD_SECTOR || ck_add(off, len, &end) || end > s->next_block ||
	    overlaps(off, len, 0, VHD_FOOTER_LEN) ||
	    overlaps(off, len, s->f.data_offset, VHD_DYN_LEN) ||
	    overlaps(off, len, s->d.table_offset, round_sector((uint64_t)s->d.max_entries * 4)))
		return false;
	for (uint32_t i = 0; i < s->d.max_entries; i++)
		if (s->bat[i] != VHD_BAT_UNUSED &&
		    overlaps(off, len, (uint64_t)s->bat[i] * VHD_SECTOR,
			     (uint64_t)s->bitmap_size + s->block_size))
			return false;
	return true;
}

/* An old locator's space that holds need bytes, or VHD_NO_OFFSET. */
static uint64_t old_room(const struct vhd *s, uint64_t need)
{
	for (int i = 0; i < VHD_N_LOCATORS; i++) {
		const struct vhd_locator *l = &s->d.loc[i];
		/* Data Space is bytes as Windows writes it, sectors as the spec says. */
		uint64_t sizes[3] = { round_sector(l->data_length),
				      l->data_space % VHD_SECTOR ? 0 : l->data_space,
				      (uint64_t)l->data_space * VHD_SECTOR };

		if (l->code && (sizes[0] >= need || sizes[1] >= need || sizes[2] >= need) &&
		    room_free(s, l->data_offset, need))
			return l->data_offset;
	}
	return VHD_NO_OFFSET;
}

static int write_header(struct vhd *s, struct vhd_dyn_disk *dd, struct vimg_error *err)
{
	int rc;

	st_be32(dd->checksum, vhd_checksum((uint8_t *)dd, sizeof(*dd), 36));
	rc = file_pwrite_full(s->file, dd, sizeof(*dd), s->f.data_offset, err);
	if (!rc)
		rc = file_fsync(s->file, err);
	if (!rc)
		vhd_dyn_decode(dd, &s->d);
	return rc;
}

static int new_parent(struct vhd *s, const char *name,
		      struct vimg_image *parent, struct vimg_error *err)
{
	const char *fmt = vimg_image_format(parent);
	struct vhd_parent_facts pf;
	struct vhd_dyn_disk dd;
	uint8_t *loc;
	uint64_t space, at, end = s->next_block;
	int len, rc;

	if (!fmt || strcmp(fmt, "vhd"))
		return vimg_error_set(err, VIMG_EBACKING,
				      "vhd: the parent of a differencing disk must be a vhd image, "
				      "not %s",
				      fmt ? fmt : "unknown");
	if (vimg_image_virtual_size(parent) != s->size)
		return vimg_error_set(err, VIMG_EINVAL,
				      "vhd: the new parent has %" PRIu64 " bytes, the disk %" PRIu64
				      ": a differencing disk has its parent's size",
				      vimg_image_virtual_size(parent), s->size);
	vhd_parent_facts(parent, &pf);
	rc = file_pread_full(s->file, &dd, sizeof(dd), s->f.data_offset, err);
	if (rc)
		return rc;
	loc = calloc(1, VHD_MAX_LOCATOR_BYTES);
	if (!loc)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	len = vhd_parent_fields(&dd, &pf, name, loc, VHD_MAX_LOCATOR_BYTES, err);
	if (len < 0) {
		free(loc);
		return len;
	}
	space = round_sector((uint64_t)len);
	at = old_room(s, space);
	if (at == VHD_NO_OFFSET) {
		/* At the end: the footer goes after the locator first. */
		at = s->next_block;
		end = at + space;
		if (end / VHD_SECTOR >= VHD_BAT_UNUSED) {
			free(loc);
			return vimg_error_set(err, VIMG_ENOSPC, "vhd: file would exceed 2 TiB");
		}
		rc = file_pwrite_full(s->file, s->footer_raw, VHD_FOOTER_LEN, end, err);
		if (!rc)
			rc = file_fsync(s->file, err);
	}
	if (!rc)
		rc = file_pwrite_full(s->file, loc, (size_t)space, at, err);
	if (!rc)
		rc = file_fsync(s->file, err);
	free(loc);
	if (rc)
		return rc;
	if (end != s->next_block) {
		s->next_block = end;
		s->file_size = end + VHD_FOOTER_LEN;
	}
	st_be64(dd.loc[0].data_offset, at);
	rc = write_header(s, &dd, err);
	if (!rc)
		s->parent_size = vimg_image_virtual_size(parent);
	return rc;
}

static bool is_zero(const uint8_t *p, size_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/* Zero [off, off+len) of the file where it is not zero already. */
static int zero_if_needed(struct vhd *s, uint8_t *buf, uint64_t off, uint64_t len,
			  struct vimg_error *err)
{
	while (len) {
		size_t n = (size_t)min_u64(len, ZERO_CHUNK);
		int rc = file_pread_full(s->file, buf, n, off, err);

		if (!rc && !is_zero(buf, n))
			rc = file_write_zeros(s->file, off, n, err);
		if (rc)
			return rc;
		off += n;
		len -= n;
	}
	return 0;
}

/* In every block, the data behind clear bitmap bits reads as zeros afterwards. */
static int zero_clear_sectors(struct vhd *s, struct vimg_error *err)
{
	uint8_t *bm = malloc(s->bitmap_size), *buf = malloc(ZERO_CHUNK);
	uint64_t per = s->block_size / VHD_SECTOR;
	int rc = 0;

	if (!bm || !buf)
		rc = vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	for (uint32_t i = 0; !rc && i < s->d.max_entries; i++) {
		uint64_t base = (uint64_t)s->bat[i] * VHD_SECTOR, last;

		if (s->bat[i] == VHD_BAT_UNUSED || (uint64_t)i * s->block_size >= s->size)
			continue;
		last = min_u64(per, (s->size - (uint64_t)i * s->block_size) / VHD_SECTOR);
		rc = file_pread_full(s->file, bm, s->bitmap_size, base, err);
		for (uint64_t k = 0; !rc && k < last;) {
			uint64_t j = k;

			while (j < last && !(bm[j / 8] & (0x80 >> (j % 8))))
				j++;
			if (j > k)
				rc = zero_if_needed(s, buf, base + s->bitmap_size + k * VHD_SECTOR,
						    (j - k) * VHD_SECTOR, err);
			while (j < last && (bm[j / 8] & (0x80 >> (j % 8))))
				j++;
			k = j;
		}
	}
	free(bm);
	free(buf);
	return rc;
}

static int no_parent(struct vhd *s, struct vimg_error *err)
{
	uint8_t foot[VHD_FOOTER_LEN];
	struct vhd_dyn_disk dd;
	int rc = zero_clear_sectors(s, err);

	if (!rc)
		rc = file_fsync(s->file, err);
	if (rc)
		return rc;
	memcpy(foot, s->footer_raw, VHD_FOOTER_LEN);
	st_be32(foot + 60, VHD_TYPE_DYNAMIC);
	st_be32(foot + 64, vhd_checksum(foot, VHD_FOOTER_LEN, 64));
	rc = file_pwrite_full(s->file, foot, VHD_FOOTER_LEN, s->next_block, err);
	if (!rc)
		rc = file_pwrite_full(s->file, foot, VHD_FOOTER_LEN, 0, err);
	if (!rc)
		rc = file_fsync(s->file, err);
	if (rc)
		return rc;
	memcpy(s->footer_raw, foot, VHD_FOOTER_LEN);
	vhd_footer_decode((const struct vhd_footer_disk *)foot, &s->f);
	s->parent_size = 0;
	rc = file_pread_full(s->file, &dd, sizeof(dd), s->f.data_offset, err);
	if (rc)
		return rc;
	memset(dd.parent_uuid, 0, sizeof(dd.parent_uuid));
	memset(dd.parent_timestamp, 0, sizeof(dd.parent_timestamp));
	memset(dd.parent_name, 0, sizeof(dd.parent_name));
	memset(dd.loc, 0, sizeof(dd.loc));
	return write_header(s, &dd, err);
}

int vhd_set_backing(struct vimg_image *img, const char *name, struct vimg_image *parent,
		    struct vimg_error *err)
{
	struct vhd *s = image_priv(img);

	if (s->f.disk_type != VHD_TYPE_DIFF)
		return vimg_error_set(err, VIMG_EUNSUPPORTED,
				      "vhd: a %s disk has no parent to change (only a differencing "
				      "disk has one: vimg create -f vhd -b PARENT)",
				      s->f.disk_type == VHD_TYPE_FIXED ? "fixed" : "dynamic");
	if (!name)
		return no_parent(s, err);
	return new_parent(s, name, parent, err);
}

int vhd_amend(struct vimg_image *img, const struct vimg_opts *opts, struct vimg_error *err)
{
	(void)img;
	for (size_t i = 0; vhd_create_opts[i].key; i++)
		if (opts_given(opts, vhd_create_opts[i].key))
			return vimg_error_set(err, VIMG_EUNSUPPORTED,
					      "vhd: %s cannot be amended (convert the image); vhd "
					      "amends only backing_file and backing_fmt",
					      vhd_create_opts[i].key);
	return 0;
}
