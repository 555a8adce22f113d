/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer harness for the vmdk parsers: the text descriptor (extent lines,
 * keys, CIDs) and the sparse headers (KDMV hosted/stream incl. the footer,
 * COWD, seSparse) with their grain directories and tables. The input is
 * written as fuzz.vmdk into a private temporary directory that also holds a
 * small valid sparse extent (e.vmdk) and flat extent (f.vmdk), so fuzzed
 * descriptors can name real extents. The image is opened read-only (parents
 * never opened), block status is walked over the disk, the first MiB read,
 * and the image exercised as fuzz-common.h says; only single-file sparse
 * inputs are also written. Build and run with
 * scripts/fuzz.sh.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz-common.h"

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
	static int ready;
	char path[128];
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
	fuzz_exercise(path, "vmdk");
	/* Writes only to single-file sparse inputs: a text descriptor could
	 * name the shared extents, and later inputs must find them unchanged. */
	if (size >= 4 && (!memcmp(data, "KDMV", 4) || !memcmp(data, "COWD", 4))) {
		fuzz_exercise_writes(path, "vmdk");
		fuzz_exercise(path, "vmdk");
	}
	return 0;
}
