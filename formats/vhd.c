/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vhd driver: probe, open (footer, dynamic header, BAT, parent locators),
 * block status, writes, check, info and the driver table. Spec: "Virtual Hard
 * Disk Image Format Specification" v1.0 (jhermsmeier/node-vhd doc/VHD.md):
 * "Hard Disk Footer Format", "Dynamic Disk Header Format", "Block Allocation
 * Table and Data Blocks"; qemu block/vpc.c for the size rule by creator.
 *
 * Invariants after open: the footer checksum is valid (or the head copy was
 * used), every BAT entry's block (bitmap + data) lies inside the file, and
 * the BAT covers the virtual size. A sector bitmap bit (MSB first) says the
 * sector is in this file; a clear bit reads from below (the parent, or zeros).
 * Writes update data, then the bitmap; a new block is placed where the
 * trailing footer was, the footer is rewritten after it, then the BAT entry.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "endian.h"
#include "vhd.h"

static struct vhd *vhd_priv(struct vimg_image *img)
{
	return image_priv(img);
}

static bool footer_valid(const uint8_t *b)
{
	return !memcmp(b, VHD_COOKIE, 8) &&
	       ld_be32(b + 64) == vhd_checksum(b, VHD_FOOTER_LEN, 64);
}

static int vhd_probe(const struct vimg_probe *p)
{
	if (p->tail_len >= VHD_FOOTER_LEN) {
		const uint8_t *t = p->tail + p->tail_len - VHD_FOOTER_LEN;

		if (!memcmp(t, VHD_COOKIE, 8))
			return footer_valid(t) ? 100 : 60;
	}
	/* The footer copy at the head of a dynamic disk (also what the raw guard sees). */
	if (p->head_len >= VHD_FOOTER_LEN && !memcmp(p->head, VHD_COOKIE, 8))
		return footer_valid(p->head) ? 90 : 50;
	return 0;
}

void vhd_dyn_decode(const struct vhd_dyn_disk *d, struct vhd_dyn *h)
{
	memcpy(h->cookie, d->cookie, 8);
	h->table_offset = ld_be64(d->table_offset);
	h->version = ld_be32(d->version);
	h->max_entries = ld_be32(d->max_entries);
	h->block_size = ld_be32(d->block_size);
	h->checksum = ld_be32(d->checksum);
	memcpy(h->parent_uuid, d->parent_uuid, 16);
	h->parent_timestamp = ld_be32(d->parent_timestamp);
	memcpy(h->parent_name, d->parent_name, sizeof(h->parent_name));
	for (int i = 0; i < VHD_N_LOCATORS; i++) {
		h->loc[i].code = ld_be32(d->loc[i].code);
		h->loc[i].data_space = ld_be32(d->loc[i].data_space);
		h->loc[i].data_length = ld_be32(d->loc[i].data_length);
		h->loc[i].data_offset = ld_be64(d->loc[i].data_offset);
	}
}

/* qemu block/vpc.c: Virtual PC and qemu images are sized by CHS, others by current_size. */
static uint64_t virtual_size(const struct vhd_footer *f)
{
	uint64_t chs = (uint64_t)f->cylinders * f->heads * f->sectors;

	if ((!memcmp(f->creator_app, "vpc ", 4) || !memcmp(f->creator_app, "qemu", 4)) &&
	    chs != 65535ull * 16 * 255 && chs)
		return chs * VHD_SECTOR;
	return f->current_size;
}

