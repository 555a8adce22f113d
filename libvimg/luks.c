/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * LUKS1 (the LUKS on-disk format specification, version 1.2.3): a
 * 592-byte big-endian header, eight key slots, each a copy of the master
 * key split into anti-forensic stripes and encrypted with a key derived
 * from the passphrase by PBKDF2. A slot opens when the merged stripes hash
 * (PBKDF2 again) to the header's master key digest. Everything read is
 * bounded before it is used: the work PBKDF2 may be asked for, the stripes,
 * the key material's place inside the header area.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "endian.h"
#include "luks.h"

#define LUKS_HEADER_LEN 592
#define LUKS_DIGEST_LEN 20
#define LUKS_SALT_LEN 32
#define LUKS_SLOT_ACTIVE 0x00AC71F3u
#define LUKS_SLOT_INACTIVE 0x0000DEADu
/* More PBKDF2 iterations than a hostile header may make us run: qemu's two
 * seconds of iter-time is a few million on today's machines. */
#define LUKS_MAX_ITERATIONS 100000000u
#define LUKS_MAX_STRIPES 65536u

enum luks_ivgen { IV_PLAIN, IV_PLAIN64, IV_ESSIV };

struct luks {
	char cipher_alg[16], mode[33], ivgen_name[33], hash[33], uuid[41];
	const EVP_CIPHER *cipher;
	const EVP_CIPHER *essiv_cipher;
	const EVP_MD *md, *essiv_md;
	enum luks_ivgen ivgen;
	uint32_t key_bytes, mk_iterations;
	uint64_t payload_offset;
	char essiv_hash[33];
	bool unlocked;
	uint8_t mk[64];
	struct luks_slot_info slots[LUKS_SLOTS];
};

/* Secrets: one for the process, for every encrypted image opened. */
static uint8_t *secret;
static size_t secret_len;

int vimg_set_secret(const void *data, size_t len, struct vimg_error *err)
{
	uint8_t *copy = NULL;

	if (data && !(copy = malloc(len ? len : 1)))
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	if (copy)
		memcpy(copy, data, len);
	if (secret) {
		OPENSSL_cleanse(secret, secret_len);
		free(secret);
	}
	secret = copy;
	secret_len = copy ? len : 0;
	return 0;
}

static void field(char *dst, size_t cap, const uint8_t *src, size_t n)
{
	size_t k = 0;

	while (k < n && k + 1 < cap && src[k])
		k++;
	memcpy(dst, src, k);
	dst[k] = 0;
}

/* The EVP cipher for cipher name, chain mode and key size; NULL if none. */
static const EVP_CIPHER *pick_cipher(const char *chain, uint32_t key_bytes)
{
	if (!strcmp(chain, "xts"))
		return key_bytes == 32 ? EVP_aes_128_xts() : key_bytes == 64 ? EVP_aes_256_xts()
									  : NULL;
	if (!strcmp(chain, "cbc"))
		return key_bytes == 16 ? EVP_aes_128_cbc() : key_bytes == 24 ? EVP_aes_192_cbc()
			: key_bytes == 32 ? EVP_aes_256_cbc() : NULL;
	if (!strcmp(chain, "ecb"))
		return key_bytes == 16 ? EVP_aes_128_ecb() : key_bytes == 32 ? EVP_aes_256_ecb()
									  : NULL;
	return NULL;
}

static void make_iv(const struct luks *l, const uint8_t *essiv_key, uint64_t sector,
		    uint8_t iv[16])
{
	memset(iv, 0, 16);
	if (l->ivgen == IV_PLAIN)
		st_le32(iv, (uint32_t)sector);
	else
		st_le64(iv, sector);
	if (l->ivgen == IV_ESSIV) {
		EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
		int n = 0;

		/* ESSIV: the sector number encrypted with the hash of the key. */
		if (c && EVP_EncryptInit_ex(c, l->essiv_cipher, NULL, essiv_key, NULL) == 1) {
			EVP_CIPHER_CTX_set_padding(c, 0);
			EVP_EncryptUpdate(c, iv, &n, iv, 16);
		}
		EVP_CIPHER_CTX_free(c);
	}
}

