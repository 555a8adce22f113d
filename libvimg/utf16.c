/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * UTF-16 <-> UTF-8 for names stored inside images (VHD parent names and
 * locators, VHDX metadata and parent locators). Surrogate pairs are checked;
 * malformed input and overflow are errors, never silently repaired, because
 * the result is used as a file name under the path policy.
 */
#include "config.h"

#include "driver.h"
#include "endian.h"

int utf16_to_utf8(const uint8_t *in, size_t nbytes, bool be, char *out, size_t outsz)
{
	size_t o = 0;

	for (size_t i = 0; i + 1 < nbytes; i += 2) {
		uint32_t u = be ? ld_be16(in + i) : ld_le16(in + i);

		if (u == 0)
			break;
		if (u >= 0xd800 && u < 0xdc00) {
			uint32_t lo;

			if (i + 3 >= nbytes)
				return -1;
			lo = be ? ld_be16(in + i + 2) : ld_le16(in + i + 2);
			if (lo < 0xdc00 || lo >= 0xe000)
				return -1;
			u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
			i += 2;
		} else if (u >= 0xdc00 && u < 0xe000) {
			return -1;
		}
		if (o + 5 > outsz)
			return -1;
		if (u < 0x80) {
			out[o++] = (char)u;
		} else if (u < 0x800) {
			out[o++] = (char)(0xc0 | u >> 6);
			out[o++] = (char)(0x80 | (u & 0x3f));
		} else if (u < 0x10000) {
			out[o++] = (char)(0xe0 | u >> 12);
			out[o++] = (char)(0x80 | ((u >> 6) & 0x3f));
			out[o++] = (char)(0x80 | (u & 0x3f));
		} else {
			out[o++] = (char)(0xf0 | u >> 18);
			out[o++] = (char)(0x80 | ((u >> 12) & 0x3f));
			out[o++] = (char)(0x80 | ((u >> 6) & 0x3f));
			out[o++] = (char)(0x80 | (u & 0x3f));
		}
	}
	if (o >= outsz)
		return -1;
	out[o] = 0;
	return (int)o;
}

int utf8_to_utf16(const char *in, bool be, uint8_t *out, size_t outsz)
{
	const uint8_t *p = (const uint8_t *)in;
	size_t o = 0;

	while (*p) {
		uint32_t u;
		int extra;

		if (*p < 0x80) {
			u = *p;
			extra = 0;
		} else if ((*p & 0xe0) == 0xc0) {
			u = *p & 0x1f;
			extra = 1;
		} else if ((*p & 0xf0) == 0xe0) {
			u = *p & 0x0f;
			extra = 2;
		} else if ((*p & 0xf8) == 0xf0) {
			u = *p & 0x07;
			extra = 3;
		} else {
			return -1;
		}
		p++;
		for (int k = 0; k < extra; k++, p++) {
			if ((*p & 0xc0) != 0x80)
				return -1;
			u = u << 6 | (*p & 0x3f);
		}
		if (u >= 0x10000) {
			if (o + 4 > outsz)
				return -1;
			u -= 0x10000;
			(be ? st_be16 : st_le16)(out + o, (uint16_t)(0xd800 + (u >> 10)));
			(be ? st_be16 : st_le16)(out + o + 2, (uint16_t)(0xdc00 + (u & 0x3ff)));
			o += 4;
		} else {
			if (o + 2 > outsz)
				return -1;
			(be ? st_be16 : st_le16)(out + o, (uint16_t)u);
			o += 2;
		}
	}
	return (int)o;
}
