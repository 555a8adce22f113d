/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * FUSE operations of vimgmount over the tree of tree.c (high-level libfuse 3
 * API, run by the multi-threaded loop). Reads go straight to
 * vimg_image_read, which is safe from several threads; libvimg serialises
 * writes itself. Files never change size. A read-only mount lets the kernel
 * keep its page cache across opens (keep_cache); a writable one does not,
 * since a disk and its partition files alias the same bytes.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "fuse/fuse.h"

static struct fs_state *fs_state(void)
{
	return fuse_get_context()->private_data;
}

/* Disks and partitions may be written (--rw, --overlay); nothing else may. */
static bool is_disk(const struct tree_node *n)
{
	return n->kind == TREE_DISK || n->kind == TREE_PARTITION;
}

int fs_errno(const struct vimg_error *err)
{
	switch (err->code) {
	case 0:
		return 0;
	case VIMG_ENOMEM:
		return -ENOMEM;
	case VIMG_EROFS:
		return -EROFS;
	case VIMG_ENOSPC:
		return -ENOSPC;
	case VIMG_EACCES:
		return -EACCES;
	case VIMG_ERANGE:
		return -EINVAL;
	case VIMG_EIO:
		return err->sys_errno > 0 ? -err->sys_errno : -EIO;
	default:
		return -EIO;
	}
}

/* Undo mountinfo's octal escapes (\040 for a space) in place. */
static void unescape_octal(char *s)
{
	char *d = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*d++ = *s;
		}
	}
	*d = '\0';
}

/*
 * Buffered reads reach us in readahead-sized pieces, and the kernel starts a
 * FUSE mount at 128 KiB (its INIT offer caps max_readahead). Raise the mount's
 * bdi read_ahead_kb to FS_MAX_IO so sequential reads come as 1 MiB requests.
 * Only root may; failure is harmless. Run once, at the first open: the INIT
 * reply that would clamp it again has been processed by then.
 */
static void fs_raise_readahead(void)
{
	const char *mnt = fs_state()->mountpoint;
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096], dev[32] = "", path[PATH_MAX];

	if (!f || !mnt)
		goto out;
	while (fgets(line, sizeof(line), f)) {
		char d[32], m[4096];
		if (sscanf(line, "%*s %*s %31s %*s %4095s", d, m) != 2)
			continue;
		unescape_octal(m);
		if (strcmp(m, mnt) == 0)
			snprintf(dev, sizeof(dev), "%s", d);
	}
	if (dev[0]) {
		snprintf(path, sizeof(path), "/sys/class/bdi/%s/read_ahead_kb", dev);
		FILE *ra = fopen(path, "we");
		if (ra) {
			fprintf(ra, "%u\n", FS_MAX_IO / 1024);
			fclose(ra);
		}
	}
out:
	if (f)
		fclose(f);
}

static void *fs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	struct fs_state *st = fs_state();

	/* Big requests: the kernel caps them by max_read/max_pages (from max_write). */
	conn->max_read = FS_MAX_IO;
	if (conn->max_write < FS_MAX_IO)
		conn->max_write = FS_MAX_IO;
	conn->max_readahead = FS_MAX_IO > conn->max_readahead ? conn->max_readahead : FS_MAX_IO;
	if (conn->capable & FUSE_CAP_ASYNC_READ)
		conn->want |= FUSE_CAP_ASYNC_READ;
	conn->want &= ~(unsigned)FUSE_CAP_WRITEBACK_CACHE;

	cfg->use_ino = 0;
	cfg->direct_io = 0;
	cfg->kernel_cache = !st->writable;
	cfg->auto_cache = 0;
	/* Nothing ever changes behind the kernel's back: cache names and sizes long. */
	cfg->entry_timeout = 3600;
	cfg->attr_timeout = st->writable ? 1 : 3600;
	cfg->negative_timeout = 3600;
	return st;
}

/* Flush and close every image, at unmount (also on SIGTERM/SIGINT/fusermount3 -u). */
static void fs_destroy(void *private_data)
{
	struct fs_state *st = private_data;

	for (size_t i = 0; i < st->nclose; i++) {
		struct vimg_error err = VIMG_ERROR_INIT;
		int rc = vimg_image_close(st->close_order[i], &err);
		if (rc < 0 && st->close_rc == 0) {
			st->close_rc = rc;
			snprintf(st->close_msg, sizeof(st->close_msg), "%s", err.msg);
		}
		st->close_order[i] = NULL;
	}
	st->nclose = 0;
}

static int fs_getattr(const char *path, struct stat *sb, struct fuse_file_info *fi)
{
	struct fs_state *st = fs_state();
	const struct tree_node *n;

	memset(sb, 0, sizeof(*sb));
	sb->st_uid = st->uid;
	sb->st_gid = st->gid;
	sb->st_atim = st->atime;
	sb->st_mtim = st->mtime;
	sb->st_ctim = st->ctime;
	(void)fi;
	n = tree_lookup(&st->tree, path);
	if (!n && tree_is_dir(&st->tree, path)) {
		sb->st_mode = S_IFDIR | 0555;
		sb->st_nlink = 2;
		return 0;
	}
	if (!n)
		return -ENOENT;
	sb->st_mode = S_IFREG | (st->writable && is_disk(n) ? 0644 : 0444);
	sb->st_nlink = 1;
	sb->st_size = (off_t)n->length;
	sb->st_blksize = 4096;
	sb->st_blocks = (blkcnt_t)((n->length + 511) / 512);
	return 0;
}

struct dir_fill {
	void *buf;
	fuse_fill_dir_t fill;
};

