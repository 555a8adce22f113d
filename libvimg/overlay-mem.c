/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The in-memory overlay: an unregistered driver, "mem", whose layer keeps
 * every write in 64 KiB copy-on-write chunks (an open-addressing hash table)
 * and whose backing is the image below it. The core reads through it like
 * any two-level chain (overlays are just a top layer): chunks
 * written are DATA, the rest UNALLOCATED, served by the image. The image is
 * borrowed: never written, never closed. vimg boot gives it to the guest so
 * that a boot check cannot change a byte of the image.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "internal.h"

#define CHUNK_SHIFT 16
#define CHUNK_SIZE (1u << CHUNK_SHIFT)

struct chunk {
	uint64_t idx;
	uint8_t *data;	/* NULL: empty slot */
};

struct mem_overlay {
	struct chunk *tab;
	size_t cap, n;
	uint64_t max_bytes;
};

static size_t slot_of(const struct mem_overlay *m, uint64_t idx)
{
	uint64_t h = idx * 0x9E3779B97F4A7C15ull;

	return (size_t)(h >> 20) & (m->cap - 1);
}

static struct chunk *chunk_find(const struct mem_overlay *m, uint64_t idx)
{
	if (!m->cap)
		return NULL;
	for (size_t i = slot_of(m, idx);; i = (i + 1) & (m->cap - 1)) {
		if (!m->tab[i].data)
			return NULL;
		if (m->tab[i].idx == idx)
			return &m->tab[i];
	}
}

static int table_grow(struct mem_overlay *m, struct vimg_error *err)
{
	size_t ncap = m->cap ? m->cap * 2 : 64;
	struct chunk *nt = calloc(ncap, sizeof(*nt));
	struct chunk *old = m->tab;
	size_t ocap = m->cap;

	if (!nt)
		return vimg_error_set(err, VIMG_ENOMEM, "mem overlay: out of memory");
	m->tab = nt;
	m->cap = ncap;
	for (size_t i = 0; i < ocap; i++) {
		if (!old[i].data)
			continue;
		size_t j = slot_of(m, old[i].idx);

		while (nt[j].data)
			j = (j + 1) & (ncap - 1);
		nt[j] = old[i];
	}
	free(old);
	return 0;
}

/* The chunk idx, made from what lies below when the layer does not hold it yet. */
static int chunk_get(struct vimg_image *img, uint64_t idx, struct chunk **out,
		     struct vimg_error *err)
{
	struct mem_overlay *m = image_priv(img);
	struct chunk *c = chunk_find(m, idx);

	if (c) {
		*out = c;
		return 0;
	}
	if ((uint64_t)(m->n + 1) * CHUNK_SIZE > m->max_bytes)
		return vimg_error_set(err, VIMG_ENOSPC,
				      "mem overlay: writes would hold more than %llu MiB in memory",
				      (unsigned long long)(m->max_bytes >> 20));
	if ((m->n + 1) * 2 > m->cap) {
		int rc = table_grow(m, err);

		if (rc)
			return rc;
	}
	uint8_t *data = malloc(CHUNK_SIZE);

	if (!data)
		return vimg_error_set(err, VIMG_ENOMEM, "mem overlay: out of memory");
	uint64_t off = idx << CHUNK_SHIFT;
	size_t len = (size_t)min_u64(CHUNK_SIZE, img->size - off);

	memset(data + len, 0, CHUNK_SIZE - len);
	int rc = vimg_read_below(img, data, off, len, err);

	if (rc) {
		free(data);
		return rc;
	}
	size_t i = slot_of(m, idx);

	while (m->tab[i].data)
		i = (i + 1) & (m->cap - 1);
	m->tab[i].idx = idx;
	m->tab[i].data = data;
	m->n++;
	*out = &m->tab[i];
	return 0;
}

static int mem_block_status(struct vimg_image *img, uint64_t off, uint64_t len,
			    struct vimg_run *run, struct vimg_error *err)
{
	struct mem_overlay *m = image_priv(img);
	uint64_t end = off + len;
	uint64_t next = ((off >> CHUNK_SHIFT) + 1) << CHUNK_SHIFT;