static int read_footer(struct vhd *s, unsigned flags, struct vimg_error *err)
{
	uint8_t head[VHD_FOOTER_LEN];
	uint8_t *b = s->footer_raw;
	int rc;

	if (s->file_size < VHD_FOOTER_LEN)
		return vimg_error_set(err, VIMG_EFORMAT, "vhd: file too small (%" PRIu64 " bytes)",
				      s->file_size);
	rc = file_pread_full(s->file, b, VHD_FOOTER_LEN, s->file_size - VHD_FOOTER_LEN, err);
	if (rc)
		return rc;
	if (!footer_valid(b) && s->file_size >= 3 * VHD_FOOTER_LEN) {
		/* Spec: a damaged footer is recovered from the copy at offset 0. */
		rc = file_pread_full(s->file, head, VHD_FOOTER_LEN, 0, err);
		if (rc)
			return rc;
		if (footer_valid(head) && ld_be64(head + 16) != VHD_NO_OFFSET) {
			memcpy(b, head, VHD_FOOTER_LEN);
			s->footer_from_head = true;
		}
	}
	if (memcmp(b, VHD_COOKIE, 8))
		return vimg_error_set(err, VIMG_EFORMAT,
				      "vhd: footer: no \"conectix\" cookie (offset 0x%" PRIx64 ")",
				      s->file_size - VHD_FOOTER_LEN);
	vhd_footer_decode((const struct vhd_footer_disk *)b, &s->f);
	if (s->f.checksum != vhd_checksum(b, VHD_FOOTER_LEN, 64) && !(flags & VIMG_OPEN_CHECK))
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "vhd: footer: checksum 0x%08x, expected 0x%08x (offset 0x%" PRIx64
				      ")",
				      s->f.checksum, vhd_checksum(b, VHD_FOOTER_LEN, 64),
				      s->file_size - VHD_FOOTER_LEN + 64);
	if (s->f.version >> 16 != 1)
		return vimg_error_set(err, VIMG_EUNSUPPORTED, "vhd: footer: version 0x%08x",
				      s->f.version);
	if (s->f.disk_type != VHD_TYPE_FIXED && s->f.disk_type != VHD_TYPE_DYNAMIC &&
	    s->f.disk_type != VHD_TYPE_DIFF)
		return vimg_error_set(err, VIMG_EUNSUPPORTED,
				      "vhd: footer: disk type %u is not fixed, dynamic or differencing",
				      s->f.disk_type);
	s->size = virtual_size(&s->f);
	if (s->size > VHD_MAX_SIZE || s->size % VHD_SECTOR)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "vhd: footer: disk size %" PRIu64
				      " is not a multiple of 512 up to 2040 GiB (offset 0x%" PRIx64 ")",
				      s->size, s->file_size - VHD_FOOTER_LEN + 48);
	return 0;
}

static int check_range(struct vhd *s, const char *what, uint64_t off, uint64_t len,
		       struct vimg_error *err)
{
	uint64_t end;

	if (ck_add(off, len, &end) || end > s->file_size)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "vhd: %s points past end of file (offset 0x%" PRIx64 ")", what,
				      off);
	return 0;
}

static int load_bat(struct vhd *s, struct vimg_error *err)
{
	uint64_t bytes = (uint64_t)s->d.max_entries * 4;
	uint8_t *raw;
	int rc;

	rc = vimg_alloc_table(s->d.max_entries ? s->d.max_entries : 1, 4, VHD_MAX_BAT_BYTES,
			      "vhd: BAT entries", (void **)&s->bat, err);
	if (rc)
		return rc;
	rc = check_range(s, "BAT", s->d.table_offset, bytes, err);
	if (rc)
		return rc;
	raw = malloc(bytes ? bytes : 1);
	if (!raw)
		return vimg_error_set(err, VIMG_ENOMEM, "vhd: out of memory for the BAT");
	rc = file_pread_full(s->file, raw, bytes, s->d.table_offset, err);
	for (uint32_t i = 0; !rc && i < s->d.max_entries; i++) {
		uint64_t off;

		s->bat[i] = ld_be32(raw + 4 * (size_t)i);
		if (s->bat[i] == VHD_BAT_UNUSED)
			continue;
		off = (uint64_t)s->bat[i] * VHD_SECTOR;
		if (off + s->bitmap_size + s->block_size > s->file_size) {
			rc = vimg_error_set(err, VIMG_ECORRUPT,
					    "vhd: BAT entry %u points past end of file (offset 0x%" PRIx64
					    ")",
					    i, off);
			break;
		}
		if (off + s->bitmap_size + s->block_size > s->next_block)
			s->next_block = off + s->bitmap_size + s->block_size;
	}
	free(raw);
	return rc;
}

