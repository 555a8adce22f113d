/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of the qcow2 driver through the public API: create/write/read
 * round trips (partial, zero, compressed, over a backing file, extended L2,
 * small refcounts), refcount consistency (own check, and `qemu-img check`
 * when qemu-img is installed), the fixtures made by qemu-img (v2, compressed,
 * extended L2, internal snapshot), internal snapshots taken, applied and
 * deleted with exact refcounts and COPIED flags, and a mutation smoke test:
 * 1% of the bytes of each fixture flipped, opened and read, must never crash.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testlib.h"

static bool have_qemu_img(void)
{
	return test_system("qemu-img --version >/dev/null 2>&1") == 0;
}

static void peer_check(const char *path)
{
	if (have_qemu_img())
		ck_assert_msg(test_system("qemu-img check -q '%s'", path) == 0,
			      "qemu-img check %s failed", path);
}

static void own_check(const char *path)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *img;
	struct vimg_check rep = { 0 };

	ck_assert_vimg_ok(vimg_image_open(path, "qcow2", VIMG_OPEN_NO_BACKING, &img, &err), &err);
	ck_assert_vimg_ok(vimg_image_check(img, &rep, 0, &err), &err);
	ck_assert_msg(rep.corruptions == 0 && rep.leaks == 0, "%s: %llu corruptions, %llu leaks",
		      path, (unsigned long long)rep.corruptions, (unsigned long long)rep.leaks);
	vimg_image_close(img, NULL);
}

/* Apply the same operations to the image and to a shadow buffer, then compare. */
static void roundtrip(const char *opts, const char *backing, uint64_t size)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	const char *path = test_path("rt.qcow2");
	struct vimg_image *img;
	uint8_t *shadow = calloc(1, size), *buf = malloc(size), *p = malloc(size > 200000 ? size : 200000);
	static const struct {
		uint64_t off, len;
		int kind; /* 0 write, 1 zero, 2 compressed cluster */
	} ops[] = {
		{ 0, 4096, 0 },	      { 1000, 70000, 0 },   { 65536, 65536, 2 },
		{ 70000, 100, 0 },    { 300000, 131072, 1 }, { 262144, 65536, 2 },
		{ 500000, 12345, 0 }, { 131072, 65536, 1 },  { 1048576 - 513, 513, 0 },
		{ 800000, 1, 0 },     { 600000, 4000, 1 },   { 262144 + 512, 512, 0 },
	};

	ck_assert(shadow && buf && p);
	if (backing) {
		FILE *f = fopen(backing, "rb");

		ck_assert(f != NULL);
		ck_assert(fread(shadow, 1, size, f) == size);
		fclose(f);
	}
	unlink(path);
	ck_assert_vimg_ok(vimg_image_create(path, "qcow2", size, opts, backing,
					    backing ? "raw" : NULL, VIMG_CREATE_ALLOW_ESCAPE, &err),
			  &err);
	ck_assert_vimg_ok(vimg_image_open(path, NULL, VIMG_OPEN_RDWR | VIMG_OPEN_ALLOW_ESCAPE,
					  &img, &err),
			  &err);
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		uint64_t off = ops[i].off, len = ops[i].len;
		uint32_t cs = vimg_image_cluster_size(img);

		test_pattern(p, len, off, (unsigned)i + 1);
		if (ops[i].kind == 0) {
			ck_assert_vimg_ok(vimg_image_write(img, p, off, len, &err), &err);
			memcpy(shadow + off, p, len);
		} else if (ops[i].kind == 1) {
			ck_assert_vimg_ok(vimg_image_zero(img, off, len, 0, &err), &err);
			memset(shadow + off, 0, len);
		} else {
			/* A compressible cluster. */
			off = off / cs * cs;
			len = cs < size - off ? cs : size - off;
			for (uint64_t j = 0; j < len; j++)
				p[j] = (uint8_t)(j / 100);
			ck_assert_vimg_ok(vimg_image_write_compressed(img, p, off, len, &err), &err);
			memcpy(shadow + off, p, len);
		}
	}
	ck_assert_vimg_ok(vimg_image_read(img, buf, 0, size, &err), &err);
	for (uint64_t i = 0; memcmp(buf, shadow, size) && i < size; i++)
		ck_assert_msg(buf[i] == shadow[i], "%s: byte 0x%llx: %02x != %02x", opts,
			      (unsigned long long)i, buf[i], shadow[i]);
	ck_assert_vimg_ok(vimg_image_close(img, &err), &err);
	own_check(path);
	peer_check(path);

	/* Reopened read-only, the content is the same. */
	ck_assert_vimg_ok(vimg_image_open(path, NULL, VIMG_OPEN_ALLOW_ESCAPE, &img, &err), &err);
	ck_assert_vimg_ok(vimg_image_read(img, buf, 0, size, &err), &err);
	ck_assert(memcmp(buf, shadow, size) == 0);
	vimg_image_close(img, NULL);
	free(shadow);
	free(buf);
	free(p);
}

