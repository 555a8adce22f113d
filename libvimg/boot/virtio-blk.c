/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * virtio-blk, legacy PCI interface (1af4:1001, I/O BAR 0, one queue of
 * VIRTIO_QSIZE entries in the legacy split-ring layout aligned to 4096),
 * backed by libvimg through the boot overlay. Every descriptor address and
 * length is checked against guest RAM and every sector range against the
 * disk: a bad request completes with VIRTIO_BLK_S_IOERR, a malformed ring
 * sets the device's NEEDS_RESET status; neither stops the VMM.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "boot.h"
#include "endian.h"

/* Legacy register offsets in BAR 0. */
enum {
	VR_HOST_FEATURES = 0x00,
	VR_GUEST_FEATURES = 0x04,
	VR_QUEUE_PFN = 0x08,
	VR_QUEUE_NUM = 0x0C,
	VR_QUEUE_SEL = 0x0E,
	VR_QUEUE_NOTIFY = 0x10,
	VR_STATUS = 0x12,
	VR_ISR = 0x13,
	VR_CONFIG = 0x14,
	VR_SIZE = 0x40,
};

#define F_BLK_SEG_MAX (1u << 2)
#define F_BLK_FLUSH (1u << 9)
#define HOST_FEATURES (F_BLK_SEG_MAX | F_BLK_FLUSH)
#define STATUS_NEEDS_RESET 0x40
#define DESC_NEXT 1
#define DESC_WRITE 2
#define T_IN 0
#define T_OUT 1
#define T_FLUSH 4
#define T_GET_ID 8
#define S_OK 0
#define S_IOERR 1
#define S_UNSUPP 2

int virtio_blk_init(struct vm *vm, struct virtio_blk *v, struct vimg_error *err)
{
	memset(v, 0, sizeof(*v));
	/* Class 01 (mass storage) 80 (other), as qemu's legacy virtio-blk. */
	pci_dev_init(&v->pci, 0x1af4, 0x1001, 0x01800000, 0x1af4, 0x0002);
	st_le32(v->pci.cfg + 0x10, VIRTIO_BLK_PORT | 1);
	v->pci.bar_size[0] = VR_SIZE;
	v->pci.cfg[0x3C] = VIRTIO_BLK_IRQ;
	v->pci.cfg[0x3D] = 1; /* INTA */
	v->pci.opaque = v;
	vm->pci.dev[1] = &v->pci;
	return iotrap_register(&vm->traps, BUS_PIO, VIRTIO_BLK_PORT, VR_SIZE, virtio_blk_io, v,
			       "virtio-blk", err);
}

static void broken(struct virtio_blk *v, const char *why)
{
	if (!(v->status & STATUS_NEEDS_RESET))
		vimg_log(1, "boot: virtio-blk: %s: device needs reset", why);
	v->status |= STATUS_NEEDS_RESET;
}

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

/* Serve one request chain; returns bytes written to the guest, or -1 if the ring is broken. */
static int64_t serve(struct vm *vm, struct virtio_blk *v, const uint8_t *dtab, uint16_t head)
{
	struct desc d[VIRTIO_QSIZE];
	unsigned n = 0;
	uint16_t i = head;
	for (;;) {
		if (i >= VIRTIO_QSIZE || n >= VIRTIO_QSIZE)
			return -1;
		const uint8_t *e = dtab + 16u * i;
		d[n].addr = ld_le64(e);
		d[n].len = ld_le32(e + 8);
		d[n].flags = ld_le16(e + 12);
		d[n].next = ld_le16(e + 14);
		n++;
		if (!(d[n - 1].flags & DESC_NEXT))
			break;
		i = d[n - 1].next;
	}
	if (n < 2 || d[0].len < 16 || !(d[n - 1].flags & DESC_WRITE) || d[n - 1].len < 1)
		return -1;
	uint8_t *hdr = vm_gpa(vm, d[0].addr, 16);
	uint8_t *status = vm_gpa(vm, d[n - 1].addr, 1);
	if (!hdr || !status)
		return -1;
	uint32_t type = ld_le32(hdr);
	uint64_t off = ld_le64(hdr + 8);
	uint8_t st = S_OK;
	int64_t written = 1;
	struct vimg_error e = VIMG_ERROR_INIT;

	if (type == T_IN || type == T_OUT) {
		if (off > UINT64_MAX / 512) {
			st = S_IOERR;
			goto done;
		}
		off *= 512;
		for (unsigned k = 1; k + 1 < n && st == S_OK; k++) {
			bool to_guest = type == T_IN;
			if (((d[k].flags & DESC_WRITE) != 0) != to_guest) {
				st = S_IOERR;
				break;
			}
			uint8_t *p = vm_gpa(vm, d[k].addr, d[k].len);
			uint64_t size = vimg_image_virtual_size(vm->disk);
			if (!p || off > size || d[k].len > size - off) {
				st = S_IOERR;
				break;
			}
			int rc = to_guest ? vimg_image_read(vm->disk, p, off, d[k].len, &e)
					  : vimg_image_write(vm->disk, p, off, d[k].len, &e);
			if (rc < 0) {
				vimg_log(1, "boot: virtio-blk: %s", e.msg);
				vimg_error_clear(&e);
				st = S_IOERR;
				break;
			}
			off += d[k].len;
			if (to_guest)
				written += d[k].len;
		}
	} else if (type == T_FLUSH) {
		st = S_OK;
	} else if (type == T_GET_ID && n >= 3 && (d[1].flags & DESC_WRITE)) {
		uint8_t *p = vm_gpa(vm, d[1].addr, d[1].len < 20 ? d[1].len : 20);
		if (p) {
			static const char id[20] = "vimg-boot";
			size_t l = d[1].len < 20 ? d[1].len : 20;
			memcpy(p, id, l);
			written += (int64_t)l;
		} else {
			st = S_IOERR;
		}
	} else {
		st = S_UNSUPP;
	}
done:
	*status = st;
	v->requests++;
	return written;
}

