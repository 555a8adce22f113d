/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * edk2's variable store, the file OVMF keeps its variables in
 * (OVMF_VARS*.fd): a firmware volume (header with a 16-bit checksum, a block
 * map) whose first part is the variable store (header: the authenticated
 * variable GUID, size, format 0x5a, state 0xfe), variables one after the
 * other on 4-byte boundaries (header with StartId 0x55aa, state, attributes,
 * monotonic count, timestamp, public key index, name and data sizes, vendor
 * GUID; UTF-16 name with its terminator; data), the rest erased (0xff). After
 * the store OVMF keeps a 4 KiB event log area and the fault-tolerant-write
 * working block (its header has a CRC-32) and spare area.
 *
 * Read: the active variables (state "added", or "in deleted transition"
 * when no added copy exists), non-authenticated stores too. Written: an
 * authenticated store laid out as OVMF's 4 MiB build lays it out, or as a
 * template lays it out, so that the firmware takes it as its own.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "efivar.h"
#include "endian.h"

#define FV_HEADER_MIN 0x48
#define STORE_HEADER 28
#define AUTH_VAR_HEADER 60
#define VAR_HEADER 32
#define VAR_START_ID 0x55aa
#define VAR_ADDED 0x3f
#define VAR_IN_DELETED_TRANSITION 0xfe
#define STORE_FORMATTED 0x5a
#define STORE_HEALTHY 0xfe

/* OVMF's 4 MiB build (OvmfPkg/VarStore.fdf.inc): 0x84000 bytes in 4 KiB
 * blocks, the variable store in the first 0x40000, the working block at
 * 0x41000 and its spare from 0x42000. */
#define OVMF_FV_LENGTH 0x84000u
#define OVMF_BLOCK 0x1000u
#define OVMF_STORE_END 0x40000u
#define OVMF_WORKING_BLOCK 0x41000u
#define OVMF_WORKING_BLOCK_SIZE 0x1000u
#define OVMF_FV_ATTRIBUTES 0x0004feffu

static const uint8_t nv_data_fv_guid[16] = {
	0x8d, 0x2b, 0xf1, 0xff, 0x96, 0x76, 0x8b, 0x4c,
	0xa9, 0x85, 0x27, 0x47, 0x07, 0x5b, 0x4f, 0x50 };
static const uint8_t auth_variable_guid[16] = {
	0x78, 0x2c, 0xf3, 0xaa, 0x7b, 0x94, 0x9a, 0x43,
	0xa1, 0x80, 0x2e, 0x14, 0x4e, 0xc3, 0x77, 0x92 };
static const uint8_t variable_guid[16] = {
	0x16, 0x36, 0xcf, 0xdd, 0x75, 0x32, 0x64, 0x41,
	0x98, 0xb6, 0xfe, 0x85, 0x70, 0x7f, 0xfe, 0x7d };
static const uint8_t working_block_guid[16] = {
	0x2b, 0x29, 0x58, 0x9e, 0x68, 0x7c, 0x7d, 0x49,
	0xa0, 0xce, 0x65, 0x00, 0xfd, 0x9f, 0x1b, 0x95 };

bool nvram_edk2_probe(const uint8_t *buf, size_t len)
{
	return len >= FV_HEADER_MIN + STORE_HEADER && !memcmp(buf + 0x28, "_FVH", 4) &&
	       !memcmp(buf + 0x10, nv_data_fv_guid, 16);
}

static uint32_t align4(uint32_t v)
{
	return (v + 3) & ~3u;
}

/* Where the store starts and ends, checked against the volume. */
static int store_bounds(const uint8_t *buf, size_t len, uint32_t *start, uint32_t *end,
			bool *auth, struct vimg_error *err)
{
	uint64_t fv_len;
	uint16_t hdr_len, sum = 0;
	uint32_t size;
	const uint8_t *st;

	if (!nvram_edk2_probe(buf, len))
		return vimg_error_set(err, VIMG_EFORMAT,
				      "edk2 store: no firmware volume signature at offset 0x28");
	fv_len = ld_le64(buf + 0x20);
	hdr_len = ld_le16(buf + 0x30);
	if (fv_len > len || hdr_len < FV_HEADER_MIN || hdr_len % 2 ||
	    (uint64_t)hdr_len + STORE_HEADER > fv_len)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "edk2 store: firmware volume header at offset 0: length "
				      "0x%llx or header length 0x%x does not fit the file (0x%zx)",
				      (unsigned long long)fv_len, hdr_len, len);
	for (unsigned i = 0; i < hdr_len; i += 2)
		sum = (uint16_t)(sum + ld_le16(buf + i));
	if (sum)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "edk2 store: firmware volume header at offset 0: bad "
				      "checksum (sum 0x%04x)", sum);
	st = buf + hdr_len;
	if (!memcmp(st, auth_variable_guid, 16))
		*auth = true;
	else if (!memcmp(st, variable_guid, 16))
		*auth = false;
	else
		return vimg_error_set(err, VIMG_EFORMAT,
				      "edk2 store: no variable store header at offset 0x%x", hdr_len);
	size = ld_le32(st + 16);
	if (size < STORE_HEADER || size > fv_len - hdr_len || st[20] != STORE_FORMATTED)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "edk2 store: variable store header at offset 0x%x: size "
				      "0x%x or format 0x%02x invalid", hdr_len, size, st[20]);
	*start = align4(hdr_len + STORE_HEADER);
	*end = hdr_len + size;
	return 0;
}

