/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vhdx driver: probe, file identifier, the two headers (2.2.2: the valid one
 * with the higher sequence number is current), the two region tables
 * (2.2.3), the metadata region (2.6: file parameters, virtual disk size,
 * page 83 data, logical and physical sector size, parent locator 2.6.2.6),
 * open/close, the parent link check, info and the driver table.
 *
 * Invariants after open: block size is a power of two of 1..256 MiB, the
 * sector sizes are 512 or 4096, BAT and metadata regions are 1 MiB aligned,
 * inside the file (or the replayed log's LastFileOffset) and do not overlap
 * the headers or each other, the BAT is large enough for the disk, and a
 * pending log has been replayed (in memory only when read-only).
 */
#include "config.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checked.h"
#include "crc32c.h"
#include "endian.h"
#include "vhdx.h"

const uint8_t vhdx_guid_bat[16] =
	VHDX_GUID(0x2dc27766, 0xf623, 0x4200, 0x9d, 0x64, 0x11, 0x5e, 0x9b, 0xfd, 0x4a, 0x08);
const uint8_t vhdx_guid_metadata[16] =
	VHDX_GUID(0x8b7ca206, 0x4790, 0x4b9a, 0xb8, 0xfe, 0x57, 0x5f, 0x05, 0x0f, 0x88, 0x6e);
const uint8_t vhdx_guid_file_params[16] =
	VHDX_GUID(0xcaa16737, 0xfa36, 0x4d43, 0xb3, 0xb6, 0x33, 0xf0, 0xaa, 0x44, 0xe7, 0x6b);
const uint8_t vhdx_guid_vsize[16] =
	VHDX_GUID(0x2fa54224, 0xcd1b, 0x4876, 0xb2, 0x11, 0x5d, 0xbe, 0xd8, 0x3b, 0xf4, 0xb8);
const uint8_t vhdx_guid_page83[16] =
	VHDX_GUID(0xbeca12ab, 0xb2e6, 0x4523, 0x93, 0xef, 0xc3, 0x09, 0xe0, 0x00, 0xc7, 0x46);
const uint8_t vhdx_guid_lsec[16] =
	VHDX_GUID(0x8141bf1d, 0xa96f, 0x4709, 0xba, 0x47, 0xf2, 0x33, 0xa8, 0xfa, 0xab, 0x5f);
const uint8_t vhdx_guid_psec[16] =
	VHDX_GUID(0xcda348c7, 0x445d, 0x4471, 0x9c, 0xc9, 0xe9, 0x88, 0x52, 0x51, 0xc5, 0x56);
const uint8_t vhdx_guid_parent_locator[16] =
	VHDX_GUID(0xa8d35f2d, 0xb30b, 0x454d, 0xab, 0xf7, 0xd3, 0xd8, 0x48, 0x34, 0xab, 0x0c);
const uint8_t vhdx_guid_parent_type[16] =
	VHDX_GUID(0xb04aefb7, 0xd19e, 0x4a81, 0xb7, 0x89, 0x25, 0xb8, 0xe9, 0x44, 0x59, 0x13);

static const uint8_t zero_guid[16];

/* ---- helpers ------------------------------------------------------------------ */

void vhdx_guid_str(const uint8_t g[16], char *out)
{
	out[0] = '{';
	id_guid_format(g, false, out + 1);
	out[37] = '}';
	out[38] = 0;
}

bool vhdx_guid_parse(const char *str, uint8_t g[16])
{
	uint8_t b[16];
	int n = 0;
	bool brace = *str == '{';

	if (brace)
		str++;
	while (*str && *str != '}' && n < 32) {
		int v;

		if (*str == '-') {
			str++;
			continue;
		}
		if (!isxdigit((unsigned char)str[0]))
			return false;
		v = isdigit((unsigned char)*str) ? *str - '0' : tolower((unsigned char)*str) - 'a' + 10;
		if (n % 2 == 0)
			b[n / 2] = (uint8_t)(v << 4);
		else
			b[n / 2] |= (uint8_t)v;
		n++;
		str++;
	}
	if (n != 32 || (brace && *str != '}'))
		return false;
	/* Text order is Data1..Data3 big-endian; on disk they are little-endian. */
	g[0] = b[3], g[1] = b[2], g[2] = b[1], g[3] = b[0];
	g[4] = b[5], g[5] = b[4], g[6] = b[7], g[7] = b[6];
	memcpy(g + 8, b + 8, 8);
	return true;
}

/* ---- headers (2.2.2) ------------------------------------------------------------ */

uint32_t vhdx_header_checksum(const uint8_t *b)
{
	uint8_t zero[4] = { 0 };
	uint32_t c = crc32c(0, b, 4);

	c = crc32c(c, zero, 4);
	return crc32c(c, b + 8, VHDX_HEADER_LEN - 8);
}

static void header_decode(const uint8_t *b, struct vhdx_header *h)
{
	h->signature = ld_le32(b);
	h->checksum = ld_le32(b + 4);
	h->seq = ld_le64(b + 8);
	memcpy(h->file_write_guid, b + 16, 16);
	memcpy(h->data_write_guid, b + 32, 16);
	memcpy(h->log_guid, b + 48, 16);
	h->log_version = ld_le16(b + 64);
	h->version = ld_le16(b + 66);
	h->log_length = ld_le32(b + 68);
	h->log_offset = ld_le64(b + 72);
}

void vhdx_header_encode(const struct vhdx_header *h, uint8_t *b)
{
	memset(b, 0, VHDX_HEADER_LEN);
	st_le32(b, VHDX_HEADER_SIG);
	st_le64(b + 8, h->seq);
	memcpy(b + 16, h->file_write_guid, 16);
	memcpy(b + 32, h->data_write_guid, 16);
	memcpy(b + 48, h->log_guid, 16);
	st_le16(b + 64, h->log_version);
	st_le16(b + 66, h->version);
	st_le32(b + 68, h->log_length);
	st_le64(b + 72, h->log_offset);
	st_le32(b + 4, vhdx_header_checksum(b));
}

static bool header_valid(const uint8_t *b, const struct vhdx_header *h)
{
	return h->signature == VHDX_HEADER_SIG && h->checksum == vhdx_header_checksum(b) &&
	       h->version == 1;
}

int vhdx_headers_update(struct vhdx *s, struct vimg_error *err)
{
	uint8_t b[VHDX_HEADER_LEN];
	int rc;

	for (int i = 0; i < 2; i++) {
		int slot = 1 - s->cur;

		s->hdr.seq++;
		vhdx_header_encode(&s->hdr, b);
		rc = file_pwrite_full(s->file, b, sizeof(b),
				      slot ? VHDX_HEADER2_OFF : VHDX_HEADER1_OFF, err);
		if (!rc)
			rc = file_fsync(s->file, err);
		if (rc)
			return rc;
		s->cur = slot;
	}
	return 0;
}

static int load_headers(struct vhdx *s, struct vimg_error *err)
{
	uint8_t b[2][VHDX_HEADER_LEN];
	struct vhdx_header h[2];
	bool ok[2];
	int rc;

	for (int i = 0; i < 2; i++) {
		rc = file_pread_zeroed(s->file, b[i], VHDX_HEADER_LEN,
				       i ? VHDX_HEADER2_OFF : VHDX_HEADER1_OFF, err);
		if (rc)
			return rc;
		header_decode(b[i], &h[i]);
		ok[i] = header_valid(b[i], &h[i]);
	}
	if (!ok[0] && !ok[1]) {
		if (h[0].signature == VHDX_HEADER_SIG && h[0].version != 1)
			return vimg_error_set(err, VIMG_EUNSUPPORTED, "vhdx: header: version %u",
					      h[0].version);
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "vhdx: header: no valid header (offsets 0x10000 and 0x20000)");
	}
	s->cur = (ok[0] && (!ok[1] || h[0].seq >= h[1].seq)) ? 0 : 1;
	s->hdr = h[s->cur];
	if (s->hdr.log_version != 0)
		return vimg_error_set(err, VIMG_EUNSUPPORTED, "vhdx: header: log version %u",
				      s->hdr.log_version);
	if (s->hdr.log_offset % MIB || s->hdr.log_offset < MIB || s->hdr.log_length % MIB ||
	    s->hdr.log_length == 0 || s->hdr.log_offset + s->hdr.log_length > s->file_size)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "vhdx: header: log (offset 0x%" PRIx64 ", length 0x%x) is not "
				      "1 MiB aligned inside the file (offset 0x%" PRIx64 ")",
				      s->hdr.log_offset, s->hdr.log_length,
				      s->cur ? VHDX_HEADER2_OFF : VHDX_HEADER1_OFF);
	return 0;
}

