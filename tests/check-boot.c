/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of the boot launcher's pieces that need no /dev/kvm: the trap
 * table, the 8250's registers, the int 13h bounds checks (buffer outside RAM
 * or in the firmware, sectors past the end, bad CHS) and the overlay.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "boot/boot.h"
#include "endian.h"
#include "testlib.h"

static int calls;

static int count_io(struct vm *vm, uint64_t addr, uint8_t *data, unsigned len, bool is_write,
		    void *opaque)
{
	calls++;
	if (!is_write)
		data[0] = (uint8_t)(uintptr_t)opaque;
	return 0;
}

START_TEST(trap_table)
{
	struct iotrap t = { 0 };
	struct vimg_error err = VIMG_ERROR_INIT;
	ck_assert_vimg_ok(iotrap_register(&t, BUS_PIO, 0x3F8, 8, count_io, (void *)1, "a", &err), &err);
	ck_assert_vimg_ok(iotrap_register(&t, BUS_PIO, 0x70, 2, count_io, (void *)2, "b", &err), &err);
	ck_assert_vimg_ok(iotrap_register(&t, BUS_MMIO, 0x3F8, 8, count_io, (void *)3, "c", &err), &err);
	ck_assert_vimg_ok(iotrap_register(&t, BUS_PIO, 0xCF8, 8, count_io, (void *)4, "d", &err), &err);
	/* Overlaps are refused, on either side. */
	ck_assert_vimg_fails(iotrap_register(&t, BUS_PIO, 0x3FF, 1, count_io, NULL, "e", &err), &err,
			     VIMG_EINVAL, "overlaps a");
	vimg_error_clear(&err);
	ck_assert_vimg_fails(iotrap_register(&t, BUS_PIO, 0x6F, 2, count_io, NULL, "f", &err), &err,
			     VIMG_EINVAL, "overlaps b");
	vimg_error_clear(&err);
	ck_assert_uint_eq(t.n, 4);
	for (size_t i = 1; i < t.n; i++)
		ck_assert(t.v[i - 1].bus < t.v[i].bus ||
			  (t.v[i - 1].bus == t.v[i].bus && t.v[i - 1].base < t.v[i].base));
	ck_assert_ptr_null(iotrap_find(&t, BUS_PIO, 0x3F7));
	ck_assert_str_eq(iotrap_find(&t, BUS_PIO, 0x3F8)->name, "a");
	ck_assert_str_eq(iotrap_find(&t, BUS_PIO, 0x3FF)->name, "a");
	ck_assert_ptr_null(iotrap_find(&t, BUS_PIO, 0x400));
	ck_assert_str_eq(iotrap_find(&t, BUS_MMIO, 0x3F9)->name, "c");
	ck_assert_str_eq(iotrap_find(&t, BUS_PIO, 0x71)->name, "b");

	uint8_t d[4] = { 0 };
	calls = 0;
	ck_assert_int_eq(iotrap_dispatch(NULL, &t, BUS_PIO, 0xCFC, d, 4, false), 0);
	ck_assert_int_eq(calls, 1);
	ck_assert_int_eq(d[0], 4);
	/* Unknown: all ones, remembered once. */
	ck_assert_int_eq(iotrap_dispatch(NULL, &t, BUS_PIO, 0x1234, d, 4, false), 0);
	ck_assert_int_eq(d[0], 0xFF);
	ck_assert_int_eq(d[3], 0xFF);
	ck_assert(iotrap_was_unknown(&t, BUS_PIO, 0x1234));
	ck_assert(!iotrap_was_unknown(&t, BUS_MMIO, 0x1234));
	ck_assert_int_eq(iotrap_dispatch(NULL, &t, BUS_PIO, 0x1234, d, 1, true), 0);
	ck_assert_uint_eq(t.n_unknown, 1);
	ck_assert_uint_eq(t.unknown_hits, 2);
	iotrap_free(&t);
}
END_TEST

static char txbuf[64];
static size_t txlen;

