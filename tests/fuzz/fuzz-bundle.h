/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the VMware bundle harnesses do with an input: it becomes the .vmx,
 * the .vmsd beside a fixed .vmx, or the .vmxf it names; the VM is opened,
 * inspected (chains, files, mistyped keys), its snapshot tree walked, and
 * saved unchanged, when the file must come back byte-identical (abort
 * otherwise). Build and run with scripts/fuzz.sh.
 */
#ifndef VIMG_FUZZ_BUNDLE_H
#define VIMG_FUZZ_BUNDLE_H

#include <stdlib.h>

#include "fuzz-common.h"

enum fuzz_role { FUZZ_VMX, FUZZ_VMSD, FUZZ_VMXF };

static char dir[64];

static void put(const char *name, const void *data, size_t size)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "wb"))) {
		fwrite(data, 1, size, f);
		fclose(f);
	}
}

static bool same(const char *name, const void *data, size_t size)
{
	char path[128], *buf = malloc(size + 1);
	FILE *f;
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (buf && (f = fopen(path, "rb"))) {
		n = fread(buf, 1, size + 1, f);
		fclose(f);
	}
	n = n == size && (!size || !memcmp(buf, data, size));
	free(buf);
	return n;
}

static inline int fuzz_bundle(const uint8_t *data, size_t size, enum fuzz_role role)
{
	static const char vmx[] = "displayName = \"f\"\nscsi0:0.present = \"TRUE\"\n"
				  "scsi0:0.fileName = \"f.vmdk\"\nextendedConfigFile = \"f.vmxf\"\n";
	static const char *const names[] = { "f.vmx", "f.vmsd", "f.vmxf" };
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_vm *vm;
	char path[128];
	unsigned problems;

	if (!dir[0] && !mkdtemp(strcpy(dir, "/tmp/fuzz-vmx.XXXXXX")))
		return 0;
	for (int i = 1; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	if (role != FUZZ_VMX)
		put("f.vmx", vmx, sizeof(vmx) - 1);
	put(names[role], data, size);
	snprintf(path, sizeof(path), "%s/f.vmx", dir);
	if (vimg_vm_open(path, "vmx", 0, &vm, &err))
		return 0;
	vimg_vm_inspect(vm, &fuzz_emit, &problems, &err);
	for (size_t i = 0; i < vimg_vm_snapshot_count(vm); i++)
		vimg_vm_snapshot_find(vm, vimg_vm_snapshot_get(vm, i)->name ?
						  vimg_vm_snapshot_get(vm, i)->name : "", &err);
	vimg_error_clear(&err);
	if (vimg_vm_save(vm, &err) == 0 &&
	    !same(names[role], data, size))
		abort(); /* an unchanged VM must write back the bytes it read */
	vimg_vm_close(vm);
	return 0;
}

#endif
