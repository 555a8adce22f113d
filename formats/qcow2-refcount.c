/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qcow2 refcounts (qemu docs/interop/qcow2.txt "Host cluster management"):
 * the refcount table and blocks, entries of 1..64 bits, cluster and byte
 * allocation, and growth of the refcount table.
 *
 * Allocation appends at alloc_end, which starts at the cluster-aligned end of
 * the file, until this session frees a cluster (its refcount drops to 0:
 * rewritten compressed or shared clusters, replaced tables). From then on it
 * first reuses clusters at refcount 0 between the lowest freed one
 * (free_hint) and alloc_end, as qemu does, so rewriting does not grow the
 * file without bound; packed compressed data also runs on into following
 * clusters at refcount 0. A cluster only reaches 0 after the tables that
 * referenced it were written back (qcow2_refcount_update), so reusing it
 * cannot expose new data through an old mapping. A new refcount block is
 * placed at alloc_end, and counts itself when it covers its own cluster.
 */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "endian.h"
#include "qcow2.h"

int qcow2_refcount_init(struct qcow2 *s, struct vimg_error *err)
{
	uint64_t bytes = (uint64_t)s->h.refcount_table_clusters << s->cluster_bits;
	uint8_t *raw;
	int rc;

	free(s->rt);
	s->rt = NULL;
	s->rt_entries = bytes / 8;
	rc = vimg_alloc_table(s->rt_entries, sizeof(uint64_t), QCOW2_MAX_RT_BYTES,
			      "qcow2: refcount table size", (void **)&s->rt, err);
	if (rc)
		return rc;
	raw = malloc(bytes);
	if (!raw)
		return vimg_error_set(err, VIMG_ENOMEM, "qcow2: out of memory for the refcount table");
	rc = file_pread_full(s->file, raw, bytes, s->h.refcount_table_offset, err);
	for (uint64_t i = 0; rc == 0 && i < s->rt_entries; i++)
		s->rt[i] = ld_be64(raw + 8 * i);
	free(raw);
	if (ck_align_up(s->file_size, s->cluster_size, &s->alloc_end))
		return vimg_error_set(err, VIMG_ECORRUPT, "qcow2: file size overflows");
	return rc;
}

static uint64_t rb_read(const struct qcow2 *s, const uint8_t *b, uint64_t i)
{
	unsigned bits = s->refcount_bits;

	switch (bits) {
	case 8:
		return b[i];
	case 16:
		return ld_be16(b + 2 * i);
	case 32:
		return ld_be32(b + 4 * i);
	case 64:
		return ld_be64(b + 8 * i);
	default:
		/* Sub-byte widths: bit 0 is the least significant (qcow2.txt). */
		return (uint64_t)(b[i * bits / 8] >> (i * bits % 8)) & ((1u << bits) - 1);
	}
}

/* Store entry i; *pos and *n give the bytes to write back. */
static void rb_write(const struct qcow2 *s, uint8_t *b, uint64_t i, uint64_t v, uint64_t *pos,
		     unsigned *n)
{
	unsigned bits = s->refcount_bits;

	switch (bits) {
	case 8:
		b[i] = (uint8_t)v;
		*pos = i, *n = 1;
		break;
	case 16:
		st_be16(b + 2 * i, (uint16_t)v);
		*pos = 2 * i, *n = 2;
		break;
	case 32:
		st_be32(b + 4 * i, (uint32_t)v);
		*pos = 4 * i, *n = 4;
		break;
	case 64:
		st_be64(b + 8 * i, v);
		*pos = 8 * i, *n = 8;
		break;
	default: {
		uint64_t byte = i * bits / 8;
		unsigned sh = (unsigned)(i * bits % 8), mask = ((1u << bits) - 1) << sh;

		b[byte] = (uint8_t)((b[byte] & ~mask) | ((unsigned)v << sh & mask));
		*pos = byte, *n = 1;
		break;
	}
	}
}

static int rt_store(struct qcow2 *s, uint64_t bi, struct vimg_error *err)
{
	uint8_t b[8];

	st_be64(b, s->rt[bi]);
	return file_pwrite_full(s->file, b, 8, s->h.refcount_table_offset + bi * 8, err);
}

static int rt_grow(struct qcow2 *s, uint64_t need, struct vimg_error *err);

/* The refcount block for block index bi; NULL (without alloc) if it has none. */
static int rb_get(struct qcow2 *s, uint64_t bi, bool alloc, uint8_t **blk, uint64_t *boff,
		  struct vimg_error *err)
{
	uint64_t off;
	int rc;

