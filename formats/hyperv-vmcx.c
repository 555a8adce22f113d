/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Hyper-V's binary configuration (.vmcx, Windows Server 2016 and later) read
 * into the VM model. There is no vendor specification: the layout below is
 * the one dissect.hypervisor reverse-engineered from VmDataStore.dll, with
 * the checksums worked out against real files. Little-endian, packed:
 *
 *   0x0000, 0x1000  two copies of the file header (46 bytes): signature
 *                   0x01282014, CRC-32, a 16-bit sequence number, version
 *                   0x400, alignment, the replay log's offset and size;
 *   log offset      the replay log (34 bytes, signature 0x01110003, CRC-32,
 *                   pending entries), a journal of changes not yet applied;
 *   0x2000          the object table (signature 0x01110001, a count, then
 *                   18-byte entries: type, CRC-32, offset, size, allocated)
 *                   listing key tables, file objects and further tables;
 *   key tables      a 10-byte header (signature 2, index, sequence number,
 *                   CRC-32 of the header) then entries: type and flags,
 *                   size, the parent's table index and offset in it (0: a
 *                   top-level key), CRC-32, insertion sequence, key length;
 *                   the key (UTF-8, NUL-terminated) and the value.
 *
 * Every CRC-32 is zlib's, over the structure with its own checksum field
 * zeroed; a key entry's covers the header, key and value. Values are 64-bit
 * integers, doubles, 32-bit booleans, UTF-16LE strings and byte arrays with
 * a 32-bit length, or keys with children. A large string or array lives in a
 * file object, its entry holding its size and offset instead. The keys form
 * the same tree as the XML configuration's elements, which is handed to the
 * mapping the XML reader uses (hyperv-config.c). The runtime state (.vmrs)
 * and Hyper-V's VM registry (data.vmcx) are the same container holding other
 * trees: probing tells them apart by the manifest a configuration has.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "endian.h"
#include "hyperv-config.h"

#define VMCX_MAX_BYTES (16u << 20)
#define SIG_HEADER 0x01282014u
#define SIG_LOG 0x01110003u
#define SIG_OBJECTS 0x01110001u
#define SIG_KEYS 0x0002u
#define HEADER_LEN 46
#define LOG_LEN 34
#define LOG_ENTRY_LEN 28
#define OBJECTS_OFF 0x2000u
#define OBJECT_LEN 18
#define KEYS_LEN 10
#define ENTRY_LEN 21
#define MAX_OBJECT_TABLES 16
#define MAX_KEY_TABLES 4096
#define STR_(x) #x
#define STR(x) STR_(x)

enum { O_OBJECTS = 1, O_KEYS = 2, O_FILE = 3, O_LAST = 7 };
enum { K_FREE = 1, K_INT = 3, K_UINT, K_DOUBLE, K_STRING, K_ARRAY, K_BOOL, K_NODE };
#define K_FILE_OBJECT 0x01	/* flag: the value is in a file object */
/* A flag Hyper-V's runtime state sets on some strings (GUIDs, type codes);
 * its meaning is unknown, and the value is laid out as any other's. */
#define K_FLAG_2 0x02

static const char *const vmcx_ext[] = { ".vmcx", NULL };

struct header {
	uint16_t seq;
	uint32_t version, align;
	uint64_t log_off, log_size;
};

struct object {
	uint64_t off;
	uint32_t size;
};

struct key_table {
	uint64_t off;
	uint32_t size;
	uint16_t index, seq;
	bool tried, read;
};

struct entry {
	uint64_t off;			/* in the file */
	uint32_t at;			/* in its table: what children name */
	uint16_t table, parent_table;
	uint32_t parent_at, seq;
	uint8_t type;
	const char *key;
	const uint8_t *val;
	size_t vlen;
	size_t parent;			/* index into entries; SIZE_MAX at the top */
	unsigned depth;
	struct hv_node *node;
};

