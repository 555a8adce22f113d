/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer harness for the firmware-variable stores (VMware's .nvram and
 * edk2's): open the input as vimg_nvram_open does, describe it through an
 * emitter that reads every string it is given (so the decoders' device
 * paths, load options and signature lists are walked), and build the OVMF
 * store from its variables, with the input as template too when it is an
 * edk2 store. Build and run with scripts/fuzz.sh.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "efivar.h"
#include "fuzz-common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_nvram *nv;
	char path[64];
	uint8_t *out;
	size_t len;
	int fd = memfd_create("fuzz-nvram", 0);

	if (fd < 0 || write(fd, data, size) != (ssize_t)size) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (vimg_nvram_open(path, 0, &nv, &err) == 0) {
		vimg_nvram_info(nv, &fuzz_emit, &err);
		if (nvram_edk2_build(nv->vars, nv->n_vars, NULL, 0, &out, &len, NULL, &err) == 0)
			free(out);
		if (!strcmp(nv->format, "edk2") &&
		    nvram_edk2_build(nv->vars, nv->n_vars, data, size, &out, &len, NULL, &err) == 0)
			free(out);
		vimg_nvram_close(nv);
	}
	close(fd);
	return 0;
}
