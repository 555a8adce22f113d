/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * UEFI variables as people read them. Load options (Boot####) and their
 * device paths are rendered as efibootmgr -v prints them, so that what
 * inspect shows can be compared with what a running guest reports;
 * signature lists (PK, KEK, db, dbx) are broken into their entries, X.509
 * certificates named by subject (libcrypto), hashes counted. Every length is
 * checked against the variable's data: a malformed value is rendered as far
 * as it is sound and then marked, never read past.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "efivar.h"
#include "endian.h"

#define DEVPATH_MAX_NODES 256

static const uint8_t cert_x509_guid[16] = {
	0xa1, 0x59, 0xc0, 0xa5, 0xe4, 0x94, 0xa7, 0x4a,
	0x87, 0xb5, 0xab, 0x15, 0x5c, 0x2b, 0xf0, 0x72 };
static const uint8_t cert_sha256_guid[16] = {
	0x26, 0x16, 0xc4, 0xc1, 0x4c, 0x50, 0x92, 0x40,
	0xac, 0xa9, 0x41, 0xf9, 0x36, 0x93, 0x43, 0x28 };

static const struct {
	uint8_t guid[16];
	const char *name;
} known_guids[] = {
	{ { 0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11, 0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03,
	    0x2b, 0x8c }, "EFI_GLOBAL_VARIABLE" },
	{ { 0xcb, 0xb2, 0x19, 0xd7, 0x3a, 0x3d, 0x96, 0x45, 0xa3, 0xbc, 0xda, 0xd0, 0x0e, 0x67,
	    0x65, 0x6f }, "EFI_IMAGE_SECURITY_DATABASE" },
	{ { 0xc7, 0x0b, 0xa3, 0xf0, 0x08, 0xaf, 0x56, 0x45, 0x99, 0xc4, 0x00, 0x10, 0x09, 0xc9,
	    0x3a, 0x44 }, "EFI_SECURE_BOOT_ENABLE_DISABLE" },
	{ { 0x0c, 0xec, 0x76, 0xc0, 0x28, 0x70, 0x99, 0x43, 0xa0, 0x72, 0x71, 0xee, 0x5c, 0x44,
	    0x8b, 0x9f }, "EFI_CUSTOM_MODE_ENABLE" },
	{ { 0xe0, 0xe4, 0x73, 0x90, 0xec, 0x60, 0x6e, 0x4b, 0x99, 0x03, 0x4c, 0x22, 0x3c, 0x26,
	    0x0f, 0x3c }, "EFI_VENDOR_KEYS_NV" },
	{ { 0x50, 0xab, 0x5d, 0x60, 0x46, 0xe0, 0x00, 0x43, 0xab, 0xb6, 0x3d, 0xd8, 0x10, 0xdd,
	    0x8b, 0x23 }, "SHIM_LOCK" },
};

const char *efivar_guid_name(const uint8_t guid[16])
{
	for (size_t i = 0; i < sizeof(known_guids) / sizeof(known_guids[0]); i++)
		if (!memcmp(guid, known_guids[i].guid, 16))
			return known_guids[i].name;
	return NULL;
}

void efivar_attr_text(uint32_t attr, char *out, size_t n)
{
	static const char *const names[] = { "NV", "BS", "RT", "HR", "AW", "AT", "AP" };
	size_t o = 0;

	out[0] = 0;
	for (unsigned i = 0; i < 7; i++)
		if (attr & (1u << i))
			o += (size_t)snprintf(out + o, o < n ? n - o : 0, "%s%s", o ? "," : "",
					      names[i]);
	if (attr & ~0x7fu)
		snprintf(out + o, o < n ? n - o : 0, "%s0x%x", o ? "," : "", attr & ~0x7fu);
}

/* ---- device paths ----------------------------------------------------------------- */

struct text {
	char *buf;
	size_t len, cap;
	bool oom;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->buf ? t->buf + t->len : NULL, t->buf ? t->cap - t->len : 0, fmt,
			      ap);
		va_end(ap);
		if (n < 0) {
			t->oom = true;
			return;
		}
		if (t->buf && t->len + (size_t)n < t->cap) {
			t->len += (size_t)n;
			return;
		}
		size_t cap = (t->cap ? t->cap * 2 : 128) + (size_t)n;
		char *nb = realloc(t->buf, cap);

		if (!nb) {
			t->oom = true;
			return;
		}
		t->buf = nb;
		t->cap = cap;
	}
}

