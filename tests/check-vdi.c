/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of the vdi driver through the public API: write/read round
 * trips (dynamic and static, unaligned writes; `qemu-img check` when
 * installed), the qemu-img fixtures, a differencing image refused with its
 * parent UUID named, malformed headers and block maps (one clear error each)
 * and a mutation smoke test.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "endian.h"
#include "testlib.h"

#define MiB (1024 * 1024)

static void read_all(const char *path, uint8_t *buf, uint64_t size)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *img;

	ck_assert_vimg_ok(vimg_image_open(path, NULL, 0, &img, &err), &err);
	ck_assert_uint_eq(vimg_image_virtual_size(img), size);
	ck_assert_vimg_ok(vimg_image_read(img, buf, 0, size, &err), &err);
	vimg_image_close(img, NULL);
}

static void roundtrip(const char *opts)
{
	static const struct {
		uint64_t off, len;
	} ops[] = {
		{ 0, 4096 }, { 1000, 70000 }, { 2 * MiB - 100, 200 }, { 6 * MiB + 7, 12345 },
		{ 3 * MiB, 1 }, { 100, 50 }, { 9 * MiB, MiB },
	};
	struct vimg_error err = VIMG_ERROR_INIT;
	const char *path = test_path("rt.vdi");
	struct vimg_image *img;
	struct vimg_check rep = { 0 };
	uint64_t size = 10 * MiB;
	uint8_t *shadow = calloc(1, size), *buf = malloc(size), *p = malloc(MiB);

	ck_assert(shadow && buf && p);
	unlink(path);
	ck_assert_vimg_ok(vimg_image_create(path, "vdi", size, opts, NULL, NULL, 0, &err), &err);
	ck_assert_vimg_ok(vimg_image_open(path, NULL, VIMG_OPEN_RDWR, &img, &err), &err);
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		test_pattern(p, ops[i].len, ops[i].off, (unsigned)i + 1);
		ck_assert_vimg_ok(vimg_image_write(img, p, ops[i].off, ops[i].len, &err), &err);
		memcpy(shadow + ops[i].off, p, ops[i].len);
	}
	ck_assert_vimg_ok(vimg_image_check(img, &rep, 0, &err), &err);
	ck_assert_uint_eq(rep.corruptions, 0);
	ck_assert_vimg_ok(vimg_image_close(img, &err), &err);
	read_all(path, buf, size);
	ck_assert(memcmp(buf, shadow, size) == 0);
	if (test_system("qemu-img --version >/dev/null 2>&1") == 0)
		ck_assert_int_eq(test_system("qemu-img check -q '%s'", path), 0);
	free(shadow);
	free(buf);
	free(p);
}

START_TEST(roundtrip_dynamic)
{
	roundtrip(NULL);
}
END_TEST

START_TEST(roundtrip_static)
{
	roundtrip("static=on");
}
END_TEST

START_TEST(fixtures_read)
{
	static const char *const names[] = { "vdi/dynamic-qemu.vdi.gz", "vdi/static-qemu.vdi.gz" };
	uint8_t *want = calloc(1, 4 * MiB), *got = malloc(4 * MiB);

	memset(want, 0x11, 8192);
	memset(want + 1124 * 1024, 0x22, 3072);
	memset(want + 3 * MiB, 0x33, 4096);
	for (int i = 0; i < 2; i++) {
		const char *p = test_path("f.vdi");

		ck_assert_int_eq(test_system("gzip -dc '%s' > '%s'", test_fixture(names[i]), p), 0);
		read_all(p, got, 4 * MiB);
		ck_assert_msg(memcmp(got, want, 4 * MiB) == 0, "%s", names[i]);
	}
	free(want);
	free(got);
}
END_TEST

