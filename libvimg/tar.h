/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Uncompressed tar archives as OVA packages use them: the member table read
 * and validated (so disks can be read in place, by offset), and ustar headers
 * written. Not a general tar: links, devices, sparse members and unsafe names
 * are refused, which is what an OVA importer must do anyway.
 */
#ifndef VIMG_TAR_H
#define VIMG_TAR_H

#include <stdint.h>
#include <time.h>

#include "vimg.h"

#define TAR_BLOCK 512
#define TAR_MAX_MEMBERS 4096

struct tar_member {
	char *name;		/* normalised: no leading "./" */
	uint64_t header;	/* offset of its (first) header */
	uint64_t offset;	/* of its data */
	uint64_t size;
};

/*
 * The regular members of the archive at path, in archive order (directories
 * are skipped). Refused with VIMG_ECORRUPT naming the member and offset:
 * absolute names, ".." components, links, devices and FIFOs, sparse and
 * other special members, duplicate names, data past the end of the file,
 * bad header checksums, more than TAR_MAX_MEMBERS members.
 */
int tar_list(const char *path, struct tar_member **out, size_t *n, struct vimg_error *err);
void tar_list_free(struct tar_member *m, size_t n);
/* The member called name, or NULL. */
const struct tar_member *tar_find(const struct tar_member *m, size_t n, const char *name);

/* A POSIX ustar header for a regular file (mode 0644); the size is in base
 * 256 past ustar's 8 GiB. VIMG_EINVAL for a name of 100 bytes or more. */
int tar_header(uint8_t hdr[TAR_BLOCK], const char *name, uint64_t size, time_t mtime,
	       struct vimg_error *err);

static inline uint64_t tar_round(uint64_t n)
{
	return (n + TAR_BLOCK - 1) / TAR_BLOCK * TAR_BLOCK;
}

#endif
