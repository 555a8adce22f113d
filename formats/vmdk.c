/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vmdk: probe, open (a text descriptor naming extent files, or a sparse
 * extent carrying its descriptor, or a bare COWD/seSparse extent), the
 * extent map behind block_status/read/write/zero, CID handling, delta chains
 * (parentFileNameHint + parentCID checked against the parent's CID once the
 * core opened it), info and the driver table. Spec: VMware Virtual Disk
 * Format 5.0 technote ("The Descriptor File", "Extent Descriptions",
 * "Hosted Sparse Extents"); behaviour on writes (new random CID on the first
 * write of each open) as in VMware and qemu.
 *
 * Invariants: extents tile [0, size) in order; extent files other than the
 * main file are owned here and opened through image_open_sibling (the core's
 * path policy); nothing is written unless the image is writable.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "checked.h"
#include "endian.h"
#include "vmdk.h"

/* ---- probe ------------------------------------------------------------------ */

static int vmdk_probe(const struct vimg_probe *p)
{
	const char *t = (const char *)p->head, *end = t + p->head_len;

	if (p->head_len >= 4 && (!memcmp(p->head, VMDK_KDMV_MAGIC, 4) ||
				 !memcmp(p->head, VMDK_COWD_MAGIC, 4)))
		return 100;
	if (p->head_len >= 16 && ld_le64(p->head) == VMDK_SE_CONST_MAGIC &&
	    ld_le64(p->head + 8) == VMDK_SE_VERSION)
		return 100;
	/* Text descriptor: comments and blank lines, then "version=N" (qemu's rule). */
	while (t < end) {
		const char *nl = memchr(t, '\n', (size_t)(end - t));
		size_t n = nl ? (size_t)(nl - t) : (size_t)(end - t);

		if (n >= 21 && !strncmp(t, "# Disk DescriptorFile", 21))
			return 100;
		if (*t == '#' || n == 0 || (n == 1 && *t == '\r')) {
			t += n + 1;
			continue;
		}
		return n >= 9 && !strncmp(t, "version=", 8) && t[8] >= '1' && t[8] <= '3' ? 90 : 0;
	}
	return 0;
}

/* ---- open ------------------------------------------------------------------- */

static void free_extents(struct vmdk_state *s)
{
	for (size_t i = 0; i < s->n_ext; i++) {
		struct vmdk_extent *e = &s->ext[i];

		sparse_free(e->sp);
		if (e->owned)
			file_close(e->file);
		free(e->name);
	}
	free(s->ext);
	s->ext = NULL;
	s->n_ext = 0;
}

static void vmdk_close(struct vimg_image *img)
{
	struct vmdk_state *s = image_priv(img);

	free_extents(s);
	desc_free(&s->desc);
}

static int read_text(struct vimg_file *f, uint64_t off, uint64_t len, struct vmdk_desc *d,
		     struct vimg_error *err)
{
	char *buf = malloc(len + 1);
	int rc;

	if (!buf)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	rc = file_pread_zeroed(f, buf, len, off, err);
	buf[len] = 0;
	if (!rc)
		rc = desc_parse(d, buf, len, err);
	free(buf);
	return rc;
}

static int open_sparse_file(struct vimg_file *f, const char *what, bool writable,
			    enum vmdk_ext_type type, struct vmdk_sparse **sp, struct vimg_error *err)
{
	uint8_t m[16] = { 0 };
	int rc = file_pread_zeroed(f, m, sizeof(m), 0, err);

	if (rc)
		return rc;
	if (type == VMDK_EXT_SESPARSE)
		return sparse_open_se(f, what, sp, err);
	if (!memcmp(m, VMDK_COWD_MAGIC, 4))
		return sparse_open_cowd(f, what, sp, err);
	if (!memcmp(m, VMDK_KDMV_MAGIC, 4))
		return sparse_open_kdmv(f, what, writable, sp, err);
	return vimg_error_set(err, VIMG_ECORRUPT, "%s: not a sparse extent (no KDMV/COWD magic)",
			      what);
}

