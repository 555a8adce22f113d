/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Create options: "key=val,key=val" (",," is a literal comma, as in qemu-img)
 * checked against the driver's option table, so drivers only ever see known
 * keys with well-formed values. Also the size parser shared with the CLI.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

struct vimg_opts {
	const struct vimg_driver *drv;
	const struct vimg_opt_desc *desc;
	size_t n;
	char **vals; /* parallel to desc; NULL when not given */
};

int vimg_parse_size(const char *s, uint64_t *out, struct vimg_error *err)
{
	static const char units[] = "bkmgtpe";
	char *end;
	double frac = 0;
	unsigned long long whole;
	const char *u;
	uint64_t mult = 1;

	if (!s || !isdigit((unsigned char)*s))
		return vimg_error_set(err, VIMG_EINVAL, "invalid size \"%s\"", s ? s : "");
	errno = 0;
	whole = strtoull(s, &end, 10);
	if (errno)
		return vimg_error_set(err, VIMG_EINVAL, "invalid size \"%s\"", s);
	if (*end == '.') {
		char *fend;

		frac = strtod(end, &fend);
		end = fend;
	}
	if (*end) {
		u = strchr(units, tolower((unsigned char)*end));
		if (!u || (end[1] && strcasecmp(end + 1, "ib") && strcasecmp(end + 1, "b")))
			return vimg_error_set(err, VIMG_EINVAL, "invalid size \"%s\"", s);
		for (long i = 0; i < u - units; i++)
			mult *= 1024;
	} else if (frac != 0) {
		return vimg_error_set(err, VIMG_EINVAL, "invalid size \"%s\"", s);
	}
	if (whole > UINT64_MAX / mult || (double)whole * mult + frac * mult > 18446744073709549568.0)
		return vimg_error_set(err, VIMG_EINVAL, "size \"%s\" is too large", s);
	*out = whole * mult + (uint64_t)(frac * (double)mult);
	return 0;
}

static int parse_bool(const char *v, bool *out)
{
	if (!strcasecmp(v, "on") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") ||
	    !strcmp(v, "1"))
		*out = true;
	else if (!strcasecmp(v, "off") || !strcasecmp(v, "false") || !strcasecmp(v, "no") ||
		 !strcmp(v, "0"))
		*out = false;
	else
		return -1;
	return 0;
}

static bool in_choices(const char *choices, const char *v)
{
	size_t vl = strlen(v);

	for (const char *p = choices; *p;) {
		const char *bar = strchr(p, '|');
		size_t l = bar ? (size_t)(bar - p) : strlen(p);

		if (l == vl && !strncmp(p, v, l))
			return true;
		p += l + (bar ? 1 : 0);
	}
	return false;
}

static int check_value(const struct vimg_driver *drv, const struct vimg_opt_desc *d,
		       const char *v, struct vimg_error *err)
{
	uint64_t n;
	bool b;
	char *end;

	switch (d->type) {
	case VIMG_OPT_STR:
		if (d->choices && !in_choices(d->choices, v))
			return vimg_error_set(err, VIMG_EINVAL,
					      "%s: option %s: invalid value \"%s\" (one of %s)",
					      drv->name, d->key, v, d->choices);
		return 0;
	case VIMG_OPT_SIZE:
		if (vimg_parse_size(v, &n, NULL))
			break;
		return 0;
	case VIMG_OPT_UINT:
		errno = 0;
		strtoull(v, &end, 0);
		if (!isdigit((unsigned char)*v) || *end || errno)
			break;
		return 0;
	case VIMG_OPT_BOOL:
		if (parse_bool(v, &b))
			break;
		return 0;
	}
	return vimg_error_set(err, VIMG_EINVAL, "%s: option %s: invalid value \"%s\"", drv->name,
			      d->key, v);
}

void opts_free(struct vimg_opts *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->n; i++)
		free(o->vals[i]);
	free(o->vals);
	free(o);
}

