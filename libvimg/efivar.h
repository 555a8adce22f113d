/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * UEFI variables as the firmware-variable stores hold them (VMware's .nvram,
 * edk2's variable store) and the decoders that render them as people read
 * them: load options and device paths as efibootmgr prints them, signature
 * lists with their X.509 subjects. The store parsers live in formats/; this
 * is what they share with nvram.c (the public API).
 */
#ifndef VIMG_EFIVAR_H
#define VIMG_EFIVAR_H

#include "internal.h"

/* Bounds on what a store may claim. */
#define EFI_STORE_MAX_BYTES (64u << 20)
#define EFI_STORE_MAX_VARS 8192u
#define EFI_STORE_MAX_SECTIONS 4096u
#define EFI_NAME_MAX_BYTES 1024u

#define EFI_VAR_NON_VOLATILE 0x01u
#define EFI_VAR_BOOTSERVICE 0x02u
#define EFI_VAR_RUNTIME 0x04u
#define EFI_VAR_HW_ERROR_RECORD 0x08u
#define EFI_VAR_AUTH_WRITE 0x10u
#define EFI_VAR_TIME_AUTH_WRITE 0x20u
#define EFI_VAR_APPEND_WRITE 0x40u

struct efi_var {
	uint8_t guid[16];		/* EFI_GUID byte order */
	uint32_t attr;
	char *name;			/* UTF-8 */
	uint8_t *name16;		/* UTF-16LE with its terminator, as edk2 stores it */
	size_t name16_len;
	uint8_t *data;
	size_t len;
	/* Authenticated-variable fields (edk2's header; zero when the source
	 * store has none). */
	uint64_t monotonic_count;
	uint8_t timestamp[16];		/* EFI_TIME */
	uint32_t pubkey_index;
	uint64_t offset;		/* where the entry starts in its file */
	uint8_t state;			/* edk2: the header's state byte */
};

/* A section of VMware's container ("EFI_"/"NV", BIOS VMs' own ones). */
struct nvram_section {
	char name[5], subname[5];	/* printable, NUL-terminated */
	uint64_t offset;		/* of the section's header */
	uint32_t len;
};

struct vimg_nvram {
	char *path;
	const char *format;		/* "vmware" or "edk2" */
	uint32_t version;		/* VMware container version */
	struct nvram_section *sections;
	size_t n_sections, cap_sections;
	struct efi_var *vars;
	size_t n_vars, cap_vars;	/* grown by doubling: hostile stores hold thousands */
	uint64_t store_size;		/* edk2: the variable store's Size */
};

/* Free what nv holds (variables, sections, path), not nv itself: for a
 * vimg_nvram on the stack, such as a template's. */
void nvram_release(struct vimg_nvram *nv);

/* ---- the store parsers (formats/nvram-*.c) ------------------------------- */

/* Each takes the whole file (at most EFI_STORE_MAX_BYTES) and fills nv;
 * errors name the format, the structure and the offset. */
bool nvram_vmware_probe(const uint8_t *buf, size_t len);
int nvram_vmware_parse(struct vimg_nvram *nv, const uint8_t *buf, size_t len,
		       struct vimg_error *err);
bool nvram_edk2_probe(const uint8_t *buf, size_t len);
int nvram_edk2_parse(struct vimg_nvram *nv, const uint8_t *buf, size_t len,
		     struct vimg_error *err);
/*
 * An edk2 variable store holding vars: template's layout (NULL: the layout
 * of OVMF's 4 MiB build, 540672 bytes) with template's own variables kept
 * unless vars replace them. *out is malloc'd, *out_len its size. A variable
 * that does not fit is VIMG_ENOSPC naming it.
 */
int nvram_edk2_build(const struct efi_var *vars, size_t n, const uint8_t *template,
		     size_t template_len, uint8_t **out, size_t *out_len,
		     struct vimg_warnings **w, struct vimg_error *err);

/*
 * VMware's .nvram holding vars: template's sections and layout (NULL: one
 * EFI_/NV section of 256 KiB, as VMware makes it) with template's own
 * variables kept unless vars replace them. *out is malloc'd, *out_len its
 * size. A variable that does not fit is VIMG_ENOSPC naming it; a template
 * with two EFI stores is VIMG_EUNSUPPORTED.
 */
int nvram_vmware_build(const struct efi_var *vars, size_t n, const uint8_t *template,
		       size_t template_len, uint8_t **out, size_t *out_len,
		       struct vimg_warnings **w, struct vimg_error *err);

/* ---- variables (efivar.c) ------------------------------------------------- */

/* Append a copy of name16 (UTF-16LE, name16_len bytes, terminator optional)
 * and data to nv->vars; checks the name's encoding. */
int efivar_add(struct vimg_nvram *nv, const uint8_t guid[16], uint32_t attr,
	       const uint8_t *name16, size_t name16_len, const uint8_t *data, size_t len,
	       uint64_t offset, const char *fmt, struct vimg_error *err);
void efivar_clear(struct efi_var *v);
/* Whether a store keeps v (it is non-volatile); a warning in *w (may be
 * NULL) names it when not. */
bool efivar_non_volatile(const struct efi_var *v, struct vimg_warnings **w);
/* Whether vars has a non-volatile variable of t's name and GUID: one a store
 * written from vars holds instead of a template's t. */
bool efivar_replaced(const struct efi_var *vars, size_t n, const struct efi_var *t);
/* The index of (name, guid) in vars, or -1. */
ssize_t efivar_find(const struct efi_var *vars, size_t n, const char *name,
		    const uint8_t guid[16]);

extern const uint8_t efi_global_variable_guid[16];
extern const uint8_t efi_image_security_database_guid[16];

/* ---- decoders (efivar-decode.c) --------------------------------------------- */

/* "NV,BS,RT,AT" for attr into out. */
void efivar_attr_text(uint32_t attr, char *out, size_t n);
/* A well-known GUID's name ("EFI_GLOBAL_VARIABLE"), or NULL. */
const char *efivar_guid_name(const uint8_t guid[16]);
/* A device path as efibootmgr prints it ("PciRoot(0x0)/Pci(0x1f,0x2)/
 * Sata(0,65535,0)/HD(1,GPT,...)/File(\EFI\BOOT\BOOTX64.EFI)"), malloc'd;
 * malformed nodes end the text with "<malformed at N>". */
char *efivar_devpath_text(const uint8_t *p, size_t len);
/* Emit the decoded value of a variable the decoders know (Boot####,
 * BootOrder, BootCurrent, Timeout, SecureBoot, SetupMode, PK, KEK, db, dbx,
 * ...) under "decoded"; nothing for others. */
void efivar_emit_decoded(const struct efi_var *v, const struct vimg_emit *em);
/* The summaries people look for: "boot" (order and entries) and
 * "secure-boot" (state, and which of PK/KEK/db/dbx are set, with X.509
 * subjects). */
void efivar_emit_boot(const struct efi_var *vars, size_t n, const struct vimg_emit *em);
void efivar_emit_secure_boot(const struct efi_var *vars, size_t n,
			     const struct vimg_emit *em);

#endif
