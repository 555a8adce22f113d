/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * seSparse extents (ESXi 6.5+ space-efficient sparse, read only). There is no
 * public specification: the layout follows qemu block/vmdk.c (2019) and
 * dissect.hypervisor. A 512-byte constant header of u64 fields (magic
 * 0xcafebabe, version 0x200000001, capacity, grain size 8 sectors, grain
 * table size 64 sectors, then offsets/sizes in sectors of the volatile
 * header, journal, grain directory, grain tables, free bitmap, back map and
 * grains); a volatile header (magic 0xcafecafe) whose replay_journal must be
 * 0. Grain directory entries are 0 or 0x1000000000000000|table index; grain
 * table entries carry the state in the top nibble: 0 unallocated, 1 unmapped
 * and 2 zero (both read as zeros), 3 allocated with a 60-bit scrambled grain
 * index. Anything else is refused, as qemu does.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "endian.h"
#include "vmdk.h"

/* Constant header field offsets. */
enum {
	SE_MAGIC = 0, SE_VERSION = 8, SE_CAPACITY = 16, SE_GRAIN = 24, SE_GT_SIZE = 32,
	SE_FLAGS = 40, SE_RESERVED = 48, SE_VOLATILE_OFF = 80, SE_GD_OFF = 128,
	SE_GD_SIZE = 136, SE_GTS_OFF = 144, SE_GTS_SIZE = 152, SE_GRAINS_OFF = 192,
	SE_GRAINS_SIZE = 200, SE_PAD = 208,
};

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

int se_decode_gde(const struct vmdk_sparse *sp, uint64_t i, uint64_t raw, uint64_t *gt_off,
		  const char *what, struct vimg_error *err)
{
	uint64_t idx, gt_bytes = (uint64_t)sp->gtes * 8;

	*gt_off = 0;
	if (raw == 0)
		return 0;
	idx = raw & 0xffffffffull;
	if ((raw & 0xffffffff00000000ull) != 0x1000000000000000ull ||
	    ck_mul(idx, gt_bytes, gt_off) || ck_add(*gt_off, sp->se_tables_off, gt_off))
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "%s: grain directory entry %llu: invalid value 0x%016llx", what,
				      (unsigned long long)i, (unsigned long long)raw);
	return 0;
}

int se_decode_gte(const struct vmdk_sparse *sp, uint64_t raw, enum vmdk_gte_state *state,
		  uint64_t *off)
{
	uint64_t idx;

	*off = 0;
	switch (raw >> 60) {
	case 0:
		*state = VMDK_GRAIN_UNALLOC;
		return raw ? -1 : 0;
	case 1:
	case 2:
		*state = VMDK_GRAIN_ZERO;
		return 0;
	case 3:
		idx = (raw & 0x0fff000000000000ull) >> 48 | (raw & 0x0000ffffffffffffull) << 12;
		*state = VMDK_GRAIN_DATA;
		if (idx > (UINT64_MAX / VMDK_SECTOR) / sp->grain ||
		    ck_add(sp->se_grains_off, idx * sp->grain * VMDK_SECTOR, off))
			return -1;
		return 0;
	default:
		return -1;
	}
}

int sparse_open_se(struct vimg_file *f, const char *what, struct vmdk_sparse **out,
		   struct vimg_error *err)
{
	struct vmdk_sparse *sp = calloc(1, sizeof(*sp));
	uint8_t h[VMDK_SECTOR], v[VMDK_SECTOR];
	int64_t fsize = file_size(f, err);
	uint64_t gd_size, gts_off, gts_size, voff;
	int rc;

