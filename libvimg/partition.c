/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Partition tables of a virtual disk, for vimgmount and vimg boot: the MBR
 * with its extended partitions (EBR chain), and GPT (UEFI 2.10 section 5.3).
 * Everything is read through vimg_image_read, so any format and backing chain
 * works. Invariants: no allocation size comes from the disk without a cap
 * (GPT_ENTRIES_MAX), the EBR walk ends after at most VIMG_PARTITION_MAX
 * sectors and refuses to revisit one, and every partition reported lies inside
 * the virtual disk (Linux block/partitions/{msdos,efi}.c behave the same way:
 * skip what starts past the end, truncate what runs past it).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "checked.h"
#include "endian.h"
#include "internal.h"

#define MBR_SECTOR 512u
#define MBR_SIGNATURE 0xaa55u
#define MBR_TYPE_GPT 0xee
#define MBR_LOGICAL_FIRST 5u

#define GPT_SIGNATURE "EFI PART"
#define GPT_HEADER_MIN 92u
#define GPT_ENTRY_MIN 128u
#define GPT_ENTRY_MAX 4096u
#define GPT_ENTRIES_MAX (4u << 20) /* bytes; the usual array is 16 KiB */
#define GPT_ATTR_LEGACY_BOOT (1ull << 2)

/* One walk over one disk. */
struct pt_ctx {
	struct vimg_image *img;
	uint64_t size; /* virtual size in bytes */
	int (*cb)(void *opaque, const struct vimg_partition *p);
	void *opaque;
};

/* One MBR or EBR slot (16 bytes at 0x1be + 16 * i), decoded. */
struct mbr_entry {
	uint8_t status;
	uint8_t type;
	uint32_t lba;
	uint32_t nsect;
};

/* A GPT header (UEFI 2.10 table 5.21), decoded. */
struct gpt_header {
	uint32_t revision;
	uint32_t header_size;
	uint64_t my_lba;
	uint64_t alt_lba;
	uint64_t first_usable;
	uint64_t last_usable;
	uint64_t entries_lba;
	uint32_t num_entries;
	uint32_t entry_size;
	uint32_t entries_crc;
};

static int pt_read(struct pt_ctx *c, void *buf, uint64_t off, size_t len, const char *what,
		   struct vimg_error *err)
{
	int rc = vimg_image_read(c->img, buf, off, len, err);
	if (rc < 0)
		vimg_error_prefix(err, "partition: reading %s (offset 0x%" PRIx64 ")", what, off);
	return rc;
}

/*
 * Report one partition after fitting it to the disk. Returns cb's value, or 0
 * when the partition was skipped.
 */
static int pt_emit(struct pt_ctx *c, struct vimg_partition *p, uint64_t start, uint64_t len)
{
	if (len == 0)
		return 0;
	if (start >= c->size) {
		vimg_log(1, "partition %u: starts past the end of the disk (offset 0x%" PRIx64
			    "), skipped", p->index, start);
		return 0;
	}
	if (len > c->size - start) {
		vimg_log(1, "partition %u: runs past the end of the disk, truncated to %" PRIu64
			    " bytes", p->index, c->size - start);
		len = c->size - start;
	}
	p->start = start;
	p->length = len;
	return c->cb ? c->cb(c->opaque, p) : 0;
}

/* ---- MBR and EBR ------------------------------------------------------- */

static void mbr_entry_decode(const uint8_t *sector, unsigned i, struct mbr_entry *e)
{
	const uint8_t *raw = sector + 0x1be + 16 * i;

	e->status = raw[0];
	e->type = raw[4];
	e->lba = ld_le32(raw + 8);
	e->nsect = ld_le32(raw + 12);
}

static bool mbr_is_extended(uint8_t type)
{
	return type == 0x05 || type == 0x0f || type == 0x85;
}

static bool mbr_entry_used(const struct mbr_entry *e)
{
	return e->type != 0 && e->nsect != 0;
}

static int mbr_emit(struct pt_ctx *c, unsigned index, const struct mbr_entry *e, uint64_t lba)
{
	struct vimg_partition p = {
		.index = index,
		.mbr_type = e->type,
		.bootable = e->status == 0x80,
	};
	return pt_emit(c, &p, lba * MBR_SECTOR, (uint64_t)e->nsect * MBR_SECTOR);
}