static void notify(struct vm *vm, struct virtio_blk *v)
{
	if (!v->pfn || (v->status & STATUS_NEEDS_RESET))
		return;
	uint64_t base = (uint64_t)v->pfn << 12;
	uint64_t avail_off = 16u * VIRTIO_QSIZE;
	uint64_t used_off = (avail_off + 6 + 2u * VIRTIO_QSIZE + 4095) & ~4095ull;
	uint64_t total = used_off + 6 + 8u * VIRTIO_QSIZE;
	uint8_t *ring = vm_gpa(vm, base, total);
	if (!ring) {
		broken(v, "queue outside guest RAM");
		return;
	}
	uint8_t *avail = ring + avail_off, *used = ring + used_off;
	uint16_t aidx = ld_le16(avail + 2);
	unsigned served = 0;
	while (v->last_avail != aidx) {
		if (++served > VIRTIO_QSIZE) {
			broken(v, "avail index runs ahead of the ring");
			return;
		}
		uint16_t head = ld_le16(avail + 4 + 2u * (v->last_avail % VIRTIO_QSIZE));
		int64_t len = serve(vm, v, ring, head);
		if (len < 0) {
			broken(v, "malformed descriptor chain");
			return;
		}
		uint16_t uidx = ld_le16(used + 2);
		uint8_t *ue = used + 4 + 8u * (uidx % VIRTIO_QSIZE);
		st_le32(ue, head);
		st_le32(ue + 4, (uint32_t)len);
		st_le16(used + 2, (uint16_t)(uidx + 1));
		v->last_avail++;
	}
	if (served && !(ld_le16(avail) & 1)) { /* VRING_AVAIL_F_NO_INTERRUPT */
		v->isr |= 1;
		vm_set_irq(vm, VIRTIO_BLK_IRQ, 1);
	}
}

static void regs(struct vm *vm, struct virtio_blk *v, uint8_t r[VR_SIZE])
{
	memset(r, 0, VR_SIZE);
	st_le32(r + VR_HOST_FEATURES, HOST_FEATURES);
	st_le32(r + VR_GUEST_FEATURES, v->guest_features);
	st_le32(r + VR_QUEUE_PFN, v->qsel == 0 ? v->pfn : 0);
	st_le16(r + VR_QUEUE_NUM, v->qsel == 0 ? VIRTIO_QSIZE : 0);
	st_le16(r + VR_QUEUE_SEL, v->qsel);
	r[VR_STATUS] = v->status;
	r[VR_ISR] = v->isr;
	uint64_t sectors = vimg_image_virtual_size(vm->disk) / 512;
	st_le64(r + VR_CONFIG, sectors);		/* capacity */
	st_le32(r + VR_CONFIG + 12, VIRTIO_QSIZE - 2);	/* seg_max */
}

int virtio_blk_io(struct vm *vm, uint64_t addr, uint8_t *data, unsigned len, bool is_write,
		  void *opaque)
{
	struct virtio_blk *v = opaque;
	unsigned off = (unsigned)(addr - VIRTIO_BLK_PORT);
	if (off + len > VR_SIZE)
		len = VR_SIZE - off;
	if (!is_write) {
		uint8_t r[VR_SIZE];
		regs(vm, v, r);
		memcpy(data, r + off, len);
		if (off <= VR_ISR && off + len > VR_ISR) { /* reading ISR clears it */
			v->isr = 0;
			vm_set_irq(vm, VIRTIO_BLK_IRQ, 0);
		}
		return 0;
	}
	uint32_t val = 0;
	for (unsigned i = 0; i < len && i < 4; i++)
		val |= (uint32_t)data[i] << (8 * i);
	switch (off) {
	case VR_GUEST_FEATURES:
		v->guest_features = val & HOST_FEATURES;
		break;
	case VR_QUEUE_PFN:
		if (v->qsel == 0) {
			v->pfn = val;
			v->last_avail = 0;
		}
		break;
	case VR_QUEUE_SEL:
		v->qsel = (uint16_t)val;
		break;
	case VR_QUEUE_NOTIFY:
		if ((uint16_t)val == 0)
			notify(vm, v);
		break;
	case VR_STATUS:
		v->status = (uint8_t)val;
		if (v->status == 0) { /* reset */
			v->pfn = 0;
			v->last_avail = 0;
			v->guest_features = 0;
			v->isr = 0;
			vm_set_irq(vm, VIRTIO_BLK_IRQ, 0);
		}
		break;
	default:
		break;
	}
	return 0;
}
