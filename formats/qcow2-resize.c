/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qcow2 resize, as qemu-img resize does it. The L1 table has one entry per
 * L2 table's span (size_to_l1: the size rounded up to whole spans); growing
 * past the clusters it occupies moves it to new clusters at the end of the
 * file. The header's size and L1 fields change in one write of 24 bytes
 * inside the first sector, so no crash leaves a size the L1 cannot cover.
 *
 * Growing: a new L1 is written and synced before the header points at it,
 * and the old one is freed afterwards. What the grown part must read as is
 * zeros: where a backing file reaches into it (the image was shrunk before)
 * it is zeroed through metadata, and the tail of a partial last cluster,
 * which may still hold data from before a shrink, is zeroed too.
 *
 * Shrinking: the header changes first, then the clusters past the end are
 * given back (in L2 tables shared with a snapshot too: a data cluster's
 * refcount counts the trees that reference it), L2 tables wholly past the
 * end are dropped, the L1 keeps only the entries it needs, and the file is
 * cut after its last used cluster. A crash in between leaves leaked
 * clusters, which check repairs, never a table pointing at a freed one.
 *
 * Making the image empty (commit) is the same giving back of clusters from
 * offset 0, the L1 kept as it is.
 *
 * Refused as qemu refuses them: a v2 image with snapshots (its snapshot
 * table cannot record a size of its own), persistent bitmaps (not kept in
 * step), and preallocation of a shrink. An external data file is refused
 * too: its clusters are not refcounted, so nothing here could free them.
 */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "qcow2.h"

static uint64_t clusters_for(const struct qcow2 *s, uint64_t bytes)
{
	return (bytes + s->cluster_size - 1) >> s->cluster_bits;
}

static int l1_grow(struct qcow2 *s, uint32_t n, uint64_t size, struct vimg_error *err)
{
	uint64_t old_off = s->l1_offset, off = old_off;
	uint32_t old_n = s->l1_size;
	uint64_t *l1 = realloc(s->l1, (size_t)n * 8);
	bool moved = clusters_for(s, (uint64_t)n * 8) > clusters_for(s, (uint64_t)old_n * 8);
	int rc = 0;

	if (!l1)
		return vimg_error_set(err, VIMG_ENOMEM, "qcow2: out of memory");
	s->l1 = l1;
	memset(l1 + old_n, 0, (size_t)(n - old_n) * 8);
	/* In place, the entries past the old l1_size may hold anything: zeroed. */
	rc = moved ? qcow2_l1_place(s, l1, n, &off, err) : qcow2_l1_write(s, off, l1, old_n, n, err);
	if (rc == 0)
		rc = qcow2_cache_flush(s, err);
	if (rc == 0)
		rc = file_fsync(s->file, err);
	if (rc == 0)
		rc = qcow2_write_size_l1(s, size, n, off, err);
	if (rc) {
		struct vimg_error ignored = VIMG_ERROR_INIT;

		if (moved && off && off != old_off)
			qcow2_refcount_update(s, off, (uint64_t)n * 8, -1, &ignored);
		return rc;
	}
	s->l1_size = n;
	s->l1_offset = off;
	if (moved && old_n)
		rc = qcow2_refcount_update(s, old_off, (uint64_t)old_n * 8, -1, err);
	return rc;
}

/* Give back what an L2 entry referenced; the cluster becomes a hole (in
 * run, when given: nothing is allocated before it is punched). */
static int entry_drop(struct qcow2 *s, uint64_t e, struct qcow2_hole *run,
		      struct vimg_error *err)
{
	int rc = qcow2_release_entry(s, e, err);

	return rc ? rc : qcow2_unmap_freed(s, e, run, err);
}

/* L1 entry l1i goes: what its table references, then the table itself. */
static int table_drop(struct qcow2 *s, uint32_t l1i, uint64_t l2_off, uint8_t *copy,
		      struct vimg_error *err)
{
	struct qcow2_hole run = { 0, 0 };
	uint8_t *tbl;
	uint64_t ref;
	int rc = qcow2_cache_get(s, &s->l2c, l2_off, false, &tbl, err);

	if (rc)
		return rc;
	memcpy(copy, tbl, s->cluster_size);
	for (uint64_t j = 0; rc == 0 && j < s->l2_entries; j++) {
		uint64_t e, bm;

		qcow2_l2_load(s, copy, j, &e, &bm);
		rc = entry_drop(s, e, &run, err);
	}
	if (rc == 0)
		rc = qcow2_hole_punch(s, &run, err);
	if (rc == 0)
		rc = qcow2_refcount_update(s, l2_off, s->cluster_size, -1, err);
	if (rc == 0)
		rc = qcow2_refcount_get(s, l2_off >> s->cluster_bits, &ref, err);
	if (rc == 0 && ref == 0)
		qcow2_cache_drop(&s->l2c, l2_off);
	if (rc == 0)
		s->l1[l1i] = 0;
	return rc;
}

