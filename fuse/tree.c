/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The virtual file tree of a vimgmount mount: per disk, the disk itself and
 * one file per partition, then info.json describing all of it (RFC 8259
 * JSON, written here with full string escaping so that any file name is
 * safe); for a VM bundle also vm.json, the nvram/ variables and the saved
 * state's memory. Nodes are files named by their paths; folders are implied
 * by the names. Built once before mounting; read-only afterwards.
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuse/fuse.h"

/* ---- a small JSON writer ------------------------------------------------ */

struct json {
	char *buf;
	size_t len, cap;
	bool oom;
	unsigned depth;
	bool first;		/* no member written yet at this depth */
};

static void json_raw(struct json *j, const char *s, size_t n)
{
	if (j->oom)
		return;
	if (j->len + n + 1 > j->cap) {
		size_t cap = j->cap ? j->cap : 1024;
		while (j->len + n + 1 > cap)
			cap *= 2;
		char *p = realloc(j->buf, cap);
		if (!p) {
			j->oom = true;
			return;
		}
		j->buf = p;
		j->cap = cap;
	}
	memcpy(j->buf + j->len, s, n);
	j->len += n;
	j->buf[j->len] = '\0';
}

static void json_printf(struct json *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void json_printf(struct json *j, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	json_raw(j, tmp, n < (int)sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if it is not one. */
static size_t utf8_len(const unsigned char *s)
{
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (s[0] >= 0xe0 && s[0] <= 0xef) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0))
			return 0; /* overlong, or a surrogate */
		return 3;
	}
	if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
			return 0;
		if ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))
			return 0;
		return 4;
	}
	return 0;
}

/* A JSON string; bytes that are not UTF-8 (file names may hold any) become U+FFFD. */
static void json_string(struct json *j, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	json_raw(j, "\"", 1);
	while (*p) {
		size_t n = utf8_len(p);
		if (n == 0) {
			json_raw(j, "\\ufffd", 6);
			p++;
		} else if (*p == '"' || *p == '\\') {
			json_raw(j, "\\", 1);
			json_raw(j, (const char *)p++, 1);
		} else if (*p < 0x20) {
			static const char esc[] = "btn\0fr";
			if (*p >= '\b' && *p <= '\r' && *p != 0x0b)
				json_printf(j, "\\%c", esc[*p - '\b']);
			else
				json_printf(j, "\\u%04x", *p);
			p++;
		} else {
			json_raw(j, (const char *)p, n);
			p += n;
		}
	}
	json_raw(j, "\"", 1);
}

static void json_indent(struct json *j)
{
	json_raw(j, "\n", 1);
	for (unsigned i = 0; i < j->depth; i++)
		json_raw(j, "  ", 2);
}

/* Start a member (key non-NULL, in an object) or an element (key NULL, in a list). */
static void json_key(struct json *j, const char *key)
{
	if (!j->first)
		json_raw(j, ",", 1);
	j->first = false;
	json_indent(j);
	if (key) {
		json_string(j, key);
		json_raw(j, ": ", 2);
	}
}

static void json_open(struct json *j, const char *key, bool list)
{
	if (j->depth > 0)
		json_key(j, key);
	json_raw(j, list ? "[" : "{", 1);
	j->depth++;
	j->first = true;
}

static void json_close(struct json *j, bool list)
{
	bool empty = j->first;

	j->depth--;
	if (!empty)
		json_indent(j);
	json_raw(j, list ? "]" : "}", 1);
	j->first = false;
}

static void json_str(struct json *j, const char *key, const char *val)
{
	json_key(j, key);
	if (val)
		json_string(j, val);
	else
		json_raw(j, "null", 4);
}

static void json_u64(struct json *j, const char *key, uint64_t val)
{
	json_key(j, key);
	json_printf(j, "%" PRIu64, val);
}

static void json_bool(struct json *j, const char *key, bool val)
{
	json_key(j, key);
	json_raw(j, val ? "true" : "false", val ? 4 : 5);
}

/* ---- building ---------------------------------------------------------- */

struct build {
	struct tree *t;
	struct json *j;
	const struct tree_disk *disk;
};

/* Append a node; name (malloc'd) is taken over, also on failure. */
static struct tree_node *node_add(struct tree *t, char *name, enum tree_kind kind,
				  uint64_t length)
{
	if (!name)
		return NULL;
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 16;
		struct tree_node *p = realloc(t->nodes, cap * sizeof(*p));
		if (!p) {
			free(name);
			return NULL;
		}
		t->nodes = p;
		t->cap = cap;
	}
	t->nodes[t->n] = (struct tree_node){ .name = name, .kind = kind, .length = length };
	return &t->nodes[t->n++];
}

static int tree_add(struct build *b, char *name, enum tree_kind kind, struct vimg_image *img,
		    uint64_t offset, uint64_t length)
{
	struct tree_node *n = node_add(b->t, name, kind, length);

	if (!n)
		return VIMG_ENOMEM;
	n->img = img;
	n->offset = offset;
	return 0;
}

