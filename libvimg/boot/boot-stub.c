/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vimg boot when the launcher is not built (--disable-boot, or no x86-64 Linux). */
#include "config.h"

#include <string.h>

#include "vimg.h"

const char *vimg_boot_stage_name(enum vimg_boot_stage stage)
{
	static const char *const names[] = { "none", "firmware", "loader", "kernel", "userspace" };
	return (unsigned)stage < VIMG_BOOT_NSTAGES ? names[stage] : "unknown";
}

int vimg_boot_run(struct vimg_image *img, const struct vimg_boot_opts *o,
		  struct vimg_boot_result *r, struct vimg_error *err)
{
	if (r)
		memset(r, 0, sizeof(*r));
	return vimg_error_set(err, VIMG_EUNSUPPORTED, "boot: built without the boot launcher");
}
