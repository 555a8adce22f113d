/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The copy engine behind vimg_convert (doc/architecture.md, "The copy engine"). One
 * producer walks the source chain's block status and queues jobs only for
 * ranges that hold data (or zeros the target must be told about); holes on
 * a zero-initialised target cost nothing, so the work follows the data, not
 * the virtual size. Workers read, detect zero blocks, compress, and write.
 * Reads and compression run in parallel; writes are committed in job order
 * (sequential host layout, like qemu-img without -W) unless out_of_order,
 * and always in order when the target's driver takes only ordered writes.
 * The engine works on an open target (vimg_image_copy), so convert, clone
 * and snapshot merges share it; vimg_convert only creates the target first.
 * Memory: at most `threads` chunk buffers plus a fixed job ring.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checked.h"
#include "internal.h"

#define CHUNK_MIN (1024 * 1024)
#define MAX_THREADS 16
#define QUEUE_LEN 32

enum job_kind { JOB_COPY, JOB_ZERO };

struct job {
	enum job_kind kind;
	uint64_t off, len, seq;
};

struct copy {
	struct vimg_image *src, *dst;
	const struct vimg_image *base;
	const struct vimg_copy_opts *o;
	uint64_t chunk, min_sparse;
	uint32_t cluster;
	bool zero_init, compress, ordered, keep_dst;

	pthread_mutex_t lock;
	pthread_cond_t not_empty, not_full, turn;
	struct job ring[QUEUE_LEN];
	unsigned head, count;
	bool producer_done, failed;
	uint64_t issued, next_seq, done;
	struct vimg_error err;
};

static void copy_fail(struct copy *c, const struct vimg_error *e)
{
	pthread_mutex_lock(&c->lock);
	if (!c->failed) {
		c->failed = true;
		c->err = *e;
	}
	pthread_cond_broadcast(&c->not_empty);
	pthread_cond_broadcast(&c->not_full);
	pthread_cond_broadcast(&c->turn);
	pthread_mutex_unlock(&c->lock);
}

static void copy_progress(struct copy *c, uint64_t n)
{
	pthread_mutex_lock(&c->lock);
	/* Widened jobs may overlap skipped ranges: never report past the total. */
	c->done = min_u64(c->done + n, c->src->size);
	if (c->o->progress)
		c->o->progress(c->o->progress_opaque, c->done, c->src->size);
	pthread_mutex_unlock(&c->lock);
}

/* Queue a job; false once the copy has failed. */
static bool push_job(struct copy *c, enum job_kind kind, uint64_t off, uint64_t len)
{
	bool ok;

	pthread_mutex_lock(&c->lock);
	while (c->count == QUEUE_LEN && !c->failed)
		pthread_cond_wait(&c->not_full, &c->lock);
	ok = !c->failed;
	if (ok) {
		c->ring[(c->head + c->count) % QUEUE_LEN] =
			(struct job){ .kind = kind, .off = off, .len = len, .seq = c->issued++ };
		c->count++;
		pthread_cond_signal(&c->not_empty);
	}
	pthread_mutex_unlock(&c->lock);
	return ok;
}

static bool pop_job(struct copy *c, struct job *j)
{
	bool ok;

	pthread_mutex_lock(&c->lock);
	while (!c->count && !c->producer_done && !c->failed)
		pthread_cond_wait(&c->not_empty, &c->lock);
	ok = c->count && !c->failed;
	if (ok) {
		*j = c->ring[c->head];
		c->head = (c->head + 1) % QUEUE_LEN;
		c->count--;
		pthread_cond_signal(&c->not_full);
	}
	pthread_mutex_unlock(&c->lock);
	return ok;
}

/* Ordered commit: wait for this job's turn (no-op when out of order). */
static bool wait_turn(struct copy *c, uint64_t seq)
{
	bool ok;

	if (!c->ordered)
		return true;
	pthread_mutex_lock(&c->lock);
	while (c->next_seq != seq && !c->failed)
		pthread_cond_wait(&c->turn, &c->lock);
	ok = !c->failed;
	pthread_mutex_unlock(&c->lock);
	return ok;
}

static void end_turn(struct copy *c)
{
	if (!c->ordered)
		return;
	pthread_mutex_lock(&c->lock);
	c->next_seq++;
	pthread_cond_broadcast(&c->turn);
	pthread_mutex_unlock(&c->lock);
}

/* Write [off, off+len) of buf to the target, leaving zero blocks sparse. */
static int write_sparse(struct copy *c, const uint8_t *buf, uint64_t off, uint64_t len,
			struct vimg_error *err)
{
	uint64_t blk = c->min_sparse, pos = 0;
	int rc = 0;

