/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The firmware's services on the VMM side. A firmware stub pushes the
 * register frame (fw.h) and writes the service number to FW_HC_PORT; here
 * the frame is read from SS:SP, served and written back, and the stub pops
 * it and IRETs. Nothing touches vCPU registers, so this works the same
 * under hardware KVM and under KVM's instruction emulator.
 *
 * Services: POST done, int 10h (VGA text at 0xB8000, BDA cursor; teletype
 * mirrored to the console until the guest drives the UART itself), int 13h
 * (biosdisk.c), int 15h (E820, E801, 88h, A20, 87h, 86h), int 16h (scripted
 * keys; a key wait rewinds the caller to its INT), int 1Ah (ticks, RTC),
 * int 18h/19h (boot). Stage markers: POST → firmware, the boot sector jump →
 * loader, int 15h EC00h or int 16h 03h (Linux's setup code) or a direct
 * kernel jump → kernel.
 */
#include "config.h"

#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "boot.h"
#include "endian.h"

#define FLAG_CF 0x0001
#define FLAG_ZF 0x0040

extern const uint8_t boot_fw_blob[], boot_fw_blob_end[];

void frame_load(struct hc_frame *f)
{
	const uint8_t *p = f->p;
	f->es = ld_le16(p + FR_ES);
	f->ds = ld_le16(p + FR_DS);
	f->edi = ld_le32(p + FR_EDI);
	f->esi = ld_le32(p + FR_ESI);
	f->ebp = ld_le32(p + FR_EBP);
	f->ebx = ld_le32(p + FR_EBX);
	f->edx = ld_le32(p + FR_EDX);
	f->ecx = ld_le32(p + FR_ECX);
	f->eax = ld_le32(p + FR_EAX);
	f->ip = ld_le16(p + FR_IP);
	f->cs = ld_le16(p + FR_CS);
	f->flags = ld_le16(p + FR_FLAGS);
}

void frame_store(const struct hc_frame *f)
{
	uint8_t *p = f->p;
	st_le16(p + FR_ES, f->es);
	st_le16(p + FR_DS, f->ds);
	st_le32(p + FR_EDI, f->edi);
	st_le32(p + FR_ESI, f->esi);
	st_le32(p + FR_EBP, f->ebp);
	st_le32(p + FR_EBX, f->ebx);
	st_le32(p + FR_EDX, f->edx);
	st_le32(p + FR_ECX, f->ecx);
	st_le32(p + FR_EAX, f->eax);
	st_le16(p + FR_IP, f->ip);
	st_le16(p + FR_CS, f->cs);
	st_le16(p + FR_FLAGS, f->flags);
}

int bios_load_firmware(struct vm *vm, struct vimg_error *err)
{
	size_t n = (size_t)(boot_fw_blob_end - boot_fw_blob);
	if (n == 0 || n > FW_SIZE_MAX || vm->ram_size < FW_BASE + FW_SIZE_MAX)
		return vimg_error_set(err, VIMG_EINVAL, "boot: firmware does not fit (%zu bytes)", n);
	memcpy(vm->ram + FW_BASE, boot_fw_blob, n);
	/* Seed the BDA tick count from the local time of day. */
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	int64_t since_midnight = tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
	vm->tick_base_ns = watch_now_ns() - since_midnight * 1000000000ll;
	return 0;
}

void bios_tick(struct vm *vm)
{
	if (vm->timer)
		return;
	uint8_t *bda = vm_gpa(vm, 0x46C, 5);
	if (!bda)
		return;
	int64_t ns = watch_now_ns() - vm->tick_base_ns;
	uint64_t ticks = (uint64_t)(ns / 1000) * 1193182 / 65536 / 1000000;
	if (ticks >= 0x1800B0) {
		ticks %= 0x1800B0;
		bda[4] = 1;
	}
	st_le32(bda, (uint32_t)ticks);
}

/* ---- int 10h --------------------------------------------------------- */

#define VGA_BASE 0xB8000
#define COLS 80
#define ROWS 25

static uint8_t *vga(struct vm *vm)
{
	return vm_gpa(vm, VGA_BASE, COLS * ROWS * 2);
}

static void cursor_get(struct vm *vm, unsigned page, unsigned *row, unsigned *col)
{
	uint8_t *c = vm_gpa(vm, 0x450 + 2 * (page & 7), 2);
	*col = c ? c[0] : 0;
	*row = c ? c[1] : 0;
	if (*col >= COLS)
		*col = COLS - 1;
	if (*row >= ROWS)
		*row = ROWS - 1;
}

static void cursor_set(struct vm *vm, unsigned page, unsigned row, unsigned col)
{
	uint8_t *c = vm_gpa(vm, 0x450 + 2 * (page & 7), 2);
	if (c) {
		c[0] = (uint8_t)col;
		c[1] = (uint8_t)row;
	}
}

static void scroll(struct vm *vm, unsigned lines, uint8_t attr, unsigned r0, unsigned c0,
		   unsigned r1, unsigned c1, bool up)
{
	uint8_t *v = vga(vm);
	if (!v)
		return;
	if (r1 >= ROWS)
		r1 = ROWS - 1;
	if (c1 >= COLS)
		c1 = COLS - 1;
	if (r0 > r1 || c0 > c1)
		return;
	unsigned h = r1 - r0 + 1;
	if (lines == 0 || lines > h)
		lines = h;
	for (unsigned i = 0; i < h; i++) {
		unsigned dst = up ? r0 + i : r1 - i;
		bool blank = i + lines >= h;
		unsigned src = up ? dst + lines : dst - lines;
		for (unsigned c = c0; c <= c1; c++) {
			uint8_t *d = v + 2 * (dst * COLS + c);
			if (blank) {
				d[0] = ' ';
				d[1] = attr;
			} else {
				memcpy(d, v + 2 * (src * COLS + c), 2);
			}
		}
	}
}

static void put_char(struct vm *vm, uint8_t ch, uint8_t attr, bool use_attr, bool mirror)
{
	uint8_t page = 0;
	uint8_t *bp = vm_gpa(vm, 0x462, 1);
	if (bp)
		page = *bp & 7;
	unsigned row, col;
	cursor_get(vm, page, &row, &col);
	if (mirror && !vm->uart_used)
		vm_console(vm, (const char *)&ch, 1);
	uint8_t *v = vga(vm);
	switch (ch) {
	case 7:
		return;
	case 8:
		if (col)
			col--;
		break;
	case '\r':
		col = 0;
		break;
	case '\n':
		row++;
		break;
	default:
		if (v) {
			v[2 * (row * COLS + col)] = ch;
			if (use_attr)
				v[2 * (row * COLS + col) + 1] = attr;
			else if (v[2 * (row * COLS + col) + 1] == 0)
				v[2 * (row * COLS + col) + 1] = 0x07;
		}
		if (++col == COLS) {
			col = 0;
			row++;
		}
		break;
	}
	if (row == ROWS) {
		scroll(vm, 1, 0x07, 0, 0, ROWS - 1, COLS - 1, true);
		row = ROWS - 1;
	}
	cursor_set(vm, page, row, col);
}

static void int10(struct vm *vm, struct hc_frame *f)
{
	uint8_t ah = (f->eax >> 8) & 0xFF, al = f->eax & 0xFF;
	uint8_t bh = (f->ebx >> 8) & 0xFF, bl = f->ebx & 0xFF;
	unsigned row, col;

	switch (ah) {
	case 0x00: { /* set mode: text only; clear unless bit 7 */
		uint8_t *mode = vm_gpa(vm, 0x449, 1);
		if (mode)
			*mode = al & 0x7F;
		if (!(al & 0x80))
			scroll(vm, 0, 0x07, 0, 0, ROWS - 1, COLS - 1, true);
		cursor_set(vm, 0, 0, 0);
		f->eax = (f->eax & ~0xFFu) | 0x30;
		break;
	}
	case 0x01: {
		uint8_t *shape = vm_gpa(vm, 0x460, 2);
		if (shape)
			st_le16(shape, (uint16_t)f->ecx);
		break;
	}
	case 0x02:
		cursor_set(vm, bh, (f->edx >> 8) & 0xFF, f->edx & 0xFF);
		break;
	case 0x03: {
		cursor_get(vm, bh, &row, &col);
		uint8_t *shape = vm_gpa(vm, 0x460, 2);
		f->edx = (f->edx & ~0xFFFFu) | (row << 8) | col;
		f->ecx = (f->ecx & ~0xFFFFu) | (shape ? ld_le16(shape) : 0x0607);
		break;
	}
	case 0x05: {
		uint8_t *p = vm_gpa(vm, 0x462, 1);
		if (p)
			*p = al & 7;
		break;
	}
	case 0x06:
	case 0x07:
		scroll(vm, al, bh, (f->ecx >> 8) & 0xFF, f->ecx & 0xFF, (f->edx >> 8) & 0xFF,
		       f->edx & 0xFF, ah == 0x06);
		break;
	case 0x08: {
		uint8_t *v = vga(vm);
		cursor_get(vm, bh, &row, &col);
		if (v)
			f->eax = (f->eax & ~0xFFFFu) | ld_le16(v + 2 * (row * COLS + col));
		break;
	}
	case 0x09:
	case 0x0A: {
		uint8_t *v = vga(vm);
		cursor_get(vm, bh, &row, &col);
		unsigned n = f->ecx & 0xFFFF;
		for (unsigned i = 0; v && i < n && row * COLS + col + i < COLS * ROWS; i++) {
			v[2 * (row * COLS + col + i)] = al;
			if (ah == 0x09)
				v[2 * (row * COLS + col + i) + 1] = bl;
		}
		break;
	}
	case 0x0E:
		put_char(vm, al, 0, false, true);
		break;
	case 0x0F:
		f->eax = (f->eax & ~0xFFFFu) | (COLS << 8) | 0x03;
		f->ebx &= ~0xFF00u;
		break;
	case 0x11:
		if (al == 0x30) {
			f->ecx = (f->ecx & ~0xFFFFu) | 16;
			f->edx = (f->edx & ~0xFFu) | (ROWS - 1);
		}
		break;
	case 0x12:
		if (bl == 0x10) {
			f->ebx = (f->ebx & ~0xFFFFu) | 0x0003;
			f->ecx = (f->ecx & ~0xFFFFu) | 0x0009;
		}
		break;
	case 0x13: { /* write string ES:BP, CX chars at DH:DL */
		unsigned n = f->ecx & 0xFFFF;
		bool attrs = al & 2;
		uint8_t *s = vm_gpa(vm, (uint64_t)f->es * 16 + (f->ebp & 0xFFFF), n * (attrs ? 2u : 1u));
		if (!s)
			break;
		unsigned orow, ocol;
		cursor_get(vm, bh, &orow, &ocol);
		cursor_set(vm, bh, (f->edx >> 8) & 0xFF, f->edx & 0xFF);
		for (unsigned i = 0; i < n; i++) {
			uint8_t ch = attrs ? s[2 * i] : s[i];
			uint8_t at = attrs ? s[2 * i + 1] : bl;
			put_char(vm, ch, at, true, true);
		}
		if (!(al & 1))
			cursor_set(vm, bh, orow, ocol);
		break;
	}
	case 0x1A:
		if (al == 0) {
			f->eax = (f->eax & ~0xFFu) | 0x1A;
			f->ebx = (f->ebx & ~0xFFFFu) | 0x0008;
		}
		break;
	case 0x4F: /* VBE: not supported */
		f->eax = (f->eax & ~0xFFFFu) | 0x014F;
		break;
	default:
		break;
	}
}

/* ---- int 15h ----------------------------------------------------------- */

struct e820 {
	uint64_t base, len;
	uint32_t type;
};

static unsigned e820_map(const struct vm *vm, struct e820 *m)
{
	unsigned n = 0;
	m[n++] = (struct e820){ 0, EBDA_BASE, 1 };
	m[n++] = (struct e820){ EBDA_BASE, 0xA0000 - EBDA_BASE, 2 };
	m[n++] = (struct e820){ 0xF0000, 0x10000, 2 };
	m[n++] = (struct e820){ 0x100000, vm->ram_size - 0x100000, 1 };
	return n;
}

static void int15(struct vm *vm, struct hc_frame *f)
{
	uint16_t ax = f->eax & 0xFFFF;
	uint8_t ah = ax >> 8;
	uint64_t ext_kb = (vm->ram_size - 0x100000) >> 10;
	bool ok = true;
	uint8_t code = 0x86;

	if ((f->eax == 0xE820 || ax == 0xE820) && f->edx == 0x534D4150) {
		struct e820 m[8];
		unsigned n = e820_map(vm, m), i = f->ebx;
		uint32_t want = f->ecx >= 24 ? 24 : 20;
		uint8_t *p = f->ecx >= 20 && i < n
				     ? vm_gpa(vm, (uint64_t)f->es * 16 + (f->edi & 0xFFFF), want)
				     : NULL;
		if (!p) {
			ok = false;
		} else {
			st_le64(p, m[i].base);
			st_le64(p + 8, m[i].len);
			st_le32(p + 16, m[i].type);
			if (want == 24)
				st_le32(p + 20, 1);
			f->eax = 0x534D4150;
			f->ecx = want;
			f->ebx = i + 1 < n ? i + 1 : 0;
		}
	} else if (ax == 0xE801) {
		uint64_t low = ext_kb > 0x3C00 ? 0x3C00 : ext_kb;
		uint64_t high = vm->ram_size > (16 << 20) ? (vm->ram_size - (16 << 20)) >> 16 : 0;
		if (high > 0xFFFF)
			high = 0xFFFF;
		f->eax = (f->eax & ~0xFFFFu) | (uint32_t)low;
		f->ecx = (f->ecx & ~0xFFFFu) | (uint32_t)low;
		f->ebx = (f->ebx & ~0xFFFFu) | (uint32_t)high;
		f->edx = (f->edx & ~0xFFFFu) | (uint32_t)high;
	} else if (ah == 0x88) {
		f->eax = (f->eax & ~0xFFFFu) | (uint32_t)(ext_kb > 0xFFFF ? 0xFFFF : ext_kb);
	} else if (ax == 0x2400 || ax == 0x2401) {
		vm->kbd.a20 = ax == 0x2401;
		f->eax &= ~0xFF00u;
	} else if (ax == 0x2402) {
		f->eax = (f->eax & ~0xFFFFu) | (vm->kbd.a20 ? 1 : 0);
	} else if (ax == 0x2403) {
		f->eax &= ~0xFF00u;
		f->ebx = (f->ebx & ~0xFFFFu) | 3;
	} else if (ah == 0x87) { /* copy extended memory through a GDT at ES:SI */
		uint8_t *gdt = vm_gpa(vm, (uint64_t)f->es * 16 + (f->esi & 0xFFFF), 0x30);
		uint64_t len = (uint64_t)(f->ecx & 0xFFFF) * 2;
		if (!gdt) {
			ok = false;
			code = 0x01;
		} else {
			uint64_t src = ld_le16(gdt + 0x12) | (uint64_t)gdt[0x14] << 16 |
				       (uint64_t)gdt[0x17] << 24;
			uint64_t dst = ld_le16(gdt + 0x1A) | (uint64_t)gdt[0x1C] << 16 |
				       (uint64_t)gdt[0x1F] << 24;
			uint8_t *s = vm_gpa(vm, src, len), *d = vm_gpa(vm, dst, len);
			if (!s || !d || (dst < FW_BASE + FW_SIZE_MAX && dst + len > FW_BASE)) {
				ok = false;
				code = 0x01;
			} else {
				memmove(d, s, len);
				f->eax &= ~0xFF00u;
			}
		}
	} else if (ah == 0x86) {
		uint64_t us = ((uint64_t)(f->ecx & 0xFFFF) << 16) | (f->edx & 0xFFFF);
		if (us > 100000)
			us = 100000;
		struct timespec ts = { 0, (long)us * 1000 };
		nanosleep(&ts, NULL);
		f->eax &= ~0xFF00u;
	} else if (ax == 0xEC00) {
		/* Linux's setup code announces its CPU mode: the kernel runs. */
		watch_stage(&vm->watch, VIMG_BOOT_KERNEL);
		ok = false;
	} else if (ah == 0x4F) { /* keyboard intercept: let the key through */
		f->flags |= FLAG_CF;
		return;
	} else {
		ok = false;
	}
	if (ok) {
		f->flags &= (uint16_t)~FLAG_CF;
	} else {
		f->eax = (f->eax & ~0xFF00u) | ((uint32_t)code << 8);
		f->flags |= FLAG_CF;
	}
}

/* ---- int 16h ----------------------------------------------------------- */

/* Next scripted key as AH scan code, AL character; false if none is left. */
static bool key_peek(const struct vm *vm, uint16_t *key, size_t *used)
{
	const char *k = vm->keys;
	if (!k || !*k)
		return false;
	unsigned char c = (unsigned char)k[0];
	*used = 1;
	if (c == '\\' && k[1]) {
		*used = 2;
		switch (k[1]) {
		case 'n': case 'r': c = '\r'; break;
		case 'e': c = 0x1B; break;
		case 't': c = '\t'; break;
		default: c = (unsigned char)k[1]; break;
		}
	} else if (c == '\n') {
		c = '\r';
	}
	uint8_t scan = c == '\r' ? 0x1C : c == 0x1B ? 0x01 : c == '\t' ? 0x0F : c == ' ' ? 0x39
			: c == 8 ? 0x0E : 0;
	*key = (uint16_t)(scan << 8 | c);
	return true;
}

static void int16(struct vm *vm, struct hc_frame *f)
{
	uint8_t ah = (f->eax >> 8) & 0xFF;
	uint16_t key;
	size_t used;

	switch (ah) {
	case 0x00:
	case 0x10:
		if (key_peek(vm, &key, &used)) {
			vm->keys += used;
			f->eax = (f->eax & ~0xFFFFu) | key;
			break;
		}
		{
			/* No key yet: rewind the caller to its INT 16h so that it waits
			   with interrupts as it had them, and let time pass. */
			uint8_t *insn = vm_gpa(vm, (uint64_t)f->cs * 16 + (uint16_t)(f->ip - 2), 2);
			if (insn && insn[0] == 0xCD && insn[1] == 0x16)
				f->ip -= 2;
			else
				f->eax &= ~0xFFFFu;
			struct timespec ts = { 0, 10 * 1000 * 1000 };
			nanosleep(&ts, NULL);
		}
		break;
	case 0x01:
	case 0x11:
		if (key_peek(vm, &key, &used)) {
			f->eax = (f->eax & ~0xFFFFu) | key;
			f->flags &= (uint16_t)~FLAG_ZF;
		} else {
			f->flags |= FLAG_ZF;
		}
		break;
	case 0x02:
	case 0x12:
		f->eax &= ah == 0x02 ? ~0xFFu : ~0xFFFFu;
		break;
	case 0x03:
		/* Linux's setup code sets the typematic rate: the kernel runs. */
		watch_stage(&vm->watch, VIMG_BOOT_KERNEL);
		break;
	case 0x05:
		f->eax &= ~0xFFu;
		break;
	default:
		break;
	}
}

/* ---- int 1Ah ----------------------------------------------------------- */

static uint8_t bcd(int v)
{
	return (uint8_t)(((v / 10) << 4) | (v % 10));
}

static void int1a(struct vm *vm, struct hc_frame *f)
{
	uint8_t ah = (f->eax >> 8) & 0xFF;
	uint8_t *bda = vm_gpa(vm, 0x46C, 5);
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);

	f->flags &= (uint16_t)~FLAG_CF;
	switch (ah) {
	case 0x00:
		if (bda) {
			uint32_t t = ld_le32(bda);
			f->ecx = (f->ecx & ~0xFFFFu) | (t >> 16);
			f->edx = (f->edx & ~0xFFFFu) | (t & 0xFFFF);
			f->eax = (f->eax & ~0xFFu) | bda[4];
			bda[4] = 0;
		}
		break;
	case 0x01:
		if (bda)
			st_le32(bda, ((f->ecx & 0xFFFF) << 16) | (f->edx & 0xFFFF));
		break;
	case 0x02:
		f->ecx = (f->ecx & ~0xFFFFu) | (uint32_t)(bcd(tm.tm_hour) << 8 | bcd(tm.tm_min));
		f->edx = (f->edx & ~0xFFFFu) | (uint32_t)(bcd(tm.tm_sec) << 8);
		f->eax &= ~0xFF00u;
		break;
	case 0x04:
		f->ecx = (f->ecx & ~0xFFFFu) |
			 (uint32_t)(bcd(19 + tm.tm_year / 100) << 8 | bcd(tm.tm_year % 100));
		f->edx = (f->edx & ~0xFFFFu) | (uint32_t)(bcd(tm.tm_mon + 1) << 8 | bcd(tm.tm_mday));
		f->eax &= ~0xFF00u;
		break;
	default:
		/* PCI BIOS (B1xxh) and the rest: not supported. */
		f->eax = (f->eax & ~0xFF00u) | 0x8600;
		f->flags |= FLAG_CF;
		break;
	}
}