START_TEST(test_roundtrip_default)
{
	roundtrip(NULL, NULL, 1 << 20);
}
END_TEST

START_TEST(test_roundtrip_options)
{
	static const char *const opts[] = {
		"cluster_size=512",
		"cluster_size=2M",
		"compat=0.10",
		"extended_l2=on",
		"refcount_bits=1,cluster_size=4k",
		"refcount_bits=64",
		"lazy_refcounts=on",
		"compression_type=zstd",
		"preallocation=metadata",
	};

	roundtrip(opts[_i], NULL, 1 << 20);
}
END_TEST

START_TEST(test_roundtrip_backing)
{
	static const char *const opts[] = { NULL, "compat=0.10", "extended_l2=on",
					    "cluster_size=4k" };
	const char *base = test_path("base.raw");

	test_write_pattern(base, 1 << 20, 99);
	roundtrip(opts[_i], base, 1 << 20);
}
END_TEST

/* Many small writes force refcount blocks and a refcount table move. */
START_TEST(test_refcount_growth)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	const char *path = test_path("grow.qcow2");
	struct vimg_image *img;
	uint8_t b[512];
	uint64_t size = 64ull << 20;

	ck_assert_vimg_ok(vimg_image_create(path, "qcow2", size, "cluster_size=512,refcount_bits=64",
					    NULL, NULL, 0, &err),
			  &err);
	ck_assert_vimg_ok(vimg_image_open(path, NULL, VIMG_OPEN_RDWR, &img, &err), &err);
	for (uint64_t off = 0; off < size; off += 16384) {
		test_pattern(b, sizeof(b), off, 5);
		ck_assert_vimg_ok(vimg_image_write(img, b, off, sizeof(b), &err), &err);
	}
	ck_assert_vimg_ok(vimg_image_close(img, &err), &err);
	own_check(path);
	peer_check(path);
	ck_assert_vimg_ok(vimg_image_open(path, NULL, 0, &img, &err), &err);
	for (uint64_t off = 0; off < size; off += 16384 * 61) {
		uint8_t want[512];

		test_pattern(want, sizeof(want), off, 5);
		ck_assert_vimg_ok(vimg_image_read(img, b, off, sizeof(b), &err), &err);
		ck_assert(memcmp(b, want, sizeof(b)) == 0);
	}
	vimg_image_close(img, NULL);
}
END_TEST

/*
 * Rewriting compressed clusters frees the host clusters they were packed
 * into; allocation reuses them, so twenty rounds of rewrites keep the file
 * near the size of two rounds, with exact refcounts and the data of the last.
 */
static int64_t file_bytes(const char *path)
{
	struct stat st;

	ck_assert_int_eq(stat(path, &st), 0);
	return st.st_size;
}

