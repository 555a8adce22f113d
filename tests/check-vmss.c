/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The saved-state reader through its public API: a small checkpoint built
 * here (two groups, registers for one vCPU, two regions with a hole, memory
 * embedded or in a .vmem) reads back page by page, holes as zeros; info
 * reports its groups, registers and regions; misuse and metadata-only opens
 * behave; and every truncation and every single-byte corruption of its
 * metadata is either read consistently or refused with a vmss message,
 * never a crash (this is what the ASan build runs).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "endian.h"
#include "testlib.h"

#define PG 4096

struct w {
	uint8_t d[64 * 1024];
	size_t n;
};

static void put(struct w *w, const void *p, size_t n)
{
	ck_assert_uint_le(w->n + n, sizeof(w->d));
	memcpy(w->d + w->n, p, n);
	w->n += n;
}

static void tag(struct w *w, const char *name, const int32_t *idx, unsigned nidx,
		const void *val, unsigned vs)
{
	uint8_t h[2] = { (uint8_t)(nidx << 6 | vs), (uint8_t)strlen(name) };

	put(w, h, 2);
	put(w, name, strlen(name));
	for (unsigned i = 0; i < nidx; i++) {
		uint8_t b[4];

		st_le32(b, (uint32_t)idx[i]);
		put(w, b, 4);
	}
	put(w, val, vs);
}

static void tag32(struct w *w, const char *name, int32_t i0, bool indexed, uint32_t v)
{
	uint8_t b[4];

	st_le32(b, v);
	tag(w, name, &i0, indexed, b, 4);
}

/* Guest page g: every 8 bytes hold its address + 1 (so no page is zero). */
static void page_of(uint8_t *p, uint64_t gpa)
{
	for (unsigned i = 0; i < PG; i += 8)
		st_le64(p + i, gpa + 1);
}

static const uint32_t regions[2][3] = { { 0, 0, 2 }, { 2, 8, 2 } }; /* page num, PPN, pages */

static void memory_data(uint8_t *d)
{
	for (int r = 0; r < 2; r++)
		for (uint32_t i = 0; i < regions[r][2]; i++)
			page_of(d + (regions[r][0] + i) * PG, (uint64_t)(regions[r][1] + i) * PG);
}

/* A checkpoint with groups "cpu" and "memory"; embedded puts the memory in it. */
static size_t build(struct w *w, bool embedded, size_t *data_off)
{
	uint8_t b[128], hdr[12], desc[2][80] = { { 0 } };
	size_t g0, g1;
	const int32_t cpu_cr3[2] = { 0, 3 };

	w->n = 0;
	st_le32(hdr, 0xbed2bed2);
	st_le32(hdr + 4, 8);
	st_le32(hdr + 8, 2);
	put(w, hdr, 12);
	put(w, desc, sizeof(desc));
	g0 = w->n;
	tag32(w, "cpu:numVCPUs", 0, false, 1);
	st_le64(b, 0xffffffff81234567ull);
	tag(w, "rip", cpu_cr3, 1, b, 8);
	st_le64(b, 0x1ab000);
	tag(w, "CR64", cpu_cr3, 2, b, 8);
	put(w, "\0\0", 2);
	g1 = w->n;
	tag32(w, "regionsCount", 0, false, 2);
	for (int r = 0; r < 2; r++) {
		tag32(w, "regionPageNum", r, true, regions[r][0]);
		tag32(w, "regionPPN", r, true, regions[r][1]);
		tag32(w, "regionSize", r, true, regions[r][2]);
	}
	if (embedded) {
		const uint8_t h[8] = { 0x3f, 6, 'M', 'e', 'm', 'o', 'r', 'y' };
		size_t pad = (PG - (w->n + 8 + 18) % PG) % PG;

		put(w, h, 8);
		st_le64(b, 4 * PG);
		st_le64(b + 8, 4 * PG);
		st_le16(b + 16, (uint16_t)pad);
		put(w, b, 18);
		memset(w->d + w->n, 0, pad);
		w->n += pad;
		*data_off = w->n;
		memory_data(w->d + w->n);
		w->n += 4 * PG;
	}
	put(w, "\0\0", 2);
	memcpy(w->d + 12, "cpu", 3);
	st_le64(w->d + 12 + 64, g0);
	st_le64(w->d + 12 + 72, g1 - g0);
	memcpy(w->d + 92, "memory", 6);
	st_le64(w->d + 92 + 64, g1);
	st_le64(w->d + 92 + 72, w->n - g1);
	return g1;
}

static void save(const char *path, const void *d, size_t n)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(d, 1, n, f), n);
	fclose(f);
}

