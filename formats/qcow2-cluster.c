/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qcow2 cluster mapping (qemu docs/interop/qcow2.txt "Cluster mapping" and
 * "Extended L2 Entries"): the metadata table cache, L1/L2 lookup, block status
 * and the allocating write and zero paths.
 *
 * Invariants: every metadata update is written through to the file at once
 * (the cache only saves reads), data is written before the L2 entry that
 * points at it, and refcounts are exact after every call, so the image is
 * consistent whenever a call returns. Allocated clusters in the active tables
 * carry COPIED exactly when their refcount is 1; shared tables and clusters
 * (internal snapshots) are copied before they are written.
 */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "endian.h"
#include "qcow2.h"

/* ---- metadata cache ------------------------------------------------------ */

static int cache_write_back(struct qcow2 *s, struct qcow2_cache_ent *e, struct vimg_error *err)
{
	int rc;

	if (!e->dirty)
		return 0;
	rc = file_pwrite_full(s->file, e->data, s->cluster_size, e->off, err);
	if (rc == 0)
		e->dirty = false;
	return rc;
}

static int cache_flush_one(struct qcow2 *s, struct qcow2_cache *c, struct vimg_error *err)
{
	for (unsigned i = 0; i < QCOW2_CACHE_SLOTS; i++) {
		int rc = cache_write_back(s, &c->ent[i], err);

		if (rc)
			return rc;
	}
	return 0;
}

int qcow2_cache_flush(struct qcow2 *s, struct vimg_error *err)
{
	int rc = cache_flush_one(s, &s->rbc, err);

	return rc ? rc : cache_flush_one(s, &s->l2c, err);
}

void qcow2_cache_set_dirty(struct qcow2_cache *c, const uint8_t *data)
{
	for (unsigned i = 0; i < QCOW2_CACHE_SLOTS; i++)
		if (c->ent[i].data == data && c->ent[i].off) {
			c->ent[i].dirty = true;
			return;
		}
}

int qcow2_cache_get(struct qcow2 *s, struct qcow2_cache *c, uint64_t off, bool fresh,
		    uint8_t **out, struct vimg_error *err)
{
	struct qcow2_cache_ent *victim = &c->ent[0];
	int rc;

	for (unsigned i = 0; i < QCOW2_CACHE_SLOTS; i++) {
		struct qcow2_cache_ent *e = &c->ent[i];

		if (e->off == off && e->data) {
			e->used = ++c->tick;
			if (fresh)
				memset(e->data, 0, s->cluster_size);
			*out = e->data;
			return 0;
		}
		if (!e->data || e->used < victim->used)
			victim = e;
		if (!e->data)
			break;
	}
	if (!victim->data) {
		victim->data = malloc(s->cluster_size);
		if (!victim->data)
			return vimg_error_set(err, VIMG_ENOMEM, "qcow2: out of memory for tables");
	}
	if (victim->dirty) {
		/* An L2 table may only reach the disk after the refcounts it relies on. */
		rc = c == &s->l2c ? cache_flush_one(s, &s->rbc, err) : 0;
		if (rc == 0)
			rc = cache_write_back(s, victim, err);
		if (rc)
			return rc;
	}
	victim->off = 0;
	if (fresh) {
		memset(victim->data, 0, s->cluster_size);
	} else {
		rc = file_pread_full(s->file, victim->data, s->cluster_size, off, err);
		if (rc)
			return rc;
	}
	victim->off = off;
	victim->used = ++c->tick;
	*out = victim->data;
	return 0;
}

void qcow2_cache_drop(struct qcow2_cache *c, uint64_t off)
{
	for (unsigned i = 0; i < QCOW2_CACHE_SLOTS; i++)
		if (c->ent[i].off == off) {
			c->ent[i].off = 0;
			c->ent[i].dirty = false;
		}
}

void qcow2_cache_free(struct qcow2_cache *c)
{
	for (unsigned i = 0; i < QCOW2_CACHE_SLOTS; i++) {
		free(c->ent[i].data);
		c->ent[i].data = NULL;
		c->ent[i].off = 0;
	}
}

/* ---- lookup --------------------------------------------------------------- */