	if (!blk)
		return vimg_image_write(c->dst, buf, off, (size_t)len, err);
	while (pos < len && !rc) {
		/* Blocks are aligned to min_sparse in the virtual disk. */
		uint64_t end = pos, n;
		bool zero;

		n = min_u64(len - pos, blk - (off + pos) % blk);
		zero = buf_is_zero(buf + pos, (size_t)n);
		end = pos + n;
		while (end < len) {
			uint64_t m = min_u64(len - end, blk);

			if (buf_is_zero(buf + end, (size_t)m) != zero)
				break;
			end += m;
		}
		if (!zero)
			rc = vimg_image_write(c->dst, buf + pos, off + pos, (size_t)(end - pos), err);
		else if (!c->zero_init)
			rc = vimg_image_zero(c->dst, off + pos, end - pos, 0, err);
		pos = end;
	}
	return rc;
}

/*
 * Compress cluster by cluster outside the target lock, then store in order.
 * cbuf holds one compressed cluster per cluster of the chunk.
 */
static int write_compressed_chunk(struct copy *c, const uint8_t *buf, uint8_t *cbuf,
				  size_t *clens, const struct job *j, struct vimg_error *err)
{
	const struct vimg_driver *drv = c->dst->drv;
	uint64_t cl = c->cluster, n = (j->len + cl - 1) / cl;
	int rc = 0;

	for (uint64_t i = 0; i < n && !rc; i++) {
		uint64_t len = min_u64(cl, j->len - i * cl);

		clens[i] = (size_t)len;
		if (buf_is_zero(buf + i * cl, (size_t)len)) {
			clens[i] = 0;
			continue;
		}
		rc = drv->compress(c->dst, buf + i * cl, (size_t)len, cbuf + i * cl, &clens[i],
				   err);
		if (rc == 1) {
			clens[i] = SIZE_MAX; /* incompressible: plain write */
			rc = 0;
		}
	}
	if (rc || !wait_turn(c, j->seq))
		return rc;
	for (uint64_t i = 0; i < n && !rc; i++) {
		uint64_t off = j->off + i * cl, len = min_u64(cl, j->len - i * cl);

		if (clens[i] == 0) {
			if (!c->zero_init)
				rc = vimg_image_zero(c->dst, off, len, 0, err);
		} else if (clens[i] == SIZE_MAX) {
			rc = vimg_image_write(c->dst, buf + i * cl, off, (size_t)len, err);
		} else {
			image_lock(c->dst, true);
			rc = drv->write_compressed(c->dst, cbuf + i * cl, clens[i], off, (size_t)len,
						   err);
			image_unlock(c->dst);
		}
	}
	return rc;
}

static void *copy_worker(void *opaque)
{
	struct copy *c = opaque;
	struct vimg_error err = VIMG_ERROR_INIT;
	uint64_t nclusters = c->cluster ? (c->chunk + c->cluster - 1) / c->cluster : 0;
	uint8_t *buf = malloc(c->chunk);
	uint8_t *cbuf = c->compress ? malloc(c->chunk) : NULL;
	size_t *clens = c->compress ? calloc(nclusters, sizeof(size_t)) : NULL;
	struct job j;
	int rc = 0;

	if (!buf || (c->compress && (!cbuf || !clens))) {
		vimg_error_set(&err, VIMG_ENOMEM, "copy: out of memory");
		copy_fail(c, &err);
		goto out;
	}
	while (pop_job(c, &j)) {
		if (j.kind == JOB_ZERO) {
			rc = wait_turn(c, j.seq) ? vimg_image_zero(c->dst, j.off, j.len, 0, &err) : 0;
		} else {
			rc = vimg_image_read(c->src, buf, j.off, (size_t)j.len, &err);
			if (rc) {
				vimg_error_prefix(&err, "reading source at 0x%llx",
						  (unsigned long long)j.off);
			} else if (c->compress) {
				rc = write_compressed_chunk(c, buf, cbuf, clens, &j, &err);
			} else if (wait_turn(c, j.seq)) {
				rc = write_sparse(c, buf, j.off, j.len, &err);
			}
		}
		end_turn(c);
		if (rc) {
			copy_fail(c, &err);
			break;
		}
		copy_progress(c, j.len);
	}
out:
	free(buf);
	free(cbuf);
	free(clens);
	return NULL;
}