/*
 * Walk the EBR chain of the extended partition at [ext, ext + ext_len) sectors.
 * Each EBR holds one logical partition relative to itself and a link relative
 * to the extended partition's start. Logical indices continue from *next.
 */
static int ebr_walk(struct pt_ctx *c, uint64_t ext, uint64_t ext_len, unsigned *next,
		    struct vimg_error *err)
{
	uint64_t visited[VIMG_PARTITION_MAX];
	uint64_t disk_sectors = c->size / MBR_SECTOR;
	uint64_t cur = ext;
	uint8_t sector[MBR_SECTOR];
	struct mbr_entry data, link;

	for (unsigned n = 0;; n++) {
		uint64_t off = cur * MBR_SECTOR;

		if (n >= VIMG_PARTITION_MAX || *next > VIMG_PARTITION_MAX)
			return vimg_error_set(err, VIMG_ECORRUPT,
					      "partition: EBR chain: more than %u entries "
					      "(offset 0x%" PRIx64 ")", VIMG_PARTITION_MAX, off);
		for (unsigned k = 0; k < n; k++)
			if (visited[k] == cur)
				return vimg_error_set(err, VIMG_ECORRUPT,
						      "partition: EBR %u: chain loops back to "
						      "EBR %u (offset 0x%" PRIx64 ")", n, k, off);
		visited[n] = cur;
		if (cur >= disk_sectors)
			return vimg_error_set(err, VIMG_ECORRUPT,
					      "partition: EBR %u: beyond the end of the disk "
					      "(offset 0x%" PRIx64 ")", n, off);
		int rc = pt_read(c, sector, off, sizeof(sector), "EBR", err);
		if (rc < 0)
			return rc;
		if (ld_le16(sector + 510) != MBR_SIGNATURE)
			return vimg_error_set(err, VIMG_ECORRUPT,
					      "partition: EBR %u: bad signature 0x%04x "
					      "(offset 0x%" PRIx64 ")", n, ld_le16(sector + 510),
					      off + 510);
		mbr_entry_decode(sector, 0, &data);
		mbr_entry_decode(sector, 1, &link);

		if (mbr_entry_used(&data) && !mbr_is_extended(data.type)) {
			if (data.lba == 0) {
				vimg_log(1, "partition: EBR %u: logical partition overlaps its "
					    "EBR (offset 0x%" PRIx64 "), skipped", n, off);
			} else {
				rc = mbr_emit(c, (*next)++, &data, cur + data.lba);
				if (rc != 0)
					return rc;
			}
		}
		if (!mbr_entry_used(&link) || !mbr_is_extended(link.type))
			return 0;
		cur = ext + link.lba;
		if (link.lba >= ext_len)
			return vimg_error_set(err, VIMG_ECORRUPT,
					      "partition: EBR %u: next EBR outside the extended "
					      "partition (offset 0x%" PRIx64 ")", n, off + 0x1ce);
	}
}

