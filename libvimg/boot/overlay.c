/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The guest's disk: the image, read-only, under a private overlay that takes
 * every guest write, so a boot check never changes the image. The in-memory
 * overlay keeps 64 KiB copy-on-write chunks in an open-addressing hash table;
 * with a path, the overlay is a new qcow2 file backed by the image.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "boot.h"
#include "driver.h"

#define CHUNK_SHIFT 16
#define CHUNK_SIZE (1u << CHUNK_SHIFT)
#define OVERLAY_MEM_MAX (1ull << 30) /* refuse to hold more than 1 GiB of guest writes */

struct chunk {
	uint64_t idx;
	uint8_t *data;	/* NULL: empty slot */
};

struct overlay {
	struct vimg_image *img;		/* not owned */
	struct vimg_image *file;	/* owned qcow2 overlay, or NULL */
	uint64_t size;
	struct chunk *tab;
	size_t cap, n;
};

static size_t slot_of(const struct overlay *ov, uint64_t idx)
{
	uint64_t h = idx * 0x9E3779B97F4A7C15ull;
	return (size_t)(h >> 20) & (ov->cap - 1);
}

static struct chunk *chunk_find(const struct overlay *ov, uint64_t idx)
{
	if (!ov->cap)
		return NULL;
	for (size_t i = slot_of(ov, idx);; i = (i + 1) & (ov->cap - 1)) {
		if (!ov->tab[i].data)
			return NULL;
		if (ov->tab[i].idx == idx)
			return &ov->tab[i];
	}
}

static int grow(struct overlay *ov, struct vimg_error *err)
{
	size_t ncap = ov->cap ? ov->cap * 2 : 64;
	struct chunk *nt = calloc(ncap, sizeof(*nt));
	if (!nt)
		return vimg_error_set(err, VIMG_ENOMEM, "boot overlay: out of memory");
	struct chunk *old = ov->tab;
	size_t ocap = ov->cap;
	ov->tab = nt;
	ov->cap = ncap;
	for (size_t i = 0; i < ocap; i++) {
		if (!old[i].data)
			continue;
		size_t j = slot_of(ov, old[i].idx);
		while (nt[j].data)
			j = (j + 1) & (ncap - 1);
		nt[j] = old[i];
	}
	free(old);
	return 0;
}

static int chunk_get(struct overlay *ov, uint64_t idx, struct chunk **out, struct vimg_error *err)
{
	struct chunk *c = chunk_find(ov, idx);
	if (c) {
		*out = c;
		return 0;
	}
	if ((uint64_t)(ov->n + 1) * CHUNK_SIZE > OVERLAY_MEM_MAX)
		return vimg_error_set(err, VIMG_ENOSPC,
				      "boot overlay: guest wrote more than 1 GiB (use --overlay FILE)");
	if ((ov->n + 1) * 2 > ov->cap) {
		int rc = grow(ov, err);
		if (rc < 0)
			return rc;
	}
	uint8_t *data = malloc(CHUNK_SIZE);
	if (!data)
		return vimg_error_set(err, VIMG_ENOMEM, "boot overlay: out of memory");
	uint64_t off = idx << CHUNK_SHIFT;
	size_t len = CHUNK_SIZE;
	if (off + len > ov->size) {
		len = (size_t)(ov->size - off);
		memset(data + len, 0, CHUNK_SIZE - len);
	}
	int rc = vimg_image_read(ov->img, data, off, len, err);
	if (rc < 0) {
		free(data);
		return rc;
	}
	size_t i = slot_of(ov, idx);
	while (ov->tab[i].data)
		i = (i + 1) & (ov->cap - 1);
	ov->tab[i].idx = idx;
	ov->tab[i].data = data;
	ov->n++;
	*out = &ov->tab[i];
	return 0;
}

int overlay_open(struct vimg_image *img, const char *path, struct overlay **out,
		 struct vimg_error *err)
{
	struct overlay *ov = calloc(1, sizeof(*ov));
	if (!ov)
		return vimg_error_set(err, VIMG_ENOMEM, "boot overlay: out of memory");
	ov->img = img;
	ov->size = vimg_image_virtual_size(img);
	if (path) {
		char *abs = realpath(vimg_image_filename(img), NULL);
		if (!abs) {
			free(ov);
			return vimg_error_set_errno(err, errno, "%s", vimg_image_filename(img));
		}
		int rc = vimg_image_create(path, "qcow2", 0, NULL, abs, vimg_image_format(img),
					   VIMG_CREATE_ALLOW_ESCAPE, err);
		if (rc == 0)
			rc = vimg_image_open(path, "qcow2", VIMG_OPEN_RDWR | VIMG_OPEN_ALLOW_ESCAPE,
					     &ov->file, err);
		free(abs);
		if (rc < 0) {
			free(ov);
			return vimg_error_prefix(err, "overlay %s", path);
		}
	}
	*out = ov;
	return 0;
}

void overlay_close(struct overlay *ov)
{
	if (!ov)
		return;
	for (size_t i = 0; i < ov->cap; i++)
		free(ov->tab[i].data);
	free(ov->tab);
	vimg_image_close(ov->file, NULL);
	free(ov);
}

uint64_t overlay_size(const struct overlay *ov)
{
	return ov->size;
}

uint64_t overlay_mem_bytes(const struct overlay *ov)
{
	return (uint64_t)ov->n * CHUNK_SIZE;
}

int overlay_read(struct overlay *ov, void *buf, uint64_t off, size_t len, struct vimg_error *err)
{
	if (off > ov->size || len > ov->size - off)
		return vimg_error_set(err, VIMG_ERANGE, "boot overlay: read past the end of disk");
	if (ov->file)
		return vimg_image_read(ov->file, buf, off, len, err);
	uint8_t *p = buf;
	while (len) {
		uint64_t idx = off >> CHUNK_SHIFT;
		size_t in = (size_t)(off & (CHUNK_SIZE - 1));
		size_t n = CHUNK_SIZE - in < len ? CHUNK_SIZE - in : len;
		struct chunk *c = chunk_find(ov, idx);
		if (c) {
			memcpy(p, c->data + in, n);
		} else {
			/* Read the whole run of chunks not in the overlay in one call. */
			uint64_t end = off + n;
			while (end < off + len && !chunk_find(ov, end >> CHUNK_SHIFT))
				end += (off + len - end) < CHUNK_SIZE ? (off + len - end) : CHUNK_SIZE;
			n = (size_t)(end - off);
			int rc = vimg_image_read(ov->img, p, off, n, err);
			if (rc < 0)
				return rc;
		}
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

int overlay_write(struct overlay *ov, const void *buf, uint64_t off, size_t len,
		  struct vimg_error *err)
{
	if (off > ov->size || len > ov->size - off)
		return vimg_error_set(err, VIMG_ERANGE, "boot overlay: write past the end of disk");
	if (ov->file)
		return vimg_image_write(ov->file, buf, off, len, err);
	const uint8_t *p = buf;
	while (len) {
		uint64_t idx = off >> CHUNK_SHIFT;
		size_t in = (size_t)(off & (CHUNK_SIZE - 1));
		size_t n = CHUNK_SIZE - in < len ? CHUNK_SIZE - in : len;
		struct chunk *c = NULL;
		int rc = chunk_get(ov, idx, &c, err);
		if (rc < 0)
			return rc;
		memcpy(c->data + in, p, n);
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}
