/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vdi driver: VirtualBox Disk Image, header version 1.1, static and dynamic.
 * There is no published specification; the layout is taken from qemu
 * block/vdi.c and fox-it/dissect.hypervisor c_vdi.py: a 64-byte pre-header
 * text, signature 0xbeda107f, version 0x00010001, the v1.1 header (0x180
 * bytes from offset 0x48), a block map of little-endian u32 block indexes
 * (0xffffffff unallocated, 0xfffffffe zero) at offset_bmap, and the blocks at
 * offset_data + index * block_size.
 *
 * Invariants after open: the block map covers the disk and every allocated
 * entry's block lies inside the file. Differencing images (their parent is
 * found by UUID in VirtualBox's media registry, which we do not have) and
 * undo images are refused with VIMG_EUNSUPPORTED. A new block is written in
 * full at the end of the file, then its map entry, then blocks_allocated.
 */
#include "config.h"

#include <assert.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checked.h"
#include "endian.h"
#include "vdi.h"

static void vdi_header_decode(const struct vdi_header_disk *d, struct vdi_header *h)
{
	h->signature = ld_le32(d->signature);
	h->version = ld_le32(d->version);
	h->header_size = ld_le32(d->header_size);
	h->image_type = ld_le32(d->image_type);
	h->image_flags = ld_le32(d->image_flags);
	h->offset_bmap = ld_le32(d->offset_bmap);
	h->offset_data = ld_le32(d->offset_data);
	h->sector_size = ld_le32(d->sector_size);
	h->disk_size = ld_le64(d->disk_size);
	h->block_size = ld_le32(d->block_size);
	h->block_extra = ld_le32(d->block_extra);
	h->blocks_in_image = ld_le32(d->blocks_in_image);
	h->blocks_allocated = ld_le32(d->blocks_allocated);
	memcpy(h->uuid_image, d->uuid_image, 16);
	memcpy(h->uuid_last_snap, d->uuid_last_snap, 16);
	memcpy(h->uuid_link, d->uuid_link, 16);
	memcpy(h->uuid_parent, d->uuid_parent, 16);
}

static int vdi_probe(const struct vimg_probe *p)
{
	if (p->head_len < 0x48 || ld_le32(p->head + 0x40) != VDI_SIGNATURE)
		return 0;
	return ld_le32(p->head + 0x44) == VDI_VERSION_1_1 ? 100 : 60;
}

static int validate(struct vdi *s, struct vimg_error *err)
{
	const struct vdi_header *h = &s->h;
	uint64_t end, cover;
	char u[40];

	if (h->signature != VDI_SIGNATURE)
		return vimg_error_set(err, VIMG_EFORMAT, "vdi: header: bad signature (offset 0x40)");
	if (h->version != VDI_VERSION_1_1)
		return vimg_error_set(err, VIMG_EUNSUPPORTED,
				      "vdi: header: version 0x%08x (only 1.1 is supported)",
				      h->version);
	if (h->header_size < VDI_HEADER_V1_SIZE)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "vdi: header: size 0x%x is too small (offset 0x48)",
				      h->header_size);
	if (h->image_type != VDI_TYPE_NORMAL && h->image_type != VDI_TYPE_FIXED &&
	    h->image_type != VDI_TYPE_DIFF)
		return vimg_error_set(err, VIMG_EUNSUPPORTED,
				      "vdi: header: image type %u is not dynamic, static or "
				      "differencing (offset 0x4c)",
				      h->image_type);
	if (h->image_type == VDI_TYPE_DIFF && vdi_uuid_is_null(h->uuid_link))
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "vdi: header: differencing image without a parent UUID "
				      "(offset 0x1a8)");
	if (h->image_type != VDI_TYPE_DIFF && !vdi_uuid_is_null(h->uuid_link)) {
		id_guid_format(h->uuid_link, false, u);
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "vdi: header: image type %u has a parent UUID {%s} (offset "
				      "0x1a8): only a differencing image has one",
				      h->image_type, u);
	}
	if (h->sector_size != VDI_SECTOR)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "vdi: header: sector size %u is not 512 (offset 0x168)",
				      h->sector_size);
	if (!is_pow2(h->block_size) || h->block_size < VDI_SECTOR || h->block_size > VDI_MAX_BLOCK)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "vdi: header: block size %u is not a power of two from 512 to "
				      "256 MiB (offset 0x178)",
				      h->block_size);
	if (h->block_extra)
		return vimg_error_set(err, VIMG_EUNSUPPORTED,
				      "vdi: header: block_extra %u is not supported", h->block_extra);
	if (h->offset_bmap % VDI_SECTOR || h->offset_bmap < 512 || h->offset_data % VDI_SECTOR)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "vdi: header: block map or data offset not sector-aligned "
				      "(offset 0x154)");
	if ((uint64_t)h->blocks_in_image * 4 > VDI_MAX_BMAP_BYTES)
		return vimg_error_set(err, VIMG_ECORRUPT, "vdi: block map: %u entries exceeds limit",
				      h->blocks_in_image);
	cover = (uint64_t)h->blocks_in_image * h->block_size;
	if (cover < h->disk_size)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "vdi: header: %u blocks do not cover the disk size %" PRIu64
				      " (offset 0x180)",
				      h->blocks_in_image, h->disk_size);
	end = (uint64_t)h->offset_bmap + (uint64_t)h->blocks_in_image * 4;
	if (end > s->file_size)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "vdi: block map points past end of file (offset 0x%x)",
				      h->offset_bmap);
	if (end > h->offset_data)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "vdi: block map overlaps the data area (offset 0x%x)",
				      h->offset_data);
	return 0;
}

