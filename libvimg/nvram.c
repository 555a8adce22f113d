/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Firmware variables (vimg.h, "firmware variables"): a VM's .nvram or an
 * edk2 variable store opened read-only, described for inspect, and written
 * as the store OVMF boots from or as VMware's .nvram. The file is read whole (stores are small and
 * bounded), probed, and handed to its format's parser in formats/.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "efivar.h"
#include "vm.h"

static const struct {
	const char *name;
	bool (*probe)(const uint8_t *buf, size_t len);
	int (*parse)(struct vimg_nvram *nv, const uint8_t *buf, size_t len,
		     struct vimg_error *err);
} stores[] = {
	{ "vmware", nvram_vmware_probe, nvram_vmware_parse },
	{ "edk2", nvram_edk2_probe, nvram_edk2_parse },
};

int vimg_nvram_open(const char *path, unsigned flags, struct vimg_nvram **out,
		    struct vimg_error *err)
{
	struct vimg_nvram *nv;
	char *buf;
	size_t len;
	int rc = -1;

	(void)flags;
	*out = NULL;
	if (!path)
		return vimg_error_set(err, VIMG_EINVAL, "vimg_nvram_open: no path");
	if (file_read_all(path, EFI_STORE_MAX_BYTES, "nvram", &buf, &len, err))
		return -1;
	if (!(nv = calloc(1, sizeof(*nv))) || !(nv->path = strdup(path))) {
		free(nv);
		free(buf);
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < sizeof(stores) / sizeof(stores[0]); i++)
		if (stores[i].probe((const uint8_t *)buf, len)) {
			rc = stores[i].parse(nv, (const uint8_t *)buf, len, err);
			break;
		}
	if (!nv->format)
		vimg_error_set(err, VIMG_EFORMAT,
			       "nvram: no VMware container magic (\"MRVN\") at offset 0, no edk2 "
			       "firmware volume signature at offset 0x28");
	free(buf);
	if (rc) {
		vimg_error_prefix(err, "%s", path);
		vimg_nvram_close(nv);
		return -1;
	}
	*out = nv;
	return 0;
}

int vimg_vm_nvram_open(const struct vimg_vm *vm, struct vimg_nvram **out,
		       struct vimg_error *err)
{
	char *path;
	int rc;

	*out = NULL;
	if (!vm_valid(vm))
		return vimg_error_set(err, VIMG_EINVAL, "vimg_vm_nvram_open: invalid VM");
	if (!vm->nvram || !*vm->nvram)
		return vimg_error_set(err, VIMG_ENOENT, "%s names no nvram file", vm->path);
	if (vm_member(vm, vm->nvram, &path, err))
		return -1;
	rc = vimg_nvram_open(path, 0, out, err);
	file_window_end();
	free(path);
	return rc;
}

void nvram_release(struct vimg_nvram *nv)
{
	for (size_t i = 0; i < nv->n_vars; i++)
		efivar_clear(&nv->vars[i]);
	free(nv->vars);
	free(nv->sections);
	free(nv->path);
}

void vimg_nvram_close(struct vimg_nvram *nv)
{
	if (!nv)
		return;
	nvram_release(nv);
	free(nv);
}

const char *vimg_nvram_format(const struct vimg_nvram *nv)
{
	return nv ? nv->format : NULL;
}

size_t vimg_nvram_var_count(const struct vimg_nvram *nv)
{
	return nv ? nv->n_vars : 0;
}

int vimg_nvram_var(const struct vimg_nvram *nv, size_t i, struct vimg_efi_var *out)
{
	if (!nv || i >= nv->n_vars || !out)
		return VIMG_EINVAL;
	out->name = nv->vars[i].name;
	memcpy(out->guid, nv->vars[i].guid, 16);
	out->attributes = nv->vars[i].attr;
	out->data = nv->vars[i].data;
	out->size = nv->vars[i].len;
	return 0;
}

