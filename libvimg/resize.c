/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vimg_image_resize: what every format shares before its resize callback
 * runs. Shrinking is refused while the part cut off holds data anywhere in
 * the chain (the guest would lose it) unless the caller says so, as
 * qemu-img's --shrink; the driver then only has to move its own metadata.
 */
#include "config.h"

#include "internal.h"

/* The first offset at or after `from` that reads data from some layer, or
 * img->size when none does. */
static int first_data(struct vimg_image *img, uint64_t from, uint64_t *at,
		      struct vimg_error *err)
{
	uint64_t off = from;

	while (off < img->size) {
		struct vimg_run run;
		int rc = vimg_image_block_status_above(img, NULL, off, img->size - off, &run,
						       NULL, err);

		if (rc)
			return rc;
		if (run.kind == VIMG_RUN_DATA)
			break;
		off += run.length;
	}
	*at = off < img->size ? off : img->size;
	return 0;
}

int vimg_image_resize(struct vimg_image *img, uint64_t size, unsigned flags,
		      struct vimg_error *err)
{
	unsigned prealloc;
	int rc;

	if (!image_valid(img))
		return vimg_error_set(err, VIMG_EINVAL, "vimg_image_resize: invalid handle");
	prealloc = flags & VIMG_RESIZE_PREALLOC_MASK;
	if (prealloc & (prealloc - 1))
		return vimg_error_set(err, VIMG_EINVAL, "resize: one preallocation mode at most");
	if (!img->drv->resize)
		return vimg_error_set(err, VIMG_EUNSUPPORTED, "%s: resizing is not supported",
				      img->drv->name);
	if (!img->writable)
		return vimg_error_set(err, VIMG_EROFS, "%s: opened read-only", img->path);
	if (size == 0)
		return vimg_error_set(err, VIMG_EINVAL, "%s: the new size is 0", img->path);
	if (size == img->size)
		return 0;
	if (size < img->size && !(flags & VIMG_RESIZE_SHRINK)) {
		uint64_t at;

		if ((rc = first_data(img, size, &at, err)))
			return rc;
		if (at < img->size)
			return vimg_error_set(err, VIMG_EINVAL,
					      "%s: shrinking to %llu bytes would cut data at offset "
					      "%llu (allow it with --shrink)", img->path,
					      (unsigned long long)size, (unsigned long long)at);
	}
	image_lock(img, true);
	rc = img->drv->resize(img, size, flags, err);
	image_unlock(img);
	return rc;
}