/* Every cluster at or past cut (cluster-aligned) unallocated; the L1 cut to n. */
static int clusters_drop(struct qcow2 *s, uint64_t cut, uint32_t n, struct vimg_error *err)
{
	uint64_t span = s->cluster_size << s->l2_bits;
	uint8_t *copy = malloc(s->cluster_size);
	int rc = copy ? 0 : vimg_error_set(err, VIMG_ENOMEM, "qcow2: out of memory");

	for (uint64_t l1i = cut / span; rc == 0 && l1i < s->l1_size; l1i++) {
		uint64_t l2_off;

		rc = qcow2_l1_entry_check(s, s->l1[l1i], l1i, s->l1_offset, &l2_off, err);
		if (rc || !l2_off)
			continue;
		if (l1i * span >= cut) {
			rc = table_drop(s, (uint32_t)l1i, l2_off, copy, err);
			continue;
		}
		/* The table the new end falls in keeps its first entries. */
		for (uint64_t vc = cut; rc == 0 && vc < (l1i + 1) * span; vc += s->cluster_size) {
			uint64_t e, bm, slot_off, idx;

			rc = qcow2_l2_lookup(s, vc, &e, &bm, err);
			if (rc || (!e && !bm))
				continue;
			rc = qcow2_l2_slot(s, vc, &slot_off, &idx, err);
			if (rc == 0)
				rc = qcow2_l2_store(s, slot_off, idx, 0, 0, err);
			if (rc == 0)
				rc = entry_drop(s, e, NULL, err);
		}
	}
	free(copy);
	if (rc)
		return rc;
	/* The dropped tables' entries and those past n zeroed on disk (a later
	 * grow must find them empty), then the L1's clusters beyond what n
	 * entries need given back. */
	for (uint32_t i = n; i < s->l1_size; i++)
		s->l1[i] = 0;
	if (cut / span < s->l1_size)
		rc = qcow2_l1_write(s, s->l1_offset, s->l1, (uint32_t)(cut / span), s->l1_size, err);
	if (rc == 0 && clusters_for(s, (uint64_t)n * 8) < clusters_for(s, (uint64_t)s->l1_size * 8)) {
		uint64_t keep = clusters_for(s, (uint64_t)n * 8) << s->cluster_bits;

		rc = qcow2_refcount_update(s, s->l1_offset + keep,
					   (uint64_t)s->l1_size * 8 - keep, -1, err);
	}
	if (rc == 0)
		s->l1_size = n;
	return rc;
}

/* Cut the file after its last cluster with a reference. */
static int file_cut(struct qcow2 *s, struct vimg_error *err)
{
	uint64_t c = s->alloc_end >> s->cluster_bits, ref = 0;
	int rc = qcow2_cache_flush(s, err);

	while (rc == 0 && c > 1) {
		rc = qcow2_refcount_get(s, c - 1, &ref, err);
		if (rc || ref)
			break;
		c--;
	}
	if (rc || (c << s->cluster_bits) >= s->file_size)
		return rc;
	rc = file_truncate(s->file, c << s->cluster_bits, err);
	if (rc == 0) {
		s->file_size = s->alloc_end = c << s->cluster_bits;
		if (s->free_hint >= c)
			s->free_hint = 0;
		s->cfree = 0;
	}
	return rc;
}

static const char *prealloc_mode(unsigned flags)
{
	switch (flags & VIMG_RESIZE_PREALLOC_MASK) {
	case VIMG_RESIZE_PREALLOC_METADATA: return "metadata";
	case VIMG_RESIZE_PREALLOC_FALLOC: return "falloc";
	case VIMG_RESIZE_PREALLOC_FULL: return "full";
	default: return NULL;
	}
}

/* What the grown part [old, size) must read as: zeros. */
static int grown_zero(struct vimg_image *img, struct qcow2 *s, uint64_t old, uint64_t size,
		      struct vimg_error *err)
{
	uint64_t tail = min_u64(size, (old + s->cluster_size - 1) & ~(s->cluster_size - 1));
	uint64_t below = 0;
	struct vimg_image *bk = vimg_image_backing(img);
	int rc = 0;

