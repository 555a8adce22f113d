/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Creation of every writable subformat: monolithicSparse (descriptor
 * embedded at sector 1), monolithicFlat, twoGbMaxExtentSparse/Flat (a
 * descriptor file plus 2 GiB extents named base-sNNN/base-fNNN), vmfs and
 * vmfsThin (descriptor + base-flat.vmdk VMFS extent; thin disks are written
 * as ESXi does: createType "vmfs" with ddb.thinProvisioned = "1"),
 * streamOptimized (vmdk-stream.c) and delta disks (a monolithicSparse or
 * twoGbMaxExtentSparse child whose parentCID is the parent's CID).
 *
 * Hosted sparse layout (technote "Hosted Sparse Extents", the layout VMware
 * and qemu write): header, descriptor (20 sectors), redundant grain directory
 * and its tables, grain directory and its tables, grains from a 64 KiB
 * boundary. Grains are 64 KiB, 512 entries per grain table.
 *
 * ddb.virtualHWVersion defaults to 4: VMware's own open-vmdk streamOptimized
 * writer uses 4 and notes the field is obsolete (read by ESX 3.x and older
 * only); 4 is accepted by every ESXi and Workstation release, like qemu's
 * default. Geometry uses 16 heads for IDE and 255 for SCSI adapters, as
 * VMware does, cylinders capped at 16383 (IDE) or 65535.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checked.h"
#include "endian.h"
#include "vmdk.h"

#define SPARSE_GRAIN 128u
#define SPARSE_GTES 512u
#define SPARSE_DESC_SECTORS 20u

const struct vimg_opt_desc vmdk_create_opts[] = {
	{ "subformat", VIMG_OPT_STR, "monolithicSparse",
	  "monolithicSparse|monolithicFlat|twoGbMaxExtentSparse|twoGbMaxExtentFlat|"
	  "streamOptimized|vmfs|vmfsThin",
	  "layout of the disk files" },
	{ "adapter_type", VIMG_OPT_STR, NULL, "ide|lsilogic|buslogic|legacyESX|pvscsi",
	  "virtual controller (default ide; lsilogic for streamOptimized)" },
	{ "hwversion", VIMG_OPT_UINT, "4", NULL, "ddb.virtualHWVersion" },
	{ "compat6", VIMG_OPT_BOOL, "off", NULL, "hardware version 6 (as hwversion=6, qemu's name)" },
	{ "toolsversion", VIMG_OPT_UINT, "2147483647", NULL,
	  "ddb.toolsVersion (2147483647: tools managed by the guest)" },
	{ "zeroed_grain", VIMG_OPT_BOOL, "off", NULL,
	  "enable zeroed-grain grain table entries (hosted sparse only)" },
	{ 0 },
};

void kdmv_encode(const struct vmdk_kdmv_fields *k, uint8_t *h)
{
	memset(h, 0, VMDK_SECTOR);
	memcpy(h, VMDK_KDMV_MAGIC, 4);
	st_le32(h + 4, k->version);
	st_le32(h + 8, k->flags);
	st_le64(h + 12, k->capacity);
	st_le64(h + 20, k->grain);
	st_le64(h + 28, k->desc_off);
	st_le64(h + 36, k->desc_size);
	st_le32(h + 44, k->gtes);
	st_le64(h + 48, k->rgd_off);
	st_le64(h + 56, k->gd_off);
	st_le64(h + 64, k->overhead);
	memcpy(h + 73, "\n \r\n", 4);
	st_le16(h + 77, k->compress_alg);
}

int sparse_create(struct vimg_file *f, uint64_t sectors, bool zeroed_grain, const char *desc,
		  struct vimg_error *err)
{
	struct vmdk_kdmv_fields k = {
		.version = zeroed_grain ? 2 : 1,
		.flags = VMDK_FLAG_NL_DETECT | VMDK_FLAG_RGD | (zeroed_grain ? VMDK_FLAG_ZERO_GRAIN : 0),
		.capacity = sectors,
		.grain = SPARSE_GRAIN,
		.gtes = SPARSE_GTES,
	};
	uint64_t grains = (sectors + SPARSE_GRAIN - 1) / SPARSE_GRAIN;
	uint64_t gts = (grains + SPARSE_GTES - 1) / SPARSE_GTES;
	uint64_t gd_sectors = (gts * 4 + VMDK_SECTOR - 1) / VMDK_SECTOR, gt_sectors = 4;
	size_t dlen = desc ? strlen(desc) : 0;
	uint8_t h[VMDK_SECTOR], *gd;
	int rc;

	if (sectors > UINT32_MAX)
		return vimg_error_set(err, VIMG_EINVAL,
				      "vmdk: a hosted sparse extent holds at most 2 TiB; use "
				      "subformat=twoGbMaxExtentSparse");
	if (desc) {
		k.desc_off = 1;
		k.desc_size = max_u64(SPARSE_DESC_SECTORS, (dlen + VMDK_SECTOR - 1) / VMDK_SECTOR);
	}
	k.rgd_off = desc ? k.desc_off + k.desc_size : 1;
	k.gd_off = k.rgd_off + gd_sectors + gt_sectors * gts;
	k.overhead = (k.gd_off + gd_sectors + gt_sectors * gts + SPARSE_GRAIN - 1) / SPARSE_GRAIN *
		     SPARSE_GRAIN;
	kdmv_encode(&k, h);
	gd = calloc(gd_sectors ? gd_sectors : 1, VMDK_SECTOR);
	if (!gd)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	rc = file_truncate(f, k.overhead * VMDK_SECTOR, err);
	if (!rc)
		rc = file_pwrite_full(f, h, sizeof(h), 0, err);
	if (!rc && desc)
		rc = file_pwrite_full(f, desc, dlen, VMDK_SECTOR, err);
	for (int pass = 0; pass < 2 && !rc; pass++) {
		uint64_t base = pass ? k.gd_off : k.rgd_off;

		for (uint64_t i = 0; i < gts; i++)
			st_le32(gd + i * 4, (uint32_t)(base + gd_sectors + i * gt_sectors));
		rc = file_pwrite_full(f, gd, gd_sectors * VMDK_SECTOR, base * VMDK_SECTOR, err);
	}
	free(gd);
	return rc;
}

/* ---- descriptor text -------------------------------------------------------- */

struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void sb_add(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if (b->p && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = (b->cap + (size_t)n + 1) * 2;
		char *np = realloc(b->p, cap);

		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
}

struct create_ctx {
	const char *subformat;
	bool flat, split, stream, vmfs, thin, zeroed;
	char adapter[16];
	uint64_t hw, tools;
	uint32_t parent_cid;
	const char *parent_hint;
	char *dir, *base, *ext;	/* path = dir/base ext */
};

static void desc_head(struct sbuf *b, const struct create_ctx *c)
{
	sb_add(b, "# Disk DescriptorFile\nversion=1\nencoding=\"UTF-8\"\nCID=%08x\nparentCID=%08x\n",
	       id_cid_random(), c->parent_cid);
	sb_add(b, "createType=\"%s\"\n", c->vmfs ? "vmfs" : c->subformat);
	if (c->parent_hint)
		sb_add(b, "parentFileNameHint=\"%s\"\n", c->parent_hint);
	sb_add(b, "\n# Extent description\n");
}

static void desc_tail(struct sbuf *b, const struct create_ctx *c, uint64_t size)
{
	bool ide = !strcmp(c->adapter, "ide");
	uint64_t heads = ide ? 16 : 255, cyl = size / (heads * 63 * VMDK_SECTOR);
	uint32_t u[4];
	uint8_t image[16];
	char text[37];

	for (int i = 0; i < 4; i++)
		u[i] = id_cid_random();
	cyl = min_u64(cyl, ide ? 16383 : 65535);
	sb_add(b, "\n# The Disk Data Base\n#DDB\n\n");
	sb_add(b, "ddb.virtualHWVersion = \"%llu\"\n", (unsigned long long)c->hw);
	sb_add(b, "ddb.geometry.cylinders = \"%llu\"\n", (unsigned long long)cyl);
	sb_add(b, "ddb.geometry.heads = \"%llu\"\n", (unsigned long long)heads);
	sb_add(b, "ddb.geometry.sectors = \"63\"\n");
	sb_add(b, "ddb.adapterType = \"%s\"\n", c->adapter);
	sb_add(b, "ddb.toolsVersion = \"%llu\"\n", (unsigned long long)c->tools);
	if (c->stream)
		sb_add(b, "ddb.toolsInstallType = \"4\"\n");
	if (c->thin)
		sb_add(b, "ddb.thinProvisioned = \"1\"\n");
	sb_add(b, "ddb.longContentID = \"%08x%08x%08x%08x\"\n", u[0], u[1], u[2], u[3]);
	sb_add(b, "ddb.uuid = \"60 00 C2 9%x %02x %02x %02x %02x-%02x %02x %02x %02x %02x %02x %02x "
		  "%02x\"\n",
	       u[0] & 0xf, u[0] >> 8 & 0xff, u[0] >> 16 & 0xff, u[0] >> 24, u[1] & 0xff,
	       u[1] >> 8 & 0xff, u[1] >> 16 & 0xff, u[1] >> 24, u[2] & 0xff, u[2] >> 8 & 0xff,
	       u[2] >> 16 & 0xff, u[2] >> 24, u[3] & 0xff);
	/* VirtualBox registers a disk by this UUID and refuses one whose file says
	 * otherwise; without it, it makes one up on first writable open. */
	id_uuid_random(image);
	id_uuid_format(image, text);
	sb_add(b, "ddb.uuid.image = \"%s\"\n", text);
}

/* ---- files -------------------------------------------------------------------- */

static int split_path(const char *path, struct create_ctx *c, struct vimg_error *err)
{
	const char *slash = strrchr(path, '/'), *name = slash ? slash + 1 : path;
	const char *dot = strrchr(name, '.');

	c->dir = slash ? strndup(path, (size_t)(slash - path + 1)) : strdup("");
	c->base = dot && dot != name ? strndup(name, (size_t)(dot - name)) : strdup(name);
	c->ext = strdup(dot && dot != name ? dot : "");
	if (!c->dir || !c->base || !c->ext)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	if (!*name)
		return vimg_error_set(err, VIMG_EINVAL, "vmdk: no file name in \"%s\"", path);
	return 0;
}

/* Extent file name (no directory) for extent idx (1-based) of a split/flat disk. */
static char *extent_name(const struct create_ctx *c, unsigned idx)
{
	char *s = NULL;

	if (c->split) {
		if (asprintf(&s, "%s-%c%03u%s", c->base, c->flat ? 'f' : 's', idx, c->ext) < 0)
			s = NULL;
	} else if (asprintf(&s, "%s-flat%s", c->base, c->ext) < 0) {
		s = NULL;
	}
	return s;
}

static int make_extent(const struct create_ctx *c, const char *name, uint64_t bytes,
		       struct vimg_error *err)
{
	struct vimg_file *f;
	char *path;
	int rc;

	if (asprintf(&path, "%s%s", c->dir, name) < 0)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	rc = file_open(path, FILE_CREATE, &f, err);
	free(path);
	if (rc)
		return rc;
	rc = c->flat ? file_truncate(f, bytes, err)
		     : sparse_create(f, bytes / VMDK_SECTOR, c->zeroed, NULL, err);
	if (!rc)
		rc = file_fsync(f, err);
	file_close(f);
	return rc;
}

static int write_file(const char *path, const char *text, struct vimg_error *err)
{
	struct vimg_file *f;
	int rc = file_open(path, FILE_CREATE, &f, err);

	if (rc)
		return rc;
	rc = file_pwrite_full(f, text, strlen(text), 0, err);
	if (!rc)
		rc = file_fsync(f, err);
	file_close(f);
	return rc;
}

static int create_files(const char *path, uint64_t size, struct create_ctx *c,
			struct vimg_error *err)
{
	struct sbuf b = { 0 };
	struct vimg_file *f;
	int rc = 0;

	desc_head(&b, c);
	if (c->flat || c->split) {
		uint64_t per = c->split ? VMDK_SPLIT_BYTES : size;
		unsigned idx = 1;

		for (uint64_t off = 0; off < size && !rc; off += per, idx++) {
			uint64_t n = min_u64(per, size - off);
			char *name = extent_name(c, idx);

			if (!name) {
				rc = vimg_error_set(err, VIMG_ENOMEM, "out of memory");
				break;
			}
			rc = make_extent(c, name, n, err);
			if (c->vmfs)
				sb_add(&b, "RW %llu VMFS \"%s\"\n", (unsigned long long)(n / VMDK_SECTOR),
				       name);
			else
				sb_add(&b, "RW %llu %s \"%s\"%s\n", (unsigned long long)(n / VMDK_SECTOR),
				       c->flat ? "FLAT" : "SPARSE", name, c->flat ? " 0" : "");
			free(name);
		}
		desc_tail(&b, c, size);
		if (!rc && b.oom)
			rc = vimg_error_set(err, VIMG_ENOMEM, "out of memory");
		if (!rc)
			rc = write_file(path, b.p, err);
		free(b.p);
		return rc;
	}
	sb_add(&b, "RW %llu SPARSE \"%s%s\"\n", (unsigned long long)(size / VMDK_SECTOR), c->base,
	       c->ext);
	desc_tail(&b, c, size);
	if (b.oom) {
		free(b.p);
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	}
	rc = file_open(path, FILE_CREATE, &f, err);
	if (!rc) {
		rc = c->stream ? stream_create(f, size / VMDK_SECTOR, b.p, err)
			       : sparse_create(f, size / VMDK_SECTOR, c->zeroed, b.p, err);
		if (!rc)
			rc = file_fsync(f, err);
		file_close(f);
	}
	free(b.p);
	return rc;
}

int vmdk_create(const char *path, uint64_t size, const struct vimg_opts *opts,
		const struct vimg_backing_spec *backing, struct vimg_error *err)
{
	struct create_ctx c = { .parent_cid = 0xffffffffu };
	const char *adapter = opts_get(opts, "adapter_type");
	int rc;

	bool compat6;

	c.subformat = opts_get(opts, "subformat");
	if ((rc = opts_get_uint(opts, "hwversion", &c.hw, err)) ||
	    (rc = opts_get_uint(opts, "toolsversion", &c.tools, err)) ||
	    (rc = opts_get_bool(opts, "zeroed_grain", &c.zeroed, err)) ||
	    (rc = opts_get_bool(opts, "compat6", &compat6, err)))
		return rc;
	if (compat6 && opts_given(opts, "hwversion"))
		return vimg_error_set(err, VIMG_EINVAL, "vmdk: compat6 and hwversion both given");
	if (compat6)
		c.hw = 6;
	c.stream = !strcmp(c.subformat, "streamOptimized");
	c.split = !strncmp(c.subformat, "twoGb", 5);
	c.vmfs = !strncmp(c.subformat, "vmfs", 4);
	c.thin = !strcmp(c.subformat, "vmfsThin");
	c.flat = strstr(c.subformat, "Flat") || c.vmfs;
	snprintf(c.adapter, sizeof(c.adapter), "%s", adapter ? adapter : c.stream ? "lsilogic" : "ide");
	if (ck_align_up(size, VMDK_SECTOR, &size) || size == 0 || size > VMDK_MAX_SIZE)
		return vimg_error_set(err, VIMG_EINVAL, "vmdk: invalid disk size %llu",
				      (unsigned long long)size);
	if (c.zeroed && (c.flat || c.stream))
		return vimg_error_set(err, VIMG_EINVAL,
				      "vmdk: zeroed_grain needs a hosted sparse subformat");
	if (backing && backing->name) {
		if (c.flat || c.stream)
			return vimg_error_set(err, VIMG_EUNSUPPORTED,
					      "vmdk: a delta disk must be monolithicSparse or "
					      "twoGbMaxExtentSparse, not %s",
					      c.subformat);
		{
			struct vimg_image *parent;

			rc = create_backing_parent(backing, "vmdk", &parent, err);
			if (!rc)
				c.parent_cid = ((struct vmdk_state *)image_priv(parent))->cid;
		}
		if (rc)
			return vimg_error_prefix(err, "parent \"%s\"", backing->name);
		c.parent_hint = backing->name;
	}
	rc = split_path(path, &c, err);
	if (!rc)
		rc = create_files(path, size, &c, err);
	free(c.dir);
	free(c.base);
	free(c.ext);
	return rc;
}
