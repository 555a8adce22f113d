/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Overflow-checked arithmetic for offsets and sizes taken from image files.
 * Each helper returns true when the result overflowed (like the GCC builtins
 * it wraps), so the idiom is `if (ck_add(a, b, &r)) return error;`.
 */
#ifndef VIMG_CHECKED_H
#define VIMG_CHECKED_H

#include <stdbool.h>
#include <stdint.h>

static inline bool ck_add(uint64_t a, uint64_t b, uint64_t *r)
{
	return __builtin_add_overflow(a, b, r);
}

static inline bool ck_mul(uint64_t a, uint64_t b, uint64_t *r)
{
	return __builtin_mul_overflow(a, b, r);
}

/* Round a up to a multiple of the power of two `align`. */
static inline bool ck_align_up(uint64_t a, uint64_t align, uint64_t *r)
{
	if (ck_add(a, align - 1, r))
		return true;
	*r &= ~(align - 1);
	return false;
}

static inline uint64_t align_down(uint64_t a, uint64_t align)
{
	return a & ~(align - 1);
}

static inline bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

static inline uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static inline uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

#endif
