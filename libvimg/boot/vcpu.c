/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The one vCPU: creation (with the host's supported CPUID), the real-mode
 * reset state at the firmware entry, and the run loop, which is one switch
 * on exit_reason:
 *   IO, MMIO        → the trap table;
 *   HLT             → only without the in-kernel LAPIC: ends the run;
 *   SHUTDOWN        → triple fault: a reset event;
 *   SYSTEM_EVENT    → power off / reset / crash;
 *   FAIL_ENTRY, INTERNAL_ERROR → a vimg_error naming CS:IP and registers.
 * Between exits it checks the watcher (pattern, stage, timeout) and resets.
 * While the loader stage runs, every exit and every tick of the ticker also
 * looks for a Linux kernel the loader started (kernel-entry.c).
 */
#include "config.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "boot.h"
#include "fw-offsets.h"

#define MAX_RESETS 3

int vcpu_create(struct vm *vm, struct vimg_error *err)
{
	vm->vcpu_fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, 0);
	if (vm->vcpu_fd < 0)
		return vimg_error_set_errno(err, errno, "boot: KVM_CREATE_VCPU");
	int sz = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (sz < (int)sizeof(struct kvm_run))
		return vimg_error_set_errno(err, errno, "boot: KVM_GET_VCPU_MMAP_SIZE");
	vm->run_size = (size_t)sz;
	void *p = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vm->vcpu_fd, 0);
	if (p == MAP_FAILED)
		return vimg_error_set_errno(err, errno, "boot: mmap kvm_run");
	vm->run = p;

	/* Give the guest the host's supported CPUID (Linux checks for long mode). */
	unsigned n = 128;
	struct kvm_cpuid2 *cpuid = NULL;
	for (;;) {
		cpuid = calloc(1, sizeof(*cpuid) + n * sizeof(cpuid->entries[0]));
		if (!cpuid)
			return vimg_error_set(err, VIMG_ENOMEM, "boot: out of memory");
		cpuid->nent = n;
		if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) == 0)
			break;
		int e = errno;
		free(cpuid);
		if (e != E2BIG || n >= 4096)
			return vimg_error_set_errno(err, e, "boot: KVM_GET_SUPPORTED_CPUID");
		n *= 2;
	}
	int rc = ioctl(vm->vcpu_fd, KVM_SET_CPUID2, cpuid);
	int e = errno;
	free(cpuid);
	if (rc < 0)
		return vimg_error_set_errno(err, e, "boot: KVM_SET_CPUID2");
	return 0;
}

static void real_seg(struct kvm_segment *s, uint16_t sel, bool code)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->base = (uint64_t)sel << 4;
	s->limit = 0xFFFF;
	s->type = code ? 0x0B : 0x03;
	s->present = 1;
	s->s = 1;
}

