/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Identity in one place: random UUIDs in both byte orders the formats use,
 * VMware's UUID text ("56 4d 12 ... 78-9a ... f0"), VMDK content IDs and MAC
 * addresses in VMware's generated range. Randomness comes from getrandom();
 * if that fails (no entropy yet at early boot) a time-based fallback keeps
 * identifiers distinct, which is all these need: none of them is a secret.
 */
#include "config.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "endian.h"
#include "internal.h"

void id_random_bytes(void *buf, size_t n)
{
	uint8_t *p = buf;
	size_t got = 0;

	while (got < n) {
		ssize_t r = getrandom(p + got, n - got, 0);

		if (r <= 0)
			break;
		got += (size_t)r;
	}
	if (got < n) {
		struct timespec ts;
		uint64_t x;

		clock_gettime(CLOCK_REALTIME, &ts);
		x = (uint64_t)ts.tv_sec * 1000000007u ^ (uint64_t)ts.tv_nsec ^
		    (uint64_t)getpid() << 32 ^ (uint64_t)(uintptr_t)buf;
		for (; got < n; got++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			p[got] = (uint8_t)x;
		}
	}
}

void id_uuid_random(uint8_t u[16])
{
	id_random_bytes(u, 16);
	u[6] = (u[6] & 0x0f) | 0x40;
	u[8] = (u[8] & 0x3f) | 0x80;
}

void id_guid_random(uint8_t g[16])
{
	id_random_bytes(g, 16);
	g[7] = (g[7] & 0x0f) | 0x40; /* version in the little-endian third field */
	g[8] = (g[8] & 0x3f) | 0x80;
}

void id_uuid_format(const uint8_t u[16], char out[37])
{
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
		 u[13], u[14], u[15]);
}

/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", optionally in braces (VirtualBox). */
bool id_uuid_parse(const char *s, uint8_t u[16])
{
	bool brace = *s == '{';
	unsigned v;

	s += brace;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10) {
			if (*s++ != '-')
				return false;
		}
		if (!isxdigit((unsigned char)s[0]) || !isxdigit((unsigned char)s[1]) ||
		    sscanf(s, "%2x", &v) != 1)
			return false;
		u[i] = (uint8_t)v;
		s += 2;
	}
	return brace ? s[0] == '}' && !s[1] : !*s;
}

void id_guid_format(const uint8_t g[16], bool upper, char out[37])
{
	snprintf(out, 37,
		 upper ? "%08" PRIX32 "-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X"
		       : "%08" PRIx32 "-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 ld_le32(g), ld_le16(g + 4), ld_le16(g + 6), g[8], g[9], g[10], g[11], g[12],
		 g[13], g[14], g[15]);
}

void id_vmware_uuid_random(uint8_t u[16])
{
	id_random_bytes(u, 16);
	/* VMware-generated BIOS and location UUIDs start with 56 4d. */
	u[0] = 0x56;
	u[1] = 0x4d;
}

void id_vmware_uuid_format(const uint8_t u[16], char out[48])
{
	int o = 0;

	for (int i = 0; i < 16; i++)
		o += snprintf(out + o, (size_t)(48 - o), "%02x%s", u[i],
			      i == 15 ? "" : i == 7 ? "-" : " ");
}

bool id_vmware_uuid_parse(const char *s, uint8_t u[16])
{
	/* 16 hex pairs separated by blanks or one '-', as VMware writes and reads. */
	for (int i = 0; i < 16; i++) {
		unsigned v;

		while (*s == ' ' || (i && *s == '-'))
			s++;
		if (!isxdigit((unsigned char)s[0]) || !isxdigit((unsigned char)s[1]) ||
		    sscanf(s, "%2x", &v) != 1)
			return false;
		u[i] = (uint8_t)v;
		s += 2;
	}
	while (*s == ' ')
		s++;
	return *s == 0;
}

uint32_t id_cid_random(void)
{
	uint32_t v;

	/* 0xfffffffe and 0xffffffff mean "no parent" and "unset" in VMDK. */
	do
		id_random_bytes(&v, sizeof(v));
	while (v >= 0xfffffffeu);
	return v;
}

void id_mac_vmware_generated(uint8_t mac[6])
{
	mac[0] = 0x00;
	mac[1] = 0x0c;
	mac[2] = 0x29;
	id_random_bytes(mac + 3, 3);
}

bool id_mac_parse(const char *s, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++) {
		unsigned v;

		if (i && *s++ != ':' && s[-1] != '-')
			return false;
		if (!isxdigit((unsigned char)s[0]) || !isxdigit((unsigned char)s[1]) ||
		    sscanf(s, "%2x", &v) != 1)
			return false;
		mac[i] = (uint8_t)v;
		s += 2;
	}
	return *s == 0;
}

void id_mac_format(const uint8_t mac[6], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
		 mac[4], mac[5]);
}
