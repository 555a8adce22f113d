/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vimg_image_sparsify: in place, every unit of the image's own layer that
 * holds data reading as zeros is made zero through the format's metadata
 * (VIMG_ZERO_MAY_UNMAP: the driver frees it where the format can say
 * "zero" or "not allocated" and still read the same), as virt-sparsify
 * --in-place and Optimize-VHD do. A unit is the image's cluster (grain,
 * block), or 64 KiB for formats without one. A format whose driver cannot
 * zero through metadata is refused: writing zeros over zeros gains nothing
 * (and a VHDX grew from it). What the host got back is for the caller to
 * measure once the image is closed: drivers free space as late as then.
 */
#include "config.h"

#include <stdlib.h>

#include "checked.h"
#include "internal.h"

#define SPARSIFY_CHUNK (4u << 20)

int vimg_image_sparsify(struct vimg_image *img, unsigned flags, vimg_progress_fn *progress,
			void *opaque, struct vimg_sparsify *rep, struct vimg_error *err)
{
	uint64_t unit, off = 0;
	uint8_t *buf;
	int rc = 0;

	*rep = (struct vimg_sparsify){ 0 };
	if (!image_valid(img))
		return vimg_error_set(err, VIMG_EINVAL, "vimg_image_sparsify: invalid handle");
	if (!(flags & VIMG_SPARSIFY_DRY_RUN) && !img->writable)
		return vimg_error_set(err, VIMG_EROFS, "%s: opened read-only", img->path);
	if (img->sequential_writes && !(flags & VIMG_SPARSIFY_DRY_RUN))
		return vimg_error_set(err, VIMG_EUNSUPPORTED,
				      "%s: a stream is written once; convert it instead", img->path);
	if (!img->drv->zero && !(flags & VIMG_SPARSIFY_DRY_RUN))
		return vimg_error_set(err, VIMG_EUNSUPPORTED,
				      "%s: cannot mark clusters zero: sparsifying in place is not "
				      "supported (vimg convert leaves zeros out of a copy)",
				      img->drv->name);
	unit = img->cluster_size ? img->cluster_size : 65536;
	if (unit > SPARSIFY_CHUNK)
		unit = SPARSIFY_CHUNK;
	if (!(buf = malloc(SPARSIFY_CHUNK)))
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	while (!rc && off < img->size) {
		struct vimg_run run;

		rc = vimg_image_block_status(img, off, img->size - off, &run, err);
		if (rc)
			break;
		if (run.kind == VIMG_RUN_DATA) {
			rep->data_bytes += run.length;
			for (uint64_t pos = off; !rc && pos < off + run.length;) {
				/* Chunks aligned to units, so that units are whole. */
				uint64_t n = min_u64(off + run.length - pos,
						     SPARSIFY_CHUNK - pos % SPARSIFY_CHUNK);

				rc = vimg_image_read(img, buf, pos, (size_t)n, err);
				for (uint64_t u = 0; !rc && u < n;) {
					uint64_t m = min_u64(n - u, unit - (pos + u) % unit);

					if (buf_is_zero(buf + u, (size_t)m)) {
						rep->zero_bytes += m;
						if (!(flags & VIMG_SPARSIFY_DRY_RUN))
							rc = vimg_image_zero(img, pos + u, m,
									     VIMG_ZERO_MAY_UNMAP,
									     err);
					}
					u += m;
				}
				pos += n;
			}
		}
		off += run.length;
		if (progress)
			progress(opaque, off, img->size);
	}
	free(buf);
	if (!rc && !(flags & VIMG_SPARSIFY_DRY_RUN))
		rc = vimg_image_flush(img, err);
	return rc;
}