int qcow2_l1_entry_check(struct qcow2 *s, uint64_t l1e, uint64_t idx, uint64_t l1_off,
			 uint64_t *l2_off, struct vimg_error *err)
{
	uint64_t off = l1e & QCOW2_L1E_OFFSET_MASK;

	*l2_off = off;
	if (!off)
		return 0;
	if (off & (s->cluster_size - 1))
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "qcow2: L1 entry %" PRIu64 ": L2 table offset 0x%" PRIx64
				      " not cluster-aligned (offset 0x%" PRIx64 ")",
				      idx, off, l1_off + idx * 8);
	if (off < s->cluster_size || off >= s->file_size || s->file_size - off < s->cluster_size)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "qcow2: L1 entry %" PRIu64 ": L2 table offset 0x%" PRIx64
				      " beyond end of file (offset 0x%" PRIx64 ")",
				      idx, off, l1_off + idx * 8);
	return 0;
}

void qcow2_l2_load(const struct qcow2 *s, const uint8_t *tbl, uint64_t idx, uint64_t *e,
		   uint64_t *bm)
{
	const uint8_t *p = tbl + idx * s->l2_entry_size;

	*e = ld_be64(p);
	*bm = s->ext_l2 ? ld_be64(p + 8) : 0;
}

int qcow2_l2_lookup(struct qcow2 *s, uint64_t off, uint64_t *e, uint64_t *bm,
		    struct vimg_error *err)
{
	uint64_t l1i = off >> (s->cluster_bits + s->l2_bits), l2_off;
	uint8_t *tbl;
	int rc;

	*e = *bm = 0;
	if (l1i >= s->l1_size)
		return 0;
	rc = qcow2_l1_entry_check(s, s->l1[l1i], l1i, s->l1_offset, &l2_off, err);
	if (rc || !l2_off)
		return rc;
	rc = qcow2_cache_get(s, &s->l2c, l2_off, false, &tbl, err);
	if (rc)
		return rc;
	qcow2_l2_load(s, tbl, (off >> s->cluster_bits) & (s->l2_entries - 1), e, bm);
	return 0;
}

/* ---- block status ----------------------------------------------------------- */

struct piece {
	enum vimg_run_kind kind;
	unsigned flags;
	struct vimg_file *file;
	uint64_t host;	/* host offset of the piece start, when OFFSET_VALID */
	uint64_t len;	/* from the queried position to the end of the (sub)cluster */
};

/* Classify guest position pos given its L2 entry (qcow2.txt "L2 table entry"). */
static int classify(struct qcow2 *s, uint64_t e, uint64_t bm, uint64_t pos, uint64_t ent_off,
		    uint64_t l2_index, struct piece *p, struct vimg_error *err)
{
	uint64_t in = pos & (s->cluster_size - 1);
	uint64_t host = e & QCOW2_L2E_OFFSET_MASK;
	bool alloc, zero;

	p->flags = 0;
	p->file = NULL;
	p->host = 0;
	if (e & QCOW2_OFLAG_COMPRESSED) {
		uint64_t coff, clen;

		if (qcow2_has_data_file(s))
			return vimg_error_set(err, VIMG_ECORRUPT,
					      "qcow2: L2 entry %" PRIu64 ": compressed cluster with an "
					      "external data file (offset 0x%" PRIx64 ")",
					      l2_index, ent_off);
		qcow2_compressed_range(s, e, &coff, &clen);
		if (coff >= s->file_size)
			return vimg_error_set(err, VIMG_ECORRUPT,
					      "qcow2: L2 entry %" PRIu64 ": compressed cluster "
					      "descriptor beyond end of file (offset 0x%" PRIx64 ")",
					      l2_index, ent_off);
		p->kind = VIMG_RUN_DATA;
		p->flags = VIMG_RUN_COMPRESSED;
		p->len = s->cluster_size - in;
		return 0;
	}
	if (s->ext_l2) {
		unsigned sc = (unsigned)(in / s->subcluster_size);

		alloc = bm >> sc & 1;
		zero = bm >> (32 + sc) & 1;
		p->len = s->subcluster_size - in % s->subcluster_size;
		if (alloc && zero)
			return vimg_error_set(err, VIMG_ECORRUPT,
					      "qcow2: L2 entry %" PRIu64 ": subcluster %u both "
					      "allocated and zero (offset 0x%" PRIx64 ")",
					      l2_index, sc, ent_off);
	} else {
		zero = e & QCOW2_OFLAG_ZERO;
		alloc = !zero && (host || (qcow2_has_data_file(s) && (e & QCOW2_OFLAG_COPIED)));
		p->len = s->cluster_size - in;
	}
	if (zero) {
		p->kind = VIMG_RUN_ZERO;
		return 0;
	}
	if (!alloc) {
		p->kind = VIMG_RUN_UNALLOCATED;
		return 0;
	}
	if (host & (s->cluster_size - 1))
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "qcow2: L2 entry %" PRIu64 ": data cluster offset 0x%" PRIx64
				      " not cluster-aligned (offset 0x%" PRIx64 ")",
				      l2_index, host, ent_off);
	if (qcow2_has_data_file(s)) {
		p->file = s->data_file;
	} else {
		if (host == 0 || host >= s->file_size)
			return vimg_error_set(err, VIMG_ECORRUPT,
					      "qcow2: L2 entry %" PRIu64 ": data cluster offset 0x%" PRIx64
					      " beyond end of file (offset 0x%" PRIx64 ")",
					      l2_index, host, ent_off);
		p->file = s->file;
	}
	p->kind = VIMG_RUN_DATA;
	/* Encrypted data is not the disk's bytes: qcow2_read decrypts it. */
	p->flags = s->luks ? VIMG_RUN_ENCRYPTED : VIMG_RUN_OFFSET_VALID;
	p->host = s->luks ? 0 : host + in;
	if (s->luks)
		p->file = NULL;
	return 0;
}

