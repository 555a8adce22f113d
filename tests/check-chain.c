/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Backing chains, composed by the core for every format (qcow2 layers over a
 * raw base here): reads fall through, writes stay on top, block status above
 * reports depths, a shorter parent reads as zeros past its end, and broken,
 * looping or escaping chains are refused with clear errors.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testlib.h"

#define MiB (1024 * 1024)

static void create(const char *name, uint64_t size, const char *backing, const char *bfmt,
		   unsigned flags)
{
	struct vimg_error err = VIMG_ERROR_INIT;

	ck_assert_vimg_ok(vimg_image_create(test_path(name), "qcow2", size, NULL, backing, bfmt,
					    flags, &err), &err);
}

START_TEST(reads_fall_through_writes_stay_on_top)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *top;
	struct vimg_run run;
	unsigned depth;
	uint8_t buf[4096], want[4096];
	char sum_before[128];

	test_write_pattern(test_path("base.raw"), 4 * MiB, 11);
	create("top.qcow2", 0, "base.raw", "raw", 0);
	ck_assert_vimg_ok(vimg_image_open(test_path("top.qcow2"), NULL, VIMG_OPEN_RDWR, &top, &err),
			  &err);
	ck_assert_uint_eq(vimg_image_virtual_size(top), 4 * MiB);
	ck_assert_str_eq(vimg_image_backing_name(top), "base.raw");
	ck_assert_str_eq(vimg_image_backing_format(top), "raw");
	ck_assert_ptr_nonnull(vimg_image_backing(top));
	ck_assert_vimg_ok(vimg_image_read(top, buf, 3 * MiB + 5, sizeof(buf), &err), &err);
	test_pattern(want, sizeof(want), 3 * MiB + 5, 11);
	ck_assert(memcmp(buf, want, sizeof(buf)) == 0);

	snprintf(sum_before, sizeof(sum_before), "sha256sum '%s' > '%s'", test_path("base.raw"),
		 test_path("base.sum"));
	ck_assert_int_eq(system(sum_before), 0);
	memset(buf, 0xab, sizeof(buf));
	ck_assert_vimg_ok(vimg_image_write(top, buf, MiB + 100, 1000, &err), &err);
	ck_assert_vimg_ok(vimg_image_read(top, want, MiB, sizeof(want), &err), &err);
	test_pattern(buf, 1, MiB + 99, 11);
	ck_assert_int_eq(want[99], buf[0]);
	ck_assert_int_eq(want[100], 0xab);
	ck_assert_int_eq(want[1099], 0xab);
	test_pattern(buf, 1, MiB + 1100, 11);
	ck_assert_int_eq(want[1100], buf[0]);
	ck_assert_int_eq(test_system("sha256sum -c --quiet '%s'", test_path("base.sum")), 0);

	ck_assert_vimg_ok(vimg_image_block_status_above(top, NULL, MiB, 3 * MiB, &run, &depth, &err),
			  &err);
	ck_assert_int_eq(run.kind, VIMG_RUN_DATA);
	ck_assert_uint_eq(depth, 0);
	ck_assert_vimg_ok(vimg_image_block_status_above(top, NULL, 2 * MiB, 2 * MiB, &run, &depth,
							&err), &err);
	ck_assert_int_eq(run.kind, VIMG_RUN_DATA);
	ck_assert_uint_eq(depth, 1);
	/* Stopping at the backing image: not allocated above it. */
	ck_assert_vimg_ok(vimg_image_block_status_above(top, vimg_image_backing(top), 2 * MiB,
							2 * MiB, &run, &depth, &err), &err);
	ck_assert_int_eq(run.kind, VIMG_RUN_UNALLOCATED);
	ck_assert_uint_eq(depth, 1);
	ck_assert_vimg_ok(vimg_image_close(top, &err), &err);
}
END_TEST

START_TEST(shorter_parent_reads_zero)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *top;
	struct vimg_run run;
	unsigned depth;
	uint8_t buf[8192];

	test_write_pattern(test_path("small.raw"), 2 * MiB, 12);
	create("mid.qcow2", 0, "small.raw", "raw", 0);
	create("big.qcow2", 8 * MiB, "mid.qcow2", "qcow2", 0);
	ck_assert_vimg_ok(vimg_image_open(test_path("big.qcow2"), NULL, 0, &top, &err), &err);
	ck_assert_vimg_ok(vimg_image_read(top, buf, 2 * MiB - 4096, sizeof(buf), &err), &err);
	for (int i = 4096; i < 8192; i++)
		ck_assert_int_eq(buf[i], 0);
	ck_assert_vimg_ok(vimg_image_block_status_above(top, NULL, 3 * MiB, MiB, &run, &depth, &err),
			  &err);
	ck_assert_int_eq(run.kind, VIMG_RUN_ZERO);
	ck_assert_uint_eq(depth, 1);
	ck_assert_vimg_ok(vimg_image_block_status_above(top, NULL, 0, MiB, &run, &depth, &err),
			  &err);
	ck_assert_int_eq(run.kind, VIMG_RUN_DATA);
	ck_assert_uint_eq(depth, 2);
	vimg_image_close(top, NULL);
}
END_TEST

