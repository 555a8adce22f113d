/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * VHD creation and the helpers shared with vhd.c: footer encode/decode and
 * checksum (spec "Hard Disk Footer Format"), CHS geometry (spec appendix
 * "CHS Calculation"), and how a child records its parent (vhd_parent_facts,
 * vhd_parent_fields), shared with vhd-backing.c so that a rebased child
 * says exactly what a new one would.
 *
 * Layouts written: fixed = data, footer (the file is made with truncate, so
 * the data area is a hole: an Azure image of 30 GiB costs nothing);
 * dynamic/differencing = footer copy at 0, dynamic header at 512, BAT at
 * 1536, parent locator data (differencing), trailing footer. The virtual
 * size is the CHS-rounded size as Virtual PC and qemu compute it, or with
 * force_size the requested size rounded up to 1 MiB (what Azure accepts).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "checked.h"
#include "endian.h"
#include "vhd.h"

const struct vimg_opt_desc vhd_create_opts[] = {
	{ "subformat", VIMG_OPT_STR, "dynamic", "dynamic|fixed", "dynamic (sparse) or fixed" },
	{ "force_size", VIMG_OPT_BOOL, "off", NULL,
	  "use the requested size rounded up to 1 MiB instead of the CHS size (Azure)" },
	{ NULL, 0, NULL, NULL, NULL },
};

uint32_t vhd_checksum(const uint8_t *p, size_t len, size_t skip)
{
	uint32_t sum = 0;

	for (size_t i = 0; i < len; i++)
		if (i < skip || i >= skip + 4)
			sum += p[i];
	return ~sum;
}

void vhd_footer_decode(const struct vhd_footer_disk *d, struct vhd_footer *f)
{
	memcpy(f->cookie, d->cookie, 8);
	f->features = ld_be32(d->features);
	f->version = ld_be32(d->version);
	f->data_offset = ld_be64(d->data_offset);
	f->timestamp = ld_be32(d->timestamp);
	memcpy(f->creator_app, d->creator_app, 4);
	f->creator_version = ld_be32(d->creator_version);
	f->creator_os = ld_be32(d->creator_os);
	f->original_size = ld_be64(d->original_size);
	f->current_size = ld_be64(d->current_size);
	f->cylinders = ld_be16(d->cylinders);
	f->heads = d->heads;
	f->sectors = d->sectors;
	f->disk_type = ld_be32(d->disk_type);
	f->checksum = ld_be32(d->checksum);
	memcpy(f->uuid, d->uuid, 16);
	f->saved_state = d->saved_state;
}

void vhd_footer_encode(struct vhd_footer *f, struct vhd_footer_disk *d)
{
	memset(d, 0, sizeof(*d));
	memcpy(d->cookie, f->cookie, 8);
	st_be32(d->features, f->features);
	st_be32(d->version, f->version);
	st_be64(d->data_offset, f->data_offset);
	st_be32(d->timestamp, f->timestamp);
	memcpy(d->creator_app, f->creator_app, 4);
	st_be32(d->creator_version, f->creator_version);
	st_be32(d->creator_os, f->creator_os);
	st_be64(d->original_size, f->original_size);
	st_be64(d->current_size, f->current_size);
	st_be16(d->cylinders, f->cylinders);
	d->heads = f->heads;
	d->sectors = f->sectors;
	st_be32(d->disk_type, f->disk_type);
	memcpy(d->uuid, f->uuid, 16);
	d->saved_state = f->saved_state;
	f->checksum = vhd_checksum((const uint8_t *)d, sizeof(*d), 64);
	st_be32(d->checksum, f->checksum);
}

void vhd_geometry(uint64_t total, uint16_t *c, uint8_t *h, uint8_t *s)
{
	uint64_t cth, spt, heads;

	if (total > 65535ull * 16 * 255)
		total = 65535ull * 16 * 255;
	if (total >= 65535ull * 16 * 63) {
		spt = 255;
		heads = 16;
		cth = total / spt;
	} else {
		spt = 17;
		cth = total / spt;
		heads = (cth + 1023) / 1024;
		if (heads < 4)
			heads = 4;
		if (cth >= heads * 1024 || heads > 16) {
			spt = 31;
			heads = 16;
			cth = total / spt;
		}
		if (cth >= heads * 1024) {
			spt = 63;
			heads = 16;
			cth = total / spt;
		}
	}
	*c = (uint16_t)(cth / heads);
	*h = (uint8_t)heads;
	*s = (uint8_t)spt;
}

