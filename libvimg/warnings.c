/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Warnings as results: a list of (key, reason) that translations between
 * models fill instead of dropping what a target cannot hold.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct warning {
	char *key, *reason;
};

struct vimg_warnings {
	struct warning *v;
	size_t n, cap;
};

int warnings_add(struct vimg_warnings **w, const char *key, const char *fmt, ...)
{
	struct warning *nv;
	va_list ap;
	char *reason;
	int rc;

	if (!w)
		return 0;
	if (!*w && !(*w = calloc(1, sizeof(**w))))
		return VIMG_ENOMEM;
	if ((*w)->n == (*w)->cap) {
		size_t cap = (*w)->cap ? (*w)->cap * 2 : 16;

		nv = realloc((*w)->v, cap * sizeof(*nv));
		if (!nv)
			return VIMG_ENOMEM;
		(*w)->v = nv;
		(*w)->cap = cap;
	}
	va_start(ap, fmt);
	rc = vasprintf(&reason, fmt, ap);
	va_end(ap);
	if (rc < 0)
		return VIMG_ENOMEM;
	(*w)->v[(*w)->n].reason = reason;
	(*w)->v[(*w)->n].key = strdup(key ? key : "");
	if (!(*w)->v[(*w)->n].key) {
		free(reason);
		return VIMG_ENOMEM;
	}
	(*w)->n++;
	return 0;
}

size_t vimg_warnings_count(const struct vimg_warnings *w)
{
	return w ? w->n : 0;
}

const char *vimg_warnings_key(const struct vimg_warnings *w, size_t i)
{
	return w && i < w->n ? w->v[i].key : NULL;
}

const char *vimg_warnings_reason(const struct vimg_warnings *w, size_t i)
{
	return w && i < w->n ? w->v[i].reason : NULL;
}

void vimg_warnings_free(struct vimg_warnings *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->n; i++) {
		free(w->v[i].key);
		free(w->v[i].reason);
	}
	free(w->v);
	free(w);
}