/* ---- region table (2.2.3) --------------------------------------------------------- */

static int check_region(struct vhdx *s, const char *what, uint64_t off, uint64_t len,
			struct vimg_error *err)
{
	uint64_t end, lim = max_u64(s->file_size, s->replay_end);

	if (off % MIB || len % MIB || len == 0 || off < MIB || ck_add(off, len, &end) ||
	    end > lim)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "vhdx: region table: %s region (length 0x%" PRIx64
				      ") not 1 MiB aligned inside the file (offset 0x%" PRIx64 ")",
				      what, len, off);
	if (off < s->hdr.log_offset + s->hdr.log_length && end > s->hdr.log_offset)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "vhdx: region table: %s region overlaps the log (offset 0x%" PRIx64
				      ")",
				      what, off);
	return 0;
}

static int load_regions(struct vhdx *s, struct vimg_error *err)
{
	uint8_t *b = malloc(VHDX_REGION_LEN);
	uint64_t roff = VHDX_REGION1_OFF;
	bool found_bat = false, found_meta = false;
	uint32_t n = 0;
	int rc = 0, slot;

	if (!b)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	for (slot = 0; slot < 2; slot++) {
		uint32_t sum;

		roff = slot ? VHDX_REGION2_OFF : VHDX_REGION1_OFF;
		rc = vhdx_meta_pread(s, b, VHDX_REGION_LEN, roff, err);
		if (rc)
			goto out;
		sum = ld_le32(b + 4);
		memset(b + 4, 0, 4);
		n = ld_le32(b + 8);
		if (ld_le32(b) == VHDX_REGION_SIG && sum == crc32c(0, b, VHDX_REGION_LEN) &&
		    n <= VHDX_REGION_MAX_ENTRIES)
			break;
	}
	if (slot == 2) {
		rc = vimg_error_set(err, VIMG_ECORRUPT,
				    "vhdx: region table: no valid region table (offsets 0x30000 and "
				    "0x40000)");
		goto out;
	}
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *e = b + 16 + 32 * (size_t)i;
		uint64_t off = ld_le64(e + 16);
		uint32_t len = ld_le32(e + 24), req = ld_le32(e + 28) & 1;
		char g[40];

		if (!memcmp(e, vhdx_guid_bat, 16) && !found_bat) {
			s->bat_off = off, s->bat_len = len, found_bat = true;
			rc = check_region(s, "BAT", off, len, err);
		} else if (!memcmp(e, vhdx_guid_metadata, 16) && !found_meta) {
			s->meta_off = off, s->meta_len = len, found_meta = true;
			rc = check_region(s, "metadata", off, len, err);
		} else if (req) {
			vhdx_guid_str(e, g);
			rc = vimg_error_set(err, VIMG_EUNSUPPORTED,
					    "vhdx: region table: unknown required region %s", g);
		}
		if (rc)
			goto out;
	}
	if (!found_bat || !found_meta) {
		rc = vimg_error_set(err, VIMG_ECORRUPT,
				    "vhdx: region table: no %s region (offset 0x%" PRIx64 ")",
				    found_bat ? "metadata" : "BAT", roff);
		goto out;
	}
	if (s->bat_off < s->meta_off + s->meta_len && s->meta_off < s->bat_off + s->bat_len)
		rc = vimg_error_set(err, VIMG_ECORRUPT,
				    "vhdx: region table: BAT and metadata regions overlap (offset 0x%"
				    PRIx64 ")",
				    s->bat_off);
