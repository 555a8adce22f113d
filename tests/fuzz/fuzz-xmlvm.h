/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the harnesses of the VM readers that stand alone (libvirt, Hyper-V's
 * XML and .vmcx, VirtualBox, OVF) do with an input: it becomes the
 * configuration (file name given, the codec named), which is read into the
 * model, inspected, and written back as a libvirt domain, a .vbox, a fresh
 * .vmx and an OVF descriptor (the writers meet whatever the readers let
 * through). Build and run with scripts/fuzz.sh.
 */
#ifndef VIMG_FUZZ_XMLVM_H
#define VIMG_FUZZ_XMLVM_H

#include <stdlib.h>

#include "fuzz-common.h"
#include "vm.h"

static inline int fuzz_config_vm(const uint8_t *data, size_t size, const char *codec,
				 const char *file)
{
	static char dir[64];
	struct vimg_error err = VIMG_ERROR_INIT;
	struct kvtext kv = { 0 };
	struct vimg_vm *vm;
	char path[128], out[128], *text;
	size_t len;
	unsigned problems;
	FILE *f;

	if (!dir[0] && !mkdtemp(strcpy(dir, "/tmp/fuzz-xmlvm.XXXXXX")))
		return 0;
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	snprintf(out, sizeof(out), "%s/out.xml", dir);
	if (!(f = fopen(path, "wb")))
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	if (vimg_vm_open(path, codec, 0, &vm, &err))
		return 0;
	vimg_vm_inspect(vm, &fuzz_emit, &problems, &err);
	vimg_error_clear(&err);
	vimg_codec_libvirt.save(vm, out, NULL, &err);
	vimg_error_clear(&err);
	vimg_codec_vbox.save(vm, out, NULL, &err);
	vimg_error_clear(&err);
	if (vmx_render_new(vm, &kv, NULL, &err) == 0 && kv_render(&kv, &text, &len, &err) == 0)
		free(text);
	kv_free(&kv);
	if (ovf_render(vm, NULL, 0, 2, &text, &len, NULL, &err) == 0)
		free(text);
	vimg_error_clear(&err);
	vimg_vm_close(vm);
	return 0;
}

static inline int fuzz_xml_vm(const uint8_t *data, size_t size, const char *codec)
{
	return fuzz_config_vm(data, size, codec, "f.xml");
}

#endif
