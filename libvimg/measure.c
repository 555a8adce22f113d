/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vimg_measure: the size a conversion would write, found by running it.
 * The target's own driver creates and fills the image through vimg_convert,
 * but into simulated files (file-sim.h), so every rule of its writer
 * (cluster and table allocation, refcount growth, alignment, extents) is
 * counted exactly as it happens, with no model of each format to keep in
 * step. The source is read through a layer that hands the copy engine the
 * marker wherever a real conversion would write data, zero blocks left
 * zero, decided on the same min_sparse blocks as the engine's; the files
 * then keep only metadata. A target that compresses gets the real data
 * instead (its sizes depend on it): that metadata-free bytes are dropped
 * past a bound, which a stream never reads back.
 *
 * The fully allocated size is the same run over a source that is data
 * everywhere (incompressible data for a compressing target).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checked.h"
#include "file-sim.h"
#include "internal.h"

/* Bytes of non-marker content the simulated files may keep. */
#define MEASURE_MAX_KEPT (512ull << 20)

struct marker_layer {
	bool all;		/* report data everywhere, read nothing */
	bool real_data;		/* the target compresses: hand it what it would get */
	uint64_t min_sparse;
};

static int marker_block_status(struct vimg_image *img, uint64_t off, uint64_t len,
			       struct vimg_run *run, struct vimg_error *err)
{
	struct marker_layer *m = image_priv(img);
	int rc;

	if (m->all) {
		*run = (struct vimg_run){ .length = len, .kind = VIMG_RUN_DATA };
		return 0;
	}
	rc = vimg_image_block_status_above(vimg_image_backing(img), NULL, off, len, run, NULL,
					   err);
	if (rc)
		return rc;
	/* Never UNALLOCATED: the layer stands for the whole chain below it. */
	run->kind = run->kind == VIMG_RUN_DATA ? VIMG_RUN_DATA : VIMG_RUN_ZERO;
	run->flags = 0;
	run->file = NULL;
	return 0;
}

/* Data no compressor shrinks, different in every block. */
static void fill_noise(uint8_t *p, uint64_t off, size_t len)
{
	uint64_t x = off * 0x9E3779B97F4A7C15ull | 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)(x >> 24);
	}
}

static int marker_read(struct vimg_image *img, void *buf, uint64_t off, size_t len,
		       struct vimg_error *err)
{
	struct marker_layer *m = image_priv(img);
	uint8_t *p = buf;
	uint64_t blk = m->min_sparse ? m->min_sparse : len;
	int rc;

	if (m->all) {
		if (m->real_data)
			fill_noise(p, off, len);
		else
			file_sim_marker_fill(p, off, len);
		return 0;
	}
	rc = vimg_image_read(vimg_image_backing(img), buf, off, len, err);
	if (rc || m->real_data)
		return rc;
	/* The copy engine's zero blocks (aligned to min_sparse in the disk) stay
	 * zero; every other block becomes the marker. */
	for (size_t pos = 0; pos < len;) {
		size_t n = (size_t)min_u64(len - pos, blk - (off + pos) % blk);

		if (!buf_is_zero(p + pos, n))
			file_sim_marker_fill(p + pos, off + pos, n);
		pos += n;
	}
	return 0;
}

static void marker_close(struct vimg_image *img)
{
}

static const struct vimg_driver marker_driver = {
	.name = "measure",
	.description = "what a conversion would write, as the marker (unregistered)",
	.priv_size = sizeof(struct marker_layer),
	.thread_model = VIMG_THREAD_PARALLEL_READS,
	.close = marker_close,
	.block_status = marker_block_status,
	.read = marker_read,
};

/* Does the target, as created with these options, compress what it gets? */
static int target_compresses(const char *path, const struct vimg_convert_opts *o,
			     uint64_t size, bool *yes, struct vimg_error *err)
{
	struct vimg_image *t;
	int rc;

	*yes = o->compress;
	rc = vimg_image_create(path, o->format, size, o->options, NULL, NULL, o->create_flags,
			       err);
	if (!rc)
		rc = vimg_image_open(path, o->format, VIMG_OPEN_RDWR | VIMG_OPEN_NO_SYNC, &t, err);
	if (rc)
		return rc;
	*yes = *yes || t->sequential_writes;
	return vimg_image_close(t, err);
}

