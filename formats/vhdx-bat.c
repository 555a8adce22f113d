/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * VHDX block mapping ([MS-VHDX] 2.4 "Blocks", 2.5 "BAT", 2.5.1 "BAT Entry"):
 * loading and validating the BAT, block status for every payload block state
 * and, for PARTIALLY_PRESENT blocks, the sector bitmap (bit 0 of byte 0 is
 * the first sector; a set bit means this file holds the sector), allocating
 * writes, zeroing through block states, flush and check.
 *
 * Read semantics: NOT_PRESENT and UNDEFINED are UNALLOCATED (the parent in a
 * differencing disk, zeros otherwise), ZERO and UNMAPPED are ZERO,
 * FULLY_PRESENT is data. A write to a block that is not fully present makes
 * it FULLY_PRESENT, filling what the write does not cover from what the
 * block read as before; new blocks are appended 1 MiB aligned with
 * file_allocate, so the file never has holes (Hyper-V refuses sparse VHDX).
 * BAT changes stay in memory (pages marked dirty) until flush commits them
 * through the log.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "endian.h"
#include "vhdx.h"

static unsigned st(uint64_t e)
{
	return (unsigned)(e & VHDX_BAT_STATE_MASK);
}

static uint64_t eoff(uint64_t e)
{
	return e & VHDX_BAT_OFFSET_MASK;
}

/* Bytes of payload block b inside the virtual disk. */
static uint64_t block_len(const struct vhdx *s, uint64_t b)
{
	return min_u64(s->block_size, s->vsize - b * s->block_size);
}

int vhdx_bat_load(struct vhdx *s, struct vimg_error *err)
{
	uint64_t n = s->bat_len / 8, lim = max_u64(s->file_size, s->replay_end);
	uint8_t *raw;
	int rc;

	s->chunk_ratio = (1ull << 23) * s->lsec / s->block_size;
	s->payload_blocks = (s->vsize + s->block_size - 1) / s->block_size;
	s->bitmap_blocks = (s->payload_blocks + s->chunk_ratio - 1) / s->chunk_ratio;
	s->bat_entries = s->has_parent ? s->bitmap_blocks * (s->chunk_ratio + 1)
				       : s->payload_blocks + (s->payload_blocks - 1) / s->chunk_ratio;
	if (s->bat_entries > n)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "vhdx: BAT region of %" PRIu64 " bytes is too small for %" PRIu64
				      " entries (offset 0x%" PRIx64 ")",
				      s->bat_len, s->bat_entries, s->bat_off);
	rc = vimg_alloc_table(n, 8, VHDX_MAX_BAT_BYTES, "vhdx: BAT entries", (void **)&s->bat, err);
	if (rc)
		return rc;
	rc = vimg_alloc_table(s->bat_len / VHDX_LOG_SECTOR, 1, VHDX_MAX_BAT_BYTES, "vhdx: BAT pages",
			      (void **)&s->dirty, err);
	if (rc)
		return rc;
	raw = malloc(s->bat_len);
	if (!raw)
		return vimg_error_set(err, VIMG_ENOMEM, "vhdx: out of memory for the BAT");
	rc = vhdx_meta_pread(s, raw, s->bat_len, s->bat_off, err);
	for (uint64_t i = 0; i < n; i++)
		s->bat[i] = ld_le64(raw + 8 * i);
	free(raw);
	if (rc)
		return rc;
	s->data_end = max_u64(s->bat_off + s->bat_len, s->meta_off + s->meta_len);
	s->data_end = max_u64(s->data_end, s->hdr.log_offset + s->hdr.log_length);
	for (uint64_t i = 0; i < s->bat_entries; i++) {
		uint64_t e = s->bat[i], off = eoff(e), need;
		bool sb = i % (s->chunk_ratio + 1) == s->chunk_ratio;
		unsigned k = st(e);

		if (sb ? (k != VHDX_SB_NOT_PRESENT && k != VHDX_SB_PRESENT)
		       : (k == 4 || k == 5 || (k == VHDX_BAT_PARTIALLY_PRESENT && !s->has_parent)))
			return vimg_error_set(err, VIMG_ECORRUPT,
					      "vhdx: BAT entry %" PRIu64 " has invalid state %u (offset 0x%"
					      PRIx64 ")",
					      i, k, s->bat_off + 8 * i);
		if (sb) {
			if (k != VHDX_SB_PRESENT)
				continue;
			need = MIB;
		} else {
			uint64_t b = i - i / (s->chunk_ratio + 1);

			if (k != VHDX_BAT_FULLY_PRESENT && k != VHDX_BAT_PARTIALLY_PRESENT && !off)
				continue;
			need = block_len(s, b);
		}
		if (off < MIB || off + need > lim)
			return vimg_error_set(err, VIMG_ECORRUPT,
					      "vhdx: BAT entry %" PRIu64 " points past end of file "
					      "(offset 0x%" PRIx64 ")",
					      i, off);
		s->data_end = max_u64(s->data_end, off + (sb ? MIB : s->block_size));
	}
	s->data_end = max_u64(s->data_end, lim);
	if (ck_align_up(s->data_end, MIB, &s->data_end))
		return vimg_error_set(err, VIMG_ECORRUPT, "vhdx: file too large");
	return 0;
}

