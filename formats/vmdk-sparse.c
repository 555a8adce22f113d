/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Hosted sparse extents (technote "Hosted Sparse Extents": header, grain
 * directory, redundant grain directory, grain tables, zeroed-grain GTEs) and
 * the mapping shared with COWD and seSparse extents: grain directory decode,
 * the grain table cache and the lookup of one grain.
 *
 * Invariants: every grain directory entry was checked at open to locate a
 * whole grain table inside the file; a grain table entry is checked against
 * the file size when used. Writes put the grain data on disk before the grain
 * table entry that points to it, and update the grain table and its redundant
 * copy together, so the metadata is consistent after every request (a crash
 * can only leak a grain, never expose garbage).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "endian.h"
#include "vmdk.h"

void sparse_decode_header(struct vmdk_sparse *sp, const uint8_t *h)
{
	sp->version = ld_le32(h + 4);
	sp->flags = ld_le32(h + 8);
	sp->capacity = ld_le64(h + 12);
	sp->grain = ld_le64(h + 20);
	sp->desc_off = ld_le64(h + 28);
	sp->desc_size = ld_le64(h + 36);
	sp->gtes = ld_le32(h + 44);
	sp->rgd_off = ld_le64(h + 48);
	sp->gd_off = ld_le64(h + 56);
	sp->overhead = ld_le64(h + 64);
	sp->compress_alg = ld_le16(h + 77);
}

/* Sector fields to bytes; false on overflow. */
static bool to_bytes(uint64_t *v)
{
	return !ck_mul(*v, VMDK_SECTOR, v);
}

int sparse_setup_gd(struct vmdk_sparse *sp, const char *what, struct vimg_error *err)
{
	uint64_t span;
	int rc;

	if (!is_pow2(sp->grain) || sp->grain > VMDK_MAX_GRAIN_SECTORS)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "%s: grain size %llu sectors is not a power of two in 1..%u",
				      what, (unsigned long long)sp->grain, VMDK_MAX_GRAIN_SECTORS);
	if (!is_pow2(sp->gtes) || sp->gtes > 4096)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "%s: %u grain table entries is not a power of two in 1..4096",
				      what, sp->gtes);
	if (sp->capacity > VMDK_MAX_SIZE / VMDK_SECTOR)
		return vimg_error_set(err, VIMG_ECORRUPT, "%s: capacity %llu sectors is too large",
				      what, (unsigned long long)sp->capacity);
	span = sp->grain * sp->gtes;
	sp->n_gts = (sp->capacity + span - 1) / span;
	rc = vimg_alloc_table(sp->n_gts, sizeof(uint64_t), VMDK_MAX_GD_BYTES,
			      "vmdk: grain directory size", (void **)&sp->gd, err);
	if (rc)
		return rc;
	if (sp->rgd_off)
		rc = vimg_alloc_table(sp->n_gts, sizeof(uint64_t), VMDK_MAX_GD_BYTES,
				      "vmdk: grain directory size", (void **)&sp->rgd, err);
	return rc;
}

int sparse_load_gd(struct vimg_file *f, struct vmdk_sparse *sp, uint64_t off, uint64_t *dst,
		   const char *what, const char *name, struct vimg_error *err)
{
	uint64_t bytes = sp->n_gts * sp->gte_size, gt_bytes = (uint64_t)sp->gtes * sp->gte_size;
	uint8_t *raw;
	int rc;

	if (off < VMDK_SECTOR || off > sp->file_size || bytes > sp->file_size - off)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "%s: %s beyond end of file (offset 0x%llx)", what, name,
				      (unsigned long long)off);
	raw = malloc(bytes ? bytes : 1);
	if (!raw)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	rc = file_pread_full(f, raw, bytes, off, err);
	for (uint64_t i = 0; !rc && i < sp->n_gts; i++) {
		uint64_t v;

		if (sp->kind == VMDK_SP_SE) {
			rc = se_decode_gde(sp, i, ld_le64(raw + i * 8), &v, what, err);
			if (rc)
				break;
		} else {
			v = (uint64_t)ld_le32(raw + i * 4) * VMDK_SECTOR;
		}
		if (v && (v > sp->file_size || gt_bytes > sp->file_size - v))
			rc = vimg_error_set(err, VIMG_ECORRUPT,
					    "%s: grain table %llu: offset beyond end of file "
					    "(offset 0x%llx)",
					    what, (unsigned long long)i, (unsigned long long)v);
		dst[i] = v;
	}
	free(raw);
	return rc;
}