START_TEST(test_cluster_reuse)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	const char *path = test_path("reuse.qcow2");
	struct vimg_image *img;
	enum { CS = 65536, N = 32, ROUNDS = 20 };
	uint8_t *b = malloc(CS), *got = malloc(CS);
	int64_t after_first = 0;

	ck_assert_vimg_ok(vimg_image_create(path, "qcow2", 8ull << 20, NULL, NULL, NULL, 0, &err),
			  &err);
	for (unsigned round = 0; round < ROUNDS; round++) {
		ck_assert_vimg_ok(vimg_image_open(path, NULL, VIMG_OPEN_RDWR, &img, &err), &err);
		for (uint64_t i = 0; i < N; i++) {
			/* Half noise, half zeros: each takes about half a host cluster. */
			test_pattern(b, CS / 2, i * CS + round, 9);
			memset(b + CS / 2, 0, CS / 2);
			ck_assert_vimg_ok(vimg_image_write_compressed(img, b, i * CS, CS, &err), &err);
		}
		/* One plain rewrite per round takes a freed cluster as well. */
		test_pattern(b, CS, round, 3);
		ck_assert_vimg_ok(vimg_image_write(img, b, N * CS, CS, &err), &err);
		ck_assert_vimg_ok(vimg_image_close(img, &err), &err);
		if (round == 0)
			after_first = file_bytes(path);
	}
	int64_t final = file_bytes(path);

	ck_assert_msg(final < 3 * after_first, "file grew from %lld to %lld bytes",
		      (long long)after_first, (long long)final);
	own_check(path);
	peer_check(path);
	ck_assert_vimg_ok(vimg_image_open(path, NULL, 0, &img, &err), &err);
	for (uint64_t i = 0; i < N; i++) {
		test_pattern(b, CS / 2, i * CS + ROUNDS - 1, 9);
		memset(b + CS / 2, 0, CS / 2);
		ck_assert_vimg_ok(vimg_image_read(img, got, i * CS, CS, &err), &err);
		ck_assert_msg(memcmp(b, got, CS) == 0, "cluster %llu differs", (unsigned long long)i);
	}
	test_pattern(b, CS, ROUNDS - 1, 3);
	ck_assert_vimg_ok(vimg_image_read(img, got, N * CS, CS, &err), &err);
	ck_assert(memcmp(b, got, CS) == 0);
	vimg_image_close(img, NULL);
	free(b);
	free(got);
}
END_TEST

/* ---- fixtures made by qemu-img -------------------------------------------------- */

static const char *const fixtures[] = { "v2", "v3-compressed", "extl2", "snapshot" };

static const char *fixture_image(const char *name)
{
	char gz[128];
	const char *dst;

	snprintf(gz, sizeof(gz), "qcow2/%s.qcow2.gz", name);
	dst = test_path(name);
	ck_assert_msg(test_system("gzip -dc '%s' > '%s.qcow2'", test_fixture(gz), dst) == 0,
		      "cannot unpack %s", gz);
	return dst; /* the image is dst + ".qcow2" */
}

static uint8_t expect_byte(const char *name, uint64_t off, bool snapshot_view)
{
	if (!strcmp(name, "snapshot") && !snapshot_view && off < 4096)
		return 0x44;
	if (off < 8192)
		return 0x11;
	if (off >= 102400 && off < 105472)
		return 0x22;
	return 0;
}

static void verify(struct vimg_image *img, const char *name, bool view)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	uint64_t size = vimg_image_virtual_size(img);
	uint8_t *buf = malloc(size);

	ck_assert_uint_eq(size, 1 << 20);
	ck_assert_vimg_ok(vimg_image_read(img, buf, 0, size, &err), &err);
	for (uint64_t i = 0; i < size; i++)
		if (buf[i] != expect_byte(name, i, view))
			ck_abort_msg("%s: byte 0x%llx is %02x", name, (unsigned long long)i, buf[i]);
	free(buf);
}

START_TEST(test_fixture_read)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *img;
	char path[512];
	struct vimg_run run;

	snprintf(path, sizeof(path), "%s.qcow2", fixture_image(fixtures[_i]));
	ck_assert_vimg_ok(vimg_image_open(path, NULL, 0, &img, &err), &err);
	ck_assert_str_eq(vimg_image_format(img), "qcow2");
	verify(img, fixtures[_i], false);
	/* The unwritten tail is this layer's UNALLOCATED, never ZERO. */
	ck_assert_vimg_ok(vimg_image_block_status(img, 512 << 10, 512 << 10, &run, &err), &err);
	ck_assert_int_eq(run.kind, VIMG_RUN_UNALLOCATED);
	ck_assert_uint_eq(run.length, 512 << 10);
	vimg_image_close(img, NULL);
	own_check(path);
}
END_TEST

static int count_snap(void *opaque, const struct vimg_snapshot *s)
{
	int *n = opaque;

	ck_assert_str_eq(s->name, "snap1");
	ck_assert_str_eq(s->id, "1");
	ck_assert_uint_eq(s->disk_size, 1 << 20);
	(*n)++;
	return 0;
}

