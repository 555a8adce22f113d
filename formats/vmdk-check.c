/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Consistency check of sparse extents (hosted, stream, COWD, seSparse):
 * every grain table entry is decoded and checked against the file size;
 * the redundant grain directory and its tables must agree with the primary
 * ones entry by entry; stream grain markers must carry the right lba and a
 * compressed size that stays inside the file; finally every grain and every
 * metadata structure (header, descriptor, directories, tables) is sorted by
 * file offset and no two may overlap. Flat extents have nothing to check.
 * Repair is not offered: the findings say what is wrong and where.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "endian.h"
#include "vmdk.h"

struct range {
	uint64_t off, len;
	int64_t index;		/* grain number, or -1 for metadata */
};

struct ck {
	struct vimg_check *rep;
	struct range *r;
	size_t n, cap;
	bool oom;
	const char *ext;	/* extent file, for messages */
};

static void report(struct ck *c, enum vimg_check_severity sev, const char *what, int64_t index,
		   uint64_t off, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void report(struct ck *c, enum vimg_check_severity sev, const char *what, int64_t index,
		   uint64_t off, const char *fmt, ...)
{
	char msg[300], full[400];
	va_list ap;
	struct vimg_check_finding f = { sev, what, index, off, full, false };

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "%s: %s", c->ext, msg);
	if (sev == VIMG_CHECK_CORRUPTION)
		c->rep->corruptions++;
	else if (sev == VIMG_CHECK_LEAK)
		c->rep->leaks++;
	else
		c->rep->check_errors++;
	if (c->rep->report)
		c->rep->report(c->rep->opaque, &f);
}

static void add_range(struct ck *c, uint64_t off, uint64_t len, int64_t index)
{
	if (c->oom || !len)
		return;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 1024;
		struct range *r = realloc(c->r, cap * sizeof(*r));

		if (!r) {
			c->oom = true;
			return;
		}
		c->r = r;
		c->cap = cap;
	}
	c->r[c->n++] = (struct range){ off, len, index };
}

