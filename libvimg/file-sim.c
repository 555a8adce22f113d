/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Simulated files (file-sim.h). A file is a sorted array of extents; what
 * is not in one reads as zeros. An extent is the marker (data that is not
 * stored: its bytes are the marker's, indexed by offset modulo a sector),
 * kept bytes, or bytes dropped past the sandbox's bound. Writes split into
 * sector pieces classed as marker, zero or bytes; an overwrite inside kept
 * bytes (a metadata table updated in place, the common case) is a memcpy,
 * and writes past the last extent (new clusters) append.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "file-sim.h"
#include "internal.h"

struct ext {
	uint64_t start, end;
	uint8_t *bytes;		/* kept bytes of [start, end), or NULL */
	bool mark;		/* NULL bytes: the marker, else bytes dropped */
};

struct sandbox;

struct file_sim {
	struct sandbox *sb;
	char *path;
	unsigned id;
	uint64_t size;
	struct ext *v;
	size_t n, cap;
	pthread_mutex_t lock;
};

struct sandbox {
	char *prefix;
	uint64_t max_kept, kept;
	pthread_mutex_t lock;	/* kept, shared by the files' writers */
	struct file_sim **files;
	size_t n;
	struct sandbox *outer;	/* sandboxes nest: the one opened before */
};

static __thread struct sandbox *sandbox;

/* The marker sector repeated: filling and comparing go by memcpy and
 * memcmp of long runs, since a fully allocated simulation moves as many
 * bytes as the virtual disk has. */
#define MARKER_RUN (64u << 10)
static uint8_t marker[MARKER_RUN];
static pthread_once_t marker_once = PTHREAD_ONCE_INIT;

static void marker_init(void)
{
	uint64_t x = 0x9E3779B97F4A7C15ull;

	/* Pseudo-random, so no format's metadata sector can equal it. */
	for (size_t i = 0; i < FILE_SIM_SECTOR; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		marker[i] = (uint8_t)(x >> 32) | 1;
	}
	for (size_t i = FILE_SIM_SECTOR; i < sizeof(marker); i++)
		marker[i] = marker[i % FILE_SIM_SECTOR];
}

const uint8_t *file_sim_marker(void)
{
	pthread_once(&marker_once, marker_init);
	return marker;
}

void file_sim_marker_fill(uint8_t *p, uint64_t off, size_t len)
{
	size_t phase = (size_t)(off % FILE_SIM_SECTOR);

	file_sim_marker();
	while (len) {
		size_t n = len < MARKER_RUN - phase ? len : MARKER_RUN - phase;

		memcpy(p, marker + phase, n);
		p += n;
		len -= n;
		phase = 0;
	}
}

/* Bytes at the start of p (sector-aligned in the file, n a multiple of a
 * sector) that are the marker, in whole sectors. */
static size_t marker_prefix(const uint8_t *p, size_t n)
{
	size_t done = 0;

	while (done < n) {
		size_t m = n - done < MARKER_RUN ? n - done : MARKER_RUN;

		if (!memcmp(p + done, marker, m)) {
			done += m;
			continue;
		}
		while (m && !memcmp(p + done, marker, FILE_SIM_SECTOR)) {
			done += FILE_SIM_SECTOR;
			m -= FILE_SIM_SECTOR;
		}
		break;
	}
	return done;
}

int file_sandbox_begin(const char *prefix, uint64_t max_kept, struct vimg_error *err)
{
	struct sandbox *sb = calloc(1, sizeof(*sb));

	file_sim_marker();
	if (!sb || !(sb->prefix = strdup(prefix))) {
		free(sb);
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	}
	sb->max_kept = max_kept;
	pthread_mutex_init(&sb->lock, NULL);
	sb->outer = sandbox;
	sandbox = sb;
	return 0;
}

static void sim_free(struct file_sim *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].bytes);
	free(s->v);
	free(s->path);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

uint64_t file_sandbox_end(void)
{
	struct sandbox *sb = sandbox;
	uint64_t total = 0;

	if (!sb)
		return 0;
	for (size_t i = 0; i < sb->n; i++) {
		total += sb->files[i]->size;
		sim_free(sb->files[i]);
	}
	free(sb->files);
	free(sb->prefix);
	sandbox = sb->outer;
	pthread_mutex_destroy(&sb->lock);
	free(sb);
	return total;
}

/* ---- extents ------------------------------------------------------------ */

static void account(struct file_sim *s, int64_t delta)
{
	pthread_mutex_lock(&s->sb->lock);
	s->sb->kept += (uint64_t)delta;
	pthread_mutex_unlock(&s->sb->lock);
}