static void corrupt(long off, const void *b, size_t n, int code, const char *want)
{
	const char *p = test_path("bad.vdi");
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *img;
	FILE *f;

	unlink(p);
	ck_assert_vimg_ok(vimg_image_create(p, "vdi", 4 * MiB, NULL, NULL, NULL, 0, &err), &err);
	f = fopen(p, "r+b");
	fseek(f, off, SEEK_SET);
	fwrite(b, 1, n, f);
	fclose(f);
	ck_assert_vimg_fails(vimg_image_open(p, "vdi", 0, &img, &err), &err, code, want);
}

START_TEST(malformed)
{
	uint8_t e[4];

	st_le32(e, 4);
	corrupt(0x4c, e, 4, VIMG_ECORRUPT,
		"vdi: header: differencing image without a parent UUID (offset 0x1a8)");
	st_le32(e, 3);
	corrupt(0x4c, e, 4, VIMG_EUNSUPPORTED, "vdi: header: image type 3 is not dynamic");
	st_le32(e, 3 << 20);
	corrupt(0x178, e, 4, VIMG_ECORRUPT, "vdi: header: block size 3145728");
	st_le32(e, 1);
	corrupt(0x180, e, 4, VIMG_ECORRUPT, "vdi: header: 1 blocks do not cover the disk size");
	st_le32(e, 0x10000000);
	corrupt(0x154, e, 4, VIMG_ECORRUPT, "vdi: block map points past end of file");
	st_le32(e, 2);
	corrupt(0x200 + 4, e, 4, VIMG_ECORRUPT,
		"vdi: block map entry 1 points past end of file (offset 0x300000)");
	st_le32(e, 0x00020000);
	corrupt(0x44, e, 4, VIMG_EUNSUPPORTED, "vdi: header: version 0x00020000");
}
END_TEST

/* Resize through the API: grow keeps data and reads zeros past it, shrink
 * with VIMG_RESIZE_SHRINK keeps the prefix, growing back shows no old data;
 * every step passes vimg's own check after a reopen. */
static void resize_round(const char *name, const char *fmt, const char *opts)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	const char *path = test_path(name);
	struct vimg_image *img;
	struct vimg_check rep = { 0 };
	uint64_t size = 8 * MiB, big;
	uint8_t *p = malloc(8 * MiB), *got = malloc(8 * MiB), *zero = calloc(1, 8 * MiB);

	ck_assert(p && got && zero);
	unlink(path);
	ck_assert_vimg_ok(vimg_image_create(path, fmt, size, opts, NULL, NULL, 0, &err), &err);
	ck_assert_vimg_ok(vimg_image_open(path, fmt, VIMG_OPEN_RDWR, &img, &err), &err);
	size = vimg_image_virtual_size(img);
	test_pattern(p, 8 * MiB, 0, 7);
	ck_assert_vimg_ok(vimg_image_write(img, p, 0, 8 * MiB, &err), &err);
	ck_assert_vimg_ok(vimg_image_resize(img, 40 * MiB, 0, &err), &err);
	big = vimg_image_virtual_size(img);
	ck_assert_uint_ge(big, 40 * MiB);
	ck_assert_vimg_ok(vimg_image_write(img, p, 30 * MiB, MiB, &err), &err);
	ck_assert_vimg_ok(vimg_image_close(img, &err), &err);

	ck_assert_vimg_ok(vimg_image_open(path, fmt, VIMG_OPEN_RDWR, &img, &err), &err);
	ck_assert_uint_eq(vimg_image_virtual_size(img), big);
	ck_assert_vimg_ok(vimg_image_check(img, &rep, 0, &err), &err);
	ck_assert_uint_eq(rep.corruptions, 0);
	ck_assert_vimg_ok(vimg_image_read(img, got, 0, 8 * MiB, &err), &err);
	ck_assert(memcmp(got, p, 8 * MiB) == 0);
	ck_assert_vimg_ok(vimg_image_read(img, got, size, 4 * MiB, &err), &err);
	ck_assert(memcmp(got, zero, 4 * MiB) == 0);
	ck_assert_vimg_ok(vimg_image_read(img, got, 30 * MiB, MiB, &err), &err);
	ck_assert(memcmp(got, p, MiB) == 0);
	/* Over data: refused without the flag, then allowed. */
	ck_assert_vimg_fails(vimg_image_resize(img, 4 * MiB, 0, &err), &err, VIMG_EINVAL,
			     "would cut data");
	err = (struct vimg_error)VIMG_ERROR_INIT;
	ck_assert_vimg_ok(vimg_image_resize(img, 4 * MiB, VIMG_RESIZE_SHRINK, &err), &err);
	ck_assert_vimg_ok(vimg_image_close(img, &err), &err);

	ck_assert_vimg_ok(vimg_image_open(path, fmt, VIMG_OPEN_RDWR, &img, &err), &err);
	size = vimg_image_virtual_size(img);
	ck_assert_uint_ge(size, 4 * MiB);
	ck_assert_uint_lt(size, 5 * MiB);
	ck_assert_vimg_ok(vimg_image_resize(img, 12 * MiB, 0, &err), &err);
	ck_assert_vimg_ok(vimg_image_read(img, got, 0, 8 * MiB, &err), &err);
	ck_assert(memcmp(got, p, size) == 0);
	ck_assert(memcmp(got + size, zero, 8 * MiB - size) == 0);
	memset(&rep, 0, sizeof(rep));
	ck_assert_vimg_ok(vimg_image_check(img, &rep, 0, &err), &err);
	ck_assert_uint_eq(rep.corruptions, 0);
	ck_assert_vimg_ok(vimg_image_close(img, &err), &err);
	/* qemu has a checker for vdi only (vpc: exit 63, unsupported). */
	if (!strcmp(fmt, "vdi") && test_system("qemu-img --version >/dev/null 2>&1") == 0)
		ck_assert_int_eq(test_system("qemu-img check -q -f vdi '%s'", path), 0);
	free(p);
	free(got);
	free(zero);
}

