/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer harness for the vmdk parsers: the text descriptor (extent lines,
 * keys, CIDs) and the sparse headers (KDMV hosted/stream incl. the footer,
 * COWD, seSparse) with their grain directories and tables. The input is
 * written as fuzz.vmdk into a private temporary directory that also holds a
 * small valid sparse extent (e.vmdk) and flat extent (f.vmdk), so fuzzed
 * descriptors can name real extents. The image is opened read-only (parents
 * never opened), block status is walked over the disk, the first MiB read,
 * info-style facts left alone, and the image checked. Not built by default:
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I libvimg -I formats -I build \
 *     tests/fuzz/fuzz-vmdk.c libvimg/[a-z]*.c formats/[a-z]*.c -lz -lzstd -lpthread \
 *     -DHAVE_CONFIG_H -o fuzz-vmdk
 *   mkdir corpus && cp fixtures/vmdk/[a-z]*.vmdk corpus/ && gzip -dc \
 *     fixtures/vmdk/stream-qemu.vmdk.gz >corpus/stream.vmdk
 *   ./fuzz-vmdk -max_len=262144 corpus/
 *
 * (`build` is a configured build directory that holds config.h.)
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vimg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

static int setup(void)
{
	char path[128];
	struct vimg_error err = VIMG_ERROR_INIT;
	FILE *f;

	snprintf(dir, sizeof(dir), "/tmp/fuzz-vmdk.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/e.vmdk", dir);
	if (vimg_image_create(path, "vmdk", 1 << 20, NULL, NULL, NULL, 0, &err))
		return -1;
	snprintf(path, sizeof(path), "%s/f.vmdk", dir);
	f = fopen(path, "wb");
	if (!f)
		return -1;
	fseek(f, (1 << 20) - 1, SEEK_SET);
	fputc(0, f);
	fclose(f);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[1 << 20];
	static int ready;
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *img = NULL;
	struct vimg_check rep = { 0 };
	char path[128];
	uint64_t vs, off = 0;
	FILE *f;

	if (!ready)
		ready = setup() == 0 ? 1 : -1;
	if (ready < 0)
		return 0;
	snprintf(path, sizeof(path), "%s/fuzz.vmdk", dir);
	f = fopen(path, "wb");
	if (!f)
		return 0;
	if (size && fwrite(data, 1, size, f) != size) {
		fclose(f);
		return 0;
	}
	fclose(f);
	if (vimg_image_open(path, "vmdk", VIMG_OPEN_NO_BACKING, &img, &err) == 0) {
		vs = vimg_image_virtual_size(img);
		for (int n = 0; off < vs && n < 4096; n++) {
			struct vimg_run run;

			if (vimg_image_block_status(img, off, vs - off, &run, &err))
				break;
			off += run.length;
		}
		if (vs)
			vimg_image_read(img, buf, 0, vs < sizeof(buf) ? vs : sizeof(buf), &err);
		vimg_image_check(img, &rep, 0, &err);
		vimg_image_close(img, NULL);
	}
	return 0;
}
