/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * raw: the virtual disk is the file (or block device) itself. Holes found by
 * SEEK_DATA/SEEK_HOLE are reported as ZERO, so copies stay sparse and work
 * scales with the data, not the virtual size. Probing is weak (score 1):
 * raw is only ever the fallback.
 */
#include "config.h"

#include <string.h>

#include "checked.h"
#include "driver.h"

struct raw_state {
	bool no_seek_data;	/* file system without SEEK_DATA: all data */
};

static int raw_probe(const struct vimg_probe *p)
{
	return 1;
}

static int raw_open(struct vimg_image *img, struct vimg_file *file, unsigned flags,
		    struct vimg_error *err)
{
	int64_t size = file_size(file, err);

	if (size < 0)
		return (int)size;
	image_set_size(img, (uint64_t)size);
	return 0;
}

static void raw_close(struct vimg_image *img)
{
}

static int raw_block_status(struct vimg_image *img, uint64_t off, uint64_t len,
			    struct vimg_run *run, struct vimg_error *err)
{
	struct raw_state *s = image_priv(img);
	struct vimg_file *f = image_file(img);
	uint64_t next;
	int rc;

	run->file = f;
	run->file_off = off;
	if (s->no_seek_data || file_is_block_device(f))
		goto data;
	rc = file_seek_data(f, off, &next, err);
	if (rc == VIMG_EUNSUPPORTED) {
		s->no_seek_data = true;
		vimg_error_clear(err);
		goto data;
	}
	if (rc)
		return rc;
	if (next > off) {
		/* A hole still has a place in the file, as qemu-img map shows. */
		run->kind = VIMG_RUN_ZERO;
		run->flags = VIMG_RUN_OFFSET_VALID;
		run->length = min_u64(next - off, len);
		return 0;
	}
	rc = file_seek_hole(f, off, &next, err);
	if (rc)
		return rc;
	run->kind = VIMG_RUN_DATA;
	run->flags = VIMG_RUN_OFFSET_VALID;
	run->length = next > off ? min_u64(next - off, len) : len;
	return 0;
data:
	run->kind = VIMG_RUN_DATA;
	run->flags = VIMG_RUN_OFFSET_VALID;
	run->length = len;
	return 0;
}

static int raw_write(struct vimg_image *img, const void *buf, uint64_t off, size_t len,
		     unsigned flags, struct vimg_error *err)
{
	return file_pwrite_full(image_file(img), buf, len, off, err);
}

static int raw_zero(struct vimg_image *img, uint64_t off, uint64_t len, unsigned flags,
		    struct vimg_error *err)
{
	struct vimg_file *f = image_file(img);
	int rc;

	if (!file_is_block_device(f)) {
		rc = file_punch_hole(f, off, len, err);
		if (rc != VIMG_EUNSUPPORTED)
			return rc;
		vimg_error_clear(err);
	}
	return file_write_zeros(f, off, len, err);
}

static const struct vimg_opt_desc raw_create_opts[] = {
	{ "preallocation", VIMG_OPT_STR, "off", "off|falloc|full",
	  "off: sparse file; falloc: reserve space; full: write zeros" },
	{ 0 },
};

/* Size a regular file to `size`, the part past `from` allocated as asked:
 * create and resize share it. */
static int raw_set_length(struct vimg_file *f, uint64_t from, uint64_t size, bool falloc,
			  bool full, struct vimg_error *err)
{
	int rc = file_truncate(f, size, err);

	if (!rc && falloc && size > from)
		rc = file_allocate(f, from, size - from, err);
	if (!rc && full && size > from)
		rc = file_write_zeros(f, from, size - from, err);
	return rc;
}

static int raw_create(const char *path, uint64_t size, const struct vimg_opts *opts,
		      const struct vimg_backing_spec *backing, struct vimg_error *err)
{
	const char *prealloc = opts_get(opts, "preallocation");
	struct vimg_file *f;
	int rc;

	rc = file_open(path, FILE_CREATE, &f, err);
	if (rc)
		return rc;
	if (file_is_block_device(f))
		goto out;
	rc = raw_set_length(f, 0, size, !strcmp(prealloc, "falloc"), !strcmp(prealloc, "full"),
			    err);
	if (!rc)
		rc = file_fsync(f, err);
out:
	file_close(f);
	return rc;
}

static int raw_resize(struct vimg_image *img, uint64_t size, unsigned flags,
		      struct vimg_error *err)
{
	struct vimg_file *f = image_file(img);
	int rc;

	if (file_is_block_device(f))
		return vimg_error_set(err, VIMG_EUNSUPPORTED,
				      "raw: %s is a block device: its size is the device's",
				      image_path(img));
	if (flags & VIMG_RESIZE_PREALLOC_METADATA)
		return vimg_error_set(err, VIMG_EUNSUPPORTED,
				      "raw: no metadata to preallocate (use falloc or full)");
	rc = raw_set_length(f, vimg_image_virtual_size(img), size, flags & VIMG_RESIZE_PREALLOC_FALLOC,
			    flags & VIMG_RESIZE_PREALLOC_FULL, err);
	if (!rc)
		image_set_size(img, size);
	return rc;
}

static const char *const raw_extensions[] = { "raw", "img", "bin", NULL };

const struct vimg_driver vimg_drv_raw = {
	.name = "raw",
	.description = "raw disk image: regular file or block device",
	.extensions = raw_extensions,
	.priv_size = sizeof(struct raw_state),
	.features = VIMG_FEAT_PROBE_WEAK,
	.thread_model = VIMG_THREAD_PARALLEL_READS,
	.create_opts = raw_create_opts,
	.probe = raw_probe,
	.open = raw_open,
	.close = raw_close,
	.block_status = raw_block_status,
	.write = raw_write,
	.zero = raw_zero,
	.resize = raw_resize,
	.create = raw_create,
};