	if (chunk_find(m, off >> CHUNK_SHIFT)) {
		run->kind = VIMG_RUN_DATA;
		run->length = min_u64(next, end) - off;
		return 0;
	}
	/*
	 * One run over the chunks the layer does not hold, up to the next one it
	 * does: found by probing each chunk, or by one pass over the table when
	 * that is shorter (a map of a large disk with few writes).
	 */
	if ((end - next) >> CHUNK_SHIFT > m->cap) {
		uint64_t from = off >> CHUNK_SHIFT, first = UINT64_MAX;

		for (size_t i = 0; i < m->cap; i++)
			if (m->tab[i].data && m->tab[i].idx > from && m->tab[i].idx < first)
				first = m->tab[i].idx;
		next = first < (end >> CHUNK_SHIFT) + 1 ? first << CHUNK_SHIFT : end;
	} else {
		while (next < end && !chunk_find(m, next >> CHUNK_SHIFT))
			next += CHUNK_SIZE;
	}
	run->kind = VIMG_RUN_UNALLOCATED;
	run->length = min_u64(next, end) - off;
	return 0;
}

/* Within one DATA run, so within one chunk. */
static int mem_read(struct vimg_image *img, void *buf, uint64_t off, size_t len,
		    struct vimg_error *err)
{
	struct chunk *c = chunk_find(image_priv(img), off >> CHUNK_SHIFT);

	if (!c || (off & (CHUNK_SIZE - 1)) + len > CHUNK_SIZE)
		return vimg_error_set(err, VIMG_EIO, "mem overlay: read at 0x%llx outside a chunk",
				      (unsigned long long)off);
	memcpy(buf, c->data + (off & (CHUNK_SIZE - 1)), len);
	return 0;
}

static int mem_write(struct vimg_image *img, const void *buf, uint64_t off, size_t len,
		     unsigned flags, struct vimg_error *err)
{
	const uint8_t *p = buf;

	(void)flags;
	while (len) {
		size_t in = (size_t)(off & (CHUNK_SIZE - 1));
		size_t n = (size_t)min_u64(CHUNK_SIZE - in, len);
		struct chunk *c = NULL;
		int rc = chunk_get(img, off >> CHUNK_SHIFT, &c, err);

		if (rc)
			return rc;
		memcpy(c->data + in, p, n);
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

static int mem_flush(struct vimg_image *img, struct vimg_error *err)
{
	(void)img;
	(void)err;
	return 0;
}

static void mem_close(struct vimg_image *img)
{
	struct mem_overlay *m = image_priv(img);

	for (size_t i = 0; i < m->cap; i++)
		free(m->tab[i].data);
	free(m->tab);
	m->tab = NULL;
	m->cap = m->n = 0;
}

const struct vimg_driver vimg_drv_mem = {
	.name = "mem",
	.description = "in-memory overlay (unregistered)",
	.priv_size = sizeof(struct mem_overlay),
	.thread_model = VIMG_THREAD_SERIALIZE,
	.close = mem_close,
	.block_status = mem_block_status,
	.read = mem_read,
	.write = mem_write,
	.flush = mem_flush,
};

int overlay_mem_open(struct vimg_image *base, uint64_t max_bytes, struct vimg_image **out,
		     struct vimg_error *err)
{
	struct vimg_image *img;
	int rc = image_layer_new(&vimg_drv_mem, base, &img, err);

	if (rc)
		return rc;
	struct mem_overlay *m = image_priv(img);

	m->max_bytes = max_bytes;
	img->cluster_size = CHUNK_SIZE;
	*out = img;
	return 0;
}

uint64_t overlay_mem_bytes(struct vimg_image *img)
{
	if (!image_valid(img) || img->drv != &vimg_drv_mem)
		return 0;
	image_lock(img, false);
	uint64_t n = (uint64_t)((struct mem_overlay *)image_priv(img))->n * CHUNK_SIZE;
	image_unlock(img);
	return n;
}