static int mbr_parse(struct pt_ctx *c, const uint8_t *sector, struct vimg_error *err)
{
	struct mbr_entry e[4];
	unsigned next = MBR_LOGICAL_FIRST;
	int rc;

	for (unsigned i = 0; i < 4; i++)
		mbr_entry_decode(sector, i, &e[i]);
	/* Linux order: primaries 1-4 first, then the logicals of each extended one. */
	for (unsigned i = 0; i < 4; i++) {
		if (!mbr_entry_used(&e[i]) || mbr_is_extended(e[i].type))
			continue;
		if (e[i].lba == 0) {
			vimg_log(1, "partition %u: overlaps the MBR, skipped", i + 1);
			continue;
		}
		rc = mbr_emit(c, i + 1, &e[i], e[i].lba);
		if (rc != 0)
			return rc;
	}
	for (unsigned i = 0; i < 4; i++) {
		if (!mbr_entry_used(&e[i]) || !mbr_is_extended(e[i].type) || e[i].lba == 0)
			continue;
		rc = ebr_walk(c, e[i].lba, e[i].nsect, &next, err);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/*
 * Is sector 0 an MBR? Its four status bytes must be 0 or 0x80 (Linux's test),
 * and a volume boot sector (FAT or NTFS "superfloppy") with no entries is not.
 */
static bool mbr_looks_valid(const uint8_t *sector)
{
	bool any = false;

	if (ld_le16(sector + 510) != MBR_SIGNATURE)
		return false;
	for (unsigned i = 0; i < 4; i++) {
		struct mbr_entry e;
		mbr_entry_decode(sector, i, &e);
		if (e.status != 0 && e.status != 0x80)
			return false;
		any |= mbr_entry_used(&e);
	}
	return any || (sector[0] != 0xeb && sector[0] != 0xe9);
}

/* ---- GPT --------------------------------------------------------------- */

/* Append code point cp as UTF-8 if it fits (with the terminating NUL). */
static size_t utf8_put(char *out, size_t pos, size_t cap, uint32_t cp)
{
	uint8_t b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (uint8_t)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = 0xc0 | cp >> 6;
		b[1] = 0x80 | (cp & 0x3f);
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = 0xe0 | cp >> 12;
		b[1] = 0x80 | (cp >> 6 & 0x3f);
		b[2] = 0x80 | (cp & 0x3f);
		n = 3;
	} else {
		b[0] = 0xf0 | cp >> 18;
		b[1] = 0x80 | (cp >> 12 & 0x3f);
		b[2] = 0x80 | (cp >> 6 & 0x3f);
		b[3] = 0x80 | (cp & 0x3f);
		n = 4;
	}
	if (pos + n >= cap)
		return 0;
	memcpy(out + pos, b, n);
	return n;
}

/* The 36 UTF-16LE code units of a GPT name to UTF-8; bad surrogates become U+FFFD. */
static void gpt_name_decode(const uint8_t *raw, char *out, size_t cap)
{
	size_t pos = 0;

	for (unsigned i = 0; i < 36; i++) {
		uint32_t cp = ld_le16(raw + 2 * i);
		size_t n;

		if (cp == 0)
			break;
		if (cp >= 0xd800 && cp < 0xdc00 && i + 1 < 36) {
			uint32_t lo = ld_le16(raw + 2 * (i + 1));
			if (lo >= 0xdc00 && lo < 0xe000) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				i++;
			} else {
				cp = 0xfffd;
			}
		} else if (cp >= 0xd800 && cp < 0xe000) {
			cp = 0xfffd;
		}
		n = utf8_put(out, pos, cap, cp);
		if (n == 0)
			break;
		pos += n;
	}
	out[pos] = '\0';
}

static void gpt_header_decode(const uint8_t *raw, struct gpt_header *h)
{
	h->revision = ld_le32(raw + 8);
	h->header_size = ld_le32(raw + 12);
	h->my_lba = ld_le64(raw + 24);
	h->alt_lba = ld_le64(raw + 32);
	h->first_usable = ld_le64(raw + 40);
	h->last_usable = ld_le64(raw + 48);
	h->entries_lba = ld_le64(raw + 72);
	h->num_entries = ld_le32(raw + 80);
	h->entry_size = ld_le32(raw + 84);
	h->entries_crc = ld_le32(raw + 88);
}

/*
 * Read and check the GPT header at `lba` and its entry array (*entries, which
 * the caller frees). `what` is "GPT header" or "backup GPT header" for
 * messages. *crc_ok tells whether the header itself passed its CRC, so that
 * its alternate LBA can be trusted.
 */
static int gpt_load(struct pt_ctx *c, uint32_t ss, uint64_t lba, const char *what,
		    struct gpt_header *h, uint8_t **entries, bool *crc_ok, struct vimg_error *err)
{
	uint64_t sectors = c->size / ss;
	uint64_t off = lba * ss, eoff, ebytes, eend;
	uint8_t raw[4096];
	uint32_t crc;
	int rc;