static void check_memory(struct vimg_vmstate *st)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	static uint8_t buf[10 * PG], want[PG], zero[PG];
	uint64_t gpa, len;

	ck_assert_uint_eq(vimg_vmstate_memory_size(st), 10 * PG);
	ck_assert_uint_eq(vimg_vmstate_region_count(st), 2);
	ck_assert_vimg_ok(vimg_vmstate_region(st, 1, &gpa, &len, &err), &err);
	ck_assert_uint_eq(gpa, 8 * PG);
	ck_assert_uint_eq(len, 2 * PG);
	ck_assert_vimg_ok(vimg_vmstate_read(st, buf, 0, sizeof(buf), &err), &err);
	for (unsigned p = 0; p < 10; p++) {
		bool mapped = p < 2 || p >= 8;

		page_of(want, (uint64_t)p * PG);
		ck_assert_msg(!memcmp(buf + p * PG, mapped ? want : zero, PG), "page %u", p);
	}
	/* Unaligned reads across a region's edges. */
	ck_assert_vimg_ok(vimg_vmstate_read(st, buf, 2 * PG - 3, 6 * PG + 7, &err), &err);
	ck_assert_int_eq(buf[0], 0);
	ck_assert_int_eq(buf[3], 0);
	ck_assert_vimg_fails(vimg_vmstate_read(st, buf, 9 * PG, PG + 1, &err), &err, VIMG_ERANGE,
			     "vmss");
	vimg_error_clear(&err);
	ck_assert_vimg_fails(vimg_vmstate_region(st, 2, &gpa, &len, &err), &err, VIMG_EINVAL,
			     "vmss");
}

START_TEST(embedded_and_vmem)
{
	static struct w w;
	static uint8_t mem[4 * PG];
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_vmstate *st;
	size_t off;

	build(&w, true, &off);
	save(test_path("e.vmss"), w.d, w.n);
	ck_assert_vimg_ok(vimg_vmstate_open(test_path("e.vmss"), NULL, 0, &st, &err), &err);
	ck_assert_str_eq(vimg_vmstate_memory_path(st), vimg_vmstate_path(st));
	check_memory(st);
	vimg_vmstate_close(st);
	ck_assert_vimg_fails(vimg_vmstate_open(test_path("e.vmss"), test_path("e.vmss"), 0, &st,
					       &err), &err, VIMG_EINVAL, "holds its memory itself");

	build(&w, false, &off);
	memory_data(mem);
	save(test_path("s.vmsn"), w.d, w.n);
	vimg_error_clear(&err);
	ck_assert_vimg_fails(vimg_vmstate_open(test_path("s.vmsn"), NULL, 0, &st, &err), &err,
			     VIMG_ENOENT, "s.vmem");
	save(test_path("s.vmem"), mem, sizeof(mem));
	vimg_error_clear(&err);
	ck_assert_vimg_ok(vimg_vmstate_open(test_path("s.vmsn"), NULL, 0, &st, &err), &err);
	check_memory(st);
	vimg_vmstate_close(st);
	ck_assert_vimg_ok(vimg_vmstate_open(test_path("s.vmem"), NULL, 0, &st, &err), &err);
	ck_assert_str_eq(vimg_vmstate_path(st), test_path("s.vmsn"));
	check_memory(st);
	vimg_vmstate_close(st);
	ck_assert_vimg_ok(vimg_vmstate_open(test_path("s.vmsn"), NULL, VIMG_VMSTATE_METADATA_ONLY,
					    &st, &err), &err);
	ck_assert_uint_eq(vimg_vmstate_memory_size(st), 0);
	ck_assert_ptr_null(vimg_vmstate_memory_path(st));
	ck_assert_vimg_fails(vimg_memdump(st, test_path("x.raw"), VIMG_MEMDUMP_RAW, NULL, NULL,
					  &err), &err, VIMG_EINVAL, "without its memory");
	vimg_vmstate_close(st);
	vimg_error_clear(&err);
	ck_assert_vimg_fails(vimg_vmstate_open(test_path("s.vmsn"), NULL, 0x80, &st, &err), &err,
			     VIMG_EINVAL, "vmss");
	vimg_vmstate_close(NULL);
}
END_TEST

/* An emitter that keeps "key=value" lines of strings and numbers. */
struct rec {
	char text[16384];
	size_t n;
};

static void rec_put(void *o, const char *k, const char *v)
{
	struct rec *r = o;
	int n = snprintf(r->text + r->n, sizeof(r->text) - r->n, "%s=%s\n", k ? k : "-", v);

	if (n > 0 && (size_t)n < sizeof(r->text) - r->n)
		r->n += (size_t)n;
}

