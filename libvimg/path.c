/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The path policy for files named inside an image (backing files, extents,
 * external data files): a name resolves relative to the image's directory and,
 * after symlinks are resolved, must stay inside that directory unless the
 * caller explicitly allowed escapes. A hostile image must not make vimg read
 * /etc/shadow or a raw device as its "backing file".
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"

char *path_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

/* realpath of a path that may not exist yet: resolve its directory instead. */
static char *canonical(const char *path)
{
	char *dir, *rdir, *res;
	const char *base;

	res = realpath(path, NULL);
	if (res || errno != ENOENT)
		return res;
	dir = path_dirname(path);
	if (!dir)
		return NULL;
	rdir = realpath(dir, NULL);
	free(dir);
	if (!rdir)
		return NULL;
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (!strcmp(base, "..") || !strcmp(base, ".") || !*base) {
		free(rdir);
		errno = EINVAL;
		return NULL;
	}
	if (asprintf(&res, "%s/%s", strcmp(rdir, "/") ? rdir : "", base) < 0)
		res = NULL;
	free(rdir);
	return res;
}

/*
 * Where the path would be if its missing directories existed: "." and ".."
 * folded without touching the file system, so a name aiming outside through
 * directories that do not exist is still refused by the policy, not reported
 * as missing.
 */
static char *lexical(const char *path)
{
	char *out = malloc(strlen(path) + 2), *o = out;
	const char *p = path;

	if (!out)
		return NULL;
	*o = 0;
	while (*p) {
		const char *seg = p;
		size_t n;

		while (*p && *p != '/')
			p++;
		n = (size_t)(p - seg);
		if (*p)
			p++;
		if (n == 0 || (n == 1 && seg[0] == '.'))
			continue;
		if (n == 2 && seg[0] == '.' && seg[1] == '.') {
			char *slash = strrchr(out, '/');

			o = slash ? slash : out;
			*o = 0;
			continue;
		}
		*o++ = '/';
		memcpy(o, seg, n);
		o += n;
		*o = 0;
	}
	if (o == out)
		strcpy(out, "/");
	return out;
}

int path_resolve(const char *dir, const char *name, bool allow_escape, char **out,
		 struct vimg_error *err)
{
	char *joined = NULL, *cdir = NULL, *cpath = NULL;
	size_t dl;
	int rc = 0;

	*out = NULL;
	if (!name || !*name)
		return vimg_error_set(err, VIMG_EINVAL, "empty file name");
	if (strlen(name) >= PATH_MAX)
		return vimg_error_set(err, VIMG_EINVAL, "file name too long");
	if (name[0] == '/')
		joined = strdup(name);
	else if (asprintf(&joined, "%s/%s", dir, name) < 0)
		joined = NULL;
	if (!joined)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	if (allow_escape) {
		/* Canonical where it can be, so callers see one spelling either way. */
		cpath = canonical(joined);
		*out = cpath ? cpath : joined;
		if (cpath)
			free(joined);
		return 0;
	}
	cdir = realpath(dir, NULL);
	if (!cdir) {
		rc = vimg_error_set_errno(err, errno, "%s", dir);
		goto out;
	}
	cpath = canonical(joined);
	if (!cpath) {
		char *abs = NULL;

		if (name[0] == '/')
			abs = strdup(name);
		else if (asprintf(&abs, "%s/%s", cdir, name) < 0)
			abs = NULL;
		cpath = abs ? lexical(abs) : NULL;
		free(abs);
		if (!cpath) {
			rc = vimg_error_set(err, VIMG_ENOMEM, "out of memory");
			goto out;
		}
	}
	dl = strlen(cdir);
	if (!(strcmp(cdir, "/") == 0 ||
	      (strncmp(cpath, cdir, dl) == 0 && cpath[dl] == '/'))) {
		rc = vimg_error_set(err, VIMG_EACCES,
				    "\"%s\" resolves outside the image's directory %s "
				    "(refused by the path policy; allow escapes explicitly to open it)",
				    name, cdir);
		goto out;
	}
	*out = cpath;
	cpath = NULL;
out:
	free(joined);
	free(cdir);
	free(cpath);
	return rc;
}

char *path_relative(const char *from_dir, const char *to)
{
	char *a = canonical(from_dir), *b = canonical(to), *out = NULL;
	size_t i = 0, common = 0, ups = 0, len;

	if (a && b) {
		/* The longest common prefix that ends at a component boundary. */
		for (; a[i] && a[i] == b[i]; i++)
			if (a[i] == '/')
				common = i;
		if (!a[i] && b[i] == '/')
			common = i;
		for (size_t k = common; a[k]; k++)
			ups += a[k] == '/' && a[k + 1];
		len = ups * 3 + strlen(b + common) + 1;
		out = malloc(len);
	}
	if (out) {
		char *p = out;

		for (size_t k = 0; k < ups; k++)
			p += sprintf(p, "../");
		strcpy(p, b + common + (b[common] == '/'));
	}
	free(a);
	free(b);
	return out;
}
