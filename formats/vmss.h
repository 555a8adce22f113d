/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * VMware checkpoint files (.vmss suspend state, .vmsn snapshot state) as
 * crash's vmware_vmss.c and volatility3's layers/vmware.py read them:
 *
 *   header      u32 magic, u32 version, u32 group count
 *   group table count x { char name[64]; u64 offset; u64 size }
 *   group data  tags until a NULL tag (two zero bytes):
 *     u8  flags   bits 7-6 index count (0-3), bits 5-0 value size; 63 means
 *                 a block, 62 a compressed block
 *     u8  name length, then the name (not NUL-terminated)
 *     s32 index   x index count
 *     value       `size` bytes, little-endian; or for a block: on-disk size,
 *                 in-memory size (u64 each, u32 with the old 0xbed0bed0
 *                 magic), u16 padding length, the padding, then the data
 *
 * The "memory" group holds regionsCount and, indexed by region,
 * regionPageNum (page in the memory data), regionPPN (guest page number) and
 * regionSize (pages); a "Memory" block holds the memory when it is embedded,
 * else it lives in the .vmem beside the state file. The "cpu" group holds
 * the vCPU registers, indexed by vCPU. Everything here is internal to
 * formats/vmss*.c.
 */
#ifndef VIMG_FORMATS_VMSS_H
#define VIMG_FORMATS_VMSS_H

#include "driver.h"

#define VMSS_MAGIC_OLD		0xbed0bed0u	/* 32-bit block sizes */
#define VMSS_MAGIC		0xbed2bed2u
#define VMSS_MAGIC_PARTIAL	0xbed3bed3u
#define VMSS_MAGIC_RESTORED	0xbad1bad1u
#define VMSS_MAGIC_NORESTORE	0xbad2bad2u

#define VMSS_HEADER_SIZE	12
#define VMSS_GROUP_DESC_SIZE	80
#define VMSS_GROUP_NAME_MAX	64
#define VMSS_PAGE_SIZE		4096u

/* Bounds on what a file may claim: real checkpoints have a few dozen
 * groups, thousands of tags in the largest, and two or three regions. */
#define VMSS_MAX_GROUPS		1024
#define VMSS_MAX_TAGS_PER_GROUP	262144
#define VMSS_MAX_TAGS		1048576
#define VMSS_MAX_REGIONS	1024
#define VMSS_MAX_VCPUS		1024

#define VMSTATE_MAGIC		0x564d5353u /* "VMSS" */

struct vmss_group {
	char name[VMSS_GROUP_NAME_MAX + 1];
	uint64_t off, size;
	uint32_t tags;
};

/* One run of guest memory and where its bytes lie in the memory data. */
struct vmss_region {
	uint32_t ppn, page_num, pages;
	uint64_t gpa, data_off, len;	/* bytes; data_off from the memory data start */
	uint64_t tag_off;		/* where its regionPPN tag lies (for messages) */
};

/* Registers as crash's vmssregs64 keeps them; `present` has one bit each. */
enum vmss_reg {
	VMSS_RAX, VMSS_RCX, VMSS_RDX, VMSS_RBX, VMSS_RBP, VMSS_RSP, VMSS_RSI, VMSS_RDI,
	VMSS_R8, VMSS_R9, VMSS_R10, VMSS_R11, VMSS_R12, VMSS_R13, VMSS_R14, VMSS_R15,
	VMSS_RIP, VMSS_RFLAGS, VMSS_IDTR,
	VMSS_CR0,				/* CR0 .. CR8: 9 slots (CR64 block: 72 bytes) */
	VMSS_ES = VMSS_CR0 + 9, VMSS_CS, VMSS_SS, VMSS_DS, VMSS_FS, VMSS_GS, VMSS_LDTR, VMSS_TR,
	VMSS_FS_BASE, VMSS_GS_BASE,
	VMSS_NREGS
};

struct vmss_vcpu {
	uint64_t present;
	uint64_t reg[VMSS_NREGS];
};

struct vimg_vmstate {
	uint32_t magic;
	char *path, *mem_path;
	struct vimg_file *state, *mem;	/* mem == state when embedded; NULL without memory */
	uint64_t state_size;

	uint32_t hdr_magic, hdr_version;
	struct vmss_group *groups;
	uint32_t n_groups;

	/* memory */
	bool has_block, embedded, compressed;
	uint64_t block_tag_off, block_data_off, block_size, block_mem_size;
	bool has_count;
	uint32_t region_count;		/* regionsCount as written */
	uint32_t align_mask;
	bool has_align_mask;
	struct vmss_region *regions;	/* sorted by gpa */
	size_t n_regions;
	uint64_t mem_base, mem_avail;	/* memory data in `mem`: offset and bytes */
	uint64_t mem_size;

	/* cpu */
	struct vmss_vcpu *vcpus;
	size_t n_vcpus;			/* highest vCPU seen + 1 */
	uint32_t num_vcpus;		/* cpu:numVCPUs, 0 if absent */
};

/* Blocks up to this size (registers) are read with the tags, not apart. */
#define VMSS_SMALL_BLOCK	128

/* A tag as the walker hands it to a group's handler. */
struct vmss_tag {
	uint64_t off;			/* of the tag's flags byte */
	char name[256];
	unsigned n_idx;
	int32_t idx[3];
	bool block, compressed;
	uint64_t val_off;		/* of the value, or the block's data */
	uint64_t size;			/* value size, or the block's on-disk size */
	uint64_t mem_size;		/* a block's in-memory size */
	uint8_t val[64];		/* an inline value (size <= 61) */
	uint8_t data[VMSS_SMALL_BLOCK];	/* a small uncompressed block's data */
	bool has_data;
};

/* Little-endian value of an inline tag of 1, 2, 4 or 8 bytes; false otherwise. */
bool vmss_tag_uint(const struct vmss_tag *t, uint64_t *out);
/* Whether the tag has name n and at least `n_idx` indices. */
bool vmss_tag_is(const struct vmss_tag *t, const char *n, unsigned n_idx);

/* vmss-cpu.c: record a "cpu" group tag; emit the registers. */
int vmss_cpu_tag(struct vimg_vmstate *st, const struct vmss_tag *t, struct vimg_error *err);
void vmss_cpu_info(const struct vimg_vmstate *st, const struct vimg_emit *em);

bool vmstate_valid(const struct vimg_vmstate *st);

#endif
