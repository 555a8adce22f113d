/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The path policy: names stay inside the image's directory unless allowed out. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver.h"
#include "testlib.h"

static const char *dir(void)
{
	static char d[512];

	snprintf(d, sizeof(d), "%s/img", test_tmpdir());
	mkdir(d, 0755);
	mkdir(test_path("img/sub"), 0755);
	test_write_pattern(test_path("img/base.raw"), 512, 1);
	test_write_pattern(test_path("outside.raw"), 512, 1);
	return d;
}

START_TEST(relative_inside)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	char *out;

	ck_assert_vimg_ok(path_resolve(dir(), "base.raw", false, &out, &err), &err);
	ck_assert_ptr_nonnull(strstr(out, "/img/base.raw"));
	free(out);
	ck_assert_vimg_ok(path_resolve(dir(), "sub/../base.raw", false, &out, &err), &err);
	free(out);
	/* Not existing yet is fine as long as the directory is inside. */
	ck_assert_vimg_ok(path_resolve(dir(), "new.qcow2", false, &out, &err), &err);
	free(out);
}
END_TEST

START_TEST(escapes_refused)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	char *out = NULL;

	ck_assert_vimg_fails(path_resolve(dir(), "../outside.raw", false, &out, &err), &err,
			     VIMG_EACCES, "outside the image's directory");
	ck_assert_ptr_null(out);
	vimg_error_clear(&err);
	ck_assert_vimg_fails(path_resolve(dir(), "/etc/passwd", false, &out, &err), &err,
			     VIMG_EACCES, "/etc/passwd");
	vimg_error_clear(&err);
	ck_assert_vimg_fails(path_resolve(dir(), "../../../../../../etc/shadow", false, &out, &err),
			     &err, VIMG_EACCES, "refused");
	vimg_error_clear(&err);
	/* Through directories that do not exist: still the policy, not "missing". */
	ck_assert_vimg_fails(path_resolve(dir(), "../no/such/dir/x.raw", false, &out, &err), &err,
			     VIMG_EACCES, "refused");
	vimg_error_clear(&err);
	ck_assert_vimg_fails(path_resolve(dir(), "no/such/../../../x.raw", false, &out, &err), &err,
			     VIMG_EACCES, "refused");
	vimg_error_clear(&err);
	ck_assert_vimg_ok(path_resolve(dir(), "no/such/../x.raw", false, &out, &err), &err);
	ck_assert_ptr_nonnull(strstr(out, "/img/no/x.raw"));
	free(out);
}
END_TEST

START_TEST(symlink_escape_refused)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	char *out = NULL;

	unlink(test_path("img/link.raw"));
	ck_assert_int_eq(symlink("/etc/passwd", test_path("img/link.raw")), 0);
	ck_assert_vimg_fails(path_resolve(dir(), "link.raw", false, &out, &err), &err, VIMG_EACCES,
			     "link.raw");
}
END_TEST

START_TEST(absolute_inside_and_allowed_escape)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	char *out;

	ck_assert_vimg_ok(path_resolve(dir(), test_path("img/base.raw"), false, &out, &err), &err);
	free(out);
	ck_assert_vimg_ok(path_resolve(dir(), "../outside.raw", true, &out, &err), &err);
	free(out);
	ck_assert_vimg_fails(path_resolve(dir(), "", false, &out, &err), &err, VIMG_EINVAL, "empty");
}
END_TEST

START_TEST(dirname)
{
	char *d;

	ck_assert_str_eq((d = path_dirname("a/b/c.qcow2")), "a/b");
	free(d);
	ck_assert_str_eq((d = path_dirname("c.qcow2")), ".");
	free(d);
	ck_assert_str_eq((d = path_dirname("/c.qcow2")), "/");
	free(d);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("path");
	TCase *tc = tcase_create("policy");

	tcase_add_test(tc, relative_inside);
	tcase_add_test(tc, escapes_refused);
	tcase_add_test(tc, symlink_escape_refused);
	tcase_add_test(tc, absolute_inside_and_allowed_escape);
	tcase_add_test(tc, dirname);
	suite_add_tcase(s, tc);
	return s;
}
