/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The core I/O path on raw images: bounds, read-only refusal, holes as ZERO
 * runs, zeroing, the probed-raw header guard, concurrent readers, and the
 * in-memory overlay as a top layer, and file windows (a disk inside another
 * file).
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file-sim.h"
#include "internal.h"
#include "testlib.h"

#define MiB (1024 * 1024)

/* A sparse raw file: data at [1 MiB, 2 MiB) and [5 MiB, 5 MiB + 4 KiB), size 8 MiB. */
static const char *make_sparse(const char *name)
{
	const char *p = test_path(name);
	uint8_t *buf = malloc(MiB);
	FILE *f = fopen(p, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(ftruncate(fileno(f), 8 * MiB), 0);
	test_pattern(buf, MiB, MiB, 7);
	ck_assert_int_eq(pwrite(fileno(f), buf, MiB, MiB), MiB);
	test_pattern(buf, 4096, 5 * MiB, 7);
	ck_assert_int_eq(pwrite(fileno(f), buf, 4096, 5 * MiB), 4096);
	fclose(f);
	free(buf);
	return p;
}

START_TEST(bounds_and_readonly)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *img;
	uint8_t buf[512];

	ck_assert_vimg_ok(vimg_image_open(make_sparse("a.raw"), NULL, 0, &img, &err), &err);
	ck_assert_uint_eq(vimg_image_virtual_size(img), 8 * MiB);
	ck_assert(!vimg_image_is_writable(img));
	ck_assert_vimg_fails(vimg_image_read(img, buf, 8 * MiB - 256, 512, &err), &err, VIMG_ERANGE,
			     "beyond the disk size");
	vimg_error_clear(&err);
	ck_assert_vimg_fails(vimg_image_read(img, buf, UINT64_MAX - 10, 512, &err), &err,
			     VIMG_ERANGE, "beyond");
	vimg_error_clear(&err);
	ck_assert_vimg_fails(vimg_image_write(img, buf, 0, 512, &err), &err, VIMG_EROFS,
			     "read-only");
	vimg_error_clear(&err);
	ck_assert_vimg_ok(vimg_image_read(img, buf, 8 * MiB - 512, 512, &err), &err);
	ck_assert_vimg_ok(vimg_image_read(img, buf, 0, 0, &err), &err);
	vimg_image_close(img, NULL);
}
END_TEST

START_TEST(holes_are_zero_runs)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *img;
	struct vimg_run run;
	uint8_t *buf = malloc(MiB), *want = malloc(MiB);

	ck_assert_vimg_ok(vimg_image_open(make_sparse("b.raw"), "raw", 0, &img, &err), &err);
	ck_assert_vimg_ok(vimg_image_block_status(img, 0, 8 * MiB, &run, &err), &err);
	ck_assert_int_eq(run.kind, VIMG_RUN_ZERO);
	ck_assert_uint_eq(run.length, MiB);
	ck_assert_vimg_ok(vimg_image_block_status(img, MiB, 7 * MiB, &run, &err), &err);
	ck_assert_int_eq(run.kind, VIMG_RUN_DATA);
	ck_assert(run.flags & VIMG_RUN_OFFSET_VALID);
	ck_assert_uint_eq(run.file_off, MiB);
	ck_assert_uint_eq(run.length, MiB);
	/* The run never exceeds the request. */
	ck_assert_vimg_ok(vimg_image_block_status(img, MiB, 4096, &run, &err), &err);
	ck_assert_uint_eq(run.length, 4096);
	/* Reading across a hole/data boundary composes both. */
	ck_assert_vimg_ok(vimg_image_read(img, buf, MiB / 2, MiB, &err), &err);
	memset(want, 0, MiB / 2);
	test_pattern(want + MiB / 2, MiB / 2, MiB, 7);
	ck_assert(memcmp(buf, want, MiB) == 0);
	vimg_image_close(img, NULL);
	free(buf);
	free(want);
}
END_TEST

START_TEST(write_zero_roundtrip)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *img;
	uint8_t buf[8192], back[8192];

	ck_assert_vimg_ok(vimg_image_create(test_path("c.raw"), "raw", 4 * MiB, NULL, NULL, NULL, 0,
					    &err), &err);
	ck_assert_vimg_ok(vimg_image_open(test_path("c.raw"), "raw", VIMG_OPEN_RDWR, &img, &err),
			  &err);
	test_pattern(buf, sizeof(buf), 12345, 9);
	ck_assert_vimg_ok(vimg_image_write(img, buf, 12345, sizeof(buf), &err), &err);
	ck_assert_vimg_ok(vimg_image_read(img, back, 12345, sizeof(back), &err), &err);
	ck_assert(memcmp(buf, back, sizeof(buf)) == 0);
	ck_assert_vimg_ok(vimg_image_zero(img, 12345 + 100, 1000, 0, &err), &err);
	ck_assert_vimg_ok(vimg_image_read(img, back, 12345, sizeof(back), &err), &err);
	memset(buf + 100, 0, 1000);
	ck_assert(memcmp(buf, back, sizeof(buf)) == 0);
	ck_assert_vimg_ok(vimg_image_close(img, &err), &err);
}
END_TEST