/* ---- boot -------------------------------------------------------------- */

static void int19(struct vm *vm, struct hc_frame *f)
{
	f->ebp = vm->timer ? 1 : 0;
	f->edx = 0x80;
	if (vm->lx.enabled) {
		f->eax = 0;
		f->ebx = vm->lx.seg + 0x20u;
		f->ecx = 0;
		f->esi = vm->lx.seg;
		f->edi = vm->lx.sp;
		watch_stage(&vm->watch, VIMG_BOOT_KERNEL);
		return;
	}
	uint8_t *mbr = vm_gpa(vm, BOOT_ADDR, 512);
	struct vimg_error e = VIMG_ERROR_INIT;
	if (!mbr || vimg_image_virtual_size(vm->disk) < 512 || vimg_image_read(vm->disk, mbr, 0, 512, &e) < 0) {
		vm_stop(vm, "no bootable disk: cannot read the boot sector%s%s", e.msg[0] ? ": " : "",
			e.msg);
		f->eax = 1;
		return;
	}
	if (mbr[510] != 0x55 || mbr[511] != 0xAA) {
		vm_stop(vm, "no bootable disk: no boot signature (55 AA) in sector 0");
		f->eax = 1;
		return;
	}
	f->eax = 0;
	f->ebx = 0;
	f->ecx = BOOT_ADDR;
	f->esi = 0;
	f->edi = POST_STACK;
	watch_stage(&vm->watch, VIMG_BOOT_LOADER);
}

