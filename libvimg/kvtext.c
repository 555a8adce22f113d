/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The lossless key = "value" engine (kvtext.h). Lines are split on LF before
 * any decoding: every encoding VMware writes is ASCII-compatible, so a LF
 * byte is always a line break and the encoding key is always ASCII.
 *
 * Syntax of a line, as VMware's dictionary reads it: optional blanks; a key
 * (no blank, '=', '"' or '#'); blanks; '='; blanks; a value that is either
 * quoted ("...", ending at the first '"' followed only by blanks or a
 * comment, so Windows paths such as "D:\" work and a \" written by hand
 * stays inside) or bare (up to a blank or '#'); then blanks and an optional
 * '#' comment. Blank lines and lines starting with '#' are kept as they are.
 */
#include "config.h"

#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kvtext.h"

struct kv_line {
	char *raw;		/* bytes in the file's encoding, no end of line */
	size_t raw_len;
	char *text;		/* the line in UTF-8 (raw itself without an encoding) */
	char *key, *value;	/* KV_LINE_PAIR: as spelled / decoded */
	size_t vstart, vend;	/* the value token in text, quotes included */
	unsigned char eol;	/* 0 none (last line), 1 LF, 2 CRLF */
	unsigned char kind;
	bool quoted;
};

/* The encodings VMware products write; iconv names them the same way. */
static const char *const known_encodings[] = {
	"UTF-8", "windows-874", "windows-1250", "windows-1251", "windows-1252", "windows-1253",
	"windows-1254", "windows-1255", "windows-1256", "windows-1257", "windows-1258",
	"Shift_JIS", "EUC-JP", "GBK", "GB2312", "GB18030", "Big5", "EUC-KR", "ISO-8859-1",
	NULL,
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static size_t skip_blanks(const char *s, size_t i, size_t n)
{
	while (i < n && is_blank(s[i]))
		i++;
	return i;
}

static void line_free(struct kv_line *l)
{
	if (l->text != l->raw)
		free(l->text);
	free(l->raw);
	free(l->key);
	free(l->value);
	memset(l, 0, sizeof(*l));
}

void kv_free(struct kvtext *kv)
{
	for (size_t i = 0; i < kv->n; i++)
		line_free(&kv->lines[i]);
	free(kv->lines);
	free(kv->encoding);
	if (kv->to_utf8)
		iconv_close((iconv_t)kv->to_utf8);
	if (kv->from_utf8)
		iconv_close((iconv_t)kv->from_utf8);
	memset(kv, 0, sizeof(*kv));
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode the value token's contents; `\"` inside quotes means a quote. */
static char *decode_value(const char *s, size_t n, bool quoted, bool escapes)
{
	char *out = malloc(n + 1), *p = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (quoted && s[i] == '\\' && i + 1 < n && s[i + 1] == '"') {
			*p++ = '"';
			i++;
		} else if (escapes && s[i] == '|' && i + 2 < n && hexval(s[i + 1]) >= 0 &&
			   hexval(s[i + 2]) >= 0) {
			*p++ = (char)(hexval(s[i + 1]) << 4 | hexval(s[i + 2]));
			i += 2;
		} else {
			*p++ = s[i];
		}
	}
	*p = 0;
	return out;
}

static int line_error(const struct kvtext *kv, size_t lineno, const char *what,
		      struct vimg_error *err)
{
	return vimg_error_set(err, VIMG_ECORRUPT, "%s: line %zu: %s", kv->what, lineno, what);
}

/*
 * Split l->text into key and value. Returns 0, or an error; a line that is
 * not a pair becomes KV_LINE_OTHER when the document allows it.
 */
static int line_parse(struct kvtext *kv, struct kv_line *l, size_t lineno,
		      struct vimg_error *err)
{
	const char *s = l->text, *why;
	size_t n = strlen(s), i = skip_blanks(s, 0, n), k0, k1, v0, v1;

	if (i == n) {
		l->kind = KV_LINE_BLANK;
		return 0;
	}
	if (s[i] == '#') {
		l->kind = KV_LINE_COMMENT;
		return 0;
	}
	k0 = i;
	while (i < n && !is_blank(s[i]) && s[i] != '=' && s[i] != '"' && s[i] != '#')
		i++;
	k1 = i;
	i = skip_blanks(s, i, n);
	if (k1 == k0 || i == n || s[i] != '=') {
		why = k1 == k0 ? "expected a key" : "expected '=' after the key";
		goto other;
	}
	i = skip_blanks(s, i + 1, n);
	v0 = i;
	if (i < n && s[i] == '"') {
		size_t j = i + 1;

		for (;; j++) {
			size_t r;

			while (j < n && s[j] != '"')
				j++;
			if (j == n) {
				why = "unterminated quoted value";
				goto other;
			}
			r = skip_blanks(s, j + 1, n);
			if (r == n || s[r] == '#')
				break;
			if (s[j - 1] != '\\') {
				why = "text after the quoted value";
				goto other;
			}
		}
		v1 = j + 1;
		l->quoted = true;
	} else {
		while (i < n && !is_blank(s[i]) && s[i] != '#' && s[i] != '"')
			i++;
		v1 = i;
		i = skip_blanks(s, i, n);
		if (i < n && s[i] != '#') {
			why = "text after the value";
			goto other;
		}
	}
	l->kind = KV_LINE_PAIR;
	l->key = strndup(s + k0, k1 - k0);
	l->value = l->quoted ? decode_value(s + v0 + 1, v1 - v0 - 2, true,
					    kv->flags & KV_ESCAPES)
			     : decode_value(s + v0, v1 - v0, false, kv->flags & KV_ESCAPES);
	l->vstart = v0;
	l->vend = v1;
	if (!l->key || !l->value)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	return 0;
other:
	if (kv->flags & KV_OTHER_LINES) {
		l->kind = KV_LINE_OTHER;
		l->quoted = false;
		return 0;
	}
	return line_error(kv, lineno, why, err);
}

/* Convert with cd; NULL on malformed input. */
static char *convert(void *cd, const char *in, size_t n, size_t *out_len)
{
	size_t cap = n * 4 + 4, left = cap, inleft = n;
	char *out = malloc(cap), *op = out, *ip = (char *)in;

	if (!out)
		return NULL;
	iconv((iconv_t)cd, NULL, NULL, NULL, NULL);
	if (iconv((iconv_t)cd, &ip, &inleft, &op, &left) == (size_t)-1 ||
	    iconv((iconv_t)cd, NULL, NULL, &op, &left) == (size_t)-1) {
		free(out);
		return NULL;
	}
	*op = 0;
	if (out_len)
		*out_len = (size_t)(op - out);
	return out;
}

static bool valid_utf8(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned c = s[i], len;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
		if (!len || c > 0xf4 || i + len > n)
			return false;
		cp = c & (0x3f >> (len - 1));
		for (unsigned k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
			return false;
		i += len;
	}
	return true;
}

/* Find the encoding key among the raw lines (it is ASCII in every encoding). */
static int find_encoding(struct kvtext *kv, const char *enc_key, struct vimg_error *err)
{
	const char *name = NULL, *cs;

	for (size_t i = 0; enc_key && i < kv->n; i++) {
		struct kv_line *l = &kv->lines[i];
		struct kvtext tmp = { .flags = 0, .what = kv->what };
		struct kv_line probe = { 0 };
		size_t b = skip_blanks(l->raw, 0, l->raw_len);

		if (strncasecmp(l->raw + b, enc_key, strlen(enc_key)))
			continue;
		probe.raw = probe.text = l->raw;
		if (line_parse(&tmp, &probe, i + 1, NULL) == 0 && probe.kind == KV_LINE_PAIR &&
		    !strcasecmp(probe.key, enc_key)) {
			free(kv->encoding);
			kv->encoding = probe.value;
			probe.value = NULL;
		}
		free(probe.key);
		free(probe.value);
	}
	if (!kv->encoding)
		return 0;
	for (size_t i = 0; known_encodings[i]; i++)
		if (!strcasecmp(kv->encoding, known_encodings[i]))
			name = known_encodings[i];
	if (!name)
		return vimg_error_set(err, VIMG_EUNSUPPORTED, "%s: unsupported encoding \"%.64s\"",
				      kv->what, kv->encoding);
	if (!strcmp(name, "UTF-8"))
		return 0;
	/* VMware's Shift_JIS is Windows code page 932, where 0x5C is a backslash
	 * and 0x7E a tilde; glibc's SHIFT_JIS reads them as YEN SIGN and
	 * OVERLINE, which would put yen signs in every Windows path. */
	cs = strcmp(name, "Shift_JIS") ? name : "CP932";
	kv->to_utf8 = iconv_open("UTF-8", cs);
	kv->from_utf8 = iconv_open(cs, "UTF-8");
	if (kv->to_utf8 == (void *)(iconv_t)-1 || kv->from_utf8 == (void *)(iconv_t)-1) {
		if (kv->to_utf8 == (void *)(iconv_t)-1)
			kv->to_utf8 = NULL;
		if (kv->from_utf8 == (void *)(iconv_t)-1)
			kv->from_utf8 = NULL;
		return vimg_error_set(err, VIMG_EUNSUPPORTED,
				      "%s: encoding \"%s\" is not available on this system",
				      kv->what, name);
	}
	return 0;
}

static int grow(struct kvtext *kv, size_t want, struct vimg_error *err)
{
	struct kv_line *nl;
	size_t cap;

	if (want <= kv->cap)
		return 0;
	cap = kv->cap ? kv->cap * 2 : 64;
	while (cap < want)
		cap *= 2;
	nl = realloc(kv->lines, cap * sizeof(*nl));
	if (!nl)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	kv->lines = nl;
	kv->cap = cap;
	return 0;
}

/* Fill l->text from l->raw and check it. */
static int line_decode(struct kvtext *kv, struct kv_line *l, size_t lineno,
		       struct vimg_error *err)
{
	for (size_t i = 0; i < l->raw_len; i++)
		if ((unsigned char)l->raw[i] < 0x20 && l->raw[i] != '\t')
			return line_error(kv, lineno, "control character", err);
	if (!kv->to_utf8) {
		if (!valid_utf8((const unsigned char *)l->raw, l->raw_len))
			return line_error(kv, lineno,
					  kv->encoding ? "not valid UTF-8"
						       : "not valid UTF-8 (and no encoding is named)",
					  err);
		l->text = l->raw;
		return 0;
	}
	l->text = convert(kv->to_utf8, l->raw, l->raw_len, NULL);
	if (!l->text)
		return vimg_error_set(err, VIMG_ECORRUPT, "%s: line %zu: not valid %s", kv->what,
				      lineno, kv->encoding);
	return 0;
}

int kv_parse(struct kvtext *kv, const char *text, size_t len, unsigned flags,
	     const char *what, const char *enc_key, const struct kv_limits *lim,
	     struct vimg_error *err)
{
	size_t nlines = 0, pos = 0;
	int rc;

	kv->flags = flags;
	kv->what = what;
	kv->eol = 1;
	if (lim && len > lim->max_bytes)
		return vimg_error_set(err, VIMG_ECORRUPT, "%s: larger than %zu bytes", what,
				      lim->max_bytes);
	for (size_t i = 0; i < len; i++)
		nlines += text[i] == '\n';
	nlines += len && text[len - 1] != '\n';
	if (lim && nlines > lim->max_lines)
		return vimg_error_set(err, VIMG_ECORRUPT, "%s: more than %zu lines", what,
				      lim->max_lines);
	rc = grow(kv, nlines + 1, err);
	if (rc)
		return rc;
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - text - pos) : len - pos;
		struct kv_line *l = &kv->lines[kv->n++];

		memset(l, 0, sizeof(*l));
		l->eol = nl ? 1 : 0;
		if (nl && n && text[pos + n - 1] == '\r') {
			l->eol = 2;
			n--;
		}
		if (kv->n == 1 && l->eol)
			kv->eol = l->eol;
		l->raw = strndup(text + pos, n);
		if (!l->raw)
			return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
		if (memchr(text + pos, 0, n))
			return line_error(kv, kv->n, "NUL byte", err);
		l->raw_len = n;
		pos += n + l->eol;
	}
	rc = find_encoding(kv, enc_key, err);
	for (size_t i = 0; !rc && i < kv->n; i++) {
		rc = line_decode(kv, &kv->lines[i], i + 1, err);
		if (!rc)
			rc = line_parse(kv, &kv->lines[i], i + 1, err);
	}
	return rc;
}