static void emit_var(const struct efi_var *v, const struct vimg_emit *em)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	char guid[37], attr[64], hex[2 * EVP_MAX_MD_SIZE + 1];
	const char *gname = efivar_guid_name(v->guid);

	em->begin(em->opaque, NULL, false);
	em->str(em->opaque, "name", v->name);
	id_guid_format(v->guid, false, guid);
	em->str(em->opaque, "guid", guid);
	if (gname)
		em->str(em->opaque, "guid-name", gname);
	em->u64(em->opaque, "attributes", v->attr);
	efivar_attr_text(v->attr, attr, sizeof(attr));
	em->str(em->opaque, "attributes-text", attr);
	em->u64(em->opaque, "size", v->len);
	if (EVP_Digest(v->data, v->len, md, &mdlen, EVP_sha256(), NULL)) {
		for (unsigned k = 0; k < mdlen; k++)
			snprintf(hex + 2 * k, 3, "%02x", md[k]);
		em->str(em->opaque, "sha256", hex);
	}
	if (v->len <= 64) {
		for (size_t k = 0; k < v->len; k++)
			snprintf(hex + 2 * k, 3, "%02x", v->data[k]);
		hex[2 * v->len] = 0;
		em->str(em->opaque, "data", hex);
	}
	efivar_emit_decoded(v, em);
	em->end(em->opaque);
}

int vimg_nvram_info(struct vimg_nvram *nv, const struct vimg_emit *em, struct vimg_error *err)
{
	if (!nv || !em)
		return vimg_error_set(err, VIMG_EINVAL, "vimg_nvram_info: invalid arguments");
	em->str(em->opaque, "format", nv->format);
	if (!strcmp(nv->format, "vmware")) {
		em->u64(em->opaque, "version", nv->version);
		em->begin(em->opaque, "sections", true);
		for (size_t i = 0; i < nv->n_sections; i++) {
			em->begin(em->opaque, NULL, false);
			em->str(em->opaque, "name", nv->sections[i].name);
			em->str(em->opaque, "subname", nv->sections[i].subname);
			em->u64(em->opaque, "offset", nv->sections[i].offset);
			em->u64(em->opaque, "size", nv->sections[i].len);
			em->end(em->opaque);
		}
		em->end(em->opaque);
	} else {
		em->u64(em->opaque, "store-size", nv->store_size);
	}
	em->begin(em->opaque, "variables", true);
	for (size_t i = 0; i < nv->n_vars; i++)
		emit_var(&nv->vars[i], em);
	em->end(em->opaque);
	efivar_emit_boot(nv->vars, nv->n_vars, em);
	efivar_emit_secure_boot(nv->vars, nv->n_vars, em);
	return 0;
}

typedef int (*store_build)(const struct efi_var *vars, size_t n, const uint8_t *template,
			   size_t template_len, uint8_t **out, size_t *out_len,
			   struct vimg_warnings **w, struct vimg_error *err);

static int export_store(const struct vimg_nvram *nv, const char *out, const char *template,
			store_build build, struct vimg_warnings **w, struct vimg_error *err)
{
	char *tbuf = NULL;
	size_t tlen = 0, len;
	uint8_t *store;
	int rc;

	if (template && file_read_all(template, EFI_STORE_MAX_BYTES, "template", &tbuf, &tlen, err))
		return -1;
	rc = build(nv->vars, nv->n_vars, (const uint8_t *)tbuf, tlen, &store, &len, w, err);
	free(tbuf);
	if (rc) {
		if (template)
			vimg_error_prefix(err, "%s", template);
		return -1;
	}
	rc = file_replace(out, store, len, err);
	free(store);
	return rc;
}

int vimg_nvram_export_ovmf(const struct vimg_nvram *nv, const char *out, const char *template,
			   struct vimg_warnings **w, struct vimg_error *err)
{
	if (!nv || !out)
		return vimg_error_set(err, VIMG_EINVAL,
				      "vimg_nvram_export_ovmf: invalid arguments");
	return export_store(nv, out, template, nvram_edk2_build, w, err);
}

int vimg_nvram_export_vmware(const struct vimg_nvram *nv, const char *out, const char *template,
			     struct vimg_warnings **w, struct vimg_error *err)
{
	if (!nv || !out)
		return vimg_error_set(err, VIMG_EINVAL,
				      "vimg_nvram_export_vmware: invalid arguments");
	return export_store(nv, out, template, nvram_vmware_build, w, err);
}