static int load_bmap(struct vdi *s, struct vimg_error *err)
{
	uint32_t n = s->h.blocks_in_image;
	uint8_t *raw;
	int rc;

	rc = vimg_alloc_table(n ? n : 1, 4, VDI_MAX_BMAP_BYTES, "vdi: block map entries",
			      (void **)&s->bmap, err);
	if (rc)
		return rc;
	raw = malloc(n ? (size_t)n * 4 : 1);
	if (!raw)
		return vimg_error_set(err, VIMG_ENOMEM, "vdi: out of memory for the block map");
	rc = file_pread_full(s->file, raw, (size_t)n * 4, s->h.offset_bmap, err);
	for (uint32_t i = 0; !rc && i < n; i++) {
		uint32_t e = ld_le32(raw + 4 * (size_t)i);

		s->bmap[i] = e;
		if (e == VDI_UNALLOCATED || e == VDI_ZERO)
			continue;
		if (e >= n || vdi_block_off(s, e) + s->h.block_size > s->file_size)
			rc = vimg_error_set(err, VIMG_ECORRUPT,
					    "vdi: block map entry %u points past end of file (offset "
					    "0x%" PRIx64 ")",
					    i, vdi_block_off(s, e));
		else if (e + 1 > s->next_index)
			s->next_index = e + 1;
	}
	free(raw);
	return rc;
}

static int vdi_open(struct vimg_image *img, struct vimg_file *file, unsigned flags,
		    struct vimg_error *err)
{
	struct vdi *s = image_priv(img);
	int64_t fsz;
	int rc;

	s->file = file;
	fsz = file_size(file, err);
	if (fsz < 0)
		return (int)fsz;
	s->file_size = (uint64_t)fsz;
	if (s->file_size < sizeof(s->raw))
		return vimg_error_set(err, VIMG_EFORMAT, "vdi: file too small (%" PRIu64 " bytes)",
				      s->file_size);
	rc = file_pread_full(file, s->raw, sizeof(s->raw), 0, err);
	if (rc)
		return rc;
	vdi_header_decode((const struct vdi_header_disk *)s->raw, &s->h);
	rc = validate(s, err);
	if (rc == 0)
		rc = load_bmap(s, err);
	if (rc)
		return rc;
	if (s->h.blocks_allocated > s->next_index)
		s->next_index = s->h.blocks_allocated;
	if (s->h.image_type == VDI_TYPE_DIFF) {
		char *parent;

		rc = vdi_parent_find(img, s, &parent, err);
		/* Described without its parent when the caller will not open it. */
		if (rc == VIMG_EBACKING && (flags & VIMG_OPEN_NO_BACKING)) {
			vimg_error_clear(err);
		} else if (rc) {
			return rc;
		} else {
			rc = image_set_backing(img, parent, "vdi", err);
			free(parent);
			if (rc)
				return rc;
		}
	}
	image_set_size(img, s->h.disk_size);
	image_set_cluster_size(img, s->h.block_size);
	return 0;
}

static void vdi_close(struct vimg_image *img)
{
	struct vdi *s = image_priv(img);

	free(s->bmap);
	free(s->blockbuf);
	s->bmap = NULL;
	s->blockbuf = NULL;
}

