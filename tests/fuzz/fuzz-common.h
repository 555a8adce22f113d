/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What every libFuzzer harness does with an input: open it read-only as one
 * format (backing files never opened), walk block status over the whole disk,
 * read the first MiB, list snapshots and run the checker; then open it
 * read-write and write, rewrite compressed, zero and read back, so that the
 * allocators meet hostile tables too (vimgmount --rw on an untrusted image).
 * Errors are expected; only crashes, sanitizer reports and hangs are
 * findings. Build and run the harnesses with scripts/fuzz.sh.
 */
#ifndef VIMG_FUZZ_COMMON_H
#define VIMG_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vimg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An emitter that reads every key and string it is given, so a string a
 * parser hands out unterminated or freed shows under the sanitizers. */
static size_t fuzz_emit_sink;

static inline void fuzz_key(const char *k)
{
	fuzz_emit_sink += k ? strlen(k) : 0;
}
static inline void fuzz_str(void *o, const char *k, const char *v)
{
	(void)o;
	fuzz_key(k);
	fuzz_emit_sink += v ? strlen(v) : 0;
}
static inline void fuzz_u64(void *o, const char *k, uint64_t v)
{
	(void)o, (void)v;
	fuzz_key(k);
}
static inline void fuzz_i64(void *o, const char *k, int64_t v)
{
	(void)o, (void)v;
	fuzz_key(k);
}
static inline void fuzz_bool(void *o, const char *k, bool v)
{
	(void)o, (void)v;
	fuzz_key(k);
}
static inline void fuzz_begin(void *o, const char *k, bool l)
{
	(void)o, (void)l;
	fuzz_key(k);
}
static inline void fuzz_end(void *o)
{
	(void)o;
}

static const struct vimg_emit fuzz_emit = {
	fuzz_str, fuzz_u64, fuzz_i64, fuzz_bool, fuzz_begin, fuzz_end, NULL,
};

static inline int fuzz_snapshot_cb(void *opaque, const struct vimg_snapshot *s)
{
	(void)opaque;
	(void)s;
	return 0;
}

static inline void fuzz_exercise(const char *path, const char *format)
{
	static uint8_t buf[1 << 20];
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *img = NULL;
	struct vimg_check rep = { 0 };
	uint64_t vs, off = 0;

	if (vimg_image_open(path, format, VIMG_OPEN_NO_BACKING, &img, &err))
		return;
	vs = vimg_image_virtual_size(img);
	for (int n = 0; off < vs && n < 4096; n++) {
		struct vimg_run run;

		if (vimg_image_block_status(img, off, vs - off, &run, &err))
			break;
		off += run.length;
	}
	if (vs)
		vimg_image_read(img, buf, 0, vs < sizeof(buf) ? vs : sizeof(buf), &err);
	vimg_image_snapshot_list(img, fuzz_snapshot_cb, NULL, &err);
	vimg_image_check(img, &rep, 0, &err);
	vimg_image_close(img, NULL);
}

static inline void fuzz_exercise_writes(const char *path, const char *format)
{
	static uint8_t buf[65536];
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *img = NULL;
	uint64_t vs, cs;

	if (vimg_image_open(path, format,
			    VIMG_OPEN_RDWR | VIMG_OPEN_NO_BACKING | VIMG_OPEN_NO_SYNC, &img, &err))
		return;
	vs = vimg_image_virtual_size(img);
	cs = vimg_image_cluster_size(img);
	memset(buf, 0x5A, sizeof(buf));
	if (vs) {
		const uint64_t offs[3] = { 0, vs / 2 & ~511ull, vs - (vs < 4096 ? vs : 4096) };

		for (int i = 0; i < 3; i++) {
			uint64_t n = vs - offs[i] < 4096 ? vs - offs[i] : 4096;

			vimg_error_clear(&err);
			vimg_image_write(img, buf, offs[i], (size_t)n, &err);
		}
		/* Rewriting a compressed cluster frees what the first one took. */
		for (int i = 0; cs && cs <= sizeof(buf) && vs >= cs && i < 2; i++) {
			buf[i] = (uint8_t)i;
			vimg_error_clear(&err);
			vimg_image_write_compressed(img, buf, 0, (size_t)cs, &err);
		}
		vimg_error_clear(&err);
		vimg_image_zero(img, 0, vs < (1u << 20) ? vs : (1u << 20), 0, &err);
		vimg_error_clear(&err);
		vimg_image_write(img, buf, 0, (size_t)(vs < 512 ? vs : 512), &err);
		vimg_error_clear(&err);
		vimg_image_read(img, buf, 0, (size_t)(vs < sizeof(buf) ? vs : sizeof(buf)), &err);
	}
	vimg_image_close(img, NULL);
}

/* The input as a single-file image in a memfd. */
static inline int fuzz_one_memfd(const uint8_t *data, size_t size, const char *format)
{
	char path[64];
	int fd = memfd_create(format, 0);

	if (fd < 0)
		return 0;
	if (write(fd, data, size) == (ssize_t)size) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		fuzz_exercise(path, format);
		fuzz_exercise_writes(path, format);
		fuzz_exercise(path, format);
	}
	close(fd);
	return 0;
}

#endif