/* Parent name from the W2ru locator, else W2ku (its last component), else the header. */
static int parent_name(struct vhd *s, char *out, size_t outsz, struct vimg_error *err)
{
	static const uint32_t order[] = { VHD_PLAT_W2RU, VHD_PLAT_W2KU };

	for (int k = 0; k < 2; k++) {
		for (int i = 0; i < VHD_N_LOCATORS; i++) {
			const struct vhd_locator *l = &s->d.loc[i];
			uint8_t *buf;
			int n, rc;

			if (l->code != order[k] || !l->data_length)
				continue;
			if (l->data_length > VHD_MAX_LOCATOR_BYTES)
				return vimg_error_set(err, VIMG_ECORRUPT,
						      "vhd: parent locator %d: length %u exceeds limit",
						      i, l->data_length);
			rc = check_range(s, "parent locator", l->data_offset, l->data_length, err);
			if (rc)
				return rc;
			buf = malloc(l->data_length);
			if (!buf)
				return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
			rc = file_pread_full(s->file, buf, l->data_length, l->data_offset, err);
			n = rc ? -1 : utf16_to_utf8(buf, l->data_length, false, out, outsz);
			free(buf);
			if (rc)
				return rc;
			if (n <= 0)
				return vimg_error_set(err, VIMG_ECORRUPT,
						      "vhd: parent locator %d: invalid UTF-16 path "
						      "(offset 0x%" PRIx64 ")",
						      i, l->data_offset);
			for (char *p = out; *p; p++)
				if (*p == '\\')
					*p = '/';
			/* W2ku: a Windows path is looked for beside the child; a POSIX one kept. */
			if (order[k] == VHD_PLAT_W2KU && out[0] != '/') {
				const char *base = strrchr(out, '/');

				if (base)
					memmove(out, base + 1, strlen(base));
			}
			return 0;
		}
	}
	if (utf16_to_utf8(s->d.parent_name, sizeof(s->d.parent_name), true, out, outsz) > 0)
		return 0;
	return vimg_error_set(err, VIMG_ECORRUPT,
			      "vhd: differencing disk names no parent (no W2ru/W2ku locator)");
}

static int open_dynamic(struct vimg_image *img, struct vhd *s, struct vimg_error *err)
{
	struct vhd_dyn_disk dd;
	uint64_t off = s->f.data_offset, need;
	int rc;

	rc = check_range(s, "dynamic header", off, VHD_DYN_LEN, err);
	if (rc)
		return rc;
	rc = file_pread_full(s->file, &dd, sizeof(dd), off, err);
	if (rc)
		return rc;
	vhd_dyn_decode(&dd, &s->d);
	if (memcmp(s->d.cookie, VHD_DYN_COOKIE, 8))
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "vhd: dynamic header: no \"cxsparse\" cookie (offset 0x%" PRIx64
				      ")",
				      off);
	if (s->d.checksum != vhd_checksum((uint8_t *)&dd, sizeof(dd), 36) &&
	    !(image_open_flags(img) & VIMG_OPEN_CHECK))
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "vhd: dynamic header: checksum 0x%08x, expected 0x%08x (offset "
				      "0x%" PRIx64 ")",
				      s->d.checksum, vhd_checksum((uint8_t *)&dd, sizeof(dd), 36),
				      off + 36);
	s->block_size = s->d.block_size;
	if (!is_pow2(s->block_size) || s->block_size < VHD_SECTOR || s->block_size > VHD_MAX_BLOCK)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "vhd: dynamic header: block size %u is not a power of two from "
				      "512 to 256 MiB (offset 0x%" PRIx64 ")",
				      s->block_size, off + 32);
	s->bitmap_size = (s->block_size / VHD_SECTOR / 8 + VHD_SECTOR - 1) / VHD_SECTOR * VHD_SECTOR;
	need = (s->size + s->block_size - 1) / s->block_size;
	if (s->d.max_entries < need)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "vhd: dynamic header: %u BAT entries are too few for %" PRIu64
				      " bytes (offset 0x%" PRIx64 ")",
				      s->d.max_entries, s->size, off + 28);
	s->next_block = (s->d.table_offset + (uint64_t)s->d.max_entries * 4 + VHD_SECTOR - 1) /
			VHD_SECTOR * VHD_SECTOR;
	rc = load_bat(s, err);
	if (rc)
		return rc;
	/* New blocks go where the trailing footer is, never before the metadata. */
	if (s->file_size - VHD_FOOTER_LEN > s->next_block)
		s->next_block = align_down(s->file_size - VHD_FOOTER_LEN, VHD_SECTOR);
	s->bitmap = malloc(s->bitmap_size);
	if (!s->bitmap)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	s->bitmap_block = VHD_BAT_UNUSED;
	if (s->f.disk_type == VHD_TYPE_DIFF) {
		char name[4096];

		rc = parent_name(s, name, sizeof(name), err);
		if (rc)
			return rc;
		rc = image_set_backing(img, name, "vhd", err);
	}
	return rc;
}