static int open_extents(struct vimg_image *img, struct vmdk_state *s, struct vimg_error *err)
{
	bool writable = image_is_writable(img);
	uint64_t pos = 0;
	int rc;

	if (s->desc.n_ext == 0)
		return vimg_error_set(err, VIMG_ECORRUPT, "vmdk: descriptor has no extents");
	for (size_t i = 0; i < s->desc.n_ext; i++) {
		const struct vmdk_desc_extent *x = &s->desc.ext[i];
		uint64_t bytes;

		if (ck_mul(x->sectors, VMDK_SECTOR, &bytes) || ck_add(pos, bytes, &pos) ||
		    pos > VMDK_MAX_SIZE || x->sectors == 0)
			return vimg_error_set(err, VIMG_ECORRUPT,
					      "vmdk: extent %zu: size %llu sectors is invalid or makes "
					      "the disk too large",
					      i, (unsigned long long)x->sectors);
	}
	s->ext = calloc(s->desc.n_ext, sizeof(*s->ext));
	if (!s->ext)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	pos = 0;
	for (size_t i = 0; i < s->desc.n_ext; i++) {
		const struct vmdk_desc_extent *x = &s->desc.ext[i];
		struct vmdk_extent *e = &s->ext[i];
		char what[128];

		s->n_ext = i + 1;
		e->type = x->type;
		e->access = x->access;
		e->start = pos;
		e->len = x->sectors * VMDK_SECTOR;
		pos += e->len;
		if (x->file && !(e->name = strdup(x->file)))
			return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
		snprintf(what, sizeof(what), "vmdk: extent %zu (\"%.64s\")", i, x->file ? x->file : "");
		if (x->type == VMDK_EXT_VMFSRDM || x->type == VMDK_EXT_VMFSRAW)
			return vimg_error_set(err, VIMG_EUNSUPPORTED,
					      "%s: %s extents (raw device mappings) are not supported",
					      what, desc_type_name(x->type));
		if (x->type == VMDK_EXT_ZERO || x->access == VMDK_NOACCESS)
			continue;
		rc = image_open_sibling(img, x->file, writable && x->access == VMDK_RW, &e->file,
					err);
		if (rc)
			return vimg_error_prefix(err, "%s", what);
		e->owned = true;
		if (x->type == VMDK_EXT_FLAT || x->type == VMDK_EXT_VMFS) {
			if (ck_mul(x->offset, VMDK_SECTOR, &e->flat_off) ||
			    e->flat_off > VMDK_MAX_SIZE)
				return vimg_error_set(err, VIMG_ECORRUPT, "%s: offset too large",
						      what);
			continue;
		}
		rc = open_sparse_file(e->file, what, writable && x->access == VMDK_RW, x->type,
				      &e->sp, err);
		if (rc)
			return rc;
		if (e->sp->capacity < x->sectors)
			return vimg_error_set(err, VIMG_ECORRUPT,
					      "%s: descriptor says %llu sectors, the extent holds "
					      "only %llu",
					      what, (unsigned long long)x->sectors,
					      (unsigned long long)e->sp->capacity);
	}
	return 0;
}

/* A sparse file as the main file: it is the only extent; its descriptor is embedded. */
static int open_sparse_main(struct vimg_image *img, struct vmdk_state *s, struct vimg_file *f,
			    const uint8_t *head, struct vimg_error *err)
{
	struct vmdk_sparse *sp = NULL;
	enum vmdk_ext_type type = VMDK_EXT_SPARSE;
	int rc;

	if (!memcmp(head, VMDK_COWD_MAGIC, 4)) {
		type = VMDK_EXT_VMFSSPARSE;
		strcpy(s->create_type, "vmfsSparse");
	} else if (ld_le64(head) == VMDK_SE_CONST_MAGIC) {
		type = VMDK_EXT_SESPARSE;
		strcpy(s->create_type, "seSparse");
	}
	rc = open_sparse_file(f, "vmdk", image_is_writable(img), type, &sp, err);
	if (rc)
		return rc;
	if (sp->kind == VMDK_SP_KDMV && sp->desc_off && sp->desc_size) {
		s->desc_off = sp->desc_off;
		s->desc_cap = min_u64(sp->desc_size, VMDK_MAX_EMBEDDED_DESC);
		s->desc_embedded = true;
		s->has_desc = true;
		rc = read_text(f, s->desc_off, s->desc_cap, &s->desc, err);
		if (rc) {
			sparse_free(sp);
			return rc;
		}
	}
	if (sp->capacity == 0) {
		/* A descriptor kept in a sparse file, extents elsewhere (qemu reads these too). */
		sparse_free(sp);
		return s->has_desc ? open_extents(img, s, err)
				   : vimg_error_set(err, VIMG_ECORRUPT,
						    "vmdk: sparse header with capacity 0 and no "
						    "descriptor");
	}
	s->ext = calloc(1, sizeof(*s->ext));
	if (!s->ext) {
		sparse_free(sp);
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	}
	s->n_ext = 1;
	s->ext[0] = (struct vmdk_extent){ .type = type, .access = VMDK_RW, .len = sp->capacity *
				       VMDK_SECTOR, .file = f, .sp = sp };
	if (!s->create_type[0])
		strcpy(s->create_type, sp->compressed ? "streamOptimized" : "monolithicSparse");
	return 0;
}