static void tx(void *opaque, uint8_t c)
{
	if (txlen < sizeof(txbuf))
		txbuf[txlen++] = (char)c;
}

static uint8_t rd(struct vm *vm, struct serial8250 *s, unsigned reg)
{
	uint8_t v;
	serial_io(vm, s->base + reg, &v, 1, false, s);
	return v;
}

static void wr(struct vm *vm, struct serial8250 *s, unsigned reg, uint8_t v)
{
	serial_io(vm, s->base + reg, &v, 1, true, s);
}

START_TEST(serial_registers)
{
	struct vm *vm = calloc(1, sizeof(*vm));
	vm->vm_fd = vm->vcpu_fd = -1;
	struct serial8250 s;
	serial_init(&s, 0x3F8, 4);
	s.out = tx;
	txlen = 0;

	/* LSR: transmitter empty, no data. */
	ck_assert_int_eq(rd(vm, &s, 5), 0x60);
	/* DLAB: divisor latch instead of THR/IER. */
	wr(vm, &s, 3, 0x83);
	wr(vm, &s, 0, 0x01);
	wr(vm, &s, 1, 0x00);
	ck_assert_int_eq(rd(vm, &s, 0), 0x01);
	ck_assert_uint_eq(txlen, 0);
	wr(vm, &s, 3, 0x03);
	ck_assert_int_eq(rd(vm, &s, 3), 0x03);
	/* THR transmits. */
	wr(vm, &s, 0, 'h');
	wr(vm, &s, 0, 'i');
	ck_assert_uint_eq(txlen, 2);
	ck_assert(memcmp(txbuf, "hi", 2) == 0);
	/* Scratch register. */
	wr(vm, &s, 7, 0x5A);
	ck_assert_int_eq(rd(vm, &s, 7), 0x5A);
	/* IIR: none, then THRI once enabled (with OUT2 the IRQ line rises), cleared by reading IIR. */
	wr(vm, &s, 4, 0x00);
	ck_assert_int_eq(rd(vm, &s, 2) & 0x0F, 0x01);
	wr(vm, &s, 1, 0x02);
	ck_assert_int_eq(vm->irq_level[4], 0);
	wr(vm, &s, 4, 0x08);
	ck_assert_int_eq(vm->irq_level[4], 1);
	ck_assert_int_eq(rd(vm, &s, 2) & 0x0F, 0x02);
	ck_assert_int_eq(rd(vm, &s, 2) & 0x0F, 0x01);
	ck_assert_int_eq(vm->irq_level[4], 0);
	/* FIFO enabled shows in IIR. */
	wr(vm, &s, 2, 0x07);
	ck_assert_int_eq(rd(vm, &s, 2) & 0xC0, 0xC0);
	/* Loopback: MSR mirrors MCR, THR comes back in RBR with LSR DR. */
	wr(vm, &s, 1, 0x01);
	wr(vm, &s, 4, 0x1A);
	ck_assert_int_eq(rd(vm, &s, 6) & 0xF0, 0x90);
	size_t before = txlen;
	wr(vm, &s, 0, 'x');
	ck_assert_uint_eq(txlen, before);
	ck_assert_int_eq(rd(vm, &s, 5) & 0x01, 0x01);
	ck_assert_int_eq(rd(vm, &s, 2) & 0x0F, 0x04);
	ck_assert_int_eq(rd(vm, &s, 0), 'x');
	ck_assert_int_eq(rd(vm, &s, 5) & 0x01, 0x00);
	/* Without loopback: modem lines up. */
	wr(vm, &s, 4, 0x0B);
	ck_assert_int_eq(rd(vm, &s, 6) & 0xF0, 0xB0);
	free(vm);
}
END_TEST

