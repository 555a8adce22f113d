/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of the vmdk driver: descriptor edits that keep unknown keys and
 * order; write/zero/read round trips against a shadow buffer for every
 * writable subformat (reopened, own check, and qemu-img check/compare when
 * installed); the streamOptimized writer (append-only rule, the ESXi import
 * checklist of vmdk-stream.c read back byte by byte); CID update on write and
 * the parentCID link of delta disks; the fixtures (qemu-made stream and
 * zeroed-grain sparse, generated COWD and seSparse); malformed images, each
 * with one clear error; and a mutation smoke test over the fixtures.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "endian.h"
#include "testlib.h"
#include "vmdk.h"

static bool have_qemu_img(void)
{
	return test_system("qemu-img --version >/dev/null 2>&1") == 0;
}

static void own_check(const char *path)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *img;
	struct vimg_check rep = { 0 };

	ck_assert_vimg_ok(vimg_image_open(path, "vmdk", VIMG_OPEN_NO_BACKING, &img, &err), &err);
	ck_assert_vimg_ok(vimg_image_check(img, &rep, 0, &err), &err);
	ck_assert_msg(rep.corruptions == 0 && rep.check_errors == 0, "%s: %llu corruptions", path,
		      (unsigned long long)rep.corruptions);
	vimg_image_close(img, NULL);
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b;
	long n;

	ck_assert_msg(f != NULL, "open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	b = malloc((size_t)n + 1);
	ck_assert(fread(b, 1, (size_t)n, f) == (size_t)n);
	b[n] = 0;
	fclose(f);
	*len = (size_t)n;
	return b;
}

static void spit(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	ck_assert(f != NULL);
	ck_assert(fwrite(data, 1, len, f) == len);
	fclose(f);
}

/* ---- descriptor ------------------------------------------------------------- */

START_TEST(test_descriptor_edit)
{
	static const char text[] =
		"# Disk DescriptorFile\n"
		"version=1\n"
		"CID=0000abcd\n"
		"parentCID=ffffffff\n"
		"isNativeSnapshot=\"no\"\n"
		"createType=\"twoGbMaxExtentSparse\"\n"
		"\n"
		"# Extent description\n"
		"RW 4192256 SPARSE \"a b-s001.vmdk\"\n"
		"RDONLY 100 FLAT \"f.vmdk\" 2048\n"
		"NOACCESS 8 ZERO\n"
		"\n"
		"ddb.Custom.Key = \"Keep Me\"\n"
		"ddb.adapterType = \"lsilogic\"\n";
	struct vmdk_desc d = { 0 };
	struct vimg_error err = VIMG_ERROR_INIT;
	char v[64], *out;
	size_t len;

	ck_assert_vimg_ok(desc_parse(&d, text, sizeof(text) - 1, &err), &err);
	ck_assert_uint_eq(d.n_ext, 3);
	ck_assert_str_eq(d.ext[0].file, "a b-s001.vmdk");
	ck_assert_uint_eq(d.ext[0].sectors, 4192256);
	ck_assert_int_eq(d.ext[1].access, VMDK_RDONLY);
	ck_assert_uint_eq(d.ext[1].offset, 2048);
	ck_assert_int_eq(d.ext[2].type, VMDK_EXT_ZERO);
	ck_assert(desc_get(&d, "ddb.custom.key", v, sizeof(v)));
	ck_assert_str_eq(v, "Keep Me");
	ck_assert_vimg_ok(desc_set(&d, "CID", "12345678", &err), &err);
	ck_assert_vimg_ok(desc_set(&d, "ddb.adapterType", "ide", &err), &err);
	ck_assert_vimg_ok(desc_set(&d, "parentFileNameHint", "p.vmdk", &err), &err);
	ck_assert_vimg_ok(desc_set(&d, "ddb.toolsVersion", "10346", &err), &err);
	ck_assert_vimg_ok(desc_render(&d, &out, &len, &err), &err);
	ck_assert_ptr_nonnull(strstr(out, "version=1\nCID=12345678\nparentCID=ffffffff\n"
					  "isNativeSnapshot=\"no\"\ncreateType=\"twoGbMaxExtentSparse\"\n"
					  "parentFileNameHint=\"p.vmdk\"\n\n# Extent description\n"));
	ck_assert_ptr_nonnull(strstr(out, "ddb.Custom.Key = \"Keep Me\"\nddb.adapterType = \"ide\"\n"
					  "ddb.toolsVersion = \"10346\"\n"));
	free(out);
	desc_free(&d);

	/* CRLF survives a rewrite. */
	ck_assert_vimg_ok(desc_parse(&d, "version=1\r\nCID=1\r\nRW 8 ZERO\r\n", 29, &err), &err);
	ck_assert_vimg_ok(desc_set(&d, "CID", "2", &err), &err);
	ck_assert_vimg_ok(desc_render(&d, &out, &len, &err), &err);
	ck_assert_str_eq(out, "version=1\r\nCID=2\r\nRW 8 ZERO\r\n");
	free(out);
	desc_free(&d);
}
END_TEST

