/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One trap table for port I/O and MMIO: a sorted array searched by binary
 * search (a handful of devices does not need a tree). Unknown addresses read
 * as all ones, swallow writes and are logged once each.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "boot.h"
#include "driver.h"

static int cmp_key(enum bus ba, uint64_t a, enum bus bb, uint64_t b)
{
	if (ba != bb)
		return ba < bb ? -1 : 1;
	return a < b ? -1 : a > b ? 1 : 0;
}

int iotrap_register(struct iotrap *t, enum bus bus, uint64_t base, uint64_t len, trap_fn *fn,
		    void *opaque, const char *name, struct vimg_error *err)
{
	if (!len || base + len < base)
		return vimg_error_set(err, VIMG_EINVAL, "trap %s: bad range", name);
	size_t pos = 0;
	while (pos < t->n && cmp_key(t->v[pos].bus, t->v[pos].base, bus, base) < 0)
		pos++;
	/* No overlap with the neighbours. */
	if (pos > 0 && t->v[pos - 1].bus == bus && t->v[pos - 1].base + t->v[pos - 1].len > base)
		return vimg_error_set(err, VIMG_EINVAL, "trap %s overlaps %s at 0x%llx", name,
				      t->v[pos - 1].name, (unsigned long long)base);
	if (pos < t->n && t->v[pos].bus == bus && base + len > t->v[pos].base)
		return vimg_error_set(err, VIMG_EINVAL, "trap %s overlaps %s at 0x%llx", name,
				      t->v[pos].name, (unsigned long long)t->v[pos].base);
	if (t->n == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 16;
		struct trap *nv = realloc(t->v, ncap * sizeof(*nv));
		if (!nv)
			return vimg_error_set(err, VIMG_ENOMEM, "trap table: out of memory");
		t->v = nv;
		t->cap = ncap;
	}
	memmove(&t->v[pos + 1], &t->v[pos], (t->n - pos) * sizeof(*t->v));
	t->v[pos] = (struct trap){ bus, base, len, fn, opaque, name };
	t->n++;
	return 0;
}

const struct trap *iotrap_find(const struct iotrap *t, enum bus bus, uint64_t addr)
{
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct trap *e = &t->v[mid];
		if (cmp_key(e->bus, e->base, bus, addr) > 0) {
			hi = mid;
		} else if (e->bus == bus && addr - e->base < e->len) {
			return e;
		} else {
			lo = mid + 1;
		}
	}
	return NULL;
}

static uint64_t unknown_key(enum bus bus, uint64_t addr)
{
	return ((uint64_t)bus << 63) | (addr & ~(1ull << 63));
}

bool iotrap_was_unknown(const struct iotrap *t, enum bus bus, uint64_t addr)
{
	uint64_t k = unknown_key(bus, addr);
	for (size_t i = 0; i < t->n_unknown; i++)
		if (t->unknown[i] == k)
			return true;
	return false;
}

static void note_unknown(struct iotrap *t, enum bus bus, uint64_t addr, unsigned len,
			 bool is_write, const uint8_t *data)
{
	t->unknown_hits++;
	if (iotrap_was_unknown(t, bus, addr) || t->n_unknown >= 4096)
		return;
	if (t->n_unknown == t->cap_unknown) {
		size_t ncap = t->cap_unknown ? t->cap_unknown * 2 : 32;
		uint64_t *nu = realloc(t->unknown, ncap * sizeof(*nu));
		if (!nu)
			return;
		t->unknown = nu;
		t->cap_unknown = ncap;
	}
	t->unknown[t->n_unknown++] = unknown_key(bus, addr);
	vimg_log(2, "boot: unknown %s %s 0x%llx (%u bytes%s0x%02x)", bus == BUS_PIO ? "port" : "MMIO",
		 is_write ? "write" : "read", (unsigned long long)addr, len,
		 is_write ? ", first byte " : ", ", is_write ? data[0] : 0xff);
}

int iotrap_dispatch(struct vm *vm, struct iotrap *t, enum bus bus, uint64_t addr, uint8_t *data,
		    unsigned len, bool is_write)
{
	const struct trap *e = iotrap_find(t, bus, addr);
	if (!e) {
		note_unknown(t, bus, addr, len, is_write, data);
		if (!is_write)
			memset(data, 0xff, len);
		return 0;
	}
	return e->fn(vm, addr, data, len, is_write, e->opaque);
}

void iotrap_free(struct iotrap *t)
{
	free(t->v);
	free(t->unknown);
	memset(t, 0, sizeof(*t));
}
