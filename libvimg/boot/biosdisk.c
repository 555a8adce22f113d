/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The VMM side of int 13h: drive 80h is the image (through the overlay), in
 * CHS (02h/03h/04h, geometry from 08h) and through the EDD extensions
 * (41h/42h/43h/44h/47h/48h), following what SeaBIOS's disk.c answers.
 *
 * Every request is validated before any byte moves: the buffer must lie in
 * guest RAM and outside the firmware segment, the sectors inside the disk,
 * the CHS address inside the geometry. A bad request is answered with an
 * error code in AH and CF set (01h bad parameter or buffer, 04h sector not
 * found) and a zero transfer count; it never ends the run.
 */
#include "config.h"

#include <string.h>

#include "boot.h"
#include "endian.h"

#define FLAG_CF 0x0001

enum {
	DISK_OK = 0x00,
	DISK_EPARAM = 0x01,
	DISK_ENOTFOUND = 0x04,
	DISK_EIO = 0x20,	/* controller failure: libvimg read/write error */
};

struct geom {
	uint32_t cyls, heads, spt;
	uint64_t sectors;
};

static struct geom geometry(const struct vm *vm)
{
	struct geom g;
	g.sectors = vimg_image_virtual_size(vm->disk) / 512;
	g.spt = 63;
	g.heads = g.sectors <= 1024ull * 16 * 63 ? 16 : 255;
	uint64_t c = g.sectors / (g.heads * g.spt);
	g.cyls = c > 1024 ? 1024 : c == 0 ? 1 : (uint32_t)c;
	return g;
}

static void set_ah(struct hc_frame *f, uint8_t ah)
{
	f->eax = (f->eax & ~0xFF00u) | ((uint32_t)ah << 8);
	if (ah)
		f->flags |= FLAG_CF;
	else
		f->flags &= (uint16_t)~FLAG_CF;
}

/* Host pointer to a guest buffer a disk transfer may use, or NULL. */
static uint8_t *disk_buffer(struct vm *vm, uint64_t gpa, uint64_t len, bool to_guest)
{
	if (to_guest && gpa < FW_BASE + FW_SIZE_MAX && gpa + len > FW_BASE)
		return NULL; /* the firmware is ROM to the guest */
	return vm_gpa(vm, gpa, len);
}

/* Move count sectors at lba between the disk and guest memory; returns an AH code. */
static uint8_t transfer(struct vm *vm, uint64_t lba, uint64_t count, uint64_t gpa, int op)
{
	uint64_t sectors = vimg_image_virtual_size(vm->disk) / 512;
	if (count == 0)
		return DISK_OK;
	if (lba >= sectors || count > sectors - lba)
		return DISK_ENOTFOUND;
	if (op == 0x04 || op == 0x44) /* verify */
		return DISK_OK;
	bool to_guest = op == 0x02 || op == 0x42;
	uint8_t *p = disk_buffer(vm, gpa, count * 512, to_guest);
	if (!p)
		return DISK_EPARAM;
	struct vimg_error e = VIMG_ERROR_INIT;
	int rc = to_guest ? vimg_image_read(vm->disk, p, lba * 512, (size_t)(count * 512), &e)
			  : vimg_image_write(vm->disk, p, lba * 512, (size_t)(count * 512), &e);
	if (rc < 0) {
		vimg_log(1, "boot: int 13h: %s", e.msg);
		return DISK_EIO;
	}
	return DISK_OK;
}

static uint8_t chs(struct vm *vm, struct hc_frame *f, uint8_t ah)
{
	struct geom g = geometry(vm);
	uint32_t count = f->eax & 0xFF;
	uint32_t cl = f->ecx & 0xFF, ch = (f->ecx >> 8) & 0xFF;
	uint32_t sector = cl & 0x3F, cyl = ch | ((cl & 0xC0) << 2);
	uint32_t head = (f->edx >> 8) & 0xFF;
	if (count == 0 || count > 128 || sector == 0 || sector > g.spt || head >= g.heads ||
	    cyl >= g.cyls) {
		f->eax &= ~0xFFu;
		return count == 0 || count > 128 ? DISK_EPARAM : DISK_ENOTFOUND;
	}
	uint64_t lba = ((uint64_t)cyl * g.heads + head) * g.spt + sector - 1;
	uint64_t gpa = (uint64_t)f->es * 16 + (f->ebx & 0xFFFF);
	uint8_t rc = transfer(vm, lba, count, gpa, ah);
	if (rc)
		f->eax &= ~0xFFu; /* AL: sectors transferred */
	return rc;
}

