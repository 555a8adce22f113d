/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * VMDK text descriptor (technote "The Descriptor File"): header keys
 * (version, encoding, CID, parentCID, createType, parentFileNameHint), extent
 * lines `ACCESS SECTORS TYPE "FILE" [OFFSET]` and the disk database
 * (`ddb.key = "value"`). The descriptor is kept as its lines: edits rewrite one
 * line in place, so comments, unknown keys, their case and their order survive
 * a read-modify-write. Only extent lines are decoded into structures; keys are
 * looked up on demand (case-insensitively, as VMware does).
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "checked.h"
#include "vmdk.h"

static const char *const type_names[] = {
	[VMDK_EXT_FLAT] = "FLAT",	  [VMDK_EXT_SPARSE] = "SPARSE",
	[VMDK_EXT_ZERO] = "ZERO",	  [VMDK_EXT_VMFS] = "VMFS",
	[VMDK_EXT_VMFSSPARSE] = "VMFSSPARSE", [VMDK_EXT_SESPARSE] = "SESPARSE",
	[VMDK_EXT_VMFSRDM] = "VMFSRDM",	  [VMDK_EXT_VMFSRAW] = "VMFSRAW",
};

static const char *const access_names[] = {
	[VMDK_RW] = "RW", [VMDK_RDONLY] = "RDONLY", [VMDK_NOACCESS] = "NOACCESS"
};

const char *desc_type_name(enum vmdk_ext_type t)
{
	return type_names[t];
}

const char *desc_access_name(enum vmdk_access a)
{
	return access_names[a];
}

bool desc_parse_cid(const char *s, uint32_t *out)
{
	uint64_t v = 0;
	size_t n = 0;

	for (; isxdigit((unsigned char)s[n]); n++) {
		int c = tolower((unsigned char)s[n]);

		v = v << 4 | (uint64_t)(isdigit(c) ? c - '0' : c - 'a' + 10);
		if (v > UINT32_MAX)
			return false;
	}
	if (n == 0 || s[n])
		return false;
	*out = (uint32_t)v;
	return true;
}

void desc_free(struct vmdk_desc *d)
{
	for (size_t i = 0; i < d->n_lines; i++)
		free(d->lines[i]);
	for (size_t i = 0; i < d->n_ext; i++)
		free(d->ext[i].file);
	free(d->lines);
	free(d->ext);
	memset(d, 0, sizeof(*d));
}

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* Split "key = value" into key [k, k+klen) and value [v, v+vlen), quotes removed. */
static bool split_kv(const char *line, const char **k, size_t *klen, const char **v, size_t *vlen,
		     bool *quoted)
{
	const char *p = skip_ws(line), *eq = strchr(p, '='), *e;

	if (!eq || *p == '#' || eq == p)
		return false;
	*k = p;
	e = eq;
	while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*klen = (size_t)(e - p);
	p = skip_ws(eq + 1);
	e = p + strlen(p);
	while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*quoted = e - p >= 2 && *p == '"' && e[-1] == '"';
	if (*quoted) {
		p++;
		e--;
	}
	*v = p;
	*vlen = (size_t)(e - p);
	return *klen > 0;
}

static int find_key(const struct vmdk_desc *d, const char *key, const char **v, size_t *vlen,
		    bool *quoted)
{
	size_t keylen = strlen(key);

	for (size_t i = 0; i < d->n_lines; i++) {
		const char *k;
		size_t klen;

		if (split_kv(d->lines[i], &k, &klen, v, vlen, quoted) && klen == keylen &&
		    !strncasecmp(k, key, keylen))
			return (int)i;
	}
	return -1;
}

bool desc_get(const struct vmdk_desc *d, const char *key, char *buf, size_t size)
{
	const char *v;
	size_t vlen;
	bool quoted;

	if (find_key(d, key, &v, &vlen, &quoted) < 0 || vlen >= size)
		return false;
	memcpy(buf, v, vlen);
	buf[vlen] = 0;
	return true;
}

static bool parse_u64(const char **pp, uint64_t *out)
{
	const char *p = *pp;
	uint64_t v = 0;

	if (!isdigit((unsigned char)*p))
		return false;
	for (; isdigit((unsigned char)*p); p++)
		if (ck_mul(v, 10, &v) || ck_add(v, (uint64_t)(*p - '0'), &v))
			return false;
	*pp = p;
	*out = v;
	return true;
}

