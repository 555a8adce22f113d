/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qcow2 driver: probe, header and header-extension decoding and validation
 * (qemu docs/interop/qcow2.txt "Header", "Header extensions", "Feature name
 * table"), open/close, flush, info and the driver table.
 *
 * Invariants after a successful open: the cluster size is 512 B..2 MiB, the L1
 * table is cluster-aligned, inside the file, outside the header cluster and
 * large enough for the virtual size; the refcount table likewise; no unknown
 * incompatible feature is set. Opening read-only never writes.
 */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "endian.h"
#include "luks.h"
#include "qcow2.h"

static int qcow2_probe(const struct vimg_probe *p)
{
	uint32_t v;

	if (p->head_len < 8 || ld_be32(p->head) != QCOW2_MAGIC)
		return 0;
	v = ld_be32(p->head + 4);
	return (v == 2 || v == 3) ? 100 : 0;
}

void qcow2_header_decode(const struct qcow2_header_disk *d, struct qcow2_header *h)
{
	h->magic = ld_be32(d->magic);
	h->version = ld_be32(d->version);
	h->backing_file_offset = ld_be64(d->backing_file_offset);
	h->backing_file_size = ld_be32(d->backing_file_size);
	h->cluster_bits = ld_be32(d->cluster_bits);
	h->size = ld_be64(d->size);
	h->crypt_method = ld_be32(d->crypt_method);
	h->l1_size = ld_be32(d->l1_size);
	h->l1_table_offset = ld_be64(d->l1_table_offset);
	h->refcount_table_offset = ld_be64(d->refcount_table_offset);
	h->refcount_table_clusters = ld_be32(d->refcount_table_clusters);
	h->nb_snapshots = ld_be32(d->nb_snapshots);
	h->snapshots_offset = ld_be64(d->snapshots_offset);
	if (h->version >= 3) {
		h->incompatible_features = ld_be64(d->incompatible_features);
		h->compatible_features = ld_be64(d->compatible_features);
		h->autoclear_features = ld_be64(d->autoclear_features);
		h->refcount_order = ld_be32(d->refcount_order);
		h->header_length = ld_be32(d->header_length);
		/* qcow2.txt "Additional fields": absent when header_length <= 104. */
		h->compression_type = h->header_length > 104 ? d->compression_type : 0;
	} else {
		h->incompatible_features = 0;
		h->compatible_features = 0;
		h->autoclear_features = 0;
		h->refcount_order = 4;
		h->header_length = QCOW2_V2_HEADER_LEN;
		h->compression_type = 0;
	}
}

void qcow2_header_encode(const struct qcow2_header *h, struct qcow2_header_disk *d)
{
	memset(d, 0, sizeof(*d));
	st_be32(d->magic, QCOW2_MAGIC);
	st_be32(d->version, h->version);
	st_be64(d->backing_file_offset, h->backing_file_offset);
	st_be32(d->backing_file_size, h->backing_file_size);
	st_be32(d->cluster_bits, h->cluster_bits);
	st_be64(d->size, h->size);
	st_be32(d->crypt_method, h->crypt_method);
	st_be32(d->l1_size, h->l1_size);
	st_be64(d->l1_table_offset, h->l1_table_offset);
	st_be64(d->refcount_table_offset, h->refcount_table_offset);
	st_be32(d->refcount_table_clusters, h->refcount_table_clusters);
	st_be32(d->nb_snapshots, h->nb_snapshots);
	st_be64(d->snapshots_offset, h->snapshots_offset);
	if (h->version >= 3) {
		st_be64(d->incompatible_features, h->incompatible_features);
		st_be64(d->compatible_features, h->compatible_features);
		st_be64(d->autoclear_features, h->autoclear_features);
		st_be32(d->refcount_order, h->refcount_order);
		st_be32(d->header_length, h->header_length);
		d->compression_type = h->compression_type;
	}
}

void qcow2_set_geometry(struct qcow2 *s)
{
	s->cluster_bits = s->h.cluster_bits;
	s->cluster_size = 1ull << s->cluster_bits;
	s->ext_l2 = s->h.incompatible_features & QCOW2_INCOMPAT_EXTL2;
	s->l2_entry_size = s->ext_l2 ? 16 : 8;
	s->l2_bits = s->cluster_bits - (s->ext_l2 ? 4 : 3);
	s->l2_entries = 1ull << s->l2_bits;
	s->subcluster_size = s->ext_l2 ? s->cluster_size / QCOW2_SUBCLUSTERS : s->cluster_size;
	/* qcow2.txt "Compressed Clusters Descriptor": x = 62 - (cluster_bits - 8). */
	s->csize_shift = 62 - (s->cluster_bits - 8);
	s->csize_mask = (1ull << (s->cluster_bits - 8)) - 1;
	s->coffset_mask = (1ull << s->csize_shift) - 1;
	s->refcount_bits = 1u << s->h.refcount_order;
	s->rb_entries = s->cluster_size * 8 / s->refcount_bits;
	s->refcount_max = s->refcount_bits == 64 ? UINT64_MAX : (1ull << s->refcount_bits) - 1;
}

int qcow2_write_incompat(struct qcow2 *s, struct vimg_error *err)
{
	uint8_t b[8];

	st_be64(b, s->h.incompatible_features);
	return file_pwrite_full(s->file, b, 8, QCOW2_HDR_INCOMPAT, err);
}

int qcow2_write_size_l1(struct qcow2 *s, uint64_t size, uint32_t l1_size, uint64_t l1_off,
			struct vimg_error *err)
{
	uint8_t b[24];
	int rc;

	st_be64(b, size);
	st_be32(b + 8, s->h.crypt_method);
	st_be32(b + 12, l1_size);
	st_be64(b + 16, l1_off);
	rc = file_pwrite_full(s->file, b, sizeof(b), QCOW2_HDR_SIZE, err);
	if (rc == 0)
		rc = file_fsync(s->file, err);
	if (rc == 0) {
		s->h.size = size;
		s->h.l1_size = l1_size;
		s->h.l1_table_offset = l1_off;
	}
	return rc;
}

void qcow2_note_file_end(struct qcow2 *s, struct vimg_file *f, uint64_t end)
{
	if (f == s->file && end > s->file_size)
		s->file_size = end;
	if (f == s->data_file && end > s->data_file_size)
		s->data_file_size = end;
}

/* Range [off, off+len) lies inside the file and does not touch the header cluster. */
static int check_table(struct qcow2 *s, const char *what, uint64_t off, uint64_t len,
		       struct vimg_error *err)
{
	uint64_t end;

	if (off & (s->cluster_size - 1))
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "qcow2: %s: offset not cluster-aligned (offset 0x%" PRIx64 ")",
				      what, off);
	if (off < s->cluster_size)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "qcow2: %s: overlaps the header (offset 0x%" PRIx64 ")", what,
				      off);
	if (ck_add(off, len, &end) || end > s->file_size)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "qcow2: %s: beyond end of file (offset 0x%" PRIx64
				      ", file size 0x%" PRIx64 ")",
				      what, off, s->file_size);
	return 0;
}

