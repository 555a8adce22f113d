/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * VMware's .nvram: a container ("MRVN", a version, then sections of
 * {name[4], subname[4], le32 length, bytes}) holding the firmware's state.
 * EFI VMs keep their variable store in section "EFI_"/"NV": "VMWNVRAM", a
 * le32 VMware leaves zero, the le32 size of the store from its magic on,
 * then entries {GUID, le32 attributes, le32 size of name and data, le32 name
 * size, UTF-16LE name, data}. Time-based authenticated variables carry 40
 * bytes of VMware's own metadata before their data; they are skipped, so the
 * data is what the firmware sees. BIOS VMs' sections (CMOS and the like) are
 * only listed. Every length is checked against what holds it, and a store
 * must end exactly where its size says: a container that lies is refused.
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
		ns = realloc(nv->sections, (nv->n_sections + 1) * sizeof(*ns));
		if (!ns)
			return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
		nv->sections = ns;
		sec = &ns[nv->n_sections++];
		printable(buf + off, sec->name);
		printable(buf + off + 4, sec->subname);
		sec->offset = off;
		sec->len = slen;
		if (!memcmp(buf + off, "EFI_", 4) && !memcmp(buf + off + 4, "NV\0\0", 4) &&
		    store_parse(nv, buf, off + SECTION_HEADER, slen, err))
			return -1;
		off += SECTION_HEADER + (uint64_t)slen;
	}
	return 0;
}