/* Returns 1 if `line` is an extent line (filled in x), 0 if not, <0 on error. */
static int parse_extent(const char *line, size_t lineno, struct vmdk_desc_extent *x,
			struct vimg_error *err)
{
	const char *p = skip_ws(line), *q;
	size_t n;
	int t = -1, a = -1;

	for (size_t i = 0; i < 3; i++) {
		n = strlen(access_names[i]);
		if (!strncmp(p, access_names[i], n) && (p[n] == ' ' || p[n] == '\t'))
			a = (int)i;
	}
	if (a < 0)
		return 0;
	p = skip_ws(p + strlen(access_names[a]));
	memset(x, 0, sizeof(*x));
	x->access = (enum vmdk_access)a;
	if (!parse_u64(&p, &x->sectors) || (*p != ' ' && *p != '\t'))
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "vmdk: descriptor line %zu: bad extent size", lineno);
	p = skip_ws(p);
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++) {
		n = strlen(type_names[i]);
		if (!strncmp(p, type_names[i], n) && (!p[n] || p[n] == ' ' || p[n] == '\t'))
			t = (int)i;
	}
	if (t < 0)
		return vimg_error_set(err, VIMG_EUNSUPPORTED,
				      "vmdk: descriptor line %zu: unknown extent type \"%.16s\"",
				      lineno, p);
	x->type = (enum vmdk_ext_type)t;
	p = skip_ws(p + strlen(type_names[t]));
	if (x->type == VMDK_EXT_ZERO) {
		if (*p && *p != '#')
			return vimg_error_set(err, VIMG_ECORRUPT,
					      "vmdk: descriptor line %zu: trailing text after ZERO extent",
					      lineno);
		return 1;
	}
	if (*p != '"' || !(q = strchr(p + 1, '"')) || q == p + 1)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "vmdk: descriptor line %zu: extent file name must be quoted",
				      lineno);
	x->file = strndup(p + 1, (size_t)(q - p - 1));
	if (!x->file)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	p = skip_ws(q + 1);
	if (*p && *p != '#') {
		if (!parse_u64(&p, &x->offset) || *skip_ws(p))
			return vimg_error_set(err, VIMG_ECORRUPT,
					      "vmdk: descriptor line %zu: bad extent offset", lineno);
		if (x->type != VMDK_EXT_FLAT && x->offset)
			return vimg_error_set(err, VIMG_ECORRUPT,
					      "vmdk: descriptor line %zu: offset on a %s extent",
					      lineno, type_names[t]);
	}
	return 1;
}

static int push_line(struct vmdk_desc *d, const char *s, size_t n, struct vimg_error *err)
{
	char **nl;

	if (d->n_lines % 64 == 0) {
		nl = realloc(d->lines, (d->n_lines + 64) * sizeof(*nl));
		if (!nl)
			return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
		d->lines = nl;
	}
	d->lines[d->n_lines] = strndup(s, n);
	if (!d->lines[d->n_lines])
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	d->n_lines++;
	return 0;
}