size_t kv_lines(const struct kvtext *kv)
{
	return kv->n;
}

enum kv_line_kind kv_line_kind(const struct kvtext *kv, size_t i)
{
	return (enum kv_line_kind)kv->lines[i].kind;
}

const char *kv_line_key(const struct kvtext *kv, size_t i)
{
	return kv->lines[i].key;
}

const char *kv_line_value(const struct kvtext *kv, size_t i)
{
	return kv->lines[i].value;
}

const char *kv_line_text(const struct kvtext *kv, size_t i)
{
	return kv->lines[i].text;
}

long kv_find(const struct kvtext *kv, const char *key)
{
	for (size_t i = kv->n; i-- > 0;)
		if (kv->lines[i].kind == KV_LINE_PAIR && !strcasecmp(kv->lines[i].key, key))
			return (long)i;
	return -1;
}

const char *kv_get(const struct kvtext *kv, const char *key)
{
	long i = kv_find(kv, key);

	return i < 0 ? NULL : kv->lines[i].value;
}

static bool needs_quotes(const char *v)
{
	if (!*v)
		return true;
	for (; *v; v++)
		if (is_blank(*v) || *v == '#' || *v == '"' || *v == '|' || *v == '=')
			return true;
	return false;
}

/* The value token as written: quoted or bare, escaped where the format escapes. */
static int encode_value(const struct kvtext *kv, const char *key, const char *v, bool quote,
			char **out, struct vimg_error *err)
{
	size_t n = strlen(v);
	char *buf = malloc(n * 3 + 3), *p = buf;

	if (!buf)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	/* Without an encoding the line is written as given, and bytes that are
	 * not UTF-8 would make the saved document fail to parse again. */
	if (!valid_utf8((const unsigned char *)v, n)) {
		free(buf);
		return vimg_error_set(err, VIMG_EINVAL, "%s: the value of %s is not valid UTF-8",
				      kv->what, key);
	}
	if (quote)
		*p++ = '"';
	for (const unsigned char *s = (const unsigned char *)v; *s; s++) {
		bool special = *s < 0x20 || *s == 0x7f || *s == '"' || *s == '|';

		if (special && (kv->flags & KV_ESCAPES)) {
			p += sprintf(p, "|%02X", *s);
		} else if (special && *s != '|') {
			free(buf);
			return vimg_error_set(err, VIMG_EINVAL,
					      "%s: the value of %s cannot hold a quote or a "
					      "control character", kv->what, key);
		} else {
			*p++ = (char)*s;
		}
	}
	if (quote)
		*p++ = '"';
	*p = 0;
	*out = buf;
	return 0;
}