static bool piece_extends(const struct vimg_run *run, uint64_t run_host, const struct piece *p)
{
	if (p->kind != run->kind || p->flags != run->flags || p->file != run->file)
		return false;
	if (p->flags & VIMG_RUN_OFFSET_VALID)
		return p->host == run_host + run->length;
	return true;
}

int qcow2_block_status(struct vimg_image *img, uint64_t off, uint64_t len, struct vimg_run *run,
		       struct vimg_error *err)
{
	struct qcow2 *s = qcow2_priv(img);
	uint64_t pos = off, end, span_bits = s->cluster_bits + s->l2_bits;
	bool first = true;
	int rc;

	if (ck_add(off, len, &end))
		end = UINT64_MAX;
	memset(run, 0, sizeof(*run));
	while (pos < end) {
		uint64_t l1i = pos >> span_bits, l2_off;
		uint8_t *tbl;
		struct piece p = { 0 };

		if (l1i < s->l1_size) {
			rc = qcow2_l1_entry_check(s, s->l1[l1i], l1i, s->l1_offset, &l2_off, err);
			if (rc)
				return rc;
		} else {
			l2_off = 0;
		}
		if (!l2_off) {
			p.kind = VIMG_RUN_UNALLOCATED;
			p.flags = 0;
			p.file = NULL;
			p.host = 0;
			p.len = l1i < s->l1_size ? (((l1i + 1) << span_bits) - pos) : end - pos;
			if (first) {
				run->kind = p.kind;
				first = false;
			} else if (run->kind != VIMG_RUN_UNALLOCATED) {
				break;
			}
			run->length += min_u64(p.len, end - pos);
			pos += min_u64(p.len, end - pos);
			continue;
		}
		rc = qcow2_cache_get(s, &s->l2c, l2_off, false, &tbl, err);
		if (rc)
			return rc;
		for (uint64_t i = (pos >> s->cluster_bits) & (s->l2_entries - 1);
		     i < s->l2_entries && pos < end;) {
			uint64_t e, bm, n;

			qcow2_l2_load(s, tbl, i, &e, &bm);
			rc = classify(s, e, bm, pos, l2_off + i * s->l2_entry_size, i, &p, err);
			if (rc)
				return rc;
			if (first) {
				run->kind = p.kind;
				run->flags = p.flags;
				run->file = p.file;
				run->file_off = p.host;
				first = false;
			} else if (!piece_extends(run, run->file_off, &p)) {
				return 0;
			}
			n = min_u64(p.len, end - pos);
			run->length += n;
			pos += n;
			if (((pos & (s->cluster_size - 1)) == 0))
				i++;
		}
	}
	return 0;
}

