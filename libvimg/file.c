/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Host files: the only place that calls pread/pwrite/fsync on image files,
 * so short reads, EINTR and end-of-file handling live in one spot. Every
 * error names the file and the offset.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checked.h"
#include "driver.h"
#include "file-sim.h"

struct vimg_file {
	int fd;
	bool writable;
	bool blockdev;
	bool nosync;
	char *path;
	/* A window: the file's bytes start at base and end at base + limit
	 * (UINT64_MAX: wherever the host file ends) in host, or host is NULL. */
	char *host;
	uint64_t base, limit;
	struct file_sim *sim;	/* a simulated file (file-sim.h): no fd */
};

/*
 * The window this thread asked for (file_window_begin). The drivers open
 * files by path, deep inside create and open; a window named by path lets
 * them work on a disk inside an archive without knowing it.
 */
static __thread struct window {
	char *path, *host;
	uint64_t base, limit;
	bool active;
} window;

int file_window_begin(const char *path, const char *host, uint64_t base, uint64_t limit,
		      struct vimg_error *err)
{
	file_window_end();
	window.path = strdup(path);
	window.host = strdup(host);
	if (!window.path || !window.host) {
		file_window_end();
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	}
	window.base = base;
	window.limit = limit;
	window.active = true;
	return 0;
}

void file_window_end(void)
{
	free(window.path);
	free(window.host);
	window = (struct window){ 0 };
}

/* The length of a read or write at off that stays inside the window. */
static size_t window_clamp(const struct vimg_file *f, uint64_t off, size_t len)
{
	if (f->limit == UINT64_MAX)
		return len;
	if (off >= f->limit)
		return 0;
	return f->limit - off < len ? (size_t)(f->limit - off) : len;
}