/* The first extent ending after off. */
static size_t ext_find(const struct file_sim *s, uint64_t off)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->v[mid].end <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int ext_insert_at(struct file_sim *s, size_t i, struct ext e, struct vimg_error *err)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct ext *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
		s->v = v;
		s->cap = cap;
	}
	memmove(&s->v[i + 1], &s->v[i], (s->n - i) * sizeof(*s->v));
	s->v[i] = e;
	s->n++;
	return 0;
}

static void ext_erase(struct file_sim *s, size_t i)
{
	memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof(*s->v));
	s->n--;
}

/* Forget [a, b): it reads as zeros afterwards. */
static int ext_remove(struct file_sim *s, uint64_t a, uint64_t b, struct vimg_error *err)
{
	size_t i = ext_find(s, a);

	while (i < s->n && s->v[i].start < b) {
		struct ext *e = &s->v[i];

		if (e->start < a && e->end > b) {
			struct ext right = { b, e->end, NULL, e->mark };

			if (e->bytes) {
				if (!(right.bytes = malloc(e->end - b)))
					return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
				memcpy(right.bytes, e->bytes + (b - e->start), e->end - b);
				account(s, -(int64_t)(b - a));
			}
			e->end = a;
			return ext_insert_at(s, i + 1, right, err);
		}
		if (e->start < a) {
			if (e->bytes)
				account(s, -(int64_t)(e->end - a));
			e->end = a;
			i++;
		} else if (e->end > b) {
			if (e->bytes) {
				memmove(e->bytes, e->bytes + (b - e->start), e->end - b);
				account(s, -(int64_t)(b - e->start));
			}
			e->start = b;
			break;
		} else {
			if (e->bytes)
				account(s, -(int64_t)(e->end - e->start));
			free(e->bytes);
			ext_erase(s, i);
		}
	}
	return 0;
}

enum piece { PIECE_ZERO, PIECE_MARK, PIECE_BYTES };

/* Put [a, b) of kind, after ext_remove made room. */
static int ext_put(struct file_sim *s, uint64_t a, uint64_t b, enum piece kind,
		   const uint8_t *data, struct vimg_error *err)
{
	struct ext e = { a, b, NULL, kind == PIECE_MARK };
	size_t i;
	int rc;

	if (kind == PIECE_ZERO)
		return 0;
	i = ext_find(s, a);
	if (kind == PIECE_MARK) {
		/* Neighbouring marker ranges merge: data is mostly contiguous. */
		if (i > 0 && s->v[i - 1].mark && !s->v[i - 1].bytes && s->v[i - 1].end == a) {
			s->v[i - 1].end = b;
			if (i < s->n && s->v[i].mark && !s->v[i].bytes && s->v[i].start == b) {
				s->v[i - 1].end = s->v[i].end;
				ext_erase(s, i);
			}
			return 0;
		}
		if (i < s->n && s->v[i].mark && !s->v[i].bytes && s->v[i].start == b) {
			s->v[i].start = a;
			return 0;
		}
		return ext_insert_at(s, i, e, err);
	}
	pthread_mutex_lock(&s->sb->lock);
	bool keep = s->sb->kept + (b - a) <= s->sb->max_kept;
	if (keep)
		s->sb->kept += b - a;
	pthread_mutex_unlock(&s->sb->lock);
	if (keep) {
		if (!(e.bytes = malloc(b - a))) {
			account(s, -(int64_t)(b - a));
			return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
		}
		memcpy(e.bytes, data, b - a);
	}
	rc = ext_insert_at(s, i, e, err);
	if (rc && e.bytes) {
		account(s, -(int64_t)(b - a));
		free(e.bytes);
	}
	return rc;
}

static enum piece piece_kind(const uint8_t *p, uint64_t off, size_t n)
{
	if (n == FILE_SIM_SECTOR && off % FILE_SIM_SECTOR == 0 &&
	    !memcmp(p, marker, FILE_SIM_SECTOR))
		return PIECE_MARK;
	return buf_is_zero(p, n) ? PIECE_ZERO : PIECE_BYTES;
}

/* ---- the file operations ---------------------------------------------------- */

static struct sandbox *sandbox_of(const char *path)
{
	for (struct sandbox *sb = sandbox; sb; sb = sb->outer)
		if (!strncmp(path, sb->prefix, strlen(sb->prefix)))
			return sb;
	return NULL;
}

bool file_sandbox_covers(const char *path)
{
	return sandbox_of(path) != NULL;
}

struct file_sim *file_sandbox_lookup(const char *path, bool create, bool truncate)
{
	struct sandbox *sb = sandbox_of(path);
	struct file_sim *s, **files;