static void put_guid(struct text *t, const uint8_t *g)
{
	char s[37];

	id_guid_format(g, false, s);
	put(t, "%s", s);
}

static void put_hex(struct text *t, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put(t, "%02x", p[i]);
}

/* One node's text, its type/subtype known and its length checked. */
static void devpath_node(struct text *t, uint8_t type, uint8_t sub, const uint8_t *d,
			 size_t n)
{
	if (type == 1 && sub == 1 && n >= 2) {
		put(t, "Pci(0x%x,0x%x)", d[1], d[0]);
	} else if (type == 1 && sub == 4 && n >= 16) {
		put(t, "VenHw(");
		put_guid(t, d);
		if (n > 16) {
			put(t, ",");
			put_hex(t, d + 16, n - 16);
		}
		put(t, ")");
	} else if (type == 1 && sub == 5 && n >= 4) {
		put(t, "Ctrl(0x%x)", ld_le32(d));
	} else if (type == 2 && sub == 1 && n >= 8) {
		uint32_t hid = ld_le32(d), uid = ld_le32(d + 4);

		if (hid == 0x0a0341d0)
			put(t, "PciRoot(0x%x)", uid);
		else if (hid == 0x0a0841d0)
			put(t, "PcieRoot(0x%x)", uid);
		else if ((hid & 0xffff) == 0x41d0)
			put(t, "Acpi(PNP%04x,0x%x)", hid >> 16, uid);
		else
			put(t, "Acpi(0x%08x,0x%x)", hid, uid);
	} else if (type == 3 && sub == 1 && n >= 4) {
		put(t, "ATAPI(%u,%u,%u)", d[0], d[1], ld_le16(d + 2));
	} else if (type == 3 && sub == 2 && n >= 4) {
		put(t, "SCSI(%u,%u)", ld_le16(d), ld_le16(d + 2));
	} else if (type == 3 && sub == 5 && n >= 2) {
		put(t, "USB(%u,%u)", d[0], d[1]);
	} else if (type == 3 && sub == 10 && n >= 16) {
		put(t, "VenMsg(");
		put_guid(t, d);
		if (n > 16) {
			put(t, ",");
			put_hex(t, d + 16, n - 16);
		}
		put(t, ")");
	} else if (type == 3 && sub == 11 && n >= 33) {
		put(t, "MAC(");
		put_hex(t, d, d[32] <= 1 ? 6 : 32);
		put(t, ",%u)", d[32]);
	} else if (type == 3 && sub == 12 && n >= 15) {
		put(t, "IPv4(%u.%u.%u.%u,%u.%u.%u.%u,%u,%u)", d[4], d[5], d[6], d[7], d[0], d[1],
		    d[2], d[3], ld_le16(d + 12), d[14]);
	} else if (type == 3 && sub == 18 && n >= 6) {
		put(t, "Sata(%u,%u,%u)", ld_le16(d), ld_le16(d + 2), ld_le16(d + 4));
	} else if (type == 3 && sub == 23 && n >= 12) {
		put(t, "NVMe(0x%x,", ld_le32(d));
		for (unsigned i = 0; i < 8; i++)
			put(t, "%s%02X", i ? "-" : "", d[4 + i]);
		put(t, ")");
	} else if (type == 3 && sub == 24) {
		put(t, "Uri(%.*s)", (int)n, (const char *)d);
	} else if (type == 4 && sub == 1 && n >= 38) {
		uint32_t part = ld_le32(d);
		uint64_t start = ld_le64(d + 4), size = ld_le64(d + 12);

		if (d[37] == 2) {
			put(t, "HD(%u,GPT,", part);
			put_guid(t, d + 20);
		} else if (d[37] == 1) {
			put(t, "HD(%u,MBR,0x%08x", part, ld_le32(d + 20));
		} else {
			put(t, "HD(%u,%u,0", part, d[37]);
		}
		put(t, ",0x%llx,0x%llx)", (unsigned long long)start, (unsigned long long)size);
	} else if (type == 4 && sub == 2 && n >= 20) {
		put(t, "CDROM(%u,0x%llx,0x%llx)", ld_le32(d), (unsigned long long)ld_le64(d + 4),
		    (unsigned long long)ld_le64(d + 12));
	} else if (type == 4 && sub == 3 && n >= 16) {
		put(t, "VenMedia(");
		put_guid(t, d);
		put(t, ")");
	} else if (type == 4 && sub == 4) {
		char path[2048];

		if (utf16_to_utf8(d, n, false, path, sizeof(path)) < 0)
			put(t, "File(<malformed>)");
		else
			put(t, "File(%s)", path);
	} else if (type == 4 && (sub == 6 || sub == 7) && n >= 16) {
		put(t, sub == 6 ? "FvFile(" : "Fv(");
		put_guid(t, d);
		put(t, ")");
	} else if (type == 4 && sub == 8 && n >= 20) {
		put(t, "Offset(0x%llx,0x%llx)", (unsigned long long)ld_le64(d + 4),
		    (unsigned long long)ld_le64(d + 12));
	} else if (type == 5 && sub == 1 && n >= 4) {
		put(t, "BBS(%u,%.*s,0x%x)", ld_le16(d), (int)strnlen((const char *)d + 4, n - 4),
		    (const char *)d + 4, ld_le16(d + 2));
	} else {
		put(t, "Path(%u,%u,", type, sub);
		put_hex(t, d, n);
		put(t, ")");
	}
}