/* Sector-bitmap run for a PARTIALLY_PRESENT block: is [off..) present, and for how long. */
int vhdx_bitmap_run(struct vhdx *s, uint64_t off, uint64_t len, bool *present,
		    uint64_t *run_len, struct vimg_error *err)
{
	uint64_t b = off / s->block_size, c = b / s->chunk_ratio;
	uint64_t e = s->bat[vhdx_sb_index(s, c)], sector = off / s->lsec;
	uint64_t in_chunk = sector % (1ull << 23), first = in_chunk, end_sector;
	uint8_t *bm = s->tmp_buf;
	uint64_t base, nbytes;
	int rc;

	if (st(e) != VHDX_SB_PRESENT)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "vhdx: block %" PRIu64 " is partially present but sector bitmap "
				      "%" PRIu64 " is not (offset 0x%" PRIx64 ")",
				      b, c, s->bat_off + 8 * vhdx_sb_index(s, c));
	end_sector = (min_u64(off + len, (b + 1) * s->block_size) + s->lsec - 1) / s->lsec;
	end_sector = in_chunk + (end_sector - sector);
	base = first / 8;
	nbytes = (end_sector + 7) / 8 - base;
	rc = vhdx_meta_pread(s, bm, nbytes, eoff(e) + base, err);
	if (rc)
		return rc;
#define BIT(x) ((bm[(x) / 8 - base] >> ((x) % 8)) & 1)
	*present = BIT(first);
	while (++in_chunk < end_sector && BIT(in_chunk) == *present)
		;
#undef BIT
	*run_len = min_u64((sector + (in_chunk - first)) * s->lsec, off + len) - off;
	return 0;
}

int vhdx_block_status(struct vimg_image *img, uint64_t off, uint64_t len, struct vimg_run *run,
		      struct vimg_error *err)
{
	struct vhdx *s = vhdx_priv(img);
	uint64_t b = off / s->block_size, in = off % s->block_size;
	uint64_t e = s->bat[vhdx_pb_index(s, b)];
	uint64_t end = min_u64(off + len, (b + 1) * s->block_size);
	bool present;
	int rc;