struct vmcx {
	const uint8_t *buf;
	size_t len;
	struct header h;
	struct object *files;
	size_t n_files;
	struct key_table *tabs;
	size_t n_tabs;
	struct entry *ents;
	size_t n_ents, cap;
	unsigned n_object_tables;
	struct vimg_error *err;
};

static uint32_t crc_zeroed(const uint8_t *p, size_t len, size_t at)
{
	static const uint8_t zero[4];
	uLong c = crc32(0L, p, (uInt)at);

	c = crc32(c, zero, 4);
	return (uint32_t)crc32(c, p + at + 4, (uInt)(len - at - 4));
}

/* Sequence numbers are 16 bits: the newer of two is the one ahead by less
 * than half the space, so a counter that wrapped past 0xffff still wins. */
static bool newer(uint16_t a, uint16_t b)
{
	return (int16_t)(uint16_t)(a - b) > 0;
}

/* NULL if the header copy at off is valid (and then in *h), else why not. */
static const char *header_check(const uint8_t *buf, size_t len, size_t off, struct header *h,
				char *why, size_t whysz)
{
	const uint8_t *p;
	uint32_t stored, sum;

	if (len < off + HEADER_LEN)
		return "truncated";
	p = buf + off;
	if (ld_le32(p) != SIG_HEADER)
		return "bad signature";
	stored = ld_le32(p + 4);
	if ((sum = crc_zeroed(p, HEADER_LEN, 4)) != stored) {
		snprintf(why, whysz, "bad checksum 0x%08x (computed 0x%08x)", stored, sum);
		return why;
	}
	if (ld_le32(p + 10) != 0x400) {
		snprintf(why, whysz, "version 0x%x (only 0x400 is known)", ld_le32(p + 10));
		return why;
	}
	*h = (struct header){
		.seq = ld_le16(p + 8), .version = ld_le32(p + 10), .align = ld_le32(p + 22),
		.log_off = ld_le64(p + 26), .log_size = ld_le64(p + 34),
	};
	/* VmDataStore refuses alignments past 64 KiB. */
	if (!h->align || h->align > 0x10000 || (h->align & (h->align - 1)))
		return "bad alignment";
	return NULL;
}

/*
 * Hyper-V writes the two header copies in turn, each with the next sequence
 * number: the newest valid copy describes the file. A write torn by a crash
 * leaves that copy's checksum wrong, and the other, one step older, is what
 * the file held before that write (the replay log covers the rest), so it is
 * used instead rather than refusing the file.
 */
static int read_header(struct vmcx *f)
{
	struct header h[2];
	char why[2][64];
	const char *bad[2];

	for (int i = 0; i < 2; i++)
		bad[i] = header_check(f->buf, f->len, i * 0x1000u, &h[i], why[i], sizeof(why[i]));
	if (bad[0] && bad[1])
		return vimg_error_set(f->err, VIMG_ECORRUPT,
				      "vmcx: header at 0x0: %s; its copy at 0x1000: %s", bad[0],
				      bad[1]);
	f->h = bad[0] || (!bad[1] && newer(h[1].seq, h[0].seq)) ? h[1] : h[0];
	return 0;
}

