/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vdi driver (VirtualBox Disk Image, header version 1.1; layout from qemu
 * block/vdi.c and fox-it/dissect.hypervisor c_vdi.py): on-disk layout,
 * native state and what formats/vdi.c and formats/vdi-resize.c share. Every
 * on-disk integer is little-endian.
 *
 * Threading: VIMG_THREAD_SERIALIZE (one block buffer for allocating writes).
 */
#ifndef VIMG_VDI_H
#define VIMG_VDI_H

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>

#include "driver.h"

#define VDI_SIGNATURE 0xbeda107fu
#define VDI_VERSION_1_1 0x00010001u
#define VDI_HEADER_V1_SIZE 0x180u
#define VDI_TEXT "<<< Oracle VM VirtualBox Disk Image >>>\n"
#define VDI_TYPE_NORMAL 1u	/* dynamic */
#define VDI_TYPE_FIXED 2u	/* static */
#define VDI_TYPE_UNDO 3u
#define VDI_TYPE_DIFF 4u
#define VDI_UNALLOCATED 0xffffffffu
#define VDI_ZERO 0xfffffffeu
#define VDI_SECTOR 512u
#define VDI_DEFAULT_BLOCK (1u << 20)
/* Implementation limits: a 64 MiB block map, blocks of 512 B to 256 MiB. */
#define VDI_MAX_BMAP_BYTES (64ull << 20)
#define VDI_MAX_BLOCK (256u << 20)

/* The first sector: pre-header and header v1.1 (qemu VdiHeader). */
struct vdi_header_disk {
	uint8_t text[64];
	uint8_t signature[4];
	uint8_t version[4];
	uint8_t header_size[4];
	uint8_t image_type[4];
	uint8_t image_flags[4];
	uint8_t description[256];
	uint8_t offset_bmap[4];
	uint8_t offset_data[4];
	uint8_t cylinders[4];
	uint8_t heads[4];
	uint8_t sectors[4];
	uint8_t sector_size[4];
	uint8_t unused1[4];
	uint8_t disk_size[8];
	uint8_t block_size[4];
	uint8_t block_extra[4];
	uint8_t blocks_in_image[4];
	uint8_t blocks_allocated[4];
	uint8_t uuid_image[16];
	uint8_t uuid_last_snap[16];
	uint8_t uuid_link[16];
	uint8_t uuid_parent[16];
	uint8_t unused2[56];
} __attribute__((packed));
static_assert(sizeof(struct vdi_header_disk) == 512, "vdi header size");

struct vdi_header {
	uint32_t signature, version, header_size, image_type, image_flags;
	uint32_t offset_bmap, offset_data, sector_size;
	uint64_t disk_size;
	uint32_t block_size, block_extra, blocks_in_image, blocks_allocated;
	uint8_t uuid_image[16], uuid_last_snap[16], uuid_link[16], uuid_parent[16];
};

struct vdi {
	struct vimg_file *file;
	uint64_t file_size;
	uint8_t raw[512];	/* the header sector as read, for rewriting */
	struct vdi_header h;
	uint32_t *bmap;
	uint32_t next_index;	/* index the next allocated block gets */
	uint8_t *blockbuf;	/* one block, for allocating writes */
};

/* Where block index idx lies in the file. */
static inline uint64_t vdi_block_off(const struct vdi *s, uint32_t idx)
{
	return s->h.offset_data + (uint64_t)idx * s->h.block_size;
}

/* ---- vdi-parent.c -------------------------------------------------------- */

bool vdi_uuid_is_null(const uint8_t u[16]);
/*
 * A differencing image's parent: the name (relative to the image's
 * directory) of the one .vdi file next to it (or, with
 * VIMG_OPEN_ALLOW_ESCAPE, in the directory above) whose UUID is uuid_link.
 * VIMG_EBACKING when there is none or two. The caller frees *name.
 */
int vdi_parent_find(struct vimg_image *img, const struct vdi *s, char **name,
		    struct vimg_error *err);
int vdi_backing_opened(struct vimg_image *img, struct vimg_image *parent,
		       struct vimg_error *err);
/* Link to parent by its UUIDs (a dynamic image becomes differencing), or
 * unlink (NULL: differencing becomes dynamic); the name is not recorded. */
int vdi_set_backing(struct vimg_image *img, const char *name, struct vimg_image *parent,
		    struct vimg_error *err);

/* ---- vdi-resize.c -------------------------------------------------------- */

/* The driver's resize callback (see vdi-resize.c). */
int vdi_resize(struct vimg_image *img, uint64_t size, unsigned flags, struct vimg_error *err);

#endif
