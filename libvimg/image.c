/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Image objects: open (probe or named driver, then the backing chain), close,
 * getters, driver accessors, snapshot views, creation, and the management
 * entry points (info, check, snapshots) that forward to the driver under the
 * image lock. Public entry points check their handle first.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

bool image_valid(const struct vimg_image *img)
{
	return img && img->magic == IMAGE_MAGIC;
}

void image_lock(struct vimg_image *img, bool exclusive)
{
	if (exclusive || img->drv->thread_model == VIMG_THREAD_SERIALIZE)
		pthread_rwlock_wrlock(&img->lock);
	else
		pthread_rwlock_rdlock(&img->lock);
}

void image_unlock(struct vimg_image *img)
{
	pthread_rwlock_unlock(&img->lock);
}

static int image_alloc(const struct vimg_driver *drv, const char *path, struct vimg_image **out,
		       struct vimg_error *err)
{
	struct vimg_image *img = calloc(1, sizeof(*img));

	*out = NULL;
	if (!img)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	img->magic = IMAGE_MAGIC;
	img->drv = drv;
	img->path = strdup(path);
	img->dir = path_dirname(path);
	img->priv = calloc(1, drv->priv_size ? drv->priv_size : 1);
	if (!img->path || !img->dir || !img->priv) {
		free(img->path);
		free(img->dir);
		free(img->priv);
		free(img);
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	}
	pthread_rwlock_init(&img->lock, NULL);
	*out = img;
	return 0;
}

static void image_free(struct vimg_image *img)
{
	pthread_rwlock_destroy(&img->lock);
	free(img->priv);
	free(img->path);
	free(img->dir);
	free(img->backing_name);
	free(img->backing_fmt);
	free(img->backing_path);
	img->magic = 0;
	free(img);
}

int image_open_chain(const char *path, const char *format, unsigned flags,
		     struct chain_ctx *ctx, struct vimg_image **out, struct vimg_error *err)
{
	const struct vimg_driver *drv = NULL;
	struct vimg_image *img = NULL;
	struct vimg_file *file = NULL;
	bool rdwr = flags & VIMG_OPEN_RDWR;
	int rc;

	*out = NULL;
	if (format && !(drv = registry_by_name(format)))
		return vimg_error_set(err, VIMG_EINVAL, "unknown format \"%s\"", format);
	if (rdwr && drv && !drv->write)
		return vimg_error_set(err, VIMG_EUNSUPPORTED, "%s: writing is not supported",
				      drv->name);
	rc = file_open(path, (rdwr ? FILE_RDWR : 0) | (flags & VIMG_OPEN_NO_SYNC ? FILE_NOSYNC : 0),
		       &file, err);
	if (rc)
		return rc;
	rc = chain_note_file(ctx, file, path, err);
	if (rc)
		goto fail_file;
	if (!drv) {
		rc = registry_probe(file, path, &drv, err);
		if (rc)
			goto fail_file;
		if (rdwr && !drv->write) {
			rc = vimg_error_set(err, VIMG_EUNSUPPORTED, "%s: writing is not supported",
					    drv->name);
			goto fail_file;
		}
	}
	rc = image_alloc(drv, path, &img, err);
	if (rc)
		goto fail_file;
	img->file = file;
	img->open_flags = flags;
	img->writable = rdwr;
	img->probed_raw = !format && (drv->features & VIMG_FEAT_PROBE_WEAK);
	rc = drv->open(img, file, flags, err);
	if (rc) {
		vimg_error_prefix(err, "%s", path);
		drv->close(img);
		image_free(img);
		goto fail_file;
	}
	if (!(flags & VIMG_OPEN_NO_BACKING)) {
		rc = chain_open_backing(img, ctx, err);
		if (rc) {
			vimg_error_prefix(err, "%s", path);
			vimg_image_close(img, NULL);
			return rc;
		}
	} else if (img->backing_name) {
		/* Still resolve, so info can show where the backing file would be. */
		struct vimg_error ignored = VIMG_ERROR_INIT;

		path_resolve(img->dir, img->backing_name, true, &img->backing_path, &ignored);
	}
	*out = img;
	return 0;
fail_file:
	file_close(file);
	return rc;
}

int vimg_image_open(const char *path, const char *format, unsigned flags,
		    struct vimg_image **out, struct vimg_error *err)
{
	struct chain_ctx ctx = { 0 };

	if (!out)
		return vimg_error_set(err, VIMG_EINVAL, "vimg_image_open: out is NULL");
	*out = NULL;
	if (!path || !*path)
		return vimg_error_set(err, VIMG_EINVAL, "vimg_image_open: empty path");
	return image_open_chain(path, format, flags, &ctx, out, err);
}