/* Extent lines rewritten in place, added after the last, removed past n. */
START_TEST(test_descriptor_extents)
{
	static const char text[] = "version=1\n# Extent description\n"
				   "RW 8 SPARSE \"d-s001.vmdk\" # first\n"
				   "RW 8 SPARSE \"d-s002.vmdk\"\n"
				   "\nddb.adapterType = \"ide\"\n";
	struct vmdk_desc_extent x[3] = {
		{ VMDK_RW, 16, VMDK_EXT_SPARSE, "d-s001.vmdk", 0 },
		{ VMDK_RW, 4, VMDK_EXT_FLAT, "d-f002.vmdk", 0 },
		{ VMDK_RDONLY, 2, VMDK_EXT_ZERO, NULL, 0 },
	};
	struct vmdk_desc d = { 0 };
	struct vimg_error err = VIMG_ERROR_INIT;
	char *out;
	size_t len;

	ck_assert_vimg_ok(desc_parse(&d, text, sizeof(text) - 1, &err), &err);
	ck_assert_vimg_ok(desc_set_extents(&d, x, 3, &err), &err);
	ck_assert_uint_eq(d.n_ext, 3);
	ck_assert_str_eq(d.ext[1].file, "d-f002.vmdk");
	ck_assert_ptr_ne(d.ext[1].file, x[1].file);
	ck_assert_vimg_ok(desc_render(&d, &out, &len, &err), &err);
	ck_assert_str_eq(out, "version=1\n# Extent description\nRW 16 SPARSE \"d-s001.vmdk\"\n"
			      "RW 4 FLAT \"d-f002.vmdk\" 0\nRDONLY 2 ZERO\n\nddb.adapterType = \"ide\"\n");
	free(out);
	ck_assert_vimg_ok(desc_set_extents(&d, x, 1, &err), &err);
	ck_assert_vimg_ok(desc_render(&d, &out, &len, &err), &err);
	ck_assert_str_eq(out, "version=1\n# Extent description\nRW 16 SPARSE \"d-s001.vmdk\"\n"
			      "\nddb.adapterType = \"ide\"\n");
	free(out);
	ck_assert_int_eq(desc_set_extents(&d, x, 0, &err), VIMG_EINVAL);
	x[0].file = "bad\"name";
	ck_assert_int_eq(desc_set_extents(&d, x, 1, &err), VIMG_EINVAL);
	ck_assert_uint_eq(d.n_ext, 1);
	desc_free(&d);
}
END_TEST

/* ---- round trips -------------------------------------------------------------- */

static const char *const rt_opts[] = {
	"subformat=monolithicSparse",
	"subformat=monolithicSparse,zeroed_grain=on",
	"subformat=monolithicFlat",
	"subformat=twoGbMaxExtentSparse",
	"subformat=twoGbMaxExtentFlat,adapter_type=lsilogic",
	"subformat=vmfs",
	"subformat=vmfsThin,hwversion=14",
};

