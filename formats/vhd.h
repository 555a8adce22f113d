/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vhd driver (Microsoft Virtual Hard Disk, "Virtual Hard Disk Image Format
 * Specification" v1.0, transcribed in jhermsmeier/node-vhd doc/VHD.md; qemu
 * calls the format "vpc"): on-disk layout, native state and the functions
 * shared by formats/vhd.c and formats/vhd-create.c. Every on-disk integer is
 * big-endian, except the UTF-16LE parent locator paths.
 *
 * Threading: VIMG_THREAD_SERIALIZE (the one-bitmap cache is mutable).
 */
#ifndef VIMG_VHD_H
#define VIMG_VHD_H

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>

#include "driver.h"

#define VHD_SECTOR 512u
#define VHD_FOOTER_LEN 512u
#define VHD_DYN_LEN 1024u
#define VHD_COOKIE "conectix"
#define VHD_DYN_COOKIE "cxsparse"
#define VHD_VERSION 0x00010000u
#define VHD_FEATURES_RESERVED 0x2u
#define VHD_NO_OFFSET 0xffffffffffffffffull
#define VHD_BAT_UNUSED 0xffffffffu

#define VHD_TYPE_FIXED 2u
#define VHD_TYPE_DYNAMIC 3u
#define VHD_TYPE_DIFF 4u

/* Parent locator platform codes (spec "Dynamic Disk Header Format"). */
#define VHD_PLAT_W2RU 0x57327275u /* "W2ru": relative path, UTF-16LE */
#define VHD_PLAT_W2KU 0x57326b75u /* "W2ku": absolute path, UTF-16LE */
#define VHD_N_LOCATORS 8

#define VHD_DEFAULT_BLOCK (2u << 20)
/* Implementation limits: qemu's 2040 GiB, a 64 MiB BAT, 1..256 MiB blocks. */
#define VHD_MAX_SIZE (2040ull << 30)
#define VHD_MAX_BAT_BYTES (64ull << 20)
#define VHD_MAX_BLOCK (256u << 20)
#define VHD_MAX_LOCATOR_BYTES 65536u
/* Seconds from the Unix epoch to the VHD epoch, 2000-01-01 00:00:00 UTC. */
#define VHD_EPOCH_OFFSET 946684800u

/* The hard disk footer (spec "Hard Disk Footer Format"), 512 bytes. */
struct vhd_footer_disk {
	uint8_t cookie[8];
	uint8_t features[4];
	uint8_t version[4];
	uint8_t data_offset[8];
	uint8_t timestamp[4];
	uint8_t creator_app[4];
	uint8_t creator_version[4];
	uint8_t creator_os[4];
	uint8_t original_size[8];
	uint8_t current_size[8];
	uint8_t cylinders[2];
	uint8_t heads;
	uint8_t sectors;
	uint8_t disk_type[4];
	uint8_t checksum[4];
	uint8_t uuid[16];
	uint8_t saved_state;
	uint8_t reserved[427];
} __attribute__((packed));
static_assert(sizeof(struct vhd_footer_disk) == VHD_FOOTER_LEN, "vhd footer size");

struct vhd_footer {
	char cookie[8];
	uint32_t features, version;
	uint64_t data_offset;
	uint32_t timestamp;
	char creator_app[4];
	uint32_t creator_version, creator_os;
	uint64_t original_size, current_size;
	uint16_t cylinders;
	uint8_t heads, sectors;
	uint32_t disk_type, checksum;
	uint8_t uuid[16];
	uint8_t saved_state;
};

struct vhd_locator_disk {
	uint8_t code[4];
	uint8_t data_space[4];
	uint8_t data_length[4];
	uint8_t reserved[4];
	uint8_t data_offset[8];
} __attribute__((packed));
static_assert(sizeof(struct vhd_locator_disk) == 24, "vhd locator size");

/* The dynamic disk header (spec "Dynamic Disk Header Format"), 1024 bytes. */
struct vhd_dyn_disk {
	uint8_t cookie[8];
	uint8_t data_offset[8];
	uint8_t table_offset[8];
	uint8_t version[4];
	uint8_t max_entries[4];
	uint8_t block_size[4];
	uint8_t checksum[4];
	uint8_t parent_uuid[16];
	uint8_t parent_timestamp[4];
	uint8_t reserved1[4];
	uint8_t parent_name[512];
	struct vhd_locator_disk loc[VHD_N_LOCATORS];
	uint8_t reserved2[256];
} __attribute__((packed));
static_assert(sizeof(struct vhd_dyn_disk) == VHD_DYN_LEN, "vhd dynamic header size");

