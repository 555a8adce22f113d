/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of the vhdx driver through the public API: write/read round
 * trips (dynamic and fixed, 1 MiB and 32 MiB blocks, 4096-byte logical
 * sectors, unaligned and zero writes), the qemu-img fixtures, a pending log
 * (test hook VIMG_VHDX_TEST_STOP_AFTER_LOG) read read-only without changing
 * the file and replayed read-write, differencing disks (merged reads, writes
 * over the parent, wrong parent GUID), malformed structures (one clear error
 * each) and a 1%-mutation smoke test.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "endian.h"
#include "testlib.h"

#define MiB (1024 * 1024)

static bool have(const char *cmd)
{
	return test_system("%s >/dev/null 2>&1", cmd) == 0;
}

static void own_check(const char *path)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *img;
	struct vimg_check rep = { 0 };

	ck_assert_vimg_ok(vimg_image_open(path, "vhdx", VIMG_OPEN_NO_BACKING, &img, &err), &err);
	ck_assert_vimg_ok(vimg_image_check(img, &rep, 0, &err), &err);
	ck_assert_msg(rep.corruptions == 0, "%s: %llu corruptions", path,
		      (unsigned long long)rep.corruptions);
	vimg_image_close(img, NULL);
}

static void read_all(const char *path, unsigned flags, uint8_t *buf, uint64_t size)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *img;

	ck_assert_vimg_ok(vimg_image_open(path, NULL, flags, &img, &err), &err);
	ck_assert_uint_eq(vimg_image_virtual_size(img), size);
	ck_assert_vimg_ok(vimg_image_read(img, buf, 0, size, &err), &err);
	ck_assert_vimg_ok(vimg_image_close(img, &err), &err);
}

/* The fixtures' content (fixtures/vhdx/make-fixtures.sh). */
static void fixture_content(uint8_t *buf)
{
	memset(buf, 0, 4 * MiB);
	memset(buf, 0x11, 8192);
	memset(buf + 1124 * 1024, 0x22, 3072);
	memset(buf + 3 * MiB, 0x33, 4096);
}

static const char *gunzip(const char *fixture, const char *name)
{
	const char *out = test_path(name);

	ck_assert_int_eq(test_system("gzip -dc '%s' > '%s'", test_fixture(fixture), out), 0);
	return out;
}

/* Apply writes and zeroes to the image and a shadow, reopen, compare. */
static void roundtrip(const char *opts, const char *backing, uint64_t size)
{
	static const struct {
		uint64_t off, len;
		int zero;
	} ops[] = {
		{ 0, 4096, 0 },	      { 1000, 70000, 0 },	{ 3 * MiB - 100, 200, 0 },
		{ 5 * MiB, 2 * MiB, 1 }, { 6 * MiB + 7, 12345, 0 }, { 2 * MiB, 1 * MiB, 1 },
		{ 9 * MiB - 513, 513, 0 }, { 4 * MiB, 1, 0 },	{ 100, 50, 1 },
	};
	struct vimg_error err = VIMG_ERROR_INIT;
	const char *path = test_path("rt.vhdx");
	struct vimg_image *img;
	uint8_t *shadow = calloc(1, size), *buf = malloc(size), *p = malloc(3 * MiB);

	ck_assert(shadow && buf && p);
	if (backing)
		read_all(backing, VIMG_OPEN_ALLOW_ESCAPE, shadow, size);
	unlink(path);
	ck_assert_vimg_ok(vimg_image_create(path, "vhdx", size, opts, backing, backing ? "vhdx" : NULL,
					    VIMG_CREATE_ALLOW_ESCAPE, &err),
			  &err);
	ck_assert_vimg_ok(vimg_image_open(path, NULL, VIMG_OPEN_RDWR | VIMG_OPEN_ALLOW_ESCAPE, &img,
					  &err),
			  &err);
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		test_pattern(p, ops[i].len, ops[i].off, (unsigned)i + 1);
		if (ops[i].zero) {
			ck_assert_vimg_ok(vimg_image_zero(img, ops[i].off, ops[i].len, 0, &err), &err);
			memset(shadow + ops[i].off, 0, ops[i].len);
		} else {
			ck_assert_vimg_ok(vimg_image_write(img, p, ops[i].off, ops[i].len, &err), &err);
			memcpy(shadow + ops[i].off, p, ops[i].len);
		}
	}
	ck_assert_vimg_ok(vimg_image_read(img, buf, 0, size, &err), &err);
	ck_assert(memcmp(buf, shadow, size) == 0);
	ck_assert_vimg_ok(vimg_image_close(img, &err), &err);
	memset(buf, 0xaa, size);
	read_all(path, VIMG_OPEN_ALLOW_ESCAPE, buf, size);
	ck_assert(memcmp(buf, shadow, size) == 0);
	own_check(path);
	if (!backing && !strstr(opts, "logical_sector_size=4096") && have("qemu-img --version"))
		ck_assert_int_eq(test_system("qemu-img check -q '%s'", path), 0);
	if (have("vhdiinfo -V"))
		ck_assert_int_eq(test_system("vhdiinfo '%s' >/dev/null", path), 0);
	free(shadow);
	free(buf);
	free(p);
}

