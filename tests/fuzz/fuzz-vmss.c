/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer harness for the VMware saved-state reader (formats/vmss*.c).
 * The input is written as f.vmss into a private temporary directory that
 * also holds a fixed 2 MiB f.vmem, so states whose memory is not embedded
 * find one. The state is opened (and opened metadata-only), its info
 * emitted, every region read through (each capped at 4 MiB, holes sampled
 * at their edges) and, when the guest memory is small, dumped as raw and as
 * ELF into a memfd (where fsync costs nothing). Errors are expected; only crashes, sanitizer reports and hangs are
 * findings. Seeds: fixtures/vmss/. Build and run with scripts/fuzz.sh.
 */
#include "config.h"

#include <stdlib.h>

#include "fuzz-common.h"

static char dir[64], out[64];

static int setup(void)
{
	char path[128];
	FILE *f;

	snprintf(dir, sizeof(dir), "/tmp/fuzz-vmss.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/f.vmem", dir);
	if (!(f = fopen(path, "wb")))
		return -1;
	for (unsigned i = 0; i < (2u << 20) / 8; i++) {
		uint64_t v = (uint64_t)i * 8 + 1;

		fwrite(&v, 8, 1, f);
	}
	fclose(f);
	int fd = memfd_create("fuzz-vmss-out", 0);
	if (fd < 0)
		return -1;
	snprintf(out, sizeof(out), "/proc/self/fd/%d", fd);
	return 0;
}

static void read_all(struct vimg_vmstate *st)
{
	static uint8_t buf[1 << 16];
	struct vimg_error err = VIMG_ERROR_INIT;
	uint64_t size = vimg_vmstate_memory_size(st), gpa, len;

	for (size_t i = 0; i < vimg_vmstate_region_count(st); i++) {
		if (vimg_vmstate_region(st, i, &gpa, &len, &err))
			abort(); /* every index below the count is a region */
		if (gpa + len > size)
			abort(); /* regions lie inside the memory size */
		/* A hole's edge before the region, then the region itself. */
		if (gpa >= 16)
			vimg_vmstate_read(st, buf, gpa - 16, 32, &err);
		for (uint64_t off = 0; off < len && off < (4u << 20); off += sizeof(buf)) {
			size_t n = (size_t)(len - off < sizeof(buf) ? len - off : sizeof(buf));

			vimg_error_clear(&err);
			vimg_vmstate_read(st, buf, gpa + off, n, &err);
		}
	}
	vimg_error_clear(&err);
	if (vimg_vmstate_read(st, buf, size, 1, &err) != VIMG_ERANGE)
		abort(); /* past the end is refused */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_vmstate *st;
	char path[128];
	FILE *f;

	if (!ready)
		ready = setup() == 0 ? 1 : -1;
	if (ready < 0)
		return 0;
	snprintf(path, sizeof(path), "%s/f.vmss", dir);
	if (!(f = fopen(path, "wb")))
		return 0;
	if (size && fwrite(data, 1, size, f) != size) {
		fclose(f);
		return 0;
	}
	fclose(f);
	if (vimg_vmstate_open(path, NULL, VIMG_VMSTATE_METADATA_ONLY, &st, &err) == 0) {
		vimg_vmstate_info(st, &fuzz_emit, &err);
		vimg_vmstate_close(st);
	}
	vimg_error_clear(&err);
	if (vimg_vmstate_open(path, NULL, 0, &st, &err))
		return 0;
	vimg_vmstate_info(st, &fuzz_emit, &err);
	read_all(st);
	if (vimg_vmstate_memory_size(st) <= (16u << 20)) {
		vimg_error_clear(&err);
		vimg_memdump(st, out, VIMG_MEMDUMP_RAW, NULL, NULL, &err);
		vimg_error_clear(&err);
		vimg_memdump(st, out, VIMG_MEMDUMP_ELF, NULL, NULL, &err);
	}
	vimg_vmstate_close(st);
	return 0;
}