START_TEST(test_roundtrip)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	const char *path = test_path("rt.vmdk");
	uint64_t size = (3 << 20) + 512;
	uint8_t *shadow = calloc(1, size), *buf = malloc(size), *p = malloc(300000);
	struct vimg_image *img;
	static const struct {
		uint64_t off, len;
		bool zero;
	} ops[] = {
		{ 0, 4096, false },	   { 1000, 70000, false },   { 65536, 65536, true },
		{ 70000, 100, false },	   { 300000, 131072, true }, { 262144, 65536, false },
		{ 500000, 12345, false },  { 131072, 65536, true },  { (3 << 20) - 513, 1025, false },
		{ 800000, 1, false },	   { 600000, 4000, true },   { 2 << 20, 262144, false },
		{ (2 << 20) + 65536, 65536, true },
	};

	ck_assert(shadow && buf && p);
	ck_assert_vimg_ok(vimg_image_create(path, "vmdk", size, rt_opts[_i], NULL, NULL, 0, &err),
			  &err);
	ck_assert_vimg_ok(vimg_image_open(path, NULL, VIMG_OPEN_RDWR, &img, &err), &err);
	ck_assert_str_eq(vimg_image_format(img), "vmdk");
	ck_assert_uint_eq(vimg_image_virtual_size(img), size);
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		test_pattern(p, ops[i].len, ops[i].off, (unsigned)i + 1);
		if (ops[i].zero) {
			ck_assert_vimg_ok(vimg_image_zero(img, ops[i].off, ops[i].len, 0, &err), &err);
			memset(shadow + ops[i].off, 0, ops[i].len);
		} else {
			ck_assert_vimg_ok(vimg_image_write(img, p, ops[i].off, ops[i].len, &err), &err);
			memcpy(shadow + ops[i].off, p, ops[i].len);
		}
		ck_assert_vimg_ok(vimg_image_read(img, buf, 0, size, &err), &err);
		ck_assert_msg(!memcmp(buf, shadow, size), "%s: mismatch after op %zu", rt_opts[_i], i);
	}
	ck_assert_vimg_ok(vimg_image_close(img, &err), &err);
	ck_assert_vimg_ok(vimg_image_open(path, NULL, 0, &img, &err), &err);
	ck_assert_vimg_ok(vimg_image_read(img, buf, 0, size, &err), &err);
	ck_assert_msg(!memcmp(buf, shadow, size), "%s: mismatch after reopen", rt_opts[_i]);
	vimg_image_close(img, NULL);
	own_check(path);
	spit(test_path("rt.raw"), shadow, size);
	if (have_qemu_img()) {
		ck_assert_msg(test_system("qemu-img check -q '%s'", path) == 0, "qemu-img check");
		ck_assert_msg(test_system("qemu-img compare -q '%s' '%s'", path, test_path("rt.raw")) ==
				      0,
			      "qemu-img compare (%s)", rt_opts[_i]);
	}
	free(shadow);
	free(buf);
	free(p);
}
END_TEST

START_TEST(test_zeroed_grain_gte)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	const char *path = test_path("zg.vmdk");
	struct vimg_image *img;
	struct vimg_run run;
	uint8_t *p = malloc(65536);

	ck_assert_vimg_ok(vimg_image_create(path, "vmdk", 1 << 20, "zeroed_grain=on", NULL, NULL, 0,
					    &err),
			  &err);
	ck_assert_vimg_ok(vimg_image_open(path, NULL, VIMG_OPEN_RDWR, &img, &err), &err);
	memset(p, 0x5a, 65536);
	ck_assert_vimg_ok(vimg_image_write(img, p, 0, 65536, &err), &err);
	ck_assert_vimg_ok(vimg_image_zero(img, 0, 131072, 0, &err), &err);
	ck_assert_vimg_ok(vimg_image_block_status(img, 0, 1 << 20, &run, &err), &err);
	/* Grain 0 had data: now a zeroed-grain GTE. Grain 1 was unallocated: stays so. */
	ck_assert_int_eq(run.kind, VIMG_RUN_ZERO);
	ck_assert_uint_eq(run.length, 65536);
	ck_assert_vimg_ok(vimg_image_read(img, p, 0, 65536, &err), &err);
	ck_assert(p[0] == 0 && p[65535] == 0);
	vimg_image_close(img, NULL);
	free(p);
}
END_TEST

/* ---- streamOptimized --------------------------------------------------------------- */