char *efivar_devpath_text(const uint8_t *p, size_t len)
{
	struct text t = { 0 };
	size_t off = 0;
	bool sep = false;

	put(&t, "%s", "");
	for (unsigned nodes = 0; off < len; nodes++) {
		uint8_t type, sub;
		uint16_t nlen;

		if (len - off < 4 || (nlen = ld_le16(p + off + 2)) < 4 || nlen > len - off ||
		    nodes >= DEVPATH_MAX_NODES) {
			put(&t, "%s<malformed at %zu>", sep ? "/" : "", off);
			break;
		}
		type = p[off];
		sub = p[off + 1];
		if (type == 0x7f && sub == 0xff)
			break;
		if (type == 0x7f) {
			put(&t, ",");
			sep = false;
		} else {
			if (sep)
				put(&t, "/");
			devpath_node(&t, type, sub, p + off + 4, nlen - 4u);
			sep = true;
		}
		off += nlen;
	}
	if (t.oom) {
		free(t.buf);
		return NULL;
	}
	return t.buf;
}

/* ---- values ------------------------------------------------------------------------ */

static bool is_boot_option(const char *name)
{
	static const char *const prefixes[] = { "Boot", "Driver", "SysPrep", "PlatformRecovery" };

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t l = strlen(prefixes[i]);

		if (!strncmp(name, prefixes[i], l) && strlen(name) == l + 4 &&
		    strspn(name + l, "0123456789ABCDEF") == 4)
			return true;
	}
	return false;
}

static bool global(const struct efi_var *v)
{
	return !memcmp(v->guid, efi_global_variable_guid, 16);
}

/* EFI_LOAD_OPTION: attributes, path length, description, path, optional data. */
static void emit_load_option(const struct efi_var *v, const struct vimg_emit *em)
{
	char desc[1024], *path;
	size_t dlen = 0;
	uint16_t plen;

	if (v->len < 6) {
		em->str(em->opaque, "malformed", "shorter than a load option");
		return;
	}
	plen = ld_le16(v->data + 4);
	while (6 + dlen + 1 < v->len && (v->data[6 + dlen] || v->data[7 + dlen]))
		dlen += 2;
	if (6 + dlen + 2 > v->len || plen > v->len - 6 - dlen - 2 ||
	    utf16_to_utf8(v->data + 6, dlen, false, desc, sizeof(desc)) < 0) {
		em->str(em->opaque, "malformed", "description or device path past the end");
		return;
	}
	em->boolean(em->opaque, "active", ld_le32(v->data) & 1);
	em->str(em->opaque, "description", desc);
	path = efivar_devpath_text(v->data + 6 + dlen + 2, plen);
	em->str(em->opaque, "device-path", path ? path : "");
	free(path);
	em->u64(em->opaque, "optional-data-bytes", v->len - 6 - dlen - 2 - plen);
}

