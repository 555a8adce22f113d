/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The variable list the store parsers fill: each name kept twice, as UTF-8
 * for people and lookups and as the UTF-16 the stores write, terminator
 * included, so that a store written from it names variables byte for byte
 * as the firmware did.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "efivar.h"

const uint8_t efi_global_variable_guid[16] = {
	0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11,
	0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c };
const uint8_t efi_image_security_database_guid[16] = {
	0xcb, 0xb2, 0x19, 0xd7, 0x3a, 0x3d, 0x96, 0x45,
	0xa3, 0xbc, 0xda, 0xd0, 0x0e, 0x67, 0x65, 0x6f };

int efivar_add(struct vimg_nvram *nv, const uint8_t guid[16], uint32_t attr,
	       const uint8_t *name16, size_t name16_len, const uint8_t *data, size_t len,
	       uint64_t offset, const char *fmt, struct vimg_error *err)
{
	char name[EFI_NAME_MAX_BYTES * 2];
	struct efi_var *nvv, *v;
	size_t chars = 0;

	/* The name ends at its first NUL, which the copy always has. */
	while (chars * 2 + 1 < name16_len && (name16[chars * 2] || name16[chars * 2 + 1]))
		chars++;
	if (name16_len > EFI_NAME_MAX_BYTES || chars == 0 ||
	    utf16_to_utf8(name16, chars * 2, false, name, sizeof(name)) < 0)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "%s: variable at offset 0x%llx: name is empty or not "
				      "valid UTF-16", fmt, (unsigned long long)offset);
	if (nv->n_vars == nv->cap_vars) {
		size_t cap = nv->cap_vars ? nv->cap_vars * 2 : 32;

		if (!(nvv = realloc(nv->vars, cap * sizeof(*nvv))))
			return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
		nv->vars = nvv;
		nv->cap_vars = cap;
	}
	v = &nv->vars[nv->n_vars];
	memset(v, 0, sizeof(*v));
	memcpy(v->guid, guid, 16);
	v->attr = attr;
	v->offset = offset;
	v->name16_len = chars * 2 + 2;
	v->name = strdup(name);
	v->name16 = calloc(1, v->name16_len);
	v->data = malloc(len ? len : 1);
	if (!v->name || !v->name16 || !v->data) {
		efivar_clear(v);
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	}
	memcpy(v->name16, name16, chars * 2);
	if (len)
		memcpy(v->data, data, len);
	v->len = len;
	nv->n_vars++;
	return 0;
}

void efivar_clear(struct efi_var *v)
{
	free(v->name);
	free(v->name16);
	free(v->data);
	memset(v, 0, sizeof(*v));
}

ssize_t efivar_find(const struct efi_var *vars, size_t n, const char *name,
		    const uint8_t guid[16])
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(vars[i].name, name) && (!guid || !memcmp(vars[i].guid, guid, 16)))
			return (ssize_t)i;
	return -1;
}

bool efivar_non_volatile(const struct efi_var *v, struct vimg_warnings **w)
{
	if (v->attr & EFI_VAR_NON_VOLATILE)
		return true;
	warnings_add(w, v->name, "volatile (attributes 0x%x): the firmware makes it at boot, the "
		     "store does not keep it", v->attr);
	return false;
}

bool efivar_replaced(const struct efi_var *vars, size_t n, const struct efi_var *t)
{
	for (size_t i = 0; i < n; i++)
		if ((vars[i].attr & EFI_VAR_NON_VOLATILE) && !strcmp(vars[i].name, t->name) &&
		    !memcmp(vars[i].guid, t->guid, 16))
			return true;
	return false;
}