int file_open(const char *path, unsigned flags, struct vimg_file **out, struct vimg_error *err)
{
	int oflags = O_CLOEXEC | ((flags & FILE_RDWR) ? O_RDWR : O_RDONLY);
	bool windowed = window.active && !strcmp(path, window.path);
	struct vimg_file *f;
	struct stat st;

	*out = NULL;
	if (file_sandbox_covers(path)) {
		f = calloc(1, sizeof(*f));
		if (!f || !(f->path = strdup(path))) {
			free(f);
			return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
		}
		f->sim = file_sandbox_lookup(path, flags & FILE_CREATE, flags & FILE_CREATE);
		if (!f->sim) {
			file_close(f);
			return vimg_error_set(err, (flags & FILE_CREATE) ? VIMG_ENOMEM : VIMG_ENOENT,
					      "%s: %s", path, (flags & FILE_CREATE) ?
					      "out of memory" : "no such (simulated) file");
		}
		f->fd = -1;
		f->limit = UINT64_MAX;
		f->writable = flags & (FILE_RDWR | FILE_CREATE);
		*out = f;
		return 0;
	}
	/* A disk inside an archive names no other file: its extents or
	 * backing files would be read from outside the archive. */
	if (window.active && !windowed)
		return vimg_error_set(err, VIMG_EUNSUPPORTED,
				      "%s: a disk inside %s cannot name other files (\"%s\")",
				      window.path, window.host, path);
	if (flags & FILE_CREATE)
		oflags |= O_RDWR | O_CREAT | (windowed ? 0 : O_TRUNC) |
			  ((flags & FILE_EXCL) && !windowed ? O_EXCL : 0);
	f = calloc(1, sizeof(*f));
	if (!f || !(f->path = strdup(path))) {
		free(f);
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	}
	f->limit = UINT64_MAX;
	if (windowed) {
		f->base = window.base;
		f->limit = window.limit;
		if (!(f->host = strdup(window.host))) {
			free(f->path);
			free(f);
			return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
		}
	}
	f->fd = open(windowed ? window.host : path, oflags, 0644);
	if (f->fd < 0) {
		int e = errno;

		free(f->path);
		free(f);
		return vimg_error_set_errno(err, e, "%s", path);
	}
	if (fstat(f->fd, &st) == 0 && S_ISBLK(st.st_mode))
		f->blockdev = true;
	else if (fstat(f->fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		file_close(f);
		return vimg_error_set(err, VIMG_EINVAL, "%s: is a directory", path);
	}
	f->writable = (oflags & O_ACCMODE) == O_RDWR;
	f->nosync = flags & FILE_NOSYNC;
	if (windowed && (f->blockdev || (f->writable && f->limit != UINT64_MAX))) {
		file_close(f);
		return vimg_error_set(err, VIMG_EINVAL, "%s: a window is a read-only range or "
				      "the open end of a regular file", path);
	}
	if (windowed && (flags & FILE_CREATE) && file_truncate(f, 0, err)) {
		file_close(f);
		return -1;
	}
	*out = f;
	return 0;
}

void file_close(struct vimg_file *f)
{
	if (!f)
		return;
	if (f->fd >= 0)
		close(f->fd);
	free(f->path);
	free(f->host);
	free(f);
}

const char *file_window_of(const struct vimg_file *f, uint64_t *base, uint64_t *limit)
{
	*base = f->base;
	*limit = f->limit;
	return f->host;
}

int file_fd(const struct vimg_file *f)
{
	return f->fd;
}

int file_identity(const struct vimg_file *f, uint64_t *dev, uint64_t *ino,
		  struct vimg_error *err)
{
	struct stat st;

	if (f->sim) {
		/* No host device numbers look like this one. */
		*dev = UINT64_MAX;
		*ino = file_sim_id(f->sim);
		return 0;
	}
	if (fstat(f->fd, &st) < 0)
		return vimg_error_set_errno(err, errno, "%s: stat", f->path);
	*dev = (uint64_t)st.st_dev;
	*ino = (uint64_t)st.st_ino;
	return 0;
}

bool file_is_block_device(const struct vimg_file *f)
{
	return f->blockdev;
}

const char *vimg_file_path(const struct vimg_file *f)
{
	return f ? f->path : NULL;
}

static int pread_loop(struct vimg_file *f, void *buf, size_t len, uint64_t off, size_t *got,
		      struct vimg_error *err)
{
	uint8_t *p = buf;

	*got = 0;
	if (f->sim)
		return file_sim_pread(f->sim, buf, len, off, got, f->path, err);
	len = window_clamp(f, off, len);
	while (*got < len) {
		ssize_t n = pread(f->fd, p + *got, len - *got, (off_t)(f->base + off + *got));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return vimg_error_set_errno(err, errno, "%s: read at offset 0x%llx",
						    f->path, (unsigned long long)(off + *got));
		}
		if (n == 0)
			break;
		*got += (size_t)n;
	}
	return 0;
}

int file_pread_full(struct vimg_file *f, void *buf, size_t len, uint64_t off,
		    struct vimg_error *err)
{
	size_t got;
	int rc = pread_loop(f, buf, len, off, &got, err);

	if (rc)
		return rc;
	if (got < len)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "%s: unexpected end of file reading %zu bytes at offset 0x%llx",
				      f->path, len, (unsigned long long)off);
	return 0;
}

int file_pread_zeroed(struct vimg_file *f, void *buf, size_t len, uint64_t off,
		      struct vimg_error *err)
{
	size_t got;
	int rc = pread_loop(f, buf, len, off, &got, err);

	if (rc)
		return rc;
	memset((uint8_t *)buf + got, 0, len - got);
	return 0;
}

int file_pwrite_full(struct vimg_file *f, const void *buf, size_t len, uint64_t off,
		     struct vimg_error *err)
{
	const uint8_t *p = buf;
	size_t done = 0;

	if (f->sim)
		return file_sim_pwrite(f->sim, buf, len, off, err);
	if (window_clamp(f, off, len) < len)
		return vimg_error_set(err, VIMG_EINVAL, "%s: write at offset 0x%llx past the end "
				      "of its window", f->path, (unsigned long long)off);
	while (done < len) {
		ssize_t n = pwrite(f->fd, p + done, len - done, (off_t)(f->base + off + done));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return vimg_error_set_errno(err, errno, "%s: write at offset 0x%llx",
						    f->path, (unsigned long long)(off + done));
		}
		done += (size_t)n;
	}
	return 0;
}