static void emit_u16_list(const struct efi_var *v, const struct vimg_emit *em, const char *key)
{
	char buf[5 * 256 + 1];
	size_t o = 0;

	buf[0] = 0;
	for (size_t i = 0; i + 1 < v->len && o + 6 < sizeof(buf); i += 2)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%04X", i ? "," : "",
				      ld_le16(v->data + i));
	em->str(em->opaque, key, buf);
}

/* The entries of an EFI_SIGNATURE_LIST sequence; false if malformed. */
static bool emit_signature_lists(const uint8_t *p, size_t len, const struct vimg_emit *em)
{
	size_t off = 0;
	bool ok = true;

	em->begin(em->opaque, "entries", true);
	while (off < len && ok) {
		uint32_t lsize, hsize, ssize;
		size_t count;
		const uint8_t *type;

		if (len - off < 28 || (lsize = ld_le32(p + off + 16)) > len - off ||
		    (hsize = ld_le32(p + off + 20)) > lsize - 28 ||
		    (ssize = ld_le32(p + off + 24)) < 16 || lsize < 28) {
			ok = false;
			break;
		}
		type = p + off;
		if ((lsize - 28 - hsize) % ssize) {
			ok = false;
			break;
		}
		count = (lsize - 28 - hsize) / ssize;
		for (size_t i = 0; i < count; i++) {
			const uint8_t *sig = p + off + 28 + hsize + i * ssize;
			char owner[37];

			em->begin(em->opaque, NULL, false);
			id_guid_format(sig, false, owner);
			em->str(em->opaque, "owner", owner);
			if (!memcmp(type, cert_x509_guid, 16)) {
				const unsigned char *der = sig + 16;
				X509 *x = d2i_X509(NULL, &der, (long)(ssize - 16));
				BIO *b = x ? BIO_new(BIO_s_mem()) : NULL;
				char *s;
				long n;

				em->str(em->opaque, "type", "x509");
				if (b && X509_NAME_print_ex(b, X509_get_subject_name(x), 0,
							    XN_FLAG_RFC2253) >= 0 &&
				    (n = BIO_get_mem_data(b, &s)) >= 0) {
					char *subj = strndup(s, (size_t)n);

					if (subj)
						em->str(em->opaque, "subject", subj);
					free(subj);
				} else {
					em->str(em->opaque, "subject", "<not a valid certificate>");
				}
				BIO_free(b);
				X509_free(x);
			} else if (!memcmp(type, cert_sha256_guid, 16) && ssize == 48) {
				char hex[65];

				for (unsigned k = 0; k < 32; k++)
					snprintf(hex + 2 * k, 3, "%02x", sig[16 + k]);
				em->str(em->opaque, "type", "sha256");
				em->str(em->opaque, "hash", hex);
			} else {
				char g[37];

				id_guid_format(type, false, g);
				em->str(em->opaque, "type", g);
				em->u64(em->opaque, "bytes", ssize - 16);
			}
			em->end(em->opaque);
		}
		off += lsize;
	}
	em->end(em->opaque);
	return ok;
}

static bool is_key_database(const struct efi_var *v)
{
	return (global(v) && (!strcmp(v->name, "PK") || !strcmp(v->name, "KEK") ||
			      !strcmp(v->name, "PKDefault") || !strcmp(v->name, "KEKDefault") ||
			      !strcmp(v->name, "dbDefault") || !strcmp(v->name, "dbxDefault"))) ||
	       (!memcmp(v->guid, efi_image_security_database_guid, 16) &&
		(!strcmp(v->name, "db") || !strcmp(v->name, "dbx") || !strcmp(v->name, "dbt") ||
		 !strcmp(v->name, "dbr")));
}

