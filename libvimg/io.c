/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The I/O path shared by every format (doc/architecture.md, "Disk drivers"):
 * requests are bounds-checked here, then served by looping over the top
 * layer's block status. Plain DATA runs are read straight from the host file
 * (short reads and EOF handled once, in file.c), compressed or encoded runs
 * go to the driver, ZERO is a memset, UNALLOCATED goes to the backing chain.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "internal.h"

#define ZERO_CHUNK (1024 * 1024)

bool buf_is_zero(const void *buf, size_t len)
{
	const uint8_t *p = buf;

	/* Check a prefix, then compare the buffer with itself shifted. */
	if (len == 0)
		return true;
	for (size_t i = 0; i < 16 && i < len; i++)
		if (p[i])
			return false;
	return len <= 16 || memcmp(p, p + 16, len - 16) == 0;
}

static int check_range(const struct vimg_image *img, uint64_t off, uint64_t len,
		       const char *what, struct vimg_error *err)
{
	if (off > img->size || len > img->size - off)
		return vimg_error_set(err, VIMG_ERANGE,
				      "%s at 0x%llx+0x%llx beyond the disk size 0x%llx", what,
				      (unsigned long long)off, (unsigned long long)len,
				      (unsigned long long)img->size);
	return 0;
}

int io_block_status(struct vimg_image *img, uint64_t off, uint64_t len, struct vimg_run *run,
		    struct vimg_error *err)
{
	int rc;

	memset(run, 0, sizeof(*run));
	image_lock(img, false);
	rc = img->drv->block_status(img, off, len, run, err);
	image_unlock(img);
	if (rc)
		return rc;
	if (run->length == 0 || run->kind < VIMG_RUN_DATA || run->kind > VIMG_RUN_UNALLOCATED)
		return vimg_error_set(err, VIMG_EIO, "%s: driver returned an invalid run at 0x%llx",
				      img->drv->name, (unsigned long long)off);
	if (run->length > len)
		run->length = len;
	return 0;
}

int vimg_read_below(struct vimg_image *img, void *buf, uint64_t off, size_t len,
		    struct vimg_error *err)
{
	struct vimg_image *b = img->backing;
	size_t inside = 0;

	if (b && off < b->size) {
		inside = (size_t)min_u64(len, b->size - off);
		int rc = io_read(b, buf, off, inside, err);

		if (rc)
			return rc;
	}
	memset((uint8_t *)buf + inside, 0, len - inside);
	return 0;
}

int io_read(struct vimg_image *img, void *buf, uint64_t off, size_t len,
	    struct vimg_error *err)
{
	uint8_t *p = buf;
	struct vimg_run run;
	int rc;

