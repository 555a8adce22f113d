/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vimg_compare: guest-visible comparison of two images, driven by block
 * status so that ranges both images call zero are never read. Where only one
 * side has data, that side alone is read and checked for zeros. Memory is
 * two fixed buffers.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "internal.h"

#define CMP_CHUNK (1024 * 1024)

struct cmp {
	struct vimg_image *a, *b;
	uint8_t *ba, *bb;
	vimg_progress_fn *progress;
	void *opaque;
	uint64_t total, done;
};

static void cmp_progress(struct cmp *c, uint64_t n)
{
	c->done += n;
	if (c->progress)
		c->progress(c->opaque, c->done, c->total);
}

/* Whether the run reads as zeros (ZERO anywhere, or unallocated at the bottom). */
static bool run_is_zero(const struct vimg_run *r)
{
	return r->kind != VIMG_RUN_DATA;
}

static uint64_t first_nonzero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return i;
	return len;
}

static uint64_t first_diff(const uint8_t *a, const uint8_t *b, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (a[i] != b[i])
			return i;
	return len;
}

/* Compare [off, off+len) of both images; 1 and *diff on a difference. */
static int cmp_common(struct cmp *c, uint64_t len, uint64_t *diff, struct vimg_error *err)
{
	uint64_t off = 0;
	struct vimg_run ra, rb;
	int rc;

	while (off < len) {
		uint64_t n;

		rc = vimg_image_block_status_above(c->a, NULL, off, len - off, &ra, NULL, err);
		if (!rc)
			rc = vimg_image_block_status_above(c->b, NULL, off, len - off, &rb, NULL, err);
		if (rc)
			return rc;
		n = min_u64(ra.length, rb.length);
		if (run_is_zero(&ra) && run_is_zero(&rb)) {
			off += n;
			cmp_progress(c, n);
			continue;
		}
		n = min_u64(n, CMP_CHUNK);
		if (!run_is_zero(&ra) && (rc = vimg_image_read(c->a, c->ba, off, (size_t)n, err)))
			return rc;
		if (!run_is_zero(&rb) && (rc = vimg_image_read(c->b, c->bb, off, (size_t)n, err)))
			return rc;
		uint64_t at = run_is_zero(&ra)	 ? first_nonzero(c->bb, (size_t)n)
			      : run_is_zero(&rb) ? first_nonzero(c->ba, (size_t)n)
						 : first_diff(c->ba, c->bb, (size_t)n);
		if (at < n) {
			*diff = off + at;
			return 1;
		}
		off += n;
		cmp_progress(c, n);
	}
	return 0;
}

/* The part of the larger image past the smaller one's end must read as zeros. */
static int cmp_tail(struct cmp *c, struct vimg_image *img, uint8_t *buf, uint64_t from,
		    uint64_t *diff, struct vimg_error *err)
{
	uint64_t off = from;
	struct vimg_run r;
	int rc;

	while (off < img->size) {
		uint64_t n;

		rc = vimg_image_block_status_above(img, NULL, off, img->size - off, &r, NULL, err);
		if (rc)
			return rc;
		n = r.length;
		if (!run_is_zero(&r)) {
			n = min_u64(n, CMP_CHUNK);
			rc = vimg_image_read(img, buf, off, (size_t)n, err);
			if (rc)
				return rc;
			uint64_t at = first_nonzero(buf, (size_t)n);

			if (at < n) {
				*diff = off + at;
				return 1;
			}
		}
		off += n;
		cmp_progress(c, n);
	}
	return 0;
}

int vimg_compare(struct vimg_image *a, struct vimg_image *b, bool strict, uint64_t *diff_off,
		 vimg_progress_fn *progress, void *progress_opaque, struct vimg_error *err)
{
	struct cmp c = { .a = a, .b = b, .progress = progress, .opaque = progress_opaque };
	uint64_t common, diff = 0;
	int rc;

	if (!image_valid(a) || !image_valid(b))
		return vimg_error_set(err, VIMG_EINVAL, "vimg_compare: invalid handle");
	common = min_u64(a->size, b->size);
	c.total = max_u64(a->size, b->size);
	if (strict && a->size != b->size) {
		if (diff_off)
			*diff_off = common;
		return 1;
	}
	c.ba = malloc(CMP_CHUNK);
	c.bb = malloc(CMP_CHUNK);
	if (!c.ba || !c.bb) {
		rc = vimg_error_set(err, VIMG_ENOMEM, "out of memory");
		goto out;
	}
	rc = common ? cmp_common(&c, common, &diff, err) : 0;
	if (rc == 0 && a->size != b->size)
		rc = cmp_tail(&c, a->size > b->size ? a : b, c.ba, common, &diff, err);
	if (rc == 1 && diff_off)
		*diff_off = diff;
out:
	free(c.ba);
	free(c.bb);
	return rc;
}
