/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qcow2 internal snapshots (qemu docs/interop/qcow2.txt "Snapshots"): the
 * snapshot table is decoded once at open (bounded in count and bytes),
 * listed, and opened as read-only views that use the snapshot's L1 table.
 *
 * A view's state is a copy of the parent's with is_view set: strings, the
 * header cluster and the snapshot table stay owned by the parent (which the
 * caller closes last); the view owns only its L1 table and caches. The
 * parent counts its open views, and refuses to change its snapshots while
 * any is open (their L1 trees could be freed under them).
 */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "endian.h"
#include "qcow2.h"

#define SNAP_FIXED 40

static char *dup_str(const uint8_t *p, size_t n)
{
	char *r = malloc(n + 1);

	if (r) {
		memcpy(r, p, n);
		r[n] = 0;
	}
	return r;
}

int qcow2_snapshots_load(struct qcow2 *s, struct vimg_error *err)
{
	uint64_t pos = s->h.snapshots_offset, total = 0;
	uint8_t fixed[SNAP_FIXED], *var = NULL;
	int rc = 0;

	if (!s->h.nb_snapshots)
		return 0;
	s->snaps = calloc(s->h.nb_snapshots, sizeof(*s->snaps));
	if (!s->snaps)
		return vimg_error_set(err, VIMG_ENOMEM, "qcow2: out of memory for snapshots");
	for (uint32_t i = 0; i < s->h.nb_snapshots; i++) {
		struct qcow2_snapshot *sn = &s->snaps[i];
		uint32_t extra, id_len, name_len;
		uint64_t size;

		rc = file_pread_full(s->file, fixed, SNAP_FIXED, pos, err);
		if (rc)
			return vimg_error_prefix(err, "qcow2: snapshot %u (offset 0x%" PRIx64 ")", i,
						 pos);
		sn->entry_offset = pos;
		sn->l1_table_offset = ld_be64(fixed);
		sn->l1_size = ld_be32(fixed + 8);
		id_len = ld_be16(fixed + 12);
		name_len = ld_be16(fixed + 14);
		sn->date_sec = ld_be32(fixed + 16);
		sn->date_nsec = ld_be32(fixed + 20);
		sn->vm_clock_nsec = ld_be64(fixed + 24);
		sn->vm_state_size = ld_be32(fixed + 32);
		extra = ld_be32(fixed + 36);
		if (extra > 1024)
			return vimg_error_set(err, VIMG_ECORRUPT,
					      "qcow2: snapshot %u: extra data size %u too large "
					      "(offset 0x%" PRIx64 ")",
					      i, extra, pos);
		size = SNAP_FIXED + (uint64_t)extra + id_len + name_len;
		size = (size + 7) & ~7ull;
		total += size;
		if (total > QCOW2_MAX_SNAPSHOT_TABLE)
			return vimg_error_set(err, VIMG_ECORRUPT,
					      "qcow2: snapshot table: size exceeds limit");
		var = malloc(size - SNAP_FIXED + 1);
		if (!var)
			return vimg_error_set(err, VIMG_ENOMEM, "qcow2: out of memory");
		rc = file_pread_full(s->file, var, (size_t)(extra + id_len + name_len),
				     pos + SNAP_FIXED, err);
		if (rc) {
			free(var);
			return vimg_error_prefix(err, "qcow2: snapshot %u (offset 0x%" PRIx64 ")", i,
						 pos);
		}
		sn->disk_size = s->h.size;
		sn->icount = UINT64_MAX;
		if (extra >= 8)
			sn->vm_state_size = ld_be64(var);
		if (extra >= 16)
			sn->disk_size = ld_be64(var + 8);
		if (extra >= 24)
			sn->icount = ld_be64(var + 16);
		sn->id = dup_str(var + extra, id_len);
		sn->name = dup_str(var + extra + id_len, name_len);
		free(var);
		if (!sn->id || !sn->name)
			return vimg_error_set(err, VIMG_ENOMEM, "qcow2: out of memory");
		s->nb_snaps = i + 1;
		pos += size;
	}
	s->snap_table_bytes = total;
	return 0;
}

void qcow2_snapshots_free(struct qcow2 *s)
{
	for (uint32_t i = 0; s->snaps && i < s->h.nb_snapshots; i++) {
		free(s->snaps[i].id);
		free(s->snaps[i].name);
	}
	free(s->snaps);
	s->snaps = NULL;
	s->nb_snaps = 0;
}

int qcow2_snapshot_list(struct vimg_image *img,
			int (*cb)(void *opaque, const struct vimg_snapshot *sn), void *opaque,
			struct vimg_error *err)
{
	struct qcow2 *s = qcow2_priv(img);