static int crypt_sectors(const struct luks *l, const uint8_t *key, uint64_t sector, uint8_t *buf,
			 size_t len, const char *what, struct vimg_error *err)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	uint8_t essiv_key[EVP_MAX_MD_SIZE];
	int rc = 0;

	if (!c)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	/* ESSIV's key is the hash of the key the sectors are encrypted with. */
	if (l->ivgen == IV_ESSIV &&
	    EVP_Digest(key, l->key_bytes, essiv_key, NULL, l->essiv_md, NULL) != 1)
		rc = vimg_error_set(err, VIMG_EIO, "%s: hashing failed", what);
	if (!rc && EVP_DecryptInit_ex(c, l->cipher, NULL, key, NULL) != 1)
		rc = vimg_error_set(err, VIMG_EIO, "%s: cannot set up %s-%s", what, l->cipher_alg,
				    l->mode);
	EVP_CIPHER_CTX_set_padding(c, 0);
	for (size_t pos = 0; !rc && pos < len; pos += LUKS_SECTOR, sector++) {
		uint8_t iv[16];
		int n = 0;

		make_iv(l, essiv_key, sector, iv);
		if (EVP_DecryptInit_ex(c, NULL, NULL, NULL, iv) != 1 ||
		    EVP_DecryptUpdate(c, buf + pos, &n, buf + pos, LUKS_SECTOR) != 1 ||
		    n != LUKS_SECTOR)
			rc = vimg_error_set(err, VIMG_EIO, "%s: decrypting sector %llu failed", what,
					    (unsigned long long)sector);
	}
	EVP_CIPHER_CTX_free(c);
	OPENSSL_cleanse(essiv_key, sizeof(essiv_key));
	return rc;
}

int luks_decrypt(struct luks *l, uint64_t sector, uint8_t *buf, size_t len,
		 struct vimg_error *err)
{
	if (!l->unlocked)
		return vimg_error_set(err, VIMG_EACCES, "the image is encrypted: give its secret "
				      "(--secret-file FILE)");
	return crypt_sectors(l, l->mk, sector, buf, len, "LUKS", err);
}

/* The anti-forensic merge: hash-diffuse each stripe into the next. */
static int af_merge(const struct luks *l, const uint8_t *km, uint32_t stripes, uint8_t *mk)
{
	size_t ds = (size_t)EVP_MD_size(l->md), kb = l->key_bytes;
	uint8_t d[64] = { 0 };

	for (uint32_t i = 0; i < stripes; i++) {
		for (size_t k = 0; k < kb; k++)
			d[k] ^= km[(size_t)i * kb + k];
		if (i + 1 == stripes)
			break;
		for (size_t j = 0; j * ds < kb; j++) {
			uint8_t be[4], h[EVP_MAX_MD_SIZE];
			size_t n = kb - j * ds < ds ? kb - j * ds : ds;
			EVP_MD_CTX *c = EVP_MD_CTX_new();

			st_be32(be, (uint32_t)j);
			if (!c || EVP_DigestInit_ex(c, l->md, NULL) != 1 ||
			    EVP_DigestUpdate(c, be, 4) != 1 ||
			    EVP_DigestUpdate(c, d + j * ds, n) != 1 ||
			    EVP_DigestFinal_ex(c, h, NULL) != 1) {
				EVP_MD_CTX_free(c);
				return -1;
			}
			EVP_MD_CTX_free(c);
			memcpy(d + j * ds, h, n);
		}
	}
	memcpy(mk, d, kb);
	OPENSSL_cleanse(d, sizeof(d));
	return 0;
}

static bool pbkdf2(const struct luks *l, const uint8_t *pass, size_t plen, const uint8_t *salt,
		   uint32_t iter, uint8_t *out, size_t olen)
{
	return PKCS5_PBKDF2_HMAC((const char *)pass, (int)plen, salt, LUKS_SALT_LEN, (int)iter,
				 l->md, (int)olen, out) == 1;
}

/* Try one slot: 1 when it opens, 0 when the secret is not its key. */
static int slot_open(struct luks *l, struct vimg_file *f, uint64_t off, const uint8_t *h,
		     unsigned i, const uint8_t *digest, const uint8_t *mk_salt, const char *what,
		     struct vimg_error *err)
{
	const struct luks_slot_info *s = &l->slots[i];
	size_t km_len = ((size_t)l->key_bytes * s->stripes + LUKS_SECTOR - 1) / LUKS_SECTOR *
			LUKS_SECTOR;
	uint8_t key[64], mk[64], check[LUKS_DIGEST_LEN];
	uint8_t *km = malloc(km_len);
	int rc;

