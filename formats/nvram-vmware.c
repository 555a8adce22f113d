/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * VMware's .nvram: a container ("MRVN", a version, then sections of
 * {name[4], subname[4], le32 length, bytes}) holding the firmware's state.
 * EFI VMs keep their variable store in section "EFI_"/"NV": "VMWNVRAM", a
 * le32 VMware leaves zero, the le32 size of the store from its magic on,
 * then entries {GUID, le32 attributes, le32 size of name and data, le32 name
 * size, UTF-16LE name with its terminator, data}, packed with no alignment,
 * the rest of the section erased (0xff). Time-based authenticated variables
 * carry 40 bytes of metadata before their data, laid out as the UEFI
 * specification's EFI_VARIABLE_AUTHENTICATION_2 with no certificate (EFI_TIME,
 * then WIN_CERTIFICATE_UEFI_GUID: le32 length 24, le16 revision 0x200, le16
 * type 0x0ef1, the PKCS7 GUID); the data is what the firmware sees, and the
 * timestamp is taken only when the rest of that header is as described.
 * BIOS VMs' sections (CMOS and the like) are only listed. Every length is
 * checked against what holds it, and a store must end exactly where its size
 * says: a container that lies is refused.
 *
 * Written: the container VMware makes for an EFI VM's variables, or a
 * template's with its other sections and its layout kept byte for byte.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "efivar.h"
#include "endian.h"

#define MRVN_HEADER 8
#define SECTION_HEADER 12
#define STORE_HEADER 16
#define ENTRY_HEADER 28
#define AUTH_METADATA 40
/* VMware's EFI_/NV section is 256 KiB: its .nvram files of 270840 bytes end
 * with the store's 0x40000 bytes after about 8.5 KiB of other sections. */
#define STORE_SECTION_SIZE 0x40000u
#define WIN_CERT_LENGTH 24u
#define WIN_CERT_REVISION 0x0200u
#define WIN_CERT_TYPE_EFI_GUID 0x0ef1u

static const uint8_t cert_type_pkcs7_guid[16] = {
	0x9d, 0xd2, 0xaf, 0x4a, 0xdf, 0x68, 0xee, 0x49,
	0x8a, 0xa9, 0x34, 0x7d, 0x37, 0x56, 0x65, 0xa7 };

static bool efi_nv_section(const uint8_t *hdr)
{
	return !memcmp(hdr, "EFI_", 4) && !memcmp(hdr + 4, "NV\0\0", 4);
}

bool nvram_vmware_probe(const uint8_t *buf, size_t len)
{
	return len >= MRVN_HEADER && !memcmp(buf, "MRVN", 4);
}

static void printable(const uint8_t *in, char out[5])
{
	size_t n = 0;

	for (size_t i = 0; i < 4 && in[i]; i++)
		out[n++] = in[i] >= 0x20 && in[i] < 0x7f ? (char)in[i] : '?';
	out[n] = 0;
}

/* Zeros, or what a store this file wrote says, are all that is known of
 * these bytes: anything else keeps the timestamp zero, as for edk2's
 * non-authenticated stores. */
static void auth_timestamp(struct efi_var *v, const uint8_t *m)
{
	if (ld_le32(m + 16) == WIN_CERT_LENGTH && ld_le16(m + 20) == WIN_CERT_REVISION &&
	    ld_le16(m + 22) == WIN_CERT_TYPE_EFI_GUID && !memcmp(m + 24, cert_type_pkcs7_guid, 16))
		memcpy(v->timestamp, m, 16);
}

/* The store of section "EFI_"/"NV", its bytes at [base, base + len). */
static int store_parse(struct vimg_nvram *nv, const uint8_t *buf, uint64_t base, uint32_t len,
		       struct vimg_error *err)
{
	const uint8_t *s = buf + base;
	uint32_t size;
	uint64_t off;

