/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qcow2 LUKS encryption (qcow2.txt "Full disk encryption header pointer"):
 * a LUKS1 header in clusters of the image, named by the crypto header
 * extension, and every data cluster encrypted sector by sector, the IV
 * counting 512-byte sectors of the host file, as qemu does for LUKS.
 * Reading only: writing an encrypted image is refused when it is opened.
 */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "luks.h"
#include "qcow2.h"

/* A LUKS1 header with its eight default key slots is 2 MiB; more is room
 * no writer asks for. */
#define QCOW2_CRYPTO_MAX_LEN (64ull << 20)

int qcow2_crypto_open(struct vimg_image *img, struct qcow2 *s, struct vimg_error *err)
{
	if (s->crypto_off & (s->cluster_size - 1) || !s->crypto_len ||
	    s->crypto_len > QCOW2_CRYPTO_MAX_LEN || s->crypto_off >= s->file_size ||
	    s->crypto_len > s->file_size - s->crypto_off)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "qcow2: crypto header at 0x%" PRIx64 ", %" PRIu64 " bytes: "
				      "not a cluster-aligned range of the file", s->crypto_off,
				      s->crypto_len);
	if (qcow2_has_data_file(s))
		return vimg_error_set(err, VIMG_EUNSUPPORTED,
				      "qcow2: encryption with an external data file is not supported");
	if (image_is_writable(img))
		return vimg_error_set(err, VIMG_EUNSUPPORTED,
				      "qcow2: writing an encrypted (LUKS) image is not supported "
				      "yet; it opens read-only");
	return luks_open(s->file, s->crypto_off, s->crypto_len, "qcow2: LUKS", &s->luks, err);
}

int qcow2_crypto_read(struct qcow2 *s, struct vimg_file *f, uint64_t host, uint64_t in,
		      uint8_t *buf, size_t len, struct vimg_error *err)
{
	uint64_t first = in / LUKS_SECTOR * LUKS_SECTOR;
	uint64_t end = (in + len + LUKS_SECTOR - 1) / LUKS_SECTOR * LUKS_SECTOR;
	size_t n = (size_t)(end - first);
	uint8_t *tmp = n == len && first == in ? buf : malloc(n);
	int rc;

	if (!tmp)
		return vimg_error_set(err, VIMG_ENOMEM, "qcow2: out of memory");
	rc = file_pread_zeroed(f, tmp, n, host + first, err);
	if (!rc)
		rc = luks_decrypt(s->luks, (host + first) / LUKS_SECTOR, tmp, n, err);
	if (rc)
		vimg_error_prefix(err, "qcow2: cluster at 0x%" PRIx64, host);
	if (!rc && tmp != buf)
		memcpy(buf, tmp + (in - first), len);
	if (tmp != buf)
		free(tmp);
	return rc;
}

void qcow2_crypto_info(struct qcow2 *s, const struct vimg_emit *em)
{
	const char *alg, *mode, *ivgen, *ivhash, *hash, *uuid;
	uint64_t payload;
	uint32_t iters;

	luks_describe(s->luks, &alg, &mode, &ivgen, &ivhash, &hash, &uuid, &iters, &payload);
	em->begin(em->opaque, "encrypt", false);
	em->str(em->opaque, "format", "luks");
	em->str(em->opaque, "cipher-alg", alg);
	em->str(em->opaque, "cipher-mode", mode);
	em->str(em->opaque, "ivgen-alg", ivgen);
	if (ivhash)
		em->str(em->opaque, "ivgen-hash-alg", ivhash);
	em->u64(em->opaque, "payload-offset", payload);
	em->str(em->opaque, "hash-alg", hash);
	em->str(em->opaque, "uuid", uuid);
	em->u64(em->opaque, "master-key-iters", iters);
	em->begin(em->opaque, "slots", true);
	for (unsigned i = 0; i < LUKS_SLOTS; i++) {
		struct luks_slot_info si;

		luks_slot(s->luks, i, &si);
		em->begin(em->opaque, NULL, false);
		em->boolean(em->opaque, "active", si.active);
		if (si.active) {
			em->u64(em->opaque, "iters", si.iterations);
			em->u64(em->opaque, "stripes", si.stripes);
		}
		em->u64(em->opaque, "key-offset", si.key_offset);
		em->end(em->opaque);
	}
	em->end(em->opaque);
	em->end(em->opaque);
}