static int read_log(struct vmcx *f)
{
	const struct header *h = &f->h;
	const uint8_t *p;
	uint32_t n, max;

	/* The log's area may run past the end of the file (Hyper-V's own runtime
	 * state and VM registry do): only what is read must lie inside. */
	if (h->log_off < 0x2000 || h->log_off > f->len || f->len - h->log_off < LOG_LEN ||
	    h->log_size < LOG_LEN)
		return vimg_error_set(f->err, VIMG_ECORRUPT,
				      "vmcx: replay log at 0x%" PRIx64 " (0x%" PRIx64
				      " bytes) lies outside the file", h->log_off, h->log_size);
	p = f->buf + h->log_off;
	if (ld_le32(p) != SIG_LOG || crc_zeroed(p, LOG_LEN, 4) != ld_le32(p + 4))
		return vimg_error_set(f->err, VIMG_ECORRUPT,
				      "vmcx: replay log at 0x%" PRIx64 ": bad %s", h->log_off,
				      ld_le32(p) != SIG_LOG ? "signature" : "checksum");
	n = ld_le32(p + 8);
	max = ld_le32(p + 13);
	if (n > max || (uint64_t)max * LOG_ENTRY_LEN > h->log_size - LOG_LEN ||
	    (uint64_t)n * LOG_ENTRY_LEN > f->len - h->log_off - LOG_LEN)
		return vimg_error_set(f->err, VIMG_ECORRUPT,
				      "vmcx: replay log at 0x%" PRIx64 ": %" PRIu32 " of %" PRIu32
				      " entries do not fit in it", h->log_off, n, max);
	/* The tables are then older than the log says: what to apply is not
	 * known well enough to replay it, and reading past it would give a
	 * state Hyper-V never had. */
	if (n)
		return vimg_error_set(f->err, VIMG_EUNSUPPORTED,
				      "vmcx: replay log at 0x%" PRIx64 ": %" PRIu32
				      " changes not yet applied (Hyper-V applies them when it"
				      " next opens the file); replaying them is not supported",
				      h->log_off, n);
	return 0;
}

static int grow(void **arr, size_t n, size_t *cap, size_t elem, struct vimg_error *err)
{
	void *p;

	if (n < *cap)
		return 0;
	if (!(p = realloc(*arr, (*cap ? *cap * 2 : 16) * elem)))
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	*arr = p;
	*cap = *cap ? *cap * 2 : 16;
	return 0;
}

struct walk {
	uint64_t tables[MAX_OBJECT_TABLES];	/* the object tables found */
	size_t n_tables, cap_files, cap_tabs;
};

/* What object table entry i (at file offset at, e its bytes) lists. */
static int read_object(struct vmcx *f, struct walk *w, const uint8_t *e, uint32_t i,
		       uint64_t at)
{
	uint64_t off = ld_le64(e + 5);
	uint32_t size = ld_le32(e + 13);
	const char *bad = NULL;
	int rc = 0;

	if (!e[17])
		return 0;	/* not allocated */
	if (crc_zeroed(e, OBJECT_LEN, 1) != ld_le32(e + 1))
		bad = "bad checksum";
	else if (!e[0] || e[0] > O_LAST)
		bad = "unknown object type";
	else if (off > f->len || size > f->len - off)
		bad = "object lies past the end of the file";
	else if (e[0] == O_OBJECTS && w->n_tables == MAX_OBJECT_TABLES)
		bad = "more than " STR(MAX_OBJECT_TABLES) " object tables";
	else if (e[0] == O_KEYS && f->n_tabs == MAX_KEY_TABLES)
		bad = "more than " STR(MAX_KEY_TABLES) " key tables";
	for (size_t k = 0; !bad && e[0] == O_OBJECTS && k < w->n_tables; k++)
		if (w->tables[k] == off)
			bad = "object tables in a cycle";
	if (bad)
		return vimg_error_set(f->err, VIMG_ECORRUPT,
				      "vmcx: object table entry %" PRIu32 " at 0x%" PRIx64 ": %s",
				      i, at, bad);
	if (e[0] == O_OBJECTS) {
		w->tables[w->n_tables++] = off;
	} else if (e[0] == O_FILE) {
		rc = grow((void **)&f->files, f->n_files, &w->cap_files, sizeof(*f->files), f->err);
		if (!rc)
			f->files[f->n_files++] = (struct object){ off, size };
	} else if (e[0] == O_KEYS) {
		rc = grow((void **)&f->tabs, f->n_tabs, &w->cap_tabs, sizeof(*f->tabs), f->err);
		if (!rc)
			f->tabs[f->n_tabs++] = (struct key_table){ .off = off, .size = size };
	}
	return rc;
}