START_TEST(test_stream_checklist)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	const char *path = test_path("s.vmdk");
	uint64_t size = (5 << 20) + 1536; /* a partial last grain */
	uint8_t *shadow = calloc(1, size), *buf = malloc(size), *f;
	struct vimg_image *img;
	size_t flen;

	ck_assert_vimg_ok(vimg_image_create(path, "vmdk", size, "subformat=streamOptimized", NULL,
					    NULL, 0, &err),
			  &err);
	ck_assert_vimg_ok(vimg_image_open(path, NULL, VIMG_OPEN_RDWR, &img, &err), &err);
	/* Increasing order, partial grains, gaps, a flush in the middle. */
	test_pattern(shadow + 1000, 5000, 1000, 1);
	test_pattern(shadow + 70000, 200000, 70000, 2);
	test_pattern(shadow + (4 << 20) + 100, 30000, (4 << 20) + 100, 3);
	test_pattern(shadow + size - 700, 700, size - 700, 4);
	ck_assert_vimg_ok(vimg_image_write(img, shadow + 1000, 1000, 5000, &err), &err);
	ck_assert_vimg_ok(vimg_image_write(img, shadow + 70000, 70000, 100000, &err), &err);
	ck_assert_vimg_ok(vimg_image_flush(img, &err), &err);
	ck_assert_vimg_ok(vimg_image_write(img, shadow + 170000, 170000, 100000, &err), &err);
	ck_assert_vimg_ok(vimg_image_read(img, buf, 0, size, &err), &err);
	ck_assert(!memcmp(buf, shadow, 4 << 20)); /* later patterns are not written yet */
	ck_assert_vimg_fails(vimg_image_write(img, shadow, 0, 512, &err), &err, VIMG_EUNSUPPORTED,
			     "increasing order");
	vimg_error_clear(&err);
	ck_assert_vimg_ok(vimg_image_write(img, shadow + (4 << 20) + 100, (4 << 20) + 100, 30000,
					   &err),
			  &err);
	ck_assert_vimg_ok(vimg_image_write(img, shadow + size - 700, size - 700, 700, &err), &err);
	ck_assert_vimg_ok(vimg_image_close(img, &err), &err);

	ck_assert_vimg_ok(vimg_image_open(path, NULL, 0, &img, &err), &err);
	ck_assert_vimg_ok(vimg_image_read(img, buf, 0, size, &err), &err);
	ck_assert(!memcmp(buf, shadow, size));
	vimg_image_close(img, NULL);
	own_check(path);

	/* The checklist at the top of formats/vmdk-stream.c, item by item. */
	f = slurp(path, &flen);
	ck_assert(flen % 512 == 0 && flen >= 4 * 512);
	ck_assert(!memcmp(f, "KDMV", 4));				/* 1 */
	ck_assert_uint_eq(ld_le32(f + 4), 3);
	ck_assert_uint_eq(ld_le32(f + 8), 0x30001);			/* 2 */
	ck_assert(!memcmp(f + 73, "\n \r\n", 4));
	ck_assert_uint_eq(ld_le16(f + 77), 1);				/* 3 */
	ck_assert_uint_eq(ld_le64(f + 20), 128);
	ck_assert_uint_eq(ld_le32(f + 44), 512);
	ck_assert_uint_eq(ld_le64(f + 48), 0);
	ck_assert_uint_eq(ld_le64(f + 56), UINT64_MAX);			/* 4 */
	ck_assert_uint_eq(ld_le32(f + flen - 1536 + 12), VMDK_MARKER_FOOTER);
	ck_assert(!memcmp(f + flen - 1024, "KDMV", 4));
	uint64_t gd = ld_le64(f + flen - 1024 + 56);
	ck_assert(gd > 0 && gd * 512 < flen);
	ck_assert_uint_eq(ld_le32(f + gd * 512 - 512 + 12), VMDK_MARKER_GD);
	for (size_t i = flen - 512; i < flen; i++)
		ck_assert(f[i] == 0);
	/* 5: every grain found through GD/GT is sector aligned, lba matches. */
	uint64_t grains = 0;
	for (uint64_t t = 0; t * 512 * 128 * 512 < size; t++) {
		uint64_t gt = ld_le32(f + gd * 512 + t * 4);

		if (!gt)
			continue;
		ck_assert_uint_eq(ld_le32(f + gt * 512 - 512 + 12), VMDK_MARKER_GT);
		for (uint64_t i = 0; i < 512; i++) {
			uint64_t s = ld_le32(f + gt * 512 + i * 4);

			if (!s)
				continue;
			ck_assert(s * 512 + 12 < flen);
			ck_assert_uint_eq(ld_le64(f + s * 512), (t * 512 + i) * 128);
			grains++;
		}
	}
	ck_assert_uint_eq(grains, 7); /* grains 0, 1-4, 64, and the last one */
	/* 6: the embedded descriptor. */
	ck_assert_uint_eq(ld_le64(f + 28), 1);
	const char *d = (const char *)f + 512;
	ck_assert_ptr_nonnull(strstr(d, "createType=\"streamOptimized\""));
	ck_assert_ptr_nonnull(strstr(d, "\nRW 10243 SPARSE \"s.vmdk\"\n"));
	ck_assert_ptr_nonnull(strstr(d, "ddb.virtualHWVersion = \"4\""));
	ck_assert_ptr_nonnull(strstr(d, "ddb.adapterType = \"lsilogic\""));
	ck_assert_ptr_nonnull(strstr(d, "ddb.toolsInstallType = \"4\""));
	ck_assert_ptr_nonnull(strstr(d, "ddb.toolsVersion = \"2147483647\""));
	ck_assert_ptr_nonnull(strstr(d, "ddb.geometry.heads = \"255\""));
	free(f);
	if (have_qemu_img()) {
		spit(test_path("s.raw"), shadow, size);
		ck_assert(test_system("qemu-img compare -q '%s' '%s'", path, test_path("s.raw")) == 0);
	}
	/* Written and closed, the stream opens writable but takes no write and
	 * names the way to change it. */
	ck_assert_vimg_ok(vimg_image_open(path, NULL, VIMG_OPEN_RDWR, &img, &err), &err);
	ck_assert_vimg_fails(vimg_image_write(img, shadow, size - 512, 512, &err), &err,
			     VIMG_EUNSUPPORTED, "subformat=streamOptimized");
	vimg_error_clear(&err);
	ck_assert_vimg_ok(vimg_image_close(img, &err), &err);
	free(shadow);
	free(buf);
}
END_TEST