int desc_parse(struct vmdk_desc *d, const char *text, size_t len, struct vimg_error *err)
{
	const char *end, *p = text;
	size_t n_ext = 0, lineno = 0;
	int rc;

	end = memchr(text, 0, len);
	if (!end)
		end = text + len;
	if (end - text > (ptrdiff_t)VMDK_MAX_DESC_BYTES)
		return vimg_error_set(err, VIMG_ECORRUPT, "vmdk: descriptor larger than %u bytes",
				      VMDK_MAX_DESC_BYTES);
	/* Count extent lines first: the bound applies before any allocation. */
	for (const char *q = p; q < end; q++)
		if ((q == p || q[-1] == '\n') &&
		    (!strncmp(q, "RW ", 3) || !strncmp(q, "RDONLY ", 7) || !strncmp(q, "NOACCESS ", 9)))
			if (++n_ext > VMDK_MAX_EXTENTS)
				return vimg_error_set(err, VIMG_ECORRUPT,
						      "vmdk: descriptor has more than %u extents",
						      VMDK_MAX_EXTENTS);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		lineno++;
		if (n && p[n - 1] == '\r') {
			d->crlf = true;
			n--;
		}
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)p[i] < 0x20 && p[i] != '\t')
				return vimg_error_set(err, VIMG_ECORRUPT,
						      "vmdk: descriptor line %zu: control character",
						      lineno);
		rc = push_line(d, p, n, err);
		if (rc)
			return rc;
		p = nl ? nl + 1 : end;
	}
	if (n_ext) {
		d->ext = calloc(n_ext, sizeof(*d->ext));
		if (!d->ext)
			return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < d->n_lines; i++) {
		struct vmdk_desc_extent x;

		rc = parse_extent(d->lines[i], i + 1, &x, err);
		if (rc < 0) {
			free(x.file);
			return rc;
		}
		if (rc == 0)
			continue;
		if (d->n_ext == n_ext) { /* indented extent lines escaped the count */
			free(x.file);
			return vimg_error_set(err, VIMG_ECORRUPT,
					      "vmdk: descriptor line %zu: extent lines must start "
					      "the line", i + 1);
		}
		d->ext[d->n_ext++] = x;
	}
	return 0;
}

/* Header keys are written `key=value`, database keys `key = "value"`. */
static bool is_ddb(const char *key)
{
	return !strncasecmp(key, "ddb.", 4);
}

static bool unquoted_key(const char *key)
{
	return !strcasecmp(key, "CID") || !strcasecmp(key, "parentCID") ||
	       !strcasecmp(key, "version");
}

int desc_set(struct vmdk_desc *d, const char *key, const char *value, struct vimg_error *err)
{
	const char *v;
	size_t vlen, pos;
	bool quoted;
	int i = find_key(d, key, &v, &vlen, &quoted);
	char *line;
	int rc;

	if (i >= 0) {
		/* Keep the line's own spelling of the key and spacing. */
		const char *l = d->lines[i];
		size_t head = (size_t)(v - l) - (quoted ? 1 : 0);
		size_t tail = strlen(v + vlen) - (quoted ? 1 : 0);
		size_t n = head + strlen(value) + tail + 3;

		line = malloc(n);
		if (!line)
			return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
		snprintf(line, n, "%.*s%s%s%s%s", (int)head, l, quoted ? "\"" : "", value,
			 quoted ? "\"" : "", v + vlen + (quoted ? 1 : 0));
		free(d->lines[i]);
		d->lines[i] = line;
		return 0;
	}
	if (asprintf(&line, is_ddb(key) ? "%s = \"%s\"" : unquoted_key(key) ? "%s=%s" : "%s=\"%s\"",
		     key, value) < 0)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	/* Database keys go last; header keys after the last header key line. */
	pos = d->n_lines;
	if (!is_ddb(key)) {
		for (size_t j = 0; j < d->n_lines; j++) {
			const char *k;
			size_t klen;

			if (split_kv(d->lines[j], &k, &klen, &v, &vlen, &quoted) &&
			    strncasecmp(k, "ddb.", 4))
				pos = j + 1;
		}
	}
	rc = push_line(d, "", 0, err);
	if (rc) {
		free(line);
		return rc;
	}
	free(d->lines[d->n_lines - 1]);
	memmove(d->lines + pos + 1, d->lines + pos, (d->n_lines - 1 - pos) * sizeof(char *));
	d->lines[pos] = line;
	return 0;
}

int desc_render(const struct vmdk_desc *d, char **out, size_t *len, struct vimg_error *err)
{
	size_t n = 1, eol = d->crlf ? 2 : 1;
	char *buf, *p;

	for (size_t i = 0; i < d->n_lines; i++)
		n += strlen(d->lines[i]) + eol;
	buf = malloc(n);
	if (!buf)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	p = buf;
	for (size_t i = 0; i < d->n_lines; i++) {
		size_t l = strlen(d->lines[i]);

		memcpy(p, d->lines[i], l);
		p += l;
		if (d->crlf)
			*p++ = '\r';
		*p++ = '\n';
	}
	*p = 0;
	*out = buf;
	*len = (size_t)(p - buf);
	return 0;
}