void efivar_emit_decoded(const struct efi_var *v, const struct vimg_emit *em)
{
	if (global(v) && is_boot_option(v->name)) {
		em->begin(em->opaque, "decoded", false);
		emit_load_option(v, em);
		em->end(em->opaque);
	} else if (global(v) && (!strcmp(v->name, "BootOrder") || !strcmp(v->name, "DriverOrder"))) {
		em->begin(em->opaque, "decoded", false);
		emit_u16_list(v, em, "order");
		em->end(em->opaque);
	} else if (global(v) && (!strcmp(v->name, "BootCurrent") || !strcmp(v->name, "BootNext") ||
				 !strcmp(v->name, "Timeout")) && v->len == 2) {
		em->begin(em->opaque, "decoded", false);
		em->u64(em->opaque, "value", ld_le16(v->data));
		em->end(em->opaque);
	} else if (v->len == 1 && (!strcmp(v->name, "SecureBoot") || !strcmp(v->name, "SetupMode") ||
				   !strcmp(v->name, "SecureBootEnable") ||
				   !strcmp(v->name, "CustomMode") || !strcmp(v->name, "AuditMode") ||
				   !strcmp(v->name, "DeployedMode"))) {
		em->begin(em->opaque, "decoded", false);
		em->u64(em->opaque, "value", v->data[0]);
		em->end(em->opaque);
	} else if (is_key_database(v)) {
		em->begin(em->opaque, "decoded", false);
		if (!emit_signature_lists(v->data, v->len, em))
			em->str(em->opaque, "malformed", "signature list runs past the end");
		em->end(em->opaque);
	}
}

/* ---- summaries ------------------------------------------------------------------------ */

static const struct efi_var *find(const struct efi_var *vars, size_t n, const char *name,
				  const uint8_t *guid)
{
	ssize_t i = efivar_find(vars, n, name, guid);

	return i < 0 ? NULL : &vars[i];
}

void efivar_emit_boot(const struct efi_var *vars, size_t n, const struct vimg_emit *em)
{
	const struct efi_var *order = find(vars, n, "BootOrder", efi_global_variable_guid);
	const struct efi_var *cur = find(vars, n, "BootCurrent", efi_global_variable_guid);
	const struct efi_var *timeout = find(vars, n, "Timeout", efi_global_variable_guid);

	em->begin(em->opaque, "boot", false);
	if (order)
		emit_u16_list(order, em, "order");
	if (cur && cur->len == 2)
		em->u64(em->opaque, "current", ld_le16(cur->data));
	if (timeout && timeout->len == 2)
		em->u64(em->opaque, "timeout", ld_le16(timeout->data));
	em->begin(em->opaque, "entries", true);
	for (size_t i = 0; i < n; i++) {
		if (!global(&vars[i]) || strncmp(vars[i].name, "Boot", 4) ||
		    !is_boot_option(vars[i].name))
			continue;
		em->begin(em->opaque, NULL, false);
		em->str(em->opaque, "name", vars[i].name);
		emit_load_option(&vars[i], em);
		em->end(em->opaque);
	}
	em->end(em->opaque);
	em->end(em->opaque);
}

void efivar_emit_secure_boot(const struct efi_var *vars, size_t n, const struct vimg_emit *em)
{
	static const char *const dbs[] = { "PK", "KEK", "db", "dbx" };
	const struct efi_var *sb = find(vars, n, "SecureBoot", efi_global_variable_guid);
	const struct efi_var *setup = find(vars, n, "SetupMode", efi_global_variable_guid);
	const struct efi_var *pk = find(vars, n, "PK", efi_global_variable_guid);

	em->begin(em->opaque, "secure-boot", false);
	if (sb && sb->len == 1)
		em->u64(em->opaque, "SecureBoot", sb->data[0]);
	if (setup && setup->len == 1)
		em->u64(em->opaque, "SetupMode", setup->data[0]);
	/* The firmware derives the mode from PK: what the VM boots into. */
	em->str(em->opaque, "mode", pk && pk->len ? "user" : "setup");
	for (size_t i = 0; i < 4; i++) {
		const uint8_t *g = i < 2 ? efi_global_variable_guid
					 : efi_image_security_database_guid;
		const struct efi_var *v = find(vars, n, dbs[i], g);

		em->begin(em->opaque, dbs[i], false);
		em->boolean(em->opaque, "set", v && v->len);
		if (v && v->len && !emit_signature_lists(v->data, v->len, em))
			em->str(em->opaque, "malformed", "signature list runs past the end");
		em->end(em->opaque);
	}
	em->end(em->opaque);
}