static int vdi_block_status(struct vimg_image *img, uint64_t off, uint64_t len,
			    struct vimg_run *run, struct vimg_error *err)
{
	struct vdi *s = image_priv(img);
	uint32_t bs = s->h.block_size, blk = (uint32_t)(off / bs);
	uint32_t e = s->bmap[blk];
	uint64_t end = off + len, pos = (uint64_t)blk * bs + bs;

	/* Merge following blocks of the same kind (and, for data, contiguous). */
	while (pos < end) {
		uint32_t f = s->bmap[pos / bs];
		bool same = (e == VDI_UNALLOCATED || e == VDI_ZERO)
				    ? f == e
				    : f < VDI_ZERO && f == e + (uint32_t)(pos / bs - blk);

		if (!same)
			break;
		pos += bs;
	}
	run->length = min_u64(pos, end) - off;
	if (e == VDI_UNALLOCATED) {
		run->kind = VIMG_RUN_UNALLOCATED;
	} else if (e == VDI_ZERO) {
		run->kind = VIMG_RUN_ZERO;
	} else {
		run->kind = VIMG_RUN_DATA;
		run->flags = VIMG_RUN_OFFSET_VALID;
		run->file = s->file;
		run->file_off = vdi_block_off(s, e) + off % bs;
	}
	return 0;
}

static int write_header_counts(struct vdi *s, struct vimg_error *err)
{
	struct vdi_header_disk *d = (struct vdi_header_disk *)s->raw;

	st_le32(d->blocks_allocated, s->h.blocks_allocated);
	return file_pwrite_full(s->file, d->blocks_allocated, 4,
				offsetof(struct vdi_header_disk, blocks_allocated), err);
}

/* A whole new block at the end of the data area: merged data, then map, then count. */
static int alloc_write(struct vimg_image *img, struct vdi *s, uint32_t blk, const uint8_t *buf,
		       uint64_t off, size_t len, struct vimg_error *err)
{
	uint32_t bs = s->h.block_size, old = s->bmap[blk], idx = s->next_index;
	uint64_t bstart = (uint64_t)blk * bs, in = off - bstart;
	uint8_t e[4];
	int rc;

	if (idx >= s->h.blocks_in_image)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "vdi: no free block index (blocks_allocated %u)", idx);
	if (!s->blockbuf && !(s->blockbuf = malloc(bs)))
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	/* A zero block reads as zeros; an unallocated one as whatever lies below. */
	if (old == VDI_ZERO)
		memset(s->blockbuf, 0, bs);
	else if ((rc = vimg_read_below(img, s->blockbuf, bstart, bs, err)))
		return rc;
	memcpy(s->blockbuf + in, buf, len);
	rc = file_pwrite_full(s->file, s->blockbuf, bs, vdi_block_off(s, idx), err);
	if (rc)
		return rc;
	st_le32(e, idx);
	rc = file_pwrite_full(s->file, e, 4, s->h.offset_bmap + (uint64_t)blk * 4, err);
	if (rc)
		return rc;
	s->bmap[blk] = idx;
	s->next_index = idx + 1;
	if (vdi_block_off(s, idx) + bs > s->file_size)
		s->file_size = vdi_block_off(s, idx) + bs;
	s->h.blocks_allocated++;
	return write_header_counts(s, err);
}