/* What a writable open adds to the extents: stream writers, the size. */
static int setup_extents(struct vimg_image *img, struct vmdk_state *s, struct vimg_error *err)
{
	uint64_t size = 0;
	int rc;

	for (size_t i = 0; i < s->n_ext; i++) {
		struct vmdk_extent *e = &s->ext[i];

		size += e->len;
		/* qemu: version 3 without compression may carry change tracking: read only. */
		if (e->sp && e->sp->kind == VMDK_SP_KDMV && e->sp->version == 3 && !e->sp->compressed)
			image_set_read_only(img);
		if (e->sp && e->sp->compressed && image_is_writable(img)) {
			rc = stream_writer_init(e, err);
			if (rc)
				return rc;
			/* A stream is written front to back, once. */
			image_set_sequential_writes(img);
		}
	}
	image_set_size(img, size);
	return 0;
}

int vmdk_reload_extents(struct vimg_image *img, struct vmdk_state *s, struct vimg_error *err)
{
	/* A sparse main file carrying its descriptor is its only extent. */
	if (s->n_ext == 1 && !s->ext[0].owned && s->ext[0].sp) {
		struct vmdk_extent *e = &s->ext[0];
		struct vmdk_sparse *sp;
		int rc = sparse_open_kdmv(e->file, "vmdk", true, &sp, err);

		if (rc)
			return rc;
		sparse_free(e->sp);
		e->sp = sp;
		e->len = sp->capacity * VMDK_SECTOR;
	} else {
		int rc;

		free_extents(s);
		rc = open_extents(img, s, err);
		if (rc)
			return rc;
	}
	return setup_extents(img, s, err);
}

static int vmdk_open(struct vimg_image *img, struct vimg_file *file, unsigned flags,
		     struct vimg_error *err)
{
	struct vmdk_state *s = image_priv(img);
	uint8_t head[16] = { 0 };
	char v[1024];
	int64_t fsize = file_size(file, err);
	int rc;

	(void)flags;
	if (fsize < 0)
		return (int)fsize;
	rc = file_pread_zeroed(file, head, sizeof(head), 0, err);
	if (rc)
		return rc;
	if (!memcmp(head, VMDK_KDMV_MAGIC, 4) || !memcmp(head, VMDK_COWD_MAGIC, 4) ||
	    ld_le64(head) == VMDK_SE_CONST_MAGIC) {
		rc = open_sparse_main(img, s, file, head, err);
	} else {
		if ((uint64_t)fsize > VMDK_MAX_DESC_BYTES)
			return vimg_error_set(err, VIMG_ECORRUPT,
					      "vmdk: descriptor file larger than %u bytes",
					      VMDK_MAX_DESC_BYTES);
		s->has_desc = true;
		s->desc_cap = VMDK_MAX_DESC_BYTES;
		rc = read_text(file, 0, (uint64_t)fsize, &s->desc, err);
		if (!rc)
			rc = open_extents(img, s, err);
	}
	if (rc)
		return rc;
	if (s->has_desc && desc_get(&s->desc, "createType", v, sizeof(v)))
		snprintf(s->create_type, sizeof(s->create_type), "%.63s", v);
	s->cid = 0xffffffffu;
	s->parent_cid = 0xffffffffu;
	if (s->has_desc && desc_get(&s->desc, "CID", v, sizeof(v)) && !desc_parse_cid(v, &s->cid))
		return vimg_error_set(err, VIMG_ECORRUPT, "vmdk: descriptor: bad CID \"%.16s\"", v);
	if (s->has_desc && desc_get(&s->desc, "parentCID", v, sizeof(v)) &&
	    !desc_parse_cid(v, &s->parent_cid))
		return vimg_error_set(err, VIMG_ECORRUPT, "vmdk: descriptor: bad parentCID \"%.16s\"",
				      v);
	rc = setup_extents(img, s, err);
	if (rc)
		return rc;
	if (s->ext[0].sp && s->ext[0].sp->grain * VMDK_SECTOR <= UINT32_MAX)
		image_set_cluster_size(img, (uint32_t)(s->ext[0].sp->grain * VMDK_SECTOR));
	if (s->has_desc && desc_get(&s->desc, "parentFileNameHint", v, sizeof(v)) && v[0])
		return image_set_backing(img, v, "vmdk", err);
	return 0;
}