int vimg_image_close(struct vimg_image *img, struct vimg_error *err)
{
	int rc = 0;

	if (!img)
		return 0;
	if (!image_valid(img))
		return vimg_error_set(err, VIMG_EINVAL, "vimg_image_close: invalid handle");
	if (img->writable)
		rc = vimg_image_flush(img, err);
	img->drv->close(img);
	if (!img->borrowed) {
		vimg_image_close(img->backing, NULL);
		file_close(img->file);
	}
	image_free(img);
	return rc;
}

int image_view_new(struct vimg_image *img, struct vimg_image **view, struct vimg_error *err)
{
	struct vimg_image *v;
	int rc = image_alloc(img->drv, img->path, &v, err);

	if (rc)
		return rc;
	v->file = img->file;
	v->open_flags = img->open_flags & ~VIMG_OPEN_RDWR;
	v->borrowed = true;
	v->size = img->size;
	v->cluster_size = img->cluster_size;
	v->backing = img->backing;
	*view = v;
	return 0;
}

int image_layer_new(const struct vimg_driver *drv, struct vimg_image *base,
		    struct vimg_image **out, struct vimg_error *err)
{
	struct vimg_image *img;
	int rc;

	*out = NULL;
	if (!image_valid(base))
		return vimg_error_set(err, VIMG_EINVAL, "%s: invalid base image", drv->name);
	rc = image_alloc(drv, base->path, &img, err);
	if (rc)
		return rc;
	img->open_flags = VIMG_OPEN_RDWR;
	img->writable = true;
	img->borrowed = true;
	img->size = base->size;
	img->cluster_size = base->cluster_size;
	img->backing = base;
	*out = img;
	return 0;
}

/* ---- getters ---------------------------------------------------------- */

const char *vimg_image_format(const struct vimg_image *img)
{
	return image_valid(img) ? img->drv->name : NULL;
}

const char *vimg_image_filename(const struct vimg_image *img)
{
	return image_valid(img) ? img->path : NULL;
}

uint64_t vimg_image_virtual_size(const struct vimg_image *img)
{
	return image_valid(img) ? img->size : 0;
}

uint32_t vimg_image_cluster_size(const struct vimg_image *img)
{
	return image_valid(img) ? img->cluster_size : 0;
}

bool vimg_image_is_writable(const struct vimg_image *img)
{
	return image_valid(img) && img->writable;
}

struct vimg_image *vimg_image_backing(const struct vimg_image *img)
{
	return image_valid(img) ? img->backing : NULL;
}

const char *vimg_image_backing_name(const struct vimg_image *img)
{
	return image_valid(img) ? img->backing_name : NULL;
}

const char *vimg_image_backing_format(const struct vimg_image *img)
{
	if (!image_valid(img))
		return NULL;
	if (img->backing_fmt)
		return img->backing_fmt;
	return img->backing ? img->backing->drv->name : NULL;
}

const char *vimg_image_backing_path(const struct vimg_image *img)
{
	return image_valid(img) ? img->backing_path : NULL;
}

static int add_allocated(void *opaque, const char *path)
{
	int64_t *total = opaque;
	struct stat st;

	if (stat(path, &st) == 0)
		*total += (int64_t)st.st_blocks * 512;
	return 0;
}

int64_t vimg_image_disk_size(struct vimg_image *img, struct vimg_error *err)
{
	int64_t total;
	int rc;

	if (!image_valid(img))
		return vimg_error_set(err, VIMG_EINVAL, "vimg_image_disk_size: invalid handle");
	/* A file-less layer (in-memory overlay) takes no disk space. */
	total = img->file ? file_allocated(img->file, err) : 0;
	if (total < 0)
		return total;
	if (img->drv->files) {
		rc = img->drv->files(img, add_allocated, &total, err);
		if (rc)
			return rc;
	}
	return total;
}

int vimg_image_files(struct vimg_image *img, int (*cb)(void *opaque, const char *path),
		     void *opaque, struct vimg_error *err)
{
	int rc;

	if (!image_valid(img) || !cb)
		return vimg_error_set(err, VIMG_EINVAL, "vimg_image_files: invalid arguments");
	rc = cb(opaque, img->path);
	if (rc || !img->drv->files)
		return rc;
	return img->drv->files(img, cb, opaque, err);
}

/* ---- accessors for drivers ----------------------------------------------- */

void *image_priv(const struct vimg_image *img) { return img->priv; }
struct vimg_file *image_file(const struct vimg_image *img) { return img->file; }
const char *image_path(const struct vimg_image *img) { return img->path; }
const char *image_dir(const struct vimg_image *img) { return img->dir; }
bool image_is_writable(const struct vimg_image *img) { return img->writable; }
unsigned image_open_flags(const struct vimg_image *img) { return img->open_flags; }
void image_set_size(struct vimg_image *img, uint64_t size) { img->size = size; }
bool image_has_backing(const struct vimg_image *img) { return img->backing != NULL; }

