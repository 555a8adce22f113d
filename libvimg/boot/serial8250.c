/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * 8250/16550 UART: THR/RBR, IER, IIR/FCR, LCR (DLAB), MCR (loopback), LSR,
 * MSR, SCR. Transmitted bytes go to the console capture; the interrupt goes
 * to the in-kernel PIC through KVM_IRQ_LINE, gated by MCR OUT2 as on a PC.
 */
#include "config.h"

#include <string.h>

#include "boot.h"

enum { RBR_THR = 0, IER = 1, IIR_FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };

#define IER_RDI 0x01
#define IER_THRI 0x02
#define LCR_DLAB 0x80
#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define IIR_NONE 0x01
#define IIR_THRI 0x02
#define IIR_RDI 0x04

void serial_init(struct serial8250 *s, uint16_t base, int irq)
{
	memset(s, 0, sizeof(*s));
	s->base = base;
	s->irq = irq;
	s->mcr = MCR_OUT2;
	s->dll = 12; /* 9600 baud */
}

static uint8_t iir(const struct serial8250 *s)
{
	uint8_t fifo = (s->fcr & 1) ? 0xC0 : 0;
	if ((s->ier & IER_RDI) && s->rx_n)
		return IIR_RDI | fifo;
	if ((s->ier & IER_THRI) && s->thri_pending)
		return IIR_THRI | fifo;
	return IIR_NONE | fifo;
}

static void update_irq(struct vm *vm, struct serial8250 *s)
{
	bool level = !(iir(s) & IIR_NONE) && (s->mcr & MCR_OUT2);
	if (level != s->irq_level) {
		s->irq_level = level;
		vm_set_irq(vm, s->irq, level);
	}
}

void serial_rx(struct vm *vm, struct serial8250 *s, uint8_t c)
{
	if (s->rx_n == sizeof(s->rx))
		return;
	s->rx[(s->rx_head + s->rx_n) % sizeof(s->rx)] = c;
	s->rx_n++;
	update_irq(vm, s);
}

static uint8_t msr(const struct serial8250 *s)
{
	if (s->mcr & MCR_LOOP) {
		uint8_t m = 0;
		if (s->mcr & MCR_RTS)
			m |= 0x10; /* CTS */
		if (s->mcr & MCR_DTR)
			m |= 0x20; /* DSR */
		if (s->mcr & MCR_OUT1)
			m |= 0x40; /* RI */
		if (s->mcr & MCR_OUT2)
			m |= 0x80; /* DCD */
		return m;
	}
	return 0xB0; /* DCD, DSR, CTS */
}

static uint8_t reg_read(struct vm *vm, struct serial8250 *s, unsigned off)
{
	uint8_t v = 0;
	switch (off) {
	case RBR_THR:
		if (s->lcr & LCR_DLAB)
			return s->dll;
		if (s->rx_n) {
			v = s->rx[s->rx_head];
			s->rx_head = (s->rx_head + 1) % sizeof(s->rx);
			s->rx_n--;
		}
		break;
	case IER:
		return (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
	case IIR_FCR:
		v = iir(s);
		if ((v & 0x0F) == IIR_THRI)
			s->thri_pending = false;
		break;
	case LCR:
		return s->lcr;
	case MCR:
		return s->mcr;
	case LSR:
		v = LSR_THRE | LSR_TEMT | (s->rx_n ? LSR_DR : 0);
		break;
	case MSR:
		return msr(s);
	case SCR:
		return s->scr;
	}
	update_irq(vm, s);
	return v;
}

static void reg_write(struct vm *vm, struct serial8250 *s, unsigned off, uint8_t v)
{
	switch (off) {
	case RBR_THR:
		if (s->lcr & LCR_DLAB) {
			s->dll = v;
			return;
		}
		s->tx_bytes++;
		if (s->mcr & MCR_LOOP) {
			serial_rx(vm, s, v);
		} else if (s->out) {
			s->out(s->out_opaque, v);
		}
		s->thri_pending = true; /* the byte left at once: THR empty again */
		break;
	case IER:
		if (s->lcr & LCR_DLAB) {
			s->dlm = v;
			return;
		}
		/* Enabling THRI while THR is empty raises the interrupt. */
		if ((v & IER_THRI) && !(s->ier & IER_THRI))
			s->thri_pending = true;
		s->ier = v & 0x0F;
		break;
	case IIR_FCR:
		s->fcr = v & 0xC9;
		if (v & 0x02) {
			s->rx_n = 0;
			s->rx_head = 0;
		}
		break;
	case LCR:
		s->lcr = v;
		return;
	case MCR:
		s->mcr = v & 0x1F;
		break;
	case LSR:
	case MSR:
		return;
	case SCR:
		s->scr = v;
		return;
	}
	update_irq(vm, s);
}

int serial_io(struct vm *vm, uint64_t addr, uint8_t *data, unsigned len, bool is_write,
	      void *opaque)
{
	struct serial8250 *s = opaque;
	for (unsigned i = 0; i < len; i++) {
		unsigned off = (unsigned)(addr - s->base + i) & 7;
		if (is_write)
			reg_write(vm, s, off, data[i]);
		else
			data[i] = reg_read(vm, s, off);
	}
	return 0;
}