/* Replace l->text (UTF-8) and recompute raw and the parse; takes `text`.
 * The new line must parse as `want`. */
static int line_replace_as(struct kvtext *kv, struct kv_line *l, char *text, size_t lineno,
			   enum kv_line_kind want, struct vimg_error *err)
{
	struct kv_line nl = { .eol = l->eol, .text = text };
	int rc;

	if (kv->from_utf8) {
		nl.raw = convert(kv->from_utf8, text, strlen(text), &nl.raw_len);
		if (!nl.raw) {
			free(text);
			return vimg_error_set(err, VIMG_EINVAL,
					      "%s: line %zu cannot be written in %s", kv->what,
					      lineno, kv->encoding);
		}
	} else {
		nl.raw = text;
		nl.raw_len = strlen(text);
	}
	rc = line_parse(kv, &nl, lineno, err);
	if (rc || nl.kind != want) {
		line_free(&nl);
		return rc ? rc
			  : vimg_error_set(err, VIMG_EINVAL, "%s: %s", kv->what,
					   want == KV_LINE_PAIR ? "bad key" : "line is a key = value");
	}
	line_free(l);
	*l = nl;
	return 0;
}

static int line_replace(struct kvtext *kv, struct kv_line *l, char *text, size_t lineno,
			struct vimg_error *err)
{
	return line_replace_as(kv, l, text, lineno, KV_LINE_PAIR, err);
}

