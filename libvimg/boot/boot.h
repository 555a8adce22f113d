/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Internals of the mini KVM launcher (libvimg/boot/): the VM state, the trap
 * table, the devices and the firmware services. Nothing here is public; the
 * only entry point is vimg_boot_run() in vmm.c.
 *
 * Error model: no die(). Every failure is a vimg_error; device handlers
 * return 0 or a negative code and the run loop stops on the first error.
 * Bad guest behaviour is not an error of the launcher: devices answer the
 * guest with an error code (int 13h AH, virtio status) or end the run with
 * an exit reason, never crash.
 */
#ifndef VIMG_BOOT_H
#define VIMG_BOOT_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "driver.h"
#include "fw/fw.h"
#include "vimg.h"

struct vm;

/* ---- overlay.c: the disk as the guest sees it --------------------------- */

/*
 * The image under a layer that takes every guest write: in memory, or with a
 * path a new qcow2 file backed by the image. Read and write it with
 * vimg_image_read/write; vimg_image_close it before the image.
 */
int overlay_open(struct vimg_image *img, const char *path, struct vimg_image **out,
		 struct vimg_error *err);

/* ---- iotrap.c: one sorted table for ports and MMIO ---------------------- */

enum bus { BUS_PIO = 0, BUS_MMIO = 1 };

/* One handler signature for every device: data is len bytes, little endian. */
typedef int trap_fn(struct vm *vm, uint64_t addr, uint8_t *data, unsigned len, bool is_write,
		    void *opaque);

struct trap {
	enum bus bus;
	uint64_t base, len;
	trap_fn *fn;
	void *opaque;
	const char *name;
};

struct iotrap {
	struct trap *v;		/* sorted by (bus, base), no overlaps */
	size_t n, cap;
	uint64_t *unknown;	/* (bus << 63 | addr) already logged */
	size_t n_unknown, cap_unknown;
	uint64_t unknown_hits;
};

int iotrap_register(struct iotrap *t, enum bus bus, uint64_t base, uint64_t len, trap_fn *fn,
		    void *opaque, const char *name, struct vimg_error *err);
const struct trap *iotrap_find(const struct iotrap *t, enum bus bus, uint64_t addr);
/*
 * Call the handler of addr. An unknown address reads as all ones, ignores
 * writes and is logged once (returns 0: unknown ports are not errors).
 */
int iotrap_dispatch(struct vm *vm, struct iotrap *t, enum bus bus, uint64_t addr, uint8_t *data,
		    unsigned len, bool is_write);
/* True if addr was reported as unknown (for tests). */
bool iotrap_was_unknown(const struct iotrap *t, enum bus bus, uint64_t addr);
void iotrap_free(struct iotrap *t);

/* ---- serial8250.c ------------------------------------------------------- */

struct serial8250 {
	uint16_t base;
	int irq;
	uint8_t ier, fcr, lcr, mcr, lsr_extra, scr, dll, dlm;
	bool thri_pending;	/* THR empty interrupt waiting for an IIR read */
	bool irq_level;
	uint8_t rx[16];
	unsigned rx_head, rx_n;
	uint64_t tx_bytes;
	void (*out)(void *opaque, uint8_t c);	/* transmitted byte */
	void *out_opaque;
};

void serial_init(struct serial8250 *s, uint16_t base, int irq);
/* Queue a received byte (dropped when the 16-byte FIFO is full). */
void serial_rx(struct vm *vm, struct serial8250 *s, uint8_t c);
trap_fn serial_io;

/* ---- rtc.c, i8042.c ----------------------------------------------------- */

struct rtc {
	uint8_t index;
	uint8_t nvram[128];
};
void rtc_init(struct rtc *r, uint64_t mem);
trap_fn rtc_io;

struct i8042 {
	uint8_t cmd;		/* pending command awaiting a data byte */
	uint8_t cmd_byte;
	uint8_t out;		/* output buffer */
	bool out_full;
	bool a20;
};
trap_fn i8042_io;
trap_fn port92_io;