START_TEST(test_snapshot)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *img, *view;
	char path[512];
	int n = 0;

	snprintf(path, sizeof(path), "%s.qcow2", fixture_image("snapshot"));
	ck_assert_vimg_ok(vimg_image_open(path, NULL, 0, &img, &err), &err);
	ck_assert_vimg_ok(vimg_image_snapshot_list(img, count_snap, &n, &err), &err);
	ck_assert_int_eq(n, 1);
	ck_assert_vimg_ok(vimg_image_snapshot_open(img, "snap1", &view, &err), &err);
	verify(view, "snapshot", true);
	vimg_image_close(view, NULL);
	verify(img, "snapshot", false);
	vimg_error_clear(&err);
	ck_assert_int_eq(vimg_image_snapshot_open(img, "nope", &view, &err), VIMG_ENOENT);
	vimg_image_close(img, NULL);
	own_check(path);

	/* Writing the active layer copies clusters shared with the snapshot. */
	ck_assert_vimg_ok(vimg_image_open(path, NULL, VIMG_OPEN_RDWR, &img, &err), &err);
	{
		uint8_t b[6000];

		memset(b, 0x55, sizeof(b));
		ck_assert_vimg_ok(vimg_image_write(img, b, 5000, sizeof(b), &err), &err);
	}
	ck_assert_vimg_ok(vimg_image_close(img, &err), &err);
	own_check(path);
	peer_check(path);
	ck_assert_vimg_ok(vimg_image_open(path, NULL, 0, &img, &err), &err);
	ck_assert_vimg_ok(vimg_image_snapshot_open(img, "1", &view, &err), &err);
	verify(view, "snapshot", true);
	vimg_image_close(view, NULL);
	vimg_image_close(img, NULL);
}
END_TEST

/* The open image's own check: no corruption (COPIED flags included), no leak. */
static void check_open(struct vimg_image *img, const char *when)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_check rep = { 0 };

	ck_assert_vimg_ok(vimg_image_check(img, &rep, 0, &err), &err);
	ck_assert_msg(rep.corruptions == 0 && rep.leaks == 0, "%s: %llu corruptions, %llu leaks",
		      when, (unsigned long long)rep.corruptions, (unsigned long long)rep.leaks);
}

static void expect_content(struct vimg_image *img, const uint8_t *want, size_t size,
			   const char *what)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	uint8_t *buf = malloc(size);

	ck_assert(buf != NULL);
	ck_assert_vimg_ok(vimg_image_read(img, buf, 0, size, &err), &err);
	ck_assert_msg(memcmp(buf, want, size) == 0, "%s: content differs", what);
	free(buf);
}

static void expect_view(struct vimg_image *img, const char *snap, const uint8_t *want,
			size_t size)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *view;

	ck_assert_vimg_ok(vimg_image_snapshot_open(img, snap, &view, &err), &err);
	expect_content(view, want, size, snap);
	vimg_image_close(view, NULL);
}

/* Plain, zeroed and compressed clusters of a 1 MiB disk, mirrored in shadow. */
static void snap_writes(struct vimg_image *img, uint8_t *shadow, unsigned seed)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	uint32_t cs = vimg_image_cluster_size(img);
	uint8_t *p = malloc(cs > 70000 ? cs : 70000);

	ck_assert(p != NULL);
	test_pattern(p, 70000, 1000 * seed, seed);
	ck_assert_vimg_ok(vimg_image_write(img, p, 1000 * seed, 70000, &err), &err);
	memcpy(shadow + 1000 * seed, p, 70000);
	ck_assert_vimg_ok(vimg_image_zero(img, 524288, 65536, 0, &err), &err);
	memset(shadow + 524288, 0, 65536);
	for (uint32_t j = 0; j < cs; j++)
		p[j] = (uint8_t)(j / 100 + seed);
	ck_assert_vimg_ok(vimg_image_write_compressed(img, p, 786432, cs, &err), &err);
	memcpy(shadow + 786432, p, cs);
	free(p);
}

static int count_all(void *opaque, const struct vimg_snapshot *s)
{
	(void)s;
	(*(int *)opaque)++;
	return 0;
}

/*
 * Snapshots taken, viewed, applied and deleted in one session keep refcounts
 * and COPIED flags exact after every step (the image's own check while it
 * is open, then both checkers on the closed file), and every view its data.
 */