/* ---- writing ------------------------------------------------------------------ */

int qcow2_l2_store(struct qcow2 *s, uint64_t l2_off, uint64_t idx, uint64_t e, uint64_t bm,
		   struct vimg_error *err)
{
	uint8_t *tbl, b[16];
	int rc;

	st_be64(b, e);
	st_be64(b + 8, bm);
	rc = qcow2_cache_get(s, &s->l2c, l2_off, false, &tbl, err);
	if (rc)
		return rc;
	memcpy(tbl + idx * s->l2_entry_size, b, s->l2_entry_size);
	qcow2_cache_set_dirty(&s->l2c, tbl);
	if (s->dc_entry == e)
		s->dc_entry = 0;
	return 0;
}

int qcow2_l1_write(struct qcow2 *s, uint64_t off, const uint64_t *l1, uint32_t from, uint32_t to,
		   struct vimg_error *err)
{
	size_t n = (size_t)(to - from) * 8;
	uint8_t *raw;
	int rc;

	if (!n)
		return 0;
	if (!(raw = malloc(n)))
		return vimg_error_set(err, VIMG_ENOMEM, "qcow2: out of memory");
	for (uint32_t i = from; i < to; i++)
		st_be64(raw + (size_t)(i - from) * 8, l1[i]);
	rc = file_pwrite_full(s->file, raw, n, off + (uint64_t)from * 8, err);
	if (!rc)
		qcow2_note_file_end(s, s->file, off + (uint64_t)to * 8);
	free(raw);
	return rc;
}

int qcow2_l1_place(struct qcow2 *s, const uint64_t *l1, uint32_t n, uint64_t *off,
		   struct vimg_error *err)
{
	uint64_t clusters = ((uint64_t)n * 8 + s->cluster_size - 1) >> s->cluster_bits;
	int rc;

	*off = 0;
	if (!n)
		return 0;
	rc = qcow2_alloc_clusters(s, clusters, off, err);
	return rc ? rc : qcow2_l1_write(s, *off, l1, 0, n, err);
}

static int l1_store(struct qcow2 *s, uint64_t l1i, uint64_t val, struct vimg_error *err)
{
	uint8_t b[8];

	st_be64(b, val);
	s->l1[l1i] = val;
	return file_pwrite_full(s->file, b, 8, s->l1_offset + l1i * 8, err);
}

int qcow2_mark_dirty(struct qcow2 *s, struct vimg_error *err)
{
	int rc;

	if (s->dirty_set || !(s->h.compatible_features & QCOW2_COMPAT_LAZY_REFCOUNTS))
		return 0;
	s->h.incompatible_features |= QCOW2_INCOMPAT_DIRTY;
	rc = qcow2_write_incompat(s, err);
	if (rc == 0)
		rc = file_fsync(s->file, err);
	if (rc == 0)
		s->dirty_set = true;
	return rc;
}

int qcow2_l2_slot(struct qcow2 *s, uint64_t off, uint64_t *l2_off, uint64_t *idx,
		  struct vimg_error *err)
{
	uint64_t l1i = off >> (s->cluster_bits + s->l2_bits), old, refc, n;
	uint8_t *tbl, *copy;
	int rc;

