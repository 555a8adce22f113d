/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vimg_boot_run: picks the engine, builds the VM from an explicit ordered
 * table of {name, init, exit} steps (KVM, RAM, in-kernel irqchip and PIT,
 * vCPU, disk overlay, devices, firmware, reset state), runs the vCPU loop
 * with a ticker that interrupts KVM_RUN for timeouts and the BDA clock, and
 * tears down in reverse order. Nothing here prints or exits.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "boot.h"

#define DEFAULT_MEM (512ull << 20)
#define MAX_MEM (3ull << 30)
#define MIN_MEM (2ull << 20)
#define TICK_MS 20

void *vm_gpa(struct vm *vm, uint64_t gpa, uint64_t len)
{
	if (!vm->ram || gpa > vm->ram_size || len > vm->ram_size - gpa)
		return NULL;
	return vm->ram + gpa;
}

void vm_set_irq(struct vm *vm, int line, int level)
{
	if (line < 0 || line >= 16)
		return;
	vm->irq_level[line] = level;
	if (vm->vm_fd >= 0) {
		struct kvm_irq_level irq = { .irq = (uint32_t)line, .level = (uint32_t)level };
		ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq);
	}
}

void vm_stop(struct vm *vm, const char *fmt, ...)
{
	if (vm->stop)
		return;
	vm->stop = true;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(vm->exit_reason, sizeof(vm->exit_reason), fmt, ap);
	va_end(ap);
}

void vm_request_reset(struct vm *vm)
{
	vm->reset_requested = true;
}

void vm_console(struct vm *vm, const char *buf, size_t n)
{
	watch_console(&vm->watch, buf, n);
}

static void serial_out(void *opaque, uint8_t c)
{
	struct vm *vm = opaque;
	vm->uart_used = true;
	vm_console(vm, (const char *)&c, 1);
	if (c == '\n')
		watch_scan(&vm->watch);
}

static int debug_exit_io(struct vm *vm, uint64_t addr, uint8_t *data, unsigned len,
			 bool is_write, void *opaque)
{
	if (!is_write) {
		memset(data, 0xFF, len);
		return 0;
	}
	vm->exit_code = data[0];
	vm_stop(vm, "debug exit %u", data[0]);
	return 0;
}

static int sink_io(struct vm *vm, uint64_t addr, uint8_t *data, unsigned len, bool is_write,
		   void *opaque)
{
	if (!is_write)
		memset(data, 0xFF, len);
	return 0;
}

bool kvm_is_hw(char *why, size_t len)
{
	struct stat st;
	if (stat("/sys/module/kvm_pvm", &st) == 0) {
		snprintf(why, len, "emulated (kvm_pvm)");
		return false;
	}
	if (stat("/sys/module/kvm_intel", &st) == 0 || stat("/sys/module/kvm_amd", &st) == 0) {
		snprintf(why, len, "%s", "");
		return true;
	}
	snprintf(why, len, "emulated (no kvm_intel or kvm_amd)");
	return false;
}

/* ---- the ordered set-up table -------------------------------------------- */

static int kvm_init(struct vm *vm, struct vimg_error *err)
{
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		return vimg_error_set_errno(err, errno, "/dev/kvm");
	if (ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		return vimg_error_set(err, VIMG_EUNSUPPORTED, "/dev/kvm: unsupported KVM API version");
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return vimg_error_set_errno(err, errno, "boot: KVM_CREATE_VM");
	/* Needed for real mode on Intel; harmless elsewhere. */
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, 0xFFFBD000ul) < 0)
		vimg_log(2, "boot: KVM_SET_TSS_ADDR: %s", strerror(errno));
	return 0;
}

static void kvm_exit_(struct vm *vm)
{
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vm->vm_fd = vm->kvm_fd = -1;
}