START_TEST(probed_raw_header_guard)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *img;
	uint8_t hdr[512] = { 'Q', 'F', 'I', 0xfb, 0, 0, 0, 3 };

	ck_assert_vimg_ok(vimg_image_create(test_path("d.raw"), "raw", MiB, NULL, NULL, NULL, 0,
					    &err), &err);
	ck_assert_vimg_ok(vimg_image_open(test_path("d.raw"), NULL, VIMG_OPEN_RDWR, &img, &err),
			  &err);
	ck_assert_vimg_fails(vimg_image_write(img, hdr, 0, sizeof(hdr), &err), &err, VIMG_EACCES,
			     "probed raw");
	vimg_error_clear(&err);
	/* Elsewhere on the disk the same bytes are just data. */
	ck_assert_vimg_ok(vimg_image_write(img, hdr, 4096, sizeof(hdr), &err), &err);
	vimg_image_close(img, NULL);
	ck_assert_vimg_ok(vimg_image_open(test_path("d.raw"), "raw", VIMG_OPEN_RDWR, &img, &err),
			  &err);
	ck_assert_vimg_ok(vimg_image_write(img, hdr, 0, sizeof(hdr), &err), &err);
	vimg_image_close(img, NULL);
}
END_TEST

struct reader {
	struct vimg_image *img;
	int failures;
};

static void *reader_thread(void *opaque)
{
	struct reader *r = opaque;
	uint8_t buf[4096], want[4096];

	for (unsigned i = 0; i < 2000; i++) {
		uint64_t off = MiB + (i * 7919u % 256) * 4096;
		struct vimg_error err = VIMG_ERROR_INIT;

		test_pattern(want, sizeof(want), off, 7);
		if (vimg_image_read(r->img, buf, off, sizeof(buf), &err) ||
		    memcmp(buf, want, sizeof(buf)))
			r->failures++;
	}
	return NULL;
}

