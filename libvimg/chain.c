/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Backing chains, handled once for every format: resolving the recorded name
 * under the path policy, refusing loops (by device and inode) and chains
 * deeper than VIMG_MAX_CHAIN_DEPTH, opening parents read-only, and the
 * chain-wide block status that map, convert -B and the copy engine use.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "checked.h"
#include "internal.h"

int chain_note_file(struct chain_ctx *ctx, struct vimg_file *f, const char *path,
		    struct vimg_error *err)
{
	uint64_t dev, ino;

	if (file_identity(f, &dev, &ino, err))
		return vimg_error_prefix(err, "%s", path);
	for (unsigned i = 0; i < ctx->n; i++)
		if (ctx->dev[i] == dev && ctx->ino[i] == ino)
			return vimg_error_set(err, VIMG_EBACKING,
					      "backing chain loop: %s is already in the chain", path);
	if (ctx->n > VIMG_MAX_CHAIN_DEPTH)
		return vimg_error_set(err, VIMG_EBACKING, "backing chain deeper than %d images",
				      VIMG_MAX_CHAIN_DEPTH);
	ctx->dev[ctx->n] = dev;
	ctx->ino[ctx->n] = ino;
	ctx->n++;
	return 0;
}

int chain_open_backing(struct vimg_image *img, struct chain_ctx *ctx, struct vimg_error *err)
{
	unsigned flags = img->open_flags & VIMG_OPEN_ALLOW_ESCAPE;
	struct vimg_image *b = NULL;
	int rc;

	if (!img->backing_name)
		return 0;
	rc = path_resolve(img->dir, img->backing_name, flags & VIMG_OPEN_ALLOW_ESCAPE,
			  &img->backing_path, err);
	if (rc)
		return vimg_error_prefix(err, "backing file");
	rc = image_open_chain(img->backing_path, img->backing_fmt, flags, ctx, &b, err);
	if (rc) {
		/* A missing parent is a broken chain, whatever the layer below said. */
		if (rc == VIMG_ENOENT) {
			rc = VIMG_EBACKING;
			if (err)
				err->code = rc;
		}
		vimg_error_prefix(err, "opening backing file \"%s\"", img->backing_name);
		return rc;
	}
	/*
	 * Probing never settles on raw for a backing file: a guest could write a
	 * qcow2 header into a raw disk and make its host open arbitrary files.
	 */
	if (!img->backing_fmt && b->probed_raw) {
		vimg_image_close(b, NULL);
		return vimg_error_set(err, VIMG_EFORMAT,
				      "backing file \"%s\" has no recorded format and is not a known "
				      "image format; refusing to guess raw",
				      img->backing_name);
	}
	img->backing = b;
	if (img->drv->backing_opened) {
		rc = img->drv->backing_opened(img, b, err);
		if (rc)
			return vimg_error_prefix(err, "backing file \"%s\"", img->backing_name);
	}
	return 0;
}

int vimg_image_block_status_above(struct vimg_image *img, const struct vimg_image *base,
				  uint64_t off, uint64_t len, struct vimg_run *run,
				  unsigned *depth, struct vimg_error *err)
{
	struct vimg_image *cur = img;
	unsigned d = 0;
	uint64_t n;
	int rc;

	if (!image_valid(img) || !run)
		return vimg_error_set(err, VIMG_EINVAL, "block_status_above: invalid arguments");
	if (off >= img->size || len == 0 || len > img->size - off)
		return vimg_error_set(err, VIMG_ERANGE,
				      "block status at 0x%llx+0x%llx beyond the disk size 0x%llx",
				      (unsigned long long)off, (unsigned long long)len,
				      (unsigned long long)img->size);
	n = len;
	for (;;) {
		if (!cur || cur == base) {
			*run = (struct vimg_run){ .length = n, .kind = VIMG_RUN_UNALLOCATED };
			break;
		}
		if (off >= cur->size) {
			*run = (struct vimg_run){ .length = n, .kind = VIMG_RUN_ZERO };
			break;
		}
		n = min_u64(n, cur->size - off);
		rc = io_block_status(cur, off, n, run, err);
		if (rc)
			return rc;
		if (run->kind != VIMG_RUN_UNALLOCATED)
			break;
		n = run->length;
		cur = cur->backing;
		d++;
	}
	if (depth)
		*depth = d;
	return 0;
}