static char *dup_bytes(const uint8_t *p, size_t n)
{
	char *r = malloc(n + 1);

	if (r) {
		memcpy(r, p, n);
		r[n] = 0;
	}
	return r;
}

/* qcow2.txt "Header extensions": walk the extensions in the first cluster. */
static int parse_extensions(struct qcow2 *s, struct vimg_error *err)
{
	uint64_t pos = s->h.header_length, end = s->cluster_size;
	const uint8_t *c = s->hdr_cluster;

	if (s->h.backing_file_offset && s->h.backing_file_offset < end)
		end = s->h.backing_file_offset;
	while (pos + 8 <= end) {
		uint32_t type = ld_be32(c + pos), len = ld_be32(c + pos + 4);
		const uint8_t *data = c + pos + 8;

		if (type == QCOW2_EXT_END)
			return 0;
		if (len > end - pos - 8)
			return vimg_error_set(err, VIMG_ECORRUPT,
					      "qcow2: header extension 0x%08x: length %u exceeds the "
					      "header area (offset 0x%" PRIx64 ")",
					      type, len, pos);
		switch (type) {
		case QCOW2_EXT_BACKING_FORMAT:
			if (len == 0 || len > 1023 || memchr(data, 0, len))
				return vimg_error_set(err, VIMG_ECORRUPT,
						      "qcow2: backing format extension: invalid name "
						      "(offset 0x%" PRIx64 ")",
						      pos);
			free(s->backing_fmt);
			if (!(s->backing_fmt = dup_bytes(data, len)))
				return vimg_error_set(err, VIMG_ENOMEM, "qcow2: out of memory");
			break;
		case QCOW2_EXT_DATA_FILE:
			if (len == 0 || len > 4095 || memchr(data, 0, len))
				return vimg_error_set(err, VIMG_ECORRUPT,
						      "qcow2: data file extension: invalid name "
						      "(offset 0x%" PRIx64 ")",
						      pos);
			free(s->data_file_name);
			if (!(s->data_file_name = dup_bytes(data, len)))
				return vimg_error_set(err, VIMG_ENOMEM, "qcow2: out of memory");
			break;
		case QCOW2_EXT_FEATURE_TABLE:
			for (uint32_t i = 0; i + 48 <= len; i += 48) {
				if (data[i] == 0 && data[i + 1] < 64) {
					memcpy(s->incompat_names[data[i + 1]], data + i + 2, 46);
					s->incompat_names[data[i + 1]][46] = 0;
				}
			}
			break;
		case QCOW2_EXT_CRYPTO:
			if (len < 16)
				return vimg_error_set(err, VIMG_ECORRUPT,
						      "qcow2: crypto header extension: %u bytes "
						      "(offset 0x%" PRIx64 ")", len, pos);
			s->crypto_off = ld_be64(data);
			s->crypto_len = ld_be64(data + 8);
			break;
		case QCOW2_EXT_BITMAPS:
			/* Kept as is: rewrites never touch the extension area. */
			s->has_bitmaps_ext = true;
			break;
		default:
			break;
		}
		pos += 8 + ((uint64_t)len + 7) / 8 * 8;
	}
	return 0;
}