out:
	free(b);
	return rc;
}

/* ---- metadata (2.6) ------------------------------------------------------------- */

static int read_item(struct vhdx *s, uint32_t off, uint32_t len, uint32_t want, void *buf,
		     const char *what, struct vimg_error *err)
{
	if (len < want)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "vhdx: metadata: %s item too short (%u bytes, offset 0x%" PRIx64
				      ")",
				      what, len, s->meta_off + off);
	return vhdx_meta_pread(s, buf, want, s->meta_off + off, err);
}

/* Parent locator (2.6.2.6): key/value UTF-16LE pairs. */
static int parse_locator(struct vhdx *s, uint32_t off, uint32_t len, struct vimg_error *err)
{
	char key[64], val[VHDX_MAX_PATH], rel[VHDX_MAX_PATH] = "", other[VHDX_MAX_PATH] = "";
	uint8_t *b;
	uint16_t n;
	int rc;

	if (len < 20 || len > VHDX_MAX_META_ITEM)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "vhdx: parent locator: length %u out of range (offset 0x%" PRIx64
				      ")",
				      len, s->meta_off + off);
	b = malloc(len);
	if (!b)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	rc = vhdx_meta_pread(s, b, len, s->meta_off + off, err);
	if (rc)
		goto out;
	if (memcmp(b, vhdx_guid_parent_type, 16)) {
		rc = vimg_error_set(err, VIMG_EUNSUPPORTED,
				    "vhdx: parent locator: unknown locator type (offset 0x%" PRIx64 ")",
				    s->meta_off + off);
		goto out;
	}
	n = ld_le16(b + 18);
	if (20 + 12 * (uint64_t)n > len) {
		rc = vimg_error_set(err, VIMG_ECORRUPT,
				    "vhdx: parent locator: %u entries exceed the item (offset 0x%" PRIx64
				    ")",
				    n, s->meta_off + off);
		goto out;
	}
	for (uint16_t i = 0; i < n; i++) {
		const uint8_t *e = b + 20 + 12 * (size_t)i;
		uint32_t ko = ld_le32(e), vo = ld_le32(e + 4);
		uint16_t kl = ld_le16(e + 8), vl = ld_le16(e + 10);

		if ((uint64_t)ko + kl > len || (uint64_t)vo + vl > len ||
		    utf16_to_utf8(b + ko, kl, false, key, sizeof(key)) < 0 ||
		    utf16_to_utf8(b + vo, vl, false, val, sizeof(val)) < 0) {
			rc = vimg_error_set(err, VIMG_ECORRUPT,
					    "vhdx: parent locator: entry %u malformed (offset 0x%" PRIx64
					    ")",
					    i, s->meta_off + off + 20 + 12 * (uint64_t)i);
			goto out;
		}
		if (!strcmp(key, "parent_linkage")) {
			if (!vhdx_guid_parse(val, s->parent_linkage)) {
				rc = vimg_error_set(err, VIMG_ECORRUPT,
						    "vhdx: parent locator: parent_linkage \"%s\" is "
						    "not a GUID",
						    val);
				goto out;
			}
			s->has_linkage = true;
		} else if (!strcmp(key, "relative_path")) {
			snprintf(rel, sizeof(rel), "%s", val);
		} else if ((!strcmp(key, "absolute_win32_path") || !strcmp(key, "volume_path")) &&
			   !other[0]) {
			snprintf(other, sizeof(other), "%s", val);
		}
	}
	if (!s->has_linkage) {
		rc = vimg_error_set(err, VIMG_ECORRUPT, "vhdx: parent locator: no parent_linkage");
		goto out;
	}
	if (rel[0]) {
		snprintf(s->parent_path, sizeof(s->parent_path), "%s", rel);
	} else if (other[0] == '/') {
		/* An absolute POSIX path, as vimg records one. */
		snprintf(s->parent_path, sizeof(s->parent_path), "%s", other);
	} else if (other[0]) {
		/* Only a Windows path: look for its file name beside the child. */
		const char *base = strrchr(other, '\\');

		snprintf(s->parent_path, sizeof(s->parent_path), "%s", base ? base + 1 : other);
	} else {
		rc = vimg_error_set(err, VIMG_ECORRUPT, "vhdx: parent locator: no parent path");
		goto out;
	}
	for (char *p = s->parent_path; *p; p++)
		if (*p == '\\')
			*p = '/';