	*blk = NULL;
	if (bi >= s->rt_entries) {
		if (!alloc)
			return 0;
		rc = rt_grow(s, bi + 1, err);
		if (rc)
			return rc;
	}
	off = s->rt[bi] & QCOW2_REFT_OFFSET_MASK;
	if (!off) {
		uint64_t ci;
		uint8_t *z;

		if (!alloc)
			return 0;
		off = s->alloc_end;
		s->alloc_end += s->cluster_size;
		z = calloc(1, s->cluster_size);
		if (!z)
			return vimg_error_set(err, VIMG_ENOMEM, "qcow2: out of memory");
		rc = file_pwrite_full(s->file, z, s->cluster_size, off, err);
		free(z);
		if (rc)
			return rc;
		qcow2_note_file_end(s, s->file, off + s->cluster_size);
		qcow2_cache_drop(&s->rbc, off);
		s->rt[bi] = off;
		rc = rt_store(s, bi, err);
		if (rc)
			return rc;
		ci = off >> s->cluster_bits;
		if (ci / s->rb_entries != bi) {
			rc = qcow2_refcount_set(s, ci, 1, err);
			if (rc)
				return rc;
		} else {
			uint64_t pos;
			unsigned n;

			rc = qcow2_cache_get(s, &s->rbc, off, true, blk, err);
			if (rc)
				return rc;
			rb_write(s, *blk, ci % s->rb_entries, 1, &pos, &n);
			rc = file_pwrite_full(s->file, *blk + pos, n, off + pos, err);
			if (rc)
				return rc;
		}
	}
	if ((off & (s->cluster_size - 1)) || off < s->cluster_size || off >= s->file_size ||
	    s->file_size - off < s->cluster_size)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "qcow2: refcount table entry %" PRIu64 ": refcount block offset "
				      "0x%" PRIx64 " invalid or beyond end of file (offset 0x%" PRIx64 ")",
				      bi, off, s->h.refcount_table_offset + bi * 8);
	*boff = off;
	return qcow2_cache_get(s, &s->rbc, off, false, blk, err);
}

int qcow2_refcount_get(struct qcow2 *s, uint64_t cluster, uint64_t *val, struct vimg_error *err)
{
	uint8_t *blk;
	uint64_t boff;
	int rc = rb_get(s, cluster / s->rb_entries, false, &blk, &boff, err);

	*val = (rc == 0 && blk) ? rb_read(s, blk, cluster % s->rb_entries) : 0;
	return rc;
}

int qcow2_refcount_set(struct qcow2 *s, uint64_t cluster, uint64_t val, struct vimg_error *err)
{
	uint8_t *blk;
	uint64_t boff, pos;
	unsigned n;
	int rc;

	if (val > s->refcount_max)
		return vimg_error_set(err, VIMG_ENOSPC,
				      "qcow2: refcount of cluster %" PRIu64 " would exceed %u bits",
				      cluster, s->refcount_bits);
	rc = rb_get(s, cluster / s->rb_entries, val != 0, &blk, &boff, err);
	if (rc || !blk)
		return rc;
	rb_write(s, blk, cluster % s->rb_entries, val, &pos, &n);
	qcow2_cache_set_dirty(&s->rbc, blk);
	return 0;
}

int qcow2_refcount_update(struct qcow2 *s, uint64_t off, uint64_t len, int delta,
			  struct vimg_error *err)
{
	uint64_t first = off >> s->cluster_bits, last = (off + len - 1) >> s->cluster_bits;
	int rc = 0;

	if (!len)
		return 0;
	/*
	 * A cluster may only lose a reference on disk after the tables that
	 * dropped it are there: write back everything before decrementing.
	 */
	if (delta < 0 && (rc = qcow2_cache_flush(s, err)))
		return rc;
	for (uint64_t c = first; c <= last && rc == 0; c++) {
		uint64_t v;

		rc = qcow2_refcount_get(s, c, &v, err);
		if (rc)
			break;
		if (delta < 0 && v == 0)
			return vimg_error_set(err, VIMG_ECORRUPT,
					      "qcow2: refcount block: refcount of cluster 0x%" PRIx64
					      " would drop below zero",
					      c << s->cluster_bits);
		if (delta > 0 && v == s->refcount_max)
			return vimg_error_set(err, VIMG_ENOSPC,
					      "qcow2: refcount of cluster 0x%" PRIx64 " overflows",
					      c << s->cluster_bits);
		rc = qcow2_refcount_set(s, c, delta < 0 ? v - 1 : v + 1, err);
		if (rc == 0 && delta < 0 && v == 1) {
			if (!s->free_hint || c < s->free_hint)
				s->free_hint = c;
			/* Packing compressed data goes on only into a cluster still in use. */
			if (s->cfree && s->cfree >> s->cluster_bits == c)
				s->cfree = 0;
		}
	}
	return rc;
}

