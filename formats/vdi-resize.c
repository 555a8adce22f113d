/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vdi resize, as VBoxManage modifymedium --resize: the header's disk size
 * (cbDisk) and block count (cBlocks) change, the block map gains or loses
 * entries. New entries are free (0xffffffff); growing zeroes what the old
 * last block holds past the old size, so old data never comes back.
 *
 * When the map needs more room than lies before the data area (qemu-img
 * puts the data right after the map), the first m data blocks make way, as
 * VirtualBox does, and the data area starts m blocks later, so every block
 * index drops by m. That change of every entry and of offset_data cannot be
 * one write in place, so the new map is written where those m blocks were
 * and one header sector switches offset_bmap, offset_data and the sizes at
 * once (the old map's space is left unused). Order: the m blocks are copied
 * to free indices (synced), their entries pointed there (synced; the header
 * first names the spare map entries it uses), the new map written (synced),
 * then the header: a crash at any point leaves a readable image. When the
 * old map has no spare entry to park a block in (every entry it can hold in
 * use), the resize is refused, naming `vimg convert` as the way round.
 *
 * Shrinking frees the entries past the end, then moves the blocks whose
 * index would lie past the new block count into the holes below it (qemu and
 * VirtualBox put the next block at index blocks_allocated, and qemu-img check
 * wants every index below the block count), then writes the header with
 * blocks_allocated the count of entries in use, then truncates the file.
 *
 * Static images grow too (VBoxManage refuses; nothing in the format stops
 * it): the new blocks are allocated at the end of the file in order and
 * mapped, sparse on the host unless --preallocation=falloc|full. A dynamic
 * image takes no preallocation, as its blocks are allocated on write.
 */
#include "config.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "endian.h"
#include "vdi.h"

static bool is_data(uint32_t e)
{
	return e < VDI_ZERO;
}

static uint64_t round_sector(uint64_t v)
{
	return (v + VDI_SECTOR - 1) / VDI_SECTOR * VDI_SECTOR;
}

/* Write map entries [from, to) of map (in memory) at map_off. */
static int write_entries(struct vdi *s, uint64_t map_off, const uint32_t *map, uint64_t from,
			 uint64_t to, struct vimg_error *err)
{
	uint8_t *b;
	int rc;

	if (to <= from)
		return 0;
	b = malloc((to - from) * 4);
	if (!b)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	for (uint64_t i = from; i < to; i++)
		st_le32(b + (i - from) * 4, map[i]);
	rc = file_pwrite_full(s->file, b, (to - from) * 4, map_off + from * 4, err);
	free(b);
	return rc;
}

/* The header sector with h's offsets, sizes and counts, written and synced. */
static int write_header(struct vdi *s, const struct vdi_header *h, struct vimg_error *err)
{
	uint8_t raw[512];
	struct vdi_header_disk *d = (struct vdi_header_disk *)raw;
	int rc;

	memcpy(raw, s->raw, sizeof(raw));
	st_le32(d->offset_bmap, h->offset_bmap);
	st_le32(d->offset_data, h->offset_data);
	st_le64(d->disk_size, h->disk_size);
	st_le32(d->blocks_in_image, h->blocks_in_image);
	st_le32(d->blocks_allocated, h->blocks_allocated);
	rc = file_pwrite_full(s->file, raw, sizeof(raw), 0, err);
	if (!rc)
		rc = file_fsync(s->file, err);
	if (!rc) {
		memcpy(s->raw, raw, sizeof(raw));
		s->h.offset_bmap = h->offset_bmap;
		s->h.offset_data = h->offset_data;
		s->h.disk_size = h->disk_size;
		s->h.blocks_in_image = h->blocks_in_image;
		s->h.blocks_allocated = h->blocks_allocated;
	}
	return rc;
}

/* Copy the block at index from to index to (same data area); not synced. */
static int copy_block(struct vdi *s, uint32_t from, uint32_t to, struct vimg_error *err)
{
	int rc;

	if (!s->blockbuf && !(s->blockbuf = malloc(s->h.block_size)))
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	rc = file_pread_zeroed(s->file, s->blockbuf, s->h.block_size, vdi_block_off(s, from), err);
	if (!rc)
		rc = file_pwrite_full(s->file, s->blockbuf, s->h.block_size, vdi_block_off(s, to),
				      err);
	return rc;
}

static uint32_t count_data(const uint32_t *map, uint64_t n)
{
	uint32_t c = 0;

	for (uint64_t i = 0; i < n; i++)
		c += is_data(map[i]);
	return c;
}

/* One past the highest index in use, at least blocks_allocated (as open). */
static uint32_t next_index(const uint32_t *map, uint64_t n, uint32_t floor)
{
	uint32_t next = floor;

	for (uint64_t i = 0; i < n; i++)
		if (is_data(map[i]) && map[i] + 1 > next)
			next = map[i] + 1;
	return next;
}

/* Zero what the old last block holds past the old size, and any block mapped
 * past it: growing must show zeros there. */
static int clear_old_tail(struct vdi *s, struct vimg_error *err)
{
	uint32_t bs = s->h.block_size;
	uint64_t used = (s->h.disk_size + bs - 1) / bs, in = s->h.disk_size % bs;
	int rc = 0;

	if (in && is_data(s->bmap[used - 1]))
		rc = file_write_zeros(s->file, vdi_block_off(s, s->bmap[used - 1]) + in, bs - in, err);
	for (uint64_t g = used; !rc && g < s->h.blocks_in_image; g++)
		if (is_data(s->bmap[g]))
			rc = file_write_zeros(s->file, vdi_block_off(s, s->bmap[g]), bs, err);
	return rc;
}

/*
 * Make room for a map of `need` bytes: park the blocks at indexes below m in
 * free indexes the old map can hold, then write the new map (entries shifted
 * by m) where they were. On return *map is the new map (n_new entries, new
 * ones free) and h the header to write; nothing points at the new map yet.
 */
static int relocate(struct vdi *s, uint64_t n_new, uint64_t need, uint32_t **out,
		    struct vdi_header *h, struct vimg_error *err)
{
	uint32_t bs = s->h.block_size, n_old = s->h.blocks_in_image;
	uint64_t m = (need + bs - 1) / bs, cap = (s->h.offset_data - s->h.offset_bmap) / 4;
	uint64_t ncand = 0, top = n_old;
	uint32_t *map = NULL, next = next_index(s->bmap, n_old, s->h.blocks_allocated);
	uint8_t *used = NULL;
	int rc;

	if (cap > UINT32_MAX)
		cap = UINT32_MAX;
	rc = vimg_alloc_table(n_new, 4, VDI_MAX_BMAP_BYTES, "vdi: block map entries",
			      (void **)&map, err);
	if (!rc)
		rc = vimg_alloc_table(max_u64(cap, next) + 1, 1, VDI_MAX_BMAP_BYTES + 1,
				      "vdi: block map entries", (void **)&used, err);
	if (rc)
		goto out;
	memcpy(map, s->bmap, (size_t)n_old * 4);
	for (uint64_t i = n_old; i < n_new; i++)
		map[i] = VDI_UNALLOCATED;
	for (uint32_t g = 0; g < n_old; g++)
		if (is_data(map[g]))
			used[map[g]] = 1;
	/* Enough free indexes the old map can name, before anything is written. */
	for (uint64_t t = m, want = 0; t <= cap; t++) {
		for (uint32_t g = 0; t == m && g < n_old; g++)
			want += is_data(map[g]) && map[g] < m;
		if (!want)
			break;
		if (t == cap) {
			rc = vimg_error_set(err, VIMG_EUNSUPPORTED,
					    "vdi: block map full: no free entry to move the first "
					    "data block through; resize a copy made with `vimg "
					    "convert -O vdi`");
			goto out;
		}
		want -= !used[t];
	}
	/* Park each block below m in a free index the old map can name. */
	for (uint32_t g = 0; !rc && g < n_old; g++) {
		uint64_t t;

		if (!is_data(map[g]) || map[g] >= m)
			continue;
		for (t = max_u64(m, ncand); t < cap && used[t]; t++)
			;
		if (t >= cap) {
			rc = vimg_error_set(err, VIMG_EUNSUPPORTED,
					    "vdi: block map full: no free entry to move block %u "
					    "through; resize a copy made with `vimg convert -O vdi`",
					    map[g]);
			break;
		}
		rc = copy_block(s, map[g], (uint32_t)t, err);
		used[t] = 1;
		used[map[g]] = 0;
		map[g] = (uint32_t)t;
		ncand = t + 1;
		top = max_u64(top, t + 1);
	}
	if (!rc)
		rc = file_fsync(s->file, err);
	/* Entries past the old count that the parked blocks' indexes need: free first. */
	if (!rc && top > n_old) {
		uint32_t *spare = malloc((size_t)top * 4);
		struct vdi_header h1 = s->h;

		if (!spare) {
			rc = vimg_error_set(err, VIMG_ENOMEM, "out of memory");
			goto out;
		}
		for (uint64_t i = 0; i < top; i++)
			spare[i] = VDI_UNALLOCATED;
		rc = write_entries(s, s->h.offset_bmap, spare, n_old, top, err);
		free(spare);
		if (!rc)
			rc = file_fsync(s->file, err);
		h1.blocks_in_image = (uint32_t)top;
		if (!rc)
			rc = write_header(s, &h1, err);
		if (!rc) {
			uint32_t *b = realloc(s->bmap, (size_t)top * 4);

			if (!b) {
				rc = vimg_error_set(err, VIMG_ENOMEM, "out of memory");
				goto out;
			}
			s->bmap = b;
			for (uint64_t i = n_old; i < top; i++)
				s->bmap[i] = VDI_UNALLOCATED;
		}
	}
	/* The moved entries, then the old map no longer names blocks below m. */
	if (!rc)
		rc = write_entries(s, s->h.offset_bmap, map, 0, n_old, err);
	if (!rc)
		rc = file_fsync(s->file, err);
	if (rc)
		goto out;
	memcpy(s->bmap, map, (size_t)n_old * 4);
	s->next_index = (uint32_t)max_u64(s->next_index, top);
	/* The new map, every index shifted by m, where the blocks below m were. */
	for (uint64_t i = 0; i < n_old; i++)
		if (is_data(map[i]))
			map[i] -= (uint32_t)m;
	*h = s->h;
	h->offset_bmap = s->h.offset_data;
	h->offset_data = (uint32_t)(s->h.offset_data + m * bs);
	rc = write_entries(s, h->offset_bmap, map, 0, n_new, err);
	if (!rc)
		rc = file_write_zeros(s->file, h->offset_bmap + n_new * 4, round_sector(n_new * 4) - n_new * 4,
			      err);
out:
	free(used);
	if (rc)
		free(map);
	else
		*out = map;
	return rc;
}

static int grow(struct vimg_image *img, struct vdi *s, uint64_t size, unsigned flags,
		struct vimg_error *err)
{
	uint32_t bs = s->h.block_size, n_old = s->h.blocks_in_image, *map = NULL;
	uint64_t n_new = (size + bs - 1) / bs, need = round_sector(n_new * 4), end;
	struct vdi_header h = s->h;
	uint32_t next;
	int rc;

	if (n_new < n_old)
		n_new = n_old;
	if (n_new * 4 > VDI_MAX_BMAP_BYTES)
		return vimg_error_set(err, VIMG_EINVAL, "vdi: size %" PRIu64 " exceeds the limit",
				      size);
	if (s->h.offset_bmap + need > s->h.offset_data) {
		if ((uint64_t)s->h.offset_data + ((need + bs - 1) / bs) * bs > UINT32_MAX)
			return vimg_error_set(err, VIMG_EUNSUPPORTED,
					      "vdi: the data area would start past 4 GiB");
		rc = relocate(s, n_new, need, &map, &h, err);
		if (rc)
			return rc;
	} else {
		rc = vimg_alloc_table(n_new, 4, VDI_MAX_BMAP_BYTES, "vdi: block map entries",
				      (void **)&map, err);
		if (rc)
			return rc;
		memcpy(map, s->bmap, (size_t)n_old * 4);
		for (uint64_t i = n_old; i < n_new; i++)
			map[i] = VDI_UNALLOCATED;
	}
	rc = clear_old_tail(s, err);
	if (rc)
		goto out;
	/* Static: the new blocks allocated in order after the last one. */
	next = next_index(map, n_new, 0);
	if (s->h.image_type == VDI_TYPE_FIXED) {
		uint64_t first = h.offset_data + (uint64_t)next * bs;

		for (uint64_t i = n_old; i < n_new; i++)
			map[i] = next++;
		end = h.offset_data + (uint64_t)next * bs;
		if (flags & VIMG_RESIZE_PREALLOC_FULL)
			rc = file_write_zeros(s->file, first, end - first, err);
		else if (flags & VIMG_RESIZE_PREALLOC_FALLOC)
			rc = file_allocate(s->file, first, end - first, err);
		else if (end > s->file_size)
			rc = file_truncate(s->file, end, err);
		if (rc)
			goto out;
	}
	/* New entries (in the new map too, if it moved): unreferenced until the
	 * header names them. */
	rc = write_entries(s, h.offset_bmap, map, n_old, n_new, err);
	if (!rc)
		rc = file_fsync(s->file, err);
	if (rc)
		goto out;
	h.disk_size = size;
	h.blocks_in_image = (uint32_t)n_new;
	h.blocks_allocated = count_data(map, n_new);
	rc = write_header(s, &h, err);
	if (rc)
		goto out;
	free(s->bmap);
	s->bmap = map;
	map = NULL;
	s->next_index = next_index(s->bmap, n_new, s->h.blocks_allocated);
	s->file_size = max_u64(s->file_size, vdi_block_off(s, s->next_index));
	image_set_size(img, size);
out:
	free(map);
	return rc;
}

static int shrink(struct vimg_image *img, struct vdi *s, uint64_t size, struct vimg_error *err)
{
	uint32_t bs = s->h.block_size, n_old = s->h.blocks_in_image, k;
	uint64_t n_new = (size + bs - 1) / bs;
	struct vdi_header h = s->h;
	uint8_t *used = NULL;
	uint32_t hole = 0;
	int rc = 0;

	/* Past the end: freed (the guest gave up that data). */
	for (uint64_t i = n_new; i < n_old; i++)
		s->bmap[i] = VDI_UNALLOCATED;
	rc = write_entries(s, s->h.offset_bmap, s->bmap, n_new, n_old, err);
	if (!rc)
		rc = file_fsync(s->file, err);
	if (rc)
		return rc;
	/* Indexes at or past the count move down into the holes below it. */
	k = count_data(s->bmap, n_new);
	rc = vimg_alloc_table(max_u64(k, 1), 1, VDI_MAX_BMAP_BYTES, "vdi: block map entries",
			      (void **)&used, err);
	if (rc)
		return rc;
	for (uint64_t g = 0; g < n_new; g++)
		if (is_data(s->bmap[g]) && s->bmap[g] < k)
			used[s->bmap[g]] = 1;
	for (uint64_t g = 0; !rc && g < n_new; g++) {
		if (!is_data(s->bmap[g]) || s->bmap[g] < k)
			continue;
		while (used[hole])
			hole++;
		rc = copy_block(s, s->bmap[g], hole, err);
		if (!rc)
			rc = file_fsync(s->file, err);
		if (!rc) {
			uint32_t was = s->bmap[g];

			s->bmap[g] = hole;
			rc = write_entries(s, s->h.offset_bmap, s->bmap, g, g + 1, err);
			if (rc)
				s->bmap[g] = was;
		}
		used[hole] = 1;
	}
	free(used);
	if (!rc)
		rc = file_fsync(s->file, err);
	if (rc)
		return rc;
	h.disk_size = size;
	h.blocks_in_image = (uint32_t)n_new;
	h.blocks_allocated = k;
	rc = write_header(s, &h, err);
	if (rc)
		return rc;
	s->next_index = k;
	image_set_size(img, size);
	if (s->file_size > vdi_block_off(s, k)) {
		rc = file_truncate(s->file, vdi_block_off(s, k), err);
		if (!rc)
			s->file_size = vdi_block_off(s, k);
	}
	return rc;
}

int vdi_resize(struct vimg_image *img, uint64_t size, unsigned flags, struct vimg_error *err)
{
	struct vdi *s = image_priv(img);

	if (s->h.image_type != VDI_TYPE_FIXED && (flags & VIMG_RESIZE_PREALLOC_MASK))
		return vimg_error_set(err, VIMG_EUNSUPPORTED,
				      "vdi: preallocation is not supported for a dynamic image (its "
				      "blocks are allocated on write)");
	if (flags & VIMG_RESIZE_PREALLOC_METADATA)
		return vimg_error_set(err, VIMG_EUNSUPPORTED,
				      "vdi: a static image has no metadata to preallocate (use "
				      "falloc or full)");
	if (ck_align_up(size, VDI_SECTOR, &size))
		return vimg_error_set(err, VIMG_EINVAL, "vdi: size too large");
	if (size == s->h.disk_size)
		return 0;
	return size > s->h.disk_size ? grow(img, s, size, flags, err) : shrink(img, s, size, err);
}
