/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vmdk resize (qemu-img and VBoxManage cannot resize a VMDK). The disk is
 * its list of extents, so a resize is a new list: growing lengthens the last
 * extent (up to 2 GiB in a twoGbMaxExtent* disk, 2^32 sectors for a hosted
 * sparse extent) and, in a split disk, adds extents named as `vimg create`
 * names them (base-s001.vmdk...); shrinking shortens the extent holding the
 * new end and deletes the ones wholly past it. The descriptor is rewritten
 * through desc_set_extents (extent lines, ddb.geometry.cylinders) with a new
 * CID, as any change of content gets one.
 *
 * Hosted sparse extent (technote "Hosted Sparse Extents"): the grain
 * directories are sized for the capacity at create, and every grain table is
 * preallocated (qemu cannot write through a grain directory entry of 0). A
 * grown extent gets its new grain tables at the end of the file; when the
 * sector(s) of a grain directory cannot hold the new entries, both
 * directories move to the end of the file too, old entries copied, and the
 * header's gd_offset/rgd_offset follow. A shrunk extent clears the grain
 * table entries and directory entries past its end (their grains are
 * leaked, as qemu-img check accepts), so that growing again can never bring
 * old data back; the tail of a partial last grain is zeroed on growth for the
 * same reason.
 *
 * Order of writes: growing writes the new tables, then the header, then the
 * descriptor (a sparse extent may be larger than its descriptor line says);
 * shrinking writes the descriptor first, then the extents. New extent files
 * are created exclusively and removed again if anything fails before the
 * descriptor names them.
 *
 * streamOptimized cannot grow in place safely: its grain directory and
 * footer are at the end, and readers expect the stream's layout; it is
 * refused with the way round (resize a copy, convert it back).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "checked.h"
#include "endian.h"
#include "vmdk.h"

/* Sector-count limit of one hosted sparse extent (32-bit grain offsets, as create). */
#define SPARSE_MAX_SECTORS ((uint64_t)UINT32_MAX)

/* Write directory entries [from, to) of one on-disk directory at gd_off. */
static int write_gdes(struct vimg_file *f, uint64_t gd_off, const uint64_t *bytes_off,
		      uint64_t from, uint64_t to, struct vimg_error *err)
{
	uint64_t n = to - from;
	uint8_t *b;
	int rc;

	if (!n)
		return 0;
	b = malloc(n * 4);
	if (!b)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	for (uint64_t i = 0; i < n; i++)
		st_le32(b + i * 4, (uint32_t)(bytes_off[from + i] / VMDK_SECTOR));
	rc = file_pwrite_full(f, b, n * 4, gd_off + from * 4, err);
	free(b);
	return rc;
}

/* Clear grain table entries [from, gtes) of grain table gt (and its copy). */
static int clear_gtes(struct vmdk_sparse *sp, struct vimg_file *f, uint64_t gt, uint32_t from,
		      struct vimg_error *err)
{
	uint64_t len = (uint64_t)(sp->gtes - from) * 4;
	int rc = 0;

	if (gt < sp->n_gts && sp->gd[gt])
		rc = file_write_zeros(f, sp->gd[gt] + from * 4ull, len, err);
	if (!rc && gt < sp->n_gts && sp->rgd && sp->rgd[gt])
		rc = file_write_zeros(f, sp->rgd[gt] + from * 4ull, len, err);
	return rc;
}

/* Rewrite the header's capacity and directory offsets (bytes in, sectors out). */
static int write_header(struct vimg_file *f, uint64_t capacity, uint64_t gd_off, uint64_t rgd_off,
			struct vimg_error *err)
{
	uint8_t h[VMDK_SECTOR];
	int rc = file_pread_full(f, h, sizeof(h), 0, err);

	if (rc)
		return rc;
	st_le64(h + 12, capacity);
	if (rgd_off)
		st_le64(h + 48, rgd_off / VMDK_SECTOR);
	st_le64(h + 56, gd_off / VMDK_SECTOR);
	rc = file_fsync(f, err);
	if (!rc)
		rc = file_pwrite_full(f, h, sizeof(h), 0, err);
	if (!rc)
		rc = file_fsync(f, err);
	return rc;
}

