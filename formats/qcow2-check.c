/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qcow2 consistency check and repair (qemu docs/interop/qcow2.txt "Host
 * cluster management", "Cluster mapping", "Snapshots"): count the references
 * to every host cluster from the header, the active and snapshot L1/L2
 * tables, data and compressed clusters, the refcount structures and the
 * snapshot table; compare them with the stored refcounts (more stored: leak,
 * fewer: corruption), verify COPIED flags in the active tables, and rewrite
 * refcounts and flags when asked. Not counted: persistent bitmaps (their
 * clusters show as leaks; images with bitmaps are not repaired).
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "endian.h"
#include "qcow2.h"

struct chk {
	struct qcow2 *s;
	struct vimg_check *rep;
	unsigned fix;
	uint32_t *ref;		/* computed references per cluster */
	uint64_t nclusters;
	uint64_t prev_host;	/* for fragmentation counting */
};

__attribute__((format(printf, 6, 7))) static void report(struct chk *k,
							 enum vimg_check_severity sev,
							 const char *structure, int64_t index,
							 uint64_t file_off, const char *fmt, ...)
{
	struct vimg_check_finding f = { sev, structure, index, file_off, NULL, false };
	char msg[256];
	va_list ap;

	if (!k->rep)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	f.message = msg;
	if (sev == VIMG_CHECK_LEAK)
		k->rep->leaks++;
	else if (sev == VIMG_CHECK_CORRUPTION)
		k->rep->corruptions++;
	else
		k->rep->check_errors++;
	if (k->rep->report)
		k->rep->report(k->rep->opaque, &f);
}

/* Count one reference to every cluster of [off, off+len). */
static void inc(struct chk *k, const char *what, uint64_t off, uint64_t len)
{
	uint64_t first, last;

	if (!len)
		return;
	first = off >> k->s->cluster_bits;
	last = (off + len - 1) >> k->s->cluster_bits;
	if (off + len < off || last >= k->nclusters) {
		report(k, VIMG_CHECK_CORRUPTION, what, -1, off, "%s beyond end of file", what);
		return;
	}
	for (uint64_t c = first; c <= last; c++)
		if (k->ref[c] != UINT32_MAX)
			k->ref[c]++;
}

static void walk_l2(struct chk *k, const uint8_t *tbl, uint64_t l2_off, bool active)
{
	struct qcow2 *s = k->s;

	for (uint64_t i = 0; i < s->l2_entries; i++) {
		uint64_t e, bm, host;

		qcow2_l2_load(s, tbl, i, &e, &bm);
		if (e & QCOW2_OFLAG_COMPRESSED) {
			uint64_t coff, clen;

			if (qcow2_has_data_file(s)) {
				report(k, VIMG_CHECK_CORRUPTION, "L2 table", (int64_t)i,
				       l2_off + i * s->l2_entry_size,
				       "compressed cluster with an external data file");
				continue;
			}
			qcow2_compressed_range(s, e, &coff, &clen);
			inc(k, "compressed cluster", coff & ~511ull, (clen + (coff & 511) + 511) & ~511ull);
			if (active) {
				k->rep->allocated_clusters++;
				k->rep->compressed_clusters++;
			}
			continue;
		}
		host = e & QCOW2_L2E_OFFSET_MASK;
		if (!host && !(qcow2_has_data_file(s) && (e & QCOW2_OFLAG_COPIED)))
			continue;
		if (host & (s->cluster_size - 1)) {
			report(k, VIMG_CHECK_CORRUPTION, "L2 table", (int64_t)i,
			       l2_off + i * s->l2_entry_size,
			       "data cluster offset 0x%" PRIx64 " not cluster-aligned", host);
			continue;
		}
		if (active) {
			k->rep->allocated_clusters++;
			if (k->prev_host && host != k->prev_host + s->cluster_size)
				k->rep->fragmented_clusters++;
			k->prev_host = host;
		}
		if (!qcow2_has_data_file(s))
			inc(k, "data cluster", host, s->cluster_size);
	}
}

static int walk_l1(struct chk *k, const uint64_t *l1, uint32_t l1_size, uint64_t l1_off,
		   bool active, struct vimg_error *err)
{
	struct qcow2 *s = k->s;
	uint8_t *tbl;

	for (uint32_t i = 0; i < l1_size; i++) {
		uint64_t l2_off = l1[i] & QCOW2_L1E_OFFSET_MASK;
		int rc;

		if (!l2_off)
			continue;
		if ((l2_off & (s->cluster_size - 1)) || l2_off < s->cluster_size ||
		    (l2_off >> s->cluster_bits) >= k->nclusters) {
			report(k, VIMG_CHECK_CORRUPTION, "L1 table", i, l1_off + 8ull * i,
			       "L2 table offset 0x%" PRIx64 " misaligned or beyond end of file",
			       l2_off);
			continue;
		}
		inc(k, "L2 table", l2_off, s->cluster_size);
		rc = qcow2_cache_get(s, &s->l2c, l2_off, false, &tbl, err);
		if (rc) {
			report(k, VIMG_CHECK_ERROR, "L2 table", i, l2_off, "cannot read: %s",
			       err ? err->msg : "error");
			if (err)
				vimg_error_clear(err);
			continue;
		}
		walk_l2(k, tbl, l2_off, active);
	}
	return 0;
}

static int walk_snapshots(struct chk *k, struct vimg_error *err)
{
	struct qcow2 *s = k->s;

	if (s->h.nb_snapshots)
		inc(k, "snapshot table", s->h.snapshots_offset, s->snap_table_bytes);
	for (uint32_t i = 0; i < s->nb_snaps; i++) {
		const struct qcow2_snapshot *sn = &s->snaps[i];
		uint64_t *l1 = NULL, bytes = (uint64_t)sn->l1_size * 8;
		uint8_t *raw;
		int rc;

		if (!sn->l1_size)
			continue;
		if (bytes > QCOW2_MAX_L1_BYTES || (sn->l1_table_offset & (s->cluster_size - 1))) {
			report(k, VIMG_CHECK_CORRUPTION, "snapshot", i, sn->entry_offset,
			       "L1 table invalid (offset 0x%" PRIx64 ", %u entries)",
			       sn->l1_table_offset, sn->l1_size);
			continue;
		}
		inc(k, "snapshot L1 table", sn->l1_table_offset, bytes);
		raw = malloc(bytes);
		l1 = calloc(sn->l1_size, sizeof(uint64_t));
		if (!raw || !l1) {
			free(raw);
			free(l1);
			return vimg_error_set(err, VIMG_ENOMEM, "qcow2: out of memory");
		}
		rc = file_pread_full(s->file, raw, bytes, sn->l1_table_offset, err);
		if (rc) {
			report(k, VIMG_CHECK_ERROR, "snapshot", i, sn->l1_table_offset,
			       "cannot read the L1 table");
			if (err)
				vimg_error_clear(err);
		} else {
			for (uint32_t j = 0; j < sn->l1_size; j++)
				l1[j] = ld_be64(raw + 8ull * j);
			walk_l1(k, l1, sn->l1_size, sn->l1_table_offset, false, err);
		}
		free(raw);
		free(l1);
	}
	return 0;
}

static void walk_refcount_structs(struct chk *k)
{
	struct qcow2 *s = k->s;

	inc(k, "refcount table", s->h.refcount_table_offset,
	    (uint64_t)s->h.refcount_table_clusters << s->cluster_bits);
	for (uint64_t i = 0; i < s->rt_entries; i++) {
		uint64_t off = s->rt[i] & QCOW2_REFT_OFFSET_MASK;

		if (!off)
			continue;
		if ((off & (s->cluster_size - 1)) || (off >> s->cluster_bits) >= k->nclusters) {
			report(k, VIMG_CHECK_CORRUPTION, "refcount table", (int64_t)i,
			       s->h.refcount_table_offset + 8 * i,
			       "refcount block offset 0x%" PRIx64 " misaligned or beyond end of file",
			       off);
			continue;
		}
		inc(k, "refcount block", off, s->cluster_size);
	}
}

/* Compare stored refcounts with the computed ones; fix as asked. */
static int compare(struct chk *k, struct vimg_error *err)
{
	struct qcow2 *s = k->s;
	uint64_t limit = max_u64(k->nclusters, s->rt_entries * s->rb_entries);

	for (uint64_t c = 0; c < limit; c++) {
		uint64_t have, want = c < k->nclusters ? k->ref[c] : 0;
		bool leak, fixit;
		int rc;

		if (c >= k->nclusters && c % s->rb_entries == 0 &&
		    !(s->rt[c / s->rb_entries] & QCOW2_REFT_OFFSET_MASK)) {
			c += s->rb_entries - 1;
			continue;
		}
		rc = qcow2_refcount_get(s, c, &have, err);
		if (rc) {
			report(k, VIMG_CHECK_ERROR, "refcount block", (int64_t)(c / s->rb_entries),
			       s->rt[c / s->rb_entries] & QCOW2_REFT_OFFSET_MASK,
			       "cannot read: %s", err ? err->msg : "error");
			if (err)
				vimg_error_clear(err);
			c += s->rb_entries - 1 - c % s->rb_entries;
			continue;
		}
		if (have == want)
			continue;
		leak = have > want;
		fixit = s->writable && (k->fix & (leak ? VIMG_CHECK_FIX_LEAKS : VIMG_CHECK_FIX_ERRORS));
		report(k, leak ? VIMG_CHECK_LEAK : VIMG_CHECK_CORRUPTION, "refcount block",
		       (int64_t)c, c << s->cluster_bits,
		       "%s cluster %" PRIu64 " refcount=%" PRIu64 " reference=%" PRIu64,
		       leak ? "leaked" : "refcount too small for", c, have, want);
		if (fixit) {
			rc = qcow2_refcount_set(s, c, min_u64(want, s->refcount_max), err);
			if (rc)
				return rc;
			if (k->rep) {
				if (leak)
					k->rep->leaks_fixed++;
				else
					k->rep->corruptions_fixed++;
			}
		}
	}
	return 0;
}

/* qcow2.txt: COPIED is set exactly when the refcount is 1 (active tables only). */
static int check_copied(struct chk *k, struct vimg_error *err)
{
	struct qcow2 *s = k->s;
	bool fixit = s->writable && (k->fix & VIMG_CHECK_FIX_ERRORS);

	for (uint32_t i = 0; i < s->l1_size; i++) {
		uint64_t l2_off = s->l1[i] & QCOW2_L1E_OFFSET_MASK, c = l2_off >> s->cluster_bits;
		uint8_t *tbl;
		bool want;
		int rc;

		if (!l2_off || (l2_off & (s->cluster_size - 1)) || c >= k->nclusters)
			continue;
		want = k->ref[c] == 1;
		if (want != !!(s->l1[i] & QCOW2_OFLAG_COPIED)) {
			report(k, VIMG_CHECK_CORRUPTION, "L1 table", i, s->l1_offset + 8ull * i,
			       "COPIED flag wrong for L2 table 0x%" PRIx64 " (refcount %u)", l2_off,
			       k->ref[c]);
			if (fixit) {
				uint8_t b[8];

				s->l1[i] = want ? s->l1[i] | QCOW2_OFLAG_COPIED
						: s->l1[i] & ~QCOW2_OFLAG_COPIED;
				st_be64(b, s->l1[i]);
				rc = file_pwrite_full(s->file, b, 8, s->l1_offset + 8ull * i, err);
				if (rc)
					return rc;
				if (k->rep)
					k->rep->corruptions_fixed++;
			}
		}
		for (uint64_t j = 0; j < s->l2_entries; j++) {
			uint64_t e, bm, host, hc;
			bool cw;

			rc = qcow2_cache_get(s, &s->l2c, l2_off, false, &tbl, err);
			if (rc) {
				if (err)
					vimg_error_clear(err);
				break;
			}
			qcow2_l2_load(s, tbl, j, &e, &bm);
			host = e & QCOW2_L2E_OFFSET_MASK;
			if (e & QCOW2_OFLAG_COMPRESSED) {
				cw = false;
			} else if (qcow2_has_data_file(s)) {
				continue;
			} else {
				hc = host >> s->cluster_bits;
				if (!host || (host & (s->cluster_size - 1)) || hc >= k->nclusters)
					continue;
				cw = k->ref[hc] == 1;
			}
			if (cw == !!(e & QCOW2_OFLAG_COPIED))
				continue;
			report(k, VIMG_CHECK_CORRUPTION, "L2 table", (int64_t)j,
			       l2_off + j * s->l2_entry_size,
			       "COPIED flag wrong for entry 0x%016" PRIx64, e);
			if (fixit && (k->ref[l2_off >> s->cluster_bits] == 1)) {
				e = cw ? e | QCOW2_OFLAG_COPIED : e & ~QCOW2_OFLAG_COPIED;
				rc = qcow2_l2_store(s, l2_off, j, e, bm, err);
				if (rc)
					return rc;
				if (k->rep)
					k->rep->corruptions_fixed++;
			}
		}
	}
	return 0;
}

static int check_pass(struct qcow2 *s, struct vimg_check *rep, unsigned fix,
		      struct vimg_error *err)
{
	struct chk k = { .s = s, .rep = rep, .fix = fix };
	uint64_t fsz = max_u64(s->file_size, s->alloc_end);
	int rc;

	k.nclusters = (fsz + s->cluster_size - 1) >> s->cluster_bits;
	rc = vimg_alloc_table(k.nclusters ? k.nclusters : 1, sizeof(uint32_t), 1ull << 32,
			      "qcow2: check: cluster count", (void **)&k.ref, err);
	if (rc)
		return rc;
	inc(&k, "header", 0, s->cluster_size);
	inc(&k, "L1 table", s->l1_offset, (uint64_t)s->l1_size * 8);
	rc = walk_l1(&k, s->l1, s->l1_size, s->l1_offset, true, err);
	if (rc == 0)
		rc = walk_snapshots(&k, err);
	if (rc == 0) {
		walk_refcount_structs(&k);
		rc = compare(&k, err);
	}
	if (rc == 0)
		rc = check_copied(&k, err);
	if (rc == 0 && rep) {
		uint64_t last = k.nclusters;

		while (last && !k.ref[last - 1])
			last--;
		rep->image_end_offset = last << s->cluster_bits;
		rep->total_clusters = (s->h.size + s->cluster_size - 1) >> s->cluster_bits;
	}
	free(k.ref);
	return rc;
}

int qcow2_check(struct vimg_image *img, struct vimg_check *rep, unsigned fix,
		struct vimg_error *err)
{
	struct qcow2 *s = qcow2_priv(img);
	uint64_t end0;
	int rc;

	if (s->is_view)
		return vimg_error_set(err, VIMG_EUNSUPPORTED, "qcow2: cannot check a snapshot view");
	if (!s->rt) {
		rc = qcow2_refcount_init(s, err);
		if (rc)
			return rc;
	}
	end0 = s->alloc_end;
	rc = check_pass(s, rep, fix, err);
	/* Repairs that allocated refcount blocks or moved the table need a second look. */
	for (int i = 0; rc == 0 && fix && s->alloc_end != end0 && i < 3; i++) {
		struct vimg_check quiet = { 0 };

		end0 = s->alloc_end;
		rc = check_pass(s, &quiet, fix, err);
	}
	if (rc == 0 && fix)
		rc = qcow2_cache_flush(s, err);
	/* Repaired: the dirty and corrupt bits have done their job. */
	if (rc == 0 && (fix & VIMG_CHECK_FIX_ERRORS) && s->writable && rep &&
	    rep->corruptions == rep->corruptions_fixed &&
	    (s->h.incompatible_features & (QCOW2_INCOMPAT_CORRUPT | QCOW2_INCOMPAT_DIRTY))) {
		s->h.incompatible_features &= ~(QCOW2_INCOMPAT_CORRUPT | QCOW2_INCOMPAT_DIRTY);
		rc = file_fsync(s->file, err);
		if (rc == 0)
			rc = qcow2_write_incompat(s, err);
	}
	return rc;
}

int qcow2_repair_refcounts(struct qcow2 *s, struct vimg_error *err)
{
	struct vimg_check rep = { 0 };

	return qcow2_check(s->img, &rep, VIMG_CHECK_FIX_LEAKS | VIMG_CHECK_FIX_ERRORS, err);
}
