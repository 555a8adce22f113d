/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of the vhd driver through the public API: write/read round
 * trips (dynamic, fixed, differencing over a parent, unaligned writes), the
 * qemu-img fixtures, CHS sizing and the Azure force_size mode (30 GiB + 1 byte
 * becomes 30 GiB + 1 MiB, sparse), a wrong parent UUID, malformed footers,
 * dynamic headers and BATs (one clear error each) and a mutation smoke test.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "endian.h"
#include "testlib.h"

#define MiB (1024 * 1024)

static void read_all(const char *path, uint8_t *buf, uint64_t size)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *img;

	ck_assert_vimg_ok(vimg_image_open(path, NULL, VIMG_OPEN_ALLOW_ESCAPE, &img, &err), &err);
	ck_assert_uint_ge(vimg_image_virtual_size(img), size);
	ck_assert_vimg_ok(vimg_image_read(img, buf, 0, size, &err), &err);
	vimg_image_close(img, NULL);
}

static void own_check(const char *path)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *img;
	struct vimg_check rep = { 0 };

	ck_assert_vimg_ok(vimg_image_open(path, "vhd", VIMG_OPEN_NO_BACKING, &img, &err), &err);
	ck_assert_vimg_ok(vimg_image_check(img, &rep, 0, &err), &err);
	ck_assert_msg(rep.corruptions == 0, "%s: %llu corruptions", path,
		      (unsigned long long)rep.corruptions);
	vimg_image_close(img, NULL);
}

static uint64_t roundtrip(const char *opts, const char *backing, uint64_t want)
{
	static const struct {
		uint64_t off, len;
	} ops[] = {
		{ 0, 4096 }, { 1000, 70000 }, { 2 * MiB - 100, 200 }, { 6 * MiB + 7, 12345 },
		{ 3 * MiB, 1 }, { 100, 50 }, { 4 * MiB + 511, 2 },
	};
	struct vimg_error err = VIMG_ERROR_INIT;
	const char *path = test_path("rt.vhd");
	struct vimg_image *img;
	uint64_t size;
	uint8_t *shadow, *buf, *p = malloc(128 * 1024);

	unlink(path);
	ck_assert_vimg_ok(vimg_image_create(path, "vhd", want, opts, backing, backing ? "vhd" : NULL,
					    VIMG_CREATE_ALLOW_ESCAPE, &err),
			  &err);
	ck_assert_vimg_ok(vimg_image_open(path, NULL, VIMG_OPEN_RDWR | VIMG_OPEN_ALLOW_ESCAPE, &img,
					  &err),
			  &err);
	size = vimg_image_virtual_size(img);
	shadow = calloc(1, size);
	buf = malloc(size);
	ck_assert(shadow && buf && p);
	if (backing)
		ck_assert_vimg_ok(vimg_image_read(img, shadow, 0, size, &err), &err);
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		test_pattern(p, ops[i].len, ops[i].off, (unsigned)i + 1);
		ck_assert_vimg_ok(vimg_image_write(img, p, ops[i].off, ops[i].len, &err), &err);
		memcpy(shadow + ops[i].off, p, ops[i].len);
	}
	ck_assert_vimg_ok(vimg_image_close(img, &err), &err);
	read_all(path, buf, size);
	ck_assert(memcmp(buf, shadow, size) == 0);
	own_check(path);
	if (test_system("vhdiinfo -V >/dev/null 2>&1") == 0)
		ck_assert_int_eq(test_system("vhdiinfo '%s' >/dev/null", path), 0);
	free(shadow);
	free(buf);
	free(p);
	return size;
}

START_TEST(roundtrip_dynamic)
{
	/* CHS rounding: 10 MiB becomes 20480 sectors rounded up to the geometry. */
	ck_assert_uint_ge(roundtrip(NULL, NULL, 10 * MiB), 10 * MiB);
}
END_TEST

START_TEST(roundtrip_fixed)
{
	roundtrip("subformat=fixed", NULL, 10 * MiB);
}
END_TEST

START_TEST(roundtrip_force_size)
{
	ck_assert_uint_eq(roundtrip("force_size=on", NULL, 10 * MiB + 1), 11 * MiB);
}
END_TEST