void sparse_free(struct vmdk_sparse *sp)
{
	if (!sp)
		return;
	stream_writer_free(sp);
	for (int i = 0; i < VMDK_GT_CACHE; i++)
		free(sp->cache[i].e);
	free(sp->gd);
	free(sp->rgd);
	free(sp->zbuf);
	free(sp);
}

int sparse_open_kdmv(struct vimg_file *f, const char *what, bool writable,
		     struct vmdk_sparse **out, struct vimg_error *err)
{
	struct vmdk_sparse *sp = calloc(1, sizeof(*sp));
	uint8_t h[VMDK_SECTOR];
	int64_t fsize = file_size(f, err);
	int rc;

	/* The stream writer is set up by the caller, once the extent's role is known. */
	(void)writable;
	*out = NULL;
	if (!sp)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	if (fsize < 0) {
		rc = (int)fsize;
		goto fail;
	}
	sp->kind = VMDK_SP_KDMV;
	sp->gte_size = 4;
	sp->file_size = (uint64_t)fsize;
	rc = VIMG_ECORRUPT;
	if (fsize < (int64_t)VMDK_SECTOR) {
		vimg_error_set(err, rc, "%s: file too small for a sparse header", what);
		goto fail;
	}
	rc = file_pread_full(f, h, sizeof(h), 0, err);
	if (rc)
		goto fail;
	if (memcmp(h, VMDK_KDMV_MAGIC, 4)) {
		rc = vimg_error_set(err, VIMG_EFORMAT, "%s: not a hosted sparse extent (no KDMV magic)",
				    what);
		goto fail;
	}
	sparse_decode_header(sp, h);
	if (sp->version < 1 || sp->version > 3) {
		rc = vimg_error_set(err, VIMG_EUNSUPPORTED,
				    "%s: unsupported sparse header version %u", what, sp->version);
		goto fail;
	}
	if (sp->flags & VMDK_FLAG_INCOMPAT_MASK & ~(VMDK_FLAG_COMPRESSED | VMDK_FLAG_MARKERS)) {
		rc = vimg_error_set(err, VIMG_EUNSUPPORTED,
				    "%s: unknown incompatible sparse header flags 0x%x", what,
				    sp->flags);
		goto fail;
	}
	if ((sp->flags & VMDK_FLAG_NL_DETECT) && memcmp(h + 73, "\n \r\n", 4)) {
		rc = vimg_error_set(err, VIMG_ECORRUPT,
				    "%s: newline detection bytes damaged (file copied in text mode?)",
				    what);
		goto fail;
	}
	if (sp->compress_alg > VMDK_COMPRESS_DEFLATE) {
		rc = vimg_error_set(err, VIMG_EUNSUPPORTED, "%s: unknown compression algorithm %u",
				    what, sp->compress_alg);
		goto fail;
	}
	sp->compressed = sp->compress_alg == VMDK_COMPRESS_DEFLATE;
	sp->markers = sp->flags & VMDK_FLAG_MARKERS;
	if (sp->gd_off == VMDK_GD_AT_END) {
		sp->gd_at_end = true;
		rc = stream_read_footer(f, sp, what, err);
		if (rc)
			goto fail;
	}
	sp->zeroed_grain = sp->flags & VMDK_FLAG_ZERO_GRAIN;
	if (!(sp->flags & VMDK_FLAG_RGD) || sp->compressed)
		sp->rgd_off = 0;
	if (!to_bytes(&sp->gd_off) || !to_bytes(&sp->rgd_off) || !to_bytes(&sp->desc_off) ||
	    !to_bytes(&sp->desc_size) || !to_bytes(&sp->overhead)) {
		rc = vimg_error_set(err, VIMG_ECORRUPT, "%s: sparse header offset overflows", what);
		goto fail;
	}
	if (sp->capacity == 0) { /* a descriptor stored in a sparse file: caller decides */
		*out = sp;
		return 0;
	}
	rc = sparse_setup_gd(sp, what, err);
	if (!rc)
		rc = sparse_load_gd(f, sp, sp->gd_off, sp->gd, what, "grain directory", err);
	if (!rc && sp->rgd)
		rc = sparse_load_gd(f, sp, sp->rgd_off, sp->rgd, what, "redundant grain directory",
				    err);
	if (rc)
		goto fail;
	if (ck_align_up(sp->file_size, sp->grain * VMDK_SECTOR, &sp->alloc_end)) {
		rc = vimg_error_set(err, VIMG_ECORRUPT, "%s: file too large", what);
		goto fail;
	}
	*out = sp;
	return 0;
fail:
	sparse_free(sp);
	return rc;
}