/* Take n clusters at the end of the file. */
static int alloc_append(struct qcow2 *s, uint64_t n, uint64_t *off, struct vimg_error *err)
{
	uint64_t start, end;
	int rc;

	/* Skip clusters past the end of file that still carry a refcount. */
	for (;;) {
		uint64_t busy = 0;

		start = s->alloc_end;
		if (ck_add(start, n << s->cluster_bits, &end) || end > (1ull << 56))
			return vimg_error_set(err, VIMG_ENOSPC, "qcow2: image file would exceed 64 PiB");
		for (uint64_t c = start; c < end; c += s->cluster_size) {
			uint64_t v;

			rc = qcow2_refcount_get(s, c >> s->cluster_bits, &v, err);
			if (rc)
				return rc;
			if (v) {
				busy = c + s->cluster_size;
			}
		}
		if (!busy)
			break;
		s->alloc_end = busy;
	}
	s->alloc_end = end;
	for (uint64_t c = start; c < end; c += s->cluster_size) {
		rc = qcow2_refcount_set(s, c >> s->cluster_bits, 1, err);
		if (rc)
			return rc;
	}
	*off = start;
	return 0;
}

/*
 * n contiguous clusters at refcount 0 from free_hint up to alloc_end, or
 * *found false. The hint moves to the lowest free cluster left, or to 0
 * (none) when the scan found none below alloc_end.
 */
static int alloc_reuse(struct qcow2 *s, uint64_t n, uint64_t *off, bool *found,
		       struct vimg_error *err)
{
	uint64_t end = s->alloc_end >> s->cluster_bits, first_free = 0, run = 0;
	int rc;

	*found = false;
	for (uint64_t c = s->free_hint; c < end; c++) {
		uint64_t v;

		rc = qcow2_refcount_get(s, c, &v, err);
		if (rc)
			return rc;
		if (v) {
			run = 0;
			continue;
		}
		if (!first_free)
			first_free = c;
		if (++run < n)
			continue;
		uint64_t start = c + 1 - n;

		for (uint64_t k = start; k <= c; k++) {
			rc = qcow2_refcount_set(s, k, 1, err);
			if (rc)
				return rc;
		}
		s->free_hint = first_free < start ? first_free : c + 1 < end ? c + 1 : 0;
		*off = start << s->cluster_bits;
		*found = true;
		return 0;
	}
	s->free_hint = first_free;
	return 0;
}

int qcow2_alloc_clusters(struct qcow2 *s, uint64_t n, uint64_t *off, struct vimg_error *err)
{
	if (s->free_hint) {
		bool found;
		int rc = alloc_reuse(s, n, off, &found, err);

		if (rc || found)
			return rc;
	}
	return alloc_append(s, n, off, err);
}

/* Whether clusters [first, first + n) carry no reference (free to allocate). */
static int clusters_free(struct qcow2 *s, uint64_t first, uint64_t n, bool *yes,
			 struct vimg_error *err)
{
	*yes = true;
	for (uint64_t c = first; c < first + n && *yes; c++) {
		uint64_t v;
		int rc = qcow2_refcount_get(s, c, &v, err);

		if (rc)
			return rc;
		*yes = v == 0;
	}
	return 0;
}

/*
 * Take clusters [first, first + n), all at refcount 0: those below alloc_end
 * (freed this session) in place, the rest appended, which must start exactly
 * where they follow on.
 */
static int claim_following(struct qcow2 *s, uint64_t first, uint64_t n, struct vimg_error *err)
{
	uint64_t end = s->alloc_end >> s->cluster_bits, c = first, got;
	int rc = 0;

	for (; c < first + n && c < end && rc == 0; c++)
		rc = qcow2_refcount_set(s, c, 1, err);
	if (rc || c == first + n)
		return rc;
	rc = alloc_append(s, first + n - c, &got, err);
	if (rc == 0 && got != c << s->cluster_bits)
		rc = vimg_error_set(err, VIMG_EIO,
				    "qcow2: compressed cluster allocation not contiguous at 0x%" PRIx64,
				    got);
	return rc;
}

/*
 * Compressed clusters are packed back to back. Like qemu, a packed
 * cluster may run on into the following host clusters when those are the
 * next ones to be allocated anyway: every host cluster it touches holds one
 * reference for it (qcow2.txt "Compressed Clusters Descriptor").
 */