START_TEST(differencing)
{
	const char *base = test_path("base.vhd");
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *img;
	uint8_t *buf = malloc(10 * MiB);

	test_pattern(buf, 10 * MiB, 0, 9);
	ck_assert_vimg_ok(vimg_image_create(base, "vhd", 10 * MiB, NULL, NULL, NULL, 0, &err), &err);
	ck_assert_vimg_ok(vimg_image_open(base, "vhd", VIMG_OPEN_RDWR, &img, &err), &err);
	ck_assert_vimg_ok(vimg_image_write(img, buf, 0, 10 * MiB, &err), &err);
	ck_assert_vimg_ok(vimg_image_close(img, &err), &err);
	roundtrip(NULL, base, 0);
	free(buf);
}
END_TEST

START_TEST(wrong_parent)
{
	const char *base = test_path("p.vhd"), *child = test_path("c.vhd");
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *img;

	ck_assert_vimg_ok(vimg_image_create(base, "vhd", 4 * MiB, NULL, NULL, NULL, 0, &err), &err);
	ck_assert_vimg_ok(vimg_image_create(child, "vhd", 0, NULL, "p.vhd", NULL, 0, &err), &err);
	ck_assert_vimg_ok(vimg_image_open(child, NULL, 0, &img, &err), &err);
	vimg_image_close(img, NULL);
	unlink(base);
	ck_assert_vimg_ok(vimg_image_create(base, "vhd", 4 * MiB, NULL, NULL, NULL, 0, &err), &err);
	ck_assert_vimg_fails(vimg_image_open(child, NULL, 0, &img, &err), &err, VIMG_EBACKING,
			     "does not match the parent's UUID");
}
END_TEST

START_TEST(azure)
{
	const char *path = test_path("azure.vhd");
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *img;
	struct stat st;

	ck_assert_vimg_ok(vimg_image_create(path, "vhd", (30ull << 30) + 1,
					    "subformat=fixed,force_size=on", NULL, NULL, 0, &err),
			  &err);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq((uint64_t)st.st_size, (30ull << 30) + MiB + 512);
	ck_assert_int_lt((long long)st.st_blocks * 512, 1 << 20); /* sparse */
	ck_assert_vimg_ok(vimg_image_open(path, NULL, 0, &img, &err), &err);
	ck_assert_str_eq(vimg_image_format(img), "vhd");
	ck_assert_uint_eq(vimg_image_virtual_size(img), (30ull << 30) + MiB);
	vimg_image_close(img, NULL);
}
END_TEST

START_TEST(fixtures_read)
{
	static const char *const names[] = { "vhd/dynamic-qemu.vhd.gz", "vhd/fixed-qemu.vhd.gz" };
	uint8_t *want = calloc(1, 4 * MiB), *got = malloc(4 * MiB);

	memset(want, 0x11, 8192);
	memset(want + 1124 * 1024, 0x22, 3072);
	memset(want + 3 * MiB, 0x33, 4096);
	for (int i = 0; i < 2; i++) {
		const char *p = test_path("f.vhd");

		ck_assert_int_eq(test_system("gzip -dc '%s' > '%s'", test_fixture(names[i]), p), 0);
		read_all(p, got, 4 * MiB);
		ck_assert_msg(memcmp(got, want, 4 * MiB) == 0, "%s", names[i]);
		own_check(p);
	}
	free(want);
	free(got);
}
END_TEST

/* Patch a fresh 4 MiB dynamic image; opening must fail with `want`. */
static void corrupt(const char *opts, long off, const void *b, size_t n, int code, const char *want)
{
	const char *p = test_path("bad.vhd");
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *img;
	FILE *f;

	unlink(p);
	ck_assert_vimg_ok(vimg_image_create(p, "vhd", 4 * MiB, opts, NULL, NULL, 0, &err), &err);
	f = fopen(p, "r+b");
	fseek(f, off, off < 0 ? SEEK_END : SEEK_SET);
	fwrite(b, 1, n, f);
	fclose(f);
	ck_assert_vimg_fails(vimg_image_open(p, "vhd", 0, &img, &err), &err, code, want);
}