static int vdi_write(struct vimg_image *img, const void *buf, uint64_t off, size_t len,
		     unsigned flags, struct vimg_error *err)
{
	struct vdi *s = image_priv(img);
	const uint8_t *p = buf;
	uint32_t bs = s->h.block_size;

	while (len) {
		uint32_t blk = (uint32_t)(off / bs), e = s->bmap[blk];
		size_t n = (size_t)min_u64(len, bs - off % bs);
		int rc;

		if (e == VDI_UNALLOCATED || e == VDI_ZERO)
			rc = alloc_write(img, s, blk, p, off, n, err);
		else
			rc = file_pwrite_full(s->file, p, n, vdi_block_off(s, e) + off % bs, err);
		if (rc)
			return rc;
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

/* After commit: every block free again (it reads the parent), the map first,
 * then the count, then the data area cut off. */
static int vdi_make_empty(struct vimg_image *img, struct vimg_error *err)
{
	struct vdi *s = image_priv(img);
	size_t n = (size_t)s->h.blocks_in_image * 4;
	uint8_t *map;
	int rc;

	if (s->h.image_type == VDI_TYPE_FIXED)
		return vimg_error_set(err, VIMG_EUNSUPPORTED,
				      "vdi: a static image cannot be emptied");
	map = malloc(n ? n : 1);
	if (!map)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	memset(map, 0xff, n);
	rc = file_pwrite_full(s->file, map, n, s->h.offset_bmap, err);
	free(map);
	if (!rc)
		rc = file_fsync(s->file, err);
	if (rc)
		return rc;
	for (uint32_t i = 0; i < s->h.blocks_in_image; i++)
		s->bmap[i] = VDI_UNALLOCATED;
	s->h.blocks_allocated = 0;
	s->next_index = 0;
	rc = write_header_counts(s, err);
	if (!rc)
		rc = file_fsync(s->file, err);
	if (!rc && s->file_size > s->h.offset_data) {
		rc = file_truncate(s->file, s->h.offset_data, err);
		if (!rc)
			s->file_size = s->h.offset_data;
	}
	return rc;
}

/* ---- create ----------------------------------------------------------------- */

static const struct vimg_opt_desc vdi_create_opts[] = {
	{ "static", VIMG_OPT_BOOL, "off", NULL, "preallocate every block (a static image)" },
	{ NULL, 0, NULL, NULL, NULL },
};

static int vdi_create(const char *path, uint64_t size, const struct vimg_opts *opts,
		      const struct vimg_backing_spec *backing, struct vimg_error *err)
{
	struct vdi_header_disk d;
	struct vimg_file *f;
	struct vimg_image *parent = NULL;
	bool is_static = false;
	uint64_t blocks, bmap_bytes, data_off, total;
	uint8_t *bmap;
	int rc;

	rc = opts_get_bool(opts, "static", &is_static, err);
	if (rc)
		return rc;
	if (backing && backing->name) {
		rc = create_backing_parent(backing, "vdi", &parent, err);
		if (rc)
			return rc;
		if (is_static)
			return vimg_error_set(err, VIMG_EINVAL,
					      "vdi: a static image cannot have a parent");
	}
	if (ck_align_up(size, VDI_SECTOR, &size) || size == 0)
		return vimg_error_set(err, VIMG_EINVAL, "vdi: invalid size");
	blocks = (size + VDI_DEFAULT_BLOCK - 1) / VDI_DEFAULT_BLOCK;
	if (blocks * 4 > VDI_MAX_BMAP_BYTES)
		return vimg_error_set(err, VIMG_EINVAL, "vdi: size %" PRIu64 " exceeds the limit",
				      size);
	bmap_bytes = (blocks * 4 + VDI_SECTOR - 1) / VDI_SECTOR * VDI_SECTOR;
	/* VirtualBox aligns the data area to 1 MiB. */
	data_off = (512 + bmap_bytes + (1u << 20) - 1) & ~(uint64_t)((1u << 20) - 1);
	memset(&d, 0, sizeof(d));
	memcpy(d.text, VDI_TEXT, sizeof(VDI_TEXT) - 1);
	st_le32(d.signature, VDI_SIGNATURE);
	st_le32(d.version, VDI_VERSION_1_1);
	st_le32(d.header_size, VDI_HEADER_V1_SIZE);
	st_le32(d.image_type, parent ? VDI_TYPE_DIFF : is_static ? VDI_TYPE_FIXED : VDI_TYPE_NORMAL);
	st_le32(d.offset_bmap, 512);
	st_le32(d.offset_data, (uint32_t)data_off);
	st_le32(d.sector_size, VDI_SECTOR);
	st_le64(d.disk_size, size);
	st_le32(d.block_size, VDI_DEFAULT_BLOCK);
	st_le32(d.blocks_in_image, (uint32_t)blocks);
	st_le32(d.blocks_allocated, is_static ? (uint32_t)blocks : 0);
	id_guid_random(d.uuid_image);
	id_guid_random(d.uuid_last_snap);
	if (parent) {
		const struct vdi *p = image_priv(parent);

		/* The parent's creation and modification UUIDs, as VirtualBox links. */
		memcpy(d.uuid_link, p->h.uuid_image, 16);
		memcpy(d.uuid_parent, p->h.uuid_last_snap, 16);
	}
	bmap = malloc(bmap_bytes);
	if (!bmap)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	memset(bmap, 0xff, bmap_bytes);
	for (uint64_t i = 0; is_static && i < blocks; i++)
		st_le32(bmap + 4 * i, (uint32_t)i);
	rc = file_open(path, FILE_CREATE, &f, err);
	if (rc) {
		free(bmap);
		return rc;
	}
	total = data_off + (is_static ? blocks * VDI_DEFAULT_BLOCK : 0);
	rc = file_pwrite_full(f, &d, sizeof(d), 0, err);
	if (!rc)
		rc = file_pwrite_full(f, bmap, bmap_bytes, 512, err);
	if (!rc)
		rc = file_truncate(f, total, err);
	if (!rc)
		rc = file_fsync(f, err);
	file_close(f);
	free(bmap);
	return rc;
}

/* ---- check and info ------------------------------------------------------------- */

static void finding(struct vimg_check *rep, enum vimg_check_severity sev, int64_t index,
		    uint64_t off, const char *msg)
{
	struct vimg_check_finding f = { sev, "block map", index, off, msg, false };

	if (sev == VIMG_CHECK_LEAK)
		rep->leaks++;
	else
		rep->corruptions++;
	if (rep->report)
		rep->report(rep->opaque, &f);
}

static int vdi_check(struct vimg_image *img, struct vimg_check *rep, unsigned fix,
		     struct vimg_error *err)
{
	struct vdi *s = image_priv(img);
	uint32_t n = s->h.blocks_in_image, used = 0;
	uint8_t *seen = NULL;
	char msg[160];
	int rc;

	rc = vimg_alloc_table(n ? n : 1, 1, VDI_MAX_BMAP_BYTES, "vdi: block map entries",
			      (void **)&seen, err);
	if (rc)
		return rc;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t e = s->bmap[i];

		if (e == VDI_UNALLOCATED || e == VDI_ZERO)
			continue;
		used++;
		if (seen[e]) {
			snprintf(msg, sizeof(msg), "block %u shares data block %u with another entry",
				 i, e);
			finding(rep, VIMG_CHECK_CORRUPTION, i, vdi_block_off(s, e), msg);
		}
		seen[e] = 1;
	}
	free(seen);
	if (used != s->h.blocks_allocated) {
		snprintf(msg, sizeof(msg), "blocks_allocated is %u but %u blocks are mapped",
			 s->h.blocks_allocated, used);
		finding(rep, VIMG_CHECK_CORRUPTION, -1, 0x184, msg);
	}
	rep->allocated_clusters = used;
	rep->total_clusters = n;
	rep->image_end_offset = s->file_size;
	return 0;
}

static int vdi_info(struct vimg_image *img, const struct vimg_emit *em, struct vimg_error *err)
{
	struct vdi *s = image_priv(img);
	char u[40];

	em->str(em->opaque, "subformat",
		s->h.image_type == VDI_TYPE_FIXED  ? "static"
		: s->h.image_type == VDI_TYPE_DIFF ? "differencing"
						   : "dynamic");
	id_guid_format(s->h.uuid_image, false, u);
	em->str(em->opaque, "uuid", u);
	id_guid_format(s->h.uuid_last_snap, false, u);
	em->str(em->opaque, "uuid-last-modification", u);
	if (s->h.image_type == VDI_TYPE_DIFF) {
		id_guid_format(s->h.uuid_link, false, u);
		em->str(em->opaque, "parent-uuid", u);
		id_guid_format(s->h.uuid_parent, false, u);
		em->str(em->opaque, "parent-uuid-last-modification", u);
	}
	em->u64(em->opaque, "blocks-allocated", s->h.blocks_allocated);
	return 0;
}

static const char *const vdi_extensions[] = { "vdi", NULL };

const struct vimg_driver vimg_drv_vdi = {
	.name = "vdi",
	.description = "VirtualBox disk image: static, dynamic and differencing",
	.extensions = vdi_extensions,
	.priv_size = sizeof(struct vdi),
	.features = VIMG_FEAT_BACKING,
	.thread_model = VIMG_THREAD_SERIALIZE,
	.create_opts = vdi_create_opts,
	.probe = vdi_probe,
	.open = vdi_open,
	.backing_opened = vdi_backing_opened,
	.set_backing = vdi_set_backing,
	.close = vdi_close,
	.block_status = vdi_block_status,
	.write = vdi_write,
	.resize = vdi_resize,
	.make_empty = vdi_make_empty,
	.create = vdi_create,
	.check = vdi_check,
	.info = vdi_info,
};