	for (uint32_t i = 0; i < s->nb_snaps; i++) {
		const struct qcow2_snapshot *q = &s->snaps[i];
		struct vimg_snapshot v = {
			.id = q->id,
			.name = q->name,
			.vm_state_size = q->vm_state_size,
			.date_sec = q->date_sec,
			.date_nsec = q->date_nsec,
			.vm_clock_nsec = q->vm_clock_nsec,
			.disk_size = q->disk_size,
			.icount = q->icount,
		};
		int r = cb(opaque, &v);

		if (r)
			return r;
	}
	return 0;
}

const struct qcow2_snapshot *qcow2_snapshot_find(const struct qcow2 *s, const char *id_or_name)
{
	for (uint32_t i = 0; i < s->nb_snaps; i++)
		if (strcmp(s->snaps[i].id, id_or_name) == 0)
			return &s->snaps[i];
	for (uint32_t i = 0; i < s->nb_snaps; i++)
		if (strcmp(s->snaps[i].name, id_or_name) == 0)
			return &s->snaps[i];
	return NULL;
}

int qcow2_snapshot_l1_load(struct qcow2 *s, const struct qcow2_snapshot *sn, uint64_t **out,
			   struct vimg_error *err)
{
	uint64_t end, cover, need, *l1;
	uint8_t *raw;
	int rc;

	*out = NULL;
	if ((uint64_t)sn->l1_size * 8 > QCOW2_MAX_L1_BYTES)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "qcow2: snapshot %s: L1 size %u exceeds limit", sn->id,
				      sn->l1_size);
	if (sn->disk_size > QCOW2_MAX_VIRTUAL_SIZE)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "qcow2: snapshot %s: disk size %" PRIu64 " exceeds limit",
				      sn->id, sn->disk_size);
	cover = s->cluster_bits + s->l2_bits;
	need = (sn->disk_size + (1ull << cover) - 1) >> cover;
	if (sn->l1_size < need)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "qcow2: snapshot %s: L1 table too small for disk size %" PRIu64,
				      sn->id, sn->disk_size);
	if (sn->l1_size && ((sn->l1_table_offset & (s->cluster_size - 1)) ||
			    sn->l1_table_offset < s->cluster_size ||
			    ck_add(sn->l1_table_offset, (uint64_t)sn->l1_size * 8, &end) ||
			    end > s->file_size))
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "qcow2: snapshot %s: L1 table invalid or beyond end of file "
				      "(offset 0x%" PRIx64 ")",
				      sn->id, sn->l1_table_offset);
	rc = vimg_alloc_table(sn->l1_size ? sn->l1_size : 1, sizeof(uint64_t), QCOW2_MAX_L1_BYTES,
			      "qcow2: snapshot L1 size", (void **)&l1, err);
	if (rc)
		return rc;
	if (sn->l1_size) {
		raw = malloc((size_t)sn->l1_size * 8);
		if (!raw) {
			free(l1);
			return vimg_error_set(err, VIMG_ENOMEM, "qcow2: out of memory");
		}
		rc = file_pread_full(s->file, raw, (size_t)sn->l1_size * 8, sn->l1_table_offset, err);
		for (uint32_t i = 0; rc == 0 && i < sn->l1_size; i++)
			l1[i] = ld_be64(raw + 8 * (size_t)i);
		free(raw);
		if (rc) {
			free(l1);
			return rc;
		}
	}
	*out = l1;
	return 0;
}

int qcow2_snapshot_open(struct vimg_image *img, const char *id_or_name, struct vimg_image *view,
			struct vimg_error *err)
{
	struct qcow2 *s = qcow2_priv(img), *v = qcow2_priv(view);
	const struct qcow2_snapshot *sn = qcow2_snapshot_find(s, id_or_name);
	int rc;

	if (!sn)
		return vimg_error_set(err, VIMG_ENOENT, "qcow2: no snapshot \"%s\"", id_or_name);

	*v = *s;
	v->is_view = true;
	v->views = 0;
	v->parent = NULL; /* counted below, once the view is complete */
	v->writable = false;
	v->img = view;
	v->own_data_file = false;
	memset(&v->l2c, 0, sizeof(v->l2c));
	memset(&v->rbc, 0, sizeof(v->rbc));
	v->l1 = NULL;
	v->rt = NULL;
	v->dc_buf = NULL;
	v->dc_entry = 0;
	v->h.size = sn->disk_size;
	rc = qcow2_snapshot_l1_load(s, sn, &v->l1, err);
	if (rc)
		return rc;
	v->l1_size = sn->l1_size;
	v->l1_offset = sn->l1_table_offset;
	image_set_size(view, sn->disk_size);
	v->parent = s;
	__atomic_fetch_add(&s->views, 1, __ATOMIC_ACQUIRE);
	return 0;
}