/* Queue [off, off+len) as chunk-aligned jobs. */
static bool queue_range(struct copy *c, enum job_kind kind, uint64_t off, uint64_t len)
{
	while (len) {
		uint64_t n = min_u64(len, c->chunk - off % c->chunk);

		if (!push_job(c, kind, off, n))
			return false;
		off += n;
		len -= n;
	}
	return true;
}

/*
 * Queue a run, widened to whole target clusters so that compressed and
 * freshly allocated clusters are written once and whole; `*queued` is where
 * the previous widened job ended, so no cluster is queued twice.
 */
static bool queue_run(struct copy *c, enum job_kind kind, uint64_t off, uint64_t len,
		      uint64_t *queued)
{
	uint64_t start = off, end = off + len;

	if (c->cluster) {
		start = align_down(off, c->cluster);
		end = min_u64(c->src->size, (end + c->cluster - 1) / c->cluster * c->cluster);
	}
	start = max_u64(start, *queued);
	if (start >= end)
		return true;
	*queued = end;
	return queue_range(c, kind, start, end - start);
}

/*
 * Queue a run; with keep_dst only the parts the target's own layer does not
 * hold (merging a parent into a child must not overwrite the child's data).
 * Returns 0, 1 once the copy has failed, or a negative code.
 */
static int queue_kept(struct copy *c, enum job_kind kind, uint64_t off, uint64_t len,
		      uint64_t *queued, struct vimg_error *err)
{
	struct vimg_run run;
	int rc;

	if (!c->keep_dst)
		return queue_run(c, kind, off, len, queued) ? 0 : 1;
	while (len) {
		rc = vimg_image_block_status(c->dst, off, len, &run, err);
		if (rc)
			return rc;
		run.length = min_u64(run.length, len);
		if (run.kind == VIMG_RUN_UNALLOCATED) {
			if (!queue_run(c, kind, off, run.length, queued))
				return 1;
		} else {
			copy_progress(c, run.length);
		}
		off += run.length;
		len -= run.length;
	}
	return 0;
}

static int copy_produce(struct copy *c, struct vimg_error *err)
{
	uint64_t off = 0, queued = 0, size = c->src->size;
	struct vimg_run run;
	unsigned depth;
	int rc;

	while (off < size) {
		rc = vimg_image_block_status_above(c->src, c->base, off, size - off, &run, &depth,
						   err);
		if (rc)
			return rc;
		if (run.kind == VIMG_RUN_DATA || c->min_sparse == 0) {
			/* -S 0 asks for a fully allocated target: holes are written too. */
			rc = queue_kept(c, JOB_COPY, off, run.length, &queued, err);
		} else if (run.kind == VIMG_RUN_UNALLOCATED && c->base) {
			/* Supplied by the target's backing file (-B). */
			copy_progress(c, run.length);
		} else if (!c->zero_init) {
			rc = queue_kept(c, JOB_ZERO, off, run.length, &queued, err);
		} else {
			copy_progress(c, run.length);
		}
		if (rc)
			return rc < 0 ? rc : 0;
		off += run.length;
	}
	return 0;
}

static unsigned default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	/* Two per core overlaps I/O with compression; more only costs memory. */
	return n < 1 ? 2 : (unsigned)min_u64((uint64_t)n * 2, 8);
}

static int copy_run(struct copy *c, unsigned threads, struct vimg_error *err)
{
	pthread_t tids[MAX_THREADS];
	unsigned started = 0;
	int rc = 0;

	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->not_empty, NULL);
	pthread_cond_init(&c->not_full, NULL);
	pthread_cond_init(&c->turn, NULL);
	for (; started < threads; started++)
		if (pthread_create(&tids[started], NULL, copy_worker, c))
			break;
	if (!started) {
		rc = vimg_error_set(err, VIMG_ENOMEM, "copy: cannot start worker threads");
	} else {
		struct vimg_error perr = VIMG_ERROR_INIT;

		if (copy_produce(c, &perr))
			copy_fail(c, &perr);
		pthread_mutex_lock(&c->lock);
		c->producer_done = true;
		pthread_cond_broadcast(&c->not_empty);
		pthread_mutex_unlock(&c->lock);
		for (unsigned i = 0; i < started; i++)
			pthread_join(tids[i], NULL);
		if (c->failed) {
			if (err && !err->code)
				*err = c->err;
			rc = c->err.code ? c->err.code : VIMG_EIO;
		} else if (c->done < c->src->size) {
			copy_progress(c, c->src->size - c->done);
		}
	}
	pthread_cond_destroy(&c->turn);
	pthread_cond_destroy(&c->not_full);
	pthread_cond_destroy(&c->not_empty);
	pthread_mutex_destroy(&c->lock);
	return rc;
}