START_TEST(malformed)
{
	uint8_t e[8] = { 0, 0, 0x10, 0, 0, 0, 0, 0 };

	/* Both footer copies' checksums (the trailing one and the head copy). */
	{
		const char *p = test_path("ck.vhd");
		struct vimg_error err = VIMG_ERROR_INIT;
		struct vimg_image *img;
		FILE *f;

		ck_assert_vimg_ok(vimg_image_create(p, "vhd", 4 * MiB, NULL, NULL, NULL, 0, &err),
				  &err);
		f = fopen(p, "r+b");
		fseek(f, 40, SEEK_SET);
		fputc(0x7f, f);
		fseek(f, -512 + 40, SEEK_END);
		fputc(0x7f, f);
		fclose(f);
		ck_assert_vimg_fails(vimg_image_open(p, "vhd", 0, &img, &err), &err, VIMG_ECORRUPT,
				     "vhd: footer: checksum");
	}
	/* Fixed: footer claims more than the file holds (checksum fixed up). */
	{
		const char *p = test_path("big.vhd");
		struct vimg_error err = VIMG_ERROR_INIT;
		struct vimg_image *img;
		uint8_t ft[512];
		uint32_t sum = 0;
		FILE *f;

		ck_assert_vimg_ok(vimg_image_create(p, "vhd", 4 * MiB, "subformat=fixed,force_size=on",
						    NULL, NULL, 0, &err),
				  &err);
		f = fopen(p, "r+b");
		fseek(f, -512, SEEK_END);
		ck_assert_uint_eq(fread(ft, 1, 512, f), 512);
		st_be64(ft + 48, 8 * MiB);
		memset(ft + 64, 0, 4);
		for (int i = 0; i < 512; i++)
			sum += ft[i];
		st_be32(ft + 64, ~sum);
		fseek(f, -512, SEEK_END);
		fwrite(ft, 1, 512, f);
		fclose(f);
		ck_assert_vimg_fails(vimg_image_open(p, "vhd", 0, &img, &err), &err, VIMG_ECORRUPT,
				     "exceeds the data area");
	}
	/* Dynamic header cookie. */
	corrupt(NULL, 512, "xxxxxxxx", 8, VIMG_ECORRUPT, "vhd: dynamic header: no \"cxsparse\"");
	/* BAT entry 0 (BAT at 1536) at sector 0x100000: past the end. */
	corrupt(NULL, 1536, e, 4, VIMG_ECORRUPT,
		"vhd: BAT entry 0 points past end of file (offset 0x200000)");
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
	resize_round("resize_dynamic.vhd", "vhd", NULL);
}
END_TEST

START_TEST(resize_fixed)
{
	resize_round("resize_fixed.vhd", "vhd", "subformat=fixed");
}
END_TEST

START_TEST(resize_force_size)
{
	resize_round("resize_force_size.vhd", "vhd", "force_size=on");
}
END_TEST

START_TEST(mutations)
{
	static const char *const names[] = { "vhd/dynamic-qemu.vhd.gz", "vhd/fixed-qemu.vhd.gz" };
	uint8_t *buf = malloc(4 * MiB);

	srand(5);
	for (int i = 0; i < 2; i++) {
		for (int round = 0; round < 16; round++) {
			const char *p = test_path("m.vhd");
			struct vimg_error err = VIMG_ERROR_INIT;
			struct vimg_image *img;
			struct vimg_check rep = { 0 };
			FILE *f;
			long size;

			ck_assert_int_eq(test_system("gzip -dc '%s' > '%s'", test_fixture(names[i]), p),
					 0);
			f = fopen(p, "r+b");
			fseek(f, 0, SEEK_END);
			size = ftell(f);
			/* Damage the metadata: the first 8 KiB and the footer. */
			for (int k = 0; k < 90; k++) {
				long at = rand() % 8704;

				fseek(f, at < 8192 ? at : size - 8704 + at, SEEK_SET);
				fputc(rand() & 0xff, f);
			}
			fclose(f);
			if (vimg_image_open(p, "vhd", VIMG_OPEN_NO_BACKING, &img, &err) == 0) {
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
	Suite *s = suite_create("vhd");
	TCase *tc = tcase_create("vhd");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, roundtrip_dynamic);
	tcase_add_test(tc, roundtrip_fixed);
	tcase_add_test(tc, roundtrip_force_size);
	tcase_add_test(tc, differencing);
	tcase_add_test(tc, wrong_parent);
	tcase_add_test(tc, azure);
	tcase_add_test(tc, fixtures_read);
	tcase_add_test(tc, malformed);
	tcase_add_test(tc, resize_dynamic);
	tcase_add_test(tc, resize_fixed);
	tcase_add_test(tc, resize_force_size);
	tcase_add_test(tc, mutations);
	suite_add_tcase(s, tc);
	return s;
}