static int dir_fill_one(void *opaque, const char *entry)
{
	struct dir_fill *df = opaque;

	return df->fill(df->buf, entry, NULL, 0, 0);
}

static int fs_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
		      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	struct fs_state *st = fs_state();

	(void)off;
	(void)fi;
	(void)flags;
	if (!tree_is_dir(&st->tree, path))
		return tree_lookup(&st->tree, path) ? -ENOTDIR : -ENOENT;
	fill(buf, ".", NULL, 0, 0);
	fill(buf, "..", NULL, 0, 0);
	struct dir_fill df = { buf, fill };
	tree_list(&st->tree, path, dir_fill_one, &df);
	return 0;
}

static int fs_open(const char *path, struct fuse_file_info *fi)
{
	struct fs_state *st = fs_state();
	const struct tree_node *n = tree_lookup(&st->tree, path);
	bool wants_write = (fi->flags & O_ACCMODE) != O_RDONLY;

	static pthread_once_t readahead_once = PTHREAD_ONCE_INIT;

	pthread_once(&readahead_once, fs_raise_readahead);
	if (!n)
		return -ENOENT;
	if (wants_write && !st->writable)
		return -EROFS;
	if (wants_write && !is_disk(n))
		return -EACCES;
	fi->fh = (uint64_t)(n - st->tree.nodes);
	fi->keep_cache = !st->writable;
	return 0;
}

static int fs_read(const char *path, char *buf, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	const struct tree_node *n = &fs_state()->tree.nodes[fi->fh];
	struct vimg_error err = VIMG_ERROR_INIT;
	uint64_t o = (uint64_t)off;

	(void)path;
	if (off < 0)
		return -EINVAL;
	if (o >= n->length)
		return 0;
	if (size > n->length - o)
		size = (size_t)(n->length - o);
	if (n->kind == TREE_DATA) {
		memcpy(buf, n->data + o, size);
		return (int)size;
	}
	if (n->kind == TREE_MEMORY) {
		if (vimg_vmstate_read(n->mem, buf, o, size, &err) < 0) {
			fprintf(stderr, "vimgmount: read %s at %llu: %s\n", n->name,
				(unsigned long long)o, err.msg);
			return fs_errno(&err);
		}
		return (int)size;
	}
	if (vimg_image_read(n->img, buf, n->offset + o, size, &err) < 0) {
		fprintf(stderr, "vimgmount: read %s at %llu: %s\n", n->name,
			(unsigned long long)o, err.msg);
		return fs_errno(&err);
	}
	return (int)size;
}

static int fs_write(const char *path, const char *buf, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct fs_state *st = fs_state();
	const struct tree_node *n = &st->tree.nodes[fi->fh];
	struct vimg_error err = VIMG_ERROR_INIT;
	uint64_t o = (uint64_t)off;

	(void)path;
	if (!st->writable)
		return -EROFS;
	if (!is_disk(n))
		return -EACCES;
	if (off < 0)
		return -EINVAL;
	/* Like a block device: a file never grows, a write at its end has no space. */
	if (o >= n->length)
		return size ? -ENOSPC : 0;
	if (size > n->length - o)
		size = (size_t)(n->length - o);
	if (vimg_image_write(n->img, buf, n->offset + o, size, &err) < 0) {
		fprintf(stderr, "vimgmount: write %s at %llu: %s\n", n->name,
			(unsigned long long)o, err.msg);
		return fs_errno(&err);
	}
	return (int)size;
}

/* Sizes are fixed; truncating to the current size (O_TRUNC on a disk) is a no-op. */
static int fs_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	struct fs_state *st = fs_state();
	const struct tree_node *n = fi ? &st->tree.nodes[fi->fh] : tree_lookup(&st->tree, path);

	if (!n)
		return -ENOENT;
	if (!st->writable)
		return -EROFS;
	return size >= 0 && (uint64_t)size == n->length ? 0 : -EPERM;
}

static int fs_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	struct fs_state *st = fs_state();
	const struct tree_node *n = &st->tree.nodes[fi->fh];
	struct vimg_error err = VIMG_ERROR_INIT;

	(void)path;
	(void)datasync;
	if (!st->writable || !is_disk(n))
		return 0;
	if (vimg_image_flush(n->img, &err) < 0) {
		fprintf(stderr, "vimgmount: flush: %s\n", err.msg);
		return fs_errno(&err);
	}
	return 0;
}

/* close(2) of a written file: make the image consistent (no fsync is implied). */
static int fs_flush(const char *path, struct fuse_file_info *fi)
{
	if ((fi->flags & O_ACCMODE) == O_RDONLY)
		return 0;
	return fs_fsync(path, 0, fi);
}

static int fs_statfs(const char *path, struct statvfs *sv)
{
	struct fs_state *st = fs_state();
	uint64_t total = 0;

	(void)path;
	for (size_t i = 0; i < st->tree.n; i++)
		total += st->tree.nodes[i].length;
	memset(sv, 0, sizeof(*sv));
	sv->f_bsize = 4096;
	sv->f_frsize = 4096;
	sv->f_blocks = (fsblkcnt_t)((total + 4095) / 4096);
	sv->f_files = st->tree.n + 1;
	sv->f_namemax = 255;
	if (!st->writable)
		sv->f_flag = ST_RDONLY;
	return 0;
}

const struct fuse_operations fs_ops = {
	.init = fs_init,
	.destroy = fs_destroy,
	.getattr = fs_getattr,
	.readdir = fs_readdir,
	.open = fs_open,
	.read = fs_read,
	.write = fs_write,
	.truncate = fs_truncate,
	.flush = fs_flush,
	.fsync = fs_fsync,
	.statfs = fs_statfs,
};
