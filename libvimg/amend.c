/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vimg_image_amend: options parsed against the format's create table (qemu
 * amends with create's names), the image flushed so the driver sees it
 * consistent, then the driver's amend under the image lock.
 */
#include "config.h"

#include "internal.h"

int vimg_image_amend(struct vimg_image *img, const char *options, struct vimg_error *err)
{
	struct vimg_opts *opts;
	int rc;

	if (!image_valid(img))
		return vimg_error_set(err, VIMG_EINVAL, "vimg_image_amend: invalid handle");
	if (!img->drv->amend)
		return vimg_error_set(err, VIMG_EUNSUPPORTED, "%s: amending is not supported",
				      img->drv->name);
	if (!img->writable)
		return vimg_error_set(err, VIMG_EROFS, "%s: opened read-only", img->path);
	if ((rc = opts_parse(img->drv, options, &opts, err)))
		return rc;
	rc = vimg_image_flush(img, err);
	if (!rc) {
		image_lock(img, true);
		rc = img->drv->amend(img, opts, err);
		image_unlock(img);
	}
	opts_free(opts);
	return rc;
}
