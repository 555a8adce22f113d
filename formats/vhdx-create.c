/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * VHDX creation ([MS-VHDX] 2.1 "Layout", 2.2, 2.6): options as qemu-img's
 * (subformat, block_size, log_size, block_state_zero) plus the logical and
 * physical sector sizes; defaults follow Hyper-V (32 MiB blocks, 2 MiB for
 * differencing disks, a 1 MiB log, 512-byte logical and 4096-byte physical
 * sectors).
 *
 * Layout: file identifier, headers and region tables in the first 1 MiB;
 * the log at 1 MiB; the metadata region (1 MiB) after it; the BAT after
 * that, rounded up to 1 MiB; payload blocks from there. The whole file is
 * allocated with file_allocate, never left sparse: Hyper-V refuses VHDX
 * files with holes. A fixed disk has every block FULLY_PRESENT (or ZERO with
 * its space kept, block_state_zero=on) and LeaveBlockAllocated set.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "crc32c.h"
#include "endian.h"
#include "vhdx.h"

const struct vimg_opt_desc vhdx_create_opts[] = {
	{ "subformat", VIMG_OPT_STR, "dynamic", "dynamic|fixed", "dynamic (allocate on write) or fixed" },
	{ "block_size", VIMG_OPT_SIZE, "0", NULL,
	  "payload block size, 1M to 256M, a power of two (0: 32M, or 2M when differencing)" },
	{ "log_size", VIMG_OPT_SIZE, "1M", NULL, "log size, a multiple of 1M" },
	{ "block_state_zero", VIMG_OPT_BOOL, "off", NULL,
	  "fixed: mark blocks ZERO (space kept) instead of FULLY_PRESENT" },
	{ "logical_sector_size", VIMG_OPT_UINT, "512", NULL, "logical sector size: 512 or 4096" },
	{ "physical_sector_size", VIMG_OPT_UINT, "4096", NULL, "physical sector size: 512 or 4096" },
	{ NULL, 0, NULL, NULL, NULL },
};

struct params {
	bool fixed, zero_state, diff;
	uint64_t size, block, log, lsec, psec;
	uint8_t linkage[16];
	const char *parent_name;
	uint64_t log_off, meta_off, bat_off, bat_len, data_off, total;
	uint64_t chunk_ratio, payload_blocks, bat_entries;
};

/* The parent's data write GUID, size and sector size. */
static int parent_facts(const struct vimg_backing_spec *bk, struct params *p,
			struct vimg_error *err)
{
	struct vimg_image *b;
	struct vhdx *ps;
	int rc = create_backing_parent(bk, "vhdx", &b, err);

	if (rc)
		return rc;
	ps = image_priv(b);
	memcpy(p->linkage, ps->hdr.data_write_guid, 16);
	p->size = ps->vsize;
	p->lsec = ps->lsec;
	return 0;
}

static int get_params(const char *path, uint64_t size, const struct vimg_opts *o,
		      const struct vimg_backing_spec *bk, struct params *p, struct vimg_error *err)
{
	const char *sub = opts_get(o, "subformat");
	int rc;

	memset(p, 0, sizeof(*p));
	p->fixed = sub && !strcmp(sub, "fixed");
	p->size = size;
	if ((rc = opts_get_size(o, "block_size", &p->block, err)) ||
	    (rc = opts_get_size(o, "log_size", &p->log, err)) ||
	    (rc = opts_get_bool(o, "block_state_zero", &p->zero_state, err)) ||
	    (rc = opts_get_uint(o, "logical_sector_size", &p->lsec, err)) ||
	    (rc = opts_get_uint(o, "physical_sector_size", &p->psec, err)))
		return rc;
	if (bk && bk->name) {
		uint64_t want_lsec = p->lsec;

		if (p->fixed)
			return vimg_error_set(err, VIMG_EINVAL,
					      "vhdx: a differencing disk cannot be fixed");
		rc = parent_facts(bk, p, err);
		if (rc)
			return vimg_error_prefix(err, "vhdx: parent \"%s\"", bk->name);
		if (opts_given(o, "logical_sector_size") && want_lsec != p->lsec)
			return vimg_error_set(err, VIMG_EINVAL,
					      "vhdx: logical sector size must be the parent's (%" PRIu64
					      ")",
					      p->lsec);
		p->diff = true;
		p->parent_name = bk->name;
	}
	if (p->block == 0)
		p->block = p->diff ? 2 * MIB : 32 * MIB;
	if (!is_pow2(p->block) || p->block < VHDX_MIN_BLOCK || p->block > VHDX_MAX_BLOCK)
		return vimg_error_set(err, VIMG_EINVAL,
				      "vhdx: block_size %" PRIu64 " is not a power of two from 1M to 256M",
				      p->block);
	if (p->log < MIB || p->log % MIB || p->log > 4096 * MIB - MIB)
		return vimg_error_set(err, VIMG_EINVAL,
				      "vhdx: log_size %" PRIu64 " is not a multiple of 1M below 4G",
				      p->log);
	if ((p->lsec != 512 && p->lsec != 4096) || (p->psec != 512 && p->psec != 4096))
		return vimg_error_set(err, VIMG_EINVAL, "vhdx: sector sizes must be 512 or 4096");
	if (ck_align_up(p->size, p->lsec, &p->size) || p->size == 0 || p->size > VHDX_MAX_SIZE)
		return vimg_error_set(err, VIMG_EINVAL,
				      "vhdx: size %" PRIu64 " out of range (1 sector to 64 TiB)", size);
	p->chunk_ratio = (1ull << 23) * p->lsec / p->block;
	p->payload_blocks = (p->size + p->block - 1) / p->block;
	p->bat_entries = p->diff ? (p->payload_blocks + p->chunk_ratio - 1) / p->chunk_ratio *
					   (p->chunk_ratio + 1)
				 : p->payload_blocks + (p->payload_blocks - 1) / p->chunk_ratio;
	if (ck_align_up(p->bat_entries * 8, MIB, &p->bat_len) || p->bat_len > VHDX_MAX_BAT_BYTES)
		return vimg_error_set(err, VIMG_EINVAL, "vhdx: BAT of %" PRIu64 " entries is too large",
				      p->bat_entries);
	p->log_off = MIB;
	p->meta_off = p->log_off + p->log;
	p->bat_off = p->meta_off + MIB;
	p->data_off = p->bat_off + p->bat_len;
	p->total = p->data_off + (p->fixed ? p->payload_blocks * p->block : 0);
	return 0;
}

