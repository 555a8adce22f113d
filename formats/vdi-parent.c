/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Differencing VDI images (image type 4): the parent link. A VDI names its
 * parent only by UUID (uuid_link, the parent's uuid_image; uuid_parent, the
 * parent's modification UUID when the link was made); VirtualBox keeps the
 * paths in the .vbox media registry. So the parent is looked for among the
 * .vdi files in the image's directory and, when the caller allows names
 * outside it, in the directory above (VirtualBox puts differencing images
 * in the VM's Snapshots/ folder and the base disk in the VM folder). Two
 * candidates with the link's UUID are told apart by the modification UUID,
 * else refused as ambiguous: a copy of the parent is not the parent.
 *
 * A free block (0xffffffff) reads from the parent, a zero block
 * (0xfffffffe) reads as zeros, as VirtualBox reads them; the driver's
 * block_status already says so (UNALLOCATED, ZERO), and partial writes to a
 * free block fill the rest from the parent (vdi.c alloc_write).
 */
#include "config.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "endian.h"
#include "vdi.h"

bool vdi_uuid_is_null(const uint8_t u[16])
{
	for (int i = 0; i < 16; i++)
		if (u[i])
			return false;
	return true;
}

/* The UUIDs of the VDI at path; false if it is not a readable VDI 1.1. */
static bool candidate_uuids(const char *path, uint8_t image[16], uint8_t modified[16])
{
	struct vdi_header_disk d;
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_file *f;
	bool ok = false;

	if (file_open(path, 0, &f, &err)) {
		vimg_error_clear(&err);
		return false;
	}
	if (!file_pread_full(f, &d, sizeof(d), 0, &err) &&
	    ld_le32(d.signature) == VDI_SIGNATURE && ld_le32(d.version) == VDI_VERSION_1_1) {
		memcpy(image, d.uuid_image, 16);
		memcpy(modified, d.uuid_last_snap, 16);
		ok = true;
	}
	vimg_error_clear(&err);
	file_close(f);
	return ok;
}

static bool has_vdi_suffix(const char *name)
{
	size_t n = strlen(name);

	return n > 4 && !strcasecmp(name + n - 4, ".vdi");
}

struct parent_search {
	const struct vdi *child;
	char *found;		/* name relative to the image's directory */
	bool found_exact;	/* its modification UUID matches uuid_parent */
	char *other;		/* a second candidate, for the ambiguity message */
};

/* Look in dir (prefix: how names there are written relative to the image). */
static int search_dir(struct parent_search *ps, const char *dir, const char *prefix,
		      struct vimg_error *err)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int rc = 0;

	if (!d)
		return 0;	/* an unreadable directory holds no candidate */
	while (!rc && (de = readdir(d))) {
		uint8_t image[16], modified[16];
		char *path = NULL, *name = NULL;
		struct stat st;
		bool exact;

		if (!has_vdi_suffix(de->d_name))
			continue;
		if (asprintf(&path, "%s/%s", dir, de->d_name) < 0 ||
		    asprintf(&name, "%s%s", prefix, de->d_name) < 0) {
			free(path);
			rc = vimg_error_set(err, VIMG_ENOMEM, "out of memory");
			break;
		}
		if (stat(path, &st) || !S_ISREG(st.st_mode) || !candidate_uuids(path, image, modified) ||
		    memcmp(image, ps->child->h.uuid_link, 16) ||
		    !memcmp(image, ps->child->h.uuid_image, 16)) {
			free(path);
			free(name);
			continue;
		}
		free(path);
		exact = !memcmp(modified, ps->child->h.uuid_parent, 16);
		if (!ps->found || (exact && !ps->found_exact)) {
			/* The first, or the first exact one: inexact ones no longer count. */
			free(ps->found);
			free(ps->other);
			ps->found = name;
			ps->other = NULL;
			ps->found_exact = exact;
		} else if (exact == ps->found_exact && !ps->other) {
			ps->other = name;
		} else {
			free(name);
		}
	}
	closedir(d);
	return rc;
}

int vdi_parent_find(struct vimg_image *img, const struct vdi *s, char **name,
		    struct vimg_error *err)
{
	struct parent_search ps = { s, NULL, false, NULL };
	const char *dir = image_dir(img);
	char *up = NULL, u[40];
	int rc;

	*name = NULL;
	rc = search_dir(&ps, dir, "", err);
	if (!rc && !ps.found && (image_open_flags(img) & VIMG_OPEN_ALLOW_ESCAPE)) {
		if (asprintf(&up, "%s/..", dir) < 0)
			rc = vimg_error_set(err, VIMG_ENOMEM, "out of memory");
		else
			rc = search_dir(&ps, up, "../", err);
		free(up);
	}
	id_guid_format(s->h.uuid_link, false, u);
	if (!rc && !ps.found)
		rc = vimg_error_set(err, VIMG_EBACKING,
				    "vdi: differencing image: no .vdi file in %s%s has the parent's "
				    "UUID {%s}",
				    dir,
				    image_open_flags(img) & VIMG_OPEN_ALLOW_ESCAPE
					    ? " or the directory above"
					    : " (--allow-escape also searches the directory above)",
				    u);
	else if (!rc && ps.other)
		rc = vimg_error_set(err, VIMG_EBACKING,
				    "vdi: differencing image: %s and %s both have the parent's UUID "
				    "{%s}%s",
				    ps.found, ps.other, u,
				    ps.found_exact ? " and modification UUID"
						   : "; neither has its modification UUID");
	free(ps.other);
	if (rc)
		free(ps.found);
	else
		*name = ps.found;
	return rc;
}

int vdi_backing_opened(struct vimg_image *img, struct vimg_image *parent, struct vimg_error *err)
{
	const struct vdi *s = image_priv(img), *p;
	const char *fmt = vimg_image_format(parent);
	char a[40], b[40];

	if (!fmt || strcmp(fmt, "vdi"))
		return vimg_error_set(err, VIMG_EBACKING,
				      "vdi: the parent of a differencing image is a %s image, not vdi",
				      fmt ? fmt : "unknown");
	p = image_priv(parent);
	if (memcmp(p->h.uuid_image, s->h.uuid_link, 16)) {
		id_guid_format(s->h.uuid_link, false, a);
		id_guid_format(p->h.uuid_image, false, b);
		return vimg_error_set(err, VIMG_EBACKING,
				      "vdi: parent UUID {%s} (header offset 0x1a8) does not match the "
				      "parent's UUID {%s}",
				      a, b);
	}
	return 0;
}

int vdi_set_backing(struct vimg_image *img, const char *name, struct vimg_image *parent,
		    struct vimg_error *err)
{
	struct vdi *s = image_priv(img);
	uint8_t raw[512];
	struct vdi_header_disk *d = (struct vdi_header_disk *)raw;
	const struct vdi *p;
	int rc;

	(void)name;	/* a VDI records no name: the parent is found by UUID */
	memcpy(raw, s->raw, sizeof(raw));
	if (parent) {
		const char *fmt = vimg_image_format(parent);

		if (!fmt || strcmp(fmt, "vdi"))
			return vimg_error_set(err, VIMG_EUNSUPPORTED,
					      "vdi: a differencing image's parent must be a vdi "
					      "image, not %s",
					      fmt ? fmt : "unknown");
		if (s->h.image_type == VDI_TYPE_FIXED)
			return vimg_error_set(err, VIMG_EUNSUPPORTED,
					      "vdi: a static image cannot have a parent");
		p = image_priv(parent);
		st_le32(d->image_type, VDI_TYPE_DIFF);
		memcpy(d->uuid_link, p->h.uuid_image, 16);
		memcpy(d->uuid_parent, p->h.uuid_last_snap, 16);
	} else {
		st_le32(d->image_type, s->h.image_type == VDI_TYPE_FIXED ? VDI_TYPE_FIXED
									 : VDI_TYPE_NORMAL);
		memset(d->uuid_link, 0, 16);
		memset(d->uuid_parent, 0, 16);
	}
	/* One sector: the type and the link change together. */
	rc = file_pwrite_full(s->file, raw, sizeof(raw), 0, err);
	if (!rc)
		rc = file_fsync(s->file, err);
	if (rc)
		return rc;
	memcpy(s->raw, raw, sizeof(raw));
	s->h.image_type = ld_le32(d->image_type);
	memcpy(s->h.uuid_link, d->uuid_link, 16);
	memcpy(s->h.uuid_parent, d->uuid_parent, 16);
	return 0;
}