struct vhd_locator {
	uint32_t code, data_space, data_length;
	uint64_t data_offset;
};

struct vhd_dyn {
	char cookie[8];
	uint64_t table_offset;
	uint32_t version, max_entries, block_size, checksum;
	uint8_t parent_uuid[16];
	uint32_t parent_timestamp;
	uint8_t parent_name[512];	/* UTF-16BE, as stored */
	struct vhd_locator loc[VHD_N_LOCATORS];
};

/* Driver state (priv). */
struct vhd {
	struct vimg_file *file;
	bool writable;
	uint64_t file_size;
	struct vhd_footer f;
	uint8_t footer_raw[VHD_FOOTER_LEN];	/* as read, for rewriting at the end */
	bool footer_from_head;		/* trailing footer damaged; the copy was used */
	uint64_t size;			/* virtual size */
	/* dynamic and differencing */
	struct vhd_dyn d;
	uint32_t *bat;
	uint32_t block_size, bitmap_size;
	uint64_t next_block;		/* where the next block goes: the trailing footer */
	uint8_t *bitmap;		/* cache of one block's sector bitmap */
	uint32_t bitmap_block;		/* which, or VHD_BAT_UNUSED */
	uint64_t parent_size;		/* differencing: the parent's virtual size, once opened */
};

/* ---- vhd.c ---------------------------------------------------------------- */

void vhd_dyn_decode(const struct vhd_dyn_disk *d, struct vhd_dyn *h);

/* ---- vhd-create.c -------------------------------------------------------- */

extern const struct vimg_opt_desc vhd_create_opts[];

/* The spec's one's-complement byte sum over len bytes, skipping [skip, skip+4). */
uint32_t vhd_checksum(const uint8_t *p, size_t len, size_t skip);
void vhd_footer_decode(const struct vhd_footer_disk *d, struct vhd_footer *f);
/* Encode, computing the checksum (f->checksum is updated). */
void vhd_footer_encode(struct vhd_footer *f, struct vhd_footer_disk *d);
/*
 * CHS geometry for a disk of total_sectors (spec appendix "CHS Calculation").
 * The result's product may be smaller than total_sectors.
 */
void vhd_geometry(uint64_t total_sectors, uint16_t *c, uint8_t *h, uint8_t *s);
/*
 * The virtual size and geometry for a requested size req (qemu's vpc_create
 * rules): by CHS, rounded up until the geometry covers req, or with force
 * the size rounded up to 1 MiB. Sets f's cylinders, heads, sectors,
 * original_size and current_size; VIMG_EINVAL past 2040 GiB.
 */
int vhd_choose_size(uint64_t req, bool force, struct vhd_footer *f, struct vimg_error *err);
/* What a differencing child records of its parent. */
struct vhd_parent_facts {
	uint8_t uuid[16];	/* the parent footer's Unique Id */
	uint32_t mtime;		/* parent file modification time, VHD epoch */
	struct vhd_footer f;
	uint64_t size;
};

/* From a parent the core opened, which must be a vhd image. */
void vhd_parent_facts(struct vimg_image *parent, struct vhd_parent_facts *pf);
/*
 * Record parent pf, named `name` (as it must be written), in dd: Parent
 * Unique ID, Parent Time Stamp, Parent Unicode Name (the last component) and
 * the only locator entry, loc[0] (W2ru for a relative name, W2ku for an
 * absolute one; data_offset left to the caller), every other entry cleared.
 * The locator data goes to loc[cap]. Returns its length, or VIMG_EINVAL
 * naming a name too long or not UTF-8.
 */
int vhd_parent_fields(struct vhd_dyn_disk *dd, const struct vhd_parent_facts *pf,
		      const char *name, uint8_t *loc, size_t cap, struct vimg_error *err);
int vhd_create(const char *path, uint64_t size, const struct vimg_opts *opts,
	       const struct vimg_backing_spec *backing, struct vimg_error *err);

/* ---- vhd-resize.c -------------------------------------------------------- */

/* The driver's resize callback (see vhd-resize.c for what each type does). */
int vhd_resize(struct vimg_image *img, uint64_t size, unsigned flags, struct vimg_error *err);

/* ---- vhd-backing.c ------------------------------------------------------- */

/* set_backing: a new parent for a differencing disk, or none (it becomes dynamic). */
int vhd_set_backing(struct vimg_image *img, const char *name, struct vimg_image *parent,
		    struct vimg_error *err);
/* amend: no create option can change (backing_file goes to set_backing). */
int vhd_amend(struct vimg_image *img, const struct vimg_opts *opts, struct vimg_error *err);

#endif