	if (!sb)
		return NULL;
	for (size_t i = 0; i < sb->n; i++)
		if (!strcmp(sb->files[i]->path, path)) {
			s = sb->files[i];
			if (truncate)
				file_sim_truncate(s, 0, NULL);
			return s;
		}
	if (!create || !(s = calloc(1, sizeof(*s))))
		return NULL;
	files = realloc(sb->files, (sb->n + 1) * sizeof(*files));
	if (!files || !(s->path = strdup(path))) {
		if (files)
			sb->files = files;
		free(s);
		return NULL;
	}
	sb->files = files;
	s->sb = sb;
	s->id = (unsigned)sb->n + 1;
	pthread_mutex_init(&s->lock, NULL);
	sb->files[sb->n++] = s;
	return s;
}

int file_sim_pread(struct file_sim *s, void *buf, size_t len, uint64_t off, size_t *got,
		   const char *path, struct vimg_error *err)
{
	uint8_t *p = buf;
	uint64_t end;
	int rc = 0;

	pthread_mutex_lock(&s->lock);
	*got = off >= s->size ? 0 : (size_t)min_u64(len, s->size - off);
	end = off + *got;
	memset(p, 0, *got);
	for (size_t i = ext_find(s, off); i < s->n && s->v[i].start < end; i++) {
		const struct ext *e = &s->v[i];
		uint64_t a = e->start > off ? e->start : off, b = e->end < end ? e->end : end;

		if (e->bytes) {
			memcpy(p + (a - off), e->bytes + (a - e->start), b - a);
		} else if (e->mark) {
			file_sim_marker_fill(p + (a - off), a, (size_t)(b - a));
		} else {
			rc = vimg_error_set(err, VIMG_EUNSUPPORTED,
					    "%s: measuring this format needs more than the %llu "
					    "bytes of metadata a simulation keeps (at offset 0x%llx)",
					    path, (unsigned long long)s->sb->max_kept,
					    (unsigned long long)a);
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int file_sim_pwrite(struct file_sim *s, const void *buf, size_t len, uint64_t off,
		    struct vimg_error *err)
{
	const uint8_t *p = buf;
	uint64_t end = off + len, pos = off;
	size_t i;
	int rc = 0;

	pthread_mutex_lock(&s->lock);
	i = ext_find(s, off);
	if (i < s->n && s->v[i].bytes && s->v[i].start <= off && end <= s->v[i].end) {
		memcpy(s->v[i].bytes + (off - s->v[i].start), p, len);
		goto out;
	}
	while (pos < end && !rc) {
		uint64_t seg = pos, n = min_u64(end - pos, FILE_SIM_SECTOR - pos % FILE_SIM_SECTOR);
		enum piece kind = piece_kind(p + (pos - off), pos, (size_t)n);

		pos += n;
		if (kind == PIECE_MARK) {
			uint64_t whole = (end - pos) / FILE_SIM_SECTOR * FILE_SIM_SECTOR;

			pos += marker_prefix(p + (pos - off), (size_t)whole);
		}
		while (pos < end) {
			uint64_t m = min_u64(end - pos, FILE_SIM_SECTOR);

			if (piece_kind(p + (pos - off), pos, (size_t)m) != kind)
				break;
			pos += m;
		}
		rc = ext_remove(s, seg, pos, err);
		if (!rc)
			rc = ext_put(s, seg, pos, kind, p + (seg - off), err);
	}
out:
	if (!rc && end > s->size)
		s->size = end;
	pthread_mutex_unlock(&s->lock);
	return rc;
}

uint64_t file_sim_size(const struct file_sim *s)
{
	return s->size;
}

uint64_t file_sim_stored(const struct file_sim *s)
{
	uint64_t n = 0;

	for (size_t i = 0; i < s->n; i++)
		n += s->v[i].end - s->v[i].start;
	return n;
}

unsigned file_sim_id(const struct file_sim *s)
{
	return s->id;
}

int file_sim_truncate(struct file_sim *s, uint64_t size, struct vimg_error *err)
{
	int rc = 0;

	pthread_mutex_lock(&s->lock);
	if (size < s->size)
		rc = ext_remove(s, size, UINT64_MAX, err);
	if (!rc)
		s->size = size;
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int file_sim_punch(struct file_sim *s, uint64_t off, uint64_t len, struct vimg_error *err)
{
	int rc;

	pthread_mutex_lock(&s->lock);
	rc = ext_remove(s, off, off + len, err);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

uint64_t file_sim_seek(struct file_sim *s, uint64_t off, bool data)
{
	uint64_t at = off;
	size_t i;

	pthread_mutex_lock(&s->lock);
	i = ext_find(s, off);
	if (data) {
		at = i < s->n ? (s->v[i].start > off ? s->v[i].start : off) : s->size;
	} else {
		for (; i < s->n && s->v[i].start <= at; i++)
			at = s->v[i].end;
		at = at < s->size ? at : s->size > off ? s->size : off;
	}
	pthread_mutex_unlock(&s->lock);
	return at;
}