static int write_identity(struct vimg_file *f, struct vimg_error *err)
{
	uint8_t b[VHDX_HEADER_LEN] = { 0 };

	memcpy(b, VHDX_FILE_SIG, 8);
	utf8_to_utf16("vimg", false, b + 8, 512);
	return file_pwrite_full(f, b, sizeof(b), 0, err);
}

static int write_headers(struct vimg_file *f, const struct params *p, struct vimg_error *err)
{
	struct vhdx_header h;
	uint8_t b[VHDX_HEADER_LEN];
	int rc = 0;

	memset(&h, 0, sizeof(h));
	id_guid_random(h.file_write_guid);
	id_guid_random(h.data_write_guid);
	h.version = 1;
	h.log_length = (uint32_t)p->log;
	h.log_offset = p->log_off;
	for (int i = 0; i < 2 && !rc; i++) {
		h.seq = (uint64_t)i + 1;
		vhdx_header_encode(&h, b);
		rc = file_pwrite_full(f, b, sizeof(b), i ? VHDX_HEADER2_OFF : VHDX_HEADER1_OFF, err);
	}
	return rc;
}

static int write_regions(struct vimg_file *f, const struct params *p, struct vimg_error *err)
{
	uint8_t *b = calloc(1, VHDX_REGION_LEN);
	int rc = 0;

	if (!b)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	st_le32(b, VHDX_REGION_SIG);
	st_le32(b + 8, 2);
	memcpy(b + 16, vhdx_guid_bat, 16);
	st_le64(b + 32, p->bat_off);
	st_le32(b + 40, (uint32_t)p->bat_len);
	st_le32(b + 44, 1);
	memcpy(b + 48, vhdx_guid_metadata, 16);
	st_le64(b + 64, p->meta_off);
	st_le32(b + 72, (uint32_t)MIB);
	st_le32(b + 76, 1);
	st_le32(b + 4, crc32c(0, b, VHDX_REGION_LEN));
	rc = file_pwrite_full(f, b, VHDX_REGION_LEN, VHDX_REGION1_OFF, err);
	if (!rc)
		rc = file_pwrite_full(f, b, VHDX_REGION_LEN, VHDX_REGION2_OFF, err);
	free(b);
	return rc;
}

int vhdx_locator_build(const uint8_t linkage[16], const char *name, uint8_t *b, size_t cap)
{
	char link[40], rel[VHDX_MAX_PATH];
	const char *keys[2] = { "parent_linkage", "relative_path" }, *vals[2] = { link, rel };
	size_t pos = 20 + 12 * 2;
	bool abs = name[0] == '/';

	/*
	 * A relative name is stored Windows-style (".\\name"); an absolute POSIX
	 * name can only go, as it is, into absolute_win32_path.
	 */
	if ((size_t)snprintf(rel, sizeof(rel), "%s%s",
			     abs || !strncmp(name, "./", 2) ? "" : ".\\", name) >= sizeof(rel))
		return -1;
	if (abs)
		keys[1] = "absolute_win32_path";
	for (char *c = rel; *c && !abs; c++)
		if (*c == '/')
			*c = '\\';
	vhdx_guid_str(linkage, link);
	memset(b, 0, cap);
	memcpy(b, vhdx_guid_parent_type, 16);
	st_le16(b + 18, 2);
	for (int i = 0; i < 2; i++) {
		uint8_t *e = b + 20 + 12 * i;
		int kl = utf8_to_utf16(keys[i], false, b + pos, cap - pos), vl;

		if (kl < 0)
			return -1;
		st_le32(e, (uint32_t)pos);
		st_le16(e + 8, (uint16_t)kl);
		pos += (size_t)kl;
		vl = utf8_to_utf16(vals[i], false, b + pos, cap - pos);
		if (vl <= 0)
			return -1;
		st_le32(e + 4, (uint32_t)pos);
		st_le16(e + 10, (uint16_t)vl);
		pos += (size_t)vl;
	}
	return (int)pos;
}