static bool key_ok(const char *key)
{
	if (!*key || !valid_utf8((const unsigned char *)key, strlen(key)))
		return false;
	for (; *key; key++)
		if (is_blank(*key) || *key == '=' || *key == '"' || *key == '#' ||
		    (unsigned char)*key < 0x20)
			return false;
	return true;
}

int kv_set(struct kvtext *kv, const char *key, const char *value, struct vimg_error *err)
{
	long i = kv_find(kv, key);
	struct kv_line *l;
	char *tok, *text;
	int rc;

	if (i < 0)
		return kv_insert(kv, kv->n, key, value, KV_STYLE_SPACED, err);
	l = &kv->lines[i];
	if (!strcmp(l->value, value))
		return 0;
	rc = encode_value(kv, key, value, l->quoted || needs_quotes(value), &tok, err);
	if (rc)
		return rc;
	if (asprintf(&text, "%.*s%s%s", (int)l->vstart, l->text, tok, l->text + l->vend) < 0) {
		free(tok);
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	}
	free(tok);
	return line_replace(kv, l, text, (size_t)i + 1, err);
}

int kv_insert(struct kvtext *kv, size_t pos, const char *key, const char *value,
	      enum kv_style style, struct vimg_error *err)
{
	struct kv_line *l;
	char *tok, *text;
	int rc;