	if (len < STORE_HEADER || memcmp(s, "VMWNVRAM", 8))
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "nvram: EFI store at offset 0x%llx: no \"VMWNVRAM\" header",
				      (unsigned long long)base);
	size = ld_le32(s + 12);
	if (size < STORE_HEADER || size > len)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "nvram: EFI store at offset 0x%llx: size 0x%x outside "
				      "[0x%x, section length 0x%x]",
				      (unsigned long long)base, size, STORE_HEADER, len);
	for (off = STORE_HEADER; off < size;) {
		uint64_t at = base + off;
		uint32_t attr, entry, name;
		const uint8_t *data;
		size_t data_len;

		if (size - off < ENTRY_HEADER)
			return vimg_error_set(err, VIMG_ECORRUPT,
					      "nvram: EFI variable at offset 0x%llx: header needs "
					      "%u bytes, the store has %llu left",
					      (unsigned long long)at, ENTRY_HEADER,
					      (unsigned long long)(size - off));
		attr = ld_le32(s + off + 16);
		entry = ld_le32(s + off + 20);
		name = ld_le32(s + off + 24);
		if (entry > size - off - ENTRY_HEADER)
			return vimg_error_set(err, VIMG_ECORRUPT,
					      "nvram: EFI variable at offset 0x%llx: size 0x%x runs "
					      "past the store's end (0x%llx)",
					      (unsigned long long)at, entry,
					      (unsigned long long)(base + size));
		if (name > entry || name % 2 || name == 0 || name > EFI_NAME_MAX_BYTES)
			return vimg_error_set(err, VIMG_ECORRUPT,
					      "nvram: EFI variable at offset 0x%llx: name size 0x%x "
					      "invalid (entry size 0x%x)",
					      (unsigned long long)at, name, entry);
		data = s + off + ENTRY_HEADER + name;
		data_len = entry - name;
		if (attr & EFI_VAR_TIME_AUTH_WRITE) {
			if (data_len < AUTH_METADATA)
				return vimg_error_set(err, VIMG_ECORRUPT,
						      "nvram: EFI variable at offset 0x%llx: "
						      "authenticated, but shorter than its %u "
						      "bytes of metadata",
						      (unsigned long long)at, AUTH_METADATA);
			data += AUTH_METADATA;
			data_len -= AUTH_METADATA;
		}
		if (nv->n_vars >= EFI_STORE_MAX_VARS)
			return vimg_error_set(err, VIMG_ECORRUPT,
					      "nvram: EFI variable at offset 0x%llx: more than %u "
					      "variables in the store", (unsigned long long)at,
					      EFI_STORE_MAX_VARS);
		if (efivar_add(nv, s + off, attr, s + off + ENTRY_HEADER, name, data, data_len, at,
			       "nvram", err))
			return -1;
		if (attr & EFI_VAR_TIME_AUTH_WRITE)
			auth_timestamp(&nv->vars[nv->n_vars - 1], data - AUTH_METADATA);
		off += ENTRY_HEADER + (uint64_t)entry;
	}
	return 0;
}

int nvram_vmware_parse(struct vimg_nvram *nv, const uint8_t *buf, size_t len,
		       struct vimg_error *err)
{
	uint64_t off = MRVN_HEADER;

	if (!nvram_vmware_probe(buf, len))
		return vimg_error_set(err, VIMG_EFORMAT, "nvram: no \"MRVN\" magic at offset 0");
	nv->format = "vmware";
	nv->version = ld_le32(buf + 4);
	while (off < len) {
		struct nvram_section *sec, *ns;
		uint32_t slen;

		if (len - off < SECTION_HEADER)
			return vimg_error_set(err, VIMG_ECORRUPT,
					      "nvram: section header at offset 0x%llx: needs %u "
					      "bytes, the file has %llu left",
					      (unsigned long long)off, SECTION_HEADER,
					      (unsigned long long)(len - off));
		slen = ld_le32(buf + off + 8);
		if (slen > len - off - SECTION_HEADER)
			return vimg_error_set(err, VIMG_ECORRUPT,
					      "nvram: section at offset 0x%llx: length 0x%x runs "
					      "past the end of the file (0x%zx)",
					      (unsigned long long)off, slen, len);
		if (nv->n_sections >= EFI_STORE_MAX_SECTIONS)
			return vimg_error_set(err, VIMG_ECORRUPT,
					      "nvram: section at offset 0x%llx: more than %u sections",
					      (unsigned long long)off, EFI_STORE_MAX_SECTIONS);
		if (nv->n_sections == nv->cap_sections) {
			size_t cap = nv->cap_sections ? nv->cap_sections * 2 : 8;

			if (!(ns = realloc(nv->sections, cap * sizeof(*ns))))
				return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
			nv->sections = ns;
			nv->cap_sections = cap;
		}
		sec = &nv->sections[nv->n_sections++];
		printable(buf + off, sec->name);
		printable(buf + off + 4, sec->subname);
		sec->offset = off;
		sec->len = slen;
		if (efi_nv_section(buf + off) &&
		    store_parse(nv, buf, off + SECTION_HEADER, slen, err))
			return -1;
		off += SECTION_HEADER + (uint64_t)slen;
	}
	return 0;
}

/* ---- writing ------------------------------------------------------------------ */

static int put_var(uint8_t *s, uint32_t *off, uint32_t end, const struct efi_var *v,
		   struct vimg_error *err)
{
	bool auth = v->attr & EFI_VAR_TIME_AUTH_WRITE;
	uint64_t entry = v->name16_len + (auth ? AUTH_METADATA : 0) + (uint64_t)v->len;
	uint8_t *e = s + *off, *p;