/* ---- CID and delta disks ------------------------------------------------------------- */

static uint32_t read_cid(const char *path)
{
	size_t len;
	uint8_t *b = slurp(path, &len);
	char *p = memmem(b, len, "\nCID=", 5);
	uint32_t cid;

	ck_assert_ptr_nonnull(p);
	cid = (uint32_t)strtoul(p + 5, NULL, 16);
	free(b);
	return cid;
}

START_TEST(test_cid_and_delta)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	const char *parent = test_path("parent.vmdk"), *child = test_path("child.vmdk");
	struct vimg_image *img;
	uint8_t a[4096], b[4096];
	uint32_t cid0;

	ck_assert_vimg_ok(vimg_image_create(parent, "vmdk", 1 << 20, NULL, NULL, NULL, 0, &err), &err);
	ck_assert_vimg_ok(vimg_image_open(parent, NULL, VIMG_OPEN_RDWR, &img, &err), &err);
	memset(a, 0x77, sizeof(a));
	ck_assert_vimg_ok(vimg_image_write(img, a, 8192, sizeof(a), &err), &err);
	vimg_image_close(img, NULL);
	cid0 = read_cid(parent);

	ck_assert_vimg_ok(vimg_image_create(child, "vmdk", 0, NULL, "parent.vmdk", "vmdk", 0, &err),
			  &err);
	ck_assert_vimg_ok(vimg_image_open(child, NULL, VIMG_OPEN_RDWR, &img, &err), &err);
	ck_assert_str_eq(vimg_image_backing_name(img), "parent.vmdk");
	memset(b, 0x88, 100);
	ck_assert_vimg_ok(vimg_image_write(img, b, 8192 + 1000, 100, &err), &err);
	ck_assert_vimg_ok(vimg_image_read(img, b, 8192, sizeof(b), &err), &err);
	ck_assert(b[0] == 0x77 && b[999] == 0x77 && b[1000] == 0x88 && b[1100] == 0x77);
	vimg_image_close(img, NULL);
	ck_assert_uint_eq(read_cid(parent), cid0); /* the parent is never written */

	/* Writing the parent gives it a new CID: the child's link breaks. */
	ck_assert_vimg_ok(vimg_image_open(parent, NULL, VIMG_OPEN_RDWR, &img, &err), &err);
	ck_assert_vimg_ok(vimg_image_write(img, a, 0, 512, &err), &err);
	vimg_image_close(img, NULL);
	ck_assert_uint_ne(read_cid(parent), cid0);
	ck_assert_int_eq(vimg_image_open(child, NULL, 0, &img, &err), VIMG_EBACKING);
	ck_assert_ptr_nonnull(strstr(err.msg, "does not match the parent's CID"));
	vimg_error_clear(&err);
	/* A delta of a non-vmdk parent is refused, as in VMware and qemu. */
	ck_assert_int_eq(vimg_image_create(test_path("c2.vmdk"), "vmdk", 1 << 20, NULL, "parent.vmdk",
					   "raw", 0, &err),
			 VIMG_EUNSUPPORTED);
}
END_TEST

