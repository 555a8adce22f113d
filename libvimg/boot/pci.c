/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * PCI configuration mechanism #1: CONFIG_ADDRESS at 0xCF8 (32-bit), data at
 * 0xCFC-0xCFF. Bus 0 only: slot 0 is a host bridge, the others hold the
 * devices registered in vm->pci.dev[]. BARs are sized the usual way (write
 * all ones, read back the mask). A byte write to 0xCF9 is the reset control
 * register (bit 2 with bit 1: hard reset).
 */
#include "config.h"

#include <string.h>

#include "boot.h"
#include "endian.h"

void pci_dev_init(struct pci_dev *d, uint16_t vendor, uint16_t device, uint32_t class_rev,
		  uint16_t subsys_vendor, uint16_t subsys)
{
	memset(d->cfg, 0, sizeof(d->cfg));
	st_le16(d->cfg + 0x00, vendor);
	st_le16(d->cfg + 0x02, device);
	st_le32(d->cfg + 0x08, class_rev);
	st_le16(d->cfg + 0x2C, subsys_vendor);
	st_le16(d->cfg + 0x2E, subsys);
}

static uint32_t cfg_read(struct pci_dev *d, unsigned reg, unsigned len)
{
	uint32_t v = 0;
	for (unsigned i = 0; i < len && reg + i < 256; i++)
		v |= (uint32_t)d->cfg[reg + i] << (8 * i);
	return v;
}

static void cfg_write(struct vm *vm, struct pci_dev *d, unsigned reg, uint32_t v, unsigned len)
{
	if (reg >= 0x10 && reg < 0x28) {
		/* BARs: dword writes only, masked by size; I/O BARs keep bit 0. */
		int bar = (int)(reg - 0x10) / 4;
		if (len != 4 || (reg & 3) || !d->bar_size[bar])
			return;
		uint32_t old = ld_le32(d->cfg + reg);
		bool io = old & 1;
		uint32_t nv = (v & ~(d->bar_size[bar] - 1)) | (io ? 1 : 0);
		if (io)
			nv &= 0xFFFF | 1;
		st_le32(d->cfg + reg, nv);
		if (nv != old && d->bar_moved && v != 0xFFFFFFFFu)
			d->bar_moved(vm, d, bar);
		return;
	}
	for (unsigned i = 0; i < len && reg + i < 256; i++) {
		unsigned r = reg + i;
		uint8_t b = (uint8_t)(v >> (8 * i));
		/* Writable: command, status (RW1C ignored), cache line, latency,
		   interrupt line. */
		if (r == 0x04 || r == 0x05 || r == 0x0C || r == 0x0D || r == 0x3C)
			d->cfg[r] = b;
	}
}

static struct pci_dev *dev_at(struct vm *vm, uint32_t addr)
{
	if (!(addr & 0x80000000u))
		return NULL;
	unsigned bus = (addr >> 16) & 0xFF, slot = (addr >> 11) & 0x1F, fn = (addr >> 8) & 7;
	if (bus != 0 || fn != 0 || slot >= PCI_MAX_DEV)
		return NULL;
	return vm->pci.dev[slot];
}

int pci_io(struct vm *vm, uint64_t addr, uint8_t *data, unsigned len, bool is_write,
	   void *opaque)
{
	struct pci *p = opaque;
	if (addr >= 0xCF8 && addr < 0xCFC) {
		if (len == 4 && addr == 0xCF8) {
			if (is_write)
				p->addr = ld_le32(data);
			else
				st_le32(data, p->addr);
		} else if (addr == 0xCF9 && len == 1 && is_write) {
			if ((data[0] & 0x04) && (data[0] & 0x02))
				vm_request_reset(vm);
		} else if (!is_write) {
			memset(data, addr == 0xCF9 ? 0 : 0xFF, len);
		}
		return 0;
	}
	/* 0xCFC-0xCFF: the register selected by CONFIG_ADDRESS. */
	unsigned reg = (p->addr & 0xFC) + (unsigned)(addr - 0xCFC);
	struct pci_dev *d = dev_at(vm, p->addr);
	if (!d) {
		if (!is_write)
			memset(data, 0xFF, len);
		return 0;
	}
	if (is_write) {
		uint32_t v = 0;
		for (unsigned i = 0; i < len; i++)
			v |= (uint32_t)data[i] << (8 * i);
		cfg_write(vm, d, reg, v, len);
	} else {
		uint32_t v = cfg_read(d, reg, len);
		for (unsigned i = 0; i < len; i++)
			data[i] = (uint8_t)(v >> (8 * i));
	}
	return 0;
}

void pci_init(struct pci *p)
{
	memset(p, 0, sizeof(*p));
	/* Intel 440FX host bridge, as qemu's default machine. */
	pci_dev_init(&p->host, 0x8086, 0x1237, 0x06000002, 0x1af4, 0x1100);
	p->dev[0] = &p->host;
}