START_TEST(roundtrip_dynamic_1m)
{
	roundtrip("block_size=1M", NULL, 10 * MiB);
}
END_TEST

START_TEST(roundtrip_dynamic_32m)
{
	roundtrip("", NULL, 10 * MiB);
}
END_TEST

START_TEST(roundtrip_fixed)
{
	struct stat st;

	roundtrip("subformat=fixed,block_size=1M", NULL, 10 * MiB);
	/* No holes: Hyper-V refuses sparse VHDX files. */
	ck_assert_int_eq(stat(test_path("rt.vhdx"), &st), 0);
	ck_assert_int_ge((long long)st.st_blocks * 512, (long long)st.st_size);
}
END_TEST

START_TEST(roundtrip_fixed_zero_state)
{
	roundtrip("subformat=fixed,block_size=2M,block_state_zero=on", NULL, 10 * MiB);
}
END_TEST

START_TEST(roundtrip_4k_sectors)
{
	roundtrip("logical_sector_size=4096,block_size=1M,log_size=2M", NULL, 12 * MiB);
}
END_TEST

START_TEST(fixtures_read)
{
	static const char *const names[] = { "vhdx/dynamic-qemu.vhdx.gz",
					     "vhdx/fixed-qemu.vhdx.gz" };
	uint8_t *want = malloc(4 * MiB), *got = malloc(4 * MiB);

	fixture_content(want);
	for (int i = 0; i < 2; i++) {
		const char *p = gunzip(names[i], "f.vhdx");

		read_all(p, 0, got, 4 * MiB);
		ck_assert_msg(memcmp(got, want, 4 * MiB) == 0, "%s", names[i]);
		own_check(p);
	}
	free(want);
	free(got);
}
END_TEST

static void count_log_notes(void *opaque, const struct vimg_check_finding *f)
{
	if (f->severity == VIMG_CHECK_NOTE && !strcmp(f->structure, "log"))
		++*(unsigned *)opaque;
}