static int write_metadata(struct vimg_file *f, const struct params *p, struct vimg_error *err)
{
	uint8_t *b = calloc(1, 2 * VHDX_META_TABLE_LEN);
	uint8_t *items = b + VHDX_META_TABLE_LEN, page83[16];
	const uint8_t *ids[6] = { vhdx_guid_file_params, vhdx_guid_vsize, vhdx_guid_page83,
				  vhdx_guid_lsec, vhdx_guid_psec, vhdx_guid_parent_locator };
	uint32_t lens[6] = { 8, 8, 16, 4, 4, 0 };
	uint32_t flags[6] = { 4, 6, 6, 6, 6, 4 }, off = (uint32_t)VHDX_META_TABLE_LEN;
	int n = p->diff ? 6 : 5, rc;

	if (!b)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	id_guid_random(page83);
	st_le32(items, (uint32_t)p->block);
	st_le32(items + 4, (p->fixed ? VHDX_PARAM_LEAVE_ALLOCATED : 0) |
				   (p->diff ? VHDX_PARAM_HAS_PARENT : 0));
	st_le64(items + 8, p->size);
	memcpy(items + 16, page83, 16);
	st_le32(items + 32, (uint32_t)p->lsec);
	st_le32(items + 36, (uint32_t)p->psec);
	if (p->diff) {
		int l = vhdx_locator_build(p->linkage, p->parent_name, items + 40,
					   VHDX_META_TABLE_LEN - 40);

		if (l < 0) {
			free(b);
			return vimg_error_set(err, VIMG_EINVAL,
					      "vhdx: parent name \"%s\" too long or not UTF-8",
					      p->parent_name);
		}
		lens[5] = (uint32_t)l;
	}
	memcpy(b, VHDX_META_SIG, 8);
	st_le16(b + 10, (uint16_t)n);
	for (int i = 0; i < n; i++) {
		uint8_t *e = b + 32 + 32 * i;

		memcpy(e, ids[i], 16);
		st_le32(e + 16, off);
		st_le32(e + 20, lens[i]);
		st_le32(e + 24, flags[i]);
		off += lens[i];
	}
	rc = file_pwrite_full(f, b, 2 * VHDX_META_TABLE_LEN, p->meta_off, err);
	free(b);
	return rc;
}

/* A fixed disk's BAT: every payload block at its place, written 1 MiB at a time. */
static int write_bat(struct vimg_file *f, const struct params *p, struct vimg_error *err)
{
	uint8_t *b;
	int rc = 0;

	if (!p->fixed)
		return 0; /* all NOT_PRESENT: the allocated region already reads as zeros */
	b = malloc(MIB);
	if (!b)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	for (uint64_t at = 0; at < p->bat_len && !rc; at += MIB) {
		for (uint64_t k = 0; k < MIB / 8; k++) {
			uint64_t i = at / 8 + k, e = 0;

			if (i < p->bat_entries && i % (p->chunk_ratio + 1) != p->chunk_ratio) {
				uint64_t blk = i - i / (p->chunk_ratio + 1);

				e = (p->data_off + blk * p->block) |
				    (p->zero_state ? VHDX_BAT_ZERO : VHDX_BAT_FULLY_PRESENT);
			}
			st_le64(b + 8 * k, e);
		}
		rc = file_pwrite_full(f, b, MIB, p->bat_off + at, err);
	}
	free(b);
	return rc;
}

int vhdx_create(const char *path, uint64_t size, const struct vimg_opts *opts,
		const struct vimg_backing_spec *backing, struct vimg_error *err)
{
	struct params p;
	struct vimg_file *f;
	int rc;

	rc = get_params(path, size, opts, backing, &p, err);
	if (rc)
		return rc;
	rc = file_open(path, FILE_CREATE, &f, err);
	if (rc)
		return rc;
	rc = file_allocate(f, 0, p.total, err);
	if (!rc)
		rc = write_identity(f, err);
	if (!rc)
		rc = write_headers(f, &p, err);
	if (!rc)
		rc = write_regions(f, &p, err);
	if (!rc)
		rc = write_metadata(f, &p, err);
	if (!rc)
		rc = write_bat(f, &p, err);
	if (!rc)
		rc = file_fsync(f, err);
	file_close(f);
	return rc;
}