static int check_features(struct qcow2 *s, struct vimg_error *err)
{
	const struct qcow2_header *h = &s->h;
	uint64_t unknown = h->incompatible_features & ~QCOW2_INCOMPAT_KNOWN;

	if (h->crypt_method == 2 && !s->crypto_len)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "qcow2: LUKS encryption without a crypto header extension");
	if (h->crypt_method > 2 || (h->crypt_method == 0 && s->crypto_len))
		return vimg_error_set(err, VIMG_ECORRUPT, "qcow2: encryption method %u%s",
				      h->crypt_method, s->crypto_len ? " with a crypto extension" : "");
	if (h->crypt_method == 1)
		return vimg_error_set(err, VIMG_EUNSUPPORTED,
				      "qcow2: the legacy AES encryption (method 1) is not supported; "
				      "qemu no longer writes it either");
	if (unknown) {
		unsigned bit = (unsigned)__builtin_ctzll(unknown);

		if (s->incompat_names[bit][0])
			return vimg_error_set(err, VIMG_EUNSUPPORTED,
					      "qcow2: unsupported incompatible feature bit %u (%s)", bit,
					      s->incompat_names[bit]);
		return vimg_error_set(err, VIMG_EUNSUPPORTED,
				      "qcow2: unsupported incompatible feature bit %u", bit);
	}
	if (h->incompatible_features & QCOW2_INCOMPAT_COMPRESSION) {
		if (h->header_length <= 104 || h->compression_type == 0)
			return vimg_error_set(err, VIMG_ECORRUPT,
					      "qcow2: header: compression type bit set but "
					      "compression_type is zlib (offset 0x68)");
	} else if (h->compression_type != 0) {
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "qcow2: header: compression_type %u without the compression "
				      "type bit (offset 0x68)",
				      h->compression_type);
	}
	if (h->compression_type > QCOW2_COMPRESSION_ZSTD)
		return vimg_error_set(err, VIMG_EUNSUPPORTED,
				      "qcow2: unknown compression type %u", h->compression_type);