START_TEST(pending_log)
{
	const char *p = gunzip("vhdx/pending-log.vhdx.gz", "pend.vhdx");
	uint8_t *want = malloc(4 * MiB), *got = malloc(4 * MiB);
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *img;
	struct vimg_check rep = { 0 };
	unsigned notes = 0;

	fixture_content(want);
	ck_assert_int_eq(test_system("sha256sum '%s' > '%s'", p, test_path("sum")), 0);
	/* Read-only: replayed in memory, the file untouched. */
	read_all(p, 0, got, 4 * MiB);
	ck_assert(memcmp(got, want, 4 * MiB) == 0);
	ck_assert_int_eq(test_system("sha256sum -c --quiet '%s'", test_path("sum")), 0);
	ck_assert_vimg_ok(vimg_image_open(p, "vhdx", 0, &img, &err), &err);
	rep.report = count_log_notes;
	rep.opaque = &notes;
	ck_assert_vimg_ok(vimg_image_check(img, &rep, 0, &err), &err);
	/* A pending log is how a crash is survived: a note, not a corruption. */
	ck_assert_uint_eq(rep.corruptions, 0);
	ck_assert_uint_eq(notes, 1);
	vimg_image_close(img, NULL);
	/* Read-write: written back, after which qemu-img opens it too. */
	read_all(p, VIMG_OPEN_RDWR, got, 4 * MiB);
	ck_assert(memcmp(got, want, 4 * MiB) == 0);
	ck_assert_int_ne(test_system("sha256sum -c --quiet '%s' >/dev/null 2>&1", test_path("sum")), 0);
	own_check(p);
	if (have("qemu-img --version"))
		ck_assert_int_eq(test_system("qemu-img check -q '%s'", p), 0);
	free(want);
	free(got);
}
END_TEST

START_TEST(pending_log_from_hook)
{
	const char *p = test_path("hook.vhdx");
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *img;
	uint8_t *buf = malloc(8 * MiB), *got = malloc(8 * MiB);

	test_pattern(buf, 8 * MiB, 0, 7);
	ck_assert_vimg_ok(vimg_image_create(p, "vhdx", 8 * MiB, "block_size=1M", NULL, NULL, 0, &err),
			  &err);
	ck_assert_vimg_ok(vimg_image_open(p, "vhdx", VIMG_OPEN_RDWR, &img, &err), &err);
	ck_assert_vimg_ok(vimg_image_write(img, buf, 0, 8 * MiB, &err), &err);
	setenv("VIMG_VHDX_TEST_STOP_AFTER_LOG", "1", 1);
	ck_assert_int_eq(vimg_image_flush(img, &err), VIMG_EIO);
	vimg_image_close(img, NULL);
	unsetenv("VIMG_VHDX_TEST_STOP_AFTER_LOG");
	read_all(p, 0, got, 8 * MiB);
	ck_assert(memcmp(got, buf, 8 * MiB) == 0);
	read_all(p, VIMG_OPEN_RDWR, got, 8 * MiB);
	ck_assert(memcmp(got, buf, 8 * MiB) == 0);
	own_check(p);
	free(buf);
	free(got);
}
END_TEST

START_TEST(differencing)
{
	const char *base = test_path("base.vhdx");
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *img;
	uint8_t *buf = malloc(10 * MiB);

	test_pattern(buf, 10 * MiB, 0, 3);
	ck_assert_vimg_ok(vimg_image_create(base, "vhdx", 10 * MiB, "block_size=1M", NULL, NULL, 0,
					    &err),
			  &err);
	ck_assert_vimg_ok(vimg_image_open(base, "vhdx", VIMG_OPEN_RDWR, &img, &err), &err);
	ck_assert_vimg_ok(vimg_image_write(img, buf, 0, 10 * MiB, &err), &err);
	ck_assert_vimg_ok(vimg_image_close(img, &err), &err);
	roundtrip("", base, 10 * MiB);
	roundtrip("block_size=1M", base, 10 * MiB);
	free(buf);
}
END_TEST

START_TEST(wrong_parent)
{
	const char *base = test_path("p.vhdx"), *child = test_path("c.vhdx");
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *img;

	ck_assert_vimg_ok(vimg_image_create(base, "vhdx", 4 * MiB, NULL, NULL, NULL, 0, &err), &err);
	ck_assert_vimg_ok(vimg_image_create(child, "vhdx", 0, NULL, "p.vhdx", NULL, 0, &err), &err);
	ck_assert_vimg_ok(vimg_image_open(child, NULL, 0, &img, &err), &err);
	vimg_image_close(img, NULL);
	/* A new image in the parent's place: its data write GUID differs. */
	unlink(base);
	ck_assert_vimg_ok(vimg_image_create(base, "vhdx", 4 * MiB, NULL, NULL, NULL, 0, &err), &err);
	ck_assert_vimg_fails(vimg_image_open(child, NULL, 0, &img, &err), &err, VIMG_EBACKING,
			     "does not match the parent's data write GUID");
}
END_TEST

