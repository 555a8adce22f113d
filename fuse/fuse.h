/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shared declarations of vimgmount: the virtual file tree (tree.c) and the
 * FUSE operations over it (fs.c); vimgmount.c owns options and the mount
 * lifecycle. fuse/ includes only vimg.h from the library: it knows nothing of
 * formats. The tree is built once before mounting and never changes, so the
 * operations read it from any thread without locking.
 */
#ifndef VIMGMOUNT_FUSE_H
#define VIMGMOUNT_FUSE_H

#define FUSE_USE_VERSION 31

#include <fuse.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "vimg.h"

/* Largest request the kernel is asked to send (max_read, max_write). */
#define FS_MAX_IO (1u << 20)

/* One disk the mount shows. A VM bundle gives several, one folder each. */
struct tree_disk {
	const char *name;		/* path: "disk" for a single image, "scsi0-0/disk"
					   or "snapshots/NAME/scsi0-0/disk" in a bundle */
	struct vimg_image *img;		/* what is read and written: image, overlay or view */
	struct vimg_image *image;	/* the user's image (below the overlay), for info.json */
	const char *overlay;		/* overlay path, or NULL */
	const char *snapshot;		/* internal snapshot shown, or NULL */
};

enum tree_kind {
	TREE_DISK = 1,		/* a whole virtual disk */
	TREE_PARTITION,		/* a window [offset, offset+length) of a disk */
	TREE_DATA,		/* bytes held in memory (info.json, vm.json, nvram/) */
	TREE_MEMORY,		/* a saved state's guest-physical memory, never copied */
};

/* Nodes are files; their names are paths ("scsi0-0/disk.p1"), and the
 * folders are those their names imply. */
struct tree_node {
	char *name;
	enum tree_kind kind;
	struct vimg_image *img;		/* TREE_DISK, TREE_PARTITION */
	struct vimg_vmstate *mem;	/* TREE_MEMORY */
	uint64_t offset, length;
	const char *data;		/* TREE_DATA: `length` bytes */
	void *owned;			/* freed with the tree */
};

struct tree {
	struct tree_node *nodes;
	size_t n, cap;
	char *json;
	char **warnings;		/* partition tables that could not be read fully */
	size_t nwarnings;
};

/*
 * Build the tree for `ndisks` disks: for each, a node for the disk and one per
 * partition ("<name>.p<N>", Linux numbering), then "info.json" describing
 * them, with `mode` ("ro", "rw" or "overlay"). A damaged partition table keeps
 * the partitions read before the damage and adds a warning (t->warnings) and a
 * "partition-error" key; it does not fail the build. Returns 0 or a negative
 * VIMG_E* code (out of memory, read errors of the image). On failure t is
 * empty. The disks' images must outlive the tree.
 */
int tree_build(struct tree *t, const struct tree_disk *disks, size_t ndisks, const char *mode,
	       struct vimg_error *err);
/* Add a file of len bytes at data; owned (may be NULL) is freed with the
 * tree. Returns 0 or VIMG_ENOMEM. */
int tree_add_data(struct tree *t, const char *name, const void *data, size_t len, void *owned);
/* Add a saved state's guest memory, read region by region from st. */
int tree_add_memory(struct tree *t, const char *name, struct vimg_vmstate *st);
/* Add vm.json: the VM as vimg inspect describes it. */
int tree_add_vm_json(struct tree *t, const char *name, struct vimg_vm *vm,
		     struct vimg_error *err);
/* The node for "/name", or NULL (also for "/" itself). Thread-safe. */
const struct tree_node *tree_lookup(const struct tree *t, const char *path);
/* Whether "/name" is a folder ("/" is). */
bool tree_is_dir(const struct tree *t, const char *path);
/* Call fill with each entry of the folder "/name", once each. */
void tree_list(const struct tree *t, const char *path,
	       int (*fill)(void *opaque, const char *entry), void *opaque);
/* Free what tree_build allocated (not the images). Accepts an empty tree. */
void tree_free(struct tree *t);

/* State shared by every FUSE operation (fuse_get_context()->private_data). */
struct fs_state {
	struct tree tree;
	bool writable;			/* --rw or --overlay */
	const char *mountpoint;		/* absolute */
	uid_t uid;
	gid_t gid;
	struct timespec atime, mtime, ctime; /* of the image file, at mount time */
	struct vimg_image **close_order; /* closed in this order at unmount */
	size_t nclose;
	int close_rc;			/* result of the flush at unmount */
	char close_msg[VIMG_ERROR_MSG_MAX];
};

/* The FUSE operations (fs.c). */
extern const struct fuse_operations fs_ops;

/* Map a VIMG_E* code (with its sys_errno) to a negative errno for FUSE. */
int fs_errno(const struct vimg_error *err);

#endif
