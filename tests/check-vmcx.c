/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The .vmcx container reader below the model: Hyper-V's own files (the
 * corpus) hold what dissect.hypervisor's tests say they hold; a torn header
 * copy falls back to the other; and every truncation and single-byte
 * corruption of a real file's structures is read or refused with a vmcx
 * message naming an offset, never a crash (what the ASan build runs). The
 * corpus cases pass silently, saying so, when the corpus is absent.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "hyperv-config.h"
#include "testlib.h"

static uint8_t *corpus(const char *name, size_t *len)
{
	const char *dir = getenv("VIMG_CORPUS");
	char path[4096];
	uint8_t *buf;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/hyperv/%s", dir ? dir : "/nonexistent", name);
	if (!(f = fopen(path, "rb"))) {
		printf("corpus absent: %s not checked\n", name);
		return NULL;
	}
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_gt(n, 0);
	rewind(f);
	buf = malloc((size_t)n);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static const struct hv_node *key(const struct hv_node *n, const char *path)
{
	char part[64];

	while (n && *path) {
		size_t l = strcspn(path, "/");

		snprintf(part, sizeof(part), "%.*s", (int)l, path);
		while (n && strcmp(n->name, part))
			n = n->next;
		path += l;
		if (*path == '/' && n) {
			path++;
			n = n->child;
		}
	}
	return n;
}

static size_t children(const struct hv_node *n)
{
	size_t k = 0;

	for (const struct hv_node *c = n ? n->child : NULL; c; c = c->next)
		k++;
	return k;
}

START_TEST(test_corpus_vmcx)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct hv_tree t = { 0 };
	struct vmcx_info info;
	size_t len;
	uint8_t *buf = corpus("dissect-hypervisor/test.vmcx", &len);

	if (!buf)
		return;
	ck_assert_vimg_ok(vmcx_parse(buf, len, &t, &info, &err), &err);
	ck_assert_uint_eq(info.version, 0x400);
	ck_assert_uint_eq(info.object_tables, 1);
	ck_assert_uint_eq(info.key_tables, 8);
	ck_assert_uint_eq(info.header_seq, 25);	/* the copy at 0x0 */
	ck_assert_str_eq(t.top->name, "configuration");
	ck_assert_ptr_null(t.top->next);
	ck_assert_uint_eq(children(t.top), 27);
	ck_assert_uint_eq(children(key(t.top, "configuration/manifest")), 39);
	ck_assert_uint_eq(children(key(t.top, "configuration/properties")), 11);
	ck_assert_uint_eq(children(key(t.top, "configuration/settings")), 6);
	ck_assert_str_eq(key(t.top, "configuration/properties/name")->value, "Other Location");
	ck_assert_str_eq(key(t.top, "configuration/settings/memory/bank/size")->value, "1024");
	hv_free(&t);

	/* The copy at 0x0 torn: the one at 0x1000, one write older, is read. */
	buf[0x20] ^= 0x40;
	ck_assert_vimg_ok(vmcx_parse(buf, len, &t, &info, &err), &err);
	ck_assert_uint_eq(info.header_seq, 24);
	ck_assert_uint_eq(children(key(t.top, "configuration/manifest")), 39);
	hv_free(&t);
	buf[0x1020] ^= 0x40;
	ck_assert_vimg_fails(vmcx_parse(buf, len, &t, &info, &err), &err, VIMG_ECORRUPT,
			     "vmcx: header at 0x0: bad checksum");
	ck_assert_ptr_nonnull(strstr(err.msg, "copy at 0x1000: bad checksum"));
	hv_free(&t);
	vimg_error_clear(&err);
	free(buf);
}
END_TEST

START_TEST(test_corpus_vmrs)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct hv_tree t = { 0 };
	struct vmcx_info info;
	size_t len;
	uint8_t *buf = corpus("dissect-hypervisor/test.VMRS", &len);
	bool typecode = false;

	if (!buf)
		return;
	ck_assert_vimg_ok(vmcx_parse(buf, len, &t, &info, &err), &err);
	ck_assert_uint_eq(info.version, 0x400);
	ck_assert_uint_eq(info.key_tables, 2);
	ck_assert_str_eq(key(t.top, "configuration/properties/version")->value, "2304");
	/* Keys repeat under one parent here (devicetype, metric): dissect's
	 * dictionary keeps the last, the tree keeps them all. */
	for (const struct hv_node *n = t.all; n; n = n->all)
		typecode |= !strcmp(n->name, "typecode") && n->value &&
			    !strcmp(n->value, "4E1D459F-7861-46A4-887C-B64397C97E1B;0\\0\\L");
	ck_assert(typecode);
	ck_assert_str_eq(key(t.top, "configuration/_83f8638b-8dca-4152-9eda-2ca8b33039b4_/"
				    "VDEVVersion")->value, "1792");
	ck_assert_ptr_null(key(t.top, "configuration/manifest"));
	hv_free(&t);
	free(buf);
}
END_TEST

static void damaged(uint8_t *buf, size_t len, size_t at)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct hv_tree t = { 0 };
	int rc = vmcx_parse(buf, len, &t, NULL, &err);

	if (rc)
		ck_assert_msg(!strncmp(err.msg, "vmcx: ", 6) && strstr(err.msg, "0x"),
			      "damage at 0x%zx (length 0x%zx): \"%s\"", at, len, err.msg);
	hv_free(&t);
	vimg_error_clear(&err);
}

START_TEST(test_corpus_damage)
{
	static const char *const files[] = {
		"dissect-hypervisor/test.vmcx",
		"dissect-target/993F7B33-6057-4D1E-A1FE-A1A1D77BE974.vmcx",
		"dissect-target/child-data.vmcx",
	};
	size_t len;
	uint8_t *buf = corpus(files[_i], &len);

	if (!buf)
		return;
	for (size_t n = 0; n < len; n += 509)
		damaged(buf, n, n);
	/* Every byte of the headers, object table and the first key table's
	 * first entries, then a sample of the rest. */
	for (size_t at = 0; at < len; at += at < 0x3400 ? 1 : 7) {
		if ((at > 0x40 && at < 0x1000) || (at > 0x1040 && at < 0x2000))
			continue;
		for (unsigned bit = 0; bit < 8; bit += 3) {
			buf[at] ^= (uint8_t)(1u << bit);
			damaged(buf, len, at);
			buf[at] ^= (uint8_t)(1u << bit);
		}
	}
	free(buf);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("vmcx");
	TCase *tc = tcase_create("vmcx");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_corpus_vmcx);
	tcase_add_test(tc, test_corpus_vmrs);
	tcase_add_loop_test(tc, test_corpus_damage, 0, 3);
	suite_add_tcase(s, tc);
	return s;
}
