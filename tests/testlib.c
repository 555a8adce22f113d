/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * main() for every Check unit test, plus temp-dir, fixture and pattern helpers.
 * The temp directory is made once per process before the suite runs (so forked
 * test cases share it) and removed when the process that made it exits.
 */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"

static char tmpdir[256];
static pid_t tmpdir_owner;

static void tmpdir_remove(void)
{
	char cmd[300];

	if (tmpdir[0] && getpid() == tmpdir_owner && !getenv("VIMG_KEEP_TMP")) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpdir);
	}
}

const char *test_tmpdir(void)
{
	if (!tmpdir[0]) {
		const char *base = getenv("TMPDIR");

		snprintf(tmpdir, sizeof(tmpdir), "%s/vimg-check.XXXXXX", base ? base : "/tmp");
		if (!mkdtemp(tmpdir)) {
			perror("mkdtemp");
			exit(99);
		}
		tmpdir_owner = getpid();
		atexit(tmpdir_remove);
	}
	return tmpdir;
}

const char *test_path(const char *name)
{
	static char bufs[8][512];
	static unsigned next;
	char *b = bufs[next++ % 8];

	snprintf(b, 512, "%s/%s", test_tmpdir(), name);
	return b;
}

const char *test_fixture(const char *name)
{
	static char bufs[8][512];
	static unsigned next;
	char *b = bufs[next++ % 8];
	const char *dir = getenv("VIMG_FIXTURES");

	snprintf(b, 512, "%s/%s", dir ? dir : "fixtures", name);
	return b;
}

void test_pattern(void *buf, size_t len, uint64_t off, unsigned seed)
{
	uint8_t *p = buf;

	/* A byte is a function of its offset: any window can be regenerated. */
	for (size_t i = 0; i < len; i++) {
		uint64_t x = (off + i) / 8 * 0x9E3779B97F4A7C15ull + seed * 0xBF58476D1CE4E5B9ull;

		x ^= x >> 31;
		p[i] = (uint8_t)(x >> (8 * ((off + i) % 8)));
	}
}

void test_write_pattern(const char *path, uint64_t size, unsigned seed)
{
	FILE *f = fopen(path, "wb");
	uint8_t buf[65536];

	ck_assert_msg(f != NULL, "cannot create %s", path);
	for (uint64_t off = 0; off < size; off += sizeof(buf)) {
		size_t n = size - off < sizeof(buf) ? size - off : sizeof(buf);

		test_pattern(buf, n, off, seed);
		ck_assert(fwrite(buf, 1, n, f) == n);
	}
	ck_assert(fclose(f) == 0);
}

void test_walk_image(struct vimg_image *img)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_check rep = { 0 };
	uint64_t vs = vimg_image_virtual_size(img), off = 0;
	uint8_t *buf = malloc(1 << 20);

	ck_assert_ptr_nonnull(buf);
	for (int n = 0; off < vs && n < 1000; n++) {
		struct vimg_run run;

		vimg_error_clear(&err);
		if (vimg_image_block_status(img, off, vs - off, &run, &err) != 0)
			break;
		ck_assert(run.length >= 1 && run.length <= vs - off);
		off += run.length;
	}
	vimg_error_clear(&err);
	if (vs)
		(void)vimg_image_read(img, buf, 0, vs < (1 << 20) ? vs : (1 << 20), &err);
	vimg_error_clear(&err);
	(void)vimg_image_check(img, &rep, 0, &err);
	free(buf);
}

int test_system(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	if (st == -1)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int main(void)
{
	SRunner *sr;
	int failed;

	test_tmpdir();
	sr = srunner_create(make_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