static int ram_init(struct vm *vm, struct vimg_error *err)
{
	void *p = mmap(NULL, vm->ram_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return vimg_error_set_errno(err, errno, "boot: guest RAM (%llu MiB)",
					    (unsigned long long)(vm->ram_size >> 20));
	vm->ram = p;
	struct kvm_userspace_memory_region region = {
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = vm->ram_size,
		.userspace_addr = (uint64_t)(uintptr_t)p,
	};
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return vimg_error_set_errno(err, errno, "boot: KVM_SET_USER_MEMORY_REGION");
	return 0;
}

static void ram_exit(struct vm *vm)
{
	if (vm->ram)
		munmap(vm->ram, vm->ram_size);
	vm->ram = NULL;
}

static int irqchip_init(struct vm *vm, struct vimg_error *err)
{
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return vimg_error_set_errno(err, errno, "boot: KVM_CREATE_IRQCHIP");
	struct kvm_pit_config pit = { .flags = 0 };
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return vimg_error_set_errno(err, errno, "boot: KVM_CREATE_PIT2");
	return 0;
}

static void vcpu_exit_(struct vm *vm)
{
	if (vm->run)
		munmap(vm->run, vm->run_size);
	vm->run = NULL;
	if (vm->vcpu_fd >= 0)
		close(vm->vcpu_fd);
	vm->vcpu_fd = -1;
}

static int disk_init(struct vm *vm, struct vimg_error *err)
{
	return overlay_open(vm->img, vm->opts->overlay, &vm->disk, err);
}

static void disk_exit(struct vm *vm)
{
	vimg_image_close(vm->disk, NULL);
	vm->disk = NULL;
}

static int devices_init(struct vm *vm, struct vimg_error *err)
{
	struct iotrap *t = &vm->traps;
	int rc;
	serial_init(&vm->com1, 0x3F8, 4);
	vm->com1.out = serial_out;
	vm->com1.out_opaque = vm;
	rtc_init(&vm->rtc, vm->ram_size);
	pci_init(&vm->pci);
	if ((rc = iotrap_register(t, BUS_PIO, 0x3F8, 8, serial_io, &vm->com1, "com1", err)) ||
	    (rc = iotrap_register(t, BUS_PIO, 0x70, 2, rtc_io, &vm->rtc, "rtc", err)) ||
	    (rc = iotrap_register(t, BUS_PIO, 0x60, 1, i8042_io, &vm->kbd, "i8042 data", err)) ||
	    (rc = iotrap_register(t, BUS_PIO, 0x64, 1, i8042_io, &vm->kbd, "i8042 cmd", err)) ||
	    (rc = iotrap_register(t, BUS_PIO, 0x92, 1, port92_io, &vm->port92, "port 92", err)) ||
	    (rc = iotrap_register(t, BUS_PIO, 0x80, 1, sink_io, NULL, "post code", err)) ||
	    (rc = iotrap_register(t, BUS_PIO, 0xCF8, 8, pci_io, &vm->pci, "pci", err)) ||
	    (rc = iotrap_register(t, BUS_PIO, FW_HC_PORT, 1, bios_hypercall, NULL, "firmware",
				  err)) ||
	    (rc = iotrap_register(t, BUS_PIO, FW_DEBUG_EXIT_PORT, 1, debug_exit_io, NULL,
				  "debug exit", err)) ||
	    (rc = virtio_blk_init(vm, &vm->vblk, err)))
		return rc;
	return 0;
}

static void devices_exit(struct vm *vm)
{
	iotrap_free(&vm->traps);
}

static int firmware_init(struct vm *vm, struct vimg_error *err)
{
	int rc = bios_load_firmware(vm, err);
	if (rc == 0 && vm->opts->kernel)
		rc = linux_load(vm, vm->opts->kernel, vm->opts->initrd, vm->opts->append, err);
	return rc;
}

static const struct {
	const char *name;
	int (*init)(struct vm *vm, struct vimg_error *err);
	void (*exit)(struct vm *vm);
} steps[] = {
	{ "kvm", kvm_init, kvm_exit_ },
	{ "ram", ram_init, ram_exit },
	{ "irqchip", irqchip_init, NULL },
	{ "vcpu", vcpu_create, vcpu_exit_ },
	{ "disk", disk_init, disk_exit },
	{ "devices", devices_init, devices_exit },
	{ "firmware", firmware_init, NULL },
	{ "reset", vcpu_reset, NULL },
};
#define NSTEPS (sizeof(steps) / sizeof(steps[0]))

/* ---- ticker: interrupts KVM_RUN so timeouts and the clock advance ---------- */

#define TICK_SIGNAL SIGUSR2

static struct kvm_run *volatile tick_run;

static void tick_handler(int sig)
{
	struct kvm_run *r = tick_run;
	if (r)
		r->immediate_exit = 1;
}

struct ticker {
	pthread_t thread, target;
	volatile bool stop;
	bool started;
};

static void *ticker_main(void *opaque)
{
	struct ticker *t = opaque;
	struct timespec ts = { 0, TICK_MS * 1000000l };
	while (!t->stop) {
		nanosleep(&ts, NULL);
		if (!t->stop)
			pthread_kill(t->target, TICK_SIGNAL);
	}
	return NULL;
}

/* ---- the run ------------------------------------------------------------ */

static int kvm_run_all(struct vimg_image *img, const struct vimg_boot_opts *o,
		       struct vimg_boot_result *r, struct vm *vm, struct vimg_error *err)
{
	size_t done = 0;
	int rc = 0;
	vm->img = img;
	for (; done < NSTEPS; done++) {
		rc = steps[done].init(vm, err);
		if (rc < 0) {
			vimg_error_prefix(err, "boot: set-up step %s", steps[done].name);
			break;
		}
	}

	if (rc == 0) {
		struct sigaction sa, old;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = tick_handler;
		sigemptyset(&sa.sa_mask);
		sigaction(TICK_SIGNAL, &sa, &old);
		sigset_t set, oldset;
		sigemptyset(&set);
		sigaddset(&set, TICK_SIGNAL);
		pthread_sigmask(SIG_UNBLOCK, &set, &oldset);
		tick_run = vm->run;
		struct ticker tk = { .target = pthread_self() };
		if (pthread_create(&tk.thread, NULL, ticker_main, &tk) == 0)
			tk.started = true;
		rc = vcpu_loop(vm, err);
		tk.stop = true;
		if (tk.started)
			pthread_join(tk.thread, NULL);
		tick_run = NULL;
		pthread_sigmask(SIG_SETMASK, &oldset, NULL);
		sigaction(TICK_SIGNAL, &old, NULL);
		watch_scan(&vm->watch);
		vcpu_where(vm, &r->cs, &r->ip);
		bios_screen(vm, r->screen);
	}
	while (done-- > 0)
		if (steps[done].exit)
			steps[done].exit(vm);
	return rc;
}

static void finish_result(struct vimg_boot_result *r, const struct watch *w, const char *reason,
			  int exit_code, bool powered_off)
{
	r->stage = (enum vimg_boot_stage)w->stage;
	for (int i = 0; i < VIMG_BOOT_NSTAGES; i++)
		r->stage_ms[i] = w->stage_ms[i];
	r->total_ms = (watch_now_ns() - w->t0_ns) / 1000000;
	r->expect_matched = w->expect_matched;
	r->exit_code = exit_code;
	snprintf(r->exit_reason, sizeof(r->exit_reason), "%s", reason);
	if (w->has_expect)
		r->passed = w->expect_matched;
	else if (w->until > 0)
		r->passed = w->stage >= w->until;
	else
		r->passed = exit_code == 0 || powered_off ||
			    (exit_code < 0 && w->stage >= VIMG_BOOT_KERNEL);
	if (exit_code > 0)
		r->passed = false;
}

int vimg_boot_run(struct vimg_image *img, const struct vimg_boot_opts *o,
		  struct vimg_boot_result *r, struct vimg_error *err)
{
	if (!img || !o || !r)
		return vimg_error_set(err, VIMG_EINVAL, "boot: missing argument");
	memset(r, 0, sizeof(*r));
	for (int i = 0; i < VIMG_BOOT_NSTAGES; i++)
		r->stage_ms[i] = -1;
	r->exit_code = -1;
	if ((o->initrd || o->append) && !o->kernel)
		return vimg_error_set(err, VIMG_EINVAL, "boot: initrd and append need a kernel");
	uint64_t mem = o->mem ? o->mem : DEFAULT_MEM;
	if (mem < MIN_MEM || mem > MAX_MEM)
		return vimg_error_set(err, VIMG_EINVAL, "boot: memory must be 2 MiB to 3 GiB");
	mem &= ~0xFFFFFull; /* whole MiB */

	const char *engine = o->engine ? o->engine : "auto";
	char why[64];
	bool hw = kvm_is_hw(why, sizeof(why));
	if (strcmp(engine, "auto") == 0) {
		/* Hardware KVM first; on an emulated one qemu is faster when installed. */
		bool kvm_ok = access("/dev/kvm", R_OK | W_OK) == 0;

		engine = kvm_ok && hw && !o->uefi_code ? "kvm"
			 : qemu_installed() || o->uefi_code ? "qemu"
			 : kvm_ok ? "kvm" : "qemu";
		r->engine_auto = true;
	}
	if (o->uefi_code && strcmp(engine, "qemu"))
		return vimg_error_set(err, VIMG_EUNSUPPORTED,
				      "boot: the kvm engine's firmware is a BIOS: UEFI needs the qemu "
				      "engine");
	if (strcmp(engine, "qemu") == 0) {
		bool kvm_ok = access("/dev/kvm", R_OK | W_OK) == 0;
		snprintf(r->engine, sizeof(r->engine), "qemu");
		r->kvm_hw = kvm_ok && hw;
		if (!r->kvm_hw)
			snprintf(r->emulated, sizeof(r->emulated), "%s",
				 kvm_ok ? why : "no /dev/kvm: qemu TCG");
		struct vimg_boot_opts qo = *o;
		qo.mem = mem;
		return qemu_run(img, &qo, r, r->kvm_hw, err);
	}
	if (strcmp(engine, "kvm") != 0)
		return vimg_error_set(err, VIMG_EINVAL, "boot: unknown engine '%s' (kvm, qemu, auto)",
				      engine);
	snprintf(r->engine, sizeof(r->engine), "kvm");
	r->kvm_hw = hw;
	snprintf(r->emulated, sizeof(r->emulated), "%s", why);
	snprintf(r->stage_source, sizeof(r->stage_source),
		 "firmware calls, vCPU inside the loaded kernel, console patterns");
	if (access("/dev/kvm", F_OK) != 0)
		return vimg_error_set_errno(err, errno, "/dev/kvm");

	struct vm *vm = calloc(1, sizeof(*vm));
	if (!vm)
		return vimg_error_set(err, VIMG_ENOMEM, "boot: out of memory");
	vm->kvm_fd = vm->vm_fd = vm->vcpu_fd = -1;
	vm->ram_size = mem;
	vm->kvm_hw = hw;
	snprintf(vm->emulated, sizeof(vm->emulated), "%s", why);
	vm->timer = o->timer_set ? o->timer : hw;
	vm->opts = o;
	vm->keys = o->keys;
	vm->exit_code = -1;
	vm->err = err;
	int rc = watch_init(&vm->watch, o, err);
	if (rc < 0) {
		free(vm);
		return rc;
	}
	rc = kvm_run_all(img, o, r, vm, err);
	if (rc < 0 && !vm->stop)
		vm_stop(vm, "error: %s", err ? err->msg : "KVM failure");
	/* Linux without ACPI prints this and halts with interrupts off. */
	bool powered_off = strstr(vm->exit_reason, "power off") != NULL;
	finish_result(r, &vm->watch, vm->exit_reason, vm->exit_code, powered_off);
	r->resets = vm->resets;
	r->exits = vm->exits;
	r->hypercalls = vm->hypercalls;
	watch_free(&vm->watch);
	free(vm);
	return rc;
}

void boot_finish_result(struct vimg_boot_result *r, const struct watch *w, const char *reason,
			int exit_code, bool powered_off)
{
	finish_result(r, w, reason, exit_code, powered_off);
}