out:
	free(b);
	return rc;
}

static int load_metadata(struct vhdx *s, struct vimg_error *err)
{
	uint8_t *t = malloc(VHDX_META_TABLE_LEN), v[16];
	bool have_params = false, have_size = false, have_lsec = false, have_psec = false;
	uint32_t loc_off = 0, loc_len = 0;
	uint16_t n;
	int rc;

	if (!t)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	rc = vhdx_meta_pread(s, t, VHDX_META_TABLE_LEN, s->meta_off, err);
	if (rc)
		goto out;
	n = ld_le16(t + 10);
	if (memcmp(t, VHDX_META_SIG, 8) || n > VHDX_META_MAX_ENTRIES) {
		rc = vimg_error_set(err, VIMG_ECORRUPT,
				    "vhdx: metadata table: bad signature or %u entries (offset 0x%" PRIx64
				    ")",
				    n, s->meta_off);
		goto out;
	}
	for (uint16_t i = 0; i < n && !rc; i++) {
		const uint8_t *e = t + 32 + 32 * (size_t)i;
		uint32_t off = ld_le32(e + 16), len = ld_le32(e + 20), fl = ld_le32(e + 24);
		char g[40];

		if (len && (off < VHDX_META_TABLE_LEN || (uint64_t)off + len > s->meta_len)) {
			rc = vimg_error_set(err, VIMG_ECORRUPT,
					    "vhdx: metadata table: entry %u (offset 0x%x, length %u) "
					    "outside the region (offset 0x%" PRIx64 ")",
					    i, off, len, s->meta_off + 32 + 32 * (uint64_t)i);
		} else if (!memcmp(e, vhdx_guid_file_params, 16)) {
			rc = read_item(s, off, len, 8, v, "file parameters", err);
			s->block_size = ld_le32(v);
			s->leave_alloc = ld_le32(v + 4) & VHDX_PARAM_LEAVE_ALLOCATED;
			s->has_parent = ld_le32(v + 4) & VHDX_PARAM_HAS_PARENT;
			have_params = true;
		} else if (!memcmp(e, vhdx_guid_vsize, 16)) {
			rc = read_item(s, off, len, 8, v, "virtual disk size", err);
			s->vsize = ld_le64(v);
			s->vsize_off = s->meta_off + off;
			have_size = true;
		} else if (!memcmp(e, vhdx_guid_page83, 16)) {
			rc = read_item(s, off, len, 16, s->page83, "page 83 data", err);
		} else if (!memcmp(e, vhdx_guid_lsec, 16)) {
			rc = read_item(s, off, len, 4, v, "logical sector size", err);
			s->lsec = ld_le32(v);
			have_lsec = true;
		} else if (!memcmp(e, vhdx_guid_psec, 16)) {
			rc = read_item(s, off, len, 4, v, "physical sector size", err);
			s->psec = ld_le32(v);
			have_psec = true;
		} else if (!memcmp(e, vhdx_guid_parent_locator, 16)) {
			loc_off = off;
			loc_len = len;
		} else if (fl & VHDX_META_IS_REQUIRED) {
			vhdx_guid_str(e, g);
			rc = vimg_error_set(err, VIMG_EUNSUPPORTED,
					    "vhdx: metadata item %s is required but unknown", g);
		}
	}
	if (rc)
		goto out;
	if (!have_params || !have_size || !have_lsec || !have_psec) {
		rc = vimg_error_set(err, VIMG_ECORRUPT,
				    "vhdx: metadata: missing %s item (offset 0x%" PRIx64 ")",
				    !have_params ? "file parameters"
				    : !have_size ? "virtual disk size"
				    : !have_lsec ? "logical sector size"
						 : "physical sector size",
				    s->meta_off);
		goto out;
	}
	if (!is_pow2(s->block_size) || s->block_size < VHDX_MIN_BLOCK ||
	    s->block_size > VHDX_MAX_BLOCK)
		rc = vimg_error_set(err, VIMG_ECORRUPT,
				    "vhdx: file parameters: block size %u is not a power of two from 1 "
				    "to 256 MiB",
				    s->block_size);
	else if ((s->lsec != 512 && s->lsec != 4096) || (s->psec != 512 && s->psec != 4096))
		rc = vimg_error_set(err, VIMG_ECORRUPT,
				    "vhdx: metadata: sector sizes %u/%u are not 512 or 4096", s->lsec,
				    s->psec);
	else if (s->vsize == 0 || s->vsize > VHDX_MAX_SIZE || s->vsize % s->lsec)
		rc = vimg_error_set(err, VIMG_ECORRUPT,
				    "vhdx: metadata: virtual disk size %" PRIu64
				    " is not a multiple of the sector size up to 64 TiB",
				    s->vsize);
	else if (s->has_parent && !loc_len)
		rc = vimg_error_set(err, VIMG_ECORRUPT,
				    "vhdx: metadata: differencing disk without a parent locator");
	else if (s->has_parent)
		rc = parse_locator(s, loc_off, loc_len, err);
out:
	free(t);
	return rc;
}

