/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The tar reader and header writer of tar.h. ustar (POSIX and GNU magic),
 * GNU long names and pax extended headers are read, since OVA writers use
 * all three; every header's checksum is checked and every length bounded
 * before it is used.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "tar.h"

#define TAR_MAX_NAME 4096
#define TAR_MAX_PAX (64u * 1024)

struct tar_reader {
	struct vimg_file *f;
	const char *path;
	uint64_t file_size;
	struct vimg_error *err;
	/* From a GNU 'L' member or a pax header, for the next member. */
	char *next_name;
	uint64_t next_size;
	bool has_next_size;
	struct tar_member *m;
	size_t n;
};

static int corrupt(struct tar_reader *t, uint64_t off, const char *what, const char *name)
{
	return vimg_error_set(t->err, VIMG_ECORRUPT, "tar: %s: %s%s%s%s at offset 0x%llx", t->path,
			      what, name ? " (\"" : "", name ? name : "", name ? "\")" : "",
			      (unsigned long long)off);
}

/* An octal field (spaces and NULs end it), or base 256 when the high bit of
 * its first byte is set (GNU, for sizes past 8 GiB). */
static bool parse_number(const uint8_t *p, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	if (p[0] & 0x80) {
		if (p[0] != 0x80)
			return false;	/* negative, or more than 64 bits */
		for (i = 1; i < len; i++) {
			if (v >> 56)
				return false;
			v = v << 8 | p[i];
		}
		*out = v;
		return true;
	}
	while (i < len && p[i] == ' ')
		i++;
	if (i == len || p[i] < '0' || p[i] > '7')
		return false;
	for (; i < len && p[i] >= '0' && p[i] <= '7'; i++) {
		if (v >> 61)
			return false;
		v = v << 3 | (uint64_t)(p[i] - '0');
	}
	for (; i < len; i++)
		if (p[i] != ' ' && p[i])
			return false;
	*out = v;
	return true;
}

static bool checksum_ok(const uint8_t *h)
{
	uint64_t want, sum_u = 0;
	int64_t sum_s = 0;

	if (!parse_number(h + 148, 8, &want))
		return false;
	for (size_t i = 0; i < TAR_BLOCK; i++) {
		uint8_t c = i >= 148 && i < 156 ? ' ' : h[i];

		sum_u += c;
		sum_s += (int8_t)c;
	}
	/* Some old writers summed signed bytes; tar accepts both. */
	return want == sum_u || (int64_t)want == sum_s;
}

/* A member name an importer may use: relative, no "..", no empty name. */
static bool name_safe(const char *name)
{
	const char *p = name;

	if (!*name || *name == '/')
		return false;
	while (*p) {
		const char *e = strchr(p, '/');
		size_t l = e ? (size_t)(e - p) : strlen(p);

		if (l == 2 && !strncmp(p, "..", 2))
			return false;
		p += l;
		while (*p == '/')
			p++;
	}
	return true;
}

/* The name of a header: pax or GNU long name first, else ustar's prefix/name. */
static char *header_name(struct tar_reader *t, const uint8_t *h, bool posix)
{
	char name[101], prefix[156], *s;

	if (t->next_name) {
		s = t->next_name;
		t->next_name = NULL;
		return s;
	}
	memcpy(name, h, 100);
	name[100] = 0;
	memcpy(prefix, h + 345, 155);
	prefix[155] = 0;
	if (posix && prefix[0]) {
		if (asprintf(&s, "%s/%s", prefix, name) < 0)
			s = NULL;
		return s;
	}
	return strdup(name);
}

/* The bytes of a 'L' or 'x' member, NUL-terminated, at most max. */
static int read_meta(struct tar_reader *t, uint64_t off, uint64_t size, size_t max, char **out)
{
	char *buf;

	*out = NULL;
	if (size > max)
		return corrupt(t, off, "extended header too large", NULL);
	if (!(buf = malloc(size + 1)))
		return vimg_error_set(t->err, VIMG_ENOMEM, "out of memory");
	if (file_pread_full(t->f, buf, size, off + TAR_BLOCK, t->err)) {
		free(buf);
		return -1;
	}
	buf[size] = 0;
	*out = buf;
	return 0;
}

