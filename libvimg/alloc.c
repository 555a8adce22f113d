/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Bounded allocation: no table size read from an image is trusted until it
 * has passed an overflow check and a cap chosen by the caller.
 */
#include "config.h"

#include <stdlib.h>

#include "checked.h"
#include "driver.h"

int vimg_alloc_table(uint64_t count, size_t elem_size, uint64_t max_bytes, const char *what,
		     void **out, struct vimg_error *err)
{
	uint64_t bytes;
	void *p;

	*out = NULL;
	if (ck_mul(count, elem_size, &bytes) || bytes > max_bytes)
		return vimg_error_set(err, VIMG_ECORRUPT, "%s %llu exceeds limit", what,
				      (unsigned long long)count);
	p = calloc(bytes ? bytes : 1, 1);
	if (!p)
		return vimg_error_set(err, VIMG_ENOMEM, "%s %llu: out of memory", what,
				      (unsigned long long)count);
	*out = p;
	return 0;
}