/* ---- open / close ---------------------------------------------------------------- */

static int vhdx_probe(const struct vimg_probe *p)
{
	return p->head_len >= 8 && !memcmp(p->head, VHDX_FILE_SIG, 8) ? 100 : 0;
}

static int vhdx_open(struct vimg_image *img, struct vimg_file *file, unsigned flags,
		     struct vimg_error *err)
{
	struct vhdx *s = vhdx_priv(img);
	uint8_t sig[8];
	int64_t fsz;
	int rc;

	s->img = img;
	s->file = file;
	s->writable = image_is_writable(img);
	fsz = file_size(file, err);
	if (fsz < 0)
		return (int)fsz;
	s->file_size = (uint64_t)fsz;
	if (s->file_size < 1 * MIB)
		return vimg_error_set(err, VIMG_EFORMAT, "vhdx: file too small (%" PRIu64 " bytes)",
				      s->file_size);
	rc = file_pread_full(file, sig, 8, 0, err);
	if (rc)
		return rc;
	if (memcmp(sig, VHDX_FILE_SIG, 8))
		return vimg_error_set(err, VIMG_EFORMAT,
				      "vhdx: file identifier: no \"vhdxfile\" signature (offset 0x0)");
	s->zero_buf = calloc(1, MIB);
	s->tmp_buf = malloc(MIB);
	if (!s->zero_buf || !s->tmp_buf)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	rc = load_headers(s, err);
	if (rc == 0 && memcmp(s->hdr.log_guid, zero_guid, 16))
		rc = vhdx_log_replay(s, err);
	if (rc == 0)
		rc = load_regions(s, err);
	if (rc == 0)
		rc = load_metadata(s, err);
	if (rc == 0)
		rc = vhdx_bat_load(s, err);
	if (rc)
		return rc;
	if (s->has_parent) {
		rc = image_set_backing(img, s->parent_path, "vhdx", err);
		if (rc)
			return rc;
	}
	image_set_size(img, s->vsize);
	image_set_cluster_size(img, s->block_size);
	return 0;
}