static int vhd_open(struct vimg_image *img, struct vimg_file *file, unsigned flags,
		    struct vimg_error *err)
{
	struct vhd *s = vhd_priv(img);
	int64_t fsz;
	int rc;

	s->file = file;
	s->writable = image_is_writable(img);
	fsz = file_size(file, err);
	if (fsz < 0)
		return (int)fsz;
	s->file_size = (uint64_t)fsz;
	rc = read_footer(s, flags, err);
	if (rc)
		return rc;
	if (s->f.disk_type == VHD_TYPE_FIXED) {
		if (s->size > s->file_size - VHD_FOOTER_LEN)
			return vimg_error_set(err, VIMG_ECORRUPT,
					      "vhd: footer: disk size %" PRIu64
					      " exceeds the data area of the file (offset 0x%" PRIx64 ")",
					      s->size, s->file_size - VHD_FOOTER_LEN + 48);
	} else {
		rc = open_dynamic(img, s, err);
		if (rc)
			return rc;
		image_set_cluster_size(img, s->block_size);
	}
	if (s->footer_from_head && s->writable) {
		/* Repair the trailing footer from the copy before anything else. */
		rc = file_pwrite_full(file, s->footer_raw, VHD_FOOTER_LEN, s->next_block, err);
		if (rc)
			return rc;
	}
	image_set_size(img, s->size);
	return 0;
}

static void vhd_close(struct vimg_image *img)
{
	struct vhd *s = vhd_priv(img);

	free(s->bat);
	free(s->bitmap);
	s->bat = NULL;
	s->bitmap = NULL;
}

static int vhd_backing_opened(struct vimg_image *img, struct vimg_image *parent,
			      struct vimg_error *err)
{
	struct vhd *s = vhd_priv(img), *ps;
	const char *fmt = vimg_image_format(parent);
	char a[40], b[40];

	if (!fmt || strcmp(fmt, "vhd"))
		return vimg_error_set(err, VIMG_EBACKING, "vhd: the parent is a %s image, not vhd",
				      fmt ? fmt : "unknown");
	ps = image_priv(parent);
	if (memcmp(ps->f.uuid, s->d.parent_uuid, 16)) {
		id_uuid_format(s->d.parent_uuid, a);
		id_uuid_format(ps->f.uuid, b);
		return vimg_error_set(err, VIMG_EBACKING,
				      "vhd: parent UUID {%s} does not match the parent's UUID {%s}", a,
				      b);
	}
	s->parent_size = vimg_image_virtual_size(parent);
	return 0;
}

static int load_bitmap(struct vhd *s, uint32_t blk, struct vimg_error *err)
{
	int rc;

	if (s->bitmap_block == blk)
		return 0;
	s->bitmap_block = VHD_BAT_UNUSED;
	rc = file_pread_full(s->file, s->bitmap, s->bitmap_size, (uint64_t)s->bat[blk] * VHD_SECTOR,
			     err);
	if (rc == 0)
		s->bitmap_block = blk;
	return rc;
}

static bool bit(const uint8_t *bm, uint64_t sector)
{
	return bm[sector / 8] & (0x80 >> (sector % 8));
}

static int vhd_block_status(struct vimg_image *img, uint64_t off, uint64_t len,
			    struct vimg_run *run, struct vimg_error *err)
{
	struct vhd *s = vhd_priv(img);
	uint32_t blk;
	uint64_t in, end, sec, last;
	bool set;
	int rc;