int sparse_load_gt(struct vmdk_extent *e, uint64_t gt, uint64_t **entries,
		   struct vimg_error *err)
{
	struct vmdk_sparse *sp = e->sp;
	struct vmdk_gt_slot *victim = &sp->cache[0];
	size_t bytes = (size_t)sp->gtes * sp->gte_size;
	uint8_t *raw;
	int rc;

	for (int i = 0; i < VMDK_GT_CACHE; i++) {
		struct vmdk_gt_slot *s = &sp->cache[i];

		if (s->valid && s->idx == gt) {
			s->stamp = ++sp->stamp;
			*entries = s->e;
			return 0;
		}
		if (!s->valid || s->stamp < victim->stamp)
			victim = s;
	}
	if (!victim->e) {
		victim->e = malloc(sp->gtes * sizeof(uint64_t));
		if (!victim->e)
			return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	}
	raw = malloc(bytes);
	if (!raw)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	victim->valid = false;
	rc = file_pread_full(e->file, raw, bytes, sp->gd[gt], err);
	if (!rc) {
		for (uint32_t i = 0; i < sp->gtes; i++)
			victim->e[i] = sp->gte_size == 8 ? ld_le64(raw + i * 8) : ld_le32(raw + i * 4);
		victim->idx = gt;
		victim->valid = true;
		victim->stamp = ++sp->stamp;
		*entries = victim->e;
	}
	free(raw);
	return rc;
}

int sparse_lookup(struct vmdk_extent *e, uint64_t g, enum vmdk_gte_state *state, uint64_t *off,
		  struct vimg_error *err)
{
	struct vmdk_sparse *sp = e->sp;
	uint64_t gt = g / sp->gtes, *entries, raw;
	uint32_t idx = (uint32_t)(g % sp->gtes);
	int rc;

	*off = 0;
	if (gt >= sp->n_gts)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "vmdk: grain %llu lies beyond the extent's capacity",
				      (unsigned long long)g);
	if (sp->sw && stream_buffered(sp, g)) {
		*state = VMDK_GRAIN_BUFFERED;
		return 0;
	}
	entries = sp->sw ? stream_current_gt(sp, gt) : NULL;
	if (!entries) {
		if (!sp->gd[gt]) {
			*state = VMDK_GRAIN_UNALLOC;
			return 0;
		}
		rc = sparse_load_gt(e, gt, &entries, err);
		if (rc)
			return rc;
	}
	raw = entries[idx];
	if (sp->kind == VMDK_SP_SE) {
		if (se_decode_gte(sp, raw, state, off))
			return vimg_error_set(err, VIMG_ECORRUPT,
					      "vmdk: grain table %llu entry %u: invalid seSparse entry "
					      "0x%016llx",
					      (unsigned long long)gt, idx, (unsigned long long)raw);
	} else if (raw == 0) {
		*state = VMDK_GRAIN_UNALLOC;
	} else if (raw == VMDK_GTE_ZEROED) {
		*state = VMDK_GRAIN_ZERO;
	} else {
		*state = sp->compressed ? VMDK_GRAIN_COMPRESSED : VMDK_GRAIN_DATA;
		*off = raw * VMDK_SECTOR;
	}
	if ((*state == VMDK_GRAIN_DATA || *state == VMDK_GRAIN_COMPRESSED) &&
	    (*off >= sp->file_size || *off < VMDK_SECTOR))
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "vmdk: grain table %llu entry %u: grain offset beyond end of "
				      "file (offset 0x%llx)",
				      (unsigned long long)gt, idx, (unsigned long long)*off);
	return 0;
}

