/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer harness for the tar reader and the OVA import above it: the
 * input is listed as an archive, then opened as an OVA (its descriptor read
 * from inside it), its manifest verified and every disk it names opened in
 * place and read. Build and run with scripts/fuzz.sh.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-common.h"
#include "ova.h"
#include "vm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char dir[64];
	struct vimg_error err = VIMG_ERROR_INIT;
	struct tar_member *m;
	struct vimg_vm *vm;
	char path[128];
	size_t n;
	FILE *f;

	if (!dir[0] && !mkdtemp(strcpy(dir, "/tmp/fuzz-tar.XXXXXX")))
		return 0;
	snprintf(path, sizeof(path), "%s/f.ova", dir);
	if (!(f = fopen(path, "wb")))
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	if (tar_list(path, &m, &n, &err) == 0)
		tar_list_free(m, n);
	vimg_error_clear(&err);
	if (vimg_vm_open(path, "ovf", 0, &vm, &err))
		return 0;
	ova_verify(vm, path, &err);
	vimg_error_clear(&err);
	for (size_t i = 0; i < vm->n_disks; i++) {
		struct vimg_image *img;
		uint8_t buf[4096];

		if (!vm->disks[i].file || vimg_vm_disk_open(vm, vm->disks[i].file, 0, &img, &err))
			continue;
		for (uint64_t off = 0; off < vimg_image_virtual_size(img) && off < (1u << 20);
		     off += sizeof(buf))
			if (vimg_image_read(img, buf, off, sizeof(buf), &err))
				break;
		vimg_image_close(img, NULL);
		vimg_error_clear(&err);
	}
	vimg_vm_close(vm);
	return 0;
}