/* A VM with 2 MiB of RAM and a 1 MiB raw disk whose sector n is filled with n. */
static struct vm *disk_vm(struct vimg_image **img)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	const char *path = test_path("disk.raw");
	FILE *f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	uint8_t sec[512];
	for (unsigned n = 0; n < 2048; n++) {
		memset(sec, (int)(n & 0xFF), sizeof(sec));
		fwrite(sec, 1, sizeof(sec), f);
	}
	fclose(f);
	ck_assert_vimg_ok(vimg_image_open(path, "raw", 0, img, &err), &err);
	struct vm *vm = calloc(1, sizeof(*vm));
	vm->vm_fd = vm->vcpu_fd = -1;
	vm->ram_size = 2 << 20;
	vm->ram = calloc(1, vm->ram_size);
	ck_assert_vimg_ok(overlay_open(*img, NULL, &vm->disk, &err), &err);
	return vm;
}

static void free_vm(struct vm *vm, struct vimg_image *img)
{
	vimg_image_close(vm->disk, NULL);
	free(vm->ram);
	free(vm);
	vimg_image_close(img, NULL);
}

static struct hc_frame ext_read(struct vm *vm, uint16_t count, uint16_t seg, uint16_t off,
				uint64_t lba, uint64_t flat)
{
	uint8_t *dap = vm->ram + 0x600;
	memset(dap, 0, 0x18);
	dap[0] = flat ? 0x18 : 0x10;
	st_le16(dap + 2, count);
	st_le16(dap + 4, off);
	st_le16(dap + 6, seg);
	st_le64(dap + 8, lba);
	st_le64(dap + 16, flat);
	struct hc_frame f = { 0 };
	f.eax = 0x4200;
	f.edx = 0x80;
	f.ds = 0;
	f.esi = 0x600;
	bios_int13(vm, &f);
	return f;
}

START_TEST(int13_bounds)
{
	struct vimg_image *img;
	struct vm *vm = disk_vm(&img);

	/* A good read: 2 sectors from LBA 7 to 1000:0000. */
	struct hc_frame f = ext_read(vm, 2, 0x1000, 0, 7, 0);
	ck_assert_int_eq((f.eax >> 8) & 0xFF, 0);
	ck_assert_int_eq(f.flags & 1, 0);
	ck_assert_int_eq(vm->ram[0x10000], 7);
	ck_assert_int_eq(vm->ram[0x10000 + 512], 8);

	/* Buffer outside RAM (flat address), and straddling its end. */
	f = ext_read(vm, 1, 0xFFFF, 0xFFFF, 0, 0x100000000ull);
	ck_assert_int_eq((f.eax >> 8) & 0xFF, 0x01);
	ck_assert_int_eq(f.flags & 1, 1);
	ck_assert_int_eq(ld_le16(vm->ram + 0x602), 0);
	f = ext_read(vm, 2, 0xFFFF, 0xFFFF, 0, (2 << 20) - 512);
	ck_assert_int_eq((f.eax >> 8) & 0xFF, 0x01);
	/* Into the firmware segment. */
	f = ext_read(vm, 1, 0xF000, 0x100, 0, 0);
	ck_assert_int_eq((f.eax >> 8) & 0xFF, 0x01);
	/* Sectors past the end; a huge LBA; the last sector is fine. */
	f = ext_read(vm, 8, 0x1000, 0, 2044, 0);
	ck_assert_int_eq((f.eax >> 8) & 0xFF, 0x04);
	f = ext_read(vm, 1, 0x1000, 0, UINT64_MAX, 0);
	ck_assert_int_eq((f.eax >> 8) & 0xFF, 0x04);
	f = ext_read(vm, 1, 0x1000, 0, 2047, 0);
	ck_assert_int_eq((f.eax >> 8) & 0xFF, 0);
	ck_assert_int_eq(vm->ram[0x10000], 2047 & 0xFF);
	/* DAP itself outside RAM. */
	f = (struct hc_frame){ .eax = 0x4200, .edx = 0x80, .ds = 0xFFFF, .esi = 0xFFF8 };
	vm->ram_size = 0x100000; /* FFFF:FFF8 is past the end now */
	bios_int13(vm, &f);
	vm->ram_size = 2 << 20;
	ck_assert_int_eq((f.eax >> 8) & 0xFF, 0x01);

	/* CHS: geometry 16/63 for 1 MiB -> 2 cylinders; cylinder 5 is not there. */
	f = (struct hc_frame){ .eax = 0x0800, .edx = 0x80 };
	bios_int13(vm, &f);
	ck_assert_int_eq(f.ecx & 0x3F, 63);
	ck_assert_int_eq((f.edx >> 8) & 0xFF, 15);
	f = (struct hc_frame){ .eax = 0x0201, .ecx = 0x0501, .edx = 0x0080, .es = 0x1000 };
	bios_int13(vm, &f);
	ck_assert_int_eq((f.eax >> 8) & 0xFF, 0x04);
	ck_assert_int_eq(f.eax & 0xFF, 0);
	/* Sector 0 does not exist in CHS. */
	f = (struct hc_frame){ .eax = 0x0201, .ecx = 0x0000, .edx = 0x0080, .es = 0x1000 };
	bios_int13(vm, &f);
	ck_assert_int_eq((f.eax >> 8) & 0xFF, 0x04);
	/* CHS 0/1/1 = LBA 63. */
	f = (struct hc_frame){ .eax = 0x0201, .ecx = 0x0001, .edx = 0x0180, .es = 0x1000 };
	bios_int13(vm, &f);
	ck_assert_int_eq((f.eax >> 8) & 0xFF, 0);
	ck_assert_int_eq(vm->ram[0x10000], 63);
	/* 41h: BX=AA55, CX bit 0. */
	f = (struct hc_frame){ .eax = 0x4100, .ebx = 0x55AA, .edx = 0x80 };
	bios_int13(vm, &f);
	ck_assert_int_eq(f.ebx & 0xFFFF, 0xAA55);
	ck_assert_int_eq(f.ecx & 1, 1);
	ck_assert_int_eq(f.flags & 1, 0);
	/* Other drives fail. */
	f = (struct hc_frame){ .eax = 0x0201, .ecx = 0x0001, .edx = 0x0000, .es = 0x1000 };
	bios_int13(vm, &f);
	ck_assert_int_eq(f.flags & 1, 1);
	free_vm(vm, img);
}
END_TEST