#if !HAVE_ZSTD
	if (h->compression_type == QCOW2_COMPRESSION_ZSTD)
		return vimg_error_set(err, VIMG_EUNSUPPORTED,
				      "qcow2: zstd compression needs libzstd (not built in)");
#endif
	if (s->ext_l2 && s->cluster_bits < 14)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "qcow2: header: extended L2 entries need clusters of at least "
				      "16 KiB (cluster_bits %u)",
				      s->cluster_bits);
	if (qcow2_has_data_file(s) && !s->data_file_name)
		return vimg_error_set(err, VIMG_EUNSUPPORTED,
				      "qcow2: external data file without a name extension is not "
				      "supported");
	return 0;
}

static int validate_header(struct qcow2 *s, struct vimg_error *err)
{
	const struct qcow2_header *h = &s->h;
	uint64_t need_l1, end;

	if (h->magic != QCOW2_MAGIC)
		return vimg_error_set(err, VIMG_EFORMAT, "qcow2: header: bad magic");
	if (h->version != 2 && h->version != 3)
		return vimg_error_set(err, VIMG_EUNSUPPORTED, "qcow2: header: version %u",
				      h->version);
	if (h->cluster_bits < QCOW2_MIN_CLUSTER_BITS || h->cluster_bits > QCOW2_MAX_CLUSTER_BITS)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "qcow2: header: cluster_bits %u out of range 9..21 (offset 0x14)",
				      h->cluster_bits);
	if (h->version == 3 && (h->header_length < QCOW2_V3_HEADER_LEN || h->header_length % 8 ||
				h->header_length > (1u << h->cluster_bits)))
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "qcow2: header: invalid header_length %u (offset 0x64)",
				      h->header_length);
	if (h->refcount_order > 6)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "qcow2: header: refcount_order %u exceeds 6 (offset 0x60)",
				      h->refcount_order);
	if (h->size > QCOW2_MAX_VIRTUAL_SIZE)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "qcow2: header: virtual size %" PRIu64
				      " exceeds the limit of 2^61 bytes (offset 0x18)",
				      h->size);
	qcow2_set_geometry(s);

	/* L1 table: bounded, inside the file, and large enough for the disk. */
	if ((uint64_t)h->l1_size * 8 > QCOW2_MAX_L1_BYTES)
		return vimg_error_set(err, VIMG_ECORRUPT, "qcow2: L1 size %u exceeds limit",
				      h->l1_size);
	need_l1 = qcow2_l1_entries_for(s, h->size);
	if (h->l1_size < need_l1)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "qcow2: L1 table: %u entries are too few for virtual size %" PRIu64
				      " (need %" PRIu64 ")",
				      h->l1_size, h->size, need_l1);
	if (h->l1_size && check_table(s, "L1 table", h->l1_table_offset,
				      (uint64_t)h->l1_size * 8, err))
		return err ? err->code : VIMG_ECORRUPT;

	if (h->refcount_table_clusters == 0)
		return vimg_error_set(err, VIMG_ECORRUPT, "qcow2: refcount table: no clusters");
	if ((uint64_t)h->refcount_table_clusters << s->cluster_bits > QCOW2_MAX_RT_BYTES)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "qcow2: refcount table: %u clusters exceeds limit",
				      h->refcount_table_clusters);
	if (check_table(s, "refcount table", h->refcount_table_offset,
			(uint64_t)h->refcount_table_clusters << s->cluster_bits, err))
		return err ? err->code : VIMG_ECORRUPT;

	if (h->nb_snapshots > QCOW2_MAX_SNAPSHOTS)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "qcow2: snapshot table: %u snapshots exceeds limit",
				      h->nb_snapshots);
	if (h->nb_snapshots && check_table(s, "snapshot table", h->snapshots_offset, 1, err))
		return err ? err->code : VIMG_ECORRUPT;

	if (h->backing_file_offset) {
		if (h->backing_file_size == 0 || h->backing_file_size > QCOW2_MAX_BACKING_NAME)
			return vimg_error_set(err, VIMG_ECORRUPT,
					      "qcow2: backing file name: length %u out of range 1..1023 "
					      "(offset 0x10)",
					      h->backing_file_size);
		if (ck_add(h->backing_file_offset, h->backing_file_size, &end) ||
		    end > s->cluster_size || h->backing_file_offset < h->header_length)
			return vimg_error_set(err, VIMG_ECORRUPT,
					      "qcow2: backing file name: outside the header cluster "
					      "(offset 0x%" PRIx64 ")",
					      h->backing_file_offset);
	}
	return 0;
}