START_TEST(resize_dynamic)
{
	resize_round("resize_dynamic.vdi", "vdi", NULL);
}
END_TEST

START_TEST(resize_static)
{
	resize_round("resize_static.vdi", "vdi", "static=on");
}
END_TEST

START_TEST(mutations)
{
	static const char *const names[] = { "vdi/dynamic-qemu.vdi.gz", "vdi/static-qemu.vdi.gz" };
	uint8_t *buf = malloc(4 * MiB);

	srand(6);
	for (int i = 0; i < 2; i++) {
		for (int round = 0; round < 16; round++) {
			const char *p = test_path("m.vdi");
			struct vimg_error err = VIMG_ERROR_INIT;
			struct vimg_image *img;
			struct vimg_check rep = { 0 };
			FILE *f;

			ck_assert_int_eq(test_system("gzip -dc '%s' > '%s'", test_fixture(names[i]), p),
					 0);
			f = fopen(p, "r+b");
			for (int k = 0; k < 20; k++) {
				fseek(f, rand() % 1024, SEEK_SET);
				fputc(rand() & 0xff, f);
			}
			fclose(f);
			if (vimg_image_open(p, "vdi", 0, &img, &err) == 0) {
				uint64_t vs = vimg_image_virtual_size(img);

				vimg_image_read(img, buf, 0, vs < 4 * MiB ? vs : 4 * MiB, &err);
				vimg_image_check(img, &rep, 0, &err);
				vimg_image_close(img, NULL);
			}
		}
	}
	free(buf);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("vdi");
	TCase *tc = tcase_create("vdi");

	tcase_add_test(tc, roundtrip_dynamic);
	tcase_add_test(tc, roundtrip_static);
	tcase_add_test(tc, fixtures_read);
	tcase_add_test(tc, malformed);
	tcase_add_test(tc, resize_dynamic);
	tcase_add_test(tc, resize_static);
	tcase_add_test(tc, mutations);
	suite_add_tcase(s, tc);
	return s;
}
