/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Renderers for reporting commands: a small streaming JSON writer (RFC 8259:
 * strings escaped, control characters as \u00XX, invalid UTF-8 replaced by
 * U+FFFD so the document always parses) indented like qemu-img's JSON, and
 * a text renderer in qemu-img's "Format specific information" style. Both
 * also implement struct vimg_emit, through which the library hands over
 * format-specific facts without formatting anything itself.
 */
#include "config.h"

#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "cli.h"

int cli_parse_output(const struct cmd *c, const char *s, enum cli_output *out)
{
	if (strcmp(s, "human") == 0)
		*out = OUTPUT_HUMAN;
	else if (strcmp(s, "json") == 0)
		*out = OUTPUT_JSON;
	else
		return cli_usage(c, "invalid --output '%s' (expected human or json)", s);
	return CLI_OK;
}

/* ---- JSON ------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned c = s[0];
	size_t n;
	unsigned min;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		min = 0x10000;
	} else {
		return 0;
	}
	unsigned cp = c & (0x7f >> n);
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

void json_write_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	fputc('"', f);
	while (*p) {
		unsigned c = *p;
		switch (c) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\b':
			fputs("\\b", f);
			break;
		case '\f':
			fputs("\\f", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			if (c < 0x20 || c == 0x7f) {
				fprintf(f, "\\u%04x", c);
			} else if (c < 0x80) {
				fputc((int)c, f);
			} else {
				size_t n = utf8_len(p);
				if (n == 0) {
					fputs("\\ufffd", f);
					n = 1;
				} else {
					fwrite(p, 1, n, f);
				}
				p += n;
				continue;
			}
		}
		p++;
	}
	fputc('"', f);
}

void json_init(struct json *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
	j->first[0] = true;
}

/* Separator, newline, indentation and "key": before a value. */
static void json_prefix(struct json *j, const char *key)
{
	if (j->depth > 0) {
		if (!j->first[j->depth])
			fputc(',', j->f);
		fputc('\n', j->f);
		fprintf(j->f, "%*s", 4 * j->depth, "");
	}
	j->first[j->depth] = false;
	if (j->depth > 0 && !j->list[j->depth]) {
		json_write_string(j->f, key ? key : "");
		fputs(": ", j->f);
	}
}

void json_begin(struct json *j, const char *key, bool is_list)
{
	json_prefix(j, key);
	fputc(is_list ? '[' : '{', j->f);
	if (j->depth < JSON_MAX_DEPTH)
		j->depth++;
	j->first[j->depth] = true;
	j->list[j->depth] = is_list;
}

void json_end(struct json *j)
{
	if (j->depth == 0)
		return;
	bool was_list = j->list[j->depth];
	bool empty = j->first[j->depth];
	j->depth--;
	if (!empty) {
		fputc('\n', j->f);
		fprintf(j->f, "%*s", 4 * j->depth, "");
	}
	fputc(was_list ? ']' : '}', j->f);
}

void json_str(struct json *j, const char *key, const char *val)
{
	json_prefix(j, key);
	if (val)
		json_write_string(j->f, val);
	else
		fputs("null", j->f);
}

void json_u64(struct json *j, const char *key, uint64_t val)
{
	json_prefix(j, key);
	fprintf(j->f, "%" PRIu64, val);
}

void json_i64(struct json *j, const char *key, int64_t val)
{
	json_prefix(j, key);
	fprintf(j->f, "%" PRId64, val);
}

void json_bool(struct json *j, const char *key, bool val)
{
	json_prefix(j, key);
	fputs(val ? "true" : "false", j->f);
}

void json_finish(struct json *j)
{
	fputc('\n', j->f);
}

static void je_str(void *o, const char *k, const char *v)
{
	json_str(o, k, v);
}

static void je_u64(void *o, const char *k, uint64_t v)
{
	json_u64(o, k, v);
}

static void je_i64(void *o, const char *k, int64_t v)
{
	json_i64(o, k, v);
}

static void je_bool(void *o, const char *k, bool v)
{
	json_bool(o, k, v);
}

static void je_begin(void *o, const char *k, bool is_list)
{
	json_begin(o, k, is_list);
}

static void je_end(void *o)
{
	json_end(o);
}

void json_emit_init(struct vimg_emit *em, struct json *j)
{
	*em = (struct vimg_emit){
		.str = je_str, .u64 = je_u64, .i64 = je_i64, .boolean = je_bool,
		.begin = je_begin, .end = je_end, .opaque = j,
	};
}

/* ---- text ------------------------------------------------------------ */

/* Indentation and "key: " (or "[i]: " in a list) of one line. */
static void text_key(struct text *t, const char *key, bool newline_after)
{
	fprintf(t->f, "%*s", t->indent + 4 * t->depth, "");
	if (t->list[t->depth]) {
		fprintf(t->f, "[%" PRIu64 "]:", t->index[t->depth]++);
	} else {
		for (const char *p = key ? key : ""; *p; p++)
			fputc(*p == '-' || *p == '_' ? ' ' : *p, t->f);
		fputc(':', t->f);
	}
	fputs(newline_after ? "\n" : " ", t->f);
}