static uint8_t ext_rw(struct vm *vm, struct hc_frame *f, uint8_t ah)
{
	uint64_t dap_gpa = (uint64_t)f->ds * 16 + (f->esi & 0xFFFF);
	uint8_t *dap = vm_gpa(vm, dap_gpa, 16);
	if (!dap || dap[0] < 16)
		return DISK_EPARAM;
	uint16_t count = ld_le16(dap + 2);
	uint16_t off = ld_le16(dap + 4), seg = ld_le16(dap + 6);
	uint64_t lba = ld_le64(dap + 8);
	uint64_t gpa = (uint64_t)seg * 16 + off;
	if (off == 0xFFFF && seg == 0xFFFF) {
		uint8_t *ext = dap[0] >= 0x18 ? vm_gpa(vm, dap_gpa, 0x18) : NULL;
		if (!ext) {
			st_le16(dap + 2, 0);
			return DISK_EPARAM;
		}
		gpa = ld_le64(ext + 0x10);
	}
	uint8_t rc = transfer(vm, lba, count, gpa, ah);
	if (rc)
		st_le16(dap + 2, 0);
	return rc;
}

static uint8_t ext_params(struct vm *vm, struct hc_frame *f)
{
	struct geom g = geometry(vm);
	uint8_t *p = vm_gpa(vm, (uint64_t)f->ds * 16 + (f->esi & 0xFFFF), 0x1A);
	if (!p)
		return DISK_EPARAM;
	uint16_t size = ld_le16(p);
	if (size < 0x1A)
		return DISK_EPARAM;
	uint16_t out = size >= 0x1E && vm_gpa(vm, (uint64_t)f->ds * 16 + (f->esi & 0xFFFF), 0x1E)
			       ? 0x1E : 0x1A;
	memset(p + 2, 0, out - 2u);
	st_le16(p, out);
	st_le16(p + 2, 0x0002); /* CHS information valid */
	st_le32(p + 4, g.cyls);
	st_le32(p + 8, g.heads);
	st_le32(p + 12, g.spt);
	st_le64(p + 16, g.sectors);
	st_le16(p + 24, 512);
	if (out >= 0x1E)
		st_le32(p + 26, 0xFFFFFFFFu); /* no DPTE */
	return DISK_OK;
}

int bios_int13(struct vm *vm, struct hc_frame *f)
{
	uint8_t ah = (f->eax >> 8) & 0xFF, dl = f->edx & 0xFF;
	uint8_t *last = vm_gpa(vm, 0x474, 1);
	uint8_t rc;

	if (dl != 0x80) {
		if (ah == 0x15 && dl >= 0x80) { /* no such drive */
			set_ah(f, 0);
			return 0;
		}
		set_ah(f, DISK_EPARAM);
		return 0;
	}
	switch (ah) {
	case 0x00: case 0x0C: case 0x0D: case 0x10: case 0x11: case 0x47:
		rc = DISK_OK;
		break;
	case 0x01:
		f->eax = (f->eax & ~0xFFu) | (last ? *last : 0);
		rc = DISK_OK;
		set_ah(f, rc);
		return 0;
	case 0x02: case 0x03: case 0x04:
		rc = chs(vm, f, ah);
		break;
	case 0x08: {
		struct geom g = geometry(vm);
		uint32_t c = g.cyls - 1;
		f->ecx = (f->ecx & ~0xFFFFu) | ((c & 0xFF) << 8) | ((c >> 2) & 0xC0) | g.spt;
		f->edx = (f->edx & ~0xFFFFu) | ((g.heads - 1) << 8) | 1;
		f->eax &= ~0xFFu;
		rc = DISK_OK;
		break;
	}
	case 0x15: {
		struct geom g = geometry(vm);
		uint32_t n = g.sectors > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)g.sectors;
		f->ecx = (f->ecx & ~0xFFFFu) | (n >> 16);
		f->edx = (f->edx & ~0xFFFFu) | (n & 0xFFFF);
		set_ah(f, 0x03); /* fixed disk */
		f->flags &= (uint16_t)~FLAG_CF;
		return 0;
	}
	case 0x41:
		if ((f->ebx & 0xFFFF) != 0x55AA) {
			rc = DISK_EPARAM;
			break;
		}
		f->ebx = (f->ebx & ~0xFFFFu) | 0xAA55;
		f->ecx = (f->ecx & ~0xFFFFu) | 0x0005; /* fixed disk access, EDD */
		set_ah(f, 0x30);		       /* EDD 3.0 */
		f->flags &= (uint16_t)~FLAG_CF;
		return 0;
	case 0x42: case 0x43: case 0x44:
		rc = ext_rw(vm, f, ah);
		break;
	case 0x48:
		rc = ext_params(vm, f);
		break;
	default:
		rc = DISK_EPARAM;
		break;
	}
	if (last)
		*last = rc;
	set_ah(f, rc);
	return 0;
}
