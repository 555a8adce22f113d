/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer harness for the LUKS1 header parser (libvimg/luks.c): the input
 * is a header area as a qcow2 crypto extension names it. No secret is set,
 * so no PBKDF2 runs (a hostile iteration count is bounded, not cheap):
 * validation and the described fields are what is fuzzed.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "luks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_file *f;
	struct luks *l;
	char path[64];
	int fd = memfd_create("luks", 0);

	if (fd < 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (write(fd, data, size) == (ssize_t)size && file_open(path, 0, &f, &err) == 0) {
		if (luks_open(f, 0, size, "luks", &l, &err) == 0) {
			const char *a, *m, *iv, *ivh, *h, *u;
			uint32_t it;
			uint64_t po;
			uint8_t sector[LUKS_SECTOR] = { 0 };

			luks_describe(l, &a, &m, &iv, &ivh, &h, &u, &it, &po);
			/* Locked: must refuse, never decrypt with an unset key. */
			if (luks_decrypt(l, 0, sector, sizeof(sector), &err) == 0)
				abort();
			luks_close(l);
		}
		file_close(f);
	}
	close(fd);
	return 0;
}