START_TEST(overlay_keeps_image)
{
	struct vimg_image *img;
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vm *vm = disk_vm(&img);
	/* Write through int 13h 43h, read it back, the image keeps its data. */
	memset(vm->ram + 0x20000, 0xEE, 3 * 512);
	uint8_t *dap = vm->ram + 0x600;
	memset(dap, 0, 16);
	dap[0] = 0x10;
	st_le16(dap + 2, 3);
	st_le16(dap + 6, 0x2000);
	st_le64(dap + 8, 127); /* crosses a 64 KiB chunk boundary */
	struct hc_frame f = { .eax = 0x4300, .edx = 0x80, .esi = 0x600 };
	bios_int13(vm, &f);
	ck_assert_int_eq(f.flags & 1, 0);
	uint8_t buf[4 * 512];
	ck_assert_vimg_ok(vimg_image_read(vm->disk, buf, 126 * 512, sizeof(buf), &err), &err);
	ck_assert_int_eq(buf[0], 126);
	ck_assert_int_eq(buf[512], 0xEE);
	ck_assert_int_eq(buf[3 * 512 - 1], 0xEE);
	ck_assert_int_eq(buf[3 * 512 + 1], 0xEE);
	ck_assert_uint_eq(overlay_mem_bytes(vm->disk), 2 * 65536);
	ck_assert_vimg_ok(vimg_image_read(img, buf, 127 * 512, 512, &err), &err);
	ck_assert_int_eq(buf[0], 127);
	ck_assert_vimg_fails(vimg_image_write(vm->disk, buf, (1 << 20) - 256, 512, &err), &err,
			     VIMG_ERANGE, "beyond the disk size");
	free_vm(vm, img);
}
END_TEST