int vimg_image_copy(struct vimg_image *src, struct vimg_image *dst,
		    const struct vimg_copy_opts *o, struct vimg_error *err)
{
	static const struct vimg_copy_opts defaults = { 0 };
	struct copy c = { 0 };
	unsigned threads;

	if (!image_valid(src) || !image_valid(dst))
		return vimg_error_set(err, VIMG_EINVAL, "vimg_image_copy: invalid arguments");
	o = o ? o : &defaults;
	if (!dst->writable)
		return vimg_error_set(err, VIMG_EROFS, "%s: opened read-only", dst->path);
	if (dst->size < src->size)
		return vimg_error_set(err, VIMG_ERANGE,
				      "%s: target (%llu bytes) is smaller than the source (%llu)",
				      dst->path, (unsigned long long)dst->size,
				      (unsigned long long)src->size);
	if (o->compress && !(dst->drv->compress && dst->drv->write_compressed))
		return vimg_error_set(err, VIMG_EUNSUPPORTED, "%s: compression is not supported",
				      dst->drv->name);
	if (o->compress && !dst->cluster_size)
		return vimg_error_set(err, VIMG_EUNSUPPORTED, "%s: compression needs clusters",
				      dst->drv->name);
	threads = o->threads ? o->threads : default_threads();
	if (threads > MAX_THREADS)
		return vimg_error_set(err, VIMG_EINVAL, "at most %d threads", MAX_THREADS);
	if (o->keep_dst_data && dst->sequential_writes)
		return vimg_error_set(err, VIMG_EUNSUPPORTED,
				      "%s: a %s stream cannot be merged into", dst->path,
				      dst->drv->name);
	c.src = src;
	c.dst = dst;
	c.o = o;
	c.base = o->base;
	c.min_sparse = o->has_min_sparse ? o->min_sparse : 4096;
	c.compress = o->compress;
	c.ordered = !o->out_of_order || dst->sequential_writes;
	c.cluster = dst->cluster_size;
	c.zero_init = o->dst_reads_zero && !file_is_block_device(dst->file);
	c.keep_dst = o->keep_dst_data;
	c.chunk = max_u64(CHUNK_MIN, c.cluster);
	return copy_run(&c, threads, err);
}

int vimg_convert(struct vimg_image *src, const char *dst, const struct vimg_convert_opts *o,
		 struct vimg_error *err)
{
	static const struct vimg_convert_opts defaults = { 0 };
	struct vimg_copy_opts co = { 0 };
	struct vimg_image *target;
	const char *fmt;
	const struct vimg_driver *drv;
	unsigned oflags = VIMG_OPEN_RDWR | (o && o->no_sync ? VIMG_OPEN_NO_SYNC : 0);
	int rc, rc2;

	if (!image_valid(src) || !dst)
		return vimg_error_set(err, VIMG_EINVAL, "vimg_convert: invalid arguments");
	o = o ? o : &defaults;
	fmt = o->format ? o->format : "raw";
	drv = registry_by_name(fmt);
	if (!drv)
		return vimg_error_set(err, VIMG_EINVAL, "unknown format \"%s\"", fmt);
	if (o->compress && !(drv->compress && drv->write_compressed))
		return vimg_error_set(err, VIMG_EUNSUPPORTED, "%s: compression is not supported",
				      fmt);
	if (o->threads > MAX_THREADS)
		return vimg_error_set(err, VIMG_EINVAL, "at most %d threads", MAX_THREADS);
	if (o->backing && (o->create_flags & VIMG_CREATE_ALLOW_ESCAPE))
		oflags |= VIMG_OPEN_ALLOW_ESCAPE;
	rc = vimg_image_create(dst, fmt, src->size, o->options, o->backing, o->backing_format,
			       o->create_flags, err);
	if (rc)
		return vimg_error_prefix(err, "creating %s", dst);
	rc = vimg_image_open(dst, fmt, oflags, &target, err);
	if (rc)
		return vimg_error_prefix(err, "opening %s", dst);
	co.base = o->backing ? src->backing : NULL;
	co.compress = o->compress;
	co.min_sparse = o->min_sparse;
	co.has_min_sparse = o->has_min_sparse;
	co.threads = o->threads;
	co.out_of_order = o->out_of_order;
	/* A new image reads as zeros except over a backing file. */
	co.dst_reads_zero = !o->backing;
	co.progress = o->progress;
	co.progress_opaque = o->progress_opaque;
	rc = vimg_image_copy(src, target, &co, err);
	rc2 = vimg_image_close(target, rc ? NULL : err);
	return rc ? rc : rc2;
}