	while (len) {
		rc = io_block_status(img, off, len, &run, err);
		if (rc)
			return rc;
		size_t n = (size_t)run.length;

		switch (run.kind) {
		case VIMG_RUN_DATA:
			if (run.flags & VIMG_RUN_OFFSET_VALID) {
				rc = file_pread_zeroed(run.file, p, n, run.file_off, err);
			} else if (img->drv->read) {
				image_lock(img, false);
				rc = img->drv->read(img, p, off, n, err);
				image_unlock(img);
			} else {
				rc = vimg_error_set(err, VIMG_EIO,
						    "%s: data at 0x%llx has no host offset",
						    img->drv->name, (unsigned long long)off);
			}
			break;
		case VIMG_RUN_ZERO:
			memset(p, 0, n);
			rc = 0;
			break;
		default:
			rc = vimg_read_below(img, p, off, n, err);
			break;
		}
		if (rc)
			return rc;
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

int vimg_image_read(struct vimg_image *img, void *buf, uint64_t off, size_t len,
		    struct vimg_error *err)
{
	if (!image_valid(img) || (!buf && len))
		return vimg_error_set(err, VIMG_EINVAL, "vimg_image_read: invalid arguments");
	if (check_range(img, off, len, "read", err))
		return VIMG_ERANGE;
	return io_read(img, buf, off, len, err);
}

int vimg_image_block_status(struct vimg_image *img, uint64_t off, uint64_t len,
			    struct vimg_run *run, struct vimg_error *err)
{
	if (!image_valid(img) || !run || !len)
		return vimg_error_set(err, VIMG_EINVAL, "vimg_image_block_status: invalid arguments");
	if (check_range(img, off, len, "block status", err))
		return VIMG_ERANGE;
	return io_block_status(img, off, len, run, err);
}

static int check_writable(struct vimg_image *img, struct vimg_error *err)
{
	if (!img->writable)
		return vimg_error_set(err, VIMG_EROFS, "%s: image is open read-only", img->path);
	return 0;
}

/*
 * A raw image that was only probed must not have its first sector turned into
 * another format's header by a guest: the next probe would trust it (the
 * attack QEMU closed the same way).
 */
static int raw_guard(struct vimg_image *img, const void *buf, uint64_t off, size_t len,
		     struct vimg_error *err)
{
	uint8_t sector[512];
	int rc;

	if (!img->probed_raw || off >= sizeof(sector))
		return 0;
	rc = io_read(img, sector, 0, (size_t)min_u64(sizeof(sector), img->size), err);
	if (rc)
		return rc;
	memcpy(sector + off, buf, (size_t)min_u64(len, sizeof(sector) - off));
	if (registry_sector0_probes_as_other(sector, (size_t)min_u64(sizeof(sector), img->size)))
		return vimg_error_set(err, VIMG_EACCES,
				      "refusing to write an image header into sector 0 of a "
				      "probed raw image; name the format raw explicitly");
	return 0;
}

int vimg_image_write(struct vimg_image *img, const void *buf, uint64_t off, size_t len,
		     struct vimg_error *err)
{
	int rc;

	if (!image_valid(img) || (!buf && len))
		return vimg_error_set(err, VIMG_EINVAL, "vimg_image_write: invalid arguments");
	if ((rc = check_writable(img, err)) || (rc = check_range(img, off, len, "write", err)) ||
	    (rc = raw_guard(img, buf, off, len, err)))
		return rc;
	if (!len)
		return 0;
	image_lock(img, true);
	rc = img->drv->write(img, buf, off, len, 0, err);
	image_unlock(img);
	return rc;
}

int vimg_image_write_compressed(struct vimg_image *img, const void *buf, uint64_t off,
				size_t len, struct vimg_error *err)
{
	size_t clen = len;
	uint8_t *cbuf;
	int rc;

	if (!image_valid(img) || !buf)
		return vimg_error_set(err, VIMG_EINVAL, "vimg_image_write_compressed: invalid arguments");
	if ((rc = check_writable(img, err)) || (rc = check_range(img, off, len, "write", err)))
		return rc;
	if (!img->drv->compress || !img->drv->write_compressed)
		return vimg_error_set(err, VIMG_EUNSUPPORTED, "%s: compression is not supported",
				      img->drv->name);
	if (!img->cluster_size || off % img->cluster_size ||
	    (len != img->cluster_size && off + len != img->size))
		return vimg_error_set(err, VIMG_EINVAL,
				      "compressed writes must cover exactly one cluster");
	cbuf = malloc(len);
	if (!cbuf)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	/* Compression runs outside the image lock so copy workers overlap. */
	rc = img->drv->compress(img, buf, len, cbuf, &clen, err);
	if (rc == 1) {
		free(cbuf);
		return vimg_image_write(img, buf, off, len, err);
	}
	if (rc == 0) {
		image_lock(img, true);
		rc = img->drv->write_compressed(img, cbuf, clen, off, len, err);
		image_unlock(img);
	}
	free(cbuf);
	return rc;
}

int vimg_image_zero(struct vimg_image *img, uint64_t off, uint64_t len, unsigned flags,
		    struct vimg_error *err)
{
	uint8_t *zeros;
	int rc = 0;

	if (!image_valid(img))
		return vimg_error_set(err, VIMG_EINVAL, "vimg_image_zero: invalid handle");
	if ((rc = check_writable(img, err)) || (rc = check_range(img, off, len, "zero", err)))
		return rc;
	if (!len)
		return 0;
	if (img->drv->zero) {
		image_lock(img, true);
		rc = img->drv->zero(img, off, len, flags, err);
		image_unlock(img);
		return rc;
	}
	zeros = calloc(1, ZERO_CHUNK);
	if (!zeros)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	while (len && !rc) {
		size_t n = (size_t)min_u64(len, ZERO_CHUNK);

		image_lock(img, true);
		rc = img->drv->write(img, zeros, off, n, 0, err);
		image_unlock(img);
		off += n;
		len -= n;
	}
	free(zeros);
	return rc;
}

int vimg_image_flush(struct vimg_image *img, struct vimg_error *err)
{
	int rc = 0;

	if (!image_valid(img))
		return vimg_error_set(err, VIMG_EINVAL, "vimg_image_flush: invalid handle");
	if (!img->writable)
		return 0;
	image_lock(img, true);
	if (img->drv->flush)
		rc = img->drv->flush(img, err);
	if (!rc && img->file)
		rc = file_fsync(img->file, err);
	image_unlock(img);
	return rc;
}