int nvram_edk2_parse(struct vimg_nvram *nv, const uint8_t *buf, size_t len,
		     struct vimg_error *err)
{
	uint32_t start, end, off;
	bool auth;

	if (store_bounds(buf, len, &start, &end, &auth, err))
		return -1;
	nv->format = "edk2";
	nv->store_size = end - ld_le16(buf + 0x30);
	for (off = start; off < end;) {
		uint32_t hsize = auth ? AUTH_VAR_HEADER : VAR_HEADER, name, data;
		const uint8_t *h = buf + off;
		const uint8_t *guid;
		uint64_t total;
		ssize_t dup;

		if (end - off < hsize || ld_le16(h) != VAR_START_ID)
			break;
		name = ld_le32(h + (auth ? 36 : 8));
		data = ld_le32(h + (auth ? 40 : 12));
		guid = h + (auth ? 44 : 16);
		total = (uint64_t)hsize + name + data;
		if (total > end - off || name % 2 || name == 0 || name > EFI_NAME_MAX_BYTES)
			return vimg_error_set(err, VIMG_ECORRUPT,
					      "edk2 store: variable at offset 0x%x: name size 0x%x "
					      "or data size 0x%x invalid or past the store's end "
					      "(0x%x)", off, name, data, end);
		if (h[2] == VAR_ADDED || h[2] == (VAR_ADDED & VAR_IN_DELETED_TRANSITION)) {
			char tmp[EFI_NAME_MAX_BYTES * 2];

			if (utf16_to_utf8(h + hsize, name, false, tmp, sizeof(tmp)) < 0)
				return vimg_error_set(err, VIMG_ECORRUPT,
						      "edk2 store: variable at offset 0x%x: name "
						      "is not valid UTF-16", off);
			dup = efivar_find(nv->vars, nv->n_vars, tmp, guid);
			/* A copy being replaced gives way to the one replacing it;
			 * of two added copies the firmware takes the first. */
			if (dup >= 0 && h[2] == VAR_ADDED && nv->vars[dup].state != VAR_ADDED) {
				efivar_clear(&nv->vars[dup]);
				memmove(&nv->vars[dup], &nv->vars[dup + 1],
					(nv->n_vars - (size_t)dup - 1) * sizeof(*nv->vars));
				nv->n_vars--;
				dup = -1;
			}
			if (dup < 0) {
				if (nv->n_vars >= EFI_STORE_MAX_VARS)
					return vimg_error_set(err, VIMG_ECORRUPT,
							      "edk2 store: variable at offset 0x%x: "
							      "more than %u variables", off,
							      EFI_STORE_MAX_VARS);
				if (efivar_add(nv, guid, ld_le32(h + 4), h + hsize, name,
					       h + hsize + name, data, off, "edk2 store", err))
					return -1;
				if (auth) {
					struct efi_var *v = &nv->vars[nv->n_vars - 1];

					v->monotonic_count = ld_le64(h + 8);
					memcpy(v->timestamp, h + 16, 16);
					v->pubkey_index = ld_le32(h + 32);
				}
				nv->vars[nv->n_vars - 1].state = h[2];
			}
		}
		off = (uint32_t)(off + total);
		if (align4(off) < off)
			break;
		off = align4(off);
	}
	return 0;
}

/* ---- writing ------------------------------------------------------------------ */