START_TEST(test_snapshot_refcounts)
{
	static const char *const opts[] = { NULL, "cluster_size=512", "compat=0.10",
					    "extended_l2=on", "refcount_bits=4,cluster_size=4k" };
	struct vimg_error err = VIMG_ERROR_INIT;
	const char *path = test_path("snaps.qcow2");
	enum { SIZE = 1 << 20 };
	uint8_t *sa = calloc(1, SIZE), *sb = malloc(SIZE), *cur = malloc(SIZE);
	struct vimg_image *img;
	int n = 0;

	ck_assert(sa && sb && cur);
	unlink(path);
	ck_assert_vimg_ok(vimg_image_create(path, "qcow2", SIZE, opts[_i], NULL, NULL, 0, &err),
			  &err);
	ck_assert_vimg_ok(vimg_image_open(path, NULL, VIMG_OPEN_RDWR, &img, &err), &err);
	snap_writes(img, sa, 1);
	ck_assert_vimg_ok(vimg_image_snapshot_create(img, "a", &err), &err);
	check_open(img, "create a");
	memcpy(sb, sa, SIZE);
	snap_writes(img, sb, 2);
	ck_assert_vimg_ok(vimg_image_snapshot_create(img, "b", &err), &err);
	memcpy(cur, sb, SIZE);
	snap_writes(img, cur, 3);
	check_open(img, "create b, write");
	expect_view(img, "a", sa, SIZE);
	expect_view(img, "2", sb, SIZE);

	ck_assert_vimg_ok(vimg_image_snapshot_apply(img, "a", &err), &err);
	check_open(img, "apply a");
	expect_content(img, sa, SIZE, "applied a");
	memcpy(cur, sa, SIZE);
	snap_writes(img, cur, 4);
	check_open(img, "write after apply");
	expect_view(img, "a", sa, SIZE);

	ck_assert_vimg_ok(vimg_image_snapshot_delete(img, "b", &err), &err);
	check_open(img, "delete b");
	expect_view(img, "a", sa, SIZE);
	expect_content(img, cur, SIZE, "current after deleting b");
	ck_assert_vimg_ok(vimg_image_snapshot_delete(img, "1", &err), &err);
	/* Nothing is shared any more: every cluster is COPIED again (checked). */
	check_open(img, "delete a");
	ck_assert_vimg_ok(vimg_image_snapshot_list(img, count_all, &n, &err), &err);
	ck_assert_int_eq(n, 0);
	snap_writes(img, cur, 5);
	ck_assert_vimg_ok(vimg_image_close(img, &err), &err);
	own_check(path);
	peer_check(path);
	ck_assert_vimg_ok(vimg_image_open(path, NULL, 0, &img, &err), &err);
	expect_content(img, cur, SIZE, "reopened");
	vimg_image_close(img, NULL);
	free(sa);
	free(sb);
	free(cur);
}
END_TEST

static void expect_code(int rc, int code, const struct vimg_error *err, const char *msg)
{
	ck_assert_msg(rc == code, "got %d (%s), want %d", rc, err->msg, code);
	ck_assert_msg(strstr(err->msg, msg), "message \"%s\" lacks \"%s\"", err->msg, msg);
}

/*
 * Narrow refcounts overflow while a snapshot's references are being added:
 * the refusal (1-bit refcounts at once, 2-bit ones on the way) leaves
 * refcounts, COPIED flags, the snapshot list and the data as they were.
 */