	if (s->f.disk_type == VHD_TYPE_FIXED) {
		run->kind = VIMG_RUN_DATA;
		run->flags = VIMG_RUN_OFFSET_VALID;
		run->file = s->file;
		run->file_off = off;
		run->length = len;
		return 0;
	}
	blk = (uint32_t)(off / s->block_size);
	in = off % s->block_size;
	end = min_u64(s->block_size, in + len);
	if (s->bat[blk] == VHD_BAT_UNUSED) {
		run->kind = VIMG_RUN_UNALLOCATED;
		run->length = end - in;
		return 0;
	}
	rc = load_bitmap(s, blk, err);
	if (rc)
		return rc;
	sec = in / VHD_SECTOR;
	last = (end + VHD_SECTOR - 1) / VHD_SECTOR;
	set = bit(s->bitmap, sec);
	while (++sec < last && bit(s->bitmap, sec) == set)
		;
	run->length = min_u64(sec * VHD_SECTOR, end) - in;
	if (!set) {
		run->kind = VIMG_RUN_UNALLOCATED;
		return 0;
	}
	run->kind = VIMG_RUN_DATA;
	run->flags = VIMG_RUN_OFFSET_VALID;
	run->file = s->file;
	run->file_off = (uint64_t)s->bat[blk] * VHD_SECTOR + s->bitmap_size + in;
	return 0;
}

/* Place a new block where the trailing footer was; then footer, then BAT entry. */
static int alloc_block(struct vhd *s, uint32_t blk, struct vimg_error *err)
{
	uint64_t off = s->next_block, end = off + s->bitmap_size + s->block_size;
	uint8_t sec[VHD_SECTOR];
	uint64_t bat_sec;
	int rc;

	if (off / VHD_SECTOR >= VHD_BAT_UNUSED)
		return vimg_error_set(err, VIMG_ENOSPC, "vhd: file would exceed 2 TiB");
	memset(s->bitmap, 0, s->bitmap_size);
	rc = file_pwrite_full(s->file, s->bitmap, s->bitmap_size, off, err);
	if (!rc)
		rc = file_truncate(s->file, end, err);
	if (!rc)
		rc = file_pwrite_full(s->file, s->footer_raw, VHD_FOOTER_LEN, end, err);
	if (rc)
		return rc;
	s->next_block = end;
	s->file_size = end + VHD_FOOTER_LEN;
	s->bat[blk] = (uint32_t)(off / VHD_SECTOR);
	s->bitmap_block = blk;
	bat_sec = (uint64_t)blk * 4 / VHD_SECTOR * VHD_SECTOR;
	for (uint64_t i = 0; i < VHD_SECTOR / 4; i++) {
		uint64_t e = bat_sec / 4 + i;

		st_be32(sec + 4 * i, e < s->d.max_entries ? s->bat[e] : VHD_BAT_UNUSED);
	}
	return file_pwrite_full(s->file, sec, VHD_SECTOR, s->d.table_offset + bat_sec, err);
}

/* One sector's current content in this layer: ours if the bit is set, else from below. */
static int sector_now(struct vimg_image *img, struct vhd *s, uint32_t blk, uint64_t sec,
		      uint8_t *buf, struct vimg_error *err)
{
	if (bit(s->bitmap, sec))
		return file_pread_full(s->file, buf, VHD_SECTOR,
				       (uint64_t)s->bat[blk] * VHD_SECTOR + s->bitmap_size +
					       sec * VHD_SECTOR,
				       err);
	return vimg_read_below(img, buf, (uint64_t)blk * s->block_size + sec * VHD_SECTOR,
			       VHD_SECTOR, err);
}

