/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The copy engine and compare on raw images: sparseness is kept, -S 0 fills,
 * progress reaches the total, compare finds the first differing byte and
 * accepts a zero tail of a larger image.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testlib.h"

#define MiB (1024 * 1024)

/* 64 MiB virtual, data in 3 scattered 64 KiB pieces and one all-zero piece. */
static const char *make_src(const char *name)
{
	const char *p = test_path(name);
	uint8_t buf[65536];
	FILE *f = fopen(p, "wb");
	const uint64_t offs[] = { 0, 10 * MiB + 4096, 63 * MiB };

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(ftruncate(fileno(f), 64 * MiB), 0);
	for (int i = 0; i < 3; i++) {
		test_pattern(buf, sizeof(buf), offs[i], 5);
		ck_assert_int_eq(pwrite(fileno(f), buf, sizeof(buf), (off_t)offs[i]), sizeof(buf));
	}
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(pwrite(fileno(f), buf, sizeof(buf), 30 * MiB), sizeof(buf));
	fclose(f);
	return p;
}

static int64_t allocated(const char *p)
{
	struct stat st;

	ck_assert_int_eq(stat(p, &st), 0);
	return (int64_t)st.st_blocks * 512;
}

struct prog {
	uint64_t last, total;
	unsigned calls;
};

static void on_progress(void *opaque, uint64_t done, uint64_t total)
{
	struct prog *p = opaque;

	ck_assert_uint_ge(done, p->last);
	p->last = done;
	p->total = total;
	p->calls++;
}

static int compare_paths(const char *a, const char *b, uint64_t *diff)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *ia, *ib;
	int rc;

	ck_assert_vimg_ok(vimg_image_open(a, NULL, 0, &ia, &err), &err);
	ck_assert_vimg_ok(vimg_image_open(b, NULL, 0, &ib, &err), &err);
	rc = vimg_compare(ia, ib, false, diff, NULL, NULL, &err);
	ck_assert_msg(rc >= 0, "compare: %s", err.msg);
	vimg_image_close(ia, NULL);
	vimg_image_close(ib, NULL);
	return rc;
}

START_TEST(convert_keeps_sparse)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_convert_opts o = { .format = "raw" };
	struct prog prog = { 0 };
	struct vimg_image *src;
	const char *in = make_src("src.raw"), *out = test_path("out.raw");
	uint64_t diff;

	o.progress = on_progress;
	o.progress_opaque = &prog;
	ck_assert_vimg_ok(vimg_image_open(in, NULL, 0, &src, &err), &err);
	ck_assert_vimg_ok(vimg_convert(src, out, &o, &err), &err);
	vimg_image_close(src, NULL);
	ck_assert_int_eq(compare_paths(in, out, &diff), 0);
	/* Three 64 KiB pieces of data; the zero-filled piece must not be written. */
	ck_assert_int_le(allocated(out), 3 * 65536 + 3 * 4096);
	ck_assert_uint_eq(prog.last, 64 * MiB);
	ck_assert_uint_eq(prog.total, 64 * MiB);
}
END_TEST

START_TEST(convert_s0_allocates)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_convert_opts o = { .format = "raw", .has_min_sparse = true, .min_sparse = 0,
				       .threads = 3 };
	struct vimg_image *src;
	const char *in = make_src("src2.raw"), *out = test_path("full.raw");
	uint64_t diff;

	ck_assert_vimg_ok(vimg_image_open(in, NULL, 0, &src, &err), &err);
	ck_assert_vimg_ok(vimg_convert(src, out, &o, &err), &err);
	vimg_image_close(src, NULL);
	ck_assert_int_eq(compare_paths(in, out, &diff), 0);
	ck_assert_int_ge(allocated(out), 64 * MiB);
}
END_TEST

START_TEST(compare_finds_first_difference)
{
	const char *a = make_src("ca.raw"), *b = make_src("cb.raw");
	uint64_t diff = 0;
	FILE *f;

	ck_assert_int_eq(compare_paths(a, b, &diff), 0);
	/* A byte set inside a hole of b. */
	f = fopen(b, "r+b");
	ck_assert_int_eq(pwrite(fileno(f), "x", 1, 40 * MiB + 3), 1);
	fclose(f);
	ck_assert_int_eq(compare_paths(a, b, &diff), 1);
	ck_assert_uint_eq(diff, 40 * MiB + 3);
	ck_assert_int_eq(compare_paths(b, a, &diff), 1);
	ck_assert_uint_eq(diff, 40 * MiB + 3);
	/* A byte changed inside data on both sides. */
	f = fopen(a, "r+b");
	ck_assert_int_eq(pwrite(fileno(f), "\x01\x02", 2, 10 * MiB + 4096 + 77), 2);
	fclose(f);
	ck_assert_int_eq(compare_paths(a, b, &diff), 1);
	ck_assert_uint_eq(diff, 10 * MiB + 4096 + 77);
}
END_TEST

START_TEST(compare_size_mismatch)
{
	const char *a = make_src("sa.raw"), *b = make_src("sb.raw");
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *ia, *ib;
	uint64_t diff = 0;
	FILE *f;

	ck_assert_int_eq(truncate(b, 80 * MiB), 0);
	ck_assert_int_eq(compare_paths(a, b, &diff), 0);
	ck_assert_vimg_ok(vimg_image_open(a, NULL, 0, &ia, &err), &err);
	ck_assert_vimg_ok(vimg_image_open(b, NULL, 0, &ib, &err), &err);
	ck_assert_int_eq(vimg_compare(ia, ib, true, &diff, NULL, NULL, &err), 1);
	ck_assert_uint_eq(diff, 64 * MiB);
	vimg_image_close(ia, NULL);
	vimg_image_close(ib, NULL);
	f = fopen(b, "r+b");
	ck_assert_int_eq(pwrite(fileno(f), "y", 1, 70 * MiB), 1);
	fclose(f);
	ck_assert_int_eq(compare_paths(a, b, &diff), 1);
	ck_assert_uint_eq(diff, 70 * MiB);
}
END_TEST

START_TEST(convert_errors)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_convert_opts o = { .format = "nonesuch" };
	struct vimg_image *src;

	ck_assert_vimg_ok(vimg_image_open(make_src("e.raw"), NULL, 0, &src, &err), &err);
	ck_assert_vimg_fails(vimg_convert(src, test_path("x"), &o, &err), &err, VIMG_EINVAL,
			     "unknown format");
	vimg_error_clear(&err);
	o = (struct vimg_convert_opts){ .format = "raw", .compress = true };
	ck_assert_vimg_fails(vimg_convert(src, test_path("x"), &o, &err), &err, VIMG_EUNSUPPORTED,
			     "compression");
	vimg_error_clear(&err);
	o = (struct vimg_convert_opts){ .format = "raw" };
	ck_assert_vimg_fails(vimg_convert(src, "/nonexistent-dir/x.raw", &o, &err), &err,
			     VIMG_ENOENT, "nonexistent-dir");
	vimg_image_close(src, NULL);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("copy");
	TCase *tc = tcase_create("raw");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, convert_keeps_sparse);
	tcase_add_test(tc, convert_s0_allocates);
	tcase_add_test(tc, compare_finds_first_difference);
	tcase_add_test(tc, compare_size_mismatch);
	tcase_add_test(tc, convert_errors);
	suite_add_tcase(s, tc);
	return s;
}