	if (v->len > end || ENTRY_HEADER + entry > end - *off)
		return vimg_error_set(err, VIMG_ENOSPC,
				      "nvram: EFI variable %s (%zu bytes of data) does not fit: "
				      "%u bytes of the store (section EFI_/NV, 0x%x bytes) "
				      "are left",
				      v->name, v->len, end - *off, end);
	memcpy(e, v->guid, 16);
	st_le32(e + 16, v->attr);
	st_le32(e + 20, (uint32_t)entry);
	st_le32(e + 24, (uint32_t)v->name16_len);
	memcpy(e + ENTRY_HEADER, v->name16, v->name16_len);
	p = e + ENTRY_HEADER + v->name16_len;
	if (auth) {
		memcpy(p, v->timestamp, 16);
		st_le32(p + 16, WIN_CERT_LENGTH);
		st_le16(p + 20, WIN_CERT_REVISION);
		st_le16(p + 22, WIN_CERT_TYPE_EFI_GUID);
		memcpy(p + 24, cert_type_pkcs7_guid, 16);
		p += AUTH_METADATA;
	}
	if (v->len)
		memcpy(p, v->data, v->len);
	*off += (uint32_t)(ENTRY_HEADER + entry);
	return 0;
}

/* Where the template's store goes: its EFI_/NV section, or a new one after
 * its sections when it has none (a BIOS VM's file). *len is the output's. */
static int template_store(const struct vimg_nvram *tmpl, const uint8_t *template,
			  size_t template_len, uint64_t *at, uint32_t *slen, size_t *len,
			  struct vimg_error *err)
{
	const struct nvram_section *found = NULL;

	for (size_t i = 0; i < tmpl->n_sections; i++) {
		const struct nvram_section *sec = &tmpl->sections[i];

		if (!efi_nv_section(template + sec->offset))
			continue;
		if (found)
			return vimg_error_set(err, VIMG_EUNSUPPORTED,
					      "nvram: template: EFI_/NV sections at offsets 0x%llx "
					      "and 0x%llx: which one the firmware reads is unknown",
					      (unsigned long long)found->offset,
					      (unsigned long long)sec->offset);
		found = sec;
	}
	if (found) {
		*at = found->offset + SECTION_HEADER;
		*slen = found->len;
		*len = template_len;
		return 0;
	}
	*at = template_len + SECTION_HEADER;
	*slen = STORE_SECTION_SIZE;
	*len = template_len + SECTION_HEADER + STORE_SECTION_SIZE;
	if (*len > EFI_STORE_MAX_BYTES)
		return vimg_error_set(err, VIMG_ENOSPC,
				      "nvram: template of 0x%zx bytes: no room for an EFI_/NV "
				      "section within %u MiB", template_len,
				      EFI_STORE_MAX_BYTES >> 20);
	return 0;
}

int nvram_vmware_build(const struct efi_var *vars, size_t n, const uint8_t *template,
		       size_t template_len, uint8_t **out, size_t *out_len,
		       struct vimg_warnings **w, struct vimg_error *err)
{
	struct vimg_nvram tmpl = { .format = "vmware" };
	uint64_t at = MRVN_HEADER + SECTION_HEADER;
	uint32_t slen = STORE_SECTION_SIZE, off = STORE_HEADER, word = 0;
	size_t len = MRVN_HEADER + SECTION_HEADER + STORE_SECTION_SIZE, count = 0;
	uint8_t *b = NULL, *s;
	bool fresh;
	int rc = -1;

	if (template && (nvram_vmware_parse(&tmpl, template, template_len, err) ||
			 template_store(&tmpl, template, template_len, &at, &slen, &len, err)))
		goto out;
	if (!(b = malloc(len))) {
		vimg_error_set(err, VIMG_ENOMEM, "out of memory");
		goto out;
	}
	/* A template's own section keeps its header and the word VMware leaves
	 * zero; a new one gets both. */
	fresh = !template || at > template_len;
	if (template) {
		memcpy(b, template, template_len);
	} else {
		memcpy(b, "MRVN", 4);
		st_le32(b + 4, 1);	/* the version of every file seen */
	}
	if (fresh) {
		memcpy(b + at - SECTION_HEADER, "EFI_NV\0\0", 8);
		st_le32(b + at - 4, slen);
	} else {
		word = ld_le32(b + at + 8);
	}
	s = b + at;
	memset(s, 0xff, slen);
	memcpy(s, "VMWNVRAM", 8);
	st_le32(s + 8, word);
	for (size_t i = 0; i < tmpl.n_vars; i++) {
		if (efivar_replaced(vars, n, &tmpl.vars[i]))
			continue;
		if (put_var(s, &off, slen, &tmpl.vars[i], err))
			goto fail;
		count++;
	}
	for (size_t i = 0; i < n; i++) {
		if (!efivar_non_volatile(&vars[i], w))
			continue;
		if (count++ >= EFI_STORE_MAX_VARS) {
			vimg_error_set(err, VIMG_ENOSPC, "nvram: EFI variable %s: more than %u "
				       "variables in one store", vars[i].name, EFI_STORE_MAX_VARS);
			goto fail;
		}
		if (put_var(s, &off, slen, &vars[i], err))
			goto fail;
	}
	st_le32(s + 12, off);
	*out = b;
	*out_len = len;
	rc = 0;
	goto out;
fail:
	free(b);
out:
	nvram_release(&tmpl);
	return rc;
}