int file_fsync(struct vimg_file *f, struct vimg_error *err)
{
	if (f->sim)
		return 0;
	if (f->writable && !f->nosync && fdatasync(f->fd) < 0 && errno != EINVAL)
		return vimg_error_set_errno(err, errno, "%s: fsync", f->path);
	return 0;
}

int64_t file_size(struct vimg_file *f, struct vimg_error *err)
{
	struct stat st;

	if (f->sim)
		return (int64_t)file_sim_size(f->sim);
	if (f->blockdev) {
		uint64_t sz;

		if (ioctl(f->fd, BLKGETSIZE64, &sz) < 0)
			return vimg_error_set_errno(err, errno, "%s: device size", f->path);
		return (int64_t)sz;
	}
	if (fstat(f->fd, &st) < 0)
		return vimg_error_set_errno(err, errno, "%s: stat", f->path);
	if ((uint64_t)st.st_size <= f->base)
		return 0;
	return f->limit < (uint64_t)st.st_size - f->base ? (int64_t)f->limit
							  : st.st_size - (int64_t)f->base;
}

int64_t file_allocated(struct vimg_file *f, struct vimg_error *err)
{
	struct stat st;

	if (f->sim)
		return (int64_t)file_sim_stored(f->sim);
	if (fstat(f->fd, &st) < 0)
		return vimg_error_set_errno(err, errno, "%s: stat", f->path);
	/* What a window holds of the host's blocks is not known: say its size. */
	if (f->base || f->limit != UINT64_MAX)
		return file_size(f, err);
	return (int64_t)st.st_blocks * 512;
}

int file_truncate(struct vimg_file *f, uint64_t size, struct vimg_error *err)
{
	if (f->sim)
		return file_sim_truncate(f->sim, size, err);
	if (f->blockdev)
		return 0;
	if (f->limit != UINT64_MAX)
		return vimg_error_set(err, VIMG_EINVAL, "%s: a window cannot change size", f->path);
	if (ftruncate(f->fd, (off_t)(f->base + size)) < 0)
		return vimg_error_set_errno(err, errno, "%s: truncate to %llu", f->path,
					    (unsigned long long)size);
	return 0;
}

int file_write_zeros(struct vimg_file *f, uint64_t off, uint64_t len, struct vimg_error *err)
{
	static const uint8_t zeros[65536];
	int rc = 0;

	while (len && !rc) {
		size_t n = (size_t)min_u64(len, sizeof(zeros));

		rc = file_pwrite_full(f, zeros, n, off, err);
		off += n;
		len -= n;
	}
	return rc;
}

int file_allocate(struct vimg_file *f, uint64_t off, uint64_t len, struct vimg_error *err)
{
	int e;

	if (!len || f->blockdev)
		return 0;
	/* Allocated space reads as zeros: only the length can change. */
	if (f->sim)
		return off + len > file_sim_size(f->sim) ? file_sim_truncate(f->sim, off + len, err)
							 : 0;
	if (window_clamp(f, off, len) < len)
		return vimg_error_set(err, VIMG_EINVAL, "%s: allocation past the end of its window",
				      f->path);
	e = posix_fallocate(f->fd, (off_t)(f->base + off), (off_t)len);
	if (e)
		return vimg_error_set_errno(err, e, "%s: allocate 0x%llx+0x%llx", f->path,
					    (unsigned long long)off, (unsigned long long)len);
	return 0;
}

int file_punch_hole(struct vimg_file *f, uint64_t off, uint64_t len, struct vimg_error *err)
{
	if (!len)
		return 0;
	if (f->sim)
		return file_sim_punch(f->sim, off, len, err);
	len = window_clamp(f, off, len);
	if (len && fallocate(f->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			     (off_t)(f->base + off), (off_t)len) < 0) {
		if (errno == EOPNOTSUPP || errno == ENOSYS)
			return vimg_error_set(err, VIMG_EUNSUPPORTED, "%s: cannot punch holes",
					      f->path);
		return vimg_error_set_errno(err, errno, "%s: punch hole at 0x%llx", f->path,
					    (unsigned long long)off);
	}
	return 0;
}