	if (!km)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	rc = file_pread_full(f, km, km_len, off + s->key_offset, err);
	if (!rc && !pbkdf2(l, secret, secret_len, h + 208 + i * 48 + 8, s->iterations, key,
			   l->key_bytes))
		rc = vimg_error_set(err, VIMG_EIO, "%s: PBKDF2 failed", what);
	if (!rc)
		rc = crypt_sectors(l, key, 0, km, km_len, what, err);
	if (!rc && af_merge(l, km, s->stripes, mk))
		rc = vimg_error_set(err, VIMG_EIO, "%s: hashing failed", what);
	if (!rc && !pbkdf2(l, mk, l->key_bytes, mk_salt, l->mk_iterations, check, sizeof(check)))
		rc = vimg_error_set(err, VIMG_EIO, "%s: PBKDF2 failed", what);
	if (!rc && !memcmp(check, digest, LUKS_DIGEST_LEN)) {
		memcpy(l->mk, mk, l->key_bytes);
		rc = 1;
	}
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(mk, sizeof(mk));
	OPENSSL_cleanse(km, km_len);
	free(km);
	return rc;
}

/* "xts-plain64", "cbc-essiv:sha256", "cbc-plain": the chain and the IVs. */
static int parse_mode(struct luks *l, const char *what, struct vimg_error *err)
{
	char chain[16];
	const char *dash = strchr(l->mode, '-'), *iv;

	if (!dash || (size_t)(dash - l->mode) >= sizeof(chain))
		return vimg_error_set(err, VIMG_EUNSUPPORTED, "%s: cipher mode \"%s\" is not "
				      "supported", what, l->mode);
	memcpy(chain, l->mode, (size_t)(dash - l->mode));
	chain[dash - l->mode] = 0;
	iv = dash + 1;
	snprintf(l->ivgen_name, sizeof(l->ivgen_name), "%s", iv);
	if (!strcmp(iv, "plain64")) {
		l->ivgen = IV_PLAIN64;
	} else if (!strcmp(iv, "plain")) {
		l->ivgen = IV_PLAIN;
	} else if (!strncmp(iv, "essiv:", 6) && EVP_get_digestbyname(iv + 6)) {
		l->ivgen = IV_ESSIV;
		l->essiv_md = EVP_get_digestbyname(iv + 6);
		l->essiv_cipher = pick_cipher("ecb", (uint32_t)EVP_MD_size(l->essiv_md));
		if (!l->essiv_cipher)
			return vimg_error_set(err, VIMG_EUNSUPPORTED, "%s: ESSIV hash \"%s\" is not "
					      "supported", what, iv + 6);
		snprintf(l->essiv_hash, sizeof(l->essiv_hash), "%s", iv + 6);
		snprintf(l->ivgen_name, sizeof(l->ivgen_name), "essiv");
	} else {
		return vimg_error_set(err, VIMG_EUNSUPPORTED, "%s: IV generator \"%s\" is not "
				      "supported", what, iv);
	}
	snprintf(l->mode, sizeof(l->mode), "%s", chain);
	l->cipher = pick_cipher(chain, l->key_bytes);
	if (!l->cipher || strcmp(l->cipher_alg, "aes"))
		return vimg_error_set(err, VIMG_EUNSUPPORTED, "%s: cipher %s-%s with a %u-byte key "
				      "is not supported", what, l->cipher_alg, l->mode, l->key_bytes);
	return 0;
}

int luks_open(struct vimg_file *f, uint64_t off, uint64_t len, const char *what,
	      struct luks **out, struct vimg_error *err)
{
	static const uint8_t magic[6] = { 'L', 'U', 'K', 'S', 0xba, 0xbe };
	uint8_t h[LUKS_HEADER_LEN], digest[LUKS_DIGEST_LEN], mk_salt[LUKS_SALT_LEN];
	struct luks *l;
	bool any = false;
	int rc;