/* One simulated conversion of base (all: of a disk that is data
 * everywhere); the bytes its files reach. */
static int simulate(struct vimg_image *base, bool all, const struct vimg_convert_opts *o,
		    const char *name, uint64_t *bytes, struct vimg_error *err)
{
	const char *tmp = getenv("TMPDIR");
	char *dir = NULL, *prefix = NULL, *dpath = NULL;
	struct vimg_convert_opts co = *o;
	struct vimg_image *layer = NULL;
	struct marker_layer *m;
	bool compresses;
	int rc, rc2;

	/* An empty real directory, so that paths under it resolve as a
	 * target's do; nothing is ever written in it. Files named after the
	 * target: descriptors that name their extents are sized by it. */
	if (asprintf(&dir, "%s/vimg-measure-XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	if (!mkdtemp(dir)) {
		rc = vimg_error_set_errno(err, errno, "measure: a directory in %s",
					  tmp && *tmp ? tmp : "/tmp");
		free(dir);
		return rc;
	}
	if (asprintf(&prefix, "%s/", dir) < 0 || asprintf(&dpath, "%s%s", prefix, name) < 0) {
		rc = vimg_error_set(err, VIMG_ENOMEM, "out of memory");
		goto out;
	}
	rc = file_sandbox_begin(prefix, MEASURE_MAX_KEPT, err);
	if (rc)
		goto out;
	rc = target_compresses(dpath, o, base->size, &compresses, err);
	if (!rc)
		rc = image_layer_new(&marker_driver, base, &layer, err);
	if (!rc) {
		m = image_priv(layer);
		m->all = all;
		m->real_data = compresses;
		m->min_sparse = o->has_min_sparse ? o->min_sparse : 4096;
		co.no_sync = true;
		/* One worker: the result does not depend on it, and
		 * simulated files are cheap to write. */
		co.threads = 1;
		rc = vimg_convert(layer, dpath, &co, err);
	}
	rc2 = layer ? vimg_image_close(layer, NULL) : 0;
	*bytes = file_sandbox_end();
	rc = rc ? rc : rc2;
out:
	rmdir(dir);
	free(dir);
	free(prefix);
	free(dpath);
	return rc;
}

int vimg_measure(struct vimg_image *src, uint64_t size, const struct vimg_convert_opts *o,
		 const char *target, struct vimg_measure *out, struct vimg_error *err)
{
	const char *name = target && *target ? strrchr(target, '/') : NULL;
	struct vimg_convert_opts co = o ? *o : (struct vimg_convert_opts){ 0 };
	struct vimg_image *blank = NULL;
	char path[64];
	int rc;

	memset(out, 0, sizeof(*out));
	if (src && !image_valid(src))
		return vimg_error_set(err, VIMG_EINVAL, "vimg_measure: invalid source");
	if (!src && !size)
		return vimg_error_set(err, VIMG_EINVAL, "vimg_measure: a source or a size is needed");
	if (co.backing)
		return vimg_error_set(err, VIMG_EUNSUPPORTED,
				      "measure: a target with a backing file (-B) is not measured");
	name = name ? name + 1 : target && *target ? target : "disk";
	if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
		return vimg_error_set(err, VIMG_EINVAL, "measure: \"%s\" names no file", target);
	if (!co.format)
		co.format = "raw";
	if (!registry_by_name(co.format))
		return vimg_error_set(err, VIMG_EINVAL, "unknown format \"%s\"", co.format);
	if (!src) {
		/* An empty disk of that size: a simulated raw file with nothing in it. */
		snprintf(path, sizeof(path), "/vimg-measure-%ld-blank", (long)getpid());
		rc = file_sandbox_begin(path, 0, err);
		if (!rc)
			rc = vimg_image_create(path, "raw", size, NULL, NULL, NULL, 0, err);
		if (!rc)
			rc = vimg_image_open(path, "raw", 0, &blank, err);
		if (rc) {
			file_sandbox_end();
			return rc;
		}
		src = blank;
	}
	rc = simulate(src, false, &co, name, &out->required, err);
	if (!rc) {
		vimg_progress_fn *p = co.progress;

		co.progress = NULL;
		rc = simulate(src, true, &co, name, &out->fully_allocated, err);
		co.progress = p;
	}
	if (blank) {
		vimg_image_close(blank, NULL);
		file_sandbox_end();
	}
	return rc;
}
