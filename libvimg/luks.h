/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * LUKS version 1 headers (libvimg/luks.c), as qemu embeds them in qcow2
 * images: parsed and validated, unlocked with the process's secret
 * (vimg_set_secret), and sectors decrypted with the master key.
 */
#ifndef VIMG_LUKS_H
#define VIMG_LUKS_H

#include "driver.h"

#define LUKS_SECTOR 512u
#define LUKS_SLOTS 8

struct luks;

struct luks_slot_info {
	bool active;
	uint32_t iterations, key_offset, stripes;	/* key_offset in bytes */
};

/*
 * Read the header at [off, off+len) of f, validate it and unlock a key
 * slot with the secret. `what` prefixes errors ("qcow2: LUKS"). Errors:
 * VIMG_ECORRUPT (with the offset), VIMG_EUNSUPPORTED (a cipher or hash not
 * handled), VIMG_EACCES (none of the slots opens with the secret). With no
 * secret set, it opens locked: described, but luks_decrypt refuses.
 */
int luks_open(struct vimg_file *f, uint64_t off, uint64_t len, const char *what,
	      struct luks **out, struct vimg_error *err);
void luks_close(struct luks *l);
/* Decrypt len bytes (whole sectors) in place; sector numbers the IV. */
int luks_decrypt(struct luks *l, uint64_t sector, uint8_t *buf, size_t len,
		 struct vimg_error *err);
/* For info, as qemu names them: "aes-256", "xts", "plain64", the ESSIV hash
 * or NULL, "sha256", the UUID, the digest iterations, the payload offset. */
void luks_describe(const struct luks *l, const char **cipher_alg, const char **mode,
		   const char **ivgen, const char **ivgen_hash, const char **hash,
		   const char **uuid, uint32_t *mk_iterations, uint64_t *payload_offset);
void luks_slot(const struct luks *l, unsigned i, struct luks_slot_info *out);

#endif