/* pax records "LEN key=value\n": path and size are used, the rest ignored. */
static int parse_pax(struct tar_reader *t, uint64_t off, char *p, size_t len)
{
	size_t pos = 0;

	while (pos < len) {
		char *end, *eq, *rec = p + pos;
		unsigned long rl = strtoul(rec, &end, 10);

		if (end == rec || *end != ' ' || rl < 5 || rl > len - pos || rec[rl - 1] != '\n')
			return corrupt(t, off, "malformed pax record", NULL);
		rec[rl - 1] = 0;
		eq = strchr(end + 1, '=');
		if (!eq)
			return corrupt(t, off, "malformed pax record", NULL);
		*eq = 0;
		if (!strcmp(end + 1, "path")) {
			free(t->next_name);
			if (!(t->next_name = strdup(eq + 1)))
				return vimg_error_set(t->err, VIMG_ENOMEM, "out of memory");
		} else if (!strcmp(end + 1, "size")) {
			char *e;

			errno = 0;
			t->next_size = strtoull(eq + 1, &e, 10);
			if (errno || e == eq + 1 || *e || eq[1] == '-')
				return corrupt(t, off, "bad pax size", NULL);
			t->has_next_size = true;
		}
		pos += rl;
	}
	return 0;
}

static int add_member(struct tar_reader *t, uint64_t hdr, uint64_t off, char *name,
		      uint64_t size)
{
	char *n = name;
	struct tar_member *m;

	while (n[0] == '.' && n[1] == '/')
		for (n += 2; *n == '/'; n++)
			;
	if (!name_safe(n)) {
		corrupt(t, hdr, "unsafe member name", name);
		free(name);
		return -1;
	}
	if (tar_find(t->m, t->n, n)) {
		corrupt(t, hdr, "duplicate member", n);
		free(name);
		return -1;
	}
	if (t->n >= TAR_MAX_MEMBERS) {
		free(name);
		return corrupt(t, hdr, "more than " "4096" " members", NULL);
	}
	if (!(t->n % 64)) {
		m = realloc(t->m, (t->n + 64) * sizeof(*m));
		if (!m) {
			free(name);
			return vimg_error_set(t->err, VIMG_ENOMEM, "out of memory");
		}
		t->m = m;
	}
	memmove(name, n, strlen(n) + 1);
	t->m[t->n++] = (struct tar_member){ .name = name, .header = hdr, .offset = off,
					    .size = size };
	return 0;
}