void vhd_parent_facts(struct vimg_image *parent, struct vhd_parent_facts *pf)
{
	struct vhd *ps = image_priv(parent);
	struct stat st;

	memcpy(pf->uuid, ps->f.uuid, 16);
	pf->f = ps->f;
	pf->size = ps->size;
	pf->mtime = 0;
	if (stat(vimg_image_filename(parent), &st) == 0 && st.st_mtime > VHD_EPOCH_OFFSET)
		pf->mtime = (uint32_t)(st.st_mtime - VHD_EPOCH_OFFSET);
}

static int parent_facts(const struct vimg_backing_spec *bk, struct vhd_parent_facts *pf,
			struct vimg_error *err)
{
	struct vimg_image *b;
	int rc = create_backing_parent(bk, "vhd", &b, err);

	if (rc)
		return rc;
	vhd_parent_facts(b, pf);
	return 0;
}

int vhd_choose_size(uint64_t req, bool force, struct vhd_footer *f, struct vimg_error *err)
{
	uint64_t total;

	if (force) {
		if (ck_align_up(req, 1u << 20, &total))
			return vimg_error_set(err, VIMG_EINVAL, "vhd: size too large");
		vhd_geometry(total / VHD_SECTOR, &f->cylinders, &f->heads, &f->sectors);
	} else {
		uint64_t want = (req + VHD_SECTOR - 1) / VHD_SECTOR;

		if (want > 65535ull * 16 * 255) {
			total = want * VHD_SECTOR;
			f->cylinders = 65535;
			f->heads = 16;
			f->sectors = 255;
		} else {
			/* Grow until the geometry covers the request, as Virtual PC does. */
			for (uint64_t i = 0;; i++) {
				vhd_geometry(want + i, &f->cylinders, &f->heads, &f->sectors);
				if ((uint64_t)f->cylinders * f->heads * f->sectors >= want)
					break;
			}
			total = (uint64_t)f->cylinders * f->heads * f->sectors * VHD_SECTOR;
		}
	}
	if (total == 0 || total > VHD_MAX_SIZE)
		return vimg_error_set(err, VIMG_EINVAL,
				      "vhd: size %" PRIu64 " out of range (1 sector to 2040 GiB)", req);
	f->original_size = f->current_size = total;
	return 0;
}

/* W2ru: ".\" + name with backslashes; an absolute POSIX name goes as it is into W2ku. */
static int locator_path(const char *name, uint8_t *out, size_t outsz)
{
	char buf[4096];
	size_t n;

	n = (size_t)snprintf(buf, sizeof(buf), "%s%s",
			     name[0] == '/' || !strncmp(name, "./", 2) ? "" : ".\\", name);
	if (n >= sizeof(buf))
		return -1;
	for (char *p = buf; *p && name[0] != '/'; p++)
		if (*p == '/')
			*p = '\\';
	return utf8_to_utf16(buf, false, out, outsz);
}

int vhd_parent_fields(struct vhd_dyn_disk *dd, const struct vhd_parent_facts *pf,
		      const char *name, uint8_t *loc, size_t cap, struct vimg_error *err)
{
	const char *base = strrchr(name, '/');
	int loclen;

	memcpy(dd->parent_uuid, pf->uuid, 16);
	st_be32(dd->parent_timestamp, pf->mtime);
	memset(dd->parent_name, 0, sizeof(dd->parent_name));
	if (utf8_to_utf16(base ? base + 1 : name, true, dd->parent_name,
			  sizeof(dd->parent_name)) < 0 ||
	    (loclen = locator_path(name, loc, cap)) <= 0)
		return vimg_error_set(err, VIMG_EINVAL, "vhd: parent name \"%s\" too long or not UTF-8",
				      name);
	memset(dd->loc, 0, sizeof(dd->loc));
	st_be32(dd->loc[0].code, name[0] == '/' ? VHD_PLAT_W2KU : VHD_PLAT_W2RU);
	/* Data space in bytes, a multiple of 512, as Windows writes it. */
	st_be32(dd->loc[0].data_space, ((uint32_t)loclen + 511) / 512 * 512);
	st_be32(dd->loc[0].data_length, (uint32_t)loclen);
	return loclen;
}