	*idx = (off >> s->cluster_bits) & (s->l2_entries - 1);
	if (l1i >= s->l1_size)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "qcow2: L1 table: no entry for offset 0x%" PRIx64, off);
	rc = qcow2_l1_entry_check(s, s->l1[l1i], l1i, s->l1_offset, &old, err);
	if (rc)
		return rc;
	if (old && (s->l1[l1i] & QCOW2_OFLAG_COPIED)) {
		*l2_off = old;
		return 0;
	}
	if (old) {
		rc = qcow2_refcount_get(s, old >> s->cluster_bits, &refc, err);
		if (rc)
			return rc;
		if (refc == 1) {
			*l2_off = old;
			return l1_store(s, l1i, old | QCOW2_OFLAG_COPIED, err);
		}
	}
	/* A new table, or a private copy of one shared with a snapshot. */
	rc = qcow2_alloc_clusters(s, 1, &n, err);
	if (rc)
		return rc;
	copy = malloc(s->cluster_size);
	if (!copy)
		return vimg_error_set(err, VIMG_ENOMEM, "qcow2: out of memory");
	if (old) {
		rc = qcow2_cache_get(s, &s->l2c, old, false, &tbl, err);
		if (rc == 0)
			memcpy(copy, tbl, s->cluster_size);
	} else {
		memset(copy, 0, s->cluster_size);
	}
	if (rc == 0)
		rc = file_pwrite_full(s->file, copy, s->cluster_size, n, err);
	if (rc == 0) {
		qcow2_note_file_end(s, s->file, n + s->cluster_size);
		rc = qcow2_cache_get(s, &s->l2c, n, true, &tbl, err);
	}
	if (rc == 0)
		memcpy(tbl, copy, s->cluster_size);
	free(copy);
	if (rc == 0)
		rc = l1_store(s, l1i, n | QCOW2_OFLAG_COPIED, err);
	if (rc == 0 && old)
		rc = qcow2_refcount_update(s, old, s->cluster_size, -1, err);
	*l2_off = n;
	return rc;
}

int qcow2_release_entry(struct qcow2 *s, uint64_t e, struct vimg_error *err)
{
	uint64_t off, len;

	if (e & QCOW2_OFLAG_COMPRESSED) {
		qcow2_compressed_range(s, e, &off, &len);
		if (s->dc_entry == e)
			s->dc_entry = 0;
		return qcow2_refcount_update(s, off & ~511ull, len, -1, err);
	}
	off = e & QCOW2_L2E_OFFSET_MASK;
	if (!off || qcow2_has_data_file(s))
		return 0;
	return qcow2_refcount_update(s, off, s->cluster_size, -1, err);
}

/* Mask of subclusters [a, b]. */
static uint64_t sc_mask(unsigned a, unsigned b)
{
	return (b >= 31 ? 0xffffffffull : ((1ull << (b + 1)) - 1)) & ~((1ull << a) - 1);
}

/* Fill buf (guest range [off, off+len) of one cluster) with what reads there now. */
static int old_content(struct qcow2 *s, uint64_t e, uint64_t bm, uint64_t off, uint8_t *buf,
		       uint64_t len, struct vimg_error *err)
{
	uint64_t in = off & (s->cluster_size - 1), vsize = s->h.size;

	if (off >= vsize) {
		memset(buf, 0, len);
		return 0;
	}
	if (e & QCOW2_OFLAG_COMPRESSED) {
		return qcow2_decompress_cached(s, e, buf, in, len, err);
	}
	/* Subcluster by subcluster (a standard cluster is one subcluster). */
	while (len) {
		uint64_t n = min_u64(len, s->subcluster_size - in % s->subcluster_size);
		unsigned sc = (unsigned)(in / s->subcluster_size);
		bool zero, alloc;
		uint64_t host = e & QCOW2_L2E_OFFSET_MASK;
		int rc;

		if (s->ext_l2) {
			alloc = bm >> sc & 1;
			zero = bm >> (32 + sc) & 1;
		} else {
			zero = e & QCOW2_OFLAG_ZERO;
			alloc = !zero && (host || (qcow2_has_data_file(s) && (e & QCOW2_OFLAG_COPIED)));
		}
		if (alloc) {
			rc = file_pread_zeroed(qcow2_has_data_file(s) ? s->data_file : s->file, buf, n,
					       host + in, err);
		} else if (zero) {
			memset(buf, 0, n);
			rc = 0;
		} else {
			uint64_t g = (off - (off & (s->cluster_size - 1))) + in;
			uint64_t inside = g < vsize ? min_u64(n, vsize - g) : 0;

			rc = inside ? vimg_read_below(s->img, buf, g, inside, err) : 0;
			memset(buf + inside, 0, n - inside);
		}
		if (rc)
			return rc;
		buf += n;
		in += n;
		len -= n;
	}
	return 0;
}