static int write_in_block(struct vimg_image *img, struct vhd *s, const uint8_t *buf,
			  uint64_t off, size_t len, struct vimg_error *err)
{
	uint32_t blk = (uint32_t)(off / s->block_size);
	uint64_t in = off % s->block_size, s0 = in / VHD_SECTOR;
	uint64_t s1 = (in + len + VHD_SECTOR - 1) / VHD_SECTOR;
	uint64_t data = 0, first_byte, last_byte;
	uint8_t *tmp = NULL;
	const uint8_t *src = buf;
	bool changed = false;
	int rc;

	if (s->bat[blk] == VHD_BAT_UNUSED)
		rc = alloc_block(s, blk, err);
	else
		rc = load_bitmap(s, blk, err);
	if (rc)
		return rc;
	data = (uint64_t)s->bat[blk] * VHD_SECTOR + s->bitmap_size;
	if (in % VHD_SECTOR || len % VHD_SECTOR) {
		/* Merge partial sectors with what the layer holds now. */
		tmp = malloc((s1 - s0) * VHD_SECTOR);
		if (!tmp)
			return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
		rc = sector_now(img, s, blk, s0, tmp, err);
		if (!rc && s1 - 1 > s0)
			rc = sector_now(img, s, blk, s1 - 1, tmp + (s1 - 1 - s0) * VHD_SECTOR, err);
		if (rc) {
			free(tmp);
			return rc;
		}
		memcpy(tmp + (in - s0 * VHD_SECTOR), buf, len);
		src = tmp;
	}
	rc = file_pwrite_full(s->file, src, (s1 - s0) * VHD_SECTOR, data + s0 * VHD_SECTOR, err);
	free(tmp);
	if (rc)
		return rc;
	for (uint64_t i = s0; i < s1; i++) {
		if (!bit(s->bitmap, i)) {
			s->bitmap[i / 8] |= (uint8_t)(0x80 >> (i % 8));
			changed = true;
		}
	}
	if (!changed)
		return 0;
	first_byte = align_down(s0 / 8, VHD_SECTOR);
	last_byte = ((s1 - 1) / 8 + VHD_SECTOR) / VHD_SECTOR * VHD_SECTOR;
	return file_pwrite_full(s->file, s->bitmap + first_byte, last_byte - first_byte,
				(uint64_t)s->bat[blk] * VHD_SECTOR + first_byte, err);
}