static int load_l1(struct qcow2 *s, struct vimg_error *err)
{
	uint8_t *raw = NULL;
	int rc;

	s->l1_size = s->h.l1_size;
	s->l1_offset = s->h.l1_table_offset;
	rc = vimg_alloc_table(s->l1_size ? s->l1_size : 1, sizeof(uint64_t), QCOW2_MAX_L1_BYTES,
			      "qcow2: L1 size", (void **)&s->l1, err);
	if (rc)
		return rc;
	if (!s->l1_size)
		return 0;
	raw = malloc((size_t)s->l1_size * 8);
	if (!raw)
		return vimg_error_set(err, VIMG_ENOMEM, "qcow2: out of memory for the L1 table");
	rc = file_pread_full(s->file, raw, (size_t)s->l1_size * 8, s->l1_offset, err);
	if (rc == 0)
		for (uint32_t i = 0; i < s->l1_size; i++)
			s->l1[i] = ld_be64(raw + 8 * (size_t)i);
	free(raw);
	return rc;
}

static int open_data_file(struct vimg_image *img, struct qcow2 *s, struct vimg_error *err)
{
	int64_t sz;
	int rc;

	s->data_file = s->file;
	if (!qcow2_has_data_file(s))
		return 0;
	rc = image_open_sibling(img, s->data_file_name, s->writable, &s->data_file, err);
	if (rc) {
		s->data_file = s->file;
		return vimg_error_prefix(err, "qcow2: data file \"%s\"", s->data_file_name);
	}
	s->own_data_file = true;
	sz = file_size(s->data_file, err);
	if (sz < 0)
		return (int)sz;
	s->data_file_size = (uint64_t)sz;
	return 0;
}

/* Writable open: clear unknown autoclear bits (qcow2.txt "autoclear_features"). */
static int clear_autoclear(struct qcow2 *s, struct vimg_error *err)
{
	uint64_t keep = s->h.autoclear_features;
	uint8_t b[8];

	/* We do not maintain bitmaps, so their consistency bit goes too. */
	keep &= QCOW2_AUTOCLEAR_DATA_FILE_RAW;
	if (!qcow2_has_data_file(s))
		keep = 0;
	if (keep == s->h.autoclear_features)
		return 0;
	s->h.autoclear_features = keep;
	st_be64(b, keep);
	return file_pwrite_full(s->file, b, 8, QCOW2_HDR_AUTOCLEAR, err);
}

static int qcow2_open(struct vimg_image *img, struct vimg_file *file, unsigned flags,
		      struct vimg_error *err)
{
	struct qcow2 *s = qcow2_priv(img);
	struct qcow2_header_disk d;
	int64_t fsz;
	int rc;

