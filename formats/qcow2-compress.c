/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qcow2 compressed clusters (qemu docs/interop/qcow2.txt "Compressed Clusters
 * Descriptor" and "compression_type"): type 0 is a raw deflate stream (no
 * zlib header; qemu writes it with a 4 KiB window), type 1 a zstd frame.
 * A compressed cluster always decompresses to a full cluster: the tail of a
 * disk is padded with zeros before compression, as qemu does.
 *
 * qcow2_compress is called outside the image lock by the copy engine and so
 * only reads fields that never change after open.
 */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#if HAVE_ZSTD
#include <zstd.h>
#endif

#include "checked.h"
#include "qcow2.h"

void qcow2_compressed_range(const struct qcow2 *s, uint64_t e, uint64_t *off, uint64_t *len)
{
	uint64_t coff = e & s->coffset_mask;
	uint64_t nsec = ((e >> s->csize_shift) & s->csize_mask) + 1;

	*off = coff;
	*len = nsec * 512 - (coff & 511);
}

static int inflate_raw(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len)
{
	z_stream z;
	int ret;

	memset(&z, 0, sizeof(z));
	/* Negative window bits: raw deflate. 15 also accepts qemu's 12-bit window. */
	if (inflateInit2(&z, -15) != Z_OK)
		return -1;
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)in_len;
	z.next_out = out;
	z.avail_out = (uInt)out_len;
	ret = inflate(&z, Z_FINISH);
	inflateEnd(&z);
	/* The data may end inside its last sector: a full output is success. */
	if ((ret == Z_STREAM_END || ret == Z_BUF_ERROR) && z.avail_out == 0)
		return 0;
	return -1;
}

#if HAVE_ZSTD
static int unzstd(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len)
{
	ZSTD_DCtx *dc = ZSTD_createDCtx();
	ZSTD_inBuffer ib = { in, in_len, 0 };
	ZSTD_outBuffer ob = { out, out_len, 0 };
	int rc = -1;

	if (!dc)
		return -1;
	while (ob.pos < ob.size) {
		size_t r = ZSTD_decompressStream(dc, &ob, &ib);

		if (ZSTD_isError(r))
			break;
		if (ob.pos == ob.size) {
			rc = 0;
			break;
		}
		/* Frame finished early, or input used up without progress. */
		if (r == 0 || ib.pos == ib.size)
			break;
	}
	ZSTD_freeDCtx(dc);
	return rc;
}
#endif

static int decompress_buf(const struct qcow2 *s, const uint8_t *in, size_t in_len, uint8_t *out)
{
#if HAVE_ZSTD
	if (s->h.compression_type == QCOW2_COMPRESSION_ZSTD)
		return unzstd(in, in_len, out, s->cluster_size);
#endif
	return inflate_raw(in, in_len, out, s->cluster_size);
}

int qcow2_decompress_entry(struct qcow2 *s, uint64_t e, uint8_t *out, struct vimg_error *err)
{
	uint64_t coff, clen;
	uint8_t *in;
	int r;

	qcow2_compressed_range(s, e, &coff, &clen);
	if (coff >= s->file_size)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "qcow2: compressed cluster descriptor beyond end of file "
				      "(offset 0x%" PRIx64 ")",
				      coff);
	in = malloc(clen);
	if (!in)
		return vimg_error_set(err, VIMG_ENOMEM, "qcow2: out of memory");
	/* The last compressed cluster may end before its last sector does. */
	r = file_pread_zeroed(s->file, in, clen, coff, err);
	if (r) {
		free(in);
		return r;
	}
	r = decompress_buf(s, in, clen, out);
	free(in);
	if (r)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "qcow2: compressed cluster: cannot decompress %s data "
				      "(offset 0x%" PRIx64 ")",
				      s->h.compression_type ? "zstd" : "deflate", coff);
	return 0;
}

int qcow2_decompress_cached(struct qcow2 *s, uint64_t e, void *buf, uint64_t in, size_t len,
			    struct vimg_error *err)
{
	int rc;

	/* Sequential readers ask for one cluster in pieces: keep the last one. */
	if (!s->dc_buf && !(s->dc_buf = malloc(s->cluster_size)))
		return vimg_error_set(err, VIMG_ENOMEM, "qcow2: out of memory");
	if (s->dc_entry != e) {
		s->dc_entry = 0;
		rc = qcow2_decompress_entry(s, e, s->dc_buf, err);
		if (rc)
			return rc;
		s->dc_entry = e;
	}
	memcpy(buf, s->dc_buf + in, len);
	return 0;
}

int qcow2_read(struct vimg_image *img, void *buf, uint64_t off, size_t len,
	       struct vimg_error *err)
{
	struct qcow2 *s = qcow2_priv(img);
	uint8_t *p = buf;
	int rc;