/* Shrink a hosted sparse extent to `sectors`: clear what lies past the end. */
static int sparse_shrink(struct vmdk_extent *e, uint64_t sectors, struct vimg_error *err)
{
	struct vmdk_sparse *sp = e->sp;
	uint64_t span = sp->grain * sp->gtes, n_gts = (sectors + span - 1) / span;
	uint64_t grains = (sectors + sp->grain - 1) / sp->grain, *zero;
	int rc = 0;

	if (grains % sp->gtes)
		rc = clear_gtes(sp, e->file, n_gts - 1, (uint32_t)(grains % sp->gtes), err);
	if (rc || n_gts == sp->n_gts)
		return rc ? rc : write_header(e->file, sectors, sp->gd_off, sp->rgd_off, err);
	zero = calloc(sp->n_gts, sizeof(*zero));
	if (!zero)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	if (sp->rgd)
		rc = write_gdes(e->file, sp->rgd_off, zero, n_gts, sp->n_gts, err);
	if (!rc)
		rc = write_gdes(e->file, sp->gd_off, zero, n_gts, sp->n_gts, err);
	free(zero);
	return rc ? rc : write_header(e->file, sectors, sp->gd_off, sp->rgd_off, err);
}

/* Zero what a partial last grain holds past the capacity, and clear grain
 * table entries past it: growing must show zeros there, not old data. */
static int clear_old_tail(struct vmdk_extent *e, struct vimg_error *err)
{
	struct vmdk_sparse *sp = e->sp;
	uint64_t gb = sp->grain * VMDK_SECTOR, grains = (sp->capacity + sp->grain - 1) / sp->grain;
	int rc = 0;

	if (sp->capacity % sp->grain) {
		enum vmdk_gte_state st;
		uint64_t foff, in = (sp->capacity % sp->grain) * VMDK_SECTOR;

		rc = sparse_lookup(e, grains - 1, &st, &foff, err);
		if (!rc && st == VMDK_GRAIN_DATA)
			rc = file_write_zeros(e->file, foff + in, gb - in, err);
	}
	if (!rc && grains % sp->gtes)
		rc = clear_gtes(sp, e->file, sp->n_gts - 1, (uint32_t)(grains % sp->gtes), err);
	return rc;
}

/* Grow a hosted sparse extent to `sectors` (new grain tables preallocated). */
static int sparse_grow(struct vmdk_extent *e, uint64_t sectors, struct vimg_error *err)
{
	struct vmdk_sparse *sp = e->sp;
	uint64_t span = sp->grain * sp->gtes, n_gts = (sectors + span - 1) / span;
	uint64_t gt_bytes = (uint64_t)sp->gtes * 4, old_gd_bytes, room, gd_bytes, at, end;
	uint64_t gd_off = sp->gd_off, rgd_off = sp->rgd_off, *gd = NULL, *rgd = NULL;
	bool move;
	int rc;

	if (sectors > SPARSE_MAX_SECTORS)
		return vimg_error_set(err, VIMG_EINVAL,
				      "vmdk: extent \"%s\": a hosted sparse extent holds at most 2 TiB",
				      e->name ? e->name : "");
	rc = clear_old_tail(e, err);
	if (rc || n_gts == sp->n_gts)
		return rc ? rc : write_header(e->file, sectors, gd_off, rgd_off, err);
	/* A directory owns the whole sectors its entries occupy. */
	old_gd_bytes = (sp->n_gts * 4 + VMDK_SECTOR - 1) / VMDK_SECTOR * VMDK_SECTOR;
	room = old_gd_bytes / 4;
	move = n_gts > room;
	gd_bytes = (n_gts * 4 + VMDK_SECTOR - 1) / VMDK_SECTOR * VMDK_SECTOR;
	rc = vimg_alloc_table(n_gts, sizeof(uint64_t), VMDK_MAX_GD_BYTES,
			     "vmdk: grain directory size", (void **)&gd, err);
	if (!rc)
		rc = vimg_alloc_table(n_gts, sizeof(uint64_t), VMDK_MAX_GD_BYTES,
				      "vmdk: grain directory size", (void **)&rgd, err);
	if (rc) {
		free(gd);
		return rc;
	}
	memcpy(gd, sp->gd, sp->n_gts * sizeof(*gd));
	if (sp->rgd)
		memcpy(rgd, sp->rgd, sp->n_gts * sizeof(*rgd));
	/* At the end of the file: [RGD][its new tables] [GD][its new tables]. */
	at = sp->alloc_end;
	for (int pass = 0; pass < 2; pass++) {
		uint64_t *dir = pass ? gd : rgd;

		if (!pass && !sp->rgd)
			continue;
		if (move) {
			if (pass)
				gd_off = at;
			else
				rgd_off = at;
			at += gd_bytes;
		}
		for (uint64_t i = sp->n_gts; i < n_gts; i++, at += gt_bytes)
			dir[i] = at;
	}
	end = at;
	if (end / VMDK_SECTOR > UINT32_MAX) {
		rc = vimg_error_set(err, VIMG_ENOSPC,
				    "vmdk: extent \"%s\" full: grain table offsets must fit in 32 bits",
				    e->name ? e->name : "");
		goto out;
	}
	rc = file_write_zeros(e->file, sp->alloc_end, end - sp->alloc_end, err);
	if (rc)
		goto out;
	/* Redundant directory first: the primary is what readers trust. */
	if (sp->rgd)
		rc = write_gdes(e->file, rgd_off, rgd, move ? 0 : sp->n_gts, n_gts, err);
	if (!rc)
		rc = write_gdes(e->file, gd_off, gd, move ? 0 : sp->n_gts, n_gts, err);
	if (!rc)
		rc = write_header(e->file, sectors, gd_off, sp->rgd ? rgd_off : 0, err);
out:
	free(gd);
	free(rgd);
	return rc;
}