static int cmp_range(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

/* Length of a compressed grain at off (marker included), 0 after reporting a problem. */
static uint64_t stream_grain_len(struct ck *c, struct vmdk_extent *e, uint64_t g, uint64_t off)
{
	struct vmdk_sparse *sp = e->sp;
	struct vimg_error err = VIMG_ERROR_INIT;
	uint8_t m[12];
	uint64_t hdr = sp->markers ? 12 : 4, clen;

	if (file_pread_zeroed(e->file, m, sizeof(m), off, &err)) {
		report(c, VIMG_CHECK_ERROR, "grain", (int64_t)g, off, "%s", err.msg);
		return 0;
	}
	clen = sp->markers ? ld_le32(m + 8) : ld_le32(m);
	if (sp->markers && ld_le64(m) != g * sp->grain) {
		report(c, VIMG_CHECK_CORRUPTION, "grain marker", (int64_t)g, off,
		       "grain %llu: marker says lba %llu", (unsigned long long)g,
		       (unsigned long long)ld_le64(m));
		return 0;
	}
	if (clen == 0 || off + hdr + clen > sp->file_size) {
		report(c, VIMG_CHECK_CORRUPTION, "grain marker", (int64_t)g, off,
		       "grain %llu: compressed size %llu beyond end of file", (unsigned long long)g,
		       (unsigned long long)clen);
		return 0;
	}
	return (hdr + clen + VMDK_SECTOR - 1) / VMDK_SECTOR * VMDK_SECTOR;
}

static void check_gt(struct ck *c, struct vmdk_extent *e, uint64_t t, const uint64_t *gt)
{
	struct vmdk_sparse *sp = e->sp;
	uint64_t gb = sp->grain * VMDK_SECTOR, total = (sp->capacity + sp->grain - 1) / sp->grain;

	for (uint32_t i = 0; i < sp->gtes; i++) {
		uint64_t g = t * sp->gtes + i, off = 0, len = gb;
		enum vmdk_gte_state st = VMDK_GRAIN_DATA;

		if (g >= total)
			break;
		if (sp->kind == VMDK_SP_SE) {
			if (se_decode_gte(sp, gt[i], &st, &off)) {
				report(c, VIMG_CHECK_CORRUPTION, "grain table", (int64_t)t, sp->gd[t],
				       "grain table %llu entry %u: invalid value 0x%016llx",
				       (unsigned long long)t, i, (unsigned long long)gt[i]);
				continue;
			}
		} else if (gt[i] <= VMDK_GTE_ZEROED) {
			st = VMDK_GRAIN_UNALLOC;
		} else {
			off = gt[i] * VMDK_SECTOR;
		}
		if (st != VMDK_GRAIN_DATA)
			continue;
		c->rep->allocated_clusters++;
		if (off >= sp->file_size || off < VMDK_SECTOR) {
			report(c, VIMG_CHECK_CORRUPTION, "grain table", (int64_t)t, sp->gd[t] + i * 4ull,
			       "grain table %llu entry %u: grain offset beyond end of file "
			       "(offset 0x%llx)",
			       (unsigned long long)t, i, (unsigned long long)off);
			continue;
		}
		if (sp->compressed) {
			c->rep->compressed_clusters++;
			len = stream_grain_len(c, e, g, off);
		}
		add_range(c, off, len, (int64_t)g);
	}
}

static void check_rgt(struct ck *c, struct vmdk_extent *e, uint64_t t, const uint64_t *gt)
{
	struct vmdk_sparse *sp = e->sp;
	struct vimg_error err = VIMG_ERROR_INIT;
	uint8_t *raw = malloc((size_t)sp->gtes * 4);

	if (!raw) {
		c->oom = true;
		return;
	}
	if (file_pread_full(e->file, raw, (size_t)sp->gtes * 4, sp->rgd[t], &err)) {
		report(c, VIMG_CHECK_ERROR, "redundant grain table", (int64_t)t, sp->rgd[t], "%s",
		       err.msg);
	} else {
		for (uint32_t i = 0; i < sp->gtes; i++) {
			if (ld_le32(raw + i * 4) == gt[i])
				continue;
			report(c, VIMG_CHECK_CORRUPTION, "redundant grain table", (int64_t)t,
			       sp->rgd[t] + i * 4ull,
			       "grain table %llu entry %u: 0x%llx, redundant copy says 0x%x",
			       (unsigned long long)t, i, (unsigned long long)gt[i],
			       ld_le32(raw + i * 4));
			break;
		}
	}
	free(raw);
}

static void check_overlaps(struct ck *c)
{
	qsort(c->r, c->n, sizeof(*c->r), cmp_range);
	for (size_t i = 1; i < c->n; i++) {
		const struct range *a = &c->r[i - 1], *b = &c->r[i];

		if (a->off + a->len <= b->off)
			continue;
		report(c, VIMG_CHECK_CORRUPTION, b->index < 0 ? "metadata" : "grain", b->index,
		       b->off, "%s at 0x%llx overlaps %s at 0x%llx",
		       b->index < 0 ? "metadata" : "grain", (unsigned long long)b->off,
		       a->index < 0 ? "metadata" : "grain", (unsigned long long)a->off);
	}
}

static int check_extent(struct ck *c, struct vmdk_extent *e)
{
	struct vmdk_sparse *sp = e->sp;
	uint64_t gt_bytes = (uint64_t)sp->gtes * sp->gte_size, *gt;
	struct vimg_error err = VIMG_ERROR_INIT;

	c->n = 0;
	c->rep->total_clusters += (sp->capacity + sp->grain - 1) / sp->grain;
	c->rep->image_end_offset = max_u64(c->rep->image_end_offset, sp->file_size);
	if (sp->kind != VMDK_SP_SE) {
		add_range(c, 0, VMDK_SECTOR, -1);
		add_range(c, sp->desc_off, sp->desc_size, -1);
		add_range(c, sp->gd_off, sp->n_gts * sp->gte_size, -1);
		if (sp->rgd)
			add_range(c, sp->rgd_off, sp->n_gts * 4, -1);
	}
	for (uint64_t t = 0; t < sp->n_gts; t++) {
		if (sp->rgd && !sp->gd[t] != !sp->rgd[t])
			report(c, VIMG_CHECK_CORRUPTION, "redundant grain directory", (int64_t)t,
			       sp->rgd_off + t * 4,
			       "grain directory entry %llu: one of the two directories has no table",
			       (unsigned long long)t);
		if (!sp->gd[t])
			continue;
		if (sp->kind != VMDK_SP_SE)
			add_range(c, sp->gd[t], gt_bytes, -1);
		if (sp->rgd && sp->rgd[t])
			add_range(c, sp->rgd[t], gt_bytes, -1);
		if (sparse_load_gt(e, t, &gt, &err)) {
			report(c, VIMG_CHECK_ERROR, "grain table", (int64_t)t, sp->gd[t], "%s", err.msg);
			vimg_error_clear(&err);
			continue;
		}
		check_gt(c, e, t, gt);
		if (sp->rgd && sp->rgd[t] && sparse_load_gt(e, t, &gt, &err) == 0)
			check_rgt(c, e, t, gt);
	}
	if (c->oom)
		return vimg_error_set(NULL, VIMG_ENOMEM, "out of memory");
	check_overlaps(c);
	return 0;
}

int vmdk_check(struct vimg_image *img, struct vimg_check *rep, unsigned fix,
	       struct vimg_error *err)
{
	struct vmdk_state *s = image_priv(img);
	struct ck c = { .rep = rep };
	int rc = 0;

	if (fix)
		return vimg_error_set(err, VIMG_EUNSUPPORTED, "vmdk: repair is not supported");
	for (size_t i = 0; i < s->n_ext && !rc; i++) {
		struct vmdk_extent *e = &s->ext[i];

		if (!e->sp) {
			if (e->file) {
				int64_t sz = file_size(e->file, err);

				if (sz < 0)
					return (int)sz;
				rep->image_end_offset = max_u64(rep->image_end_offset, (uint64_t)sz);
			}
			continue;
		}
		c.ext = vimg_file_path(e->file);
		rc = check_extent(&c, e);
		if (rc)
			rc = vimg_error_set(err, rc, "vmdk: check: out of memory");
	}
	free(c.r);
	return rc;
}
