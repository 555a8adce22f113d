/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The key = "value" engine: byte-identical round trips, one-line edits,
 * set-then-unset restoring the original bytes, escapes, encodings, and
 * clear errors for malformed lines.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "kvtext.h"
#include "testlib.h"

static const struct kv_limits lim = { 1u << 20, 1u << 16 };

static char *render(struct kvtext *kv)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	char *out;
	size_t len;

	ck_assert_vimg_ok(kv_render(kv, &out, &len, &err), &err);
	ck_assert_uint_eq(strlen(out), len);
	return out;
}

static void parse(struct kvtext *kv, const char *text, unsigned flags)
{
	struct vimg_error err = VIMG_ERROR_INIT;

	memset(kv, 0, sizeof(*kv));
	ck_assert_vimg_ok(kv_parse(kv, text, strlen(text), flags, "vmx", ".encoding", &lim, &err),
			  &err);
}

START_TEST(round_trip_and_edits)
{
	static const char text[] =
		".encoding = \"UTF-8\"\r\n"
		"# comment\r\n"
		"\r\n"
		"   MemSize\t=   \"1024\"   # trailing\r\n"
		"bare=TRUE\r\n"
		"annotation = \"a|0Ab|22c|7Cd\"\r\n"
		"key = \"first\"\r\n"
		"KEY = \"second\"\r\n"
		"path = \"D:\\\"";
	struct vimg_error err = VIMG_ERROR_INIT;
	struct kvtext kv;
	char *out;

	parse(&kv, text, KV_ESCAPES);
	out = render(&kv);
	ck_assert_str_eq(out, text);
	free(out);
	ck_assert_str_eq(kv_get(&kv, "memsize"), "1024");
	ck_assert_str_eq(kv_get(&kv, "bare"), "TRUE");
	ck_assert_str_eq(kv_get(&kv, "annotation"), "a\nb\"c|d");
	ck_assert_str_eq(kv_get(&kv, "Key"), "second");
	ck_assert_str_eq(kv_get(&kv, "path"), "D:\\");
	ck_assert_ptr_null(kv_get(&kv, "absent"));

	/* One line changes, keeping its spelling, spacing and comment. */
	ck_assert_vimg_ok(kv_set(&kv, "MEMSIZE", "2048", &err), &err);
	ck_assert_vimg_ok(kv_set(&kv, "annotation", "x\ny", &err), &err);
	out = render(&kv);
	ck_assert_ptr_nonnull(strstr(out, "   MemSize\t=   \"2048\"   # trailing\r\n"));
	ck_assert_ptr_nonnull(strstr(out, "annotation = \"x|0Ay\"\r\n"));
	free(out);

	/* A new key then its removal gives back the same bytes, last line
	 * without an end of line included. */
	ck_assert_vimg_ok(kv_set(&kv, "MEMSIZE", "1024", &err), &err);
	ck_assert_vimg_ok(kv_set(&kv, "annotation", "a\nb\"c|d", &err), &err);
	out = render(&kv);
	ck_assert_str_eq(out, text); /* escaped again the way VMware escapes */
	free(out);
	kv_free(&kv);

	parse(&kv, text, KV_ESCAPES);
	ck_assert_vimg_ok(kv_set(&kv, "new.key", "v w", &err), &err);
	out = render(&kv);
	ck_assert_ptr_nonnull(strstr(out, "path = \"D:\\\"\r\nnew.key = \"v w\""));
	free(out);
	ck_assert_uint_eq(kv_unset(&kv, "NEW.KEY"), 1);
	out = render(&kv);
	ck_assert_str_eq(out, text);
	free(out);
	/* The same across a save: the rendered document, parsed again, gives
	 * the original back once the key goes. */
	ck_assert_vimg_ok(kv_set(&kv, "other.key", "1", &err), &err);
	out = render(&kv);
	kv_free(&kv);
	parse(&kv, out, KV_ESCAPES);
	free(out);
	ck_assert_uint_eq(kv_unset(&kv, "other.key"), 1);
	out = render(&kv);
	ck_assert_str_eq(out, text);
	free(out);
	/* Unset removes duplicates too. */
	ck_assert_uint_eq(kv_unset(&kv, "key"), 2);
	ck_assert_ptr_null(kv_get(&kv, "key"));
	kv_free(&kv);
}
END_TEST