/* Write [in, in+n) of the cluster at guest offset vc from data. */
static int write_cluster(struct qcow2 *s, uint64_t vc, uint64_t in, const uint8_t *data,
			 uint64_t n, struct vimg_error *err)
{
	uint64_t l2_off, idx, e, bm, ne, nbm, host, cs = s->cluster_size, scs = s->subcluster_size;
	unsigned s0 = (unsigned)(in / scs), s1 = (unsigned)((in + n - 1) / scs);
	struct vimg_file *df = qcow2_has_data_file(s) ? s->data_file : s->file;
	uint8_t *tbl, *buf = NULL;
	bool inplace;
	int rc;

	rc = qcow2_l2_slot(s, vc, &l2_off, &idx, err);
	if (rc == 0)
		rc = qcow2_cache_get(s, &s->l2c, l2_off, false, &tbl, err);
	if (rc)
		return rc;
	qcow2_l2_load(s, tbl, idx, &e, &bm);
	host = e & QCOW2_L2E_OFFSET_MASK;
	if (qcow2_has_data_file(s)) {
		if (e & QCOW2_OFLAG_COMPRESSED)
			return vimg_error_set(err, VIMG_ECORRUPT,
					      "qcow2: L2 entry %" PRIu64 ": compressed cluster with an "
					      "external data file",
					      idx);
		/* qcow2.txt: with a data file, host offset == guest offset. */
		host = vc;
		inplace = true;
	} else {
		inplace = !(e & QCOW2_OFLAG_COMPRESSED) && (e & QCOW2_OFLAG_COPIED) && host;
		if (!(e & QCOW2_OFLAG_COMPRESSED) && (host & (cs - 1)))
			return vimg_error_set(err, VIMG_ECORRUPT,
					      "qcow2: L2 entry %" PRIu64 ": data cluster offset 0x%" PRIx64
					      " not cluster-aligned",
					      idx, host);
	}

	if (inplace) {
		uint64_t head = in - (uint64_t)s0 * scs, tail_end = min_u64((uint64_t)(s1 + 1) * scs, cs);
		bool head_alloc, tail_alloc;

		if (s->ext_l2) {
			head_alloc = bm >> s0 & 1;
			tail_alloc = bm >> s1 & 1;
		} else {
			head_alloc = tail_alloc = !(e & QCOW2_OFLAG_ZERO) &&
						  ((e & QCOW2_L2E_OFFSET_MASK) ||
						   (e & QCOW2_OFLAG_COPIED));
		}
		if (!(head_alloc && tail_alloc) && (head || in + n < tail_end)) {
			uint64_t a = (uint64_t)s0 * scs, len = tail_end - a;

			buf = malloc(len);
			if (!buf)
				return vimg_error_set(err, VIMG_ENOMEM, "qcow2: out of memory");
			rc = old_content(s, e, bm, vc + a, buf, len, err);
			if (rc == 0) {
				memcpy(buf + (in - a), data, n);
				rc = file_pwrite_full(df, buf, len, host + a, err);
			}
			if (rc == 0)
				qcow2_note_file_end(s, df, host + a + len);
			free(buf);
		} else {
			rc = file_pwrite_full(df, data, n, host + in, err);
			if (rc == 0)
				qcow2_note_file_end(s, df, host + in + n);
		}
		if (rc)
			return rc;
		ne = (e & ~QCOW2_OFLAG_ZERO) | QCOW2_OFLAG_COPIED;
		if (qcow2_has_data_file(s))
			ne = vc | QCOW2_OFLAG_COPIED;
		nbm = bm;
		if (s->ext_l2) {
			uint64_t m = sc_mask(s0, s1);

			nbm = (bm | m) & ~(m << 32);
		}
		if (ne == e && nbm == bm)
			return 0;
		return qcow2_l2_store(s, l2_off, idx, ne, nbm, err);
	}

	/* Copy on write: the whole cluster moves to a new host cluster. */
	buf = malloc(cs);
	if (!buf)
		return vimg_error_set(err, VIMG_ENOMEM, "qcow2: out of memory");
	if (in != 0 || n != cs) {
		rc = old_content(s, e, bm, vc, buf, cs, err);
		if (rc)
			goto out;
	}
	memcpy(buf + in, data, n);
	rc = qcow2_alloc_clusters(s, 1, &host, err);
	if (rc)
		goto out;
	rc = file_pwrite_full(s->file, buf, cs, host, err);
	if (rc)
		goto out;
	qcow2_note_file_end(s, s->file, host + cs);
	ne = host | QCOW2_OFLAG_COPIED;
	nbm = 0;
	if (s->ext_l2) {
		if (e & QCOW2_OFLAG_COMPRESSED) {
			nbm = 0xffffffffull;
		} else {
			/* Subclusters read from the old cluster or below stay as they were. */
			uint64_t m = sc_mask(s0, s1);
			uint64_t old_alloc = (e & QCOW2_L2E_OFFSET_MASK) ? (bm & 0xffffffffull) : 0;

			nbm = (old_alloc | m) | ((bm >> 32 & ~m & ~old_alloc) << 32);
		}
	}
	rc = qcow2_l2_store(s, l2_off, idx, ne, nbm, err);
	if (rc == 0 && e)
		rc = qcow2_release_entry(s, e, err);
out:
	free(buf);
	return rc;
}