/* ---- extent files ---------------------------------------------------------------- */

static int extent_path(struct vimg_image *img, const char *name, char **path,
		       struct vimg_error *err)
{
	return path_resolve(image_dir(img), name, image_open_flags(img) & VIMG_OPEN_ALLOW_ESCAPE,
			    path, err);
}

/* The name after `last` in a split disk: base-s001.vmdk gives base-s002.vmdk. */
static int next_name(const char *last, unsigned step, char **out, struct vimg_error *err)
{
	const char *dash = strrchr(last, '-'), *p, *dot;
	unsigned long idx;
	int width;

	if (!dash || (dash[1] != 's' && dash[1] != 'f') || !(dash[2] >= '0' && dash[2] <= '9'))
		goto bad;
	for (p = dash + 2; *p >= '0' && *p <= '9'; p++)
		;
	dot = p;
	if (*dot && (*dot != '.' || strchr(dot, '/')))
		goto bad;
	width = (int)(p - dash - 2);
	idx = strtoul(dash + 2, NULL, 10) + step;
	if (width > 9 || idx > 999999999ul)
		goto bad;
	if (asprintf(out, "%.*s%0*lu%s", (int)(dash + 2 - last), last, width, idx, dot) < 0)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	return 0;
bad:
	return vimg_error_set(err, VIMG_EUNSUPPORTED,
			      "vmdk: cannot name a new extent after \"%s\" (not NAME-sNNN or "
			      "NAME-fNNN)",
			      last);
}

static void remove_files(struct vimg_image *img, const struct vmdk_desc_extent *x, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct vimg_error e2 = { 0 };
		char *path;

		if (x[i].file && !extent_path(img, x[i].file, &path, &e2)) {
			unlink(path);
			free(path);
		}
	}
}

static int create_extent(struct vimg_image *img, const struct vmdk_desc_extent *x, bool zeroed,
			 struct vimg_error *err)
{
	struct vimg_file *f;
	char *path;
	int rc = extent_path(img, x->file, &path, err);

	if (rc)
		return rc;
	rc = file_open(path, FILE_CREATE | FILE_EXCL | FILE_RDWR, &f, err);
	free(path);
	if (rc)
		return rc;
	rc = x->type == VMDK_EXT_SPARSE ? sparse_create(f, x->sectors, zeroed, NULL, err)
					: file_truncate(f, x->sectors * VMDK_SECTOR, err);
	if (!rc)
		rc = file_fsync(f, err);
	file_close(f);
	if (rc)
		remove_files(img, x, 1);
	return rc;
}

/* Make extent e `sectors` long on disk. */
static int extent_set_length(struct vmdk_extent *e, uint64_t sectors, struct vimg_error *err)
{
	uint64_t bytes = sectors * VMDK_SECTOR;
	int64_t fsize;

	if (e->sp)
		return sectors > e->sp->capacity ? sparse_grow(e, sectors, err)
		       : sectors < e->sp->capacity ? sparse_shrink(e, sectors, err)
						   : 0;
	fsize = file_size(e->file, err);
	if (fsize < 0)
		return (int)fsize;
	/* A flat file is cut only where this extent ends it. */
	if ((uint64_t)fsize < e->flat_off + bytes ||
	    (uint64_t)fsize == e->flat_off + e->len)
		return file_truncate(e->file, e->flat_off + bytes, err);
	return 0;
}

/* ---- the descriptor ---------------------------------------------------------------- */

static int set_u64(struct vmdk_desc *d, const char *key, uint64_t v, struct vimg_error *err)
{
	char b[24];

	snprintf(b, sizeof(b), "%" PRIu64, v);
	return desc_set(d, key, b, err);
}