/* The object tables: the first at 0x2000, others listed in it. An object
 * table is one alignment unit (227 entries fill Hyper-V's 0x1000 bytes). */
static int read_objects(struct vmcx *f)
{
	struct walk w = { .tables = { OBJECTS_OFF }, .n_tables = 1 };

	for (size_t t = 0; t < w.n_tables; t++) {
		uint64_t off = w.tables[t];
		bool inside = off <= f->len && f->len - off >= 8;
		const uint8_t *p = f->buf + (inside ? off : 0);
		uint32_t n = inside ? ld_le32(p + 4) : 0;
		int rc = 0;

		if (!inside || ld_le32(p) != SIG_OBJECTS)
			return vimg_error_set(f->err, VIMG_ECORRUPT,
					      "vmcx: object table at 0x%" PRIx64 ": %s", off,
					      inside ? "bad signature"
						     : "past the end of the file");
		if ((uint64_t)n * OBJECT_LEN > f->h.align - 8 ||
		    (uint64_t)n * OBJECT_LEN > f->len - off - 8)
			return vimg_error_set(f->err, VIMG_ECORRUPT,
					      "vmcx: object table at 0x%" PRIx64 ": %" PRIu32
					      " entries run past its end", off, n);
		for (uint32_t i = 0; i < n && !rc; i++)
			rc = read_object(f, &w, p + 8 + (size_t)i * OBJECT_LEN, i,
					 off + 8 + (uint64_t)i * OBJECT_LEN);
		if (rc)
			return rc;
	}
	f->n_object_tables = (unsigned)w.n_tables;
	return 0;
}

/* The value of the entry at e (its header and key checked), into *ent. */
static int entry_value(struct vmcx *f, const uint8_t *e, uint32_t esize, uint8_t flags,
		       struct entry *ent)
{
	size_t vo = ENTRY_LEN + e[20], vs;

	if (flags & K_FILE_OBJECT) {
		vs = 12;
	} else if (ent->type == K_NODE) {
		vs = 12;	/* 8 bytes unknown, then the next insertion sequence */
	} else if (ent->type == K_BOOL) {
		vs = 4;
	} else if (ent->type == K_STRING || ent->type == K_ARRAY) {
		if (esize - vo < 4 || ld_le32(e + vo) > esize - vo - 4)
			return vimg_error_set(f->err, VIMG_ECORRUPT,
					      "vmcx: key entry at 0x%" PRIx64 ": value runs past"
					      " the entry's end", ent->off);
		vs = 4 + ld_le32(e + vo);
	} else {
		vs = 8;
	}
	if (esize - vo < vs)
		return vimg_error_set(f->err, VIMG_ECORRUPT,
				      "vmcx: key entry at 0x%" PRIx64 ": value runs past the"
				      " entry's end", ent->off);
	if (crc_zeroed(e, vo + vs, 12) != ld_le32(e + 12))
		return vimg_error_set(f->err, VIMG_ECORRUPT,
				      "vmcx: key entry at 0x%" PRIx64 ": bad checksum", ent->off);
	ent->val = e + vo + (ent->type == K_STRING || ent->type == K_ARRAY ? 4 : 0);
	ent->vlen = vs - (ent->type == K_STRING || ent->type == K_ARRAY ? 4 : 0);
	if (flags & K_FILE_OBJECT) {
		uint32_t size = ld_le32(e + vo);
		uint64_t off = ld_le64(e + vo + 4);
		size_t i = 0;

		while (i < f->n_files && f->files[i].off != off)
			i++;
		if (i == f->n_files || size > f->files[i].size)
			return vimg_error_set(f->err, VIMG_ECORRUPT,
					      "vmcx: key entry at 0x%" PRIx64 ": value at"
					      " 0x%" PRIx64 " (%" PRIu32 " bytes) is not in a"
					      " file object",
					      ent->off, off, size);
		ent->val = f->buf + off;
		ent->vlen = size;
	}
	if (ent->type == K_STRING && ent->vlen % 2)
		return vimg_error_set(f->err, VIMG_ECORRUPT,
				      "vmcx: key entry at 0x%" PRIx64 ": odd UTF-16 length",
				      ent->off);
	return 0;
}

