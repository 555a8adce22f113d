/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Changing a qcow2 image's backing file (qemu-img rebase): the first
 * cluster is rebuilt with every header extension kept but the backing
 * format, then the new backing format extension, the end marker and the
 * new name after them (qcow2.txt "Header extensions"; the name must fit in
 * the first cluster), and written in one piece. Data is not touched.
 */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "endian.h"
#include "qcow2.h"

/* Append one extension (padded to 8 bytes) at *pos if it fits before end. */
static bool ext_append(uint8_t *c, uint64_t *pos, uint64_t end, uint32_t type,
		       const void *data, uint32_t len)
{
	uint64_t need = 8 + ((uint64_t)len + 7) / 8 * 8;

	if (*pos + need > end)
		return false;
	st_be32(c + *pos, type);
	st_be32(c + *pos + 4, len);
	memcpy(c + *pos + 8, data, len);
	*pos += need;
	return true;
}

int qcow2_rewrite_first_cluster(struct qcow2 *s, const struct qcow2_header *nh,
				const char *name, const char *fmt, struct vimg_error *err)
{
	uint64_t cs = s->cluster_size, pos = s->h.header_length, end = cs, out;
	size_t blen = name ? strlen(name) : 0;
	struct qcow2_header_disk d;
	char *nfmt = NULL;
	uint8_t *c;
	int rc;

	if (name && (blen == 0 || blen > QCOW2_MAX_BACKING_NAME))
		return vimg_error_set(err, VIMG_EINVAL,
				      "qcow2: backing file name must be 1..%d bytes",
				      QCOW2_MAX_BACKING_NAME);
	if (nh->header_length < s->h.header_length || nh->header_length > cs / 2)
		return vimg_error_set(err, VIMG_EINVAL, "qcow2: header length %u cannot replace %u",
				      nh->header_length, s->h.header_length);
	if (fmt && !(nfmt = strdup(fmt)))
		return vimg_error_set(err, VIMG_ENOMEM, "qcow2: out of memory");
	if (!(c = calloc(1, cs))) {
		free(nfmt);
		return vimg_error_set(err, VIMG_ENOMEM, "qcow2: out of memory");
	}
	/* Header bytes vimg does not know (a longer header_length) stay. */
	memcpy(c, s->hdr_cluster, s->h.header_length);
	qcow2_header_encode(nh, &d);
	memcpy(c, &d, (size_t)min_u64(nh->version >= 3 ? nh->header_length : QCOW2_V2_HEADER_LEN,
				      sizeof(d)));
	out = nh->header_length;
	if (s->h.backing_file_offset && s->h.backing_file_offset < end)
		end = s->h.backing_file_offset;
	/* Extensions were validated on open; keep all but the backing format. */
	while (pos + 8 <= end) {
		uint32_t type = ld_be32(s->hdr_cluster + pos);
		uint32_t len = ld_be32(s->hdr_cluster + pos + 4);
		uint64_t step = 8 + ((uint64_t)len + 7) / 8 * 8;

		if (type == QCOW2_EXT_END || len > end - pos - 8)
			break;
		if (type != QCOW2_EXT_BACKING_FORMAT) {
			if (out + step + 8 + blen > cs)
				break;
			memcpy(c + out, s->hdr_cluster + pos, (size_t)min_u64(step, end - pos));
			out += step;
		}
		pos += step;
	}
	if (pos + 8 <= end && ld_be32(s->hdr_cluster + pos) != QCOW2_EXT_END) {
		rc = vimg_error_set(err, VIMG_EUNSUPPORTED, "qcow2: the header extensions do not "
				    "fit in the first cluster (%" PRIu64 " bytes)", cs);
		goto fail;
	}
	if ((nfmt && !ext_append(c, &out, cs - blen - 8, QCOW2_EXT_BACKING_FORMAT, nfmt,
				 (uint32_t)strlen(nfmt))) ||
	    out + 8 + blen > cs) {
		rc = vimg_error_set(err, VIMG_EUNSUPPORTED,
				    "qcow2: the header extensions and \"%s\" do not fit in the "
				    "first cluster (%" PRIu64 " bytes)", name ? name : "", cs);
		goto fail;
	}
	out += 8; /* the end marker, zero */
	if (blen)
		memcpy(c + out, name, blen);
	st_be64(c + 8, blen ? out : 0);
	st_be32(c + 16, (uint32_t)blen);
	rc = file_pwrite_full(s->file, c, (size_t)cs, 0, err);
	if (!rc)
		rc = file_fsync(s->file, err);
	if (rc)
		goto fail;
	s->h = *nh;
	s->h.backing_file_offset = blen ? out : 0;
	s->h.backing_file_size = (uint32_t)blen;
	free(s->hdr_cluster);
	s->hdr_cluster = c;
	free(s->backing_fmt);
	s->backing_fmt = nfmt;
	return 0;
fail:
	free(c);
	free(nfmt);
	return rc;
}

int qcow2_set_backing(struct vimg_image *img, const char *name, struct vimg_image *parent,
		      struct vimg_error *err)
{
	struct qcow2 *s = image_priv(img);

	if (s->data_file_name && s->h.autoclear_features & 1)
		return vimg_error_set(err, VIMG_EUNSUPPORTED,
				      "qcow2: the data file is a raw image of the disk: it can "
				      "have no backing file");
	return qcow2_rewrite_first_cluster(s, &s->h, name,
					   parent ? vimg_format_qemu_name(vimg_image_format(parent))
						  : NULL, err);
}
