/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The guest's disk: the image, never written, under a top layer that takes
 * every guest write. By default that layer is the library's in-memory
 * overlay (libvimg/overlay-mem.c); with a path it is a new qcow2 file whose
 * backing file is the image. Either way the guest sees a two-level chain.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "boot.h"
#include "driver.h"

#define OVERLAY_MEM_MAX (1ull << 30) /* guest writes held in memory at most */

int overlay_open(struct vimg_image *img, const char *path, struct vimg_image **out,
		 struct vimg_error *err)
{
	*out = NULL;
	if (!path) {
		int rc = overlay_mem_open(img, OVERLAY_MEM_MAX, out, err);
		return rc < 0 ? vimg_error_prefix(err, "boot overlay (use --overlay FILE)") : 0;
	}
	char *abs = realpath(vimg_image_filename(img), NULL);
	if (!abs)
		return vimg_error_set_errno(err, errno, "%s", vimg_image_filename(img));
	int rc = vimg_image_create(path, "qcow2", 0, NULL, abs, vimg_image_format(img),
				   VIMG_CREATE_ALLOW_ESCAPE, err);
	if (rc == 0)
		rc = vimg_image_open(path, "qcow2", VIMG_OPEN_RDWR | VIMG_OPEN_ALLOW_ESCAPE, out,
				     err);
	free(abs);
	return rc < 0 ? vimg_error_prefix(err, "overlay %s", path) : 0;
}