	*entries = NULL;
	*crc_ok = false;
	if (lba == 0 || lba >= sectors)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "partition: %s: LBA %" PRIu64 " outside the disk", what, lba);
	rc = pt_read(c, raw, off, ss, what, err);
	if (rc < 0)
		return rc;
	if (memcmp(raw, GPT_SIGNATURE, 8) != 0)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "partition: %s: bad signature (offset 0x%" PRIx64 ")", what, off);
	gpt_header_decode(raw, h);
	if (h->header_size < GPT_HEADER_MIN || h->header_size > ss)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "partition: %s: header size %" PRIu32 " out of range "
				      "(offset 0x%" PRIx64 ")", what, h->header_size, off + 12);
	crc = ld_le32(raw + 16);
	memset(raw + 16, 0, 4);
	if ((uint32_t)crc32(0, raw, h->header_size) != crc)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "partition: %s: header CRC mismatch (offset 0x%" PRIx64 ")",
				      what, off);
	*crc_ok = true;
	if (h->revision >> 16 != 1)
		return vimg_error_set(err, VIMG_EUNSUPPORTED,
				      "partition: %s: revision 0x%08" PRIx32 " (offset 0x%" PRIx64 ")",
				      what, h->revision, off + 8);
	if (h->my_lba != lba)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "partition: %s: records LBA %" PRIu64 " but lies at LBA %" PRIu64
				      " (offset 0x%" PRIx64 ")", what, h->my_lba, lba, off + 24);
	if (h->first_usable > h->last_usable || h->last_usable >= sectors)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "partition: %s: usable LBAs %" PRIu64 "-%" PRIu64
				      " do not fit the disk (offset 0x%" PRIx64 ")", what,
				      h->first_usable, h->last_usable, off + 40);
	if (h->entry_size < GPT_ENTRY_MIN || h->entry_size > GPT_ENTRY_MAX || !is_pow2(h->entry_size))
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "partition: %s: entry size %" PRIu32 " invalid (offset 0x%" PRIx64
				      ")", what, h->entry_size, off + 84);
	char label[64];
	snprintf(label, sizeof(label), "partition: %s: entries count", what);
	rc = vimg_alloc_table(h->num_entries, h->entry_size, GPT_ENTRIES_MAX, label,
			      (void **)entries, err);
	if (rc < 0)
		return rc;
	ebytes = (uint64_t)h->num_entries * h->entry_size;
	if (ck_mul(h->entries_lba, ss, &eoff) || ck_add(eoff, ebytes, &eend) || eend > c->size ||
	    h->entries_lba < 2)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "partition: %s: entries at LBA %" PRIu64 " outside the disk "
				      "(offset 0x%" PRIx64 ")", what, h->entries_lba, off + 72);
	rc = pt_read(c, *entries, eoff, ebytes, "GPT entries", err);
	if (rc < 0)
		return rc;
	if ((uint32_t)crc32(0, *entries, (uInt)ebytes) != h->entries_crc)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "partition: %s: entries CRC mismatch (offset 0x%" PRIx64 ")",
				      what, off);
	return 0;
}