START_TEST(missing_parent_is_broken_chain)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *top;

	test_write_pattern(test_path("gone.raw"), MiB, 1);
	create("orphan.qcow2", 0, "gone.raw", "raw", 0);
	unlink(test_path("gone.raw"));
	ck_assert_vimg_fails(vimg_image_open(test_path("orphan.qcow2"), NULL, 0, &top, &err), &err,
			     VIMG_EBACKING, "opening backing file \"gone.raw\"");
	vimg_error_clear(&err);
	ck_assert_vimg_ok(vimg_image_open(test_path("orphan.qcow2"), NULL, VIMG_OPEN_NO_BACKING,
					  &top, &err), &err);
	ck_assert_str_eq(vimg_image_backing_name(top), "gone.raw");
	ck_assert_ptr_null(vimg_image_backing(top));
	vimg_image_close(top, NULL);
}
END_TEST

START_TEST(escape_refused_unless_allowed)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *top;

	mkdir(test_path("sub"), 0755);
	test_write_pattern(test_path("esc.raw"), MiB, 2);
	ck_assert_vimg_fails(vimg_image_create(test_path("sub/top.qcow2"), "qcow2", 0, NULL,
					       "../esc.raw", "raw", 0, &err), &err, VIMG_EACCES,
			     "outside the image's directory");
	vimg_error_clear(&err);
	create("sub/top.qcow2", 0, "../esc.raw", "raw", VIMG_CREATE_ALLOW_ESCAPE);
	ck_assert_vimg_fails(vimg_image_open(test_path("sub/top.qcow2"), NULL, 0, &top, &err), &err,
			     VIMG_EACCES, "../esc.raw");
	vimg_error_clear(&err);
	ck_assert_vimg_ok(vimg_image_open(test_path("sub/top.qcow2"), NULL, VIMG_OPEN_ALLOW_ESCAPE,
					  &top, &err), &err);
	vimg_image_close(top, NULL);
}
END_TEST

START_TEST(loop_refused)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *img;

	create("la.qcow2", MiB, "lb.qcow2", "qcow2", VIMG_CREATE_NO_BACKING_CHECK);
	create("lb.qcow2", MiB, "la.qcow2", "qcow2", VIMG_CREATE_NO_BACKING_CHECK);
	ck_assert_vimg_fails(vimg_image_open(test_path("la.qcow2"), NULL, 0, &img, &err), &err,
			     VIMG_EBACKING, "loop");
	vimg_error_clear(&err);
	create("self.qcow2", MiB, "self.qcow2", "qcow2", VIMG_CREATE_NO_BACKING_CHECK);
	ck_assert_vimg_fails(vimg_image_open(test_path("self.qcow2"), NULL, 0, &img, &err), &err,
			     VIMG_EBACKING, "loop");
}
END_TEST

START_TEST(unnamed_raw_backing_refused)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *img;

	test_write_pattern(test_path("anon.raw"), MiB, 3);
	create("anon.qcow2", MiB, "anon.raw", NULL, VIMG_CREATE_NO_BACKING_CHECK);
	ck_assert_vimg_fails(vimg_image_open(test_path("anon.qcow2"), NULL, 0, &img, &err), &err,
			     VIMG_EFORMAT, "refusing to guess raw");
	vimg_error_clear(&err);
	/* With the backing file checked at creation, its probed format is recorded. */
	create("named.qcow2", 0, "anon.raw", NULL, 0);
	ck_assert_vimg_ok(vimg_image_open(test_path("named.qcow2"), NULL, 0, &img, &err), &err);
	ck_assert_str_eq(vimg_image_backing_format(img), "raw");
	vimg_image_close(img, NULL);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("chain");
	TCase *tc = tcase_create("qcow2-over-raw");

	tcase_add_test(tc, reads_fall_through_writes_stay_on_top);
	tcase_add_test(tc, shorter_parent_reads_zero);
	tcase_add_test(tc, missing_parent_is_broken_chain);
	tcase_add_test(tc, escape_refused_unless_allowed);
	tcase_add_test(tc, loop_refused);
	tcase_add_test(tc, unnamed_raw_backing_refused);
	suite_add_tcase(s, tc);
	return s;
}