/* Store a grain table entry on disk (table and redundant table) and in the cache. */
static int gte_store(struct vmdk_extent *e, uint64_t gt, uint32_t idx, uint32_t val,
		     struct vimg_error *err)
{
	struct vmdk_sparse *sp = e->sp;
	uint8_t b[4];
	int rc;

	st_le32(b, val);
	rc = file_pwrite_full(e->file, b, 4, sp->gd[gt] + idx * 4ull, err);
	if (!rc && sp->rgd && sp->rgd[gt])
		rc = file_pwrite_full(e->file, b, 4, sp->rgd[gt] + idx * 4ull, err);
	if (rc)
		return rc;
	for (int i = 0; i < VMDK_GT_CACHE; i++)
		if (sp->cache[i].valid && sp->cache[i].idx == gt)
			sp->cache[i].e[idx] = val;
	return 0;
}

/* Append a zeroed region of `bytes` (sector-rounded); returns its offset. */
static int append_region(struct vmdk_extent *e, uint64_t bytes, uint64_t *off,
			 struct vimg_error *err)
{
	struct vmdk_sparse *sp = e->sp;
	uint64_t end;
	int rc;

	if (ck_align_up(bytes, VMDK_SECTOR, &bytes) || ck_add(sp->alloc_end, bytes, &end) ||
	    end / VMDK_SECTOR > UINT32_MAX)
		return vimg_error_set(err, VIMG_ENOSPC,
				      "vmdk: extent full: grain offsets must fit in 32 bits");
	*off = sp->alloc_end;
	rc = file_truncate(e->file, max_u64(end, sp->file_size), err);
	if (rc)
		return rc;
	sp->alloc_end = end;
	sp->file_size = max_u64(sp->file_size, end);
	return 0;
}

/* Make sure grain table gt exists (and its redundant copy). */
static int ensure_gt(struct vmdk_extent *e, uint64_t gt, struct vimg_error *err)
{
	struct vmdk_sparse *sp = e->sp;
	uint64_t bytes = (uint64_t)sp->gtes * 4, off, roff = 0;
	uint8_t b[4];
	int rc;

	if (sp->gd[gt])
		return 0;
	rc = append_region(e, bytes, &off, err);
	if (!rc && sp->rgd)
		rc = append_region(e, bytes, &roff, err);
	if (rc)
		return rc;
	/* Redundant directory first: the primary is what readers trust. */
	if (sp->rgd) {
		st_le32(b, (uint32_t)(roff / VMDK_SECTOR));
		rc = file_pwrite_full(e->file, b, 4, sp->rgd_off + gt * 4, err);
		if (rc)
			return rc;
		sp->rgd[gt] = roff;
	}
	st_le32(b, (uint32_t)(off / VMDK_SECTOR));
	rc = file_pwrite_full(e->file, b, 4, sp->gd_off + gt * 4, err);
	if (rc)
		return rc;
	sp->gd[gt] = off;
	/* Keep grains aligned to the grain size after a table allocation. */
	return ck_align_up(sp->alloc_end, sp->grain * VMDK_SECTOR, &sp->alloc_end)
		       ? vimg_error_set(err, VIMG_ENOSPC, "vmdk: extent full")
		       : 0;
}

/* Allocate grain g and write its full contents. */
static int alloc_grain(struct vimg_image *img, struct vmdk_extent *e, uint64_t g,
		       enum vmdk_gte_state st, const uint8_t *buf, uint64_t goff, uint64_t n,
		       struct vimg_error *err)
{
	struct vmdk_sparse *sp = e->sp;
	uint64_t gb = sp->grain * VMDK_SECTOR, off, valid;
	uint8_t *tmp;
	int rc;