	s->img = img;
	s->file = file;
	s->data_file = file;
	s->writable = image_is_writable(img);
	fsz = file_size(file, err);
	if (fsz < 0)
		return (int)fsz;
	s->file_size = (uint64_t)fsz;
	if (s->file_size < QCOW2_V2_HEADER_LEN)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "qcow2: header: file too small (%" PRIu64 " bytes)",
				      s->file_size);
	rc = file_pread_zeroed(file, &d, sizeof(d), 0, err);
	if (rc)
		return rc;
	qcow2_header_decode(&d, &s->h);
	rc = validate_header(s, err);
	if (rc)
		return rc;
	s->hdr_cluster = malloc(s->cluster_size);
	if (!s->hdr_cluster)
		return vimg_error_set(err, VIMG_ENOMEM, "qcow2: out of memory");
	rc = file_pread_zeroed(file, s->hdr_cluster, s->cluster_size, 0, err);
	if (rc)
		return rc;
	rc = parse_extensions(s, err);
	if (rc == 0)
		rc = check_features(s, err);
	if (rc == 0 && s->h.crypt_method == 2)
		rc = qcow2_crypto_open(img, s, err);
	if (rc == 0)
		rc = load_l1(s, err);
	if (rc == 0)
		rc = qcow2_snapshots_load(s, err);
	if (rc)
		return rc;

	if (s->h.backing_file_offset) {
		char name[QCOW2_MAX_BACKING_NAME + 1];

		memcpy(name, s->hdr_cluster + s->h.backing_file_offset, s->h.backing_file_size);
		name[s->h.backing_file_size] = 0;
		if (strlen(name) != s->h.backing_file_size)
			return vimg_error_set(err, VIMG_ECORRUPT,
					      "qcow2: backing file name: contains a NUL byte (offset "
					      "0x%" PRIx64 ")",
					      s->h.backing_file_offset);
		rc = image_set_backing(img, name, s->backing_fmt, err);
		if (rc)
			return rc;
	}
	rc = open_data_file(img, s, err);
	if (rc)
		return rc;
	image_set_size(img, s->h.size);
	image_set_cluster_size(img, (uint32_t)s->cluster_size);
	if (!s->writable)
		return 0;

	if ((s->h.incompatible_features & QCOW2_INCOMPAT_CORRUPT) && !(flags & VIMG_OPEN_CHECK))
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "qcow2: image is marked corrupt; use vimg check -r all");
	rc = qcow2_refcount_init(s, err);
	if (rc == 0)
		rc = clear_autoclear(s, err);
	if (rc)
		return rc;
	if ((s->h.incompatible_features & QCOW2_INCOMPAT_DIRTY) && !(flags & VIMG_OPEN_CHECK)) {
		/* qcow2.txt "Dirty bit": repair refcounts before accessing the image. */
		rc = qcow2_repair_refcounts(s, err);
		if (rc)
			return vimg_error_prefix(err, "qcow2: repairing a dirty image");
		s->h.incompatible_features &= ~QCOW2_INCOMPAT_DIRTY;
		rc = qcow2_write_incompat(s, err);
		if (rc == 0)
			rc = file_fsync(s->file, err);
	}
	return rc;
}

static void qcow2_close(struct vimg_image *img)
{
	struct qcow2 *s = qcow2_priv(img);

	if (!s)
		return;
	qcow2_cache_free(&s->l2c);
	qcow2_cache_free(&s->rbc);
	free(s->l1);
	free(s->rt);
	free(s->dc_buf);
	if (s->is_view && s->parent)
		__atomic_fetch_sub(&s->parent->views, 1, __ATOMIC_RELEASE);
	if (!s->is_view) {
		luks_close(s->luks);
		if (s->own_data_file)
			file_close(s->data_file);
		free(s->hdr_cluster);
		free(s->backing_fmt);
		free(s->data_file_name);
		qcow2_snapshots_free(s);
	}
	memset(s, 0, sizeof(*s));
}