/* Key table t's header, then its entries appended to f->ents. */
static int read_table(struct vmcx *f, const struct key_table *t)
{
	const uint8_t *tab = f->buf + t->off;
	uint32_t p = KEYS_LEN;

	if (crc_zeroed(tab, KEYS_LEN, 6) != ld_le32(tab + 6))
		return vimg_error_set(f->err, VIMG_ECORRUPT,
				      "vmcx: key table at 0x%" PRIx64 ": bad checksum", t->off);
	while (t->size - p >= ENTRY_LEN) {
		const uint8_t *e = tab + p;
		uint32_t esize = ld_le32(e + 2);
		uint8_t type = e[0], flags = e[1], klen = e[20];
		struct entry ent = { .off = t->off + p, .at = p, .table = t->index, .type = type };
		int rc;

		if (!esize)
			break;	/* the rest of the table was never used */
		if (esize < ENTRY_LEN || esize > t->size - p)
			return vimg_error_set(f->err, VIMG_ECORRUPT,
					      "vmcx: key entry at 0x%" PRIx64 ": size %" PRIu32
					      " runs past its table's end (0x%" PRIx64 ")", ent.off,
					      esize, t->off + t->size);
		p += esize;
		if (type == K_FREE)
			continue;
		if (type < K_INT || type > K_NODE || (flags & ~(K_FILE_OBJECT | K_FLAG_2)) ||
		    ((flags & K_FILE_OBJECT) && type != K_STRING && type != K_ARRAY))
			return vimg_error_set(f->err, VIMG_ECORRUPT,
					      "vmcx: key entry at 0x%" PRIx64 ": unknown"
					      " type 0x%02x%02x", ent.off, flags, type);
		if (klen < 2 || klen > esize - ENTRY_LEN || e[ENTRY_LEN + klen - 1] ||
		    memchr(e + ENTRY_LEN, 0, klen - 1u))
			return vimg_error_set(f->err, VIMG_ECORRUPT,
					      "vmcx: key entry at 0x%" PRIx64 ": bad key length %u",
					      ent.off, klen);
		ent.key = (const char *)e + ENTRY_LEN;
		ent.parent_table = ld_le16(e + 6);
		ent.parent_at = ld_le32(e + 8);
		ent.seq = ld_le32(e + 16);
		if ((rc = entry_value(f, e, esize, flags, &ent)) ||
		    (rc = grow((void **)&f->ents, f->n_ents, &f->cap, sizeof(*f->ents), f->err)))
			return rc;
		if (f->n_ents >= HV_MAX_NODES)
			return vimg_error_set(f->err, VIMG_ECORRUPT,
					      "vmcx: key entry at 0x%" PRIx64 ": more than %d keys",
					      ent.off, HV_MAX_NODES);
		f->ents[f->n_ents++] = ent;
	}
	return 0;
}

static struct key_table *newest_untried(struct vmcx *f, uint16_t index)
{
	struct key_table *best = NULL;

	for (size_t k = 0; k < f->n_tabs; k++)
		if (!f->tabs[k].tried && f->tabs[k].index == index &&
		    (!best || newer(f->tabs[k].seq, best->seq)))
			best = &f->tabs[k];
	return best;
}

/*
 * The key table of one index: the newest valid copy. A table rewritten is
 * written with the next sequence number; if that copy is torn (a checksum
 * fails), an older copy of the same index is the last complete state, as
 * with the headers. With no valid copy, the newest one's fault is the error.
 */