void image_set_cluster_size(struct vimg_image *img, uint32_t cluster_size)
{
	img->cluster_size = cluster_size;
}

void image_set_sequential_writes(struct vimg_image *img)
{
	img->sequential_writes = true;
}

void image_set_read_only(struct vimg_image *img)
{
	img->writable = false;
}

int image_set_backing(struct vimg_image *img, const char *name, const char *format,
		      struct vimg_error *err)
{
	free(img->backing_name);
	free(img->backing_fmt);
	img->backing_name = strdup(name);
	img->backing_fmt = format ? strdup(format) : NULL;
	if (!img->backing_name || (format && !img->backing_fmt))
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	return 0;
}

const char *image_host_window(const struct vimg_image *img, uint64_t *base, uint64_t *limit)
{
	return img->file ? file_window_of(img->file, base, limit) : NULL;
}

int image_open_sibling(struct vimg_image *img, const char *name, bool writable,
		       struct vimg_file **out, struct vimg_error *err)
{
	char *path;
	int rc = path_resolve(img->dir, name,
			      img->open_flags & VIMG_OPEN_ALLOW_ESCAPE, &path, err);

	*out = NULL;
	if (rc)
		return rc;
	rc = file_open(path,
		       (writable ? FILE_RDWR : 0) |
			       (img->open_flags & VIMG_OPEN_NO_SYNC ? FILE_NOSYNC : 0),
		       out, err);
	free(path);
	return rc;
}

/* ---- management entry points ------------------------------------------- */

int vimg_image_info(struct vimg_image *img, const struct vimg_emit *em, struct vimg_error *err)
{
	int rc;

	if (!image_valid(img) || !em)
		return vimg_error_set(err, VIMG_EINVAL, "vimg_image_info: invalid arguments");
	if (!img->drv->info)
		return 0;
	image_lock(img, false);
	rc = img->drv->info(img, em, err);
	image_unlock(img);
	return rc;
}

int vimg_image_snapshot_list(struct vimg_image *img,
			     int (*cb)(void *opaque, const struct vimg_snapshot *s),
			     void *opaque, struct vimg_error *err)
{
	int rc;

	if (!image_valid(img) || !cb)
		return vimg_error_set(err, VIMG_EINVAL, "vimg_image_snapshot_list: invalid arguments");
	if (!img->drv->snapshot_list)
		return 0;
	image_lock(img, false);
	rc = img->drv->snapshot_list(img, cb, opaque, err);
	image_unlock(img);
	return rc;
}

/* One snapshot-changing call: checks, the write lock, the driver op. */
static int snapshot_change(struct vimg_image *img, const char *arg,
			   int (*op)(struct vimg_image *, const char *, struct vimg_error *),
			   struct vimg_error *err)
{
	int rc;

	if (!image_valid(img) || !arg)
		return vimg_error_set(err, VIMG_EINVAL, "snapshot: invalid arguments");
	if (!op)
		return vimg_error_set(err, VIMG_EUNSUPPORTED, "%s: internal snapshots are not "
				      "supported", img->drv->name);
	if (!img->writable)
		return vimg_error_set(err, VIMG_EROFS, "%s: opened read-only", img->path);
	image_lock(img, true);
	rc = op(img, arg, err);
	image_unlock(img);
	return rc;
}

int vimg_image_snapshot_create(struct vimg_image *img, const char *name, struct vimg_error *err)
{
	return snapshot_change(img, name, image_valid(img) ? img->drv->snapshot_create : NULL, err);
}

int vimg_image_snapshot_apply(struct vimg_image *img, const char *id_or_name,
			      struct vimg_error *err)
{
	return snapshot_change(img, id_or_name, image_valid(img) ? img->drv->snapshot_apply : NULL,
			       err);
}

int vimg_image_snapshot_delete(struct vimg_image *img, const char *id_or_name,
			       struct vimg_error *err)
{
	return snapshot_change(img, id_or_name,
			       image_valid(img) ? img->drv->snapshot_delete : NULL, err);
}

int vimg_image_snapshot_open(struct vimg_image *img, const char *id_or_name,
			     struct vimg_image **view, struct vimg_error *err)
{
	struct vimg_image *v;
	int rc;