/* Copy of a fresh 4 MiB dynamic image with a patch; open must fail with `want`. */
static void corrupt(const char *name, uint64_t off, const void *bytes, size_t n, int code,
		    const char *want)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *img = NULL;
	const char *p = test_path(name);
	FILE *f;

	unlink(p);
	ck_assert_vimg_ok(vimg_image_create(p, "vhdx", 4 * MiB, "block_size=1M", NULL, NULL, 0, &err),
			  &err);
	f = fopen(p, "r+b");
	ck_assert(f != NULL);
	fseek(f, (long)off, SEEK_SET);
	fwrite(bytes, 1, n, f);
	fclose(f);
	ck_assert_vimg_fails(vimg_image_open(p, "vhdx", 0, &img, &err), &err, code, want);
}

START_TEST(malformed)
{
	static const uint8_t junk[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	uint8_t e[8];

	/* Both headers' checksums. */
	{
		struct vimg_error err = VIMG_ERROR_INIT;
		struct vimg_image *img;
		const char *p = test_path("hdr.vhdx");
		FILE *f;

		ck_assert_vimg_ok(vimg_image_create(p, "vhdx", 4 * MiB, NULL, NULL, NULL, 0, &err),
				  &err);
		f = fopen(p, "r+b");
		fseek(f, 0x10000 + 4, SEEK_SET);
		fwrite(junk, 1, 4, f);
		fseek(f, 0x20000 + 4, SEEK_SET);
		fwrite(junk, 1, 4, f);
		fclose(f);
		ck_assert_vimg_fails(vimg_image_open(p, "vhdx", 0, &img, &err), &err, VIMG_ECORRUPT,
				     "vhdx: header: no valid header");
	}
	/* One bad header is tolerated: the other is current. */
	{
		struct vimg_error err = VIMG_ERROR_INIT;
		struct vimg_image *img;
		const char *p = test_path("hdr1.vhdx");
		FILE *f;

		ck_assert_vimg_ok(vimg_image_create(p, "vhdx", 4 * MiB, NULL, NULL, NULL, 0, &err),
				  &err);
		f = fopen(p, "r+b");
		fseek(f, 0x20000 + 4, SEEK_SET);
		fwrite(junk, 1, 4, f);
		fclose(f);
		ck_assert_vimg_ok(vimg_image_open(p, "vhdx", 0, &img, &err), &err);
		vimg_image_close(img, NULL);
	}
	corrupt("fid.vhdx", 0, junk, 8, VIMG_EFORMAT, "vhdx: file identifier");
	/* Region tables: both CRCs broken. */
	{
		struct vimg_error err = VIMG_ERROR_INIT;
		struct vimg_image *img;
		const char *p = test_path("reg.vhdx");
		FILE *f;

		ck_assert_vimg_ok(vimg_image_create(p, "vhdx", 4 * MiB, NULL, NULL, NULL, 0, &err),
				  &err);
		f = fopen(p, "r+b");
		fseek(f, 0x30000 + 20, SEEK_SET);
		fwrite(junk, 1, 8, f);
		fseek(f, 0x40000 + 20, SEEK_SET);
		fwrite(junk, 1, 8, f);
		fclose(f);
		ck_assert_vimg_fails(vimg_image_open(p, "vhdx", 0, &img, &err), &err, VIMG_ECORRUPT,
				     "vhdx: region table: no valid region table");
	}
	/* Metadata table signature (metadata region at 2 MiB). */
	corrupt("meta.vhdx", 2 * MiB, junk, 8, VIMG_ECORRUPT, "vhdx: metadata table");
	/* Block size 3 MiB (file parameters item at 2 MiB + 64 KiB). */
	st_le32(e, 3 * MiB);
	corrupt("bs.vhdx", 2 * MiB + 65536, e, 4, VIMG_ECORRUPT, "block size");
	/* BAT entry 1 (BAT at 3 MiB) fully present at 1 GiB: past the end. */
	st_le64(e, (1ull << 30) | 6);
	corrupt("bat.vhdx", 3 * MiB + 8, e, 8, VIMG_ECORRUPT,
		"vhdx: BAT entry 1 points past end of file (offset 0x40000000)");
	st_le64(e, 5);
	corrupt("state.vhdx", 3 * MiB, e, 8, VIMG_ECORRUPT, "vhdx: BAT entry 0 has invalid state 5");
}
END_TEST

/* A pending log whose one descriptor is re-aimed at the headers (valid CRC). */
START_TEST(malformed_log)
{
	const char *p = gunzip("vhdx/pending-log.vhdx.gz", "badlog.vhdx");
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *img;
	uint8_t *e = malloc(1 * MiB);
	uint32_t len;
	FILE *f = fopen(p, "r+b");

	ck_assert(f && e);
	fseek(f, 1 * MiB, SEEK_SET);
	ck_assert_uint_eq(fread(e, 1, MiB, f), MiB);
	len = ld_le32(e + 8);
	st_le64(e + 64 + 16, 0x10000);
	memset(e + 4, 0, 4);
	st_le32(e + 4, crc32c(0, e, len));
	fseek(f, 1 * MiB, SEEK_SET);
	fwrite(e, 1, len, f);
	fclose(f);
	ck_assert_vimg_fails(vimg_image_open(p, "vhdx", 0, &img, &err), &err, VIMG_ECORRUPT,
			     "descriptor 0 targets an invalid range");
	free(e);
}
END_TEST

START_TEST(mutations)
{
	static const char *const names[] = { "vhdx/dynamic-qemu.vhdx.gz", "vhdx/fixed-qemu.vhdx.gz",
					     "vhdx/pending-log.vhdx.gz" };
	uint8_t *buf = malloc(4 * MiB);

	srand(4);
	for (int i = 0; i < 3; i++) {
		for (int round = 0; round < 8; round++) {
			const char *p = gunzip(names[i], "m.vhdx");
			struct vimg_error err = VIMG_ERROR_INIT;
			struct vimg_image *img;
			struct vimg_check rep = { 0 };
			FILE *f = fopen(p, "r+b");
			long size;

			fseek(f, 0, SEEK_END);
			size = ftell(f);
			/* Flip 1% of the bytes of the first 5 MiB (headers, log, metadata, BAT). */
			for (long k = 0; k < (size < 5 * MiB ? size : 5 * MiB) / 100; k++) {
				long at = rand() % (size < 5 * MiB ? size : 5 * MiB);

				fseek(f, at, SEEK_SET);
				fputc(rand() & 0xff, f);
			}
			fclose(f);
			if (vimg_image_open(p, "vhdx", 0, &img, &err) == 0) {
				vimg_image_read(img, buf, 0, vimg_image_virtual_size(img) < 4 * MiB
								     ? vimg_image_virtual_size(img)
								     : 4 * MiB,
						&err);
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
	Suite *s = suite_create("vhdx");
	TCase *tc = tcase_create("vhdx");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, roundtrip_dynamic_1m);
	tcase_add_test(tc, roundtrip_dynamic_32m);
	tcase_add_test(tc, roundtrip_fixed);
	tcase_add_test(tc, roundtrip_fixed_zero_state);
	tcase_add_test(tc, roundtrip_4k_sectors);
	tcase_add_test(tc, fixtures_read);
	tcase_add_test(tc, pending_log);
	tcase_add_test(tc, pending_log_from_hook);
	tcase_add_test(tc, differencing);
	tcase_add_test(tc, wrong_parent);
	tcase_add_test(tc, malformed);
	tcase_add_test(tc, malformed_log);
	tcase_add_test(tc, mutations);
	suite_add_tcase(s, tc);
	return s;
}