static int read_index(struct vmcx *f, uint16_t index)
{
	struct vimg_error *keep = f->err, scratch = VIMG_ERROR_INIT;
	struct key_table *t;
	int rc = 0, first = 0;

	while ((t = newest_untried(f, index))) {
		size_t mark = f->n_ents;

		t->tried = true;
		if (!(rc = read_table(f, t)) || rc == VIMG_ENOMEM) {
			t->read = !rc;
			break;
		}
		f->n_ents = mark;
		if (!first) {
			first = rc;
			f->err = &scratch;	/* the older copies' faults are not kept */
		}
		vimg_error_clear(&scratch);
	}
	f->err = keep;
	vimg_error_clear(&scratch);
	if (rc == VIMG_ENOMEM && first)
		return vimg_error_set(keep, VIMG_ENOMEM, "out of memory");
	if (rc)
		return first ? first : rc;	/* keep holds the newest copy's fault */
	if (first)
		vimg_error_clear(keep);
	while ((t = newest_untried(f, index)))
		t->tried = true;	/* older than the copy read */
	return 0;
}

static int read_key_tables(struct vmcx *f)
{
	for (size_t i = 0; i < f->n_tabs; i++) {
		struct key_table *t = &f->tabs[i];
		const uint8_t *p = f->buf + t->off;

		if (t->size < KEYS_LEN || ld_le16(p) != SIG_KEYS || !ld_le16(p + 2))
			return vimg_error_set(f->err, VIMG_ECORRUPT,
					      "vmcx: key table at 0x%" PRIx64 ": bad %s", t->off,
					      t->size < KEYS_LEN	   ? "size"
					      : ld_le16(p) != SIG_KEYS ? "signature"
								       : "index");
		t->index = ld_le16(p + 2);
		t->seq = ld_le16(p + 4);
	}
	for (size_t i = 0; i < f->n_tabs; i++) {
		int rc = f->tabs[i].tried ? 0 : read_index(f, f->tabs[i].index);

		if (rc)
			return rc;
	}
	return 0;
}

static int by_place(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->table != y->table)
		return x->table < y->table ? -1 : 1;
	return x->at < y->at ? -1 : x->at > y->at;
}

/* Each entry's parent and depth; a parent chain longer than HV_MAX_DEPTH is
 * too deep or a cycle, which would otherwise never reach the top. */
static int link_entries(struct vmcx *f)
{
	qsort(f->ents, f->n_ents, sizeof(*f->ents), by_place);
	for (size_t i = 0; i < f->n_ents; i++) {
		struct entry *e = &f->ents[i], *p;
		struct entry key = { .table = e->parent_table, .at = e->parent_at };

		e->parent = SIZE_MAX;
		if (!e->parent_table)
			continue;
		p = bsearch(&key, f->ents, f->n_ents, sizeof(*f->ents), by_place);
		if (!p || p->type != K_NODE)
			return vimg_error_set(f->err, VIMG_ECORRUPT,
					      "vmcx: key entry at 0x%" PRIx64 ": its parent"
					      " (table %u at 0x%" PRIx32 ") is %s", e->off,
					      e->parent_table, e->parent_at,
					      p ? "not a key with children" : "missing");
		e->parent = (size_t)(p - f->ents);
	}
	for (size_t i = 0; i < f->n_ents; i++) {
		unsigned depth = 1;

		for (size_t k = f->ents[i].parent; k != SIZE_MAX; k = f->ents[k].parent)
			if (++depth > HV_MAX_DEPTH)
				return vimg_error_set(f->err, VIMG_ECORRUPT,
						      "vmcx: key entry at 0x%" PRIx64
						      ": keys nested deeper than %d, or in"
						      " a cycle",
						      f->ents[i].off, HV_MAX_DEPTH);
		f->ents[i].depth = depth;
	}
	return 0;
}

/* The value's text as the XML configuration spells it, malloc'd in *out
 * (NULL for a key with children). */
