/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Invariants of the driver table, and that every fixture image probes to the
 * driver its file name says (fixtures may be stored .xz or .gz compressed).
 */
#include "config.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"
#include "vm.h"
#include "testlib.h"

START_TEST(table_invariants)
{
	const struct vimg_driver *d;

	for (size_t i = 0; (d = registry_driver(i)); i++) {
		ck_assert_msg(d->name && d->description, "driver %zu lacks a name", i);
		ck_assert_ptr_eq(registry_by_name(d->name), d);
		ck_assert_str_eq(vimg_format_name(i), d->name);
		/* qemu's name leads back to the driver and is nobody else's. */
		ck_assert_ptr_eq(registry_by_name(registry_qemu_name(d)), d);
		ck_assert_str_eq(vimg_format_canonical(registry_qemu_name(d)), d->name);
		ck_assert_msg(!d->qemu_name || strcmp(d->qemu_name, d->name),
			      "%s: qemu_name repeats the name", d->name);
		ck_assert_msg(d->probe && d->open && d->close && d->block_status,
			      "%s lacks a required callback", d->name);
		/* Bits the callbacks imply are derived, never declared: the two
		 * cannot disagree. */
		ck_assert_msg(!(d->features & (VIMG_FEAT_READ | VIMG_FEAT_WRITE | VIMG_FEAT_CREATE |
					       VIMG_FEAT_CHECK | VIMG_FEAT_SNAPSHOTS |
					       VIMG_FEAT_COMPRESS | VIMG_FEAT_RESIZE)),
			      "%s declares a feature its callbacks say", d->name);
		ck_assert_msg(!(registry_features(d) & VIMG_FEAT_WRITE) == !d->write,
			      "%s: FEAT_WRITE disagrees with write()", d->name);
		ck_assert_msg(!(registry_features(d) & VIMG_FEAT_COMPRESS) ==
				      !(d->compress && d->write_compressed),
			      "%s: FEAT_COMPRESS disagrees with compress()", d->name);
		ck_assert_msg(!(d->features & VIMG_FEAT_REPAIR) || d->check,
			      "%s: REPAIR without check()", d->name);
		ck_assert_msg(!(d->features & VIMG_FEAT_BACKING) || d->backing_opened ||
				      d->create,
			      "%s: BACKING without backing_opened() or create()", d->name);
		ck_assert_msg(!d->snapshot_create == !d->snapshot_delete &&
				      (!d->snapshot_create || d->snapshot_list),
			      "%s: snapshot callbacks come together", d->name);
		/* Only raw may be the weak fallback, and it must come last. */
		if (d->features & VIMG_FEAT_PROBE_WEAK)
			ck_assert_ptr_null(registry_driver(i + 1));
	}
	for (size_t i = 0; registry_codec(i); i++) {
		const struct vimg_codec *c = registry_codec(i);

		/* A codec reads, writes, or both. */
		ck_assert_msg(c->name && c->description && c->probe && (c->load || c->save),
			      "codec %zu lacks a name or a required callback", i);
		ck_assert_ptr_eq(registry_codec_by_name(c->name), c);
		ck_assert_str_eq(vimg_codec_name(i), c->name);
	}
	ck_assert_ptr_nonnull(registry_by_name("raw"));
	ck_assert_ptr_null(registry_by_name("nonesuch"));
	ck_assert_str_eq(vimg_format_canonical("vpc"), "vhd");
	ck_assert_str_eq(vimg_format_qemu_name("vhd"), "vpc");
	ck_assert_ptr_null(vimg_format_qemu_name("nonesuch"));
	ck_assert_ptr_null(vimg_format_create_opts("nonesuch"));
}
END_TEST

/* The format a fixture's name claims: the extension before any .xz/.gz. */
static void claimed_format(const char *name, char *fmt, size_t len)
{
	char tmp[256];
	char *dot;

	snprintf(tmp, sizeof(tmp), "%s", name);
	if ((dot = strrchr(tmp, '.')) && (!strcmp(dot, ".xz") || !strcmp(dot, ".gz")))
		*dot = 0;
	dot = strrchr(tmp, '.');
	snprintf(fmt, len, "%s", dot ? dot + 1 : "");
	if (!strcmp(fmt, "img"))
		snprintf(fmt, len, "raw");
}

static int probe_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int checked = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char path[1024], fmt[32], plain[1024];
		struct vimg_image *img;
		struct vimg_error err = VIMG_ERROR_INIT;
		struct stat st;
		size_t l = strlen(e->d_name);

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			checked += probe_tree(path);
			continue;
		}
		claimed_format(e->d_name, fmt, sizeof(fmt));
		if (!registry_by_name(fmt) || !strcmp(fmt, "raw"))
			continue;
		snprintf(plain, sizeof(plain), "%s", path);
		if (l > 3 && (!strcmp(e->d_name + l - 3, ".xz") || !strcmp(e->d_name + l - 3, ".gz"))) {
			snprintf(plain, sizeof(plain), "%s", test_path("probe.img"));
			ck_assert_int_eq(test_system("%s -dc '%s' > '%s'",
						     e->d_name[l - 2] == 'x' ? "xz" : "gzip", path,
						     plain), 0);
		}
		/* Backing files of fixtures may not be beside the copy: don't open them. */
		ck_assert_msg(vimg_image_open(plain, NULL, VIMG_OPEN_NO_BACKING, &img, &err) == 0,
			      "%s: %s", e->d_name, err.msg);
		ck_assert_msg(!strcmp(vimg_image_format(img), fmt), "%s probes as %s", e->d_name,
			      vimg_image_format(img));
		vimg_image_close(img, NULL);
		checked++;
	}
	closedir(d);
	return checked;
}

START_TEST(fixtures_probe_to_their_format)
{
	probe_tree(test_fixture(""));
}
END_TEST

START_TEST(unknown_format_named)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *img;

	test_write_pattern(test_path("x.raw"), 4096, 3);
	ck_assert_vimg_fails(vimg_image_open(test_path("x.raw"), "nonesuch", 0, &img, &err), &err,
			     VIMG_EINVAL, "unknown format \"nonesuch\"");
	vimg_error_clear(&err);
	ck_assert_vimg_ok(vimg_image_open(test_path("x.raw"), NULL, 0, &img, &err), &err);
	ck_assert_str_eq(vimg_image_format(img), "raw");
	vimg_image_close(img, NULL);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("registry");
	TCase *tc = tcase_create("table");

	tcase_add_test(tc, table_invariants);
	tcase_add_test(tc, fixtures_probe_to_their_format);
	tcase_add_test(tc, unknown_format_named);
	suite_add_tcase(s, tc);
	return s;
}
