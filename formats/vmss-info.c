/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vimg_vmstate_info: what a checkpoint holds, as facts for an emitter the
 * caller renders (vimg inspect): the header, the group table with each
 * group's tag count, the vCPU registers (vmss-cpu.c) and the memory layout.
 * Everything comes from what open validated and kept; nothing is read here.
 */
#include "config.h"

#include <stdio.h>

#include "vmss.h"

static const char *magic_name(uint32_t m)
{
	switch (m) {
	case VMSS_MAGIC_OLD: return "old (32-bit block sizes)";
	case VMSS_MAGIC: return "checkpoint";
	case VMSS_MAGIC_PARTIAL: return "partial checkpoint";
	case VMSS_MAGIC_RESTORED: return "restored";
	case VMSS_MAGIC_NORESTORE: return "not restorable";
	default: return "unknown";
	}
}

static void hex(const struct vimg_emit *em, const char *key, uint64_t v)
{
	char b[24];

	snprintf(b, sizeof(b), "0x%llx", (unsigned long long)v);
	em->str(em->opaque, key, b);
}

static void memory_info(const struct vimg_vmstate *st, const struct vimg_emit *em)
{
	em->begin(em->opaque, "memory", false);
	em->str(em->opaque, "location", !st->mem ? "none" : st->embedded ? "embedded" : "vmem");
	if (st->mem_path)
		em->str(em->opaque, "file", st->mem_path);
	if (st->has_block) {
		em->u64(em->opaque, "block-offset", st->block_data_off);
		em->u64(em->opaque, "block-size", st->block_size);
		em->u64(em->opaque, "block-memory-size", st->block_mem_size);
		em->boolean(em->opaque, "block-compressed", st->compressed);
	}
	em->u64(em->opaque, "memory-size", st->mem_size);
	if (st->has_count)
		em->u64(em->opaque, "regions-count", st->region_count);
	if (st->has_align_mask)
		hex(em, "align-mask", st->align_mask);
	em->begin(em->opaque, "regions", true);
	for (size_t i = 0; i < st->n_regions; i++) {
		const struct vmss_region *r = &st->regions[i];

		em->begin(em->opaque, NULL, false);
		em->u64(em->opaque, "gpa", r->gpa);
		em->u64(em->opaque, "size", r->len);
		em->u64(em->opaque, "ppn", r->ppn);
		em->u64(em->opaque, "page-num", r->page_num);
		em->u64(em->opaque, "pages", r->pages);
		em->u64(em->opaque, "file-offset", st->mem_base + r->data_off);
		em->end(em->opaque);
	}
	em->end(em->opaque);
	em->end(em->opaque);
}

int vimg_vmstate_info(struct vimg_vmstate *st, const struct vimg_emit *em,
		      struct vimg_error *err)
{
	if (!vmstate_valid(st) || !em)
		return vimg_error_set(err, VIMG_EINVAL, "vmss: bad arguments to vimg_vmstate_info");
	em->begin(em->opaque, "header", false);
	hex(em, "magic", st->hdr_magic);
	em->str(em->opaque, "kind", magic_name(st->hdr_magic));
	em->u64(em->opaque, "version", st->hdr_version);
	em->u64(em->opaque, "group-count", st->n_groups);
	em->end(em->opaque);

	em->begin(em->opaque, "groups", true);
	for (uint32_t i = 0; i < st->n_groups; i++) {
		const struct vmss_group *g = &st->groups[i];

		em->begin(em->opaque, NULL, false);
		em->str(em->opaque, "name", g->name);
		em->u64(em->opaque, "offset", g->off);
		em->u64(em->opaque, "size", g->size);
		em->u64(em->opaque, "tags", g->tags);
		em->end(em->opaque);
	}
	em->end(em->opaque);

	vmss_cpu_info(st, em);
	memory_info(st, em);
	return 0;
}
