/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vimg_memdump: a checkpoint's guest memory written out for memory
 * forensics tools, streamed region by region through one 1 MiB buffer.
 *
 * raw: the guest-physical image; byte gpa of the guest at offset gpa. The
 * file is sized first, so holes between regions (and all-zero chunks inside
 * them) are never written and stay sparse.
 *
 * elf: an ELF64 core (ET_CORE, EM_X86_64, little-endian) with one PT_LOAD
 * per region: p_paddr the guest-physical address, p_vaddr 0 as qemu's
 * dump-guest-memory writes without paging (crash and volatility3 place
 * memory by p_paddr), data page-aligned after the program headers. No notes:
 * the registers have no agreed place in such a core.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "checked.h"
#include "endian.h"
#include "vmss.h"

#define DUMP_CHUNK (1u << 20)
#define ELF_EHDR_SIZE 64
#define ELF_PHDR_SIZE 56

struct dump {
	struct vimg_vmstate *st;
	struct vimg_file *out;
	uint8_t *buf;
	uint64_t done, total;
	vimg_progress_fn *progress;
	void *opaque;
};

static bool all_zero(const uint8_t *b, size_t n)
{
	return !n || (!b[0] && !memcmp(b, b + 1, n - 1));
}

static bool same_file(struct vimg_file *f, const struct stat *sb)
{
	struct stat fs;

	return f && fstat(file_fd(f), &fs) == 0 && fs.st_dev == sb->st_dev &&
	       fs.st_ino == sb->st_ino;
}

/* out may be new or an existing regular file, never one the state reads. */
static int check_target(const struct vimg_vmstate *st, const char *out, struct vimg_error *err)
{
	struct stat sb;

	if (stat(out, &sb) != 0)
		return 0;
	if (!S_ISREG(sb.st_mode))
		return vimg_error_set(err, VIMG_EINVAL, "memdump: %s exists and is not a regular file",
				      out);
	if (same_file(st->state, &sb) || same_file(st->mem, &sb))
		return vimg_error_set(err, VIMG_EINVAL,
				      "memdump: %s is a file of the saved state itself", out);
	return 0;
}

/* Copy guest [gpa, gpa+len) to out_off, leaving zero chunks unwritten. */
static int copy_range(struct dump *d, uint64_t gpa, uint64_t len, uint64_t out_off,
		      struct vimg_error *err)
{
	for (uint64_t off = 0; off < len;) {
		size_t n = (size_t)min_u64(DUMP_CHUNK, len - off);
		int rc;

		if ((rc = vimg_vmstate_read(d->st, d->buf, gpa + off, n, err)))
			return rc;
		if (!all_zero(d->buf, n) &&
		    (rc = file_pwrite_full(d->out, d->buf, n, out_off + off, err)))
			return vimg_error_prefix(err, "memdump");
		off += n;
		d->done += n;
		if (d->progress)
			d->progress(d->opaque, d->done, d->total);
	}
	return 0;
}

static int dump_raw(struct dump *d, struct vimg_error *err)
{
	const struct vimg_vmstate *st = d->st;
	int rc;

	if ((rc = file_truncate(d->out, st->mem_size, err)))
		return rc;
	for (size_t i = 0; i < st->n_regions; i++)
		if ((rc = copy_range(d, st->regions[i].gpa, st->regions[i].len, st->regions[i].gpa,
				     err)))
			return rc;
	return 0;
}

static void elf_header(uint8_t *h, uint16_t phnum)
{
	static const uint8_t ident[8] = { 0x7f, 'E', 'L', 'F', 2 /* 64-bit */, 1 /* LSB */,
					  1 /* EV_CURRENT */, 0 /* System V ABI */ };

	memset(h, 0, ELF_EHDR_SIZE);
	memcpy(h, ident, sizeof(ident));
	st_le16(h + 16, 4);			/* ET_CORE */
	st_le16(h + 18, 62);			/* EM_X86_64 */
	st_le32(h + 20, 1);			/* EV_CURRENT */
	st_le64(h + 32, ELF_EHDR_SIZE);		/* e_phoff */
	st_le16(h + 52, ELF_EHDR_SIZE);
	st_le16(h + 54, ELF_PHDR_SIZE);
	st_le16(h + 56, phnum);
}

static int dump_elf(struct dump *d, struct vimg_error *err)
{
	const struct vimg_vmstate *st = d->st;
	size_t hdr_len = ELF_EHDR_SIZE + st->n_regions * ELF_PHDR_SIZE;
	uint64_t off, end;
	uint8_t *h;
	int rc;

	/* VMSS_MAX_REGIONS keeps this small and far below PN_XNUM (0xffff). */
	if (!(h = calloc(1, hdr_len)))
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	elf_header(h, (uint16_t)st->n_regions);
	off = hdr_len;
	for (size_t i = 0; i < st->n_regions; i++) {
		uint8_t *ph = h + ELF_EHDR_SIZE + i * ELF_PHDR_SIZE;

		/* Each segment starts on a page; only a region-less state's single
		 * region may end mid-page. Sizes are bounded by the memory data, far
		 * from overflowing. */
		ck_align_up(off, VMSS_PAGE_SIZE, &off);
		st_le32(ph, 1);				/* PT_LOAD */
		st_le32(ph + 4, 7);			/* PF_R | PF_W | PF_X */
		st_le64(ph + 8, off);			/* p_offset */
		st_le64(ph + 16, 0);			/* p_vaddr */
		st_le64(ph + 24, st->regions[i].gpa);	/* p_paddr */
		st_le64(ph + 32, st->regions[i].len);	/* p_filesz */
		st_le64(ph + 40, st->regions[i].len);	/* p_memsz */
		st_le64(ph + 48, VMSS_PAGE_SIZE);	/* p_align */
		off += st->regions[i].len;
	}
	end = off;
	if (!(rc = file_truncate(d->out, end, err)) &&
	    !(rc = file_pwrite_full(d->out, h, hdr_len, 0, err)))
		for (size_t i = 0; i < st->n_regions && !rc; i++)
			rc = copy_range(d, st->regions[i].gpa, st->regions[i].len,
					ld_le64(h + ELF_EHDR_SIZE + i * ELF_PHDR_SIZE + 8), err);
	free(h);
	return rc;
}

int vimg_memdump(struct vimg_vmstate *st, const char *out, enum vimg_memdump_format fmt,
		 vimg_progress_fn *progress, void *progress_opaque, struct vimg_error *err)
{
	struct dump d = { .st = st, .progress = progress, .opaque = progress_opaque };
	int rc;

	if (!vmstate_valid(st) || !out || (fmt != VIMG_MEMDUMP_RAW && fmt != VIMG_MEMDUMP_ELF))
		return vimg_error_set(err, VIMG_EINVAL, "memdump: bad arguments");
	if (!st->mem)
		return vimg_error_set(err, VIMG_EINVAL,
				      "memdump: %s was opened without its memory", st->path);
	if ((rc = check_target(st, out, err)))
		return rc;
	for (size_t i = 0; i < st->n_regions; i++)
		d.total += st->regions[i].len;
	if (!(d.buf = malloc(DUMP_CHUNK)))
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	if ((rc = file_open(out, FILE_CREATE, &d.out, err))) {
		free(d.buf);
		return rc;
	}
	rc = fmt == VIMG_MEMDUMP_RAW ? dump_raw(&d, err) : dump_elf(&d, err);
	if (!rc)
		rc = file_fsync(d.out, err);
	if (!rc && progress)
		progress(progress_opaque, d.total, d.total);
	file_close(d.out);
	free(d.buf);
	return rc;
}
