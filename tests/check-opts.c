/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Size parsing and create-option lists checked against a driver's table. */
#include "config.h"

#include <string.h>

#include "internal.h"
#include "testlib.h"

START_TEST(sizes)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	uint64_t v;

	ck_assert_vimg_ok(vimg_parse_size("512", &v, &err), &err);
	ck_assert_uint_eq(v, 512);
	ck_assert_vimg_ok(vimg_parse_size("64k", &v, &err), &err);
	ck_assert_uint_eq(v, 65536);
	ck_assert_vimg_ok(vimg_parse_size("1T", &v, &err), &err);
	ck_assert_uint_eq(v, 1ull << 40);
	ck_assert_vimg_ok(vimg_parse_size("1.5G", &v, &err), &err);
	ck_assert_uint_eq(v, 3ull << 29);
	ck_assert_vimg_ok(vimg_parse_size("2MiB", &v, &err), &err);
	ck_assert_uint_eq(v, 2u << 20);
	ck_assert_int_eq(vimg_parse_size("", &v, NULL), VIMG_EINVAL);
	ck_assert_int_eq(vimg_parse_size("-1", &v, NULL), VIMG_EINVAL);
	ck_assert_int_eq(vimg_parse_size("12x", &v, NULL), VIMG_EINVAL);
	ck_assert_int_eq(vimg_parse_size("99999999999E", &v, NULL), VIMG_EINVAL);
	ck_assert_int_eq(vimg_parse_size("1.5", &v, NULL), VIMG_EINVAL);
}
END_TEST

START_TEST(raw_options)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_opts *o;

	ck_assert_vimg_ok(opts_parse(&vimg_drv_raw, NULL, &o, &err), &err);
	ck_assert_str_eq(opts_get(o, "preallocation"), "off");
	ck_assert(!opts_given(o, "preallocation"));
	opts_free(o);
	ck_assert_vimg_ok(opts_parse(&vimg_drv_raw, "preallocation=falloc", &o, &err), &err);
	ck_assert_str_eq(opts_get(o, "preallocation"), "falloc");
	ck_assert(opts_given(o, "preallocation"));
	ck_assert_ptr_null(opts_get(o, "nonexistent"));
	opts_free(o);
	ck_assert_vimg_fails(opts_parse(&vimg_drv_raw, "preallocation=lots", &o, &err), &err,
			     VIMG_EINVAL, "off|falloc|full");
	vimg_error_clear(&err);
	ck_assert_vimg_fails(opts_parse(&vimg_drv_raw, "bogus=1", &o, &err), &err, VIMG_EINVAL,
			     "unknown option \"bogus\"");
	vimg_error_clear(&err);
	ck_assert_vimg_fails(opts_parse(&vimg_drv_raw, "preallocation", &o, &err), &err,
			     VIMG_EINVAL, "needs a value");
}
END_TEST

START_TEST(typed_and_commas)
{
	static const struct vimg_opt_desc desc[] = {
		{ "size", VIMG_OPT_SIZE, "64k", NULL, "" },
		{ "flag", VIMG_OPT_BOOL, "off", NULL, "" },
		{ "n", VIMG_OPT_UINT, NULL, NULL, "" },
		{ "name", VIMG_OPT_STR, NULL, NULL, "" },
		{ 0 },
	};
	const struct vimg_driver fake = { .name = "fake", .create_opts = desc };
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_opts *o;
	uint64_t v;
	bool b;

	ck_assert_vimg_ok(opts_parse(&fake, "size=2M,flag=on,n=7,name=a,,b", &o, &err), &err);
	ck_assert_vimg_ok(opts_get_size(o, "size", &v, &err), &err);
	ck_assert_uint_eq(v, 2u << 20);
	ck_assert_vimg_ok(opts_get_bool(o, "flag", &b, &err), &err);
	ck_assert(b);
	ck_assert_vimg_ok(opts_get_uint(o, "n", &v, &err), &err);
	ck_assert_uint_eq(v, 7);
	ck_assert_str_eq(opts_get(o, "name"), "a,b");
	opts_free(o);
	ck_assert_int_eq(opts_parse(&fake, "flag=maybe", &o, NULL), VIMG_EINVAL);
	ck_assert_int_eq(opts_parse(&fake, "n=x", &o, NULL), VIMG_EINVAL);
	ck_assert_int_eq(opts_parse(&fake, "size=big", &o, NULL), VIMG_EINVAL);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("opts");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, sizes);
	tcase_add_test(tc, raw_options);
	tcase_add_test(tc, typed_and_commas);
	suite_add_tcase(s, tc);
	return s;
}
