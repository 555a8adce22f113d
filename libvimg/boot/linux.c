/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Direct kernel boot, Linux boot protocol 2.02 and later
 * (Documentation/arch/x86/boot.rst): the real-mode setup code goes to
 * 1000:0000, the protected-mode kernel to 1 MiB (bzImage, LOADED_HIGH), the
 * command line to 0x1E000 after a heap ending at 1000:E000, the initrd as
 * high as initrd_addr_max and RAM allow. The firmware runs its POST and then
 * int 19h jumps to 1020:0000 with DS = ES = SS = 1000 and SP = E000, so the
 * setup code finds the BIOS services (E820 and friends) it asks for.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot.h"
#include "endian.h"

#define SETUP_SEG 0x1000
#define SETUP_BASE 0x10000
#define HEAP_END 0xE000
#define CMDLINE_ADDR (SETUP_BASE + HEAP_END)
#define CMDLINE_MAX 0x1000
#define KERNEL_ADDR 0x100000
#define FILE_MAX (1ull << 30)

/* Read a whole file into guest RAM at gpa (at most max bytes); *size gets its size. */
static int load_file(struct vm *vm, const char *path, uint64_t gpa, uint64_t max,
		     uint64_t *size, struct vimg_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vimg_error_set_errno(err, errno, "%s", path);
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return vimg_error_set(err, VIMG_EINVAL, "%s: not a regular file", path);
	}
	uint64_t n = (uint64_t)st.st_size;
	uint8_t *dst = n <= max ? vm_gpa(vm, gpa, n) : NULL;
	if (!dst) {
		close(fd);
		return vimg_error_set(err, VIMG_ERANGE, "%s: %llu bytes do not fit in guest RAM at 0x%llx",
				      path, (unsigned long long)n, (unsigned long long)gpa);
	}
	uint64_t done = 0;
	while (done < n) {
		ssize_t r = pread(fd, dst + done, (size_t)(n - done), (off_t)done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			int e = r < 0 ? errno : EIO;
			close(fd);
			return vimg_error_set_errno(err, e, "%s", path);
		}
		done += (uint64_t)r;
	}
	close(fd);
	*size = n;
	return 0;
}

int linux_load(struct vm *vm, const char *kernel, const char *initrd, const char *append,
	       struct vimg_error *err)
{
	/* Load the whole file at 1 MiB first, then move the setup part down. */
	uint64_t ksize;
	uint64_t room = vm->ram_size > KERNEL_ADDR ? vm->ram_size - KERNEL_ADDR : 0;
	int rc = load_file(vm, kernel, KERNEL_ADDR, room < FILE_MAX ? room : FILE_MAX, &ksize, err);
	if (rc < 0)
		return rc;
	uint8_t *k = vm->ram + KERNEL_ADDR;
	if (ksize < 1024 || memcmp(k + 0x202, "HdrS", 4) != 0)
		return vimg_error_set(err, VIMG_EFORMAT, "%s: not a Linux kernel (no HdrS header)",
				      kernel);
	uint16_t version = ld_le16(k + 0x206);
	if (version < 0x0202)
		return vimg_error_set(err, VIMG_EUNSUPPORTED,
				      "%s: boot protocol %u.%02u is too old (2.02 needed)", kernel,
				      version >> 8, version & 0xFF);
	if (!(k[0x211] & 0x01))
		return vimg_error_set(err, VIMG_EUNSUPPORTED, "%s: zImage (not loaded high)", kernel);
	unsigned setup_sects = k[0x1F1] ? k[0x1F1] : 4;
	uint64_t setup_size = (setup_sects + 1ull) * 512;
	if (setup_size > HEAP_END - 0x200 || setup_size > ksize)
		return vimg_error_set(err, VIMG_EFORMAT, "%s: setup code of %llu bytes is too big",
				      kernel, (unsigned long long)setup_size);
	memcpy(vm->ram + SETUP_BASE, k, setup_size);
	memmove(k, k + setup_size, ksize - setup_size);
	uint64_t kend = KERNEL_ADDR + ksize - setup_size;
	memset(vm->ram + kend, 0, setup_size);

	uint8_t *h = vm->ram + SETUP_BASE;
	h[0x210] = 0xFF;		/* type_of_loader: undefined */
	h[0x211] |= 0x80;		/* CAN_USE_HEAP */
	st_le16(h + 0x224, HEAP_END - 0x200);
	st_le16(h + 0x1FA, 0xFFFF);	/* vid_mode: normal */

	uint32_t cmax = version >= 0x0206 ? ld_le32(h + 0x238) : 255;
	size_t alen = append ? strlen(append) : 0;
	if (alen > cmax || alen >= CMDLINE_MAX)
		return vimg_error_set(err, VIMG_EINVAL, "kernel command line longer than %u bytes",
				      cmax < CMDLINE_MAX - 1 ? cmax : CMDLINE_MAX - 1);
	memcpy(vm->ram + CMDLINE_ADDR, append ? append : "", alen + 1);
	st_le32(h + 0x228, CMDLINE_ADDR);

	if (initrd) {
		uint64_t max = version >= 0x0203 ? ld_le32(h + 0x22C) : 0x37FFFFFF;
		uint64_t top = vm->ram_size < max + 1 ? vm->ram_size : max + 1;
		struct stat st;
		if (stat(initrd, &st) < 0)
			return vimg_error_set_errno(err, errno, "%s", initrd);
		uint64_t isize = (uint64_t)st.st_size;
		if (isize > top || ((top - isize) & ~0xFFFull) < ((kend + 0xFFF) & ~0xFFFull))
			return vimg_error_set(err, VIMG_ERANGE,
					      "%s: initrd of %llu bytes does not fit below 0x%llx",
					      initrd, (unsigned long long)isize,
					      (unsigned long long)top);
		uint64_t addr = (top - isize) & ~0xFFFull;
		uint64_t got;
		rc = load_file(vm, initrd, addr, isize, &got, err);
		if (rc < 0)
			return rc;
		st_le32(h + 0x218, (uint32_t)addr);
		st_le32(h + 0x21C, (uint32_t)got);
	}
	vm->lx.enabled = true;
	vm->lx.seg = SETUP_SEG;
	vm->lx.sp = HEAP_END;
	return 0;
}