static int vhd_write(struct vimg_image *img, const void *buf, uint64_t off, size_t len,
		     unsigned flags, struct vimg_error *err)
{
	struct vhd *s = vhd_priv(img);
	const uint8_t *p = buf;

	if (s->f.disk_type == VHD_TYPE_FIXED)
		return file_pwrite_full(s->file, buf, len, off, err);
	while (len) {
		size_t n = (size_t)min_u64(len, s->block_size - off % s->block_size);
		int rc = write_in_block(img, s, p, off, n, err);

		if (rc)
			return rc;
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

static int vhd_flush(struct vimg_image *img, struct vimg_error *err)
{
	/* Every metadata update is written in place as it happens. */
	return 0;
}

/* ---- check ------------------------------------------------------------------ */

struct vhd_chk {
	struct vimg_check *rep;
};

static void finding(struct vimg_check *rep, enum vimg_check_severity sev, const char *structure,
		    int64_t index, uint64_t off, const char *msg)
{
	struct vimg_check_finding f = { sev, structure, index, off, msg, false };

	if (sev == VIMG_CHECK_LEAK)
		rep->leaks++;
	else if (sev == VIMG_CHECK_CORRUPTION)
		rep->corruptions++;
	else
		rep->check_errors++;
	if (rep->report)
		rep->report(rep->opaque, &f);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int vhd_check(struct vimg_image *img, struct vimg_check *rep, unsigned fix,
		     struct vimg_error *err)
{
	struct vhd *s = vhd_priv(img);
	uint8_t head[VHD_FOOTER_LEN];
	uint32_t *sorted = NULL, n = 0;
	char msg[200];
	int rc;

	if (s->f.checksum != vhd_checksum(s->footer_raw, VHD_FOOTER_LEN, 64))
		finding(rep, VIMG_CHECK_CORRUPTION, "footer", -1, s->file_size - VHD_FOOTER_LEN,
			"footer checksum mismatch");
	if (s->footer_from_head)
		finding(rep, VIMG_CHECK_CORRUPTION, "footer", -1, s->file_size - VHD_FOOTER_LEN,
			"trailing footer damaged; the copy at offset 0 is valid");
	rep->image_end_offset = s->file_size;
	if (s->f.disk_type == VHD_TYPE_FIXED)
		return 0;
	rc = file_pread_full(s->file, head, VHD_FOOTER_LEN, 0, err);
	if (rc)
		return rc;
	if (memcmp(head, s->footer_raw, VHD_FOOTER_LEN))
		finding(rep, VIMG_CHECK_CORRUPTION, "footer copy", -1, 0,
			"footer copy at offset 0 differs from the trailing footer");
	{
		struct vhd_dyn_disk dd;

		rc = file_pread_full(s->file, &dd, sizeof(dd), s->f.data_offset, err);
		if (rc)
			return rc;
		if (ld_be32(dd.checksum) != vhd_checksum((uint8_t *)&dd, sizeof(dd), 36))
			finding(rep, VIMG_CHECK_CORRUPTION, "dynamic header", -1, s->f.data_offset,
				"dynamic header checksum mismatch");
	}
	rc = vimg_alloc_table(s->d.max_entries ? s->d.max_entries : 1, 4, VHD_MAX_BAT_BYTES,
			      "vhd: BAT entries", (void **)&sorted, err);
	if (rc)
		return rc;
	for (uint32_t i = 0; i < s->d.max_entries; i++) {
		uint64_t off = (uint64_t)s->bat[i] * VHD_SECTOR;

		if (s->bat[i] == VHD_BAT_UNUSED)
			continue;
		rep->allocated_clusters++;
		if (off < s->d.table_offset + (uint64_t)s->d.max_entries * 4 &&
		    off + s->bitmap_size + s->block_size > s->d.table_offset) {
			snprintf(msg, sizeof(msg), "block %u overlaps the BAT", i);
			finding(rep, VIMG_CHECK_CORRUPTION, "BAT", i, off, msg);
		}
		if (off < s->f.data_offset + VHD_DYN_LEN) {
			snprintf(msg, sizeof(msg), "block %u overlaps the headers", i);
			finding(rep, VIMG_CHECK_CORRUPTION, "BAT", i, off, msg);
		}
		sorted[n++] = s->bat[i];
	}
	qsort(sorted, n, sizeof(*sorted), cmp_u32);
	for (uint32_t i = 1; i < n; i++) {
		if ((uint64_t)(sorted[i] - sorted[i - 1]) * VHD_SECTOR <
		    (uint64_t)s->bitmap_size + s->block_size) {
			snprintf(msg, sizeof(msg), "blocks at sectors %u and %u overlap",
				 sorted[i - 1], sorted[i]);
			finding(rep, VIMG_CHECK_CORRUPTION, "BAT", -1,
				(uint64_t)sorted[i] * VHD_SECTOR, msg);
		}
	}
	free(sorted);
	rep->total_clusters = (s->size + s->block_size - 1) / s->block_size;
	return 0;
}

static int vhd_info(struct vimg_image *img, const struct vimg_emit *em, struct vimg_error *err)
{
	struct vhd *s = vhd_priv(img);
	char buf[64];

	em->str(em->opaque, "subformat",
		s->f.disk_type == VHD_TYPE_FIXED     ? "fixed"
		: s->f.disk_type == VHD_TYPE_DYNAMIC ? "dynamic"
						     : "differencing");
	memcpy(buf, s->f.creator_app, 4);
	buf[4] = 0;
	for (int i = 0; i < 4; i++)
		if (buf[i] && (buf[i] < 0x20 || buf[i] > 0x7e))
			buf[i] = '?';
	em->str(em->opaque, "creator-app", buf);
	snprintf(buf, sizeof(buf), "%u/%u/%u", s->f.cylinders, s->f.heads, s->f.sectors);
	em->str(em->opaque, "chs", buf);
	em->u64(em->opaque, "current-size", s->f.current_size);
	id_uuid_format(s->f.uuid, buf);
	em->str(em->opaque, "uuid", buf);
	if (s->f.disk_type != VHD_TYPE_FIXED)
		em->u64(em->opaque, "block-size", s->block_size);
	if (s->f.disk_type == VHD_TYPE_DIFF) {
		id_uuid_format(s->d.parent_uuid, buf);
		em->str(em->opaque, "parent-uuid", buf);
	}
	return 0;
}

static const char *const vhd_extensions[] = { "vhd", "vpc", NULL };

const struct vimg_driver vimg_drv_vhd = {
	.name = "vhd",
	.qemu_name = "vpc",
	.description = "Microsoft Virtual Hard Disk: fixed, dynamic, differencing",
	.extensions = vhd_extensions,
	.priv_size = sizeof(struct vhd),
	.features = VIMG_FEAT_BACKING,
	.thread_model = VIMG_THREAD_SERIALIZE,
	.create_opts = vhd_create_opts,
	.probe = vhd_probe,
	.open = vhd_open,
	.backing_opened = vhd_backing_opened,
	.set_backing = vhd_set_backing,
	.close = vhd_close,
	.block_status = vhd_block_status,
	.write = vhd_write,
	.flush = vhd_flush,
	.resize = vhd_resize,
	.amend = vhd_amend,
	.create = vhd_create,
	.check = vhd_check,
	.info = vhd_info,
};