	while (len) {
		uint64_t in = off & (s->cluster_size - 1), n = min_u64(len, s->cluster_size - in);
		uint64_t e, bm;

		rc = qcow2_l2_lookup(s, off, &e, &bm, err);
		if (rc)
			return rc;
		if (e & QCOW2_OFLAG_COMPRESSED) {
			rc = qcow2_decompress_cached(s, e, p, in, n, err);
			if (rc)
				return rc;
		} else if (e & QCOW2_L2E_OFFSET_MASK) {
			struct vimg_file *f = qcow2_has_data_file(s) ? s->data_file : s->file;

			rc = s->luks ? qcow2_crypto_read(s, f, e & QCOW2_L2E_OFFSET_MASK, in, p,
							 (size_t)n, err)
				     : file_pread_zeroed(f, p, n, (e & QCOW2_L2E_OFFSET_MASK) + in, err);
			if (rc)
				return rc;
		} else {
			memset(p, 0, n);
		}
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

int qcow2_compress(struct vimg_image *img, const void *in, size_t len, void *out,
		   size_t *out_len, struct vimg_error *err)
{
	const struct qcow2 *s = qcow2_priv(img);
	size_t cs = s->cluster_size, cap = min_u64(*out_len, cs - 1);
	uint8_t *padded = NULL;
	const void *src = in;
	int rc = 1;

	if (qcow2_has_data_file(s))
		return 1; /* qcow2.txt: no compressed clusters with a data file */
	if (len > cs)
		return vimg_error_set(err, VIMG_EINVAL, "qcow2: compress: %zu bytes exceed a cluster",
				      len);
	if (len < cs) {
		padded = calloc(1, cs);
		if (!padded)
			return vimg_error_set(err, VIMG_ENOMEM, "qcow2: out of memory");
		memcpy(padded, in, len);
		src = padded;
	}
#if HAVE_ZSTD
	if (s->h.compression_type == QCOW2_COMPRESSION_ZSTD) {
		size_t r = ZSTD_compress(out, cap, src, cs, ZSTD_CLEVEL_DEFAULT);

		if (!ZSTD_isError(r) && r < cs) {
			*out_len = r;
			rc = 0;
		}
		free(padded);
		return rc;
	}
#endif
	{
		z_stream z;

		memset(&z, 0, sizeof(z));
		if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12, 9,
				 Z_DEFAULT_STRATEGY) != Z_OK) {
			free(padded);
			return vimg_error_set(err, VIMG_ENOMEM, "qcow2: deflate init failed");
		}
		z.next_in = (Bytef *)src;
		z.avail_in = (uInt)cs;
		z.next_out = out;
		z.avail_out = (uInt)cap;
		if (deflate(&z, Z_FINISH) == Z_STREAM_END) {
			*out_len = cap - z.avail_out;
			rc = 0;
		}
		deflateEnd(&z);
	}
	free(padded);
	return rc;
}

int qcow2_write_compressed(struct vimg_image *img, const void *cdata, size_t clen, uint64_t off,
			   size_t len, struct vimg_error *err)
{
	struct qcow2 *s = qcow2_priv(img);
	uint64_t l2_off, idx, e, bm, coff, ne;
	uint8_t *tbl;
	int rc;

	if (qcow2_has_data_file(s))
		return vimg_error_set(err, VIMG_EUNSUPPORTED,
				      "qcow2: compressed clusters with an external data file");
	if (clen == 0 || clen >= s->cluster_size)
		return vimg_error_set(err, VIMG_EINVAL,
				      "qcow2: write_compressed: bad size %zu at 0x%" PRIx64, clen, off);
	if ((off & (s->cluster_size - 1)) ||
	    (len != s->cluster_size && off + len < s->h.size)) {
		/*
		 * Not one whole cluster: a compressed cluster would also replace the
		 * rest of it, so store the data plainly instead.
		 */
		uint8_t *plain = malloc(s->cluster_size);

		if (!plain)
			return vimg_error_set(err, VIMG_ENOMEM, "qcow2: out of memory");
		if (decompress_buf(s, cdata, clen, plain))
			rc = vimg_error_set(err, VIMG_EINVAL,
					    "qcow2: write_compressed: data does not decompress");
		else
			rc = qcow2_write(img, plain, off, len, 0, err);
		free(plain);
		return rc;
	}
	rc = qcow2_mark_dirty(s, err);
	if (rc == 0)
		rc = qcow2_l2_slot(s, off, &l2_off, &idx, err);
	if (rc == 0)
		rc = qcow2_cache_get(s, &s->l2c, l2_off, false, &tbl, err);
	if (rc)
		return rc;
	qcow2_l2_load(s, tbl, idx, &e, &bm);
	rc = qcow2_alloc_bytes(s, clen, &coff, err);
	if (rc)
		return rc;
	if (coff > s->coffset_mask)
		return vimg_error_set(err, VIMG_ENOSPC,
				      "qcow2: compressed cluster offset 0x%" PRIx64 " too large", coff);
	rc = file_pwrite_full(s->file, cdata, clen, coff, err);
	if (rc)
		return rc;
	qcow2_note_file_end(s, s->file, coff + clen);
	ne = coff | ((((coff + clen - 1) >> 9) - (coff >> 9)) << s->csize_shift) |
	     QCOW2_OFLAG_COMPRESSED;
	rc = qcow2_l2_store(s, l2_off, idx, ne, 0, err);
	if (rc == 0 && e)
		rc = qcow2_release_entry(s, e, err);
	return rc;
}