	if (bk)
		below = vimg_image_virtual_size(bk);
	else if (s->h.backing_file_offset)
		below = size; /* not opened: assume it reaches everywhere */
	if (below > old)
		rc = qcow2_zero(img, old, min_u64(size, below) - old, 0, err);
	else if (tail > old) {
		uint64_t e, bm;

		rc = qcow2_l2_lookup(s, old, &e, &bm, err);
		if (rc == 0 && (e & ~QCOW2_OFLAG_COPIED))
			rc = qcow2_zero(img, old, tail - old, 0, err);
	}
	return rc;
}

int qcow2_resize(struct vimg_image *img, uint64_t size, unsigned flags, struct vimg_error *err)
{
	struct qcow2 *s = qcow2_priv(img);
	uint64_t old = s->h.size, n;
	const char *mode = prealloc_mode(flags);
	int rc;

	if (s->is_view || !s->writable)
		return vimg_error_set(err, VIMG_EROFS, "qcow2: image is read-only");
	if (size % 512)
		return vimg_error_set(err, VIMG_EINVAL,
				      "qcow2: the new size must be a multiple of 512 bytes");
	if (size > QCOW2_MAX_VIRTUAL_SIZE)
		return vimg_error_set(err, VIMG_EINVAL, "qcow2: %" PRIu64 " bytes is past the "
				      "format's limit", size);
	n = qcow2_l1_entries_for(s, size);
	if (n * 8 > QCOW2_MAX_L1_BYTES)
		return vimg_error_set(err, VIMG_EINVAL,
				      "qcow2: %" PRIu64 " bytes need an L1 table of %" PRIu64
				      " bytes (the limit is %llu; larger clusters reach further)",
				      size, n * 8, QCOW2_MAX_L1_BYTES);
	if (s->nb_snaps && s->h.version < 3)
		return vimg_error_set(err, VIMG_EUNSUPPORTED,
				      "qcow2: a v2 image with internal snapshots cannot be resized "
				      "(amend -o compat=1.1 first)");
	if (s->has_bitmaps_ext)
		return vimg_error_set(err, VIMG_EUNSUPPORTED,
				      "qcow2: resizing an image with persistent bitmaps is not "
				      "supported");
	if (qcow2_has_data_file(s))
		return vimg_error_set(err, VIMG_EUNSUPPORTED,
				      "qcow2: resizing an image with an external data file is not "
				      "supported");
	if (size < old && mode)
		return vimg_error_set(err, VIMG_EINVAL,
				      "qcow2: preallocation cannot be used when shrinking");
	/* Every snapshot's own size is recorded before the image's changes. */
	if (s->nb_snaps && (rc = qcow2_snapshot_sizes_record(s, err)))
		return rc;
	if ((rc = qcow2_mark_dirty(s, err)))
		return rc;

	if (size > old) {
		rc = n > s->l1_size ? l1_grow(s, (uint32_t)n, size, err)
				    : qcow2_write_size_l1(s, size, s->l1_size, s->l1_offset, err);
		if (rc)
			return rc;
		image_set_size(img, size);
		rc = grown_zero(img, s, old, size, err);
		if (rc == 0 && mode) {
			/* Preallocated clusters must read as zeros: only appended
			 * ones are known to, so freed clusters are not reused. */
			s->free_hint = 0;
			rc = qcow2_preallocate(s, mode, old, size, err);
		}
		return rc;
	}
	rc = qcow2_write_size_l1(s, size, s->l1_size, s->l1_offset, err);
	if (rc)
		return rc;
	image_set_size(img, size);
	rc = clusters_drop(s, (size + s->cluster_size - 1) & ~(s->cluster_size - 1), (uint32_t)n,
			   err);
	if (rc == 0)
		rc = qcow2_write_size_l1(s, size, s->l1_size, s->l1_offset, err);
	return rc ? rc : file_cut(s, err);
}

int qcow2_make_empty(struct vimg_image *img, struct vimg_error *err)
{
	struct qcow2 *s = qcow2_priv(img);
	int rc;

	if (s->is_view || !s->writable)
		return vimg_error_set(err, VIMG_EROFS, "qcow2: image is read-only");
	if (qcow2_has_data_file(s))
		return vimg_error_set(err, VIMG_EUNSUPPORTED,
				      "qcow2: an image with an external data file cannot be "
				      "emptied");
	rc = qcow2_mark_dirty(s, err);
	if (rc == 0)
		rc = clusters_drop(s, 0, s->l1_size, err);
	return rc ? rc : file_cut(s, err);
}