static void rec_str(void *o, const char *k, const char *v) { rec_put(o, k, v); }
static void rec_u64(void *o, const char *k, uint64_t v)
{
	char b[32];

	snprintf(b, sizeof(b), "%llu", (unsigned long long)v);
	rec_put(o, k, b);
}
static void rec_i64(void *o, const char *k, int64_t v) { rec_u64(o, k, (uint64_t)v); }
static void rec_bool(void *o, const char *k, bool v) { rec_put(o, k, v ? "true" : "false"); }
static void rec_begin(void *o, const char *k, bool l) { rec_put(o, k, l ? "[" : "{"); }
static void rec_end(void *o) { rec_put(o, "-", "}"); }

START_TEST(info_facts)
{
	static struct w w;
	static struct rec r;
	struct vimg_emit em = { rec_str, rec_u64, rec_i64, rec_bool, rec_begin, rec_end, &r };
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_vmstate *st;
	size_t off;

	build(&w, true, &off);
	save(test_path("i.vmss"), w.d, w.n);
	ck_assert_vimg_ok(vimg_vmstate_open(test_path("i.vmss"), NULL, 0, &st, &err), &err);
	ck_assert_vimg_ok(vimg_vmstate_info(st, &em, &err), &err);
	vimg_vmstate_close(st);
	ck_assert_ptr_nonnull(strstr(r.text, "magic=0xbed2bed2\n"));
	ck_assert_ptr_nonnull(strstr(r.text, "name=cpu\n"));
	ck_assert_ptr_nonnull(strstr(r.text, "name=memory\n"));
	ck_assert_ptr_nonnull(strstr(r.text, "tags=3\n"));	/* cpu */
	ck_assert_ptr_nonnull(strstr(r.text, "tags=8\n"));	/* memory */
	ck_assert_ptr_nonnull(strstr(r.text, "rip=0xffffffff81234567\n"));
	ck_assert_ptr_nonnull(strstr(r.text, "cr3=0x00000000001ab000\n"));
	ck_assert_ptr_nonnull(strstr(r.text, "location=embedded\n"));
	ck_assert_ptr_nonnull(strstr(r.text, "gpa=32768\nsize=8192\nppn=8\npage-num=2\npages=2\n"));
	ck_assert_ptr_nonnull(strstr(r.text, "memory-size=40960\n"));
}
END_TEST

/* Open, read everything, info, dump: errors are fine, crashes are not, and
 * what opens reads consistently. */
static void exercise(const char *path)
{
	static uint8_t buf[1 << 16];
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_vmstate *st;
	static struct rec r;
	struct vimg_emit em = { rec_str, rec_u64, rec_i64, rec_bool, rec_begin, rec_end, &r };
	uint64_t size;
	int rc;

	if ((rc = vimg_vmstate_open(path, NULL, 0, &st, &err))) {
		ck_assert_int_lt(rc, 0);
		ck_assert_msg(!strncmp(err.msg, "vmss: ", 6) || strstr(err.msg, "vmss"),
			      "message \"%s\" does not name vmss", err.msg);
		return;
	}
	size = vimg_vmstate_memory_size(st);
	for (uint64_t off = 0; off < size && off < (64u << 20); off += sizeof(buf))
		ck_assert_vimg_ok(vimg_vmstate_read(st, buf, off,
						    (size_t)(size - off < sizeof(buf) ? size - off
										    : sizeof(buf)),
						    &err), &err);
	r.n = 0;
	ck_assert_vimg_ok(vimg_vmstate_info(st, &em, &err), &err);
	vimg_vmstate_close(st);
}

START_TEST(truncations_and_corruptions)
{
	static struct w w, m;
	size_t data_off, meta;

	build(&w, true, &data_off);
	meta = data_off;
	for (size_t n = 0; n <= w.n; n += n < meta + 64 ? 1 : 509) {
		save(test_path("t.vmss"), w.d, n);
		exercise(test_path("t.vmss"));
	}
	for (size_t i = 0; i < meta; i++) {
		static const uint8_t vals[] = { 0x00, 0xff, 0x3f, 0x3e, 0x7f, 0x80 };

		for (size_t v = 0; v < sizeof(vals); v++) {
			m = w;
			if (m.d[i] == vals[v])
				continue;
			m.d[i] = vals[v];
			save(test_path("c.vmss"), m.d, m.n);
			exercise(test_path("c.vmss"));
		}
	}
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("vmss");
	TCase *tc = tcase_create("vmss");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, embedded_and_vmem);
	tcase_add_test(tc, info_facts);
	tcase_add_test(tc, truncations_and_corruptions);
	suite_add_tcase(s, tc);
	return s;
}