/* The zero page as GRUB leaves it for a relocatable x86-64 bzImage. */
static void grub_boot_params(uint8_t *bp)
{
	memset(bp, 0, 4096);
	st_le32(bp + 0x1F4, 0x7A000);		/* syssize: 7.6 MiB */
	memcpy(bp + 0x202, "HdrS", 4);
	st_le16(bp + 0x206, 0x020F);
	bp[0x210] = 0x72;			/* type_of_loader: GRUB */
	bp[0x211] = 0x01;			/* LOADED_HIGH */
	st_le32(bp + 0x214, 0x1000000);		/* code32_start */
	st_le32(bp + 0x230, 0x200000);		/* kernel_alignment */
	st_le64(bp + 0x258, 0x1000000);		/* pref_address */
	st_le32(bp + 0x260, 0x3F8D000);		/* init_size */
}

START_TEST(kernel_range_from_boot_params)
{
	uint8_t bp[4096];
	uint64_t start, end, ram = 512ull << 20;
	grub_boot_params(bp);
	ck_assert(boot_params_kernel_range(bp, ram, &start, &end));
	ck_assert_uint_eq(start, 0x1000000);
	ck_assert_uint_eq(end, 0x1000000 + 0x3F8D000);
	/* Loaded low (SYSLINUX at 1 MiB): head_64.S moves up to pref_address. */
	st_le32(bp + 0x214, 0x100000);
	ck_assert(boot_params_kernel_range(bp, ram, &start, &end));
	ck_assert_uint_eq(start, 0x100000);
	ck_assert_uint_eq(end, 0x1000000 + 0x3F8D000);
	/* Off an alignment boundary above pref_address: rounded up. */
	st_le32(bp + 0x214, 0x2100000);
	ck_assert(boot_params_kernel_range(bp, ram, &start, &end));
	ck_assert_uint_eq(end, 0x2200000 + 0x3F8D000);
	/* Clipped to RAM. */
	ck_assert(boot_params_kernel_range(bp, 64ull << 20, &start, &end));
	ck_assert_uint_eq(end, 64ull << 20);
	/* Old protocol: no init_size, the protected-mode part only. */
	grub_boot_params(bp);
	st_le16(bp + 0x206, 0x0204);
	ck_assert(boot_params_kernel_range(bp, ram, &start, &end));
	ck_assert_uint_eq(end, 0x1000000 + 0x7A0000);
	/* Not a loader's zero page: the bzImage file itself, or garbage. */
	grub_boot_params(bp);
	bp[0x210] = 0;
	ck_assert(!boot_params_kernel_range(bp, ram, &start, &end));
	grub_boot_params(bp);
	bp[0x211] = 0;
	ck_assert(!boot_params_kernel_range(bp, ram, &start, &end));
	grub_boot_params(bp);
	st_le16(bp + 0x206, 0x0201);
	ck_assert(!boot_params_kernel_range(bp, ram, &start, &end));
	grub_boot_params(bp);
	st_le32(bp + 0x214, 0x9000);
	ck_assert(!boot_params_kernel_range(bp, ram, &start, &end));
	st_le32(bp + 0x214, 0xFFFFF000);
	ck_assert(!boot_params_kernel_range(bp, ram, &start, &end));
	grub_boot_params(bp);
	bp[0x203] = 'x';
	ck_assert(!boot_params_kernel_range(bp, ram, &start, &end));
	/* Hostile alignment and sizes never wrap. */
	grub_boot_params(bp);
	st_le32(bp + 0x230, 0x80000000);
	st_le32(bp + 0x260, 0xFFFFFFFF);
	st_le64(bp + 0x258, 0xFFFFFFFFFFFFF000ull);
	ck_assert(boot_params_kernel_range(bp, ram, &start, &end));
	ck_assert_uint_eq(start, 0x1000000);
	ck_assert_uint_eq(end, ram);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("boot");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, trap_table);
	tcase_add_test(tc, serial_registers);
	tcase_add_test(tc, int13_bounds);
	tcase_add_test(tc, overlay_keeps_image);
	tcase_add_test(tc, kernel_range_from_boot_params);
	suite_add_tcase(s, tc);
	return s;
}
