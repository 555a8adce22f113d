/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Is a Linux kernel that the boot loader loaded running now? The firmware
 * sees the 16-bit boot protocol (SYSLINUX jumps to the real-mode setup code
 * through it), but GRUB 2 uses the 32-bit protocol and jumps straight to
 * code32_start in protected mode, so two checks look at the vCPU instead:
 *
 *  - at the entry (any exit): flat 32-bit protected mode, ESI at a
 *    boot_params whose setup header has "HdrS" and EIP within 4 KiB of its
 *    code32_start (the kernel's first port access or HLT comes a few
 *    instructions after the entry);
 *  - by sampling (the ticker's interrupts and other exits, at most every
 *    SCAN_MS): RIP inside the memory that a loader-prepared boot_params
 *    describes. An x86-64 decompressor runs for minutes under KVM's
 *    instruction emulator without one VM exit, its boot_params pointer long
 *    gone from ESI, so the zero page is found by scanning the resident
 *    pages of guest RAM (mincore: pages the guest never touched hold
 *    zeros). A loader fills in type_of_loader and LOADED_HIGH; a copy of the
 *    bzImage file itself has neither, and GRUB's own code above 1 MiB never
 *    runs inside the range it reserved for the kernel.
 *
 * The range is where the boot protocol lets the kernel live: from
 * code32_start to the end of its init_size buffer, which a relocatable
 * kernel moves up to kernel_alignment or pref_address first (head_64.S
 * copies the decompressor to the top of that buffer).
 */
#include "config.h"

#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "boot.h"
#include "endian.h"

#define CODE32_WINDOW 0x1000
#define SCAN_MS 100
#define PAGE 4096u

/* Offsets in struct boot_params (Documentation/arch/x86/boot.rst, zero-page.rst). */
#define BP_SYSSIZE 0x1F4
#define BP_HEADER 0x202
#define BP_VERSION 0x206
#define BP_LOADER_TYPE 0x210
#define BP_LOADFLAGS 0x211
#define BP_CODE32_START 0x214
#define BP_KERNEL_ALIGNMENT 0x230
#define BP_PREF_ADDRESS 0x258
#define BP_INIT_SIZE 0x260
#define LOADED_HIGH 0x01

bool boot_params_kernel_range(const uint8_t *bp, uint64_t ram_size, uint64_t *start,
				     uint64_t *end)
{
	if (memcmp(bp + BP_HEADER, "HdrS", 4) != 0)
		return false;
	uint16_t version = ld_le16(bp + BP_VERSION);
	uint32_t code32 = ld_le32(bp + BP_CODE32_START);
	if (version < 0x0202 || bp[BP_LOADER_TYPE] == 0 || !(bp[BP_LOADFLAGS] & LOADED_HIGH) ||
	    code32 < 0x100000 || code32 >= ram_size)
		return false;
	uint64_t base = code32, size = (uint64_t)ld_le32(bp + BP_SYSSIZE) * 16;
	if (version >= 0x020A) {
		uint64_t align = ld_le32(bp + BP_KERNEL_ALIGNMENT);
		uint64_t pref = ld_le64(bp + BP_PREF_ADDRESS);
		if (align && !(align & (align - 1)) && align <= (1u << 30))
			base = (base + align - 1) & ~(align - 1);
		if (pref > base && pref < ram_size)
			base = pref;
		size = ld_le32(bp + BP_INIT_SIZE);
	}
	*start = code32;
	*end = base + size < ram_size ? base + size : ram_size;
	return *end > *start;
}

static bool entered_32bit(struct vm *vm, const struct kvm_sregs *s, const struct kvm_regs *r)
{
	if ((s->efer & (1u << 10)) || !s->cs.db || s->cs.base != 0 || s->ds.base != 0)
		return false;
	uint32_t eip = (uint32_t)r->rip, esi = (uint32_t)r->rsi;
	const uint8_t *bp = vm_gpa(vm, esi, PAGE);
	if (!bp || memcmp(bp + BP_HEADER, "HdrS", 4) != 0)
		return false;
	uint32_t code32 = ld_le32(bp + BP_CODE32_START);
	if (code32 < 0x100000 || eip < code32 || eip - code32 >= CODE32_WINDOW)
		return false;
	vimg_log(2, "boot: Linux 32-bit entry: EIP %08x, code32_start %08x, boot_params at %08x",
		 eip, code32, esi);
	return true;
}

/* A loader-prepared boot_params in resident guest RAM whose kernel range holds rip. */
static bool running_in_loaded_kernel(struct vm *vm, uint64_t rip)
{
	size_t npages = vm->ram_size / PAGE;
	unsigned char *resident = malloc(npages);
	if (!resident)
		return false;
	bool found = false;
	if (mincore(vm->ram, vm->ram_size, resident) == 0) {
		for (size_t i = 0; i < npages && !found; i++) {
			uint64_t start, end;
			if (!(resident[i] & 1))
				continue;
			const uint8_t *bp = vm->ram + (uint64_t)i * PAGE;
			if (boot_params_kernel_range(bp, vm->ram_size, &start, &end) &&
			    rip >= start && rip < end) {
				vimg_log(2, "boot: Linux kernel running: RIP %llx in %llx-%llx "
					 "(boot_params at %llx)", (unsigned long long)rip,
					 (unsigned long long)start, (unsigned long long)end,
					 (unsigned long long)i * PAGE);
				found = true;
			}
		}
	}
	free(resident);
	return found;
}

bool kernel_entry_seen(struct vm *vm)
{
	struct kvm_sregs s;
	struct kvm_regs r;
	if (ioctl(vm->vcpu_fd, KVM_GET_SREGS, &s) < 0 || !(s.cr0 & 1) ||
	    ioctl(vm->vcpu_fd, KVM_GET_REGS, &r) < 0)
		return false;
	if (entered_32bit(vm, &s, &r))
		return true;
	/* The decompressor runs identity-mapped: its linear RIP is physical. */
	uint64_t rip = s.cs.base + r.rip;
	if (rip < 0x100000 || rip >= vm->ram_size)
		return false;
	int64_t now = watch_now_ns();
	if (vm->kernel_scan_ns && now - vm->kernel_scan_ns < SCAN_MS * 1000000ll)
		return false;
	vm->kernel_scan_ns = now;
	return running_in_loaded_kernel(vm, rip);
}