START_TEST(concurrent_reads)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct reader r[4];
	pthread_t t[4];
	struct vimg_image *img;

	ck_assert_vimg_ok(vimg_image_open(make_sparse("e.raw"), NULL, 0, &img, &err), &err);
	for (int i = 0; i < 4; i++) {
		r[i] = (struct reader){ img, 0 };
		ck_assert_int_eq(pthread_create(&t[i], NULL, reader_thread, &r[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		ck_assert_int_eq(r[i].failures, 0);
	}
	vimg_image_close(img, NULL);
}
END_TEST

START_TEST(disk_size_and_files)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *img;
	int64_t ds;

	ck_assert_vimg_ok(vimg_image_open(make_sparse("f.raw"), NULL, 0, &img, &err), &err);
	ds = vimg_image_disk_size(img, &err);
	ck_assert_int_ge(ds, MiB);
	ck_assert_int_lt(ds, 3 * MiB);
	vimg_image_close(img, NULL);
	ck_assert_vimg_fails(vimg_image_open(test_path("missing.raw"), NULL, 0, &img, &err), &err,
			     VIMG_ENOENT, "missing.raw");
}
END_TEST

/*
 * The in-memory overlay (overlay-mem.c) is a top layer like any other: writes
 * stay in it, the chain reads through it, the image below keeps every byte,
 * and it refuses to hold more than its limit.
 */
START_TEST(mem_overlay_layer)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *base, *ov;
	uint8_t *want = malloc(8 * MiB), *got = malloc(8 * MiB), w[3000];
	struct vimg_run run;
	unsigned depth;

	ck_assert_vimg_ok(vimg_image_open(make_sparse("m.raw"), NULL, 0, &base, &err), &err);
	ck_assert_vimg_ok(vimg_image_read(base, want, 0, 8 * MiB, &err), &err);
	ck_assert_vimg_ok(overlay_mem_open(base, 3 * 65536, &ov, &err), &err);
	ck_assert(vimg_image_is_writable(ov));
	ck_assert_uint_eq(vimg_image_virtual_size(ov), 8 * MiB);
	ck_assert_str_eq(vimg_image_format(ov), "mem");
	/* Crosses a chunk boundary inside the data, then lands in a hole. */
	memset(w, 0xA5, sizeof(w));
	ck_assert_vimg_ok(vimg_image_write(ov, w, MiB + 65536 - 1000, sizeof(w), &err), &err);
	memcpy(want + MiB + 65536 - 1000, w, sizeof(w));
	ck_assert_vimg_ok(vimg_image_write(ov, w, 8 * MiB - 100, 100, &err), &err);
	memcpy(want + 8 * MiB - 100, w, 100);
	ck_assert_uint_eq(overlay_mem_bytes(ov), 3 * 65536);
	ck_assert_vimg_ok(vimg_image_read(ov, got, 0, 8 * MiB, &err), &err);
	ck_assert(memcmp(got, want, 8 * MiB) == 0);
	/* Chunks written are the overlay's DATA; the rest comes from below. */
	ck_assert_vimg_ok(vimg_image_block_status_above(ov, NULL, MiB + 65536, 65536, &run,
							 &depth, &err), &err);
	ck_assert_int_eq(run.kind, VIMG_RUN_DATA);
	ck_assert_uint_eq(depth, 0);
	ck_assert_vimg_ok(vimg_image_block_status(ov, MiB + 3 * 65536, 4 * MiB, &run, &err),
			  &err);
	ck_assert_int_eq(run.kind, VIMG_RUN_UNALLOCATED);
	ck_assert_uint_eq(run.length, 4 * MiB);
	/* Full: the write fails and leaves what was there. */
	ck_assert_vimg_fails(vimg_image_write(ov, w, 0, 1, &err), &err, VIMG_ENOSPC, "mem overlay");
	vimg_error_clear(&err);
	ck_assert_vimg_ok(vimg_image_read(ov, got, 0, 8 * MiB, &err), &err);
	ck_assert(memcmp(got, want, 8 * MiB) == 0);
	ck_assert_vimg_ok(vimg_image_close(ov, &err), &err);
	/* The image below is unchanged and still open. */
	ck_assert_vimg_ok(vimg_image_read(base, got, 0, 8 * MiB, &err), &err);
	test_pattern(want, MiB, MiB, 7);
	ck_assert(memcmp(got + MiB, want, MiB) == 0);
	ck_assert_uint_eq(got[8 * MiB - 1], 0);
	vimg_image_close(base, NULL);
	free(want);
	free(got);
}
END_TEST

/* A qcow2 written into a window after 1 MiB of other bytes, read back in
 * place: the bytes before the window are never touched, the image's size is
 * the window's, and no other file may be opened while the window is set. */
START_TEST(file_window_write_read)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	const char *src_path = make_sparse("window-src.raw");
	const char *host = test_path("window-host.bin");
	const char *inner = test_path("inner.qcow2");
	struct vimg_convert_opts co = { .format = "qcow2" };
	struct vimg_image *src, *img;
	uint8_t *head = malloc(MiB), *back = malloc(MiB);
	uint64_t diff, used;
	FILE *f = fopen(host, "wb");

	test_pattern(head, MiB, 0, 3);
	ck_assert_uint_eq(fwrite(head, 1, MiB, f), MiB);
	fclose(f);
	ck_assert_int_eq(vimg_image_open(src_path, "raw", 0, &src, &err), 0);
	ck_assert_int_eq(file_window_begin(inner, host, MiB, UINT64_MAX, &err), 0);
	ck_assert_int_eq(vimg_convert(src, inner, &co, &err), 0);
	file_window_end();
	vimg_image_close(src, NULL);

	f = fopen(host, "rb");
	ck_assert_uint_eq(fread(back, 1, MiB, f), MiB);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	used = (uint64_t)ftell(f) - MiB;
	fclose(f);
	ck_assert_mem_eq(back, head, MiB);
	ck_assert_int_ne(access(inner, F_OK), 0);

	ck_assert_int_eq(file_window_begin(inner, host, MiB, used, &err), 0);
	ck_assert_int_eq(vimg_image_open(inner, NULL, 0, &img, &err), 0);
	ck_assert_int_lt(vimg_image_open(src_path, NULL, 0, &src, &err), 0);
	ck_assert_ptr_nonnull(strstr(err.msg, "cannot name other files"));
	ck_assert_int_lt(vimg_image_open(inner, NULL, VIMG_OPEN_RDWR, &src, &err), 0);
	file_window_end();
	ck_assert_str_eq(vimg_image_format(img), "qcow2");
	ck_assert_int_eq(vimg_image_disk_size(img, &err), (int64_t)used);
	ck_assert_int_eq(vimg_image_open(src_path, "raw", 0, &src, &err), 0);
	ck_assert_int_eq(vimg_compare(src, img, true, &diff, NULL, NULL, &err), 0);
	vimg_image_close(img, NULL);
	vimg_image_close(src, NULL);
	free(head);
	free(back);
}
END_TEST