int tree_add_data(struct tree *t, const char *name, const void *data, size_t len, void *owned)
{
	struct tree_node *n = node_add(t, strdup(name), TREE_DATA, len);

	if (!n) {
		free(owned);
		return VIMG_ENOMEM;
	}
	n->data = data;
	n->owned = owned;
	return 0;
}

int tree_add_memory(struct tree *t, const char *name, struct vimg_vmstate *st)
{
	struct tree_node *n = node_add(t, strdup(name), TREE_MEMORY,
				       vimg_vmstate_memory_size(st));

	if (!n)
		return VIMG_ENOMEM;
	n->mem = st;
	return 0;
}

/* ---- vm.json: what vimg inspect emits, through this file's writer ---------- */

struct json_emit {
	struct json *j;
	bool list[64];
	unsigned depth;
};

static void je_str(void *o, const char *k, const char *v)
{
	json_str(((struct json_emit *)o)->j, k, v);
}
static void je_u64(void *o, const char *k, uint64_t v)
{
	json_u64(((struct json_emit *)o)->j, k, v);
}
static void je_i64(void *o, const char *k, int64_t v)
{
	json_key(((struct json_emit *)o)->j, k);
	json_printf(((struct json_emit *)o)->j, "%" PRId64, v);
}
static void je_bool(void *o, const char *k, bool v)
{
	json_bool(((struct json_emit *)o)->j, k, v);
}
static void je_begin(void *o, const char *k, bool is_list)
{
	struct json_emit *e = o;

	if (e->depth + 1 < sizeof(e->list))
		e->list[++e->depth] = is_list;
	json_open(e->j, k, is_list);
}
static void je_end(void *o)
{
	struct json_emit *e = o;

	json_close(e->j, e->list[e->depth]);
	if (e->depth)
		e->depth--;
}

int tree_add_vm_json(struct tree *t, const char *name, struct vimg_vm *vm,
		     struct vimg_error *err)
{
	struct json j = { 0 };
	struct json_emit e = { .j = &j };
	const struct vimg_emit em = { je_str, je_u64, je_i64, je_bool, je_begin, je_end, &e };
	int rc;

	json_open(&j, NULL, false);
	rc = vimg_vm_inspect(vm, &em, NULL, err);
	json_close(&j, false);
	json_raw(&j, "\n", 1);
	if (rc == 0 && j.oom)
		rc = vimg_error_set(err, VIMG_ENOMEM, "vm.json: out of memory");
	if (rc < 0) {
		free(j.buf);
		return rc;
	}
	rc = tree_add_data(t, name, j.buf, j.len, j.buf);
	return rc < 0 ? vimg_error_set(err, rc, "out of memory") : 0;
}

static char *name_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *name_printf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

/* Partitions are collected first so that info.json can name the scheme before them. */
struct parts {
	struct vimg_partition *p;
	size_t n;
	bool oom;
};

static int partition_cb(void *opaque, const struct vimg_partition *p)
{
	struct parts *ps = opaque;
	struct vimg_partition *np = realloc(ps->p, (ps->n + 1) * sizeof(*np));

	if (!np) {
		ps->oom = true;
		return VIMG_ENOMEM;
	}
	ps->p = np;
	ps->p[ps->n++] = *p;
	return 0;
}

static int describe_partition(struct build *b, const struct vimg_partition *p)
{
	struct json *j = b->j;
	char *name = name_printf("%s.p%u", b->disk->name, p->index);
	int rc = tree_add(b, name, TREE_PARTITION, b->disk->img, p->start, p->length);

	if (rc < 0)
		return rc;
	json_open(j, NULL, false);
	json_str(j, "file", name);
	json_u64(j, "index", p->index);
	json_u64(j, "start", p->start);
	json_u64(j, "length", p->length);
	if (p->gpt_type[0]) {
		json_str(j, "type", p->gpt_type);
		json_str(j, "uuid", p->gpt_uuid);
		json_str(j, "name", p->name);
	} else {
		char type[8];
		snprintf(type, sizeof(type), "0x%02x", p->mbr_type);
		json_str(j, "type", type);
	}
	json_bool(j, "bootable", p->bootable);
	json_close(j, false);
	return 0;
}

static void describe_chain(struct json *j, struct vimg_image *img)
{
	json_open(j, "backing-chain", true);
	for (struct vimg_image *b = vimg_image_backing(img); b; b = vimg_image_backing(b)) {
		json_open(j, NULL, false);
		json_str(j, "filename", vimg_image_filename(b));
		json_str(j, "format", vimg_image_format(b));
		json_u64(j, "virtual-size", vimg_image_virtual_size(b));
		json_close(j, false);
	}
	json_close(j, true);
}

static int tree_add_warning(struct tree *t, const char *disk, const char *msg)
{
	char **w = realloc(t->warnings, (t->nwarnings + 1) * sizeof(*w));
	if (!w)
		return VIMG_ENOMEM;
	t->warnings = w;
	w[t->nwarnings] = name_printf("%s: %s", disk, msg);
	if (!w[t->nwarnings])
		return VIMG_ENOMEM;
	t->nwarnings++;
	return 0;
}