	*out = NULL;
	if (!sp)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	if (fsize < 0) {
		rc = (int)fsize;
		goto fail;
	}
	sp->kind = VMDK_SP_SE;
	sp->gte_size = 8;
	sp->file_size = (uint64_t)fsize;
	rc = file_pread_full(f, h, sizeof(h), 0, err);
	if (rc)
		goto fail;
	rc = VIMG_EUNSUPPORTED;
	if (ld_le64(h + SE_MAGIC) != VMDK_SE_CONST_MAGIC) {
		rc = vimg_error_set(err, VIMG_EFORMAT, "%s: not a seSparse extent (bad magic)", what);
		goto fail;
	}
	if (ld_le64(h + SE_VERSION) != VMDK_SE_VERSION || ld_le64(h + SE_GRAIN) != 8 ||
	    ld_le64(h + SE_GT_SIZE) != 64 || ld_le64(h + SE_FLAGS) != 0 ||
	    !all_zero(h + SE_RESERVED, 32) || !all_zero(h + SE_PAD, sizeof(h) - SE_PAD)) {
		vimg_error_set(err, rc,
			       "%s: unsupported seSparse header (version 0x%llx, grain %llu, "
			       "table %llu, flags 0x%llx)",
			       what, (unsigned long long)ld_le64(h + SE_VERSION),
			       (unsigned long long)ld_le64(h + SE_GRAIN),
			       (unsigned long long)ld_le64(h + SE_GT_SIZE),
			       (unsigned long long)ld_le64(h + SE_FLAGS));
		goto fail;
	}
	voff = ld_le64(h + SE_VOLATILE_OFF);
	if (voff > (sp->file_size - VMDK_SECTOR) / VMDK_SECTOR || sp->file_size < VMDK_SECTOR) {
		rc = vimg_error_set(err, VIMG_ECORRUPT,
				    "%s: seSparse volatile header beyond end of file (offset 0x%llx)",
				    what, (unsigned long long)voff * VMDK_SECTOR);
		goto fail;
	}
	rc = file_pread_full(f, v, sizeof(v), voff * VMDK_SECTOR, err);
	if (rc)
		goto fail;
	if (ld_le64(v) != VMDK_SE_VOLATILE_MAGIC) {
		rc = vimg_error_set(err, VIMG_ECORRUPT, "%s: bad seSparse volatile header magic",
				    what);
		goto fail;
	}
	if (ld_le64(v + 24)) {
		rc = vimg_error_set(err, VIMG_EUNSUPPORTED,
				    "%s: seSparse journal needs replay (image not closed cleanly)",
				    what);
		goto fail;
	}
	sp->capacity = ld_le64(h + SE_CAPACITY);
	sp->grain = 8;
	sp->gtes = 64 * VMDK_SECTOR / 8;
	sp->gd_off = ld_le64(h + SE_GD_OFF);
	gd_size = ld_le64(h + SE_GD_SIZE);
	gts_off = ld_le64(h + SE_GTS_OFF);
	gts_size = ld_le64(h + SE_GTS_SIZE);
	sp->se_grains_off = ld_le64(h + SE_GRAINS_OFF);
	if (sp->gd_off > UINT32_MAX || gd_size > UINT32_MAX || gts_off > UINT32_MAX ||
	    gts_size > UINT32_MAX || sp->se_grains_off > UINT32_MAX) {
		rc = vimg_error_set(err, VIMG_ECORRUPT, "%s: seSparse region offsets out of range",
				    what);
		goto fail;
	}
	sp->gd_off *= VMDK_SECTOR;
	sp->se_grains_off *= VMDK_SECTOR;
	sp->se_tables_off = gts_off * VMDK_SECTOR;
	rc = sparse_setup_gd(sp, what, err);
	if (rc)
		goto fail;
	if (gd_size * VMDK_SECTOR / 8 < sp->n_gts) {
		rc = vimg_error_set(err, VIMG_ECORRUPT,
				    "%s: seSparse grain directory of %llu sectors is too small", what,
				    (unsigned long long)gd_size);
		goto fail;
	}
	rc = sparse_load_gd(f, sp, sp->gd_off, sp->gd, what, "grain directory", err);
	if (rc)
		goto fail;
	*out = sp;
	return 0;
fail:
	sparse_free(sp);
	return rc;
}