	*out = NULL;
	if (len < LUKS_HEADER_LEN)
		return vimg_error_set(err, VIMG_ECORRUPT, "%s: header area of %llu bytes at offset "
				      "0x%llx is too small", what, (unsigned long long)len,
				      (unsigned long long)off);
	if ((rc = file_pread_full(f, h, sizeof(h), off, err)))
		return rc;
	if (memcmp(h, magic, 6) || ld_be16(h + 6) != 1)
		return vimg_error_set(err, VIMG_ECORRUPT, "%s: no LUKS version 1 header at offset "
				      "0x%llx", what, (unsigned long long)off);
	if (!(l = calloc(1, sizeof(*l))))
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	field(l->cipher_alg, sizeof(l->cipher_alg), h + 8, 32);
	field(l->mode, sizeof(l->mode), h + 40, 32);
	field(l->hash, sizeof(l->hash), h + 72, 32);
	l->payload_offset = (uint64_t)ld_be32(h + 104) * LUKS_SECTOR;
	l->key_bytes = ld_be32(h + 108);
	memcpy(digest, h + 112, sizeof(digest));
	memcpy(mk_salt, h + 132, sizeof(mk_salt));
	l->mk_iterations = ld_be32(h + 164);
	field(l->uuid, sizeof(l->uuid), h + 168, 40);
	rc = 0;
	if (!(l->md = EVP_get_digestbyname(l->hash)))
		rc = vimg_error_set(err, VIMG_EUNSUPPORTED, "%s: hash \"%s\" is not supported", what,
				    l->hash);
	else if (l->key_bytes == 0 || l->key_bytes > 64 || l->mk_iterations == 0 ||
		 l->mk_iterations > LUKS_MAX_ITERATIONS)
		rc = vimg_error_set(err, VIMG_ECORRUPT, "%s: key size %u or digest iterations %u "
				    "out of range (header at 0x%llx)", what, l->key_bytes,
				    l->mk_iterations, (unsigned long long)off);
	else
		rc = parse_mode(l, what, err);
	for (unsigned i = 0; !rc && i < LUKS_SLOTS; i++) {
		const uint8_t *s = h + 208 + i * 48;
		struct luks_slot_info *si = &l->slots[i];
		uint32_t state = ld_be32(s);
		uint64_t km_end;

		si->iterations = ld_be32(s + 4);
		si->key_offset = ld_be32(s + 40) * LUKS_SECTOR;
		si->stripes = ld_be32(s + 44);
		if (state != LUKS_SLOT_ACTIVE && state != LUKS_SLOT_INACTIVE) {
			rc = vimg_error_set(err, VIMG_ECORRUPT, "%s: key slot %u: state 0x%08x "
					    "(header at 0x%llx)", what, i, state,
					    (unsigned long long)off);
			break;
		}
		si->active = state == LUKS_SLOT_ACTIVE;
		if (!si->active)
			continue;
		km_end = (uint64_t)si->key_offset + (uint64_t)l->key_bytes * si->stripes;
		if (si->iterations == 0 || si->iterations > LUKS_MAX_ITERATIONS ||
		    si->stripes == 0 || si->stripes > LUKS_MAX_STRIPES ||
		    ld_be32(s + 40) > UINT32_MAX / LUKS_SECTOR || km_end > len)
			rc = vimg_error_set(err, VIMG_ECORRUPT, "%s: key slot %u: iterations %u, "
					    "stripes %u or key material at 0x%x out of range (header "
					    "at 0x%llx, %llu bytes)", what, i, si->iterations,
					    si->stripes, si->key_offset, (unsigned long long)off,
					    (unsigned long long)len);
		any = true;
	}
	if (!rc && !any)
		rc = vimg_error_set(err, VIMG_ECORRUPT, "%s: no active key slot", what);
	/* Without a secret the header is still described; data stays locked. */
	for (unsigned i = 0; !rc && secret && i < LUKS_SLOTS; i++) {
		if (!l->slots[i].active)
			continue;
		rc = slot_open(l, f, off, h, i, digest, mk_salt, what, err);
		if (rc == 1)
			l->unlocked = true;
		if (rc == 1)
			break;
	}
	if (rc == 0 && secret && !l->unlocked)
		rc = vimg_error_set(err, VIMG_EACCES, "%s: no key slot opens with the secret given",
				    what);
	if (rc == 1)
		rc = 0;
	if (rc < 0) {
		luks_close(l);
		return rc;
	}
	*out = l;
	return 0;
}

void luks_close(struct luks *l)
{
	if (!l)
		return;
	OPENSSL_cleanse(l, sizeof(*l));
	free(l);
}

void luks_describe(const struct luks *l, const char **cipher_alg, const char **mode,
		   const char **ivgen, const char **ivgen_hash, const char **hash,
		   const char **uuid, uint32_t *mk_iterations, uint64_t *payload_offset)
{
	static __thread char alg[24];

	snprintf(alg, sizeof(alg), "%s-%u", l->cipher_alg,
		 strcmp(l->mode, "xts") ? l->key_bytes * 8 : l->key_bytes * 4);
	*cipher_alg = alg;
	*mode = l->mode;
	*ivgen = l->ivgen_name;
	*ivgen_hash = l->essiv_hash[0] ? l->essiv_hash : NULL;
	*payload_offset = l->payload_offset;
	*hash = l->hash;
	*uuid = l->uuid;
	*mk_iterations = l->mk_iterations;
}

void luks_slot(const struct luks *l, unsigned i, struct luks_slot_info *out)
{
	*out = i < LUKS_SLOTS ? l->slots[i] : (struct luks_slot_info){ 0 };
}