START_TEST(test_snapshot_refcount_overflow)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	const char *p1 = test_path("rc1.qcow2"), *p2 = test_path("rc2.qcow2");
	enum { SIZE = 1 << 20 };
	uint8_t *data = calloc(1, SIZE), *sa;
	struct vimg_image *img;
	int n = 0;

	ck_assert(data != NULL);
	ck_assert_vimg_ok(vimg_image_create(p1, "qcow2", SIZE, "refcount_bits=1", NULL, NULL, 0,
					    &err),
			  &err);
	ck_assert_vimg_ok(vimg_image_open(p1, NULL, VIMG_OPEN_RDWR, &img, &err), &err);
	snap_writes(img, data, 1);
	expect_code(vimg_image_snapshot_create(img, "a", &err), VIMG_EUNSUPPORTED, &err,
		    "refcount_bits=1");
	vimg_error_clear(&err);
	check_open(img, "1-bit refusal");
	ck_assert_vimg_ok(vimg_image_close(img, &err), &err);
	peer_check(p1);

	memset(data, 0, SIZE);
	ck_assert_vimg_ok(vimg_image_create(p2, "qcow2", SIZE, "refcount_bits=2", NULL, NULL, 0,
					    &err),
			  &err);
	ck_assert_vimg_ok(vimg_image_open(p2, NULL, VIMG_OPEN_RDWR, &img, &err), &err);
	snap_writes(img, data, 1);
	memset(data + 300000, 0x77, 4096); /* stays shared by a, b and the active tree */
	ck_assert_vimg_ok(vimg_image_write(img, data + 300000, 300000, 4096, &err), &err);
	sa = malloc(SIZE);
	ck_assert(sa != NULL);
	memcpy(sa, data, SIZE);
	ck_assert_vimg_ok(vimg_image_snapshot_create(img, "a", &err), &err);
	ck_assert_vimg_ok(vimg_image_snapshot_create(img, "b", &err), &err);
	/* Private clusters come first in the walk, so it fails half-way: three
	 * references (a, b, active) are all two bits hold. */
	snap_writes(img, data, 2);
	expect_code(vimg_image_snapshot_create(img, "c", &err), VIMG_ENOSPC, &err, "overflows");
	vimg_error_clear(&err);
	check_open(img, "create refused");
	expect_code(vimg_image_snapshot_apply(img, "a", &err), VIMG_ENOSPC, &err, "overflows");
	vimg_error_clear(&err);
	check_open(img, "apply refused");
	ck_assert_vimg_ok(vimg_image_snapshot_list(img, count_all, &n, &err), &err);
	ck_assert_int_eq(n, 2);
	expect_content(img, data, SIZE, "after refusals");
	ck_assert_vimg_ok(vimg_image_snapshot_delete(img, "b", &err), &err);
	ck_assert_vimg_ok(vimg_image_snapshot_apply(img, "a", &err), &err);
	check_open(img, "apply after delete");
	expect_content(img, sa, SIZE, "applied a");
	ck_assert_vimg_ok(vimg_image_close(img, &err), &err);
	own_check(p2);
	peer_check(p2);
	free(sa);
	free(data);
}
END_TEST

START_TEST(test_snapshot_errors)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	const char *path = test_path("snaperr.qcow2"), *raw = test_path("snaperr.raw");
	struct vimg_image *img, *view;
	int n = 0;

	ck_assert_vimg_ok(vimg_image_create(path, "qcow2", 1 << 20, NULL, NULL, NULL, 0, &err), &err);
	ck_assert_vimg_ok(vimg_image_open(path, NULL, 0, &img, &err), &err);
	expect_code(vimg_image_snapshot_create(img, "s", &err), VIMG_EROFS, &err, "read-only");
	vimg_image_close(img, NULL);

	vimg_error_clear(&err);
	ck_assert_vimg_ok(vimg_image_open(path, NULL, VIMG_OPEN_RDWR, &img, &err), &err);
	expect_code(vimg_image_snapshot_apply(img, "nope", &err), VIMG_ENOENT, &err,
		    "qcow2: snapshot \"nope\" not found");
	vimg_error_clear(&err);
	expect_code(vimg_image_snapshot_delete(img, "nope", &err), VIMG_ENOENT, &err,
		    "qcow2: snapshot \"nope\" not found");
	vimg_error_clear(&err);
	expect_code(vimg_image_snapshot_create(img, "", &err), VIMG_EINVAL, &err, "name");
	vimg_error_clear(&err);
	/* As in qemu-img, a name may repeat; ids stay unique. */
	ck_assert_vimg_ok(vimg_image_snapshot_create(img, "s", &err), &err);
	ck_assert_vimg_ok(vimg_image_snapshot_create(img, "s", &err), &err);
	ck_assert_vimg_ok(vimg_image_snapshot_list(img, count_all, &n, &err), &err);
	ck_assert_int_eq(n, 2);
	/* An open view pins the snapshots. */
	ck_assert_vimg_ok(vimg_image_snapshot_open(img, "2", &view, &err), &err);
	expect_code(vimg_image_snapshot_delete(img, "2", &err), VIMG_EBUSY, &err, "views");
	vimg_error_clear(&err);
	vimg_image_close(view, NULL);
	ck_assert_vimg_ok(vimg_image_snapshot_delete(img, "2", &err), &err);
	check_open(img, "errors");
	ck_assert_vimg_ok(vimg_image_close(img, &err), &err);
	peer_check(path);

	ck_assert_vimg_ok(vimg_image_create(raw, "raw", 1 << 20, NULL, NULL, NULL, 0, &err), &err);
	ck_assert_vimg_ok(vimg_image_open(raw, "raw", VIMG_OPEN_RDWR, &img, &err), &err);
	expect_code(vimg_image_snapshot_create(img, "s", &err), VIMG_EUNSUPPORTED, &err,
		    "raw: internal snapshots are not supported");
	vimg_image_close(img, NULL);
}
END_TEST

