/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vimg_config: the public face of the kvtext engine for VMware dictionary
 * files, as `vimg config` edits them.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"
#include "kvtext.h"

#define CONFIG_MAGIC 0x7663666eu

struct vimg_config {
	unsigned magic;
	char *path;
	struct kvtext kv;
	size_t *pairs;		/* line index of each key line */
	size_t n_pairs;
	bool modified;
};

static const struct kv_limits config_limits = { 16u << 20, 1000000 };

/* The format name errors carry: what the file's extension says it is. */
static const char *config_kind(const char *path)
{
	static const char *const kinds[] = { "vmx", "vmsd", "vmtx", "vmpl", NULL };
	const char *dot = strrchr(path, '.');

	for (size_t i = 0; dot && kinds[i]; i++)
		if (!strcasecmp(dot + 1, kinds[i]))
			return kinds[i];
	return "config";
}

static int index_pairs(struct vimg_config *c, struct vimg_error *err)
{
	size_t n = 0;

	free(c->pairs);
	c->pairs = NULL;
	for (size_t i = 0; i < kv_lines(&c->kv); i++)
		n += kv_line_kind(&c->kv, i) == KV_LINE_PAIR;
	c->n_pairs = 0;
	if (n && !(c->pairs = malloc(n * sizeof(*c->pairs))))
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	for (size_t i = 0; i < kv_lines(&c->kv); i++)
		if (kv_line_kind(&c->kv, i) == KV_LINE_PAIR)
			c->pairs[c->n_pairs++] = i;
	return 0;
}

int vimg_config_open(const char *path, struct vimg_config **out, struct vimg_error *err)
{
	struct vimg_config *c;
	char *text;
	size_t len;
	int rc;

	if (!path || !out)
		return vimg_error_set(err, VIMG_EINVAL, "vimg_config_open: invalid arguments");
	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (!c || !(c->path = strdup(path))) {
		free(c);
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	}
	c->magic = CONFIG_MAGIC;
	rc = file_read_all(path, config_limits.max_bytes, "config", &text, &len, err);
	if (!rc) {
		rc = kv_parse(&c->kv, text, len, KV_ESCAPES, config_kind(path), ".encoding",
			      &config_limits, err);
		free(text);
	}
	if (!rc)
		rc = index_pairs(c, err);
	if (rc) {
		vimg_error_prefix(err, "%s", path);
		vimg_config_close(c);
		return rc;
	}
	*out = c;
	return 0;
}

void vimg_config_close(struct vimg_config *c)
{
	if (!c || c->magic != CONFIG_MAGIC)
		return;
	kv_free(&c->kv);
	free(c->pairs);
	free(c->path);
	c->magic = 0;
	free(c);
}

size_t vimg_config_count(const struct vimg_config *c)
{
	return c && c->magic == CONFIG_MAGIC ? c->n_pairs : 0;
}

const char *vimg_config_key(const struct vimg_config *c, size_t i)
{
	return i < vimg_config_count(c) ? kv_line_key(&c->kv, c->pairs[i]) : NULL;
}

const char *vimg_config_value(const struct vimg_config *c, size_t i)
{
	return i < vimg_config_count(c) ? kv_line_value(&c->kv, c->pairs[i]) : NULL;
}

const char *vimg_config_get(const struct vimg_config *c, const char *key)
{
	return c && c->magic == CONFIG_MAGIC && key ? kv_get(&c->kv, key) : NULL;
}

int vimg_config_set(struct vimg_config *c, const char *key, const char *value,
		    struct vimg_error *err)
{
	const char *old;
	int rc;

	if (!c || c->magic != CONFIG_MAGIC || !key || !value)
		return vimg_error_set(err, VIMG_EINVAL, "vimg_config_set: invalid arguments");
	old = kv_get(&c->kv, key);
	if (old && !strcmp(old, value))
		return 0;
	rc = kv_set(&c->kv, key, value, err);
	if (!rc)
		rc = index_pairs(c, err);
	c->modified |= rc == 0;
	return rc;
}

int vimg_config_unset(struct vimg_config *c, const char *key, struct vimg_error *err)
{
	size_t n;
	int rc;

	if (!c || c->magic != CONFIG_MAGIC || !key)
		return vimg_error_set(err, VIMG_EINVAL, "vimg_config_unset: invalid arguments");
	n = kv_unset(&c->kv, key);
	if (!n)
		return 0;
	c->modified = true;
	rc = index_pairs(c, err);
	return rc ? rc : (int)(n > 1000000 ? 1000000 : n);
}

bool vimg_config_modified(const struct vimg_config *c)
{
	return c && c->magic == CONFIG_MAGIC && c->modified;
}

int vimg_config_save(struct vimg_config *c, struct vimg_error *err)
{
	char *text;
	size_t len;
	int rc;

	if (!c || c->magic != CONFIG_MAGIC)
		return vimg_error_set(err, VIMG_EINVAL, "vimg_config_save: invalid arguments");
	if (!c->modified)
		return 0;
	rc = kv_render(&c->kv, &text, &len, err);
	if (rc)
		return rc;
	rc = file_replace(c->path, text, len, err);
	free(text);
	if (!rc)
		c->modified = false;
	return rc;
}
