/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CMOS/RTC on ports 0x70 (index, bit 7 = NMI mask) and 0x71 (data): the
 * current time in BCD (24-hour), status registers A-D, and the memory size
 * bytes a BIOS or boot loader may read. Other bytes are plain NVRAM.
 */
#include "config.h"

#include <string.h>
#include <time.h>

#include "boot.h"

static uint8_t bcd(int v)
{
	return (uint8_t)(((v / 10) << 4) | (v % 10));
}

void rtc_init(struct rtc *r, uint64_t mem)
{
	memset(r, 0, sizeof(*r));
	r->nvram[0x0A] = 0x26;
	r->nvram[0x0B] = 0x02;
	r->nvram[0x0D] = 0x80;
	r->nvram[0x14] = 0x06; /* equipment: video EGA/VGA, coprocessor */
	r->nvram[0x15] = 0x80; /* 640 KiB base memory */
	r->nvram[0x16] = 0x02;
	uint64_t ext_kb = mem > (1 << 20) ? (mem - (1 << 20)) >> 10 : 0;
	if (ext_kb > 0xFC00)
		ext_kb = 0xFC00;
	r->nvram[0x17] = r->nvram[0x30] = (uint8_t)ext_kb;
	r->nvram[0x18] = r->nvram[0x31] = (uint8_t)(ext_kb >> 8);
	uint64_t above16 = mem > (16 << 20) ? (mem - (16 << 20)) >> 16 : 0;
	if (above16 > 0xFFFF)
		above16 = 0xFFFF;
	r->nvram[0x34] = (uint8_t)above16;
	r->nvram[0x35] = (uint8_t)(above16 >> 8);
}

static uint8_t rtc_read(struct rtc *r)
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	switch (r->index) {
	case 0x00: return bcd(tm.tm_sec);
	case 0x02: return bcd(tm.tm_min);
	case 0x04: return bcd(tm.tm_hour);
	case 0x06: return bcd(tm.tm_wday + 1);
	case 0x07: return bcd(tm.tm_mday);
	case 0x08: return bcd(tm.tm_mon + 1);
	case 0x09: return bcd(tm.tm_year % 100);
	case 0x32: return bcd(19 + tm.tm_year / 100);
	case 0x0C: return 0;
	default: return r->nvram[r->index];
	}
}

int rtc_io(struct vm *vm, uint64_t addr, uint8_t *data, unsigned len, bool is_write, void *opaque)
{
	struct rtc *r = opaque;
	for (unsigned i = 0; i < len; i++) {
		bool index_port = ((addr + i) & 1) == 0;
		if (index_port) {
			if (is_write)
				r->index = data[i] & 0x7F;
			else
				data[i] = 0xFF;
		} else if (is_write) {
			if (r->index >= 0x0A)
				r->nvram[r->index] = data[i];
		} else {
			data[i] = rtc_read(r);
		}
	}
	return 0;
}