static bool same_file(struct vimg_file *a, struct vimg_file *b)
{
	uint64_t da, ia, db, ib;

	return a && b && !file_identity(a, &da, &ia, NULL) && !file_identity(b, &db, &ib, NULL) &&
	       da == db && ia == ib;
}

/* same_disk: the new parent must pass the format's link check (moved, not replaced). */
static int change_backing(struct vimg_image *img, const char *name, const char *format,
			  bool same_disk, struct vimg_error *err)
{
	struct vimg_image *parent = NULL;
	char *path = NULL, *nname = NULL, *nfmt = NULL;
	int rc;

	if (!image_valid(img) || (format && !name))
		return vimg_error_set(err, VIMG_EINVAL, "change_backing: invalid arguments");
	if (!img->writable)
		return vimg_error_set(err, VIMG_EROFS, "%s: opened read-only", img->path);
	if (!img->drv->set_backing)
		return vimg_error_set(err, VIMG_EUNSUPPORTED, "%s: changing the backing file is not "
				      "supported", img->drv->name);
	if (name) {
		rc = path_resolve(img->dir, name, img->open_flags & VIMG_OPEN_ALLOW_ESCAPE, &path,
				  err);
		if (!rc)
			rc = vimg_image_open(path, format, img->open_flags & VIMG_OPEN_ALLOW_ESCAPE,
					     &parent, err);
		if (rc) {
			free(path);
			return vimg_error_prefix(err, "new backing file \"%s\"", name);
		}
		for (struct vimg_image *l = parent; l; l = l->backing)
			if (same_file(l->file, img->file)) {
				vimg_image_close(parent, NULL);
				free(path);
				return vimg_error_set(err, VIMG_EBACKING,
						      "%s: \"%s\" would make the chain a loop",
						      img->path, name);
			}
		if (same_disk && img->drv->backing_opened &&
		    (rc = img->drv->backing_opened(img, parent, err))) {
			vimg_image_close(parent, NULL);
			free(path);
			return vimg_error_prefix(err, "%s: \"%s\" is not the parent the image was made "
						 "on (use vimg rebase to change the parent)",
						 img->path, name);
		}
		nname = strdup(name);
		nfmt = strdup(registry_qemu_name(parent->drv));
		if (!nname || !nfmt) {
			rc = vimg_error_set(err, VIMG_ENOMEM, "out of memory");
			goto fail;
		}
	}
	image_lock(img, true);
	rc = img->drv->set_backing(img, name, parent, err);
	if (!rc) {
		if (!img->borrowed)
			vimg_image_close(img->backing, NULL);
		img->backing = parent;
		free(img->backing_name);
		free(img->backing_fmt);
		free(img->backing_path);
		img->backing_name = nname;
		img->backing_fmt = nfmt;
		img->backing_path = path;
		parent = NULL;
		path = nname = nfmt = NULL;
	}
	image_unlock(img);
fail:
	vimg_image_close(parent, NULL);
	free(path);
	free(nname);
	free(nfmt);
	return rc;
}

int vimg_image_change_backing(struct vimg_image *img, const char *name, const char *format,
			      struct vimg_error *err)
{
	return change_backing(img, name, format, false, err);
}

int vimg_image_move_backing(struct vimg_image *img, const char *name, const char *format,
			    struct vimg_error *err)
{
	if (!name)
		return vimg_error_set(err, VIMG_EINVAL, "vimg_image_move_backing: no name");
	return change_backing(img, name, format, true, err);
}