static void te_str(void *o, const char *k, const char *v)
{
	struct text *t = o;
	text_key(t, k, false);
	fprintf(t->f, "%s\n", v ? v : "");
}

static void te_u64(void *o, const char *k, uint64_t v)
{
	struct text *t = o;
	text_key(t, k, false);
	fprintf(t->f, "%" PRIu64 "\n", v);
}

static void te_i64(void *o, const char *k, int64_t v)
{
	struct text *t = o;
	text_key(t, k, false);
	fprintf(t->f, "%" PRId64 "\n", v);
}

static void te_bool(void *o, const char *k, bool v)
{
	struct text *t = o;
	text_key(t, k, false);
	fprintf(t->f, "%s\n", v ? "true" : "false");
}

static void te_begin(void *o, const char *k, bool is_list)
{
	struct text *t = o;
	text_key(t, k, true);
	if (t->depth < JSON_MAX_DEPTH)
		t->depth++;
	t->list[t->depth] = is_list;
	t->index[t->depth] = 0;
}

static void te_end(void *o)
{
	struct text *t = o;
	if (t->depth > 0)
		t->depth--;
}

void text_emit_init(struct vimg_emit *em, struct text *t, FILE *f, int indent)
{
	memset(t, 0, sizeof(*t));
	t->f = f;
	t->indent = indent;
	*em = (struct vimg_emit){
		.str = te_str, .u64 = te_u64, .i64 = te_i64, .boolean = te_bool,
		.begin = te_begin, .end = te_end, .opaque = t,
	};
}

/* ---- counting -------------------------------------------------------- */

static void ce_str(void *o, const char *k, const char *v)
{
	(*(uint64_t *)o)++;
}

static void ce_u64(void *o, const char *k, uint64_t v)
{
	(*(uint64_t *)o)++;
}

static void ce_i64(void *o, const char *k, int64_t v)
{
	(*(uint64_t *)o)++;
}

static void ce_bool(void *o, const char *k, bool v)
{
	(*(uint64_t *)o)++;
}

static void ce_begin(void *o, const char *k, bool is_list)
{
	(*(uint64_t *)o)++;
}

static void ce_end(void *o)
{
}

void count_emit_init(struct vimg_emit *em, uint64_t *count)
{
	*count = 0;
	*em = (struct vimg_emit){
		.str = ce_str, .u64 = ce_u64, .i64 = ce_i64, .boolean = ce_bool,
		.begin = ce_begin, .end = ce_end, .opaque = count,
	};
}

/* ---- snapshot table -------------------------------------------------- */

void cli_snapshot_header(void)
{
	/* qemu's bdrv_snapshot_dump() columns. */
	printf("%-10s%-17s%8s%20s%13s%11s\n", "ID", "TAG", "VM SIZE", "DATE", "VM CLOCK",
	       "ICOUNT");
}

void cli_snapshot_line(const struct vimg_snapshot *s)
{
	char size[32], date[32] = "", clock[48], icount[24] = "";
	cli_fmt_size(size, sizeof(size), s->vm_state_size);
	time_t t = (time_t)s->date_sec;
	struct tm tm;
	if (localtime_r(&t, &tm))
		strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
	uint64_t ms = s->vm_clock_nsec / 1000000;
	snprintf(clock, sizeof(clock), "%02" PRIu64 ":%02" PRIu64 ":%02" PRIu64 ".%03" PRIu64,
		 ms / 3600000, ms / 60000 % 60, ms / 1000 % 60, ms % 1000);
	if (s->icount != UINT64_MAX)
		snprintf(icount, sizeof(icount), "%" PRIu64, s->icount);
	printf("%-9s %-16s %8s%20s%13s%11s\n", s->id ? s->id : "", s->name ? s->name : "",
	       size, date, clock, icount);
}

void cli_snapshot_json(struct json *j, const struct vimg_snapshot *s)
{
	json_begin(j, NULL, false);
	json_str(j, "id", s->id ? s->id : "");
	json_str(j, "name", s->name ? s->name : "");
	json_u64(j, "vm-state-size", s->vm_state_size);
	json_u64(j, "date-sec", s->date_sec);
	json_u64(j, "date-nsec", s->date_nsec);
	json_u64(j, "vm-clock-sec", s->vm_clock_nsec / 1000000000);
	json_u64(j, "vm-clock-nsec", s->vm_clock_nsec % 1000000000);
	json_u64(j, "disk-size", s->disk_size);
	if (s->icount != UINT64_MAX)
		json_u64(j, "icount", s->icount);
	json_end(j);
}

/* ---- warnings ----------------------------------------------------------------- */

void cli_warnings_print(const struct vimg_warnings *w)
{
	for (size_t i = 0; i < vimg_warnings_count(w); i++)
		fprintf(stderr, "warning: %s: %s\n", vimg_warnings_key(w, i),
			vimg_warnings_reason(w, i));
}

void cli_warnings_json(struct json *j, const struct vimg_warnings *w)
{
	json_begin(j, "warnings", true);
	for (size_t i = 0; i < vimg_warnings_count(w); i++) {
		json_begin(j, NULL, false);
		json_str(j, "key", vimg_warnings_key(w, i));
		json_str(j, "reason", vimg_warnings_reason(w, i));
		json_end(j);
	}
	json_end(j);
}