/* Flip ~1% of the bytes of each fixture, many times: open, map, read, close. */
START_TEST(test_mutations)
{
	char path[512], mut[600];
	FILE *f;
	long sz;
	uint8_t *orig, *data;
	unsigned seed = 12345u + (unsigned)_i;

	snprintf(path, sizeof(path), "%s.qcow2", fixture_image(fixtures[_i]));
	snprintf(mut, sizeof(mut), "%s.mut", path);
	f = fopen(path, "rb");
	ck_assert(f != NULL);
	fseek(f, 0, SEEK_END);
	sz = ftell(f);
	rewind(f);
	orig = malloc((size_t)sz);
	data = malloc((size_t)sz);
	ck_assert(orig && data);
	ck_assert(fread(orig, 1, (size_t)sz, f) == (size_t)sz);
	fclose(f);
	for (int round = 0; round < 150; round++) {
		struct vimg_error err = VIMG_ERROR_INIT;
		struct vimg_image *img;

		memcpy(data, orig, (size_t)sz);
		for (long k = 0; k < sz / 100 + 1; k++) {
			seed = seed * 1103515245u + 12345u;
			long pos = (long)((seed >> 8) % (unsigned long)sz);

			/* Keep the magic half the time so the parser is reached. */
			if (round % 2 == 0 && pos < 8)
				continue;
			seed = seed * 1103515245u + 12345u;
			data[pos] ^= (uint8_t)(seed >> 16 | 1);
		}
		f = fopen(mut, "wb");
		ck_assert(f != NULL);
		ck_assert(fwrite(data, 1, (size_t)sz, f) == (size_t)sz);
		fclose(f);
		if (vimg_image_open(mut, "qcow2", VIMG_OPEN_NO_BACKING, &img, &err) != 0)
			continue;
		test_walk_image(img);
		vimg_image_close(img, NULL);
	}
	free(orig);
	free(data);
}
END_TEST

START_TEST(test_create_errors)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	const char *path = test_path("bad.qcow2");

	ck_assert_int_eq(vimg_image_create(path, "qcow2", 1 << 20, "cluster_size=3k", NULL, NULL, 0,
					   &err),
			 VIMG_EINVAL);
	vimg_error_clear(&err);
	ck_assert_int_eq(vimg_image_create(path, "qcow2", 1 << 20, "compat=0.10,lazy_refcounts=on",
					   NULL, NULL, 0, &err),
			 VIMG_EINVAL);
	vimg_error_clear(&err);
	ck_assert_int_eq(vimg_image_create(path, "qcow2", 1 << 20,
					   "extended_l2=on,cluster_size=4k", NULL, NULL, 0, &err),
			 VIMG_EINVAL);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("qcow2");
	TCase *tc = tcase_create("roundtrip");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_roundtrip_default);
	tcase_add_loop_test(tc, test_roundtrip_options, 0, 9);
	tcase_add_loop_test(tc, test_roundtrip_backing, 0, 4);
	tcase_add_test(tc, test_refcount_growth);
	tcase_add_test(tc, test_cluster_reuse);
	tcase_add_test(tc, test_create_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("fixtures");
	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, test_fixture_read, 0, 4);
	tcase_add_test(tc, test_snapshot);
	tcase_add_loop_test(tc, test_snapshot_refcounts, 0, 5);
	tcase_add_test(tc, test_snapshot_errors);
	tcase_add_test(tc, test_snapshot_refcount_overflow);
	tcase_add_loop_test(tc, test_mutations, 0, 4);
	suite_add_tcase(s, tc);
	return s;
}
