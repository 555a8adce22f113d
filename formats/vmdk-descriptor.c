/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * VMDK text descriptor (technote "The Descriptor File"): header keys
 * (version, encoding, CID, parentCID, createType, parentFileNameHint), extent
 * lines `ACCESS SECTORS TYPE "FILE" [OFFSET]` and the disk database
 * (`ddb.key = "value"`). The text is held by the shared kvtext engine, so
 * comments, unknown keys, their case and their order survive a
 * read-modify-write; extent lines are its "other" lines, decoded here into
 * structures. Keys are looked up on demand (case-insensitively, as VMware
 * does).
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
	kv_free(&d->kv);
	for (size_t i = 0; i < d->n_ext; i++)
		free(d->ext[i].file);
	free(d->ext);
	memset(d, 0, sizeof(*d));
}

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

bool desc_get(const struct vmdk_desc *d, const char *key, char *buf, size_t size)
{
	const char *v = kv_get(&d->kv, key);

	if (!v || strlen(v) >= size)
		return false;
	strcpy(buf, v);
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

/* Whether a line starts like an extent line (the count bounds the allocation). */
static bool looks_like_extent(const char *line)
{
	const char *p = skip_ws(line);

	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(access_names[i]);

		if (!strncmp(p, access_names[i], n) && (p[n] == ' ' || p[n] == '\t'))
			return true;
	}
	return false;
}

int desc_parse(struct vmdk_desc *d, const char *text, size_t len, struct vimg_error *err)
{
	static const struct kv_limits lim = { VMDK_MAX_DESC_BYTES, VMDK_MAX_DESC_BYTES };
	const char *end = memchr(text, 0, len);
	size_t n_ext = 0;
	int rc;

	/* An embedded descriptor is padded with NULs to its sector count. */
	if (end)
		len = (size_t)(end - text);
	rc = kv_parse(&d->kv, text, len, KV_OTHER_LINES, "vmdk: descriptor", "encoding", &lim,
		      err);
	if (rc)
		return rc;
	for (size_t i = 0; i < kv_lines(&d->kv); i++)
		if (kv_line_kind(&d->kv, i) == KV_LINE_OTHER &&
		    looks_like_extent(kv_line_text(&d->kv, i)) && ++n_ext > VMDK_MAX_EXTENTS)
			return vimg_error_set(err, VIMG_ECORRUPT,
					      "vmdk: descriptor has more than %u extents",
					      VMDK_MAX_EXTENTS);
	if (n_ext) {
		d->ext = calloc(n_ext, sizeof(*d->ext));
		if (!d->ext)
			return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < kv_lines(&d->kv) && d->n_ext < n_ext; i++) {
		struct vmdk_desc_extent x;

		if (kv_line_kind(&d->kv, i) != KV_LINE_OTHER)
			continue;
		rc = parse_extent(kv_line_text(&d->kv, i), i + 1, &x, err);
		if (rc < 0) {
			free(x.file);
			return rc;
		}
		if (rc > 0)
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
	size_t pos;

	if (kv_find(&d->kv, key) >= 0)
		return kv_set(&d->kv, key, value, err);
	/* Database keys go last; header keys after the last header key line. */
	pos = kv_lines(&d->kv);
	if (!is_ddb(key)) {
		for (size_t j = 0; j < kv_lines(&d->kv); j++)
			if (kv_line_kind(&d->kv, j) == KV_LINE_PAIR && !is_ddb(kv_line_key(&d->kv, j)))
				pos = j + 1;
	}
	return kv_insert(&d->kv, pos, key, value,
			 is_ddb(key) ? KV_STYLE_SPACED : unquoted_key(key) ? KV_STYLE_BARE
									   : KV_STYLE_TIGHT,
			 err);
}

int desc_render(const struct vmdk_desc *d, char **out, size_t *len, struct vimg_error *err)
{
	return kv_render(&d->kv, out, len, err);
}

/* One extent line as VMware writes it (a FLAT extent always with its offset). */
static int extent_line(const struct vmdk_desc_extent *x, char **out, struct vimg_error *err)
{
	int n;

	if (x->type == VMDK_EXT_ZERO)
		n = asprintf(out, "%s %llu %s", access_names[x->access],
			     (unsigned long long)x->sectors, type_names[x->type]);
	else if (x->type == VMDK_EXT_FLAT)
		n = asprintf(out, "%s %llu %s \"%s\" %llu", access_names[x->access],
			     (unsigned long long)x->sectors, type_names[x->type], x->file,
			     (unsigned long long)x->offset);
	else
		n = asprintf(out, "%s %llu %s \"%s\"", access_names[x->access],
			     (unsigned long long)x->sectors, type_names[x->type], x->file);
	if (n < 0)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	if (x->type != VMDK_EXT_ZERO && (!*x->file || strchr(x->file, '"'))) {
		free(*out);
		return vimg_error_set(err, VIMG_EINVAL, "vmdk: descriptor: bad extent file name");
	}
	return 0;
}

int desc_set_extents(struct vmdk_desc *d, const struct vmdk_desc_extent *x, size_t n,
		     struct vimg_error *err)
{
	struct vmdk_desc_extent *copy;
	size_t done = 0, last = kv_lines(&d->kv);
	int rc = 0;

	if (n == 0 || n > VMDK_MAX_EXTENTS)
		return vimg_error_set(err, VIMG_EINVAL, "vmdk: descriptor: %zu extents", n);
	copy = calloc(n, sizeof(*copy));
	if (!copy)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		copy[i] = x[i];
		copy[i].file = NULL;
		if (x[i].file && !(copy[i].file = strdup(x[i].file)))
			rc = vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	}
	/* The existing extent lines, in order, take the first extents; the rest
	 * go after the last one; extent lines beyond n are removed. */
	for (size_t i = 0; !rc && i < kv_lines(&d->kv); i++) {
		char *line;

		if (kv_line_kind(&d->kv, i) != KV_LINE_OTHER || !looks_like_extent(kv_line_text(&d->kv, i)))
			continue;
		if (done == n) {
			kv_remove_line(&d->kv, i--);
			continue;
		}
		rc = extent_line(&x[done], &line, err);
		if (!rc) {
			rc = kv_set_other(&d->kv, i, line, err);
			free(line);
		}
		done++;
		last = i + 1;
	}
	for (; !rc && done < n; done++, last++) {
		char *line;

		rc = extent_line(&x[done], &line, err);
		if (!rc) {
			rc = kv_insert_other(&d->kv, last, line, err);
			free(line);
		}
	}
	if (rc) {
		for (size_t i = 0; i < n; i++)
			free(copy[i].file);
		free(copy);
		return rc;
	}
	for (size_t i = 0; i < d->n_ext; i++)
		free(d->ext[i].file);
	free(d->ext);
	d->ext = copy;
	d->n_ext = n;
	return 0;
}