static int vmdk_backing_opened(struct vimg_image *img, struct vimg_image *parent,
			       struct vimg_error *err)
{
	struct vmdk_state *s = image_priv(img), *ps;
	const char *fmt = vimg_image_format(parent);

	if (!fmt || strcmp(fmt, "vmdk"))
		return vimg_error_set(err, VIMG_EBACKING, "vmdk: the parent is a %s image, not vmdk",
				      fmt ? fmt : "unknown");
	ps = image_priv(parent);
	s->parent_size = vimg_image_virtual_size(parent);
	if (ps->cid != s->parent_cid)
		return vimg_error_set(err, VIMG_EBACKING,
				      "vmdk: parentCID 0x%08x does not match the parent's CID 0x%08x",
				      s->parent_cid, ps->cid);
	return 0;
}

/* ---- mapping ------------------------------------------------------------------ */

static struct vmdk_extent *find_extent(struct vmdk_state *s, uint64_t off)
{
	size_t lo = 0, hi = s->n_ext;

	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;

		if (s->ext[mid].start <= off)
			lo = mid;
		else
			hi = mid;
	}
	return &s->ext[lo];
}

static int noaccess(const struct vmdk_state *s, const struct vmdk_extent *e,
		    struct vimg_error *err)
{
	return vimg_error_set(err, VIMG_EACCES, "vmdk: extent %zu is NOACCESS",
			      (size_t)(e - s->ext));
}

static int sparse_status(struct vmdk_extent *e, uint64_t rel, uint64_t n, struct vimg_run *run,
			 struct vimg_error *err)
{
	struct vmdk_sparse *sp = e->sp;
	uint64_t gb = sp->grain * VMDK_SECTOR, g = rel / gb, goff = rel % gb, foff, foff2;
	enum vmdk_gte_state st, st2;
	int rc = sparse_lookup(e, g, &st, &foff, err);

	if (rc)
		return rc;
	run->length = min_u64(n, gb - goff);
	switch (st) {
	case VMDK_GRAIN_UNALLOC:
		run->kind = VIMG_RUN_UNALLOCATED;
		break;
	case VMDK_GRAIN_ZERO:
		run->kind = VIMG_RUN_ZERO;
		break;
	case VMDK_GRAIN_DATA:
		run->kind = VIMG_RUN_DATA;
		run->flags = VIMG_RUN_OFFSET_VALID;
		run->file = e->file;
		run->file_off = foff + goff;
		break;
	case VMDK_GRAIN_COMPRESSED:
		run->kind = VIMG_RUN_DATA;
		run->flags = VIMG_RUN_COMPRESSED;
		return 0;
	case VMDK_GRAIN_BUFFERED:
		run->kind = VIMG_RUN_DATA;
		return 0;
	}
	/* Extend over following grains in the same state (contiguous for data). */
	for (unsigned i = 1; i < 1024 && run->length < n; i++) {
		rc = sparse_lookup(e, g + i, &st2, &foff2, err);
		if (rc)
			return rc;
		if (st2 != st || (st == VMDK_GRAIN_DATA && foff2 != foff + i * gb))
			break;
		run->length = min_u64(n, run->length + gb);
	}
	return 0;
}