/* ddb.geometry.cylinders for the new size, heads and sectors kept (as create computes it). */
static int set_geometry(struct vmdk_desc *d, uint64_t size, struct vimg_error *err)
{
	char v[32], ad[32] = "";
	uint64_t heads, secs, cyl;

	if (!desc_get(d, "ddb.geometry.cylinders", v, sizeof(v)))
		return 0;
	heads = desc_get(d, "ddb.geometry.heads", v, sizeof(v)) ? strtoull(v, NULL, 10) : 0;
	secs = desc_get(d, "ddb.geometry.sectors", v, sizeof(v)) ? strtoull(v, NULL, 10) : 0;
	if (!heads || heads > 255 || !secs || secs > 63)
		return 0;
	desc_get(d, "ddb.adapterType", ad, sizeof(ad));
	cyl = min_u64(size / (heads * secs * VMDK_SECTOR), !strcmp(ad, "ide") ? 16383 : 65535);
	return set_u64(d, "ddb.geometry.cylinders", cyl, err);
}

/* Put extents x[0..n) and the geometry into the descriptor and write it. On
 * failure the descriptor in memory is restored from `saved`. */
static int write_desc(struct vimg_image *img, struct vmdk_state *s,
		      const struct vmdk_desc_extent *x, size_t n, uint64_t size, const char *saved,
		      size_t saved_len, struct vimg_error *err)
{
	int rc = desc_set_extents(&s->desc, x, n, err);

	if (!rc)
		rc = set_geometry(&s->desc, size, err);
	if (!rc)
		rc = s->cid_updated ? vmdk_desc_write(img, s, err) : vmdk_update_cid(img, s, err);
	if (rc) {
		struct vimg_error e2 = { 0 };

		desc_free(&s->desc);
		desc_parse(&s->desc, saved, saved_len, &e2);
	}
	return rc;
}

/* ---- resize ---------------------------------------------------------------------------- */

static bool resizable(const struct vmdk_extent *e)
{
	return e->access == VMDK_RW &&
	       (e->type == VMDK_EXT_FLAT || e->type == VMDK_EXT_VMFS ||
		(e->type == VMDK_EXT_SPARSE && e->sp && e->sp->kind == VMDK_SP_KDMV &&
		 !e->sp->compressed));
}

static int refuse_checks(struct vimg_image *img, struct vmdk_state *s, uint64_t size,
			 unsigned flags, struct vimg_error *err)
{
	uint64_t old = vimg_image_virtual_size(img);

	for (size_t i = 0; i < s->n_ext; i++)
		if (s->ext[i].sp && s->ext[i].sp->compressed)
			return vimg_error_set(err, VIMG_EUNSUPPORTED,
					      "vmdk: a streamOptimized disk cannot be resized in place "
					      "(its grain directory and footer close the stream); "
					      "convert it to monolithicSparse, resize that, then "
					      "`vimg convert -O vmdk -o subformat=streamOptimized`");
	if (flags & VIMG_RESIZE_PREALLOC_MASK)
		return vimg_error_set(err, VIMG_EUNSUPPORTED,
				      "vmdk: preallocation of the grown part is not supported");
	if (!s->has_desc || !s->desc.n_ext || s->desc.n_ext != s->n_ext)
		return vimg_error_set(err, VIMG_EUNSUPPORTED,
				      "vmdk: a %s disk without its own descriptor cannot be resized",
				      s->create_type);
	if (size > VMDK_MAX_SIZE)
		return vimg_error_set(err, VIMG_EINVAL, "vmdk: %" PRIu64 " bytes is too large", size);
	if (size > old && image_has_backing(img) && size > s->parent_size)
		return vimg_error_set(err, VIMG_EINVAL,
				      "vmdk: a delta disk cannot grow past its parent (%" PRIu64
				      " bytes): grow the parent first",
				      s->parent_size);
	return 0;
}