/* Simulated files against a plain buffer: random writes of the marker,
 * zeros and bytes at any alignment, truncates and punched holes. */
START_TEST(simulated_file_model)
{
	enum { SIZE = 256 * 1024 };
	struct vimg_error err = VIMG_ERROR_INIT;
	uint8_t *model = calloc(1, SIZE), *buf = malloc(SIZE), *back = malloc(SIZE);
	uint64_t model_size = 0, seed = 12345;
	struct vimg_file *f;

	ck_assert_int_eq(file_sandbox_begin("/vimg-check-sim-", UINT64_MAX, &err), 0);
	ck_assert_int_lt(file_open("/vimg-check-sim-a", FILE_RDWR, &f, &err), 0);
	ck_assert_int_eq(file_open("/vimg-check-sim-a", FILE_CREATE, &f, &err), 0);
	for (int i = 0; i < 4000; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		unsigned op = (unsigned)(seed >> 60) % 8;
		uint64_t off = (seed >> 20) % (SIZE - 1);
		size_t len = (size_t)((seed >> 8) % 8192) + 1;

		if ((seed >> 40) & 1) {
			/* Sector-aligned, as most writes are. */
			off &= ~(uint64_t)511;
			len = (len + 511) & ~(size_t)511;
		}
		if (off + len > SIZE)
			len = (size_t)(SIZE - off);
		if (op < 3)
			file_sim_marker_fill(buf, off, len);
		else if (op < 4)
			memset(buf, 0, len);
		else if (op < 6)
			test_pattern(buf, len, off, (unsigned)i);
		if (op < 6) {
			ck_assert_int_eq(file_pwrite_full(f, buf, len, off, &err), 0);
			memcpy(model + off, buf, len);
			if (off + len > model_size)
				model_size = off + len;
		} else if (op == 6) {
			ck_assert_int_eq(file_truncate(f, off, &err), 0);
			if (off < model_size)
				memset(model + off, 0, model_size - off);
			model_size = off;
		} else {
			ck_assert_int_eq(file_punch_hole(f, off, len, &err), 0);
			memset(model + off, 0, len);
		}
		ck_assert_int_eq(file_size(f, &err), (int64_t)model_size);
		off = (seed >> 13) % SIZE;
		len = (size_t)(SIZE - off);
		ck_assert_int_eq(file_pread_zeroed(f, back, len, off, &err), 0);
		ck_assert_msg(!memcmp(back, model + off, len), "op %d: contents differ", i);
	}
	file_close(f);
	ck_assert_uint_eq(file_sandbox_end(), model_size);
	ck_assert_int_ne(access("/vimg-check-sim-a", F_OK), 0);

	/* Past the bound, bytes are dropped and cannot be read back. */
	ck_assert_int_eq(file_sandbox_begin("/vimg-check-sim-", 4096, &err), 0);
	ck_assert_int_eq(file_open("/vimg-check-sim-b", FILE_CREATE, &f, &err), 0);
	test_pattern(buf, 8192, 0, 1);
	ck_assert_int_eq(file_pwrite_full(f, buf, 4096, 0, &err), 0);
	ck_assert_int_eq(file_pwrite_full(f, buf + 4096, 4096, 4096, &err), 0);
	ck_assert_int_eq(file_pread_full(f, back, 4096, 0, &err), 0);
	ck_assert_mem_eq(back, buf, 4096);
	ck_assert_int_eq(file_pread_full(f, back, 4096, 4096, &err), VIMG_EUNSUPPORTED);
	file_close(f);
	ck_assert_uint_eq(file_sandbox_end(), 8192);
	free(model);
	free(buf);
	free(back);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("io");
	TCase *tc = tcase_create("raw");

	tcase_add_test(tc, bounds_and_readonly);
	tcase_add_test(tc, holes_are_zero_runs);
	tcase_add_test(tc, write_zero_roundtrip);
	tcase_add_test(tc, probed_raw_header_guard);
	tcase_add_test(tc, concurrent_reads);
	tcase_add_test(tc, disk_size_and_files);
	tcase_add_test(tc, mem_overlay_layer);
	tcase_add_test(tc, file_window_write_read);
	tcase_add_test(tc, simulated_file_model);
	suite_add_tcase(s, tc);
	return s;
}