	if (!key_ok(key))
		return vimg_error_set(err, VIMG_EINVAL, "%s: invalid key \"%.64s\"", kv->what, key);
	if (pos > kv->n)
		pos = kv->n;
	rc = encode_value(kv, key, value, style != KV_STYLE_BARE || needs_quotes(value), &tok,
			  err);
	if (rc)
		return rc;
	rc = asprintf(&text, style == KV_STYLE_SPACED ? "%s = %s" : "%s=%s", key, tok);
	free(tok);
	if (rc < 0)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	rc = grow(kv, kv->n + 1, err);
	if (rc) {
		free(text);
		return rc;
	}
	memmove(kv->lines + pos + 1, kv->lines + pos, (kv->n - pos) * sizeof(*kv->lines));
	kv->n++;
	l = &kv->lines[pos];
	memset(l, 0, sizeof(*l));
	/* Appended after a last line without an end of line, the new line is the
	 * one without; rendering gives the earlier line one (see kv_render). */
	l->eol = pos == kv->n - 1 && pos > 0 ? kv->lines[pos - 1].eol : (unsigned char)kv->eol;
	rc = line_replace(kv, l, text, pos + 1, err);
	if (rc)
		kv_remove_line(kv, pos);
	return rc;
}

int kv_set_other(struct kvtext *kv, size_t i, const char *text, struct vimg_error *err)
{
	char *t;

	if (i >= kv->n || kv->lines[i].kind != KV_LINE_OTHER || !(kv->flags & KV_OTHER_LINES))
		return vimg_error_set(err, VIMG_EINVAL, "%s: line %zu is not a free-form line",
				      kv->what, i + 1);
	if (!(t = strdup(text)))
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	return line_replace_as(kv, &kv->lines[i], t, i + 1, KV_LINE_OTHER, err);
}

int kv_insert_other(struct kvtext *kv, size_t pos, const char *text, struct vimg_error *err)
{
	struct kv_line *l;
	char *t;
	int rc;

	if (!(kv->flags & KV_OTHER_LINES))
		return vimg_error_set(err, VIMG_EINVAL, "%s: free-form lines are not allowed",
				      kv->what);
	if (pos > kv->n)
		pos = kv->n;
	rc = grow(kv, kv->n + 1, err);
	if (rc)
		return rc;
	if (!(t = strdup(text)))
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	memmove(kv->lines + pos + 1, kv->lines + pos, (kv->n - pos) * sizeof(*kv->lines));
	kv->n++;
	l = &kv->lines[pos];
	memset(l, 0, sizeof(*l));
	l->eol = pos == kv->n - 1 && pos > 0 ? kv->lines[pos - 1].eol : (unsigned char)kv->eol;
	rc = line_replace_as(kv, l, t, pos + 1, KV_LINE_OTHER, err);
	if (rc)
		kv_remove_line(kv, pos);
	return rc;
}

void kv_remove_line(struct kvtext *kv, size_t i)
{
	/* A document without a final end of line keeps that when its last line
	 * goes, so adding a key and removing it again restores the bytes. */
	if (i + 1 == kv->n && i > 0 && !kv->lines[i].eol)
		kv->lines[i - 1].eol = 0;
	line_free(&kv->lines[i]);
	memmove(kv->lines + i, kv->lines + i + 1, (kv->n - i - 1) * sizeof(*kv->lines));
	kv->n--;
}

size_t kv_unset(struct kvtext *kv, const char *key)
{
	size_t removed = 0;
	long i;

	while ((i = kv_find(kv, key)) >= 0) {
		kv_remove_line(kv, (size_t)i);
		removed++;
	}
	return removed;
}

int kv_render(const struct kvtext *kv, char **out, size_t *len, struct vimg_error *err)
{
	size_t n = 1;
	char *buf, *p;

	for (size_t i = 0; i < kv->n; i++)
		n += kv->lines[i].raw_len + 2;
	buf = malloc(n);
	if (!buf)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	p = buf;
	for (size_t i = 0; i < kv->n; i++) {
		const struct kv_line *l = &kv->lines[i];
		/* Only the last line may lack an end of line. */
		unsigned eol = l->eol ? l->eol : i + 1 < kv->n ? (unsigned)kv->eol : 0;

		memcpy(p, l->raw, l->raw_len);
		p += l->raw_len;
		if (eol == 2)
			*p++ = '\r';
		if (eol)
			*p++ = '\n';
	}
	*p = 0;
	*out = buf;
	*len = (size_t)(p - buf);
	return 0;
}
