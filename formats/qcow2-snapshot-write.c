/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Creating, applying and deleting qcow2 internal snapshots, interoperable
 * with qemu-img snapshot.
 *
 * Refcounts follow qemu's accounting: a cluster's refcount is the number of
 * references to it through every L1 table (the active one and each
 * snapshot's), so taking a snapshot adds one to every L2 table and data
 * cluster the active tree reaches, and deleting one takes it off again.
 * The active tree carries COPIED exactly where a refcount is 1 (what writes
 * rely on to write in place, and what qemu-img check verifies).
 *
 * Ordering keeps a crash harmless (at worst leaked clusters): references are
 * added before anything new points at them, the snapshot table and header
 * change only once the tables they name are written and synced, and
 * references are dropped only after nothing on disk uses them.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checked.h"
#include "endian.h"
#include "qcow2.h"

#define SNAP_FIXED 40
#define SNAP_EXTRA 24	/* vm_state_size_large, disk_size, icount */
#define HDR_NB_SNAPSHOTS 60

static int ref_of(struct qcow2 *s, uint64_t off, uint64_t *v, struct vimg_error *err)
{
	return qcow2_refcount_get(s, off >> s->cluster_bits, v, err);
}

/* Add addend to what one L2 entry references. */
static int entry_refs(struct qcow2 *s, uint64_t e, int addend, struct vimg_error *err)
{
	uint64_t off, len;

	if (e & QCOW2_OFLAG_COMPRESSED) {
		qcow2_compressed_range(s, e, &off, &len);
		return qcow2_refcount_update(s, off & ~511ull, len, addend, err);
	}
	off = e & QCOW2_L2E_OFFSET_MASK;
	return off ? qcow2_refcount_update(s, off, s->cluster_size, addend, err) : 0;
}

/* The entry with COPIED set exactly when what it references has refcount 1. */
static int entry_flagged(struct qcow2 *s, uint64_t e, uint64_t *out, struct vimg_error *err)
{
	uint64_t off = e & QCOW2_L2E_OFFSET_MASK, v = 2;
	int rc = 0;

	if (!(e & QCOW2_OFLAG_COMPRESSED) && off)
		rc = ref_of(s, off, &v, err);
	*out = v == 1 ? e | QCOW2_OFLAG_COPIED : e & ~QCOW2_OFLAG_COPIED;
	return rc;
}

/*
 * Walk the tree of L1 table l1: add addend (+1, -1, or 0 to only fix COPIED
 * flags) to every L2 table and what its entries reference. With addend >= 0
 * the L2 entries' and l1[]'s COPIED flags are set right afterwards; with 0
 * only tables this tree alone owns are touched. A table that drops to 0 is
 * dropped from the cache unwritten: its cluster may be reused.
 */
static int walk_tree(struct qcow2 *s, uint64_t *l1, uint32_t l1_size, uint64_t l1_off,
		     int addend, struct vimg_error *err)
{
	uint8_t *copy = malloc(s->cluster_size), *tbl;
	int rc = copy ? 0 : vimg_error_set(err, VIMG_ENOMEM, "qcow2: out of memory");

	for (uint32_t i = 0; !rc && i < l1_size; i++) {
		uint64_t l2_off, ref = 0;
		bool changed = false;

		rc = qcow2_l1_entry_check(s, l1[i], i, l1_off, &l2_off, err);
		if (rc || !l2_off)
			continue;
		rc = qcow2_cache_get(s, &s->l2c, l2_off, false, &tbl, err);
		if (rc)
			break;
		memcpy(copy, tbl, s->cluster_size);
		if (addend == 0 && !(rc = ref_of(s, l2_off, &ref, err)) && ref != 1) {
			l1[i] = l2_off; /* shared: never written in place */
			continue;
		}
		for (uint64_t j = 0; !rc && j < s->l2_entries; j++) {
			uint64_t e, bm, ne;

			qcow2_l2_load(s, copy, j, &e, &bm);
			if (addend)
				rc = entry_refs(s, e, addend, err);
			if (rc || addend < 0)
				continue;
			rc = entry_flagged(s, e, &ne, err);
			if (!rc && ne != e) {
				st_be64(copy + j * s->l2_entry_size, ne);
				changed = true;
			}
		}
		if (!rc && changed && !(rc = qcow2_cache_get(s, &s->l2c, l2_off, false, &tbl, err))) {
			memcpy(tbl, copy, s->cluster_size);
			qcow2_cache_set_dirty(&s->l2c, tbl);
		}
		if (!rc && addend)
			rc = qcow2_refcount_update(s, l2_off, s->cluster_size, addend, err);
		if (!rc)
			rc = ref_of(s, l2_off, &ref, err);
		if (!rc && ref == 0)
			qcow2_cache_drop(&s->l2c, l2_off);
		if (!rc && addend >= 0)
			l1[i] = ref == 1 ? l2_off | QCOW2_OFLAG_COPIED : l2_off;
	}
	free(copy);
	s->dc_entry = 0;
	return rc;
}

static uint64_t entry_bytes(const struct qcow2_snapshot *sn)
{
	return (SNAP_FIXED + SNAP_EXTRA + strlen(sn->id) + strlen(sn->name) + 7) & ~7ull;
}

/* Write the table of n entries to new clusters: *off and *bytes. */
static int table_write(struct qcow2 *s, const struct qcow2_snapshot *v, uint32_t n,
		       uint64_t *off, uint64_t *bytes, struct vimg_error *err)
{
	uint64_t total = 0, pos = 0;
	uint8_t *buf;
	int rc;

	for (uint32_t i = 0; i < n; i++)
		total += entry_bytes(&v[i]);
	*off = 0;
	*bytes = total;
	if (!n)
		return 0;
	if (total > QCOW2_MAX_SNAPSHOT_TABLE)
		return vimg_error_set(err, VIMG_ENOSPC, "qcow2: snapshot table would exceed limit");
	buf = calloc(1, (size_t)total);
	if (!buf)
		return vimg_error_set(err, VIMG_ENOMEM, "qcow2: out of memory");
	for (uint32_t i = 0; i < n; i++) {
		const struct qcow2_snapshot *sn = &v[i];
		uint8_t *p = buf + pos;
		size_t il = strlen(sn->id), nl = strlen(sn->name);

		st_be64(p, sn->l1_table_offset);
		st_be32(p + 8, sn->l1_size);
		st_be16(p + 12, (uint16_t)il);
		st_be16(p + 14, (uint16_t)nl);
		st_be32(p + 16, sn->date_sec);
		st_be32(p + 20, sn->date_nsec);
		st_be64(p + 24, sn->vm_clock_nsec);
		st_be32(p + 32, sn->vm_state_size > UINT32_MAX ? 0 : (uint32_t)sn->vm_state_size);
		st_be32(p + 36, SNAP_EXTRA);
		st_be64(p + 40, sn->vm_state_size);
		st_be64(p + 48, sn->disk_size);
		st_be64(p + 56, sn->icount);
		memcpy(p + SNAP_FIXED + SNAP_EXTRA, sn->id, il);
		memcpy(p + SNAP_FIXED + SNAP_EXTRA + il, sn->name, nl);
		pos += entry_bytes(sn);
	}
	rc = qcow2_alloc_clusters(s, (total + s->cluster_size - 1) >> s->cluster_bits, off, err);
	if (!rc)
		rc = file_pwrite_full(s->file, buf, (size_t)total, *off, err);
	if (!rc)
		qcow2_note_file_end(s, s->file, *off + total);
	free(buf);
	return rc;
}

/*
 * Make the table of n entries the image's: written and synced, then the
 * header switched to it, then the old table's clusters freed, then the
 * in-memory list reloaded.
 */
static int table_commit(struct qcow2 *s, const struct qcow2_snapshot *v, uint32_t n,
			struct vimg_error *err)
{
	uint64_t off, bytes, old_off = s->h.snapshots_offset, old_bytes = s->snap_table_bytes;
	uint8_t hdr[12];
	int rc;

	rc = table_write(s, v, n, &off, &bytes, err);
	if (!rc)
		rc = qcow2_cache_flush(s, err);
	if (!rc)
		rc = file_fsync(s->file, err);
	st_be32(hdr, n);
	st_be64(hdr + 4, off);
	if (!rc)
		rc = file_pwrite_full(s->file, hdr, sizeof(hdr), HDR_NB_SNAPSHOTS, err);
	if (!rc)
		rc = file_fsync(s->file, err);
	if (rc)
		return rc;
	qcow2_snapshots_free(s);
	s->h.nb_snapshots = n;
	s->h.snapshots_offset = off;
	if (old_bytes)
		rc = qcow2_refcount_update(s, old_off, old_bytes, -1, err);
	return rc ? rc : qcow2_snapshots_load(s, err);
}

/*
 * Add the references of a second L1 table to the tree of l1. A refcount
 * that would overflow (narrow refcount_bits) is found only on the way, with
 * part of the tree counted twice and some COPIED flags cleared: the
 * refcounts are then rebuilt from the tables, as for a dirty image, so the
 * refusal leaves the image as clean as it was.
 */
static int tree_ref(struct qcow2 *s, uint64_t *l1, uint32_t l1_size, uint64_t l1_off,
		    struct vimg_error *err)
{
	int rc = walk_tree(s, l1, l1_size, l1_off, +1, err);

	if (rc == VIMG_ENOSPC) {
		struct vimg_error ignored = VIMG_ERROR_INIT;

		qcow2_repair_refcounts(s, &ignored);
	}
	return rc;
}

/* COPIED in the active tree right again, where only it references a cluster. */
static int active_flags_fix(struct qcow2 *s, struct vimg_error *err)
{
	int rc = walk_tree(s, s->l1, s->l1_size, s->l1_offset, 0, err);

	return rc ? rc : qcow2_l1_write(s, s->l1_offset, s->l1, 0, s->l1_size, err);
}

static int usable(struct qcow2 *s, struct vimg_error *err)
{
	if (s->is_view || !s->writable)
		return vimg_error_set(err, VIMG_EROFS, "qcow2: image is read-only");
	if (__atomic_load_n(&s->views, __ATOMIC_ACQUIRE))
		return vimg_error_set(err, VIMG_EBUSY,
				      "qcow2: snapshot table: %u snapshot views are open",
				      __atomic_load_n(&s->views, __ATOMIC_RELAXED));
	if (qcow2_has_data_file(s))
		return vimg_error_set(err, VIMG_EUNSUPPORTED,
				      "qcow2: internal snapshots of an image with an external data "
				      "file are not possible (its data clusters have no refcounts)");
	return qcow2_cache_flush(s, err);
}

int qcow2_snapshot_sizes_record(struct qcow2 *s, struct vimg_error *err)
{
	int rc = usable(s, err);

	return rc ? rc : table_commit(s, s->snaps, s->nb_snaps, err);
}

/* The smallest numeric id above every numeric id in use (qemu's choice). */
static void next_id(const struct qcow2 *s, char *buf, size_t n)
{
	unsigned long long max = 0;

	for (uint32_t i = 0; i < s->nb_snaps; i++) {
		char *end;
		unsigned long long v = strtoull(s->snaps[i].id, &end, 10);

		if (!*end && v > max)
			max = v;
	}
	snprintf(buf, n, "%llu", max + 1);
}

int qcow2_snapshot_create(struct vimg_image *img, const char *name, struct vimg_error *err)
{
	struct qcow2 *s = qcow2_priv(img);
	struct qcow2_snapshot *v = NULL, *sn;
	struct timespec ts;
	char id[24];
	int rc = usable(s, err);

	if (rc)
		return rc;
	/* Names need not be unique: qemu-img snapshot -c takes a name twice, and
	 * -a and -d then find the oldest. Only the id is unique. */
	if (!*name || strlen(name) > 1023)
		return vimg_error_set(err, VIMG_EINVAL, "qcow2: snapshot name must be 1-1023 bytes");
	if (s->refcount_max < 2)
		return vimg_error_set(err, VIMG_EUNSUPPORTED,
				      "qcow2: refcount_bits=1 cannot count a snapshot's references");
	if (s->nb_snaps >= QCOW2_MAX_SNAPSHOTS)
		return vimg_error_set(err, VIMG_ENOSPC, "qcow2: %u snapshots is the limit",
				      QCOW2_MAX_SNAPSHOTS);
	v = calloc(s->nb_snaps + 1, sizeof(*v));
	if (!v)
		return vimg_error_set(err, VIMG_ENOMEM, "qcow2: out of memory");
	if (s->nb_snaps) /* s->snaps is NULL without snapshots */
		memcpy(v, s->snaps, s->nb_snaps * sizeof(*v));
	sn = &v[s->nb_snaps];
	/* The active tree gains a reference from the new snapshot's L1. */
	rc = tree_ref(s, s->l1, s->l1_size, s->l1_offset, err);
	if (!rc)
		rc = qcow2_l1_write(s, s->l1_offset, s->l1, 0, s->l1_size, err);
	if (!rc)
		rc = qcow2_l1_place(s, s->l1, s->l1_size, &sn->l1_table_offset, err);
	if (!rc) {
		clock_gettime(CLOCK_REALTIME, &ts);
		next_id(s, id, sizeof(id));
		sn->l1_size = s->l1_size;
		sn->id = id;
		sn->name = (char *)name;
		sn->date_sec = (uint32_t)ts.tv_sec;
		sn->date_nsec = (uint32_t)ts.tv_nsec;
		sn->disk_size = s->h.size;
		sn->icount = 0; /* what qemu-img snapshot -c records */
		rc = table_commit(s, v, s->nb_snaps + 1, err);
	}
	free(v);
	return rc;
}

int qcow2_snapshot_apply(struct vimg_image *img, const char *id_or_name,
			 struct vimg_error *err)
{
	struct qcow2 *s = qcow2_priv(img);
	const struct qcow2_snapshot *sn;
	uint64_t *l1 = NULL, *old = NULL, off = s->l1_offset;
	uint32_t n;
	int rc = usable(s, err);

	if (rc)
		return rc;
	if (!(sn = qcow2_snapshot_find(s, id_or_name)))
		return vimg_error_set(err, VIMG_ENOENT, "qcow2: snapshot \"%s\" not found", id_or_name);
	rc = qcow2_snapshot_l1_load(s, sn, &old, err);
	n = sn->l1_size > s->l1_size ? sn->l1_size : s->l1_size;
	if (!rc)
		rc = vimg_alloc_table(n ? n : 1, 8, QCOW2_MAX_L1_BYTES, "qcow2: L1 size",
				      (void **)&l1, err);
	if (rc)
		goto out;
	memcpy(l1, old, (size_t)sn->l1_size * 8);
	/* The snapshot's tree gains the active L1's reference first ... */
	rc = tree_ref(s, l1, n, sn->l1_table_offset, err);
	if (!rc && n > s->l1_size)
		rc = qcow2_l1_place(s, l1, n, &off, err);
	else if (!rc)
		rc = qcow2_l1_write(s, off, l1, 0, n, err);
	if (!rc)
		rc = file_fsync(s->file, err);
	if (!rc && (off != s->l1_offset || n != s->l1_size || sn->disk_size != s->h.size))
		rc = qcow2_write_size_l1(s, sn->disk_size, n, off, err);
	if (rc)
		goto out;
	/* ... and only then does the tree it replaced lose one. */
	{
		uint64_t *prev = s->l1, prev_off = s->l1_offset;
		uint32_t prev_n = s->l1_size;

		s->l1 = l1;
		s->l1_size = n;
		s->l1_offset = off;
		l1 = NULL;
		rc = walk_tree(s, prev, prev_n, prev_off, -1, err);
		if (!rc && prev_off != off && prev_n)
			rc = qcow2_refcount_update(s, prev_off, (uint64_t)prev_n * 8, -1, err);
		free(prev);
	}
	image_set_size(img, sn->disk_size);
	if (!rc)
		rc = active_flags_fix(s, err);
out:
	free(l1);
	free(old);
	return rc;
}

/*
 * qemu-img snapshot -d looks a snapshot up by name only (-a by id first):
 * so a name wins over an equal id here, and an id is the fallback.
 */
static const struct qcow2_snapshot *find_for_delete(const struct qcow2 *s, const char *id_or_name)
{
	for (uint32_t i = 0; i < s->nb_snaps; i++)
		if (strcmp(s->snaps[i].name, id_or_name) == 0)
			return &s->snaps[i];
	return qcow2_snapshot_find(s, id_or_name);
}

int qcow2_snapshot_delete(struct vimg_image *img, const char *id_or_name,
			  struct vimg_error *err)
{
	struct qcow2 *s = qcow2_priv(img);
	const struct qcow2_snapshot *sn;
	struct qcow2_snapshot *v = NULL, gone;
	uint64_t *l1 = NULL;
	uint32_t k = 0;
	int rc = usable(s, err);

	if (rc)
		return rc;
	if (!(sn = find_for_delete(s, id_or_name)))
		return vimg_error_set(err, VIMG_ENOENT, "qcow2: snapshot \"%s\" not found", id_or_name);
	rc = qcow2_snapshot_l1_load(s, sn, &l1, err);
	v = rc ? NULL : calloc(s->nb_snaps + 1, sizeof(*v));
	if (!rc && !v)
		rc = vimg_error_set(err, VIMG_ENOMEM, "qcow2: out of memory");
	if (rc)
		goto out;
	for (uint32_t i = 0; i < s->nb_snaps; i++)
		if (&s->snaps[i] != sn)
			v[k++] = s->snaps[i];
	gone = *sn;
	gone.id = gone.name = NULL; /* freed with the old list */
	/* The table forgets the snapshot before its clusters lose a reference. */
	rc = table_commit(s, v, k, err);
	if (!rc)
		rc = walk_tree(s, l1, gone.l1_size, gone.l1_table_offset, -1, err);
	if (!rc && gone.l1_size)
		rc = qcow2_refcount_update(s, gone.l1_table_offset, (uint64_t)gone.l1_size * 8, -1,
					   err);
	/* What only the active tree references now is writable in place. */
	if (!rc)
		rc = active_flags_fix(s, err);
out:
	free(l1);
	free(v);
	return rc;
}