START_TEST(encodings)
{
	/* "Café" in windows-1252: 0xe9 is é. */
	static const char text[] = ".encoding = \"windows-1252\"\ndisplayName = \"Caf\xe9\"\n";
	struct vimg_error err = VIMG_ERROR_INIT;
	struct kvtext kv;
	char *out;

	parse(&kv, text, KV_ESCAPES);
	ck_assert_str_eq(kv_get(&kv, "displayName"), "Caf\xc3\xa9");
	ck_assert_vimg_ok(kv_set(&kv, "displayName", "N\xc3\xa9", &err), &err);
	out = render(&kv);
	ck_assert_str_eq(out, ".encoding = \"windows-1252\"\ndisplayName = \"N\xe9\"\n");
	free(out);
	/* A character the code page lacks cannot be written. */
	ck_assert_int_eq(kv_set(&kv, "displayName", "\xe2\x82\xac\xe4\xb8\xad", &err),
			 VIMG_EINVAL);
	kv_free(&kv);

	memset(&kv, 0, sizeof(kv));
	vimg_error_clear(&err);
	ck_assert_int_eq(kv_parse(&kv, ".encoding = \"EBCDIC\"\n", 21, KV_ESCAPES, "vmx",
				  ".encoding", &lim, &err),
			 VIMG_EUNSUPPORTED);
	ck_assert_ptr_nonnull(strstr(err.msg, "unsupported encoding \"EBCDIC\""));
	kv_free(&kv);

	memset(&kv, 0, sizeof(kv));
	vimg_error_clear(&err);
	ck_assert_int_eq(kv_parse(&kv, "a = \"\xff\"\n", 8, KV_ESCAPES, "vmx", ".encoding", &lim,
				  &err),
			 VIMG_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(err.msg, "vmx: line 1: not valid UTF-8"));
	kv_free(&kv);
}
END_TEST

/*
 * VMware's Shift_JIS is code page 932: 0x5C is a backslash (glibc's SHIFT_JIS
 * made it a yen sign), also as the second byte of a double-byte character
 * (0x83 0x5C is KATAKANA LETTER SO).
 */
START_TEST(shift_jis_paths)
{
	static const char text[] = ".encoding = \"Shift_JIS\"\n"
				   "path = \"C:\\Users\\\x83\x5c~\"\n";
	struct vimg_error err = VIMG_ERROR_INIT;
	struct kvtext kv;
	char *out;

	parse(&kv, text, KV_ESCAPES);
	ck_assert_str_eq(kv_get(&kv, "path"), "C:\\Users\\\xe3\x82\xbd~");
	out = render(&kv);
	ck_assert_str_eq(out, text);
	free(out);
	ck_assert_vimg_ok(kv_set(&kv, "path", "D:\\\xe3\x82\xbd~\\", &err), &err);
	out = render(&kv);
	ck_assert_str_eq(out, ".encoding = \"Shift_JIS\"\npath = \"D:\\\x83\x5c~\\\"\n");
	free(out);
	kv_free(&kv);
}
END_TEST

/* A value or key that is not UTF-8 is refused, not written into a document
 * that would then fail to parse. */
START_TEST(set_refuses_invalid_utf8)
{
	static const char text[] = "a = \"1\"\n";
	struct vimg_error err = VIMG_ERROR_INIT;
	struct kvtext kv;
	char *out;

	parse(&kv, text, KV_ESCAPES);
	ck_assert_int_eq(kv_set(&kv, "a", "x\xffy", &err), VIMG_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "the value of a is not valid UTF-8"));
	vimg_error_clear(&err);
	ck_assert_int_eq(kv_set(&kv, "new", "\xc3", &err), VIMG_EINVAL);
	vimg_error_clear(&err);
	ck_assert_int_eq(kv_set(&kv, "k\xe9y", "v", &err), VIMG_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "invalid key"));
	out = render(&kv);
	ck_assert_str_eq(out, text);
	free(out);
	kv_free(&kv);
}
END_TEST