static int qcow2_flush(struct vimg_image *img, struct vimg_error *err)
{
	struct qcow2 *s = qcow2_priv(img);
	int rc = 0;

	if (!s->writable)
		return 0;
	rc = qcow2_cache_flush(s, err);
	if (rc == 0 && s->own_data_file)
		rc = file_fsync(s->data_file, err);
	if (rc == 0 && s->dirty_set) {
		/* Refcounts are always kept exact, so the dirty bit can simply go. */
		rc = file_fsync(s->file, err);
		s->h.incompatible_features &= ~QCOW2_INCOMPAT_DIRTY;
		if (rc == 0)
			rc = qcow2_write_incompat(s, err);
		if (rc == 0)
			s->dirty_set = false;
	}
	return rc;
}

static int qcow2_info(struct vimg_image *img, const struct vimg_emit *em, struct vimg_error *err)
{
	struct qcow2 *s = qcow2_priv(img);
	const struct qcow2_header *h = &s->h;

	em->str(em->opaque, "compat", h->version >= 3 ? "1.1" : "0.10");
	em->str(em->opaque, "compression-type",
		h->compression_type == QCOW2_COMPRESSION_ZSTD ? "zstd" : "zlib");
	em->boolean(em->opaque, "lazy-refcounts",
		    h->compatible_features & QCOW2_COMPAT_LAZY_REFCOUNTS);
	em->u64(em->opaque, "refcount-bits", s->refcount_bits);
	em->boolean(em->opaque, "corrupt", h->incompatible_features & QCOW2_INCOMPAT_CORRUPT);
	em->boolean(em->opaque, "extended-l2", s->ext_l2);
	if (h->incompatible_features & QCOW2_INCOMPAT_DIRTY)
		em->boolean(em->opaque, "dirty", true);
	if (qcow2_has_data_file(s)) {
		em->str(em->opaque, "data-file", s->data_file_name);
		em->boolean(em->opaque, "data-file-raw", qcow2_data_file_raw(s));
	}
	if (s->has_bitmaps_ext)
		em->boolean(em->opaque, "bitmaps", true);
	if (s->luks)
		qcow2_crypto_info(s, em);
	return 0;
}

static int qcow2_files(struct vimg_image *img, int (*cb)(void *opaque, const char *path),
		       void *opaque, struct vimg_error *err)
{
	struct qcow2 *s = qcow2_priv(img);

	if (s->own_data_file)
		return cb(opaque, vimg_file_path(s->data_file));
	return 0;
}

static const char *const qcow2_extensions[] = { "qcow2", "qcow", "img", NULL };

const struct vimg_driver vimg_drv_qcow2 = {
	.name = "qcow2",
	.description = "QEMU copy-on-write v2/v3",
	.extensions = qcow2_extensions,
	.priv_size = sizeof(struct qcow2),
	.features = VIMG_FEAT_BACKING | VIMG_FEAT_REPAIR | VIMG_FEAT_MULTI_FILE,
	.thread_model = VIMG_THREAD_SERIALIZE,
	.create_opts = qcow2_create_opts,
	.probe = qcow2_probe,
	.open = qcow2_open,
	.close = qcow2_close,
	.block_status = qcow2_block_status,
	.read = qcow2_read,
	.write = qcow2_write,
	.compress = qcow2_compress,
	.write_compressed = qcow2_write_compressed,
	.zero = qcow2_zero,
	.flush = qcow2_flush,
	.create = qcow2_create,
	.check = qcow2_check,
	.info = qcow2_info,
	.files = qcow2_files,
	.snapshot_list = qcow2_snapshot_list,
	.snapshot_open = qcow2_snapshot_open,
	.snapshot_create = qcow2_snapshot_create,
	.snapshot_apply = qcow2_snapshot_apply,
	.snapshot_delete = qcow2_snapshot_delete,
	.set_backing = qcow2_set_backing,
	.amend = qcow2_amend,
	.resize = qcow2_resize,
	.make_empty = qcow2_make_empty,
};