int qcow2_write(struct vimg_image *img, const void *buf, uint64_t off, size_t len,
		unsigned flags, struct vimg_error *err)
{
	struct qcow2 *s = qcow2_priv(img);
	const uint8_t *p = buf;
	int rc = qcow2_mark_dirty(s, err);

	while (rc == 0 && len) {
		uint64_t in = off & (s->cluster_size - 1);
		uint64_t n = min_u64(len, s->cluster_size - in);

		rc = write_cluster(s, off - in, in, p, n, err);
		p += n;
		off += n;
		len -= n;
	}
	return rc;
}

/* ---- zeroing -------------------------------------------------------------------- */

int qcow2_hole_punch(struct qcow2 *s, struct qcow2_hole *run, struct vimg_error *err)
{
	int rc = run->len ? file_punch_hole(s->file, run->off, run->len, err) : 0;

	run->len = 0;
	if (rc == VIMG_EUNSUPPORTED) {
		vimg_error_clear(err);
		rc = 0;
	}
	return rc;
}

int qcow2_unmap_freed(struct qcow2 *s, uint64_t e, struct qcow2_hole *run,
		      struct vimg_error *err)
{
	uint64_t host = e & QCOW2_L2E_OFFSET_MASK, ref;
	struct qcow2_hole one = { host, s->cluster_size };
	int rc;

	if (!host || (e & QCOW2_OFLAG_COMPRESSED) || qcow2_has_data_file(s))
		return 0;
	rc = qcow2_refcount_get(s, host >> s->cluster_bits, &ref, err);
	if (rc || ref)
		return rc;
	if (!run)
		return qcow2_hole_punch(s, &one, err);
	if (run->len && run->off + run->len == host) {
		run->len += s->cluster_size;
		return 0;
	}
	rc = qcow2_hole_punch(s, run, err);
	*run = one;
	return rc;
}

static int zero_cluster(struct qcow2 *s, uint64_t vc, unsigned s0, unsigned s1, bool whole,
			bool unmap, struct vimg_error *err)
{
	uint64_t l2_off, idx, e, bm, ne, nbm;
	uint8_t *tbl;
	int rc;

	rc = qcow2_l2_slot(s, vc, &l2_off, &idx, err);
	if (rc == 0)
		rc = qcow2_cache_get(s, &s->l2c, l2_off, false, &tbl, err);
	if (rc)
		return rc;
	qcow2_l2_load(s, tbl, idx, &e, &bm);
	if (whole) {
		ne = s->ext_l2 ? 0 : QCOW2_OFLAG_ZERO;
		nbm = s->ext_l2 ? 0xffffffff00000000ull : 0;
		if (s->h.version < 3)
			ne = 0; /* v2 without backing: unallocated reads as zeros */
		rc = qcow2_l2_store(s, l2_off, idx, ne, nbm, err);
		if (rc == 0 && (e & ~QCOW2_OFLAG_ZERO))
			rc = qcow2_release_entry(s, e, err);
		if (rc == 0 && unmap)
			rc = qcow2_unmap_freed(s, e, NULL, err);
		return rc;
	}
	/* Extended L2, subcluster-aligned part of a cluster that is not shared. */
	uint64_t m = sc_mask(s0, s1);

	nbm = (bm & ~m) | (m << 32);
	return qcow2_l2_store(s, l2_off, idx, e, nbm, err);
}

