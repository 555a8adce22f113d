/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qcow2 image creation (qemu docs/interop/qcow2.txt "Header", "Header
 * extensions", "Host cluster management"): options, the initial layout and
 * preallocation.
 *
 * Layout of a new image: cluster 0 holds the header, the header extensions
 * (backing format, external data file name, feature name table) and the
 * backing file name; then the refcount table, the refcount blocks covering
 * all metadata, and the L1 table. Every metadata cluster has refcount 1, so
 * the result is clean for `qemu-img check` before any write.
 */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "endian.h"
#include "qcow2.h"

const struct vimg_opt_desc qcow2_create_opts[] = {
	{ "compat", VIMG_OPT_STR, "1.1", "0.10|1.1|v2|v3", "qcow2 version: 0.10 (v2) or 1.1 (v3)" },
	{ "cluster_size", VIMG_OPT_SIZE, "64k", NULL, "cluster size, 512 to 2M, a power of two" },
	{ "compression_type", VIMG_OPT_STR, "zlib", "zlib|zstd",
	  "compression of compressed clusters (zstd needs compat 1.1)" },
	{ "lazy_refcounts", VIMG_OPT_BOOL, "off", NULL, "postpone refcount updates (compat 1.1)" },
	{ "extended_l2", VIMG_OPT_BOOL, "off", NULL,
	  "32 subclusters per cluster (compat 1.1, cluster_size >= 16k)" },
	{ "preallocation", VIMG_OPT_STR, "off", "off|metadata|falloc|full",
	  "preallocate metadata, or metadata and data" },
	{ "refcount_bits", VIMG_OPT_UINT, "16", NULL, "refcount width: 1, 2, 4, ... 64 bits" },
	{ "data_file", VIMG_OPT_STR, NULL, NULL, "external data file name (compat 1.1)" },
	{ "data_file_raw", VIMG_OPT_BOOL, "off", NULL,
	  "the data file is a valid raw image of the disk" },
	{ NULL, 0, NULL, NULL, NULL },
};

struct create_params {
	unsigned version;
	uint64_t cluster_size;
	unsigned cluster_bits;
	unsigned compression;
	bool lazy, ext_l2, data_raw;
	const char *prealloc;
	unsigned refcount_order;
	const char *data_file;
};

static int get_params(const struct vimg_opts *o, struct create_params *p, struct vimg_error *err)
{
	const char *compat = opts_get(o, "compat"), *ct = opts_get(o, "compression_type");
	uint64_t rb;
	int rc;

	memset(p, 0, sizeof(*p));
	if (!compat || !strcmp(compat, "1.1") || !strcmp(compat, "v3"))
		p->version = 3;
	else if (!strcmp(compat, "0.10") || !strcmp(compat, "v2"))
		p->version = 2;
	else
		return vimg_error_set(err, VIMG_EINVAL, "qcow2: compat: unknown value \"%s\"", compat);
	if ((rc = opts_get_size(o, "cluster_size", &p->cluster_size, err)) ||
	    (rc = opts_get_bool(o, "lazy_refcounts", &p->lazy, err)) ||
	    (rc = opts_get_bool(o, "extended_l2", &p->ext_l2, err)) ||
	    (rc = opts_get_bool(o, "data_file_raw", &p->data_raw, err)) ||
	    (rc = opts_get_uint(o, "refcount_bits", &rb, err)))
		return rc;
	if (!is_pow2(p->cluster_size) || p->cluster_size < 512 || p->cluster_size > (2u << 20))
		return vimg_error_set(err, VIMG_EINVAL,
				      "qcow2: cluster_size must be a power of two from 512 to 2M");
	p->cluster_bits = (unsigned)__builtin_ctzll(p->cluster_size);
	if (!is_pow2(rb) || rb > 64)
		return vimg_error_set(err, VIMG_EINVAL,
				      "qcow2: refcount_bits must be a power of two up to 64");
	p->refcount_order = (unsigned)__builtin_ctzll(rb);
	p->compression = (ct && !strcmp(ct, "zstd")) ? QCOW2_COMPRESSION_ZSTD : QCOW2_COMPRESSION_ZLIB;
	if (ct && strcmp(ct, "zstd") && strcmp(ct, "zlib"))
		return vimg_error_set(err, VIMG_EINVAL, "qcow2: compression_type: unknown \"%s\"", ct);
#if !HAVE_ZSTD
	if (p->compression == QCOW2_COMPRESSION_ZSTD)
		return vimg_error_set(err, VIMG_EUNSUPPORTED,
				      "qcow2: zstd compression needs libzstd (not built in)");
#endif
	p->prealloc = opts_get(o, "preallocation");
	if (!p->prealloc)
		p->prealloc = "off";
	if (strcmp(p->prealloc, "off") && strcmp(p->prealloc, "metadata") &&
	    strcmp(p->prealloc, "falloc") && strcmp(p->prealloc, "full"))
		return vimg_error_set(err, VIMG_EINVAL, "qcow2: preallocation: unknown \"%s\"",
				      p->prealloc);
	p->data_file = opts_get(o, "data_file");
	if (p->data_file && !*p->data_file)
		p->data_file = NULL;
	if (p->ext_l2 && p->cluster_size < 16384)
		return vimg_error_set(err, VIMG_EINVAL,
				      "qcow2: extended_l2 needs a cluster_size of at least 16k");
	if (p->data_raw && !p->data_file)
		return vimg_error_set(err, VIMG_EINVAL, "qcow2: data_file_raw needs data_file");
	if (p->version == 2) {
		if (p->lazy || p->ext_l2 || p->data_file || p->refcount_order != 4 ||
		    p->compression != QCOW2_COMPRESSION_ZLIB)
			return vimg_error_set(err, VIMG_EINVAL,
					      "qcow2: lazy_refcounts, extended_l2, data_file, zstd and "
					      "refcount_bits other than 16 need compat=1.1");
	}
	return 0;
}

static uint64_t div_up(uint64_t a, uint64_t b)
{
	return (a + b - 1) / b;
}

/* Append one header extension at *pos; false if it does not fit before end. */
static bool put_ext(uint8_t *c, uint64_t *pos, uint64_t end, uint32_t type, const void *data,
		    uint32_t len)
{
	uint64_t need = 8 + ((uint64_t)len + 7) / 8 * 8;

	if (*pos + need > end)
		return false;
	st_be32(c + *pos, type);
	st_be32(c + *pos + 4, len);
	memcpy(c + *pos + 8, data, len);
	*pos += need;
	return true;
}

static const struct {
	uint8_t type, bit;
	const char *name;
} feature_names[] = {
	{ 0, 0, "dirty bit" },
	{ 0, 1, "corrupt bit" },
	{ 0, 2, "external data file" },
	{ 0, 3, "compression type" },
	{ 0, 4, "extended L2 entries" },
	{ 1, 0, "lazy refcounts" },
	{ 2, 0, "bitmaps" },
	{ 2, 1, "raw external data" },
};

static int build_header(uint8_t *c, struct qcow2_header *h, const struct create_params *p,
			const struct vimg_backing_spec *b, struct vimg_error *err)
{
	uint64_t cs = p->cluster_size, pos = h->header_length, end = cs, blen = 0;
	struct qcow2_header_disk d;
	uint8_t ft[sizeof(feature_names) / sizeof(feature_names[0]) * 48];
	bool ok = true;

	if (b && b->name) {
		blen = strlen(b->name);
		if (blen == 0 || blen > QCOW2_MAX_BACKING_NAME)
			return vimg_error_set(err, VIMG_EINVAL,
					      "qcow2: backing file name must be 1..1023 bytes");
		end = cs - blen;
	}
	if (b && b->name && b->format)
		ok = put_ext(c, &pos, end - 8, QCOW2_EXT_BACKING_FORMAT, b->format,
			     (uint32_t)strlen(b->format));
	if (ok && p->data_file)
		ok = put_ext(c, &pos, end - 8, QCOW2_EXT_DATA_FILE, p->data_file,
			     (uint32_t)strlen(p->data_file));
	if (!ok)
		return vimg_error_set(err, VIMG_EINVAL,
				      "qcow2: file names do not fit in a %" PRIu64 "-byte header cluster",
				      cs);
	if (p->version >= 3) {
		memset(ft, 0, sizeof(ft));
		for (size_t i = 0; i < sizeof(feature_names) / sizeof(feature_names[0]); i++) {
			ft[i * 48] = feature_names[i].type;
			ft[i * 48 + 1] = feature_names[i].bit;
			memcpy(ft + i * 48 + 2, feature_names[i].name, strlen(feature_names[i].name));
		}
		/* Optional: skipped when the cluster is too small. */
		put_ext(c, &pos, end - 8, QCOW2_EXT_FEATURE_TABLE, ft, sizeof(ft));
	}
	pos += 8; /* end-of-extensions marker, already zero */
	if (blen) {
		h->backing_file_offset = pos;
		h->backing_file_size = (uint32_t)blen;
		memcpy(c + pos, b->name, blen);
	}
	qcow2_header_encode(h, &d);
	memcpy(c, &d, h->version >= 3 ? sizeof(d) : QCOW2_V2_HEADER_LEN);
	return 0;
}

static int write_layout(struct vimg_file *f, const struct create_params *p, uint64_t size,
			const struct vimg_backing_spec *b, struct vimg_error *err)
{
	uint64_t cs = p->cluster_size, l2_entries = cs / (p->ext_l2 ? 16 : 8);
	uint64_t rb_entries = cs * 8 >> p->refcount_order, l1_size, l1_c, rt_c = 1, rb_c = 1, n;
	struct qcow2_header h;
	uint8_t *buf;
	int rc;

	if (size > QCOW2_MAX_VIRTUAL_SIZE)
		return vimg_error_set(err, VIMG_EINVAL, "qcow2: size %" PRIu64 " exceeds 2^61 bytes",
				      size);
	l1_size = div_up(size, cs * l2_entries);
	if (l1_size * 8 > QCOW2_MAX_L1_BYTES)
		return vimg_error_set(err, VIMG_EINVAL,
				      "qcow2: size %" PRIu64 " needs an L1 table over 32 MiB; use a "
				      "larger cluster_size",
				      size);
	l1_c = l1_size ? div_up(l1_size * 8, cs) : 1;
	for (;;) {
		uint64_t nrb, nrt;

		n = 1 + rt_c + rb_c + l1_c;
		nrb = div_up(n, rb_entries);
		nrt = div_up(nrb * 8, cs);
		if (nrb == rb_c && nrt == rt_c)
			break;
		rb_c = nrb;
		rt_c = nrt;
	}
	memset(&h, 0, sizeof(h));
	h.version = p->version;
	h.cluster_bits = p->cluster_bits;
	h.size = size;
	h.l1_size = (uint32_t)l1_size;
	h.refcount_table_offset = cs;
	h.refcount_table_clusters = (uint32_t)rt_c;
	h.l1_table_offset = (1 + rt_c + rb_c) * cs;
	h.refcount_order = p->refcount_order;
	if (p->version >= 3) {
		h.header_length = QCOW2_HEADER_DISK_LEN;
		h.compression_type = (uint8_t)p->compression;
		if (p->compression)
			h.incompatible_features |= QCOW2_INCOMPAT_COMPRESSION;
		if (p->ext_l2)
			h.incompatible_features |= QCOW2_INCOMPAT_EXTL2;
		if (p->data_file)
			h.incompatible_features |= QCOW2_INCOMPAT_DATA_FILE;
		if (p->data_raw)
			h.autoclear_features |= QCOW2_AUTOCLEAR_DATA_FILE_RAW;
		if (p->lazy)
			h.compatible_features |= QCOW2_COMPAT_LAZY_REFCOUNTS;
	} else {
		h.header_length = QCOW2_V2_HEADER_LEN;
	}

	buf = calloc(n, cs);
	if (!buf)
		return vimg_error_set(err, VIMG_ENOMEM, "qcow2: out of memory");
	rc = build_header(buf, &h, p, b, err);
	if (rc == 0) {
		uint8_t *rt = buf + cs, *rb = buf + (1 + rt_c) * cs;

		for (uint64_t i = 0; i < rb_c; i++)
			st_be64(rt + 8 * i, (1 + rt_c + i) * cs);
		for (uint64_t c = 0; c < n; c++) {
			unsigned bits = 1u << p->refcount_order;
			uint64_t bit = c * bits;

			/* Refcount 1 in the entry's least significant bit (big-endian for >= 8). */
			if (bits >= 8)
				rb[(bit + bits) / 8 - 1] = 1;
			else
				rb[bit / 8] |= (uint8_t)(1u << (bit % 8));
		}
		rc = file_pwrite_full(f, buf, n * cs, 0, err);
	}
	free(buf);
	return rc;
}

int qcow2_create(const char *path, uint64_t size, const struct vimg_opts *opts,
		 const struct vimg_backing_spec *backing, struct vimg_error *err)
{
	struct create_params p;
	struct vimg_file *f = NULL, *df = NULL;
	char *dir = NULL, *dpath = NULL;
	int rc;

	rc = get_params(opts, &p, err);
	if (rc)
		return rc;
	if (p.data_file && backing && backing->name && p.data_raw)
		return vimg_error_set(err, VIMG_EINVAL,
				      "qcow2: a backing file conflicts with data_file_raw");
	rc = file_open(path, FILE_RDWR | FILE_CREATE, &f, err);
	if (rc)
		return rc;
	rc = write_layout(f, &p, size, backing, err);
	if (rc == 0 && p.data_file) {
		dir = path_dirname(path);
		rc = dir ? path_resolve(dir, p.data_file, true, &dpath, err)
			 : vimg_error_set(err, VIMG_ENOMEM, "qcow2: out of memory");
		if (rc == 0)
			rc = file_open(dpath, FILE_RDWR | FILE_CREATE, &df, err);
		if (rc == 0)
			rc = file_truncate(df, size, err);
	}
	if (rc == 0)
		rc = file_fsync(f, err);
	file_close(df);
	file_close(f);
	free(dir);
	free(dpath);
	if (rc == 0 && strcmp(p.prealloc, "off")) {
		struct vimg_image *img = NULL;

		rc = vimg_image_open(path, "qcow2", VIMG_OPEN_RDWR | VIMG_OPEN_NO_BACKING |
							  VIMG_OPEN_ALLOW_ESCAPE,
				     &img, err);
		if (rc == 0)
			rc = qcow2_preallocate(qcow2_priv(img), p.prealloc, 0,
					       qcow2_priv(img)->h.size, err);
		if (img) {
			int rc2 = vimg_image_close(img, err);

			if (rc == 0)
				rc = rc2;
		}
	}
	return rc;
}