/* ---- pci.c, virtio-blk.c ------------------------------------------------ */

#define PCI_MAX_DEV 4

struct pci_dev {
	uint8_t cfg[256];
	uint32_t bar_size[6];
	void (*bar_moved)(struct vm *vm, struct pci_dev *d, int bar);
	void *opaque;
};

struct pci {
	uint32_t addr;			/* CONFIG_ADDRESS (0xCF8) */
	struct pci_dev *dev[PCI_MAX_DEV];	/* bus 0, slot = index; 0 = host */
	struct pci_dev host;
};
/* Set up the host bridge in slot 0. */
void pci_init(struct pci *p);
trap_fn pci_io;
void pci_dev_init(struct pci_dev *d, uint16_t vendor, uint16_t device, uint32_t class_rev,
		  uint16_t subsys_vendor, uint16_t subsys);

#define VIRTIO_BLK_PORT 0xC000
#define VIRTIO_BLK_IRQ 11
#define VIRTIO_QSIZE 128

struct virtio_blk {
	struct pci_dev pci;
	uint32_t guest_features;
	uint32_t pfn;
	uint16_t qsel;
	uint16_t last_avail;
	uint8_t status, isr;
	uint64_t requests;
};
int virtio_blk_init(struct vm *vm, struct virtio_blk *v, struct vimg_error *err);
trap_fn virtio_blk_io;

/* ---- watch.c: console, patterns, stages, timeouts ----------------------- */

struct watch {
	char *buf;		/* console text since the start, NUL-terminated */
	size_t len, cap, scanned;	/* scanned: bytes already pattern-checked */
	regex_t expect;
	bool has_expect, expect_matched;
	bool powered_off;	/* Linux printed "reboot: Power down" */
	int until;		/* stage to stop at, or -1 */
	int stage;
	int64_t stage_ms[VIMG_BOOT_NSTAGES];
	int64_t t0_ns, deadline_ns;
	bool pattern_stages;	/* also detect kernel/userspace from the console */
	bool loader_banners;	/* and boot loader banners (qemu engine) */
	void (*out)(void *opaque, const char *buf, size_t n);
	void *opaque;
};

int watch_init(struct watch *w, const struct vimg_boot_opts *o, struct vimg_error *err);
void watch_free(struct watch *w);
int64_t watch_now_ns(void);
/* Append console bytes (forwarded to the caller's serial_out). */
void watch_console(struct watch *w, const char *buf, size_t n);
/* Check new console text for the expect pattern and stage markers. */
void watch_scan(struct watch *w);
void watch_stage(struct watch *w, int stage);
/* True when the run should stop (expect matched or until stage reached). */
bool watch_done(const struct watch *w);
bool watch_timed_out(const struct watch *w);
int watch_parse_stage(const char *s);

/* ---- the VM (vmm.c, vcpu.c) ---------------------------------------------- */

struct linux_boot {
	bool enabled;
	uint16_t seg;		/* real-mode setup segment */
	uint16_t sp;
};

struct vm {
	int kvm_fd, vm_fd, vcpu_fd;
	struct kvm_run *run;
	size_t run_size;
	uint8_t *ram;
	uint64_t ram_size;
	bool kvm_hw;
	char emulated[64];
	bool timer;

	struct iotrap traps;
	struct serial8250 com1;
	struct rtc rtc;
	struct i8042 kbd;
	uint8_t port92;
	struct pci pci;
	struct virtio_blk vblk;

	struct vimg_image *img;
	struct vimg_image *disk;	/* the image under its overlay */
	struct watch watch;
	struct linux_boot lx;
	const struct vimg_boot_opts *opts;
	const char *keys;	/* next scripted key */

	/* int 10h state */
	bool uart_used;		/* the guest wrote the UART: stop mirroring int 10h */