/* ---- dispatch ---------------------------------------------------------- */

int bios_hypercall(struct vm *vm, uint64_t addr, uint8_t *data, unsigned len, bool is_write,
		   void *opaque)
{
	if (!is_write) {
		memset(data, 0xFF, len);
		return 0;
	}
	uint8_t svc = data[0];
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	if (ioctl(vm->vcpu_fd, KVM_GET_REGS, &regs) < 0 ||
	    ioctl(vm->vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return vimg_error_set_errno(vm->err, errno, "boot: KVM_GET_REGS");
	vm->hypercalls++;
	bios_tick(vm);
	/* The frame never wraps its stack segment (a 16-bit stack). */
	uint16_t sp = (uint16_t)regs.rsp;
	unsigned need = svc == HC_POST ? FR_IP : FR_SIZE;
	if ((sregs.cr0 & 1) || (uint32_t)sp + need > 0x10000) {
		vm_stop(vm, "bad firmware call: %s, stack %04x:%04x",
			(sregs.cr0 & 1) ? "from protected mode" : "frame wraps the stack segment",
			sregs.ss.selector, sp);
		return 0;
	}
	struct hc_frame f = { .p = vm_gpa(vm, sregs.ss.base + sp, need) };
	if (!f.p) {
		vm_stop(vm, "bad firmware call: stack %04x:%04x outside RAM", sregs.ss.selector, sp);
		return 0;
	}
	if (svc == HC_POST) {
		watch_stage(&vm->watch, VIMG_BOOT_FIRMWARE);
		st_le32(f.p + FR_EAX, vm->timer ? 1 : 0);
		return 0;
	}
	frame_load(&f);
	switch (svc) {
	case HC_INT10:
		int10(vm, &f);
		break;
	case HC_INT13:
		bios_int13(vm, &f);
		break;
	case HC_INT15:
		int15(vm, &f);
		break;
	case HC_INT16:
		int16(vm, &f);
		break;
	case HC_INT1A:
		int1a(vm, &f);
		break;
	case HC_INT19:
		int19(vm, &f);
		break;
	case HC_INT18:
		vm_stop(vm, "no bootable device (int 18h)");
		break;
	default:
		vm_stop(vm, "bad firmware call: service 0x%02x", svc);
		return 0;
	}
	frame_store(&f);
	return 0;
}

void bios_screen(struct vm *vm, char screen[25][81])
{
	uint8_t *v = vga(vm);
	for (unsigned r = 0; r < ROWS; r++) {
		unsigned n = 0;
		for (unsigned c = 0; c < COLS; c++) {
			uint8_t ch = v ? v[2 * (r * COLS + c)] : ' ';
			screen[r][c] = (ch >= 0x20 && ch < 0x7F) ? (char)ch : ' ';
			if (screen[r][c] != ' ')
				n = c + 1;
		}
		screen[r][n] = 0;
	}
}