static int gpt_walk(struct pt_ctx *c, uint32_t ss, const struct gpt_header *h,
		    const uint8_t *entries)
{
	static const uint8_t unused[16];

	for (uint32_t i = 0; i < h->num_entries; i++) {
		const uint8_t *e = entries + (uint64_t)i * h->entry_size;
		uint64_t first = ld_le64(e + 32), last = ld_le64(e + 40), start, len;
		struct vimg_partition p = { .index = i + 1 };

		if (memcmp(e, unused, 16) == 0)
			continue;
		if (p.index > VIMG_PARTITION_MAX) {
			vimg_log(1, "partition: GPT entry %" PRIu32 ": beyond %u partitions, "
				    "ignored", i, VIMG_PARTITION_MAX);
			break;
		}
		if (first > last || ck_mul(first, ss, &start) || ck_mul(last - first + 1, ss, &len)) {
			vimg_log(1, "partition %u: GPT LBAs %" PRIu64 "-%" PRIu64 " invalid, skipped",
				 p.index, first, last);
			continue;
		}
		if (first < h->first_usable || last > h->last_usable)
			vimg_log(1, "partition %u: outside the GPT usable LBAs", p.index);
		id_guid_format(e, true, p.gpt_type);
		id_guid_format(e + 16, true, p.gpt_uuid);
		gpt_name_decode(e + 56, p.name, sizeof(p.name));
		p.bootable = (ld_le64(e + 48) & GPT_ATTR_LEGACY_BOOT) != 0;
		int rc = pt_emit(c, &p, start, len);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* GPT sector size: 512, or 4096 when the header is found there instead. */
static int gpt_sector_size(struct pt_ctx *c, uint32_t *ss, struct vimg_error *err)
{
	uint8_t sig[8];
	int rc;

	*ss = MBR_SECTOR;
	if (c->size < 2 * MBR_SECTOR)
		return 0;
	rc = pt_read(c, sig, MBR_SECTOR, sizeof(sig), "GPT header", err);
	if (rc < 0 || memcmp(sig, GPT_SIGNATURE, 8) == 0 || c->size < 2 * 4096)
		return rc;
	rc = pt_read(c, sig, 4096, sizeof(sig), "GPT header", err);
	if (rc == 0 && memcmp(sig, GPT_SIGNATURE, 8) == 0)
		*ss = 4096;
	return rc;
}

static int gpt_parse(struct pt_ctx *c, struct vimg_error *err)
{
	struct vimg_error perr = VIMG_ERROR_INIT, berr = VIMG_ERROR_INIT;
	struct gpt_header h;
	uint8_t *entries = NULL;
	uint64_t backup[2];
	unsigned nbackup = 0;
	uint32_t ss;
	bool crc_ok;
	int rc;

	rc = gpt_sector_size(c, &ss, err);
	if (rc < 0)
		return rc;
	rc = gpt_load(c, ss, 1, "GPT header", &h, &entries, &crc_ok, &perr);
	if (rc == 0) {
		rc = gpt_walk(c, ss, &h, entries);
		free(entries);
		return rc;
	}
	free(entries);
	if (rc != VIMG_ECORRUPT && rc != VIMG_EUNSUPPORTED) {
		*err = perr; /* an I/O or memory failure is not a reason to try the backup */
		return rc;
	}
	/* UEFI 2.10 5.3.2: the primary names its backup; else the last LBA holds it. */
	if (crc_ok && h.alt_lba != 1)
		backup[nbackup++] = h.alt_lba;
	if (c->size / ss > 1 && (nbackup == 0 || backup[0] != c->size / ss - 1))
		backup[nbackup++] = c->size / ss - 1;
	for (unsigned i = 0; i < nbackup; i++) {
		vimg_error_clear(&berr);
		entries = NULL;
		rc = gpt_load(c, ss, backup[i], "backup GPT header", &h, &entries, &crc_ok, &berr);
		if (rc == 0) {
			vimg_log(1, "%s; using the backup GPT header", perr.msg);
			rc = gpt_walk(c, ss, &h, entries);
			free(entries);
			return rc;
		}
		free(entries);
	}
	if (nbackup == 0)
		return vimg_error_set(err, perr.code, "%s", perr.msg);
	return vimg_error_set(err, perr.code, "%s, and %s", perr.msg,
			      strncmp(berr.msg, "partition: ", 11) == 0 ? berr.msg + 11 : berr.msg);
}

/* ---- entry point ------------------------------------------------------- */

int vimg_image_partitions(struct vimg_image *img,
			  int (*cb)(void *opaque, const struct vimg_partition *p),
			  void *opaque, const char **scheme, struct vimg_error *err)
{
	struct pt_ctx c = { .img = img, .cb = cb, .opaque = opaque };
	uint8_t sector[MBR_SECTOR];
	bool gpt = false;
	int rc;

	if (scheme)
		*scheme = NULL;
	if (!image_valid(img))
		return vimg_error_set(err, VIMG_EINVAL, "vimg_image_partitions: invalid image");
	c.size = vimg_image_virtual_size(img);
	if (c.size < MBR_SECTOR)
		return 0;
	rc = pt_read(&c, sector, 0, sizeof(sector), "MBR", err);
	if (rc < 0)
		return rc;
	if (ld_le16(sector + 510) != MBR_SIGNATURE)
		return 0;
	for (unsigned i = 0; i < 4; i++) {
		struct mbr_entry e;
		mbr_entry_decode(sector, i, &e);
		gpt |= e.type == MBR_TYPE_GPT;
	}
	if (gpt) {
		if (scheme)
			*scheme = "gpt";
		return gpt_parse(&c, err);
	}
	if (!mbr_looks_valid(sector))
		return 0;
	if (scheme)
		*scheme = "mbr";
	return mbr_parse(&c, sector, err);
}