	/* events and counters */
	bool reset_requested;
	bool stop;
	int exit_code;
	char exit_reason[160];
	unsigned resets;
	uint64_t exits, io_exits, mmio_exits, hypercalls;
	int irq_level[16];
	int64_t tick_base_ns;
	int64_t kernel_scan_ns;	/* last scan for a loaded kernel (kernel-entry.c) */
	struct vimg_error *err;
};

/* Guest RAM range check: a host pointer to [gpa, gpa+len), or NULL. */
void *vm_gpa(struct vm *vm, uint64_t gpa, uint64_t len);
void vm_set_irq(struct vm *vm, int line, int level);
/* End the run with a reason (first one wins). */
void vm_stop(struct vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vm_request_reset(struct vm *vm);
/* Console output from a device or the firmware. */
void vm_console(struct vm *vm, const char *buf, size_t n);

int vcpu_create(struct vm *vm, struct vimg_error *err);
int vcpu_reset(struct vm *vm, struct vimg_error *err);
/* The run loop: one switch on exit_reason. Returns 0 when the run ended. */
int vcpu_loop(struct vm *vm, struct vimg_error *err);
void vcpu_where(struct vm *vm, uint16_t *cs, uint32_t *ip);

/* ---- kernel-entry.c ---------------------------------------------------- */

/*
 * True when the vCPU runs a Linux kernel that the boot loader loaded (its
 * 32-bit entry, or RIP inside the kernel a boot_params in RAM describes).
 */
bool kernel_entry_seen(struct vm *vm);
/*
 * The [start, end) a boot loader gave the kernel, from a 4 KiB boot_params
 * page: false unless it has the "HdrS" header, protocol 2.02 or later, a
 * type_of_loader, LOADED_HIGH and code32_start at 1 MiB or more in RAM.
 */
bool boot_params_kernel_range(const uint8_t *bp, uint64_t ram_size, uint64_t *start,
			      uint64_t *end);

/* ---- bios.c, biosdisk.c: the firmware's services ------------------------ */

/* Handler of FW_HC_PORT: reads the frame at SS:SP and serves AL's service. */
trap_fn bios_hypercall;
/* A frame in guest memory, as seen from the VMM. */
struct hc_frame {
	uint8_t *p;		/* FR_SIZE bytes at SS:SP */
	uint32_t eax, ebx, ecx, edx, esi, edi, ebp;
	uint16_t ds, es, flags, ip, cs;
};
void frame_load(struct hc_frame *f);
void frame_store(const struct hc_frame *f);
int bios_int13(struct vm *vm, struct hc_frame *f);
/* Copy the firmware into RAM and reset the BDA tick base. */
int bios_load_firmware(struct vm *vm, struct vimg_error *err);
/* Update the BDA tick count from the wall clock (when the timer IRQ is off). */
void bios_tick(struct vm *vm);
void bios_screen(struct vm *vm, char screen[25][81]);

/* ---- linux.c ----------------------------------------------------------- */

/* Load kernel/initrd/cmdline into RAM; vm->lx says where to jump. */
int linux_load(struct vm *vm, const char *kernel, const char *initrd, const char *append,
	       struct vimg_error *err);

/* ---- qemu.c ------------------------------------------------------------ */

/* Fill the stage, timing and verdict fields of r from the watcher (vmm.c). */
void boot_finish_result(struct vimg_boot_result *r, const struct watch *w, const char *reason,
			int exit_code, bool powered_off);

int qemu_run(struct vimg_image *img, const struct vimg_boot_opts *o, struct vimg_boot_result *r,
	     bool kvm_hw, struct vimg_error *err);
/* Whether qemu-system-x86_64 is on PATH (for --engine=auto). */
bool qemu_installed(void);

/* ---- emulation detection (vmm.c) --------------------------------------- */
/* Fill why (may be "") and return true if /dev/kvm is hardware-backed. */
bool kvm_is_hw(char *why, size_t len);

#endif
