/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Moving data between the layers of a chain: rebase and commit, as
 * qemu-img does them.
 *  - rebase: the image's own layer receives, before its backing pointer
 *    changes, every cluster where the old chain and the new backing read
 *    differently and the layer itself holds nothing, so that the guest
 *    reads the same disk afterwards.
 *  - commit: what the layers above a base hold is copied into the base
 *    through the copy engine (the base grown first when it is smaller);
 *    the top can then be emptied, so it reads the base.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "internal.h"

#define REBASE_CHUNK (1024 * 1024)

/* Give [off, off+len) of img's own layer what the guest reads there now,
 * wherever `next` (the new backing, or NULL: zeros) would read otherwise. */
static int keep_contents(struct vimg_image *img, struct vimg_image *next, uint64_t off,
			 uint64_t len, uint8_t *cur, uint8_t *nb, uint64_t unit,
			 struct vimg_error *err)
{
	while (len) {
		size_t n = (size_t)min_u64(len, REBASE_CHUNK - off % REBASE_CHUNK);
		uint64_t have = next && off < next->size ? min_u64(n, next->size - off) : 0;
		int rc = vimg_image_read(img, cur, off, n, err);

		memset(nb, 0, n);
		if (!rc && have)
			rc = vimg_image_read(next, nb, off, (size_t)have, err);
		for (size_t pos = 0; !rc && pos < n;) {
			size_t u = (size_t)min_u64(n - pos, unit - (off + pos) % unit);

			if (memcmp(cur + pos, nb + pos, u))
				rc = buf_is_zero(cur + pos, u)
					     ? vimg_image_zero(img, off + pos, u, 0, err)
					     : vimg_image_write(img, cur + pos, off + pos, u, err);
			pos += u;
		}
		if (rc)
			return rc;
		off += n;
		len -= n;
	}
	return 0;
}

int vimg_image_rebase(struct vimg_image *img, const char *name, const char *format,
		      unsigned flags, vimg_progress_fn *progress, void *opaque,
		      struct vimg_error *err)
{
	struct vimg_image *next = NULL;
	uint8_t *cur = NULL, *nb = NULL;
	uint64_t off = 0, unit;
	char *path = NULL;
	int rc = 0;

	if (!image_valid(img) || (format && !name))
		return vimg_error_set(err, VIMG_EINVAL, "vimg_image_rebase: invalid arguments");
	if (flags & VIMG_REBASE_UNSAFE)
		return vimg_image_change_backing(img, name, format, err);
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
					     &next, err);
		free(path);
		if (rc)
			return vimg_error_prefix(err, "new backing file \"%s\"", name);
	}
	unit = img->cluster_size ? img->cluster_size : 65536;
	cur = malloc(REBASE_CHUNK);
	nb = malloc(REBASE_CHUNK);
	if (!cur || !nb)
		rc = vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	while (!rc && off < img->size) {
		struct vimg_run run;

		rc = vimg_image_block_status(img, off, img->size - off, &run, err);
		if (!rc && run.kind == VIMG_RUN_UNALLOCATED)
			rc = keep_contents(img, next, off, run.length, cur, nb, unit, err);
		off += run.length;
		if (!rc && progress)
			progress(opaque, off, img->size);
	}
	free(cur);
	free(nb);
	vimg_image_close(next, NULL);
	if (!rc)
		rc = vimg_image_flush(img, err);
	return rc ? rc : vimg_image_change_backing(img, name, format, err);
}

int vimg_image_commit(struct vimg_image *top, const struct vimg_image *base,
		      struct vimg_image *base_rw, vimg_progress_fn *progress, void *opaque,
		      struct vimg_error *err)
{
	struct vimg_copy_opts co = { .base = base, .progress = progress,
				     .progress_opaque = opaque };
	const struct vimg_image *l = top;
	int rc;

	if (!image_valid(top) || !image_valid(base) || !image_valid(base_rw))
		return vimg_error_set(err, VIMG_EINVAL, "vimg_image_commit: invalid arguments");
	while (l && l != base)
		l = l->backing;
	if (!l || base == top)
		return vimg_error_set(err, VIMG_EINVAL, "%s: the base is not below it in its chain",
				      top->path);
	if (base_rw->size < top->size) {
		rc = vimg_image_resize(base_rw, top->size, 0, err);
		if (rc)
			return vimg_error_prefix(err, "growing the base %s to %llu bytes",
						 base_rw->path, (unsigned long long)top->size);
	}
	rc = vimg_image_copy(top, base_rw, &co, err);
	return rc ? rc : vimg_image_flush(base_rw, err);
}

int vimg_image_make_empty(struct vimg_image *img, struct vimg_error *err)
{
	int rc;

	if (!image_valid(img))
		return vimg_error_set(err, VIMG_EINVAL, "vimg_image_make_empty: invalid handle");
	if (!img->drv->make_empty)
		return vimg_error_set(err, VIMG_EUNSUPPORTED, "%s: %s images cannot be emptied",
				      img->path, img->drv->name);
	if (!img->writable)
		return vimg_error_set(err, VIMG_EROFS, "%s: opened read-only", img->path);
	if (!vimg_image_backing_name(img))
		return vimg_error_set(err, VIMG_EINVAL,
				      "%s: no backing file: emptied, it would read as zeros",
				      img->path);
	image_lock(img, true);
	rc = img->drv->make_empty(img, err);
	image_unlock(img);
	return rc ? rc : vimg_image_flush(img, err);
}