int vmdk_resize(struct vimg_image *img, uint64_t size, unsigned flags, struct vimg_error *err)
{
	struct vmdk_state *s = image_priv(img);
	uint64_t old = vimg_image_virtual_size(img), limit;
	bool split = !strncasecmp(s->create_type, "twoGb", 5);
	struct vmdk_desc_extent *x = NULL;
	size_t n = s->n_ext, n_old = s->n_ext, k;
	char *saved = NULL;
	size_t saved_len;
	bool changed = false;
	int rc;

	if (ck_align_up(size, VMDK_SECTOR, &size))
		return vimg_error_set(err, VIMG_EINVAL, "vmdk: size too large");
	rc = refuse_checks(img, s, size, flags, err);
	if (rc || size == old)
		return rc;
	rc = desc_render(&s->desc, &saved, &saved_len, err);
	if (rc)
		return rc;
	/* Room for the new extents of a split disk, 2 GiB each. */
	if (size > old && split)
		n += (size_t)min_u64((size - old) / VMDK_SPLIT_BYTES + 1, VMDK_MAX_EXTENTS);
	x = calloc(n, sizeof(*x));
	if (!x) {
		free(saved);
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	}
	memcpy(x, s->desc.ext, n_old * sizeof(*x)); /* file names borrowed */
	if (size < old) {
		struct vmdk_extent *e;

		for (k = 0; s->ext[k].start + s->ext[k].len < size; k++)
			;
		e = &s->ext[k];
		if (s->ext[k].start + s->ext[k].len != size && !resizable(e)) {
			rc = vimg_error_set(err, VIMG_EUNSUPPORTED,
					    "vmdk: extent %zu (%s) cannot be shortened", k,
					    desc_type_name(e->type));
			goto out;
		}
		x[k].sectors = (size - e->start) / VMDK_SECTOR;
		/* The names of the extents to delete outlive the descriptor's. */
		for (size_t i = k + 1; i < n_old; i++)
			if (x[i].file && (rc || !(x[i].file = strdup(x[i].file)))) {
				x[i].file = NULL;
				rc = vimg_error_set(err, VIMG_ENOMEM, "out of memory");
			}
		/* The descriptor first: then no extent is shorter than it says. */
		changed = !rc;
		if (!rc)
			rc = write_desc(img, s, x, k + 1, size, saved, saved_len, err);
		if (!rc)
			rc = extent_set_length(e, x[k].sectors, err);
		if (!rc)
			remove_files(img, x + k + 1, n_old - k - 1);
		for (size_t i = k + 1; i < n_old; i++)
			free(x[i].file);
	} else {
		struct vmdk_extent *e = &s->ext[n_old - 1];
		uint64_t left = size - old, grow;
		size_t made = n_old;

		if (!resizable(e)) {
			rc = vimg_error_set(err, VIMG_EUNSUPPORTED,
					    "vmdk: the last extent (%s, %s) cannot be lengthened",
					    desc_type_name(e->type), desc_access_name(e->access));
			goto out;
		}
		limit = split ? VMDK_SPLIT_BYTES
			: e->sp ? SPARSE_MAX_SECTORS * VMDK_SECTOR : VMDK_MAX_SIZE;
		grow = e->len < limit ? min_u64(limit - e->len, left) : 0;
		left -= grow;
		if (left && !split) {
			rc = vimg_error_set(err, VIMG_EINVAL,
					    "vmdk: a hosted sparse extent holds at most 2 TiB; convert "
					    "to subformat=twoGbMaxExtentSparse first");
			goto out;
		}
		x[n_old - 1].sectors = (e->len + grow) / VMDK_SECTOR;
		changed = true;
		for (unsigned step = 1; !rc && left; step++, made++) {
			uint64_t bytes = min_u64(left, VMDK_SPLIT_BYTES);

			if (made == n || made >= VMDK_MAX_EXTENTS) {
				rc = vimg_error_set(err, VIMG_EINVAL, "vmdk: more than %u extents",
						    VMDK_MAX_EXTENTS);
				break;
			}
			x[made] = (struct vmdk_desc_extent){ .access = VMDK_RW, .type = x[n_old - 1].type,
							     .sectors = bytes / VMDK_SECTOR };
			rc = next_name(x[n_old - 1].file, step, &x[made].file, err);
			if (!rc)
				rc = create_extent(img, &x[made], e->sp && e->sp->zeroed_grain, err);
			if (rc) {
				free(x[made].file);
				x[made].file = NULL;
				break;
			}
			left -= bytes;
		}
		if (!rc && grow)
			rc = extent_set_length(e, x[n_old - 1].sectors, err);
		if (!rc)
			rc = write_desc(img, s, x, made, size, saved, saved_len, err);
		if (rc)
			remove_files(img, x + n_old, made - n_old);
		for (size_t i = n_old; i < made; i++)
			free(x[i].file);
	}
	/* Whatever was written, the extents are decoded again from the disk. */
	if (changed) {
		struct vimg_error e2 = { 0 };
		int rc2 = vmdk_reload_extents(img, s, rc ? &e2 : err);

		if (!rc)
			rc = rc2;
	}
out:
	free(x);
	free(saved);
	return rc;
}