int qcow2_alloc_bytes(struct qcow2 *s, uint64_t len, uint64_t *off, struct vimg_error *err)
{
	/* Byte granularity, as qemu: the descriptor's sector count covers the span. */
	uint64_t need = len, cs = s->cluster_size, in = s->cfree & (cs - 1);
	uint64_t cur = s->cfree >> s->cluster_bits, v;
	int rc;

	if (s->cfree && in) {
		rc = qcow2_refcount_get(s, cur, &v, err);
		if (rc)
			return rc;
		if (v > 0 && v < s->refcount_max) {
			uint64_t more = 0;
			bool fits = cs - in >= need, spans = false;

			if (!fits) {
				more = (need - (cs - in) + cs - 1) / cs;
				if ((rc = clusters_free(s, cur + 1, more, &spans, err)))
					return rc;
				/* Appending while freed clusters wait below would leave them unused. */
				if (s->free_hint && cur + 1 >= s->alloc_end >> s->cluster_bits)
					spans = false;
			}
			if (fits || spans) {
				if (spans && (rc = claim_following(s, cur + 1, more, err)))
					return rc;
				rc = qcow2_refcount_set(s, cur, v + 1, err);
				if (rc)
					return rc;
				*off = s->cfree;
				s->cfree += need;
				if (!(s->cfree & (cs - 1)))
					s->cfree = 0;
				return 0;
			}
		}
	}
	rc = qcow2_alloc_clusters(s, (need + cs - 1) / cs, off, err);
	if (rc)
		return rc;
	s->cfree = *off + need;
	if (!(s->cfree & (cs - 1)))
		s->cfree = 0;
	return 0;
}

/*
 * Move the refcount table to a larger place at the end of the file. The new
 * table has room for the blocks that cover itself, so counting its own
 * clusters never grows it again.
 */
static int rt_grow(struct qcow2 *s, uint64_t need, struct vimg_error *err)
{
	uint64_t per = s->cluster_size / 8, entries = max_u64(need, s->rt_entries * 2), clusters;
	uint64_t old_off = s->h.refcount_table_offset, old_clusters = s->h.refcount_table_clusters;
	uint64_t noff, *nrt;
	uint8_t *raw, hb[12];
	int rc = 0;

	for (;;) {
		uint64_t end;

		clusters = (entries + per - 1) / per;
		end = s->alloc_end + (clusters + 4) * s->cluster_size;
		if ((end >> s->cluster_bits) / s->rb_entries + 2 <= entries)
			break;
		entries = (end >> s->cluster_bits) / s->rb_entries + 2;
	}
	entries = clusters * per;
	if (clusters * s->cluster_size > QCOW2_MAX_RT_BYTES)
		return vimg_error_set(err, VIMG_ENOSPC,
				      "qcow2: refcount table would exceed %llu bytes",
				      (unsigned long long)QCOW2_MAX_RT_BYTES);
	nrt = calloc(entries, sizeof(uint64_t));
	raw = malloc(clusters * s->cluster_size);
	if (!nrt || !raw) {
		free(nrt);
		free(raw);
		return vimg_error_set(err, VIMG_ENOMEM, "qcow2: out of memory for the refcount table");
	}
	memcpy(nrt, s->rt, s->rt_entries * sizeof(uint64_t));
	noff = s->alloc_end;
	s->alloc_end += clusters * s->cluster_size;
	free(s->rt);
	s->rt = nrt;
	s->rt_entries = entries;
	s->h.refcount_table_offset = noff;
	s->h.refcount_table_clusters = (uint32_t)clusters;
	/* Write the table first so the file covers it before blocks are allocated. */
	memset(raw, 0, clusters * s->cluster_size);
	for (uint64_t i = 0; i < entries; i++)
		st_be64(raw + 8 * i, s->rt[i]);
	rc = file_pwrite_full(s->file, raw, clusters * s->cluster_size, noff, err);
	if (rc == 0)
		qcow2_note_file_end(s, s->file, noff + clusters * s->cluster_size);
	for (uint64_t c = 0; rc == 0 && c < clusters; c++)
		rc = qcow2_refcount_set(s, (noff >> s->cluster_bits) + c, 1, err);
	if (rc == 0) {
		for (uint64_t i = 0; i < entries; i++)
			st_be64(raw + 8 * i, s->rt[i]);
		rc = file_pwrite_full(s->file, raw, clusters * s->cluster_size, noff, err);
	}
	free(raw);
	if (rc == 0)
		rc = file_fsync(s->file, err);
	if (rc == 0) {
		st_be64(hb, noff);
		st_be32(hb + 8, (uint32_t)clusters);
		rc = file_pwrite_full(s->file, hb, sizeof(hb), QCOW2_HDR_RT_OFFSET, err);
	}
	if (rc == 0)
		rc = qcow2_refcount_update(s, old_off, old_clusters << s->cluster_bits, -1, err);
	return rc;
}