/* ---- fixtures -------------------------------------------------------------------------- */

static const char *const fixtures[] = {
	"stream-qemu.vmdk.gz", "sparse-zeroed.vmdk.gz", "cowd.vmdk",
	"cowd-delta.vmdk",     "se.vmdk",		"se-sesparse.vmdk",
};

/* The fixture as an openable path (gzipped ones unpacked to the test dir). */
static const char *fixture_path(const char *name)
{
	char rel[128];
	size_t l = strlen(name);

	snprintf(rel, sizeof(rel), "vmdk/%s", name);
	if (l > 3 && !strcmp(name + l - 3, ".gz")) {
		const char *dst = test_path("fixture.vmdk");

		ck_assert(test_system("gzip -dc '%s' > '%s'", test_fixture(rel), dst) == 0);
		return dst;
	}
	return test_fixture(rel);
}

START_TEST(test_fixture_read)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	const char *path = fixture_path(fixtures[_i]);
	struct vimg_image *img;
	uint8_t *buf = malloc(1 << 20);

	ck_assert_vimg_ok(vimg_image_open(path, NULL, 0, &img, &err), &err);
	ck_assert_str_eq(vimg_image_format(img), "vmdk");
	ck_assert_uint_eq(vimg_image_virtual_size(img), 1 << 20);
	ck_assert_vimg_ok(vimg_image_read(img, buf, 0, 1 << 20, &err), &err);
	for (uint32_t i = 0; i < (1u << 20); i++) {
		uint8_t want = i < 8192 ? 0x11 : i >= 102400 && i < 105472 ? 0x22 : 0;

		if (buf[i] != want)
			ck_abort_msg("%s: byte 0x%x is %02x", fixtures[_i], i, buf[i]);
	}
	if (_i == 1) { /* grain 2 (128 KiB) is a zeroed-grain GTE */
		struct vimg_run run;

		ck_assert_vimg_ok(vimg_image_block_status(img, 128 << 10, 64 << 10, &run, &err), &err);
		ck_assert_int_eq(run.kind, VIMG_RUN_ZERO);
	}
	vimg_image_close(img, NULL);
	own_check(path);
	free(buf);
}
END_TEST

/* ---- malformed images ---------------------------------------------------------------- */

static void expect_open_error(const char *path, int code, const char *substr)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *img = NULL;

	ck_assert_vimg_fails(vimg_image_open(path, NULL, 0, &img, &err), &err, code, substr);
	ck_assert_ptr_null(img);
}

static void write_text(const char *path, const char *text)
{
	spit(path, text, strlen(text));
}