	if (!view)
		return vimg_error_set(err, VIMG_EINVAL, "vimg_image_snapshot_open: view is NULL");
	*view = NULL;
	if (!image_valid(img) || !id_or_name)
		return vimg_error_set(err, VIMG_EINVAL, "vimg_image_snapshot_open: invalid arguments");
	if (!img->drv->snapshot_open)
		return vimg_error_set(err, VIMG_EUNSUPPORTED, "%s: no internal snapshots",
				      img->drv->name);
	rc = image_view_new(img, &v, err);
	if (rc)
		return rc;
	image_lock(img, false);
	rc = img->drv->snapshot_open(img, id_or_name, v, err);
	image_unlock(img);
	if (rc) {
		/* The driver's close must cope with a half-filled view. */
		img->drv->close(v);
		image_free(v);
		return rc;
	}
	*view = v;
	return 0;
}

int vimg_image_check(struct vimg_image *img, struct vimg_check *rep, unsigned fix,
		     struct vimg_error *err)
{
	int rc;

	if (!image_valid(img) || !rep)
		return vimg_error_set(err, VIMG_EINVAL, "vimg_image_check: invalid arguments");
	if (!img->drv->check)
		return vimg_error_set(err, VIMG_EUNSUPPORTED, "%s: no consistency check",
				      img->drv->name);
	if (fix && !(img->writable && (img->open_flags & VIMG_OPEN_CHECK)))
		return vimg_error_set(err, VIMG_EINVAL,
				      "repair needs the image opened for writing and checking");
	image_lock(img, true);
	rc = img->drv->check(img, rep, fix, err);
	image_unlock(img);
	return rc;
}

/* ---- creation ---------------------------------------------------------- */

int create_backing_parent(const struct vimg_backing_spec *bk, const char *format,
			  struct vimg_image **parent, struct vimg_error *err)
{
	*parent = NULL;
	if (!bk->image)
		return vimg_error_set(err, VIMG_EUNSUPPORTED,
				      "%s: a child image needs its parent opened to link to it",
				      format);
	if (strcmp(bk->image->drv->name, format))
		return vimg_error_set(err, VIMG_EUNSUPPORTED,
				      "%s: the parent of a %s child must be a %s image, not %s",
				      format, format, format, bk->image->drv->name);
	*parent = bk->image;
	return 0;
}

int vimg_image_create(const char *path, const char *format, uint64_t size,
		      const char *options, const char *backing, const char *backing_format,
		      unsigned flags, struct vimg_error *err)
{
	const struct vimg_driver *drv = registry_by_name(format);
	const struct vimg_driver *bdrv = registry_by_name(backing_format);
	/* Only qcow2 records a backing format, and qemu must read it: its name. */
	struct vimg_backing_spec spec = { backing, bdrv ? registry_qemu_name(bdrv) : NULL, NULL };
	struct vimg_opts *opts = NULL;
	char *dir = NULL, *bpath = NULL;
	int rc;

	if (!path || !*path || !format)
		return vimg_error_set(err, VIMG_EINVAL, "vimg_image_create: missing path or format");
	if (!drv)
		return vimg_error_set(err, VIMG_EINVAL, "unknown format \"%s\"", format);
	if (!drv->create)
		return vimg_error_set(err, VIMG_EUNSUPPORTED, "%s: creating images is not supported",
				      drv->name);
	if (backing && !(drv->features & VIMG_FEAT_BACKING))
		return vimg_error_set(err, VIMG_EUNSUPPORTED, "%s: backing files are not supported",
				      drv->name);
	if (backing_format && !bdrv)
		return vimg_error_set(err, VIMG_EINVAL, "unknown backing format \"%s\"",
				      backing_format);
	rc = opts_parse(drv, options, &opts, err);
	if (rc)
		return rc;
	if (backing) {
		dir = path_dirname(path);
		rc = dir ? path_resolve(dir, backing, flags & VIMG_CREATE_ALLOW_ESCAPE, &bpath, err)
			 : vimg_error_set(err, VIMG_ENOMEM, "out of memory");
		if (rc)
			goto out;
		if (!(flags & VIMG_CREATE_NO_BACKING_CHECK)) {
			struct vimg_image *b;

			rc = vimg_image_open(bpath, backing_format,
					     flags & VIMG_CREATE_ALLOW_ESCAPE ? VIMG_OPEN_ALLOW_ESCAPE : 0,
					     &b, err);
			if (rc) {
				vimg_error_prefix(err, "backing file \"%s\"", backing);
				goto out;
			}
			if (!size)
				size = b->size;
			/* Record the probed format so later opens never have to guess. */
			if (!backing_format)
				spec.format = registry_qemu_name(b->drv);
			spec.image = b;
			rc = drv->create(path, size, opts, &spec, err);
			vimg_image_close(b, NULL);
			goto out;
		} else if (!size) {
			rc = vimg_error_set(err, VIMG_EINVAL,
					    "a size is needed when the backing file is not opened");
			goto out;
		}
	}
	rc = drv->create(path, size, opts, &spec, err);
out:
	opts_free(opts);
	free(dir);
	free(bpath);
	return rc;
}
