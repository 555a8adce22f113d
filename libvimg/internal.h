/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Internals shared by the core files of libvimg (image, io, chain, copy).
 * Never included by drivers (they use driver.h accessors), cli/ or fuse/.
 *
 * Locking: each image has one rwlock. PARALLEL_READS drivers get read and
 * block_status under the read side and everything else under the write side;
 * SERIALIZE drivers get the write side for every call. The fast-path pread of
 * plain DATA runs happens outside the lock.
 */
#ifndef VIMG_INTERNAL_H
#define VIMG_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "driver.h"

#define IMAGE_MAGIC 0x56494d47u /* "VIMG" */

struct vimg_image {
	uint32_t magic;
	const struct vimg_driver *drv;
	void *priv;
	struct vimg_file *file;		/* main file; not owned by views */
	char *path;
	char *dir;
	unsigned open_flags;
	bool writable;
	bool probed_raw;		/* raw chosen by probing, not named */
	bool borrowed;			/* snapshot view or overlay: file, backing not owned */
	bool sequential_writes;		/* the format accepts writes only in increasing order */
	uint64_t size;
	uint32_t cluster_size;
	char *backing_name;
	char *backing_fmt;
	char *backing_path;
	struct vimg_image *backing;	/* owned unless borrowed */
	pthread_rwlock_t lock;
};

/* Take the image lock for a driver call: `exclusive` for writes/metadata. */
void image_lock(struct vimg_image *img, bool exclusive);
void image_unlock(struct vimg_image *img);
/* The host file and byte range of an image read inside another file (an
 * OVA's disk), or NULL: what to hand a program that reads it too. */
const char *image_host_window(const struct vimg_image *img, uint64_t *base, uint64_t *limit);
/* Check a handle passed to a public entry point. */
bool image_valid(const struct vimg_image *img);

/* Files already in the chain being opened, to refuse loops and bound depth. */
struct chain_ctx {
	unsigned n;
	uint64_t dev[VIMG_MAX_CHAIN_DEPTH + 1];
	uint64_t ino[VIMG_MAX_CHAIN_DEPTH + 1];
};

/* image.c: open one layer and, unless NO_BACKING, the layers below it. */
int image_open_chain(const char *path, const char *format, unsigned flags,
		     struct chain_ctx *ctx, struct vimg_image **out, struct vimg_error *err);
/* chain.c: record a file of the chain; VIMG_EBACKING on a loop or too deep a chain. */
int chain_note_file(struct chain_ctx *ctx, struct vimg_file *f, const char *path,
		    struct vimg_error *err);
/* chain.c: open the backing file the driver recorded (after driver open). */
int chain_open_backing(struct vimg_image *img, struct chain_ctx *ctx, struct vimg_error *err);

/* io.c: the read loop without bounds checks (used by vimg_read_below). */
int io_read(struct vimg_image *img, void *buf, uint64_t off, size_t len,
	    struct vimg_error *err);
/* Block status of one layer with the lock held and the run clamped to [off, off+len). */
int io_block_status(struct vimg_image *img, uint64_t off, uint64_t len, struct vimg_run *run,
		    struct vimg_error *err);
/* Whether the whole buffer is zero. */
bool buf_is_zero(const void *buf, size_t len);

/* opts.c: parse "k=v,..." against a driver's create options. */
int opts_parse(const struct vimg_driver *drv, const char *text, struct vimg_opts **out,
	       struct vimg_error *err);
void opts_free(struct vimg_opts *o);

/* registry.c: choose a driver for an open file by probing head and tail. */
int registry_probe(struct vimg_file *f, const char *name, const struct vimg_driver **out,
		   struct vimg_error *err);
/* Score the first sector against every non-raw driver (raw write guard). */
bool registry_sector0_probes_as_other(const uint8_t *sector, size_t len);

/* ---- warnings (warnings.c) ---------------------------------------------- */

/* Append (key, reason) to *w, creating the list; w NULL means "not asked for". */
int warnings_add(struct vimg_warnings **w, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