static int seek_to(struct vimg_file *f, uint64_t off, int whence, uint64_t *found,
		   struct vimg_error *err)
{
	off_t r = lseek(f->fd, (off_t)(f->base + off), whence);

	if (r >= 0) {
		int64_t sz = file_size(f, err);

		if (sz < 0)
			return (int)sz;
		/* Past the window's end is end of file, whatever follows it. */
		*found = (uint64_t)r - f->base;
		if (*found > (uint64_t)sz)
			*found = (uint64_t)sz > off ? (uint64_t)sz : off;
		return 0;
	}
	if (errno == ENXIO) {
		/* No data at or after off: everything to the end is a hole. */
		int64_t sz = file_size(f, err);

		if (sz < 0)
			return (int)sz;
		*found = (uint64_t)sz > off ? (uint64_t)sz : off;
		return 0;
	}
	if (errno == EINVAL || errno == EOPNOTSUPP)
		return vimg_error_set(err, VIMG_EUNSUPPORTED, "%s: SEEK_DATA unsupported",
				      f->path);
	return vimg_error_set_errno(err, errno, "%s: seek at 0x%llx", f->path,
				    (unsigned long long)off);
}

int file_seek_data(struct vimg_file *f, uint64_t off, uint64_t *found, struct vimg_error *err)
{
	if (f->sim) {
		*found = file_sim_seek(f->sim, off, true);
		return 0;
	}
	return seek_to(f, off, SEEK_DATA, found, err);
}

int file_seek_hole(struct vimg_file *f, uint64_t off, uint64_t *found, struct vimg_error *err)
{
	if (f->sim) {
		*found = file_sim_seek(f->sim, off, false);
		return 0;
	}
	return seek_to(f, off, SEEK_HOLE, found, err);
}

int file_read_all(const char *path, size_t max, const char *what, char **out, size_t *len,
		  struct vimg_error *err)
{
	struct vimg_file *f;
	int64_t size;
	int rc;

	*out = NULL;
	rc = file_open(path, 0, &f, err);
	if (rc)
		return rc;
	size = file_size(f, err);
	if (size < 0) {
		rc = (int)size;
	} else if ((uint64_t)size > max) {
		rc = vimg_error_set(err, VIMG_ECORRUPT, "%s: %s is larger than %zu bytes", what,
				    path, max);
	} else if (!(*out = malloc((size_t)size + 1))) {
		rc = vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	} else {
		rc = file_pread_full(f, *out, (size_t)size, 0, err);
		(*out)[size] = 0;
		*len = (size_t)size;
	}
	file_close(f);
	if (rc) {
		free(*out);
		*out = NULL;
	}
	return rc;
}

int file_replace(const char *path, const void *buf, size_t len, struct vimg_error *err)
{
	char *tmp = NULL, *dir;
	struct vimg_file *f;
	struct stat st;
	int rc, dfd;

	if (asprintf(&tmp, "%s.vimg-tmp", path) < 0)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	rc = file_open(tmp, FILE_CREATE | FILE_EXCL, &f, err);
	if (rc) {
		free(tmp);
		return rc;
	}
	/* Keep the permissions of the file being replaced. */
	if (stat(path, &st) == 0)
		(void)fchmod(file_fd(f), st.st_mode & 07777);
	rc = file_pwrite_full(f, buf, len, 0, err);
	if (!rc)
		rc = file_fsync(f, err);
	file_close(f);
	if (!rc && rename(tmp, path) != 0)
		rc = vimg_error_set_errno(err, errno, "renaming %s to %s", tmp, path);
	if (rc) {
		unlink(tmp);
		free(tmp);
		return rc;
	}
	free(tmp);
	/* The rename is durable only once the directory is synced. */
	dir = path_dirname(path);
	dfd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	free(dir);
	return 0;
}
