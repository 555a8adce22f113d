/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vCPU registers from a checkpoint's "cpu" group, under the names crash's
 * vmware_vmss.c reads: per-register tags indexed by vCPU (rax .. r15, rip,
 * eflags or EFLAGS, CR64[n], IDTR[1] and [2] as low and high halves of the
 * base, S[seg] selectors, S.base64[seg] for FS and GS), or the blocks
 * gpregs (16 x u64 in crash's order: rax rcx rdx rbx rbp rsp rsi rdi
 * r8-r15), CR64 (9 x u64) and IDTR (u16 limit, u64 base). Registers are only
 * facts for inspect: a tag that does not fit (a vCPU index past the limit,
 * an odd size) is skipped rather than refused, so that the memory of a
 * state with unusual CPU records can still be read.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "endian.h"
#include "vmss.h"

static const char *const reg_name[VMSS_NREGS] = {
	"rax", "rcx", "rdx", "rbx", "rbp", "rsp", "rsi", "rdi",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
	"rip", "rflags", "idtr-base",
	"cr0", "cr1", "cr2", "cr3", "cr4", "cr5", "cr6", "cr7", "cr8",
	"es", "cs", "ss", "ds", "fs", "gs", "ldtr", "tr",
	"fs-base", "gs-base",
};

static struct vmss_vcpu *vcpu(struct vimg_vmstate *st, int32_t i, struct vimg_error *err,
			      int *rc)
{
	*rc = 0;
	if (i < 0 || i >= VMSS_MAX_VCPUS)
		return NULL;
	if ((size_t)i >= st->n_vcpus) {
		size_t n = (size_t)i + 1 > 2 * st->n_vcpus ? (size_t)i + 1 : 2 * st->n_vcpus;
		struct vmss_vcpu *v;

		if (n > VMSS_MAX_VCPUS)
			n = VMSS_MAX_VCPUS;
		if (!(v = realloc(st->vcpus, n * sizeof(*v)))) {
			*rc = vimg_error_set(err, VIMG_ENOMEM, "out of memory");
			return NULL;
		}
		memset(v + st->n_vcpus, 0, (n - st->n_vcpus) * sizeof(*v));
		st->vcpus = v;
		st->n_vcpus = n;
	}
	return &st->vcpus[i];
}

static void set(struct vmss_vcpu *c, int r, uint64_t v)
{
	c->reg[r] = v;
	c->present |= 1ull << r;
}

static void cpu_block(struct vmss_vcpu *c, const struct vmss_tag *t)
{
	const uint8_t *b = t->data;
	int first, count;

	if (!strcmp(t->name, "gpregs") && t->size == 128)
		first = VMSS_RAX, count = 16;
	else if (!strcmp(t->name, "CR64") && t->size == 72)
		first = VMSS_CR0, count = 9;
	else if (!strcmp(t->name, "IDTR") && t->size == 10)
		first = VMSS_IDTR, count = 1;
	else
		return;
	if (!t->has_data)
		return;
	if (first == VMSS_IDTR)
		set(c, VMSS_IDTR, ld_le64(b + 2));
	else
		for (int i = 0; i < count; i++)
			set(c, first + i, ld_le64(b + 8 * i));
}

int vmss_cpu_tag(struct vimg_vmstate *st, const struct vmss_tag *t, struct vimg_error *err)
{
	struct vmss_vcpu *c;
	uint64_t v;
	int rc;

	if (!strcmp(t->name, "cpu:numVCPUs")) {
		if (vmss_tag_uint(t, &v))
			st->num_vcpus = (uint32_t)(v > UINT32_MAX ? UINT32_MAX : v);
		return 0;
	}
	if (t->n_idx < 1 || !(c = vcpu(st, t->idx[0], err, &rc)))
		return t->n_idx < 1 ? 0 : rc;
	if (t->block) {
		cpu_block(c, t);
		return 0;
	}
	if (!vmss_tag_uint(t, &v))
		return 0;
	for (int r = VMSS_RAX; r <= VMSS_RIP; r++)
		if (!strcmp(t->name, reg_name[r])) {
			set(c, r, v);
			return 0;
		}
	if (!strcmp(t->name, "eflags") || !strcmp(t->name, "EFLAGS"))
		set(c, VMSS_RFLAGS, (uint32_t)v);
	else if (vmss_tag_is(t, "CR64", 2) && t->idx[1] >= 0 && t->idx[1] < 9)
		set(c, VMSS_CR0 + t->idx[1], v);
	else if (vmss_tag_is(t, "IDTR", 2) && (t->idx[1] == 1 || t->idx[1] == 2))
		set(c, VMSS_IDTR, t->idx[1] == 1 ? (c->reg[VMSS_IDTR] & ~0xffffffffull) | (uint32_t)v
						 : (c->reg[VMSS_IDTR] & 0xffffffffull) | v << 32);
	else if (vmss_tag_is(t, "S", 2) && t->idx[1] >= 0 && t->idx[1] < 8)
		set(c, VMSS_ES + t->idx[1], (uint32_t)v);
	else if (vmss_tag_is(t, "S.base64", 2) && (t->idx[1] == 4 || t->idx[1] == 5))
		set(c, t->idx[1] == 4 ? VMSS_FS_BASE : VMSS_GS_BASE, v);
	return 0;
}

void vmss_cpu_info(const struct vimg_vmstate *st, const struct vimg_emit *em)
{
	char hex[24];

	if (st->num_vcpus)
		em->u64(em->opaque, "num-vcpus", st->num_vcpus);
	em->begin(em->opaque, "vcpus", true);
	for (size_t i = 0; i < st->n_vcpus; i++) {
		const struct vmss_vcpu *c = &st->vcpus[i];

		if (!c->present)
			continue;
		em->begin(em->opaque, NULL, false);
		em->u64(em->opaque, "index", i);
		for (int r = 0; r < VMSS_NREGS; r++) {
			if (!(c->present & (1ull << r)))
				continue;
			snprintf(hex, sizeof(hex), "0x%016llx", (unsigned long long)c->reg[r]);
			em->str(em->opaque, reg_name[r], hex);
		}
		em->end(em->opaque);
	}
	em->end(em->opaque);
}
