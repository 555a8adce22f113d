/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Error object semantics: set-once, errno mapping, prefixing, truncation. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "testlib.h"

START_TEST(first_cause_wins)
{
	struct vimg_error err = VIMG_ERROR_INIT;

	ck_assert_int_eq(vimg_error_set(&err, VIMG_ECORRUPT, "qcow2: L1 table %d", 7), VIMG_ECORRUPT);
	ck_assert_int_eq(vimg_error_set(&err, VIMG_EIO, "later"), VIMG_EIO);
	ck_assert_int_eq(err.code, VIMG_ECORRUPT);
	ck_assert_str_eq(err.msg, "qcow2: L1 table 7");
}
END_TEST

START_TEST(errno_mapping)
{
	struct vimg_error err = VIMG_ERROR_INIT;

	ck_assert_int_eq(vimg_error_set_errno(&err, ENOENT, "base.qcow2"), VIMG_ENOENT);
	ck_assert_int_eq(err.sys_errno, ENOENT);
	ck_assert_ptr_nonnull(strstr(err.msg, "base.qcow2: "));
	ck_assert_ptr_nonnull(strstr(err.msg, strerror(ENOENT)));
	vimg_error_clear(&err);
	ck_assert_int_eq(vimg_error_set_errno(&err, ENOSPC, "x"), VIMG_ENOSPC);
}
END_TEST

START_TEST(prefix_and_null)
{
	struct vimg_error err = VIMG_ERROR_INIT;

	ck_assert_int_eq(vimg_error_prefix(&err, "ctx"), 0);
	ck_assert_str_eq(err.msg, "");
	vimg_error_set(&err, VIMG_EBACKING, "parent missing");
	ck_assert_int_eq(vimg_error_prefix(&err, "opening backing file \"%s\"", "b"), VIMG_EBACKING);
	ck_assert_str_eq(err.msg, "opening backing file \"b\": parent missing");
	ck_assert_int_eq(vimg_error_set(NULL, VIMG_EINVAL, "ignored"), VIMG_EINVAL);
	ck_assert_int_eq(vimg_error_prefix(NULL, "x"), 0);
}
END_TEST

START_TEST(long_messages_truncate)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	char big[2000];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	vimg_error_set(&err, VIMG_EINVAL, "%s", big);
	vimg_error_prefix(&err, "%s", big);
	ck_assert_uint_eq(strlen(err.msg), VIMG_ERROR_MSG_MAX - 1);
}
END_TEST

START_TEST(strerror_total)
{
	for (int c = 0; c >= -20; c--)
		ck_assert_ptr_nonnull(vimg_strerror(c));
	ck_assert_str_eq(vimg_strerror(VIMG_ECORRUPT), "image is corrupt");
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("error");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, first_cause_wins);
	tcase_add_test(tc, errno_mapping);
	tcase_add_test(tc, prefix_and_null);
	tcase_add_test(tc, long_messages_truncate);
	tcase_add_test(tc, strerror_total);
	suite_add_tcase(s, tc);
	return s;
}