static int value_text(struct vmcx *f, const struct entry *e, char **out, size_t *len)
{
	char *s = NULL;
	int n = -1;

	*out = NULL;
	*len = 0;
	switch (e->type) {
	case K_NODE:
		return 0;
	case K_INT:
		n = asprintf(&s, "%" PRId64, (int64_t)ld_le64(e->val));
		break;
	case K_UINT:
		n = asprintf(&s, "%" PRIu64, ld_le64(e->val));
		break;
	case K_DOUBLE: {
		uint64_t bits = ld_le64(e->val);
		double d;

		memcpy(&d, &bits, sizeof(d));
		n = asprintf(&s, "%.17g", d);
		break;
	}
	case K_BOOL:
		n = asprintf(&s, "%s", ld_le32(e->val) ? "True" : "False");
		break;
	case K_STRING:
		if (!(s = malloc(e->vlen / 2 * 3 + 8)))
			break;
		if ((n = utf16_to_utf8(e->val, e->vlen, false, s, e->vlen / 2 * 3 + 8)) < 0) {
			free(s);
			return vimg_error_set(f->err, VIMG_ECORRUPT,
					      "vmcx: key entry at 0x%" PRIx64 ": string is not"
					      " UTF-16", e->off);
		}
		break;
	case K_ARRAY:
		/* Bytes: hexadecimal, which no setting the model reads needs. */
		if (!(s = malloc(e->vlen * 2 + 1)))
			break;
		for (size_t i = 0; i < e->vlen; i++)
			snprintf(s + 2 * i, 3, "%02x", e->val[i]);
		s[e->vlen * 2] = 0;
		n = (int)(e->vlen * 2);
		break;
	}
	if (n < 0) {
		free(s);
		return vimg_error_set(f->err, VIMG_ENOMEM, "out of memory");
	}
	*out = s;
	*len = (size_t)n;
	return 0;
}

/* Parents before children (by depth), siblings in the order they were
 * inserted: the order Hyper-V created them in, as the XML lists them. */
