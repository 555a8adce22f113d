/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer harness for the qcow2 parser: the input is written to a memfd,
 * opened read-only as qcow2 (backing files are never opened), then block
 * status is walked over the whole disk, the first MiB is read, snapshots are
 * listed and the image is checked. Not built by default. Build it from a
 * clang build tree instrumented for fuzzing:
 *
 *   mkdir fz && cd fz && ../configure CC=clang \
 *       CFLAGS='-g -O1 -fsanitize=fuzzer-no-link,address,undefined' && make
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I../libvimg -I. \
 *       ../tests/fuzz/fuzz-qcow2.c libvimg/.libs/libvimg-internal.a \
 *       -lz -lzstd -lpthread -o fuzz-qcow2
 *   mkdir corpus && for f in ../fixtures/qcow2/[a-z]*.qcow2.gz; do
 *       gzip -dc "$f" > "corpus/$(basename "$f" .gz)"; done
 *   ./fuzz-qcow2 -max_len=262144 corpus/
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vimg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int snap_cb(void *opaque, const struct vimg_snapshot *s)
{
	(void)opaque;
	(void)s;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[1 << 20];
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *img = NULL;
	struct vimg_check rep = { 0 };
	char path[64];
	int fd = memfd_create("fuzz-qcow2", 0);
	uint64_t vs, off = 0;

	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (vimg_image_open(path, "qcow2", VIMG_OPEN_NO_BACKING, &img, &err) == 0) {
		vs = vimg_image_virtual_size(img);
		for (int n = 0; off < vs && n < 4096; n++) {
			struct vimg_run run;

			if (vimg_image_block_status(img, off, vs - off, &run, &err))
				break;
			off += run.length;
		}
		if (vs)
			vimg_image_read(img, buf, 0, vs < sizeof(buf) ? vs : sizeof(buf), &err);
		vimg_image_snapshot_list(img, snap_cb, NULL, &err);
		vimg_image_check(img, &rep, 0, &err);
		vimg_image_close(img, NULL);
	}
	close(fd);
	return 0;
}