int qcow2_zero(struct vimg_image *img, uint64_t off, uint64_t len, unsigned flags,
	       struct vimg_error *err)
{
	struct qcow2 *s = qcow2_priv(img);
	uint64_t cs = s->cluster_size, vsize = s->h.size;
	bool meta = !qcow2_data_file_raw(s) &&
		    (s->h.version >= 3 || (!s->h.backing_file_offset && !qcow2_has_data_file(s)));
	uint8_t *zbuf = NULL;
	int rc = qcow2_mark_dirty(s, err);

	while (rc == 0 && len) {
		uint64_t in = off & (cs - 1), vc = off - in;
		uint64_t n = min_u64(len, cs - in);
		uint64_t cend = min_u64(vc + cs, vsize);
		bool whole = in == 0 && off + n >= cend;

		if (meta && whole) {
			rc = zero_cluster(s, vc, 0, 31, true, flags & VIMG_ZERO_MAY_UNMAP, err);
		} else if (meta && s->ext_l2 && in % s->subcluster_size == 0 &&
			   ((in + n) % s->subcluster_size == 0 || off + n >= vsize)) {
			uint64_t e, bm;

			rc = qcow2_l2_lookup(s, vc, &e, &bm, err);
			if (rc)
				break;
			if (!(e & QCOW2_OFLAG_COMPRESSED) &&
			    (!(e & QCOW2_L2E_OFFSET_MASK) || (e & QCOW2_OFLAG_COPIED)))
				rc = zero_cluster(s, vc, (unsigned)(in / s->subcluster_size),
						  (unsigned)((in + n - 1) / s->subcluster_size), false,
						  false, err);
			else
				goto plain;
		} else {
plain:
			if (!zbuf && !(zbuf = calloc(1, cs))) {
				rc = vimg_error_set(err, VIMG_ENOMEM, "qcow2: out of memory");
				break;
			}
			rc = write_cluster(s, vc, in, zbuf, n, err);
		}
		off += n;
		len -= n;
	}
	free(zbuf);
	return rc;
}

/* ---- preallocation ---------------------------------------------------------------- */

int qcow2_preallocate(struct qcow2 *s, const char *mode, uint64_t from, uint64_t to,
		      struct vimg_error *err)
{
	uint64_t cs = s->cluster_size, first = 0, last = 0;
	struct vimg_file *df = qcow2_has_data_file(s) ? s->data_file : s->file;
	bool full = strcmp(mode, "full") == 0;
	uint8_t *z = full ? calloc(1, cs) : NULL;
	int rc = full && !z ? vimg_error_set(err, VIMG_ENOMEM, "qcow2: out of memory") : 0;

	for (uint64_t c = from / cs; c < (to + cs - 1) / cs && rc == 0; c++) {
		uint64_t l2_off, idx, host, e, bm;

		rc = qcow2_l2_lookup(s, c * cs, &e, &bm, err);
		if (rc || (e & QCOW2_L2E_OFFSET_MASK))
			continue;
		rc = qcow2_l2_slot(s, c * cs, &l2_off, &idx, err);
		if (rc)
			break;
		if (qcow2_has_data_file(s)) {
			host = c * cs;
		} else {
			rc = qcow2_alloc_clusters(s, 1, &host, err);
			if (rc)
				break;
		}
		if (!last || host < first)
			first = host;
		if (host + cs > last)
			last = host + cs;
		rc = qcow2_l2_store(s, l2_off, idx, host | QCOW2_OFLAG_COPIED,
				    s->ext_l2 ? 0xffffffffull : 0, err);
		/* "full": zeros written over every new data cluster. */
		if (rc == 0 && full)
			rc = file_pwrite_full(df, z, cs, host, err);
	}
	free(z);
	if (rc || !last)
		return rc;
	if (strcmp(mode, "metadata") == 0) {
		if (last > (df == s->file ? s->file_size : s->data_file_size))
			rc = file_truncate(df, last, err);
	} else if (strcmp(mode, "falloc") == 0) {
		uint64_t start = qcow2_has_data_file(s) ? 0 : first;

		rc = file_allocate(df, start, last - start, err);
	}
	if (rc == 0)
		qcow2_note_file_end(s, df, last);
	return rc;
}