static void vhdx_close(struct vimg_image *img)
{
	struct vhdx *s = vhdx_priv(img);

	vhdx_log_free(s);
	free(s->bat);
	free(s->dirty);
	free(s->zero_buf);
	free(s->tmp_buf);
	s->bat = NULL;
	s->dirty = NULL;
	s->zero_buf = s->tmp_buf = NULL;
}

static int vhdx_backing_opened(struct vimg_image *img, struct vimg_image *parent,
			       struct vimg_error *err)
{
	struct vhdx *s = vhdx_priv(img), *ps;
	const char *fmt = vimg_image_format(parent);
	char a[40], b[40];

	if (!fmt || strcmp(fmt, "vhdx"))
		return vimg_error_set(err, VIMG_EBACKING, "vhdx: the parent is a %s image, not vhdx",
				      fmt ? fmt : "unknown");
	ps = image_priv(parent);
	s->parent_size = vimg_image_virtual_size(parent);
	if (memcmp(ps->hdr.data_write_guid, s->parent_linkage, 16)) {
		vhdx_guid_str(s->parent_linkage, a);
		vhdx_guid_str(ps->hdr.data_write_guid, b);
		return vimg_error_set(err, VIMG_EBACKING,
				      "vhdx: parent_linkage %s does not match the parent's data write "
				      "GUID %s",
				      a, b);
	}
	return 0;
}

