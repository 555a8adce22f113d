/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The lossless `key = "value"` text engine shared by the VMDK descriptor and
 * VMware's .vmx/.vmsd (doc/architecture.md, "Text configurations").
 *
 * A document is its lines, each kept as the bytes it was read as (in the
 * file's encoding, without its end of line). A line that is not edited is
 * written back as those bytes, so comments, blank lines, spacing, the case of
 * keys, unknown keys and their order all survive; an edited line keeps its
 * own spelling of the key, its spacing and its trailing comment, and only
 * the value changes. Lookups are case-insensitive; with duplicate keys the
 * last one counts (as VMware reads them). Values are decoded to UTF-8:
 * `|XX` escapes (with KV_ESCAPES) and the encoding named by the document's
 * encoding key (converted with iconv) are undone on read and redone only on
 * the lines that change.
 */
#ifndef VIMG_KVTEXT_H
#define VIMG_KVTEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "vimg.h"

#define KV_ESCAPES	(1u << 0) /* values use VMware's |XX escapes (.vmx, .vmsd) */
#define KV_OTHER_LINES	(1u << 1) /* lines that are not key = value are kept as
				     KV_LINE_OTHER (VMDK extent lines), not refused */

enum kv_line_kind {
	KV_LINE_BLANK,
	KV_LINE_COMMENT,
	KV_LINE_PAIR,
	KV_LINE_OTHER,
};

/* How a new key is written. */
enum kv_style {
	KV_STYLE_SPACED,	/* key = "value"  (.vmx, VMDK disk database) */
	KV_STYLE_TIGHT,		/* key="value"    (VMDK header) */
	KV_STYLE_BARE,		/* key=value      (VMDK CID, version) */
};

struct kv_line;

struct kvtext {
	struct kv_line *lines;
	size_t n, cap;
	unsigned flags;
	const char *what;	/* format name for messages: "vmx", "vmdk: descriptor" */
	char *encoding;		/* as named in the file, NULL for UTF-8 */
	void *to_utf8, *from_utf8; /* iconv descriptors, or NULL */
	int eol;		/* end of line for new lines: 1 "\n", 2 "\r\n" */
};

struct kv_limits {
	size_t max_bytes;	/* whole document */
	size_t max_lines;
};

/*
 * Parse text[0, len) into kv (zeroed by the caller; kv_free it, also on
 * failure). enc_key names the key that gives the encoding (".encoding",
 * "encoding") or is NULL. Errors are VIMG_ECORRUPT naming `what`, the line
 * and the problem; an unknown encoding is VIMG_EUNSUPPORTED.
 */
int kv_parse(struct kvtext *kv, const char *text, size_t len, unsigned flags,
	     const char *what, const char *enc_key, const struct kv_limits *lim,
	     struct vimg_error *err);
void kv_free(struct kvtext *kv);

size_t kv_lines(const struct kvtext *kv);
enum kv_line_kind kv_line_kind(const struct kvtext *kv, size_t i);
/* For KV_LINE_PAIR lines: the key as spelled and the decoded value (UTF-8). */
const char *kv_line_key(const struct kvtext *kv, size_t i);
const char *kv_line_value(const struct kvtext *kv, size_t i);
/* The line as text (UTF-8), for KV_LINE_OTHER lines. */
const char *kv_line_text(const struct kvtext *kv, size_t i);

/* Index of the effective (last) line for key, or -1. */
long kv_find(const struct kvtext *kv, const char *key);
/* Decoded value of key, or NULL. Valid until the line changes. */
const char *kv_get(const struct kvtext *kv, const char *key);
/*
 * Set key: an existing key's effective line changes its value only; a new key
 * is inserted before line `pos` (kv_lines() appends) in `style`.
 */
int kv_set(struct kvtext *kv, const char *key, const char *value, struct vimg_error *err);
int kv_insert(struct kvtext *kv, size_t pos, const char *key, const char *value,
	      enum kv_style style, struct vimg_error *err);
/*
 * Free-form lines (KV_OTHER_LINES documents: VMDK extent lines): replace the
 * text of KV_LINE_OTHER line i, or insert a new one before line pos. The text
 * (UTF-8) must not parse as a key = value pair.
 */
int kv_set_other(struct kvtext *kv, size_t i, const char *text, struct vimg_error *err);
int kv_insert_other(struct kvtext *kv, size_t pos, const char *text, struct vimg_error *err);
/* Remove every line of key; returns how many were removed. */
size_t kv_unset(struct kvtext *kv, const char *key);
/* Remove line i. */
void kv_remove_line(struct kvtext *kv, size_t i);

/* The document as bytes in its encoding (malloc'd, NUL-terminated). */
int kv_render(const struct kvtext *kv, char **out, size_t *len, struct vimg_error *err);

#endif
