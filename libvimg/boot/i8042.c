/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The keyboard controller as far as boot code uses it: status (never any
 * key), the command byte, the output port (A20 gate), self test, and command
 * 0xFE which pulses the reset line (a reset event). Port 0x92 (fast A20 and
 * reset) lives here too.
 */
#include "config.h"

#include "boot.h"

#define ST_OBF 0x01
#define ST_SYS 0x04

int i8042_io(struct vm *vm, uint64_t addr, uint8_t *data, unsigned len, bool is_write,
	     void *opaque)
{
	struct i8042 *k = opaque;
	if (len != 1) {
		if (!is_write)
			for (unsigned i = 0; i < len; i++)
				data[i] = 0xFF;
		return 0;
	}
	uint8_t v = data[0];
	if (addr == 0x64) {
		if (!is_write) {
			data[0] = ST_SYS | (k->out_full ? ST_OBF : 0);
			return 0;
		}
		switch (v) {
		case 0x20: /* read command byte */
			k->out = k->cmd_byte;
			k->out_full = true;
			break;
		case 0x60: /* write command byte */
		case 0xD1: /* write output port */
		case 0xD2: case 0xD3: case 0xD4:
			k->cmd = v;
			break;
		case 0xAA: /* self test */
			k->out = 0x55;
			k->out_full = true;
			break;
		case 0xAB: /* interface test */
			k->out = 0x00;
			k->out_full = true;
			break;
		case 0xD0: /* read output port */
			k->out = 0x01 | (k->a20 ? 0x02 : 0);
			k->out_full = true;
			break;
		case 0xDD:
			k->a20 = false;
			break;
		case 0xDF:
			k->a20 = true;
			break;
		case 0xFE: /* pulse reset */
			vm_request_reset(vm);
			break;
		default:
			break;
		}
		return 0;
	}
	/* Port 0x60. */
	if (!is_write) {
		data[0] = k->out_full ? k->out : 0;
		k->out_full = false;
		return 0;
	}
	switch (k->cmd) {
	case 0x60:
		k->cmd_byte = v;
		break;
	case 0xD1:
		k->a20 = (v & 0x02) != 0;
		if (!(v & 0x01))
			vm_request_reset(vm);
		break;
	default:
		break;
	}
	k->cmd = 0;
	return 0;
}

int port92_io(struct vm *vm, uint64_t addr, uint8_t *data, unsigned len, bool is_write,
	      void *opaque)
{
	uint8_t *p = opaque;
	if (!is_write) {
		data[0] = *p;
		for (unsigned i = 1; i < len; i++)
			data[i] = 0xFF;
		return 0;
	}
	if ((data[0] & 0x01) && !(*p & 0x01))
		vm_request_reset(vm);
	*p = data[0] & 0x02;
	vm->kbd.a20 = (data[0] & 0x02) != 0;
	return 0;
}
