/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer harness for the firmware-variable stores (VMware's .nvram and
 * edk2's): open the input as vimg_nvram_open does, describe it through an
 * emitter that reads every string it is given (so the decoders' device
 * paths, load options and signature lists are walked), and build the OVMF
 * store from its variables, with the input as template too when it is an
 * edk2 store; then write VMware's .nvram from them (with the input as
 * template when it is one) and read that back: it must hold every variable
 * written, as it was, so the writer meets whatever the readers let through.
 * Build and run with scripts/fuzz.sh.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "efivar.h"
#include "fuzz-common.h"

static bool same_var(const struct efi_var *a, const struct efi_var *b)
{
	return !strcmp(a->name, b->name) && !memcmp(a->guid, b->guid, 16) && a->attr == b->attr &&
	       a->len == b->len && (!a->len || !memcmp(a->data, b->data, a->len)) &&
	       (!(a->attr & EFI_VAR_TIME_AUTH_WRITE) || !memcmp(a->timestamp, b->timestamp, 16));
}

static void vmware_roundtrip(const struct vimg_nvram *nv, const uint8_t *tmpl, size_t tlen)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_nvram back = { 0 };
	uint8_t *out;
	size_t len, k = 0;

	if (nvram_vmware_build(nv->vars, nv->n_vars, tmpl, tlen, &out, &len, NULL, &err))
		return;
	if (nvram_vmware_parse(&back, out, len, &err)) {
		fprintf(stderr, "the .nvram written does not read: %s\n", err.msg);
		abort();
	}
	/* With a template its own variables come first: compare the tail. */
	for (size_t i = 0; i < nv->n_vars; i++)
		k += (nv->vars[i].attr & EFI_VAR_NON_VOLATILE) != 0;
	if (back.n_vars < k || (!tmpl && back.n_vars != k))
		abort();
	for (size_t i = 0, j = back.n_vars - k; i < nv->n_vars; i++) {
		if (!(nv->vars[i].attr & EFI_VAR_NON_VOLATILE))
			continue;
		if (!same_var(&nv->vars[i], &back.vars[j++]))
			abort();
	}
	nvram_release(&back);
	free(out);
}

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
		vmware_roundtrip(nv, NULL, 0);
		if (!strcmp(nv->format, "vmware"))
			vmware_roundtrip(nv, data, size);
		vimg_nvram_close(nv);
	}
	close(fd);
	return 0;
}