START_TEST(test_malformed)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	const char *path = test_path("m.vmdk"), *bad = test_path("bad.vmdk");
	uint8_t *f;
	size_t len;
	FILE *fp;

	ck_assert_vimg_ok(vimg_image_create(path, "vmdk", 4 << 20, NULL, NULL, NULL, 0, &err), &err);
	f = slurp(path, &len);
	/* Grain size 0. */
	uint8_t *g = malloc(len);
	memcpy(g, f, len);
	st_le64(g + 20, 0);
	spit(bad, g, len);
	expect_open_error(bad, VIMG_ECORRUPT, "grain size 0");
	/* Grain table beyond end of file. */
	memcpy(g, f, len);
	st_le32(g + ld_le64(f + 56) * 512 + 4 * 0, 0x7fffff00);
	spit(bad, g, len);
	expect_open_error(bad, VIMG_ECORRUPT, "grain table 0: offset beyond end of file");
	/* Grain directory beyond end of file. */
	memcpy(g, f, len);
	st_le64(g + 56, 0x1000000);
	spit(bad, g, len);
	expect_open_error(bad, VIMG_ECORRUPT, "grain directory beyond end of file");
	/* Unknown version and incompatible flag. */
	memcpy(g, f, len);
	st_le32(g + 4, 9);
	spit(bad, g, len);
	expect_open_error(bad, VIMG_EUNSUPPORTED, "version 9");
	memcpy(g, f, len);
	st_le32(g + 8, 1u << 20);
	spit(bad, g, len);
	expect_open_error(bad, VIMG_EUNSUPPORTED, "incompatible");
	/* Stream header with GD at end but no footer. */
	memcpy(g, f, len);
	st_le64(g + 56, UINT64_MAX);
	spit(bad, g, len);
	expect_open_error(bad, VIMG_ECORRUPT, "footer");
	free(g);
	free(f);

	/* Descriptor: escaping extent, too many extents, absurd size, no extents. */
	/* The target exists, so only the policy can refuse it. */
	test_system("mkdir -p '%s/a/b' '%s/etc' && echo x > '%s/etc/passwd'", test_tmpdir(),
		    test_tmpdir(), test_tmpdir());
	write_text(test_path("a/b/esc.vmdk"), "# Disk DescriptorFile\nversion=1\nCID=1\n"
					      "createType=\"monolithicFlat\"\n"
					      "RW 8 FLAT \"../../etc/passwd\" 0\n");
	expect_open_error(test_path("a/b/esc.vmdk"), VIMG_EACCES, "path policy");
	write_text(bad, "# Disk DescriptorFile\nversion=1\nCID=1\nRW 8 FLAT \"/etc/passwd\" 0\n");
	expect_open_error(bad, VIMG_EACCES, "path policy");
	fp = fopen(bad, "w");
	fputs("# Disk DescriptorFile\nversion=1\nCID=1\ncreateType=\"twoGbMaxExtentSparse\"\n", fp);
	for (int i = 0; i < 70000; i++)
		fprintf(fp, "RW 4192256 SPARSE \"x-s%d.vmdk\"\n", i);
	fclose(fp);
	expect_open_error(bad, VIMG_ECORRUPT, "more than 65536 extents");
	write_text(bad, "# Disk DescriptorFile\nversion=1\nCID=1\n"
			"RW 1000000000000000000 FLAT \"x\" 0\n");
	expect_open_error(bad, VIMG_ECORRUPT, "too large");
	write_text(bad, "# Disk DescriptorFile\nversion=1\nCID=1\n"
			"RW 99999999999999999999999 FLAT \"x\" 0\n");
	expect_open_error(bad, VIMG_ECORRUPT, "bad extent size");
	write_text(bad, "# Disk DescriptorFile\nversion=1\nCID=1\ncreateType=\"monolithicFlat\"\n");
	expect_open_error(bad, VIMG_ECORRUPT, "no extents");
	write_text(bad, "# Disk DescriptorFile\nversion=1\nCID=xyz\nRW 8 ZERO\n");
	expect_open_error(bad, VIMG_ECORRUPT, "bad CID");
	write_text(bad, "# Disk DescriptorFile\nversion=1\nRW 8 FLAT x.vmdk 0\n");
	expect_open_error(bad, VIMG_ECORRUPT, "quoted");
	write_text(bad, "# Disk DescriptorFile\nversion=1\nRW 8 WHATEVER \"x\"\n");
	expect_open_error(bad, VIMG_EUNSUPPORTED, "unknown extent type");
	write_text(bad, "# Disk DescriptorFile\nversion=1\nRW 8 SPARSE \"m.vmdk\"\n"
			"RW 100000 SPARSE \"m.vmdk\"\n");
	expect_open_error(bad, VIMG_ECORRUPT, "holds only");
}
END_TEST

/* ---- mutations ---------------------------------------------------------------------------- */