/* Split off the next "k=v" item, turning ",," into ",". */
static char *next_item(const char **pp)
{
	const char *p = *pp;
	char *item = malloc(strlen(p) + 1), *q = item;

	if (!item)
		return NULL;
	while (*p) {
		if (*p == ',') {
			if (p[1] == ',') {
				*q++ = ',';
				p += 2;
				continue;
			}
			p++;
			break;
		}
		*q++ = *p++;
	}
	*q = 0;
	*pp = p;
	return item;
}

int opts_parse(const struct vimg_driver *drv, const char *text, struct vimg_opts **out,
	       struct vimg_error *err)
{
	struct vimg_opts *o;
	const char *p = text ? text : "";
	int rc = 0;

	*out = NULL;
	o = calloc(1, sizeof(*o));
	if (!o)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	o->drv = drv;
	o->desc = drv->create_opts;
	while (o->desc && o->desc[o->n].key)
		o->n++;
	o->vals = calloc(o->n ? o->n : 1, sizeof(char *));
	if (!o->vals) {
		free(o);
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	}
	while (*p) {
		char *item = next_item(&p), *eq;
		size_t i;

		if (!item) {
			rc = vimg_error_set(err, VIMG_ENOMEM, "out of memory");
			break;
		}
		if (!*item) {
			free(item);
			continue;
		}
		eq = strchr(item, '=');
		if (!eq) {
			rc = vimg_error_set(err, VIMG_EINVAL, "%s: option \"%s\" needs a value",
					    drv->name, item);
			free(item);
			break;
		}
		*eq = 0;
		for (i = 0; i < o->n && strcmp(o->desc[i].key, item); i++)
			;
		if (i == o->n) {
			rc = vimg_error_set(err, VIMG_EINVAL,
					    "%s: unknown option \"%s\" (see -o help)", drv->name,
					    item);
			free(item);
			break;
		}
		rc = check_value(drv, &o->desc[i], eq + 1, err);
		if (!rc) {
			free(o->vals[i]);
			o->vals[i] = strdup(eq + 1);
			if (!o->vals[i])
				rc = vimg_error_set(err, VIMG_ENOMEM, "out of memory");
		}
		free(item);
		if (rc)
			break;
	}
	if (rc) {
		opts_free(o);
		return rc;
	}
	*out = o;
	return 0;
}

static const struct vimg_opt_desc *find(const struct vimg_opts *o, const char *key, size_t *idx)
{
	for (size_t i = 0; i < o->n; i++)
		if (!strcmp(o->desc[i].key, key)) {
			*idx = i;
			return &o->desc[i];
		}
	return NULL;
}

const char *opts_get(const struct vimg_opts *o, const char *key)
{
	const struct vimg_opt_desc *d;
	size_t i;

	if (!o || !(d = find(o, key, &i)))
		return NULL;
	return o->vals[i] ? o->vals[i] : d->def;
}

bool opts_given(const struct vimg_opts *o, const char *key)
{
	size_t i;

	return o && find(o, key, &i) && o->vals[i];
}

int opts_get_size(const struct vimg_opts *o, const char *key, uint64_t *out,
		  struct vimg_error *err)
{
	const char *v = opts_get(o, key);

	*out = 0;
	if (!v)
		return 0;
	if (vimg_parse_size(v, out, NULL))
		return vimg_error_set(err, VIMG_EINVAL, "option %s: invalid size \"%s\"", key, v);
	return 0;
}

int opts_get_uint(const struct vimg_opts *o, const char *key, uint64_t *out,
		  struct vimg_error *err)
{
	const char *v = opts_get(o, key);
	char *end;

	*out = 0;
	if (!v)
		return 0;
	errno = 0;
	*out = strtoull(v, &end, 0);
	if (*end || errno)
		return vimg_error_set(err, VIMG_EINVAL, "option %s: invalid number \"%s\"", key, v);
	return 0;
}

int opts_get_bool(const struct vimg_opts *o, const char *key, bool *out,
		  struct vimg_error *err)
{
	const char *v = opts_get(o, key);

	*out = false;
	if (!v)
		return 0;
	if (parse_bool(v, out))
		return vimg_error_set(err, VIMG_EINVAL, "option %s: invalid boolean \"%s\"", key, v);
	return 0;
}