	run->length = end - off;
	switch (st(e)) {
	case VHDX_BAT_ZERO:
	case VHDX_BAT_UNMAPPED:
		run->kind = VIMG_RUN_ZERO;
		break;
	case VHDX_BAT_FULLY_PRESENT:
		run->kind = VIMG_RUN_DATA;
		break;
	case VHDX_BAT_PARTIALLY_PRESENT:
		rc = vhdx_bitmap_run(s, off, end - off, &present, &run->length, err);
		if (rc)
			return rc;
		run->kind = present ? VIMG_RUN_DATA : VIMG_RUN_UNALLOCATED;
		break;
	default:
		run->kind = VIMG_RUN_UNALLOCATED;
		break;
	}
	if (run->kind == VIMG_RUN_DATA) {
		run->file = s->file;
		run->file_off = eoff(e) + in;
		/* Data the in-memory log replay changed is served by vhdx_read. */
		if (!vhdx_ovl_overlaps(s, run->file_off, run->length))
			run->flags = VIMG_RUN_OFFSET_VALID;
	}
	return 0;
}

int vhdx_read(struct vimg_image *img, void *buf, uint64_t off, size_t len,
	      struct vimg_error *err)
{
	struct vhdx *s = vhdx_priv(img);
	uint64_t b = off / s->block_size, e = s->bat[vhdx_pb_index(s, b)];

	return vhdx_meta_pread(s, buf, len, eoff(e) + off % s->block_size, err);
}

/* ---- writing ------------------------------------------------------------------------ */

int vhdx_session_start(struct vhdx *s, struct vimg_error *err)
{
	if (s->stopped)
		return vimg_error_set(err, VIMG_EIO, "vhdx: writing stopped by the test hook");
	if (s->session)
		return 0;
	/* 2.2.2: new FileWriteGuid before the first write, DataWriteGuid before data changes. */
	id_guid_random(s->hdr.file_write_guid);
	id_guid_random(s->hdr.data_write_guid);
	s->session = true;
	return vhdx_headers_update(s, err);
}

