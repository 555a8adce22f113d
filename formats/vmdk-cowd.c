/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vmfsSparse extents: the ESX "COWD" sparse format of delta disks (read only).
 * Layout from libyal's libvmdk documentation ("COWD sparse extent file
 * header") and qemu block/vmdk.c: after the magic, u32 version, flags,
 * capacity (sectors), grain size (sectors), grain directory offset (sectors)
 * and its entry count; grain tables have 4096 u32 entries, grain table and
 * grain entries are sector offsets, 0 meaning unallocated (the parent shows
 * through). Validated like a hosted sparse extent: every grain table within
 * the file, grain entries checked when used.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "endian.h"
#include "vmdk.h"

#define COWD_GTES 4096u

int sparse_open_cowd(struct vimg_file *f, const char *what, struct vmdk_sparse **out,
		     struct vimg_error *err)
{
	struct vmdk_sparse *sp = calloc(1, sizeof(*sp));
	uint8_t h[VMDK_SECTOR];
	int64_t fsize = file_size(f, err);
	uint32_t gd_entries;
	int rc;

	*out = NULL;
	if (!sp)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	if (fsize < 0) {
		rc = (int)fsize;
		goto fail;
	}
	if (fsize < (int64_t)VMDK_SECTOR) {
		rc = vimg_error_set(err, VIMG_ECORRUPT, "%s: file too small for a COWD header",
				    what);
		goto fail;
	}
	rc = file_pread_full(f, h, sizeof(h), 0, err);
	if (rc)
		goto fail;
	if (memcmp(h, VMDK_COWD_MAGIC, 4)) {
		rc = vimg_error_set(err, VIMG_EFORMAT, "%s: not a vmfsSparse extent (no COWD magic)",
				    what);
		goto fail;
	}
	sp->kind = VMDK_SP_COWD;
	sp->gte_size = 4;
	sp->gtes = COWD_GTES;
	sp->file_size = (uint64_t)fsize;
	sp->version = ld_le32(h + 4);
	sp->flags = ld_le32(h + 8);
	sp->capacity = ld_le32(h + 12);
	sp->grain = ld_le32(h + 16);
	sp->gd_off = (uint64_t)ld_le32(h + 20) * VMDK_SECTOR;
	gd_entries = ld_le32(h + 24);
	rc = sparse_setup_gd(sp, what, err);
	if (rc)
		goto fail;
	if (gd_entries < sp->n_gts) {
		rc = vimg_error_set(err, VIMG_ECORRUPT,
				    "%s: COWD grain directory has %u entries, %llu needed", what,
				    gd_entries, (unsigned long long)sp->n_gts);
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