static int vhdx_info(struct vimg_image *img, const struct vimg_emit *em, struct vimg_error *err)
{
	struct vhdx *s = vhdx_priv(img);
	char g[40];

	em->str(em->opaque, "subformat",
		s->has_parent ? "differencing" : s->leave_alloc ? "fixed" : "dynamic");
	em->u64(em->opaque, "block-size", s->block_size);
	em->u64(em->opaque, "logical-sector-size", s->lsec);
	em->u64(em->opaque, "physical-sector-size", s->psec);
	em->u64(em->opaque, "log-size", s->hdr.log_length);
	em->boolean(em->opaque, "leave-blocks-allocated", s->leave_alloc);
	vhdx_guid_str(s->hdr.data_write_guid, g);
	em->str(em->opaque, "data-write-guid", g);
	vhdx_guid_str(s->page83, g);
	em->str(em->opaque, "page83-identifier", g);
	if (s->has_parent) {
		vhdx_guid_str(s->parent_linkage, g);
		em->str(em->opaque, "parent-linkage", g);
	}
	if (s->replayed)
		em->boolean(em->opaque, "log-replayed", true);
	return 0;
}

static const char *const vhdx_extensions[] = { "vhdx", NULL };

const struct vimg_driver vimg_drv_vhdx = {
	.name = "vhdx",
	.description = "Microsoft Hyper-V VHDX: fixed, dynamic, differencing, with log",
	.extensions = vhdx_extensions,
	.priv_size = sizeof(struct vhdx),
	.features = VIMG_FEAT_BACKING,
	.thread_model = VIMG_THREAD_SERIALIZE,
	.create_opts = vhdx_create_opts,
	.probe = vhdx_probe,
	.open = vhdx_open,
	.backing_opened = vhdx_backing_opened,
	.set_backing = vhdx_set_backing,
	.close = vhdx_close,
	.block_status = vhdx_block_status,
	.read = vhdx_read,
	.write = vhdx_write,
	.zero = vhdx_zero,
	.resize = vhdx_resize,
	.amend = vhdx_amend,
	.flush = vhdx_flush,
	.create = vhdx_create,
	.check = vhdx_check,
	.info = vhdx_info,
};