static int build_disk(struct build *b, const struct tree_disk *d, struct vimg_error *err)
{
	struct json *j = b->j;
	struct vimg_error perr = VIMG_ERROR_INIT;
	const char *scheme = NULL;
	struct parts ps = { 0 };
	uint64_t size = vimg_image_virtual_size(d->img);
	int rc;

	rc = tree_add(b, strdup(d->name), TREE_DISK, d->img, 0, size);
	if (rc < 0)
		return vimg_error_set(err, rc, "out of memory");
	json_open(j, NULL, false);
	json_str(j, "file", d->name);
	json_str(j, "image", vimg_image_filename(d->image));
	json_str(j, "format", vimg_image_format(d->image));
	json_u64(j, "virtual-size", size);
	if (d->overlay)
		json_str(j, "overlay", d->overlay);
	if (d->snapshot)
		json_str(j, "snapshot", d->snapshot);
	describe_chain(j, d->image);

	b->disk = d;
	rc = vimg_image_partitions(d->img, partition_cb, &ps, &scheme, &perr);
	if (ps.oom) {
		free(ps.p);
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	}
	json_str(j, "partition-table", scheme);
	json_open(j, "partitions", true);
	for (size_t i = 0; i < ps.n; i++)
		if (describe_partition(b, &ps.p[i]) < 0) {
			free(ps.p);
			return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
		}
	json_close(j, true);
	free(ps.p);
	if (rc < 0) {
		json_str(j, "partition-error", perr.msg);
		if (tree_add_warning(b->t, d->name, perr.msg) < 0)
			return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	}
	json_close(j, false);
	return 0;
}

int tree_build(struct tree *t, const struct tree_disk *disks, size_t ndisks, const char *mode,
	       struct vimg_error *err)
{
	struct json j = { 0 };
	struct build b = { .t = t, .j = &j };
	int rc = 0;

	*t = (struct tree){ 0 };
	json_open(&j, NULL, false);
	json_str(&j, "mode", mode);
	json_open(&j, "disks", true);
	for (size_t i = 0; i < ndisks && rc == 0; i++)
		rc = build_disk(&b, &disks[i], err);
	json_close(&j, true);
	json_close(&j, false);
	json_raw(&j, "\n", 1);
	if (rc == 0 && j.oom)
		rc = vimg_error_set(err, VIMG_ENOMEM, "info.json: out of memory");
	if (rc == 0) {
		rc = tree_add(&b, strdup("info.json"), TREE_DATA, NULL, 0, j.len);
		if (rc < 0)
			vimg_error_set(err, rc, "out of memory");
	}
	if (rc < 0) {
		free(j.buf);
		tree_free(t);
		return rc;
	}
	t->json = j.buf;
	t->nodes[t->n - 1].data = t->json;
	return 0;
}

const struct tree_node *tree_lookup(const struct tree *t, const char *path)
{
	if (path[0] != '/')
		return NULL;
	path++;
	/* Hundreds of nodes at most (partitions, snapshots, variables): linear is fine. */
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->nodes[i].name, path) == 0)
			return &t->nodes[i];
	return NULL;
}

/* The entry of the folder prefix[0, plen) that name lies under, or NULL. */
static const char *entry_under(const char *name, const char *prefix, size_t plen, size_t *elen)
{
	const char *e, *slash;

	if (plen && (strncmp(name, prefix, plen) || name[plen] != '/'))
		return NULL;
	e = plen ? name + plen + 1 : name;
	slash = strchr(e, '/');
	*elen = slash ? (size_t)(slash - e) : strlen(e);
	return e;
}

bool tree_is_dir(const struct tree *t, const char *path)
{
	size_t plen, elen;

	if (path[0] != '/')
		return false;
	path++;
	plen = strlen(path);
	if (!plen)
		return true;
	for (size_t i = 0; i < t->n; i++)
		if (entry_under(t->nodes[i].name, path, plen, &elen) &&
		    strlen(t->nodes[i].name) > plen)
			return true;
	return false;
}

void tree_list(const struct tree *t, const char *path,
	       int (*fill)(void *opaque, const char *entry), void *opaque)
{
	size_t plen = strlen(path + 1);

	for (size_t i = 0; i < t->n; i++) {
		size_t elen, l2;
		const char *e = entry_under(t->nodes[i].name, path + 1, plen, &elen);
		bool seen = false;
		char entry[256];

		if (!e || elen >= sizeof(entry))
			continue;
		/* Listed once: at the first node under it. */
		for (size_t k = 0; k < i && !seen; k++) {
			const char *e2 = entry_under(t->nodes[k].name, path + 1, plen, &l2);

			seen = e2 && l2 == elen && !memcmp(e, e2, elen);
		}
		if (seen)
			continue;
		memcpy(entry, e, elen);
		entry[elen] = 0;
		if (fill(opaque, entry))
			return;
	}
}

void tree_free(struct tree *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->nodes[i].name);
		free(t->nodes[i].owned);
	}
	for (size_t i = 0; i < t->nwarnings; i++)
		free(t->warnings[i]);
	free(t->nodes);
	free(t->warnings);
	free(t->json);
	*t = (struct tree){ 0 };
}