START_TEST(malformed_lines)
{
	static const struct {
		const char *text, *msg;
	} rows[] = {
		{ "key1 = \"value1\n", "line 1: unterminated quoted value" },
		{ "a = \"1\"\nkey 1 = \"v\"\n", "line 2: expected '=' after the key" },
		{ "key \"value1\"\n", "line 1: expected '=' after the key" },
		{ "keyvalue\n", "line 1: expected '=' after the key" },
		{ "k = \"v\" x\n", "line 1: text after the quoted value" },
		{ "k = v w\n", "line 1: text after the value" },
		{ "k = \"a\x01\"\n", "line 1: control character" },
		{ "= v\n", "line 1: expected a key" },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct vimg_error err = VIMG_ERROR_INIT;
		struct kvtext kv = { 0 };

		ck_assert_int_eq(kv_parse(&kv, rows[i].text, strlen(rows[i].text), KV_ESCAPES,
					  "vmx", ".encoding", &lim, &err),
				 VIMG_ECORRUPT);
		ck_assert_msg(strstr(err.msg, rows[i].msg), "row %zu: %s", i, err.msg);
		kv_free(&kv);
	}
}
END_TEST

START_TEST(limits)
{
	static const struct kv_limits small = { 64, 4 };
	struct vimg_error err = VIMG_ERROR_INIT;
	struct kvtext kv = { 0 };

	ck_assert_int_eq(kv_parse(&kv, "a=1\nb=2\nc=3\nd=4\ne=5\n", 20, 0, "vmx", NULL, &small,
				  &err),
			 VIMG_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(err.msg, "more than 4 lines"));
	kv_free(&kv);
}
END_TEST

START_TEST(other_lines_kept)
{
	static const char text[] = "version=1\nRW 8 SPARSE \"x.vmdk\"\nddb.a = \"b\"\n";
	struct kvtext kv;
	char *out;

	parse(&kv, text, KV_OTHER_LINES);
	ck_assert_int_eq(kv_line_kind(&kv, 1), KV_LINE_OTHER);
	ck_assert_str_eq(kv_line_text(&kv, 1), "RW 8 SPARSE \"x.vmdk\"");
	out = render(&kv);
	ck_assert_str_eq(out, text);
	free(out);
	kv_free(&kv);
}
END_TEST

START_TEST(other_lines_edited)
{
	static const char text[] = "version=1\r\nRW 8 SPARSE \"x.vmdk\"\r\nddb.a = \"b\"\r\n";
	struct vimg_error err = VIMG_ERROR_INIT;
	struct kvtext kv;
	char *out;

	parse(&kv, text, KV_OTHER_LINES);
	ck_assert_vimg_ok(kv_set_other(&kv, 1, "RW 16 SPARSE \"x.vmdk\"", &err), &err);
	ck_assert_vimg_ok(kv_insert_other(&kv, 2, "RW 4 SPARSE \"y.vmdk\"", &err), &err);
	out = render(&kv);
	ck_assert_str_eq(out, "version=1\r\nRW 16 SPARSE \"x.vmdk\"\r\nRW 4 SPARSE \"y.vmdk\"\r\n"
			      "ddb.a = \"b\"\r\n");
	free(out);
	/* Only free-form lines, and only free-form text. */
	ck_assert_int_eq(kv_set_other(&kv, 0, "RW 1 ZERO", &err), VIMG_EINVAL);
	ck_assert_int_eq(kv_set_other(&kv, 1, "a = \"b\"", &err), VIMG_EINVAL);
	ck_assert_int_eq(kv_insert_other(&kv, 0, "a=b", &err), VIMG_EINVAL);
	ck_assert_uint_eq(kv_lines(&kv), 4);
	kv_free(&kv);
	parse(&kv, "a = \"b\"\n", 0);
	ck_assert_int_eq(kv_insert_other(&kv, 0, "RW 1 ZERO", &err), VIMG_EINVAL);
	kv_free(&kv);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("kvtext");
	TCase *tc = tcase_create("kvtext");

	tcase_add_test(tc, round_trip_and_edits);
	tcase_add_test(tc, encodings);
	tcase_add_test(tc, shift_jis_paths);
	tcase_add_test(tc, set_refuses_invalid_utf8);
	tcase_add_test(tc, malformed_lines);
	tcase_add_test(tc, limits);
	tcase_add_test(tc, other_lines_kept);
	tcase_add_test(tc, other_lines_edited);
	suite_add_tcase(s, tc);
	return s;
}