START_TEST(test_mutations)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	const char *src, *mut = test_path("mut.vmdk");
	uint8_t *orig, *data, *buf = malloc(1 << 20);
	size_t len;

	if (_i < 6) {
		src = fixture_path(fixtures[_i]);
	} else {
		src = test_path("made.vmdk");
		ck_assert_vimg_ok(vimg_image_create(src, "vmdk", 1 << 20,
						    _i == 6 ? "subformat=streamOptimized" : NULL, NULL,
						    NULL, 0, &err),
				  &err);
		struct vimg_image *img;
		ck_assert_vimg_ok(vimg_image_open(src, NULL, VIMG_OPEN_RDWR, &img, &err), &err);
		test_pattern(buf, 300000, 0, 9);
		ck_assert_vimg_ok(vimg_image_write(img, buf, 0, 300000, &err), &err);
		vimg_image_close(img, NULL);
	}
	orig = slurp(src, &len);
	data = malloc(len);
	srand(1234 + (unsigned)_i);
	for (int round = 0; round < 150; round++) {
		struct vimg_image *img;
		size_t span = len < 65536 ? len : 65536;

		memcpy(data, orig, len);
		/* 1% of the metadata-dense head, sometimes of the whole file. */
		for (size_t k = 0; k < span / 100 + 1; k++) {
			size_t at = (size_t)rand() % (round % 4 ? span : len);

			data[at] ^= (uint8_t)(1u << (rand() % 8));
		}
		spit(mut, data, len);
		vimg_error_clear(&err);
		if (vimg_image_open(mut, "vmdk", VIMG_OPEN_NO_BACKING, &img, &err) != 0)
			continue;
		test_walk_image(img);
		vimg_image_close(img, NULL);
	}
	free(orig);
	free(data);
	free(buf);
}
END_TEST

static int count_file(void *opaque, const char *path)
{
	(void)path;
	(*(int *)opaque)++;
	return 0;
}

START_TEST(test_files_and_split)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	const char *path = test_path("split.vmdk");
	struct vimg_image *img;
	static const uint64_t offs[] = { 0, (2ull << 30) - 256, 3ull << 30, (4ull << 30) - 256,
					 (5ull << 30) - 512 };
	uint8_t a[512], b[512];
	int n = 0;

	/* 5 GiB sparse: three extents, data written into each one. */
	ck_assert_vimg_ok(vimg_image_create(path, "vmdk", 5ull << 30,
					    "subformat=twoGbMaxExtentSparse", NULL, NULL, 0, &err),
			  &err);
	ck_assert_vimg_ok(vimg_image_open(path, NULL, VIMG_OPEN_RDWR, &img, &err), &err);
	ck_assert_vimg_ok(vimg_image_files(img, count_file, &n, &err), &err);
	ck_assert_int_eq(n, 4); /* the descriptor and three extents */
	for (int i = 0; i < 5; i++) {
		memset(a, i + 1, sizeof(a));
		ck_assert_vimg_ok(vimg_image_write(img, a, offs[i], 512, &err), &err);
	}
	vimg_image_close(img, NULL);
	ck_assert_vimg_ok(vimg_image_open(path, NULL, 0, &img, &err), &err);
	for (int i = 0; i < 5; i++) {
		memset(a, i + 1, sizeof(a));
		ck_assert_vimg_ok(vimg_image_read(img, b, offs[i], 512, &err), &err);
		ck_assert(!memcmp(a, b, sizeof(a)));
	}
	vimg_image_close(img, NULL);
	own_check(path);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("vmdk");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_descriptor_edit);
	tcase_add_test(tc, test_descriptor_extents);
	tcase_add_loop_test(tc, test_roundtrip, 0, sizeof(rt_opts) / sizeof(rt_opts[0]));
	tcase_add_test(tc, test_zeroed_grain_gte);
	tcase_add_test(tc, test_stream_checklist);
	tcase_add_test(tc, test_cid_and_delta);
	tcase_add_test(tc, test_files_and_split);
	suite_add_tcase(s, tc);

	tc = tcase_create("fixtures");
	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, test_fixture_read, 0, sizeof(fixtures) / sizeof(fixtures[0]));
	tcase_add_test(tc, test_malformed);
	tcase_add_loop_test(tc, test_mutations, 0, 8);
	suite_add_tcase(s, tc);
	return s;
}
