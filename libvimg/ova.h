/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Writing OVAs (ova.c): a tar whose members are the descriptor, the
 * manifest and then the disks, each disk converted in place at
 * ova_pack_data_offset through a file window.
 */
#ifndef VIMG_OVA_H
#define VIMG_OVA_H

#include <openssl/evp.h>

#include "driver.h"
#include "tar.h"

struct ova_member {
	char *name;
	uint64_t size;
	char hex[2 * EVP_MAX_MD_SIZE + 1];
};

struct ova_pack {
	struct vimg_file *f;
	const char *algo;
	uint64_t reserved;	/* bytes kept at the front for the descriptor and manifest */
	uint64_t next;		/* offset of the next member's header */
	time_t mtime;
	struct ova_member *m;
	size_t n;
};

/* Whether algo is a manifest digest vimg writes ("sha1", "sha256", "sha512"). */
bool ova_algo_valid(const char *algo);
/* The length of the manifest line for name. */
size_t ova_manifest_line_len(const char *algo, const char *name);

/* Create the OVA at path with `reserve` bytes kept for descriptor and manifest. */
int ova_pack_begin(struct ova_pack *p, const char *path, uint64_t reserve, const char *algo,
		   bool no_sync, struct vimg_error *err);
static inline uint64_t ova_pack_data_offset(const struct ova_pack *p)
{
	return p->next + TAR_BLOCK;
}
/* The member whose data was written from ova_pack_data_offset to the end
 * of the file: its header written, its data hashed. */
int ova_pack_member_done(struct ova_pack *p, const char *name, struct vimg_error *err);
/* A small file copied in as the next member. */
int ova_pack_add_file(struct ova_pack *p, const char *name, const char *path,
		      struct vimg_error *err);
/* The size of a member written, 0 if none. */
size_t ova_pack_size(const struct ova_pack *p, const char *name);
/* Write the descriptor (padded to ovf_room bytes) and the manifest at the
 * front, the end-of-archive blocks, and sync. */
int ova_pack_finish(struct ova_pack *p, const char *ovf_name, const char *ovf, size_t ovf_len,
		    uint64_t ovf_room, struct vimg_error *err);
void ova_pack_end(struct ova_pack *p);

#endif