/* An empty volume laid out as OVMF's 4 MiB build. */
static uint8_t *ovmf_layout(size_t *len)
{
	uint8_t *b = malloc(OVMF_FV_LENGTH), *wb;
	uint16_t sum = 0;

	if (!b)
		return NULL;
	memset(b, 0xff, OVMF_FV_LENGTH);
	memset(b, 0, FV_HEADER_MIN);
	memcpy(b + 0x10, nv_data_fv_guid, 16);
	st_le64(b + 0x20, OVMF_FV_LENGTH);
	memcpy(b + 0x28, "_FVH", 4);
	st_le32(b + 0x2c, OVMF_FV_ATTRIBUTES);
	st_le16(b + 0x30, FV_HEADER_MIN);
	b[0x37] = 2;			/* revision */
	st_le32(b + 0x38, OVMF_FV_LENGTH / OVMF_BLOCK);
	st_le32(b + 0x3c, OVMF_BLOCK);
	for (unsigned i = 0; i < FV_HEADER_MIN; i += 2)
		sum = (uint16_t)(sum + ld_le16(b + i));
	st_le16(b + 0x32, (uint16_t)(0x10000 - sum));

	memcpy(b + FV_HEADER_MIN, auth_variable_guid, 16);
	st_le32(b + FV_HEADER_MIN + 16, OVMF_STORE_END - FV_HEADER_MIN);
	b[FV_HEADER_MIN + 20] = STORE_FORMATTED;
	b[FV_HEADER_MIN + 21] = STORE_HEALTHY;
	memset(b + FV_HEADER_MIN + 22, 0, 6);

	/* The working block header's CRC covers it with the CRC field and the
	 * state byte erased; valid is then the state byte 0xfe. */
	wb = b + OVMF_WORKING_BLOCK;
	memcpy(wb, working_block_guid, 16);
	st_le64(wb + 24, OVMF_WORKING_BLOCK_SIZE - 32);
	st_le32(wb + 16, (uint32_t)crc32(0L, wb, 32));
	wb[20] = 0xfe;
	*len = OVMF_FV_LENGTH;
	return b;
}

static int put_var(uint8_t *b, uint32_t *off, uint32_t end, const struct efi_var *v,
		   struct vimg_error *err)
{
	uint64_t total = AUTH_VAR_HEADER + (uint64_t)v->name16_len + v->len;
	uint8_t *h = b + *off;

	if (total > end - *off)
		return vimg_error_set(err, VIMG_ENOSPC,
				      "edk2 store: variable %s (%zu bytes of data) does not fit: "
				      "%u bytes of the store are left", v->name, v->len,
				      end - *off);
	st_le16(h, VAR_START_ID);
	h[2] = VAR_ADDED;
	h[3] = 0;
	st_le32(h + 4, v->attr);
	st_le64(h + 8, v->monotonic_count);
	memcpy(h + 16, v->timestamp, 16);
	st_le32(h + 32, v->pubkey_index);
	st_le32(h + 36, (uint32_t)v->name16_len);
	st_le32(h + 40, (uint32_t)v->len);
	memcpy(h + 44, v->guid, 16);
	memcpy(h + AUTH_VAR_HEADER, v->name16, v->name16_len);
	if (v->len)
		memcpy(h + AUTH_VAR_HEADER + v->name16_len, v->data, v->len);
	*off = align4((uint32_t)(*off + total));
	if (*off > end)
		*off = end;
	return 0;
}

int nvram_edk2_build(const struct efi_var *vars, size_t n, const uint8_t *template,
		     size_t template_len, uint8_t **out, size_t *out_len,
		     struct vimg_warnings **w, struct vimg_error *err)
{
	struct vimg_nvram tmpl = { .format = "edk2" };
	uint32_t start, end, off;
	uint8_t *b;
	size_t len;
	bool auth;
	int rc = -1;

	if (template) {
		if (store_bounds(template, template_len, &start, &end, &auth, err) ||
		    nvram_edk2_parse(&tmpl, template, template_len, err))
			goto out;
		if (!auth) {
			vimg_error_set(err, VIMG_EUNSUPPORTED,
				       "edk2 store: the template's store is not authenticated: it "
				       "cannot hold Secure Boot variables");
			goto out;
		}
		if (!(b = malloc(template_len)))
			goto oom;
		memcpy(b, template, template_len);
		len = template_len;
	} else {
		if (!(b = ovmf_layout(&len)))
			goto oom;
		start = align4(FV_HEADER_MIN + STORE_HEADER);
		end = OVMF_STORE_END;
	}
	memset(b + start, 0xff, end - start);
	off = start;
	for (size_t i = 0; i < tmpl.n_vars; i++)
		if (!efivar_replaced(vars, n, &tmpl.vars[i]) &&
		    put_var(b, &off, end, &tmpl.vars[i], err))
			goto fail;
	for (size_t i = 0; i < n; i++) {
		if (!efivar_non_volatile(&vars[i], w))
			continue;
		if (put_var(b, &off, end, &vars[i], err))
			goto fail;
	}
	*out = b;
	*out_len = len;
	rc = 0;
	goto out;
oom:
	vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	goto out;
fail:
	free(b);
out:
	nvram_release(&tmpl);
	return rc;
}