static int by_depth(const void *a, const void *b)
{
	const struct entry *x = *(const struct entry *const *)a;
	const struct entry *y = *(const struct entry *const *)b;

	if (x->depth != y->depth)
		return x->depth < y->depth ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

static int build_tree(struct vmcx *f, struct hv_tree *t)
{
	struct entry **order = calloc(f->n_ents + 1, sizeof(*order));
	int rc = 0;

	if (!order)
		return vimg_error_set(f->err, VIMG_ENOMEM, "out of memory");
	for (size_t i = 0; i < f->n_ents; i++)
		order[i] = &f->ents[i];
	qsort(order, f->n_ents, sizeof(*order), by_depth);
	for (size_t i = 0; i < f->n_ents && !rc; i++) {
		struct entry *e = order[i];
		struct hv_node *parent = e->parent == SIZE_MAX ? NULL : f->ents[e->parent].node;
		char *text;
		size_t len;

		if (!(rc = value_text(f, e, &text, &len)))
			rc = hv_add(t, parent, e->key, strlen(e->key), text, len, "vmcx", &e->node,
				    f->err);
		free(text);
	}
	free(order);
	return rc;
}

int vmcx_parse(const uint8_t *buf, size_t len, struct hv_tree *t, struct vmcx_info *info,
	       struct vimg_error *err)
{
	struct vmcx f = { .buf = buf, .len = len, .err = err };
	int rc;

	if (!(rc = read_header(&f)) && !(rc = read_log(&f)) && !(rc = read_objects(&f)) &&
	    !(rc = read_key_tables(&f)) && !(rc = link_entries(&f)))
		rc = build_tree(&f, t);
	if (!rc && info) {
		*info = (struct vmcx_info){ .version = f.h.version,
					    .object_tables = f.n_object_tables,
					    .header_seq = f.h.seq };
		for (size_t i = 0; i < f.n_tabs; i++)
			info->key_tables += f.tabs[i].read;
	}
	free(f.files);
	free(f.tabs);
	free(f.ents);
	return rc;
}

static int vmcx_load(struct vimg_vm *vm, const char *path, struct vimg_error *err)
{
	struct hv_tree t = { 0 };
	char *buf;
	size_t len;
	int rc = file_read_all(path, VMCX_MAX_BYTES, "vmcx", &buf, &len, err);

	if (rc)
		return rc;
	rc = vmcx_parse((const uint8_t *)buf, len, &t, NULL, err);
	free(buf);
	if (!rc)
		rc = hyperv_config_read(vm, &t, "vmcx", path,
					"a Hyper-V VM configuration (no configuration/manifest key;"
					" a runtime state file or Hyper-V's VM registry?)", err);
	hv_free(&t);
	return rc && rc != VIMG_EFORMAT ? vimg_error_prefix(err, "%s", path) : rc;
}

/* Whether the key table at tab[size] has a key "manifest" with children. */
static bool has_manifest(const uint8_t *tab, uint32_t size)
{
	for (uint32_t p = KEYS_LEN, esize; size - p >= ENTRY_LEN; p += esize) {
		const uint8_t *e = tab + p;

		esize = ld_le32(e + 2);
		if (esize < ENTRY_LEN || esize > size - p)
			return false;
		if (e[0] == K_NODE && e[20] == 9 && esize - ENTRY_LEN >= 9 &&
		    !memcmp(e + ENTRY_LEN, "manifest", 9))
			return true;
	}
	return false;
}

/*
 * A valid header copy, then the key tables in the head: a configuration has
 * a manifest key. A runtime state file or the VM registry (the same
 * container) has none, and is not claimed when all of its tables were seen;
 * tables past the head, or a container too damaged to tell, leave it open (a
 * weak score: load decides, and names the fault).
 */
static int vmcx_probe(const struct vimg_probe *p)
{
	struct header h[2];
	char why[64];
	const uint8_t *o;
	bool unseen;
	uint32_t n;

	if (header_check(p->head, p->head_len, 0, &h[0], why, sizeof(why)) &&
	    header_check(p->head, p->head_len, 0x1000, &h[1], why, sizeof(why))) {
		/* The magic alone: load says what is wrong with the headers. */
		bool magic = (p->head_len >= 4 && ld_le32(p->head) == SIG_HEADER) ||
			     (p->head_len >= 0x1004 && ld_le32(p->head + 0x1000) == SIG_HEADER);

		return magic ? 50 : 0;
	}
	/* A valid header: load names any fault past it. */
	if (p->head_len < OBJECTS_OFF + 8)
		return 40;
	o = p->head + OBJECTS_OFF;
	if (ld_le32(o) != SIG_OBJECTS)
		return 40;
	n = ld_le32(o + 4);
	/* Entries past the head, or a damaged file: also for load to judge. */
	unseen = OBJECTS_OFF + 8 + (uint64_t)n * OBJECT_LEN > p->head_len;
	for (uint64_t i = 0; i < n && OBJECTS_OFF + 8 + (i + 1) * OBJECT_LEN <= p->head_len; i++) {
		const uint8_t *e = o + 8 + (size_t)i * OBJECT_LEN;
		uint64_t off = ld_le64(e + 5);
		uint32_t size = ld_le32(e + 13);

		if (!e[17] || e[0] != O_KEYS)
			continue;
		if (off > p->head_len || size > p->head_len - off || size < KEYS_LEN)
			unseen = true;
		else if (has_manifest(p->head + off, size))
			return 100;
	}
	return unseen ? 40 : 0;
}

const struct vimg_codec vimg_codec_hyperv_vmcx = {
	.name = "hyperv-vmcx",
	.description = "Hyper-V binary configuration (.vmcx, Windows Server 2016 and later)",
	.extensions = vmcx_ext,
	.probe = vmcx_probe,
	.load = vmcx_load,
};
