/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qemu-img amend for qcow2: the version (0.10 <-> 1.1) and lazy refcounts.
 * The options come in create's table; those that shape the layout
 * (cluster_size, refcount_bits, extended_l2, ...) cannot change and say so.
 * Going up to 1.1 rewrites the first cluster with the longer header; going
 * down is refused while the image uses what version 2 cannot say (zero
 * clusters, feature bits, internal snapshots, other refcount widths).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "qcow2.h"

static const char *const fixed_keys[] = {
	"cluster_size", "compression_type", "extended_l2", "preallocation", "refcount_bits",
	"data_file", "data_file_raw", NULL,
};

/* Any zero-flagged L2 entry in the active table (version 2 has none). */
static int has_zero_clusters(struct qcow2 *s, bool *yes, struct vimg_error *err)
{
	*yes = false;
	for (uint32_t i = 0; i < s->l1_size && !*yes; i++) {
		uint64_t l2 = s->l1[i] & QCOW2_L2E_OFFSET_MASK;
		uint8_t *tbl;
		int rc;

		if (!l2)
			continue;
		if ((rc = qcow2_cache_get(s, &s->l2c, l2, false, &tbl, err)))
			return rc;
		for (uint64_t k = 0; k < s->l2_entries && !*yes; k++) {
			uint64_t e, bm;

			qcow2_l2_load(s, tbl, k, &e, &bm);
			*yes = !(e & QCOW2_OFLAG_COMPRESSED) && (e & QCOW2_OFLAG_ZERO);
		}
	}
	return 0;
}

int qcow2_amend(struct vimg_image *img, const struct vimg_opts *opts, struct vimg_error *err)
{
	struct qcow2 *s = image_priv(img);
	struct qcow2_header nh = s->h;
	char name[QCOW2_MAX_BACKING_NAME + 1] = "";
	bool lazy, zeros;
	int rc;

	for (size_t i = 0; fixed_keys[i]; i++)
		if (opts_given(opts, fixed_keys[i]))
			return vimg_error_set(err, VIMG_EUNSUPPORTED,
					      "qcow2: %s cannot be amended (convert the image)",
					      fixed_keys[i]);
	if (opts_given(opts, "compat")) {
		const char *v = opts_get(opts, "compat");

		nh.version = !strcmp(v, "0.10") || !strcmp(v, "v2") ? 2 : 3;
	}
	if (nh.version == 3 && s->h.version == 2) {
		nh.header_length = QCOW2_HEADER_DISK_LEN;
		nh.refcount_order = 4;
		nh.incompatible_features = nh.compatible_features = nh.autoclear_features = 0;
	}
	if ((rc = opts_get_bool(opts, "lazy_refcounts", &lazy, err)))
		return rc;
	if (opts_given(opts, "lazy_refcounts")) {
		if (lazy && nh.version < 3)
			return vimg_error_set(err, VIMG_EINVAL,
					      "qcow2: lazy refcounts need compat=1.1");
		nh.compatible_features = lazy ? nh.compatible_features | QCOW2_COMPAT_LAZY_REFCOUNTS
					      : nh.compatible_features & ~QCOW2_COMPAT_LAZY_REFCOUNTS;
	}
	if (nh.version == 2 && s->h.version == 3) {
		if ((rc = has_zero_clusters(s, &zeros, err)))
			return rc;
		if (zeros || s->h.nb_snapshots || s->h.refcount_order != 4 ||
		    (s->h.incompatible_features & ~QCOW2_INCOMPAT_DIRTY) ||
		    (nh.compatible_features & QCOW2_COMPAT_LAZY_REFCOUNTS) ||
		    s->h.autoclear_features)
			return vimg_error_set(err, VIMG_EUNSUPPORTED,
					      "qcow2: compat=0.10 cannot say what this image uses "
					      "(%s); convert it with -o compat=0.10",
					      zeros ? "zero clusters" :
					      s->h.nb_snapshots ? "internal snapshots" :
					      s->h.refcount_order != 4 ? "a refcount width other than 16" :
					      "lazy refcounts or feature bits");
		nh.header_length = QCOW2_V2_HEADER_LEN;
		nh.incompatible_features = nh.compatible_features = nh.autoclear_features = 0;
	}
	if (!memcmp(&nh, &s->h, sizeof(nh)))
		return 0;
	/* The core flushed: refcounts are exact and the dirty bit is clear. */
	nh.incompatible_features &= ~QCOW2_INCOMPAT_DIRTY;
	if (s->h.backing_file_offset) {
		memcpy(name, s->hdr_cluster + s->h.backing_file_offset, s->h.backing_file_size);
		name[s->h.backing_file_size] = 0;
	}
	if (nh.version == 2 && s->h.header_length > QCOW2_V2_HEADER_LEN) {
		/* A shorter header: rebuild from a copy that starts where v2 ends. */
		struct qcow2_header old = s->h;

		s->h.header_length = QCOW2_V2_HEADER_LEN;
		memmove(s->hdr_cluster + QCOW2_V2_HEADER_LEN, s->hdr_cluster + old.header_length,
			s->cluster_size - old.header_length);
		rc = qcow2_rewrite_first_cluster(s, &nh, *name ? name : NULL, s->backing_fmt, err);
		if (rc) {
			memmove(s->hdr_cluster + old.header_length,
				s->hdr_cluster + QCOW2_V2_HEADER_LEN,
				s->cluster_size - old.header_length);
			s->h = old;
		}
	} else {
		rc = qcow2_rewrite_first_cluster(s, &nh, *name ? name : NULL, s->backing_fmt, err);
	}
	if (!rc)
		s->dirty_set = false;
	return rc;
}
