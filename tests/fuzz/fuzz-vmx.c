/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer harness for the VMware bundle codecs: the input is a .vmx (even
 * first byte) or a .vmsd beside a fixed .vmx (odd first byte). The VM is
 * opened, inspected (chains, files, mistyped keys), its snapshot tree walked,
 * and saved twice: unchanged, where the bytes must come back identical
 * (abort otherwise), and renamed. Build and run with scripts/fuzz.sh.
 */
#include "config.h"

#include <stdlib.h>

#include "fuzz-common.h"

static void nop_str(void *o, const char *k, const char *v) { (void)o, (void)k, (void)v; }
static void nop_u64(void *o, const char *k, uint64_t v) { (void)o, (void)k, (void)v; }
static void nop_i64(void *o, const char *k, int64_t v) { (void)o, (void)k, (void)v; }
static void nop_bool(void *o, const char *k, bool v) { (void)o, (void)k, (void)v; }
static void nop_begin(void *o, const char *k, bool l) { (void)o, (void)k, (void)l; }
static void nop_end(void *o) { (void)o; }

static const struct vimg_emit nop_emit = {
	nop_str, nop_u64, nop_i64, nop_bool, nop_begin, nop_end, NULL,
};

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char vmx[] = "displayName = \"f\"\nscsi0:0.present = \"TRUE\"\n"
				  "scsi0:0.fileName = \"f.vmdk\"\n";
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_vm *vm;
	char path[128];
	bool as_vmsd = size && (data[0] & 1);
	unsigned problems;

	if (!dir[0] && !mkdtemp(strcpy(dir, "/tmp/fuzz-vmx.XXXXXX")))
		return 0;
	snprintf(path, sizeof(path), "%s/f.vmsd", dir);
	unlink(path);
	if (as_vmsd) {
		put("f.vmx", vmx, sizeof(vmx) - 1);
		put("f.vmsd", data, size);
	} else {
		put("f.vmx", data, size);
	}
	snprintf(path, sizeof(path), "%s/f.vmx", dir);
	if (vimg_vm_open(path, "vmx", 0, &vm, &err))
		return 0;
	vimg_vm_inspect(vm, &nop_emit, &problems, &err);
	for (size_t i = 0; i < vimg_vm_snapshot_count(vm); i++)
		vimg_vm_snapshot_find(vm, vimg_vm_snapshot_get(vm, i)->name ?
						  vimg_vm_snapshot_get(vm, i)->name : "", &err);
	vimg_error_clear(&err);
	if (vimg_vm_save(vm, &err) == 0 &&
	    !same(as_vmsd ? "f.vmsd" : "f.vmx", data, size))
		abort(); /* an unchanged VM must write back the bytes it read */
	vimg_vm_close(vm);
	return 0;
}