static int vmdk_block_status(struct vimg_image *img, uint64_t off, uint64_t len,
			     struct vimg_run *run, struct vimg_error *err)
{
	struct vmdk_state *s = image_priv(img);
	struct vmdk_extent *e = find_extent(s, off);
	uint64_t rel = off - e->start, n = min_u64(len, e->len - rel);

	if (e->access == VMDK_NOACCESS)
		return noaccess(s, e, err);
	switch (e->type) {
	case VMDK_EXT_ZERO:
		run->kind = VIMG_RUN_ZERO;
		run->length = n;
		return 0;
	case VMDK_EXT_FLAT:
	case VMDK_EXT_VMFS:
		run->kind = VIMG_RUN_DATA;
		run->flags = VIMG_RUN_OFFSET_VALID;
		run->file = e->file;
		run->file_off = e->flat_off + rel;
		run->length = n;
		return 0;
	default:
		return sparse_status(e, rel, n, run, err);
	}
}

static int vmdk_read(struct vimg_image *img, void *buf, uint64_t off, size_t len,
		     struct vimg_error *err)
{
	struct vmdk_state *s = image_priv(img);
	uint8_t *p = buf;

	while (len) {
		struct vmdk_extent *e = find_extent(s, off);
		uint64_t rel = off - e->start, gb, g, goff, n, foff;
		enum vmdk_gte_state st;
		int rc;

		if (!e->sp)
			return vimg_error_set(err, VIMG_EIO, "vmdk: no driver read for a flat extent");
		gb = e->sp->grain * VMDK_SECTOR;
		g = rel / gb;
		goff = rel % gb;
		n = min_u64(len, gb - goff);
		rc = sparse_lookup(e, g, &st, &foff, err);
		if (rc)
			return rc;
		if (st == VMDK_GRAIN_BUFFERED)
			stream_copy_buffered(e->sp, p, goff, (size_t)n);
		else if (st == VMDK_GRAIN_COMPRESSED)
			rc = stream_read_grain(e, g, foff, p, goff, (size_t)n, err);
		else if (st == VMDK_GRAIN_DATA)
			rc = file_pread_zeroed(e->file, p, (size_t)n, foff + goff, err);
		else
			rc = vimg_read_below(img, p, off, (size_t)n, err);
		if (rc)
			return rc;
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

/* ---- writing ---------------------------------------------------------------- */

/* Write the descriptor back where it lives (its own file, or embedded). */
int vmdk_desc_write(struct vimg_image *img, struct vmdk_state *s, struct vimg_error *err)
{
	struct vimg_file *f = image_file(img);
	char *text;
	size_t len;
	int rc = desc_render(&s->desc, &text, &len, err);

	if (rc)
		return rc;
	if (len > s->desc_cap) {
		free(text);
		return vimg_error_set(err, VIMG_ENOSPC,
				      "vmdk: descriptor (%zu bytes) does not fit its %llu-byte area",
				      len, (unsigned long long)s->desc_cap);
	}
	if (s->desc_embedded) {
		char *pad = calloc(1, s->desc_cap);

		if (!pad) {
			free(text);
			return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
		}
		memcpy(pad, text, len);
		rc = file_pwrite_full(f, pad, s->desc_cap, s->desc_off, err);
		free(pad);
	} else {
		rc = file_pwrite_full(f, text, len, 0, err);
		if (!rc)
			rc = file_truncate(f, len, err);
	}
	free(text);
	return rc;
}

/* VMware gives the disk a new CID on its first change after each open. */
int vmdk_update_cid(struct vimg_image *img, struct vmdk_state *s, struct vimg_error *err)
{
	uint32_t cid = id_cid_random();
	char v[16];
	int rc;

	if (!s->has_desc || s->cid_updated)
		return 0;
	snprintf(v, sizeof(v), "%08x", cid);
	rc = desc_set(&s->desc, "CID", v, err);
	if (!rc)
		rc = vmdk_desc_write(img, s, err);
	if (!rc) {
		s->cid = cid;
		s->cid_updated = true;
	}
	return rc;
}

/* Point the delta at another parent (or none), with the parent's CID. */
static int vmdk_set_backing(struct vimg_image *img, const char *name, struct vimg_image *parent,
			    struct vimg_error *err)
{
	struct vmdk_state *s = image_priv(img);
	const char *fmt = parent ? vimg_image_format(parent) : NULL;
	uint32_t pcid = 0xffffffffu;
	char v[16];
	int rc;

	if (!s->has_desc)
		return vimg_error_set(err, VIMG_EUNSUPPORTED,
				      "vmdk: a disk without a descriptor cannot name a parent");
	if (parent && (!fmt || strcmp(fmt, "vmdk")))
		return vimg_error_set(err, VIMG_EBACKING, "vmdk: the parent must be vmdk, not %s",
				      fmt ? fmt : "unknown");
	if (parent)
		pcid = ((struct vmdk_state *)image_priv(parent))->cid;
	snprintf(v, sizeof(v), "%08x", pcid);
	rc = desc_set(&s->desc, "parentCID", v, err);
	if (!rc && name)
		rc = desc_set(&s->desc, "parentFileNameHint", name, err);
	else if (!rc)
		kv_unset(&s->desc.kv, "parentFileNameHint");
	if (!rc)
		rc = vmdk_desc_write(img, s, err);
	if (!rc)
		s->parent_cid = pcid;
	return rc;
}

static int check_rw(const struct vmdk_state *s, const struct vmdk_extent *e,
		    struct vimg_error *err)
{
	if (e->access == VMDK_NOACCESS)
		return noaccess(s, e, err);
	if (e->access != VMDK_RW)
		return vimg_error_set(err, VIMG_EROFS, "vmdk: extent %zu is read-only",
				      (size_t)(e - s->ext));
	if (e->type == VMDK_EXT_ZERO)
		return vimg_error_set(err, VIMG_EUNSUPPORTED,
				      "vmdk: extent %zu is a ZERO extent and cannot hold data",
				      (size_t)(e - s->ext));
	return 0;
}

static int vmdk_write(struct vimg_image *img, const void *buf, uint64_t off, size_t len,
		      unsigned flags, struct vimg_error *err)
{
	struct vmdk_state *s = image_priv(img);
	const uint8_t *p = buf;
	int rc = vmdk_update_cid(img, s, err);

	(void)flags;
	while (!rc && len) {
		struct vmdk_extent *e = find_extent(s, off);
		uint64_t rel = off - e->start, n = min_u64(len, e->len - rel);

		rc = check_rw(s, e, err);
		if (rc)
			break;
		if (e->sp)
			rc = sparse_write(img, e, p, rel, n, off, err);
		else
			rc = file_pwrite_full(e->file, p, (size_t)n, e->flat_off + rel, err);
		p += n;
		off += n;
		len -= (size_t)n;
	}
	return rc;
}

static int flat_zero(struct vmdk_extent *e, uint64_t off, uint64_t len, struct vimg_error *err)
{
	int rc = file_punch_hole(e->file, off, len, err);

	if (rc != VIMG_EUNSUPPORTED)
		return rc;
	vimg_error_clear(err);
	return file_write_zeros(e->file, off, len, err);
}

static int vmdk_zero(struct vimg_image *img, uint64_t off, uint64_t len, unsigned flags,
		     struct vimg_error *err)
{
	struct vmdk_state *s = image_priv(img);
	int rc = vmdk_update_cid(img, s, err);

	(void)flags;
	while (!rc && len) {
		struct vmdk_extent *e = find_extent(s, off);
		uint64_t rel = off - e->start, n = min_u64(len, e->len - rel);

		if (e->type != VMDK_EXT_ZERO) {
			rc = check_rw(s, e, err);
			if (rc)
				break;
			rc = e->sp ? sparse_zero(img, e, rel, n, off, err)
				   : flat_zero(e, e->flat_off + rel, n, err);
		}
		off += n;
		len -= n;
	}
	return rc;
}

static int vmdk_flush(struct vimg_image *img, struct vimg_error *err)
{
	struct vmdk_state *s = image_priv(img);
	int rc = 0;

	for (size_t i = 0; i < s->n_ext && !rc; i++) {
		struct vmdk_extent *e = &s->ext[i];

		if (e->sp && e->sp->sw)
			rc = stream_flush(e, err);
		if (!rc && e->owned && e->access == VMDK_RW)
			rc = file_fsync(e->file, err);
	}
	return rc;
}

/* ---- management ----------------------------------------------------------------- */

static void emit_desc_key(const struct vmdk_state *s, const struct vimg_emit *em,
			  const char *key, const char *name)
{
	char v[256];

	if (s->has_desc && desc_get(&s->desc, key, v, sizeof(v)))
		em->str(em->opaque, name, v);
}

static int vmdk_info(struct vimg_image *img, const struct vimg_emit *em, struct vimg_error *err)
{
	struct vmdk_state *s = image_priv(img);
	char v[16];

	(void)err;
	em->str(em->opaque, "create-type", s->create_type);
	snprintf(v, sizeof(v), "%08x", s->cid);
	em->str(em->opaque, "cid", v);
	snprintf(v, sizeof(v), "%08x", s->parent_cid);
	em->str(em->opaque, "parent-cid", v);
	emit_desc_key(s, em, "parentFileNameHint", "parent-file-name-hint");
	emit_desc_key(s, em, "ddb.adapterType", "adapter-type");
	emit_desc_key(s, em, "ddb.virtualHWVersion", "hwversion");
	emit_desc_key(s, em, "ddb.toolsVersion", "tools-version");
	emit_desc_key(s, em, "ddb.uuid", "uuid");
	emit_desc_key(s, em, "ddb.uuid.image", "uuid-image");
	em->begin(em->opaque, "extents", true);
	for (size_t i = 0; i < s->n_ext; i++) {
		const struct vmdk_extent *e = &s->ext[i];

		em->begin(em->opaque, NULL, false);
		em->str(em->opaque, "filename",
			e->file ? vimg_file_path(e->file) : e->name ? e->name : "");
		em->str(em->opaque, "type", desc_type_name(e->type));
		em->str(em->opaque, "access", desc_access_name(e->access));
		em->u64(em->opaque, "virtual-size", e->len);
		if (e->type == VMDK_EXT_FLAT)
			em->u64(em->opaque, "offset", e->flat_off);
		if (e->sp) {
			em->u64(em->opaque, "cluster-size", e->sp->grain * VMDK_SECTOR);
			em->u64(em->opaque, "version", e->sp->version);
			em->boolean(em->opaque, "compressed", e->sp->compressed);
			em->boolean(em->opaque, "zeroed-grain", e->sp->zeroed_grain);
		}
		em->end(em->opaque);
	}
	em->end(em->opaque);
	return 0;
}

static int vmdk_files(struct vimg_image *img, int (*cb)(void *opaque, const char *path),
		      void *opaque, struct vimg_error *err)
{
	struct vmdk_state *s = image_priv(img);

	(void)err;
	for (size_t i = 0; i < s->n_ext; i++) {
		int rc;

		if (!s->ext[i].owned)
			continue;
		rc = cb(opaque, vimg_file_path(s->ext[i].file));
		if (rc)
			return rc;
	}
	return 0;
}

static const char *const vmdk_extensions[] = { "vmdk", NULL };

const struct vimg_driver vimg_drv_vmdk = {
	.name = "vmdk",
	.description = "VMware virtual disk: descriptor, sparse, flat, stream, COWD, seSparse",
	.extensions = vmdk_extensions,
	.priv_size = sizeof(struct vmdk_state),
	.features = VIMG_FEAT_BACKING | VIMG_FEAT_MULTI_FILE,
	.thread_model = VIMG_THREAD_SERIALIZE,
	.create_opts = vmdk_create_opts,
	.probe = vmdk_probe,
	.open = vmdk_open,
	.backing_opened = vmdk_backing_opened,
	.set_backing = vmdk_set_backing,
	.close = vmdk_close,
	.block_status = vmdk_block_status,
	.read = vmdk_read,
	.write = vmdk_write,
	.zero = vmdk_zero,
	.resize = vmdk_resize,
	.flush = vmdk_flush,
	.create = vmdk_create,
	.check = vmdk_check,
	.info = vmdk_info,
	.files = vmdk_files,
};