static bool all_zero(const uint8_t *p, uint64_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

void vhdx_set_entry(struct vhdx *s, uint64_t idx, uint64_t e)
{
	uint64_t page = idx * 8 / VHDX_LOG_SECTOR;

	s->bat[idx] = e;
	if (!s->dirty[page]) {
		s->dirty[page] = 1;
		s->n_dirty++;
	}
}

/*
 * Fill [from, to) of block b at host offset host with what the block reads
 * as now (below, zeros, or the present sectors of a partial block).
 */
static int fill_range(struct vimg_image *img, struct vhdx *s, uint64_t b, uint64_t host,
		      uint64_t from, uint64_t to, unsigned state, bool fresh, struct vimg_error *err)
{
	uint64_t base = b * s->block_size;
	int rc = 0;

	while (from < to && !rc) {
		uint64_t n = min_u64(to - from, MIB);
		bool below = state == VHDX_BAT_NOT_PRESENT || state == VHDX_BAT_UNDEFINED;

		if (state == VHDX_BAT_PARTIALLY_PRESENT) {
			bool present;

			rc = vhdx_bitmap_run(s, base + from, n, &present, &n, err);
			if (rc || present) {
				from += n;
				continue;
			}
			below = true;
		}
		if (below) {
			rc = vimg_read_below(img, s->tmp_buf, base + from, n, err);
			if (!rc && !(fresh && all_zero(s->tmp_buf, n)))
				rc = file_pwrite_full(s->file, s->tmp_buf, n, host + from, err);
		} else if (!fresh) {
			rc = file_pwrite_full(s->file, s->zero_buf, n, host + from, err);
		}
		from += n;
	}
	return rc;
}

/* Make block b FULLY_PRESENT, keeping its content except [skip_from, skip_to). */
static int make_present(struct vimg_image *img, struct vhdx *s, uint64_t b, uint64_t skip_from,
			uint64_t skip_to, struct vimg_error *err)
{
	uint64_t idx = vhdx_pb_index(s, b), e = s->bat[idx], host = eoff(e);
	unsigned state = st(e);
	bool fresh = false;
	int rc;

	if (!host || state == VHDX_BAT_NOT_PRESENT) {
		host = s->data_end;
		rc = file_allocate(s->file, host, s->block_size, err);
		if (rc)
			return rc;
		fresh = true;
		s->data_end += s->block_size;
		s->file_size = max_u64(s->file_size, s->data_end);
	}
	rc = fill_range(img, s, b, host, 0, skip_from, state, fresh, err);
	if (!rc)
		rc = fill_range(img, s, b, host, skip_to, s->block_size, state, fresh, err);
	if (rc)
		return rc;
	vhdx_set_entry(s, idx, host | VHDX_BAT_FULLY_PRESENT);
	return 0;
}

int vhdx_write(struct vimg_image *img, const void *buf, uint64_t off, size_t len,
	       unsigned flags, struct vimg_error *err)
{
	struct vhdx *s = vhdx_priv(img);
	const uint8_t *p = buf;
	int rc = vhdx_session_start(s, err);

	while (!rc && len) {
		uint64_t b = off / s->block_size, in = off % s->block_size;
		size_t n = (size_t)min_u64(len, s->block_size - in);
		uint64_t e = s->bat[vhdx_pb_index(s, b)];

		if (st(e) != VHDX_BAT_FULLY_PRESENT) {
			rc = make_present(img, s, b, in, in + n, err);
			e = s->bat[vhdx_pb_index(s, b)];
		}
		if (!rc)
			rc = file_pwrite_full(s->file, p, n, eoff(e) + in, err);
		p += n;
		off += n;
		len -= n;
	}
	/* Keep a commit within what one log entry holds. */
	if (!rc && s->n_dirty >= 64)
		rc = vhdx_log_commit(s, err);
	return rc;
}

int vhdx_zero(struct vimg_image *img, uint64_t off, uint64_t len, unsigned flags,
	      struct vimg_error *err)
{
	struct vhdx *s = vhdx_priv(img);
	int rc = vhdx_session_start(s, err);

	while (!rc && len) {
		uint64_t b = off / s->block_size, in = off % s->block_size;
		uint64_t n = min_u64(len, s->block_size - in), idx = vhdx_pb_index(s, b);
		unsigned k = st(s->bat[idx]);
		bool reads_zero = k == VHDX_BAT_ZERO || k == VHDX_BAT_UNMAPPED ||
				  (!s->has_parent && (k == VHDX_BAT_NOT_PRESENT || k == VHDX_BAT_UNDEFINED));

		if (reads_zero) {
			/* Nothing to do. */
		} else if (in == 0 && n == block_len(s, b)) {
			/* Keep the space (2.5.1: a ZERO block may keep its offset). */
			vhdx_set_entry(s, idx, eoff(s->bat[idx]) | VHDX_BAT_ZERO);
		} else {
			for (uint64_t done = 0; done < n && !rc; done += MIB)
				rc = vhdx_write(img, s->zero_buf, off + done,
						(size_t)min_u64(MIB, n - done), 0, err);
		}
		off += n;
		len -= n;
	}
	return rc;
}

int vhdx_flush(struct vimg_image *img, struct vimg_error *err)
{
	struct vhdx *s = vhdx_priv(img);

	if (s->stopped)
		return vimg_error_set(err, VIMG_EIO, "vhdx: writing stopped by the test hook");
	return vhdx_log_commit(s, err);
}

/* ---- check ------------------------------------------------------------------------ */

struct extent {
	uint64_t off, len, idx;
};

static int cmp_extent(const void *a, const void *b)
{
	const struct extent *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

static void finding(struct vimg_check *rep, enum vimg_check_severity sev, const char *structure,
		    int64_t index, uint64_t off, bool fixed, const char *msg)
{
	struct vimg_check_finding f = { sev, structure, index, off, msg, fixed };

	if (sev == VIMG_CHECK_LEAK)
		rep->leaks++;
	else if (sev == VIMG_CHECK_CORRUPTION)
		rep->corruptions++;
	else if (sev == VIMG_CHECK_ERROR)
		rep->check_errors++;
	if (fixed && sev == VIMG_CHECK_CORRUPTION)
		rep->corruptions_fixed++;
	if (rep->report)
		rep->report(rep->opaque, &f);
}

/* Both headers valid and agreeing on everything but the sequence number. */
static int check_headers(struct vhdx *s, struct vimg_check *rep, struct vimg_error *err)
{
	uint8_t b[VHDX_HEADER_LEN];
	char msg[128];
	int rc;

	for (int i = 0; i < 2; i++) {
		uint64_t off = i ? VHDX_HEADER2_OFF : VHDX_HEADER1_OFF;

		rc = file_pread_full(s->file, b, sizeof(b), off, err);
		if (rc)
			return rc;
		if (ld_le32(b) != VHDX_HEADER_SIG || ld_le32(b + 4) != vhdx_header_checksum(b)) {
			snprintf(msg, sizeof(msg), "header %d is invalid (bad signature or CRC-32C)",
				 i + 1);
			finding(rep, VIMG_CHECK_CORRUPTION, "header", i, off, false, msg);
		}
	}
	return 0;
}

int vhdx_check(struct vimg_image *img, struct vimg_check *rep, unsigned fix,
	       struct vimg_error *err)
{
	struct vhdx *s = vhdx_priv(img);
	struct extent *ext = NULL;
	uint64_t n = 0, meta_end = max_u64(s->hdr.log_offset + s->hdr.log_length, MIB);
	char msg[200];
	int rc;

	rc = check_headers(s, rep, err);
	if (rc)
		return rc;
	if (s->replayed) {
		/* MS-VHDX 2.3: a pending log is how a crash is survived, not damage. */
		finding(rep, VIMG_CHECK_NOTE, "log", -1, s->hdr.log_offset, s->writable,
			s->writable ? "pending log sequence replayed"
				    : "pending log sequence (replayed in memory; open read-write "
				      "to write it back)");
		/* Written back at open: report it once. */
		if (s->writable)
			s->replayed = false;
	}
	rc = vimg_alloc_table(s->bat_entries + 1, sizeof(*ext), VHDX_MAX_BAT_BYTES * 4,
			      "vhdx: check extents", (void **)&ext, err);
	if (rc)
		return rc;
	for (uint64_t i = 0; i < s->bat_entries; i++) {
		uint64_t e = s->bat[i];
		bool sb = i % (s->chunk_ratio + 1) == s->chunk_ratio;

		if (!eoff(e) || (sb && st(e) != VHDX_SB_PRESENT))
			continue;
		if (!sb && st(e) == VHDX_BAT_NOT_PRESENT)
			continue;
		if (!sb && (st(e) == VHDX_BAT_FULLY_PRESENT || st(e) == VHDX_BAT_PARTIALLY_PRESENT))
			rep->allocated_clusters++;
		ext[n++] = (struct extent){ eoff(e), sb ? MIB : s->block_size, i };
		if (eoff(e) < meta_end ||
		    (eoff(e) < s->bat_off + s->bat_len && eoff(e) + s->block_size > s->bat_off) ||
		    (eoff(e) < s->meta_off + s->meta_len && eoff(e) + s->block_size > s->meta_off)) {
			snprintf(msg, sizeof(msg), "BAT entry %" PRIu64 " overlaps the metadata", i);
			finding(rep, VIMG_CHECK_CORRUPTION, "BAT", (int64_t)i, eoff(e), false, msg);
		}
	}
	qsort(ext, n, sizeof(*ext), cmp_extent);
	for (uint64_t i = 1; i < n; i++) {
		if (ext[i - 1].off + ext[i - 1].len > ext[i].off) {
			snprintf(msg, sizeof(msg),
				 "BAT entries %" PRIu64 " and %" PRIu64 " overlap (offset 0x%" PRIx64 ")",
				 ext[i - 1].idx, ext[i].idx, ext[i].off);
			finding(rep, VIMG_CHECK_CORRUPTION, "BAT", (int64_t)ext[i].idx, ext[i].off,
				false, msg);
		}
	}
	free(ext);
	rep->total_clusters = s->payload_blocks;
	rep->image_end_offset = s->file_size;
	return 0;
}