int vcpu_reset(struct vm *vm, struct vimg_error *err)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	if (ioctl(vm->vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return vimg_error_set_errno(err, errno, "boot: KVM_GET_SREGS");
	real_seg(&sregs.cs, FW_SEG, true);
	real_seg(&sregs.ds, 0, false);
	real_seg(&sregs.es, 0, false);
	real_seg(&sregs.fs, 0, false);
	real_seg(&sregs.gs, 0, false);
	real_seg(&sregs.ss, 0, false);
	sregs.cr0 = 0x60000010;
	sregs.cr3 = 0;
	sregs.cr4 = 0;
	sregs.efer = 0;
	sregs.gdt.base = 0;
	sregs.gdt.limit = 0xFFFF;
	sregs.idt.base = 0;
	sregs.idt.limit = 0x3FF;
	if (ioctl(vm->vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
		return vimg_error_set_errno(err, errno, "boot: KVM_SET_SREGS");
	memset(&regs, 0, sizeof(regs));
	regs.rip = FW_SYM_fw_start;
	regs.rflags = 0x2;
	if (ioctl(vm->vcpu_fd, KVM_SET_REGS, &regs) < 0)
		return vimg_error_set_errno(err, errno, "boot: KVM_SET_REGS");
	return 0;
}

void vcpu_where(struct vm *vm, uint16_t *cs, uint32_t *ip)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	*cs = 0;
	*ip = 0;
	if (vm->vcpu_fd < 0 || ioctl(vm->vcpu_fd, KVM_GET_REGS, &regs) < 0 ||
	    ioctl(vm->vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return;
	*cs = sregs.cs.selector;
	*ip = (uint32_t)regs.rip;
}

/* "at CS:IP 1234:5678 (linear ...), CR0=... EAX=..." for error messages. */
static void dump_regs(struct vm *vm, char *buf, size_t len)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	if (ioctl(vm->vcpu_fd, KVM_GET_REGS, &r) < 0 || ioctl(vm->vcpu_fd, KVM_GET_SREGS, &s) < 0) {
		snprintf(buf, len, "(registers unavailable)");
		return;
	}
	snprintf(buf, len,
		 "at CS:IP %04x:%08llx (linear 0x%llx), CR0=%08llx EFER=%llx EAX=%08llx "
		 "EBX=%08llx ECX=%08llx EDX=%08llx ESI=%08llx EDI=%08llx EBP=%08llx "
		 "SS:SP=%04x:%08llx EFLAGS=%08llx",
		 s.cs.selector, (unsigned long long)r.rip,
		 (unsigned long long)(s.cs.base + r.rip), (unsigned long long)s.cr0,
		 (unsigned long long)s.efer, (unsigned long long)r.rax, (unsigned long long)r.rbx,
		 (unsigned long long)r.rcx, (unsigned long long)r.rdx, (unsigned long long)r.rsi,
		 (unsigned long long)r.rdi, (unsigned long long)r.rbp, s.ss.selector,
		 (unsigned long long)r.rsp, (unsigned long long)r.rflags);
}

static int guest_failure(struct vm *vm, const char *what, struct vimg_error *err)
{
	char regs[400];
	dump_regs(vm, regs, sizeof(regs));
	vm_stop(vm, "%s", what);
	return vimg_error_set(err, VIMG_EIO, "boot: %s %s", what, regs);
}

static int do_reset(struct vm *vm, const char *why, struct vimg_error *err)
{
	vm->reset_requested = false;
	vm->resets++;
	if (vm->resets > MAX_RESETS) {
		vm_stop(vm, "reset loop: %u resets (last: %s)", vm->resets, why);
		return 0;
	}
	vimg_log(2, "boot: guest reset (%s)", why);
	int rc = bios_load_firmware(vm, err);
	if (rc == 0)
		rc = vcpu_reset(vm, err);
	return rc;
}

static int handle_io(struct vm *vm, struct vimg_error *err)
{
	struct kvm_run *run = vm->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	unsigned size = run->io.size;
	if (run->io.data_offset + (uint64_t)size * run->io.count > vm->run_size)
		return vimg_error_set(err, VIMG_EIO, "boot: bad KVM I/O exit");
	vm->io_exits++;
	for (uint32_t i = 0; i < run->io.count; i++, data += size) {
		int rc = iotrap_dispatch(vm, &vm->traps, BUS_PIO, run->io.port, data, size,
					 run->io.direction == KVM_EXIT_IO_OUT);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int vcpu_loop(struct vm *vm, struct vimg_error *err)
{
	struct kvm_run *run = vm->run;
	for (;;) {
		/* After every exit and every tick of the ticker. */
		if (vm->watch.stage == VIMG_BOOT_LOADER && kernel_entry_seen(vm))
			watch_stage(&vm->watch, VIMG_BOOT_KERNEL);
		if (vm->reset_requested) {
			int rc = do_reset(vm, "reset line", err);
			if (rc < 0)
				return rc;
		}
		watch_scan(&vm->watch);
		if (!vm->stop && watch_done(&vm->watch))
			vm_stop(vm, vm->watch.expect_matched ? "expected output seen"
							      : "stage %s reached",
				vimg_boot_stage_name(vm->watch.stage));
		if (!vm->stop && vm->watch.powered_off)
			vm_stop(vm, "guest power off (Linux halted)");
		if (!vm->stop && watch_timed_out(&vm->watch))
			vm_stop(vm, "timeout");
		if (vm->stop)
			return 0;

		if (ioctl(vm->vcpu_fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				run->immediate_exit = 0;
				bios_tick(vm);
				continue;
			}
			return vimg_error_set_errno(err, errno, "boot: KVM_RUN");
		}
		vm->exits++;
		int rc = 0;
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			rc = handle_io(vm, err);
			break;
		case KVM_EXIT_MMIO:
			vm->mmio_exits++;
			rc = iotrap_dispatch(vm, &vm->traps, BUS_MMIO, run->mmio.phys_addr,
					     run->mmio.data, run->mmio.len > 8 ? 8 : run->mmio.len,
					     run->mmio.is_write);
			break;
		case KVM_EXIT_HLT:
			vm_stop(vm, "guest halted");
			break;
		case KVM_EXIT_SHUTDOWN:
			rc = do_reset(vm, "triple fault", err);
			break;
		case KVM_EXIT_SYSTEM_EVENT:
			switch (run->system_event.type) {
			case KVM_SYSTEM_EVENT_RESET:
				rc = do_reset(vm, "system reset", err);
				break;
			case KVM_SYSTEM_EVENT_SHUTDOWN:
				vm_stop(vm, "guest power off");
				break;
			default:
				vm_stop(vm, "guest crashed (system event %u)", run->system_event.type);
				break;
			}
			break;
		case KVM_EXIT_FAIL_ENTRY: {
			char what[96];
			snprintf(what, sizeof(what), "KVM entry failed (reason 0x%llx)",
				 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
			return guest_failure(vm, what, err);
		}
		case KVM_EXIT_INTERNAL_ERROR: {
			char what[96];
			snprintf(what, sizeof(what), "KVM internal error (suberror %u)%s",
				 run->internal.suberror,
				 vm->kvm_hw ? "" : " - the emulated KVM cannot run this code");
			return guest_failure(vm, what, err);
		}
		case KVM_EXIT_INTR:
			bios_tick(vm);
			break;
		default: {
			char what[64];
			snprintf(what, sizeof(what), "unexpected KVM exit %u", run->exit_reason);
			return guest_failure(vm, what, err);
		}
		}
		if (rc < 0)
			return rc;
	}
}