	rc = ensure_gt(e, g / sp->gtes, err);
	if (rc)
		return rc;
	tmp = calloc(1, gb);
	if (!tmp)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	/* What the new grain must hold around the write: the layer below, or zeros. */
	valid = min_u64(gb, e->len - g * gb);
	if (st == VMDK_GRAIN_UNALLOC && n < valid)
		rc = vimg_read_below(img, tmp, e->start + g * gb, (size_t)valid, err);
	memcpy(tmp + goff, buf, n);
	if (!rc)
		rc = append_region(e, gb, &off, err);
	if (!rc)
		rc = file_pwrite_full(e->file, tmp, gb, off, err);
	free(tmp);
	if (!rc)
		rc = gte_store(e, g / sp->gtes, (uint32_t)(g % sp->gtes), (uint32_t)(off / VMDK_SECTOR),
			       err);
	return rc;
}

int sparse_write(struct vimg_image *img, struct vmdk_extent *e, const uint8_t *buf, uint64_t off,
		 uint64_t len, uint64_t vdisk_off, struct vimg_error *err)
{
	struct vmdk_sparse *sp = e->sp;
	uint64_t gb = sp->grain * VMDK_SECTOR;
	int rc = 0;

	(void)vdisk_off;
	if (sp->kind != VMDK_SP_KDMV)
		return vimg_error_set(err, VIMG_EUNSUPPORTED, "vmdk: %s extents are read-only",
				      sp->kind == VMDK_SP_SE ? "seSparse" : "vmfsSparse (COWD)");
	if (sp->compressed)
		return stream_write(e, buf, off, len, err);
	while (len && !rc) {
		uint64_t g = off / gb, goff = off % gb, n = min_u64(len, gb - goff), foff;
		enum vmdk_gte_state st;

		rc = sparse_lookup(e, g, &st, &foff, err);
		if (rc)
			break;
		if (st == VMDK_GRAIN_DATA)
			rc = file_pwrite_full(e->file, buf, n, foff + goff, err);
		else
			rc = alloc_grain(img, e, g, st, buf, goff, n, err);
		buf += n;
		off += n;
		len -= n;
	}
	return rc;
}

int sparse_zero(struct vimg_image *img, struct vmdk_extent *e, uint64_t off, uint64_t len,
		uint64_t vdisk_off, struct vimg_error *err)
{
	struct vmdk_sparse *sp = e->sp;
	uint64_t gb = sp->grain * VMDK_SECTOR;
	uint8_t *zeros = NULL;
	int rc = 0;

	if (sp->kind != VMDK_SP_KDMV)
		return sparse_write(img, e, NULL, off, len, vdisk_off, err);
	if (sp->compressed)
		return stream_zero(e, off, len, err);
	while (len && !rc) {
		uint64_t g = off / gb, goff = off % gb, n = min_u64(len, gb - goff), foff;
		bool whole = goff == 0 && (n == gb || off + n == e->len);
		enum vmdk_gte_state st;

		rc = sparse_lookup(e, g, &st, &foff, err);
		if (rc || st == VMDK_GRAIN_ZERO || (st == VMDK_GRAIN_UNALLOC && !image_has_backing(img)))
			goto next;
		if (whole && sp->zeroed_grain) {
			/* A data grain overwritten this way is leaked, as in qemu. */
			rc = ensure_gt(e, g / sp->gtes, err);
			if (!rc)
				rc = gte_store(e, g / sp->gtes, (uint32_t)(g % sp->gtes),
					       VMDK_GTE_ZEROED, err);
			goto next;
		}
		if (!zeros && !(zeros = calloc(1, gb))) {
			rc = vimg_error_set(err, VIMG_ENOMEM, "out of memory");
			break;
		}
		if (st == VMDK_GRAIN_DATA)
			rc = file_pwrite_full(e->file, zeros, n, foff + goff, err);
		else
			rc = alloc_grain(img, e, g, st, zeros, goff, n, err);
next:
		off += n;
		len -= n;
	}
	free(zeros);
	return rc;
}
