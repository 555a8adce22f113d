/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * VHDX log ([MS-VHDX] 2.3): finding the active sequence and replaying it on
 * open (2.3.3), in memory only when the image is read-only, and writing
 * metadata updates through the log (2.3.1, 2.3.2).
 *
 * Replay: every 4 KiB position of the circular log is tried as the start of
 * a sequence of valid entries (signature, CRC-32C, LogGuid, descriptors and
 * data sectors carrying the entry's sequence number), each following entry
 * having the next sequence number. A sequence counts when its last entry's
 * tail points at its first; the one ending with the highest sequence number
 * is the active one and is applied in order.
 *
 * Writing: dirty BAT pages are committed as one entry per commit: the data
 * they point to is fsynced first, a fresh LogGuid goes into both headers,
 * the entry (tail = itself) is written and fsynced, the pages are written in
 * place and fsynced, and LogGuid is cleared again. A crash at any point
 * leaves either the old metadata or a replayable log. The environment
 * variable VIMG_VHDX_TEST_STOP_AFTER_LOG (tests only) stops right after the
 * entry is durable, to make images with a pending log.
 */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "crc32c.h"
#include "endian.h"
#include "vhdx.h"

#define TEST_HOOK "VIMG_VHDX_TEST_STOP_AFTER_LOG"
/* Largest zero descriptor replayed (a sanity bound, not a spec limit). */
#define MAX_ZERO_LEN (1ull << 30)

/* A validated entry: where its pieces are in the entry buffer. */
struct entry {
	uint64_t seq, flushed, last;
	uint32_t sectors, tail, ndesc;
};

static void ovl_add(struct vhdx *s, uint64_t off, uint64_t len, uint8_t *data)
{
	s->ovl[s->n_ovl++] = (struct vhdx_ovl){ off, len, data };
}

bool vhdx_ovl_overlaps(const struct vhdx *s, uint64_t off, uint64_t len)
{
	for (size_t i = 0; i < s->n_ovl; i++)
		if (s->ovl[i].off < off + len && off < s->ovl[i].off + s->ovl[i].len)
			return true;
	return false;
}

int vhdx_meta_pread(struct vhdx *s, void *buf, size_t len, uint64_t off,
		    struct vimg_error *err)
{
	uint8_t *p = buf;
	int rc = file_pread_zeroed(s->file, buf, len, off, err);

	if (rc)
		return rc;
	/* Later entries win: apply in log order. */
	for (size_t i = 0; i < s->n_ovl; i++) {
		const struct vhdx_ovl *o = &s->ovl[i];
		uint64_t a = max_u64(off, o->off), b = min_u64(off + len, o->off + o->len);

		if (a >= b)
			continue;
		if (o->data)
			memcpy(p + (a - off), o->data + (a - o->off), b - a);
		else
			memset(p + (a - off), 0, b - a);
	}
	return 0;
}

void vhdx_log_free(struct vhdx *s)
{
	for (size_t i = 0; i < s->n_ovl; i++)
		free(s->ovl[i].data);
	free(s->ovl);
	s->ovl = NULL;
	s->n_ovl = 0;
}

/* Copy the entry at sector i (wrapping around the log end) into e. */
static void gather(const uint8_t *log, uint32_t nsec, uint32_t i, uint32_t n, uint8_t *e)
{
	for (uint32_t k = 0; k < n; k++)
		memcpy(e + (size_t)k * VHDX_LOG_SECTOR,
		       log + (size_t)((i + k) % nsec) * VHDX_LOG_SECTOR, VHDX_LOG_SECTOR);
}

/* Validate the entry at sector i; on success e holds it, contiguous. */
static bool entry_valid(const struct vhdx *s, const uint8_t *log, uint32_t nsec, uint32_t i,
			uint8_t *e, struct entry *out)
{
	const uint8_t *h = log + (size_t)i * VHDX_LOG_SECTOR;
	uint32_t len = ld_le32(h + 8), sum = ld_le32(h + 4), ndata = 0, dsec;
	uint64_t seq = ld_le64(h + 16);

	if (ld_le32(h) != VHDX_LOG_SIG || len % VHDX_LOG_SECTOR || len == 0 ||
	    len / VHDX_LOG_SECTOR > nsec || memcmp(h + 32, s->hdr.log_guid, 16))
		return false;
	out->sectors = len / VHDX_LOG_SECTOR;
	out->tail = ld_le32(h + 12);
	out->seq = seq;
	out->ndesc = ld_le32(h + 24);
	out->flushed = ld_le64(h + 48);
	out->last = ld_le64(h + 56);
	if (out->ndesc > (uint64_t)out->sectors * (VHDX_LOG_SECTOR / VHDX_LOG_DESC_LEN) ||
	    out->tail % VHDX_LOG_SECTOR || out->tail / VHDX_LOG_SECTOR >= nsec)
		return false;
	dsec = (VHDX_LOG_HDR_LEN + out->ndesc * VHDX_LOG_DESC_LEN + VHDX_LOG_SECTOR - 1) /
	       VHDX_LOG_SECTOR;
	if (dsec > out->sectors)
		return false;
	gather(log, nsec, i, out->sectors, e);
	memset(e + 4, 0, 4);
	if (crc32c(0, e, len) != sum)
		return false;
	for (uint32_t k = 0; k < out->ndesc; k++) {
		const uint8_t *d = e + VHDX_LOG_HDR_LEN + (size_t)k * VHDX_LOG_DESC_LEN;
		uint32_t sig = ld_le32(d);

		if (ld_le64(d + 24) != seq || (sig != VHDX_DESC_SIG && sig != VHDX_ZERO_SIG))
			return false;
		if (sig == VHDX_DESC_SIG) {
			const uint8_t *ds;

			if (dsec + ndata >= out->sectors)
				return false;
			ds = e + (size_t)(dsec + ndata) * VHDX_LOG_SECTOR;
			if (ld_le32(ds) != VHDX_DATA_SIG || ld_le32(ds + 4) != (uint32_t)(seq >> 32) ||
			    ld_le32(ds + 4092) != (uint32_t)seq)
				return false;
			ndata++;
		}
	}
	return dsec + ndata == out->sectors;
}

/* Check one entry's descriptors' targets; the first bad one is the error. */
static int check_targets(const struct vhdx *s, const uint8_t *e, const struct entry *en,
			 uint64_t log_pos, struct vimg_error *err)
{
	for (uint32_t k = 0; k < en->ndesc; k++) {
		const uint8_t *d = e + VHDX_LOG_HDR_LEN + (size_t)k * VHDX_LOG_DESC_LEN;
		uint64_t off = ld_le64(d + 16);
		uint64_t len = ld_le32(d) == VHDX_ZERO_SIG ? ld_le64(d + 8) : VHDX_LOG_SECTOR;

		if (off % VHDX_LOG_SECTOR || len % VHDX_LOG_SECTOR || len > MAX_ZERO_LEN ||
		    off < VHDX_REGION1_OFF || off + len > en->last ||
		    (off < s->hdr.log_offset + s->hdr.log_length && off + len > s->hdr.log_offset))
			return vimg_error_set(err, VIMG_ECORRUPT,
					      "vhdx: log entry %" PRIu64 ": descriptor %u targets an "
					      "invalid range 0x%" PRIx64 "+0x%" PRIx64 " (offset 0x%" PRIx64
					      ")",
					      en->seq, k, off, len, log_pos);
	}
	return 0;
}

/* Apply one entry: to the file when writable, else to the in-memory overlay. */
static int apply(struct vhdx *s, const uint8_t *e, const struct entry *en, struct vimg_error *err)
{
	uint32_t dsec = (VHDX_LOG_HDR_LEN + en->ndesc * VHDX_LOG_DESC_LEN + VHDX_LOG_SECTOR - 1) /
			VHDX_LOG_SECTOR, ndata = 0;
	int rc = 0;

	for (uint32_t k = 0; k < en->ndesc && !rc; k++) {
		const uint8_t *d = e + VHDX_LOG_HDR_LEN + (size_t)k * VHDX_LOG_DESC_LEN;
		uint64_t off = ld_le64(d + 16);

		if (ld_le32(d) == VHDX_ZERO_SIG) {
			uint64_t len = ld_le64(d + 8);

			if (!s->writable) {
				ovl_add(s, off, len, NULL);
				continue;
			}
			for (uint64_t p = 0; p < len && !rc; p += MIB)
				rc = file_pwrite_full(s->file, s->zero_buf, min_u64(MIB, len - p),
						      off + p, err);
		} else {
			const uint8_t *ds = e + (size_t)(dsec + ndata++) * VHDX_LOG_SECTOR;
			uint8_t *sec = malloc(VHDX_LOG_SECTOR);

			if (!sec)
				return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
			/* 2.3.1.3: leading 8 and trailing 4 bytes live in the descriptor. */
			memcpy(sec, d + 8, 8);
			memcpy(sec + 8, ds + 8, 4084);
			memcpy(sec + 4092, d + 4, 4);
			if (s->writable) {
				rc = file_pwrite_full(s->file, sec, VHDX_LOG_SECTOR, off, err);
				free(sec);
			} else {
				ovl_add(s, off, VHDX_LOG_SECTOR, sec);
			}
		}
	}
	return rc;
}

static int replay_sequence(struct vhdx *s, const uint8_t *log, uint32_t nsec, uint32_t start,
			   uint8_t *e, struct vimg_error *err)
{
	struct entry en;
	uint32_t *pos = NULL, n = 0, p = start, used = 0;
	uint64_t total_desc = 0, prev_seq = 0;
	int rc;

	rc = vimg_alloc_table(nsec, sizeof(*pos), VHDX_MAX_LOG_BYTES, "vhdx: log entries",
			      (void **)&pos, err);
	if (rc)
		return rc;
	/* The chain found by vhdx_log_replay, again: positions and descriptor count. */
	while (used < nsec && entry_valid(s, log, nsec, p, e, &en) && (!n || en.seq == prev_seq + 1)) {
		pos[n++] = p;
		total_desc += en.ndesc;
		prev_seq = en.seq;
		used += en.sectors;
		p = (p + en.sectors) % nsec;
		if (p == start)
			break;
	}
	if (!s->writable && total_desc)
		rc = vimg_alloc_table(total_desc, sizeof(*s->ovl), 64ull << 20,
				      "vhdx: log descriptors", (void **)&s->ovl, err);
	for (uint32_t k = 0; k < n && !rc; k++) {
		uint64_t at = s->hdr.log_offset + (uint64_t)pos[k] * VHDX_LOG_SECTOR;

		entry_valid(s, log, nsec, pos[k], e, &en);
		if (en.flushed > s->file_size)
			rc = vimg_error_set(err, VIMG_ECORRUPT,
					    "vhdx: log entry %" PRIu64 ": FlushedFileOffset 0x%" PRIx64
					    " is beyond the end of the file (offset 0x%" PRIx64 ")",
					    en.seq, en.flushed, at);
		if (!rc)
			rc = check_targets(s, e, &en, at, err);
		if (!rc)
			rc = apply(s, e, &en, err);
		s->replay_end = max_u64(s->replay_end, en.last);
	}
	free(pos);
	if (rc || !s->writable)
		return rc;
	if (s->replay_end > s->file_size) {
		rc = file_allocate(s->file, s->file_size, s->replay_end - s->file_size, err);
		if (rc)
			return rc;
		s->file_size = s->replay_end;
	}
	return file_fsync(s->file, err);
}

int vhdx_log_replay(struct vhdx *s, struct vimg_error *err)
{
	uint64_t len = s->hdr.log_length;
	uint32_t nsec = (uint32_t)(len / VHDX_LOG_SECTOR), best = 0;
	uint64_t best_seq = 0;
	bool found = false;
	uint8_t *log, *e;
	int rc;

	if (len > VHDX_MAX_LOG_BYTES)
		return vimg_error_set(err, VIMG_EUNSUPPORTED,
				      "vhdx: log of %" PRIu64 " bytes with a pending sequence exceeds "
				      "the replay limit",
				      len);
	log = malloc(len);
	e = malloc(len);
	if (!log || !e) {
		free(log);
		free(e);
		return vimg_error_set(err, VIMG_ENOMEM, "vhdx: out of memory for the log");
	}
	rc = file_pread_full(s->file, log, len, s->hdr.log_offset, err);
	for (uint32_t i = 0; !rc && i < nsec; i++) {
		struct entry en, last;
		uint32_t pos = i, used = 0;

		if (!entry_valid(s, log, nsec, i, e, &en))
			continue;
		/* Follow the chain of consecutive sequence numbers from i. */
		do {
			last = en;
			used += en.sectors;
			pos = (pos + en.sectors) % nsec;
		} while (used < nsec && pos != i && entry_valid(s, log, nsec, pos, e, &en) &&
			 en.seq == last.seq + 1);
		if (last.tail / VHDX_LOG_SECTOR == i && (!found || last.seq > best_seq)) {
			found = true;
			best = i;
			best_seq = last.seq;
		}
	}
	if (!rc && found) {
		rc = replay_sequence(s, log, nsec, best, e, err);
		s->replayed = true;
	}
	free(log);
	free(e);
	if (rc || !s->writable)
		return rc;
	/* Replayed (or nothing valid to replay): the log is empty now. */
	memset(s->hdr.log_guid, 0, 16);
	return vhdx_headers_update(s, err);
}

/* The most data sectors one entry can carry in this log. */
static uint64_t max_pages(const struct vhdx *s)
{
	uint64_t nsec = s->hdr.log_length / VHDX_LOG_SECTOR, n = nsec;

	while (n && n + (VHDX_LOG_HDR_LEN + n * VHDX_LOG_DESC_LEN + VHDX_LOG_SECTOR - 1) /
				   VHDX_LOG_SECTOR > nsec)
		n--;
	return n;
}

static void page_bytes(const struct vhdx *s, uint64_t p, uint8_t *out)
{
	for (uint64_t k = 0; k < VHDX_LOG_SECTOR / 8; k++)
		st_le64(out + 8 * k, s->bat[p * (VHDX_LOG_SECTOR / 8) + k]);
}

/*
 * One log entry writing n 4 KiB pages: data[k] (n * 4 KiB, in order) goes to
 * file offset offs[k]; then the pages in place.
 */
static int log_write(struct vhdx *s, const uint64_t *offs, const uint8_t *data, uint64_t n,
		     struct vimg_error *err)
{
	uint32_t dsec = (uint32_t)((VHDX_LOG_HDR_LEN + n * VHDX_LOG_DESC_LEN + VHDX_LOG_SECTOR - 1) /
				   VHDX_LOG_SECTOR);
	uint64_t len = ((uint64_t)dsec + n) * VHDX_LOG_SECTOR, seq = ++s->log_seq;
	uint8_t *e = calloc(1, len);
	int rc;

	if (!e)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	rc = file_fsync(s->file, err);
	if (rc)
		goto out;
	id_guid_random(s->hdr.log_guid);
	rc = vhdx_headers_update(s, err);
	if (rc)
		goto out;
	st_le32(e, VHDX_LOG_SIG);
	st_le32(e + 8, (uint32_t)len);
	st_le32(e + 12, 0);
	st_le64(e + 16, seq);
	st_le32(e + 24, (uint32_t)n);
	memcpy(e + 32, s->hdr.log_guid, 16);
	st_le64(e + 48, s->file_size);
	st_le64(e + 56, s->file_size);
	for (uint64_t k = 0; k < n; k++) {
		uint8_t *d = e + VHDX_LOG_HDR_LEN + k * VHDX_LOG_DESC_LEN;
		uint8_t *ds = e + (dsec + k) * VHDX_LOG_SECTOR;
		const uint8_t *page = data + k * VHDX_LOG_SECTOR;

		st_le32(d, VHDX_DESC_SIG);
		memcpy(d + 4, page + 4092, 4);
		memcpy(d + 8, page, 8);
		st_le64(d + 16, offs[k]);
		st_le64(d + 24, seq);
		st_le32(ds, VHDX_DATA_SIG);
		st_le32(ds + 4, (uint32_t)(seq >> 32));
		memcpy(ds + 8, page + 8, 4084);
		st_le32(ds + 4092, (uint32_t)seq);
	}
	st_le32(e + 4, crc32c(0, e, len));
	rc = file_pwrite_full(s->file, e, len, s->hdr.log_offset, err);
	if (!rc)
		rc = file_fsync(s->file, err);
	if (rc)
		goto out;
	if (getenv(TEST_HOOK)) {
		s->stopped = true;
		rc = vimg_error_set(err, VIMG_EIO,
				    "vhdx: stopped after writing the log (test hook " TEST_HOOK ")");
		goto out;
	}
	for (uint64_t k = 0; k < n && !rc; k++)
		rc = file_pwrite_full(s->file, data + k * VHDX_LOG_SECTOR, VHDX_LOG_SECTOR, offs[k],
				      err);
	if (!rc)
		rc = file_fsync(s->file, err);
	if (rc)
		goto out;
	memset(s->hdr.log_guid, 0, 16);
	rc = vhdx_headers_update(s, err);
out:
	free(e);
	return rc;
}

int vhdx_log_write_pages(struct vhdx *s, const uint64_t *offs, const uint8_t *data, uint64_t n,
			 struct vimg_error *err)
{
	if (s->stopped)
		return vimg_error_set(err, VIMG_EIO, "vhdx: writing stopped by the test hook");
	if (n > max_pages(s))
		return vimg_error_set(err, VIMG_ENOSPC,
				      "vhdx: %" PRIu64 " pages do not fit one entry of the %u-byte log",
				      n, s->hdr.log_length);
	for (uint64_t k = 0; k < n; k++)
		if (offs[k] % VHDX_LOG_SECTOR || offs[k] < VHDX_REGION1_OFF)
			return vimg_error_set(err, VIMG_EINVAL,
					      "vhdx: log page at offset 0x%" PRIx64 " is misplaced",
					      offs[k]);
	return log_write(s, offs, data, n, err);
}

/* One commit of up to n BAT pages listed in pages[]. */
static int commit_pages(struct vhdx *s, const uint64_t *pages, uint64_t n, struct vimg_error *err)
{
	uint64_t *offs = malloc(n * sizeof(*offs));
	uint8_t *data = malloc(n * VHDX_LOG_SECTOR);
	int rc;

	if (!offs || !data) {
		free(offs);
		free(data);
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	}
	for (uint64_t k = 0; k < n; k++) {
		offs[k] = s->bat_off + pages[k] * VHDX_LOG_SECTOR;
		page_bytes(s, pages[k], data + k * VHDX_LOG_SECTOR);
	}
	rc = log_write(s, offs, data, n, err);
	free(offs);
	free(data);
	return rc;
}

int vhdx_log_commit(struct vhdx *s, struct vimg_error *err)
{
	uint64_t npages = s->bat_len / VHDX_LOG_SECTOR, cap = max_pages(s), n = 0;
	uint64_t *list;
	int rc = 0;

	if (s->stopped)
		return vimg_error_set(err, VIMG_EIO, "vhdx: writing stopped by the test hook");
	if (!s->n_dirty)
		return 0;
	if (cap == 0)
		return vimg_error_set(err, VIMG_ECORRUPT, "vhdx: log too small for one entry");
	list = malloc(cap * sizeof(*list));
	if (!list)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	for (uint64_t p = 0; p < npages && !rc; p++) {
		if (!s->dirty[p])
			continue;
		list[n++] = p;
		if (n == cap || s->n_dirty == n) {
			rc = commit_pages(s, list, n, err);
			for (uint64_t k = 0; !rc && k < n; k++)
				s->dirty[list[k]] = 0;
			if (!rc)
				s->n_dirty -= n;
			n = 0;
		}
	}
	free(list);
	return rc;
}