static int walk(struct tar_reader *t)
{
	uint64_t off = 0, first = 0;
	uint8_t h[TAR_BLOCK];

	for (;;) {
		uint64_t size, data;
		bool posix, gnu;
		char type, *meta, *name;
		static const uint8_t zero[TAR_BLOCK];

		if (off + TAR_BLOCK > t->file_size) {
			/* Archives cut after their last member (no end blocks) are
			 * common and harmless; a cut header is not. */
			if (off == t->file_size && !t->next_name && !t->has_next_size)
				return 0;
			return corrupt(t, off, "truncated header", NULL);
		}
		if (file_pread_full(t->f, h, TAR_BLOCK, off, t->err))
			return -1;
		if (!memcmp(h, zero, TAR_BLOCK)) {
			if (t->next_name || t->has_next_size)
				return corrupt(t, off, "end of archive after an extended header",
					       NULL);
			return 0;
		}
		posix = !memcmp(h + 257, "ustar\0", 6);
		gnu = !memcmp(h + 257, "ustar  \0", 8);
		if (!posix && !gnu)
			return corrupt(t, off, "not a ustar header", NULL);
		if (!checksum_ok(h))
			return corrupt(t, off, "header checksum mismatch", NULL);
		if (!parse_number(h + 124, 12, &size))
			return corrupt(t, off, "bad size field", NULL);
		type = (char)h[156];
		if (t->has_next_size && (type == '0' || type == 0 || type == '7')) {
			size = t->next_size;
			t->has_next_size = false;
		}
		data = off + TAR_BLOCK;
		if (size > t->file_size || data > t->file_size - size)
			return corrupt(t, off, "member data past the end of the file", NULL);
		switch (type) {
		case '0':
		case '\0':
		case '7':
			if (!(name = header_name(t, h, posix)))
				return vimg_error_set(t->err, VIMG_ENOMEM, "out of memory");
			if (add_member(t, first ? first : off, data, name, size))
				return -1;
			first = 0;
			break;
		case '5':
			free(header_name(t, h, posix));
			first = 0;
			break;
		case 'L':
			if (read_meta(t, off, size, TAR_MAX_NAME, &meta))
				return -1;
			free(t->next_name);
			t->next_name = meta;
			if (!first)
				first = off;
			break;
		case 'x':
			if (read_meta(t, off, size, TAR_MAX_PAX, &meta))
				return -1;
			if (parse_pax(t, off, meta, size)) {
				free(meta);
				return -1;
			}
			free(meta);
			if (!first)
				first = off;
			break;
		case 'g':
			break;
		default: {
			char *n = header_name(t, h, posix);
			const char *what = type == '1' || type == '2' ? "links are not allowed"
					 : type == '3' || type == '4' || type == '6'
						 ? "devices and FIFOs are not allowed"
						 : "unsupported member type";
			int rc = corrupt(t, off, what, n);

			free(n);
			return rc;
		}
		}
		off = data + tar_round(size);
	}
}

int tar_list(const char *path, struct tar_member **out, size_t *n, struct vimg_error *err)
{
	struct tar_reader t = { .path = path, .err = err };
	int64_t size;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = file_open(path, 0, &t.f, err)))
		return rc;
	size = file_size(t.f, err);
	if (size < 0) {
		file_close(t.f);
		return (int)size;
	}
	t.file_size = (uint64_t)size;
	rc = walk(&t);
	file_close(t.f);
	free(t.next_name);
	if (rc) {
		tar_list_free(t.m, t.n);
		return rc;
	}
	*out = t.m;
	*n = t.n;
	return 0;
}

void tar_list_free(struct tar_member *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(m[i].name);
	free(m);
}

const struct tar_member *tar_find(const struct tar_member *m, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(m[i].name, name))
			return &m[i];
	return NULL;
}

int tar_header(uint8_t hdr[TAR_BLOCK], const char *name, uint64_t size, time_t mtime,
	       struct vimg_error *err)
{
	unsigned sum = 0;
	size_t len = strlen(name);

	if (!len || len >= 100)
		return vimg_error_set(err, VIMG_EINVAL, "tar: member name \"%s\" must be 1 to 99 "
				      "bytes", name);
	memset(hdr, 0, TAR_BLOCK);
	memcpy(hdr, name, len);
	memcpy(hdr + 100, "0000644", 7);
	memcpy(hdr + 108, "0000000", 7);
	memcpy(hdr + 116, "0000000", 7);
	if (size < (1ull << 33)) {
		snprintf((char *)hdr + 124, 12, "%011llo", (unsigned long long)size);
	} else {
		hdr[124] = 0x80;
		for (int i = 0; i < 8; i++)
			hdr[135 - i] = (uint8_t)(size >> (8 * i));
	}
	snprintf((char *)hdr + 136, 12, "%011llo",
		 (unsigned long long)(mtime > 0 ? mtime : 0) & 077777777777ull);
	hdr[156] = '0';
	memcpy(hdr + 257, "ustar\0" "00", 8);
	memset(hdr + 148, ' ', 8);
	for (size_t i = 0; i < TAR_BLOCK; i++)
		sum += hdr[i];
	snprintf((char *)hdr + 148, 8, "%06o", sum);
	hdr[155] = ' ';
	return 0;
}