static int write_dynamic(struct vimg_file *fl, struct vhd_footer *f,
			 const struct vhd_parent_facts *pf,
			 const char *parent_name, struct vimg_error *err)
{
	struct vhd_footer_disk fd;
	struct vhd_dyn_disk dd;
	uint32_t entries = (uint32_t)((f->current_size + VHD_DEFAULT_BLOCK - 1) / VHD_DEFAULT_BLOCK);
	uint64_t bat_bytes = ((uint64_t)entries * 4 + VHD_SECTOR - 1) / VHD_SECTOR * VHD_SECTOR;
	uint64_t pos = 3 * VHD_SECTOR + bat_bytes;
	uint8_t *bat = malloc(bat_bytes), loc[VHD_MAX_LOCATOR_BYTES];
	int rc, loclen = 0;

	if (!bat)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	memset(bat, 0xff, bat_bytes);
	memset(&dd, 0, sizeof(dd));
	memcpy(dd.cookie, VHD_DYN_COOKIE, 8);
	st_be64(dd.data_offset, VHD_NO_OFFSET);
	st_be64(dd.table_offset, 3 * VHD_SECTOR);
	st_be32(dd.version, VHD_VERSION);
	st_be32(dd.max_entries, entries);
	st_be32(dd.block_size, VHD_DEFAULT_BLOCK);
	if (pf) {
		loclen = vhd_parent_fields(&dd, pf, parent_name, loc, sizeof(loc), err);
		if (loclen < 0) {
			free(bat);
			return loclen;
		}
		st_be64(dd.loc[0].data_offset, pos);
	}
	st_be32(dd.checksum, vhd_checksum((uint8_t *)&dd, sizeof(dd), 36));
	vhd_footer_encode(f, &fd);
	rc = file_pwrite_full(fl, &fd, sizeof(fd), 0, err);
	if (!rc)
		rc = file_pwrite_full(fl, &dd, sizeof(dd), VHD_SECTOR, err);
	if (!rc)
		rc = file_pwrite_full(fl, bat, bat_bytes, 3 * VHD_SECTOR, err);
	if (!rc && loclen > 0) {
		uint8_t sec[VHD_MAX_LOCATOR_BYTES] = { 0 };
		size_t space = ((size_t)loclen + 511) / 512 * 512;

		memcpy(sec, loc, (size_t)loclen);
		rc = file_pwrite_full(fl, sec, space, pos, err);
		pos += space;
	}
	if (!rc)
		rc = file_pwrite_full(fl, &fd, sizeof(fd), pos, err);
	free(bat);
	return rc;
}

int vhd_create(const char *path, uint64_t size, const struct vimg_opts *opts,
	       const struct vimg_backing_spec *backing, struct vimg_error *err)
{
	const char *sub = opts_get(opts, "subformat");
	struct vhd_footer f;
	struct vhd_parent_facts pf;
	struct vimg_file *fl;
	bool force = false, fixed = sub && !strcmp(sub, "fixed");
	int rc;

	memset(&f, 0, sizeof(f));
	memset(&pf, 0, sizeof(pf));
	rc = opts_get_bool(opts, "force_size", &force, err);
	if (rc)
		return rc;
	if (backing && backing->name) {
		if (fixed)
			return vimg_error_set(err, VIMG_EINVAL,
					      "vhd: a differencing disk cannot be fixed");
		rc = parent_facts(backing, &pf, err);
		if (rc)
			return vimg_error_prefix(err, "vhd: parent \"%s\"", backing->name);
		/* A child has exactly its parent's size and geometry. */
		f.original_size = f.current_size = pf.size;
		f.cylinders = pf.f.cylinders;
		f.heads = pf.f.heads;
		f.sectors = pf.f.sectors;
	} else {
		rc = vhd_choose_size(size, force, &f, err);
		if (rc)
			return rc;
	}
	/*
	 * Virtual PC and qemu size an image by its geometry unless the creator
	 * is one they know sizes by current_size: when the two differ (force_size,
	 * large disks), write qemu's own marker for that, "qem2".
	 */
	memcpy(f.creator_app,
	       (uint64_t)f.cylinders * f.heads * f.sectors * VHD_SECTOR == f.current_size ? "vimg"
											  : "qem2",
	       4);
	memcpy(f.cookie, VHD_COOKIE, 8);
	f.features = VHD_FEATURES_RESERVED;
	f.version = VHD_VERSION;
	f.timestamp = (uint32_t)((uint64_t)time(NULL) - VHD_EPOCH_OFFSET);
	f.creator_version = 0x00010000;
	f.creator_os = 0x5769326b; /* "Wi2k" */
	f.disk_type = backing && backing->name ? VHD_TYPE_DIFF
				: fixed ? VHD_TYPE_FIXED : VHD_TYPE_DYNAMIC;
	f.data_offset = fixed ? VHD_NO_OFFSET : VHD_SECTOR;
	id_uuid_random(f.uuid);

	rc = file_open(path, FILE_CREATE, &fl, err);
	if (rc)
		return rc;
	if (fixed) {
		struct vhd_footer_disk fd;

		vhd_footer_encode(&f, &fd);
		rc = file_truncate(fl, f.current_size + VHD_FOOTER_LEN, err);
		if (!rc)
			rc = file_pwrite_full(fl, &fd, sizeof(fd), f.current_size, err);
	} else {
		rc = write_dynamic(fl, &f, backing && backing->name ? &pf : NULL,
				   backing ? backing->name : NULL, err);
	}
	if (!rc)
		rc = file_fsync(fl, err);
	file_close(fl);
	return rc;
}
