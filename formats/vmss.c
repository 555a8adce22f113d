/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * VMware .vmss/.vmsn checkpoints (layout in vmss.h): the header, the group
 * table and every group's tags are walked once at open, through a small
 * read buffer, with every offset and size checked against the end of its
 * group and of the file before it is used. Only what the library needs is
 * kept: the group table with tag counts, the memory regions, where the
 * memory lives, and the vCPU registers (vmss-cpu.c). The memory itself is
 * never loaded: reads go to the memory data (the "Memory" block, or the
 * .vmem) with pread. vmss-dump.c writes it out as raw or ELF.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "checked.h"
#include "endian.h"
#include "vmss.h"

/* Buffered reading of one group's tags: small items, many of them. */
struct tag_reader {
	struct vimg_file *f;
	const struct vmss_group *g;
	uint64_t pos, end, file_size;
	uint64_t buf_off;
	size_t buf_len;
	uint8_t buf[65536];
};

/* The region fields as the tags give them, before they are checked. */
struct pending_region {
	uint32_t v[3];		/* page number, PPN, size */
	uint8_t have;		/* bit per field */
	uint64_t off;		/* of the regionPPN tag, or the first field seen */
};

static const char *const region_field[3] = { "regionPageNum", "regionPPN", "regionSize" };

struct parse {
	struct vimg_vmstate *st;
	struct pending_region *pend;	/* VMSS_MAX_REGIONS */
	bool has_memory_group;
	uint64_t memory_group_off;
	uint64_t total_tags;
};

bool vmstate_valid(const struct vimg_vmstate *st)
{
	return st && st->magic == VMSTATE_MAGIC;
}

bool vmss_tag_uint(const struct vmss_tag *t, uint64_t *out)
{
	if (t->block)
		return false;
	switch (t->size) {
	case 1: *out = t->val[0]; return true;
	case 2: *out = ld_le16(t->val); return true;
	case 4: *out = ld_le32(t->val); return true;
	case 8: *out = ld_le64(t->val); return true;
	default: return false;
	}
}

bool vmss_tag_is(const struct vmss_tag *t, const char *n, unsigned n_idx)
{
	return t->n_idx >= n_idx && !strcmp(t->name, n);
}

static bool known_magic(uint32_t m)
{
	return m == VMSS_MAGIC_OLD || m == VMSS_MAGIC || m == VMSS_MAGIC_PARTIAL ||
	       m == VMSS_MAGIC_RESTORED || m == VMSS_MAGIC_NORESTORE;
}

static const char *end_what(const struct tag_reader *r)
{
	return r->end == r->file_size ? "end of file (size" : "end of group (end";
}

/* Copy n bytes (n <= 256) at the reader's position and advance past them. */
static int rd_take(struct tag_reader *r, void *dst, size_t n, const char *what, uint64_t tag_off,
		   struct vimg_error *err)
{
	int rc;

	if (n > r->end - r->pos)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "vmss: group \"%s\" tag at offset 0x%llx: %s (0x%zx bytes at 0x%llx) "
				      "runs past %s 0x%llx)", r->g->name, (unsigned long long)tag_off,
				      what, n, (unsigned long long)r->pos, end_what(r),
				      (unsigned long long)r->end);
	if (r->pos < r->buf_off || r->pos + n > r->buf_off + r->buf_len) {
		r->buf_off = r->pos;
		r->buf_len = (size_t)min_u64(sizeof(r->buf), r->end - r->pos);
		if ((rc = file_pread_full(r->f, r->buf, r->buf_len, r->buf_off, err)))
			return vimg_error_prefix(err, "vmss: group \"%s\" tags at offset 0x%llx",
						 r->g->name, (unsigned long long)r->pos);
	}
	memcpy(dst, r->buf + (r->pos - r->buf_off), n);
	r->pos += n;
	return 0;
}

/* One tag at the reader's position; *end set at the NULL tag. */
static int read_tag(const struct vimg_vmstate *st, struct tag_reader *r, struct vmss_tag *t,
		    bool *end, struct vimg_error *err)
{
	uint8_t hd[2], idx[12], bh[18];
	unsigned vs, w = st->hdr_magic == VMSS_MAGIC_OLD ? 4 : 8;
	uint64_t data_end;
	int rc;

	memset(t, 0, sizeof(*t));
	t->off = r->pos;
	if (r->pos == r->end)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "vmss: group \"%s\" (offset 0x%llx): no end tag before %s 0x%llx)",
				      r->g->name, (unsigned long long)r->g->off, end_what(r),
				      (unsigned long long)r->end);
	if ((rc = rd_take(r, hd, 2, "tag header", t->off, err)))
		return rc;
	*end = !hd[0] && !hd[1];
	if (*end)
		return 0;
	if (!hd[1])
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "vmss: group \"%s\" tag at offset 0x%llx: empty name",
				      r->g->name, (unsigned long long)t->off);
	if ((rc = rd_take(r, t->name, hd[1], "name", t->off, err)))
		return rc;
	t->n_idx = hd[0] >> 6;
	if ((rc = rd_take(r, idx, 4 * t->n_idx, "indices", t->off, err)))
		return rc;
	for (unsigned i = 0; i < t->n_idx; i++)
		t->idx[i] = (int32_t)ld_le32(idx + 4 * i);
	vs = hd[0] & 0x3f;
	if (vs < 62) {
		t->size = vs;
		t->val_off = r->pos;
		return rd_take(r, t->val, vs, "value", t->off, err);
	}
	/* A block: on-disk size, in-memory size, padding length, padding, data. */
	t->block = true;
	t->compressed = vs == 62;
	if ((rc = rd_take(r, bh, 2 * w + 2, "block header", t->off, err)))
		return rc;
	t->size = w == 8 ? ld_le64(bh) : ld_le32(bh);
	t->mem_size = w == 8 ? ld_le64(bh + 8) : ld_le32(bh + 4);
	t->val_off = r->pos + ld_le16(bh + 2 * w);
	if (t->val_off > r->end || ck_add(t->val_off, t->size, &data_end) || data_end > r->end)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "vmss: group \"%s\" tag \"%.64s\" at offset 0x%llx: block of size "
				      "0x%llx at 0x%llx runs past %s 0x%llx)", r->g->name, t->name,
				      (unsigned long long)t->off, (unsigned long long)t->size,
				      (unsigned long long)t->val_off, end_what(r),
				      (unsigned long long)r->end);
	if (t->compressed || t->size > VMSS_SMALL_BLOCK) {
		r->pos = data_end;
		return 0;
	}
	r->pos = t->val_off;
	t->has_data = true;
	return rd_take(r, t->data, (size_t)t->size, "block data", t->off, err);
}

static int memory_tag(struct parse *p, const struct vmss_tag *t, struct vimg_error *err)
{
	struct vimg_vmstate *st = p->st;
	uint64_t v;

	if (!strcmp(t->name, "Memory") && t->block) {
		if (st->has_block)
			return vimg_error_set(err, VIMG_EUNSUPPORTED,
					      "vmss: group \"memory\" tag \"Memory\" at offset 0x%llx: "
					      "a second memory block (the first at 0x%llx) is not supported",
					      (unsigned long long)t->off,
					      (unsigned long long)st->block_tag_off);
		st->has_block = true;
		st->compressed = t->compressed;
		st->block_tag_off = t->off;
		st->block_data_off = t->val_off;
		st->block_size = t->size;
		st->block_mem_size = t->mem_size;
		return 0;
	}
	if (t->block)
		return 0;
	if (!strcmp(t->name, "align_mask") && vmss_tag_uint(t, &v)) {
		st->align_mask = (uint32_t)v;
		st->has_align_mask = true;
		return 0;
	}
	if (!strcmp(t->name, "regionsCount")) {
		if (!vmss_tag_uint(t, &v) || v > VMSS_MAX_REGIONS)
			return vimg_error_set(err, VIMG_ECORRUPT,
					      "vmss: group \"memory\" tag \"regionsCount\" at offset 0x%llx: "
					      "%s (at most %d regions)", (unsigned long long)t->off,
					      vmss_tag_uint(t, &v) ? "too many regions" : "not a number",
					      VMSS_MAX_REGIONS);
		st->has_count = true;
		st->region_count = (uint32_t)v;
		return 0;
	}
	for (unsigned f = 0; f < 3; f++) {
		struct pending_region *pr;

		if (strcmp(t->name, region_field[f]))
			continue;
		if (t->n_idx < 1 || t->idx[0] < 0 || t->idx[0] >= VMSS_MAX_REGIONS)
			return vimg_error_set(err, VIMG_ECORRUPT,
					      "vmss: group \"memory\" tag \"%s\" at offset 0x%llx: region "
					      "index missing or beyond %d", t->name,
					      (unsigned long long)t->off, VMSS_MAX_REGIONS - 1);
		if (!vmss_tag_uint(t, &v) || v > UINT32_MAX)
			return vimg_error_set(err, VIMG_ECORRUPT,
					      "vmss: group \"memory\" tag \"%s\" at offset 0x%llx: not a "
					      "32-bit number", t->name, (unsigned long long)t->off);
		pr = &p->pend[t->idx[0]];
		pr->v[f] = (uint32_t)v;
		if (!pr->have || f == 1)
			pr->off = t->off;
		pr->have |= (uint8_t)(1u << f);
		return 0;
	}
	return 0;
}

static int walk_group(struct parse *p, struct tag_reader *r, struct vmss_group *g,
		      struct vimg_error *err)
{
	bool is_memory = !strcmp(g->name, "memory"), is_cpu = !strcmp(g->name, "cpu"), end = false;
	struct vmss_tag t;
	int rc;

	r->g = g;
	r->pos = g->off;
	r->end = g->size ? g->off + g->size : r->file_size;
	r->buf_len = 0;
	if (is_memory) {
		p->has_memory_group = true;
		p->memory_group_off = g->off;
	}
	for (;;) {
		if ((rc = read_tag(p->st, r, &t, &end, err)))
			return rc;
		if (end)
			return 0;
		if (++g->tags > VMSS_MAX_TAGS_PER_GROUP || ++p->total_tags > VMSS_MAX_TAGS)
			return vimg_error_set(err, VIMG_ECORRUPT,
					      "vmss: group \"%s\" tag at offset 0x%llx: more than %d tags "
					      "in the group or %d in the file", g->name,
					      (unsigned long long)t.off, VMSS_MAX_TAGS_PER_GROUP,
					      VMSS_MAX_TAGS);
		if (is_memory && (rc = memory_tag(p, &t, err)))
			return rc;
		if (is_cpu && (rc = vmss_cpu_tag(p->st, &t, err)))
			return rc;
	}
}

static int read_groups(struct parse *p, struct vimg_error *err)
{
	struct vimg_vmstate *st = p->st;
	uint8_t hdr[VMSS_HEADER_SIZE], *tab = NULL;
	struct tag_reader *r = NULL;
	uint32_t n;
	int rc;

	if (st->state_size < VMSS_HEADER_SIZE)
		return vimg_error_set(err, VIMG_EFORMAT,
				      "vmss: header at offset 0x0: file of 0x%llx bytes is too small",
				      (unsigned long long)st->state_size);
	if ((rc = file_pread_full(st->state, hdr, sizeof(hdr), 0, err)))
		return rc;
	st->hdr_magic = ld_le32(hdr);
	st->hdr_version = ld_le32(hdr + 4);
	n = ld_le32(hdr + 8);
	if (!known_magic(st->hdr_magic))
		return vimg_error_set(err, VIMG_EFORMAT,
				      "vmss: header at offset 0x0: unknown magic 0x%08x (not a VMware "
				      "saved state)", st->hdr_magic);
	if (n > VMSS_MAX_GROUPS || VMSS_HEADER_SIZE + (uint64_t)n * VMSS_GROUP_DESC_SIZE >
					    st->state_size)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "vmss: group table at offset 0x%x: %u groups %s (file size 0x%llx)",
				      VMSS_HEADER_SIZE, n,
				      n > VMSS_MAX_GROUPS ? "are more than the limit of 1024"
							  : "run past end of file",
				      (unsigned long long)st->state_size);
	if ((rc = vimg_alloc_table(n, sizeof(*st->groups), (uint64_t)VMSS_MAX_GROUPS *
				   sizeof(*st->groups), "vmss: group table", (void **)&st->groups,
				   err)) ||
	    (rc = vimg_alloc_table(n, VMSS_GROUP_DESC_SIZE, (uint64_t)VMSS_MAX_GROUPS *
				   VMSS_GROUP_DESC_SIZE, "vmss: group table", (void **)&tab, err)))
		return rc;
	st->n_groups = n;
	if (n && (rc = file_pread_full(st->state, tab, (size_t)n * VMSS_GROUP_DESC_SIZE,
				       VMSS_HEADER_SIZE, err)))
		goto out;
	for (uint32_t i = 0; i < n; i++) {
		struct vmss_group *g = &st->groups[i];
		const uint8_t *d = tab + (size_t)i * VMSS_GROUP_DESC_SIZE;
		uint64_t end;

		memcpy(g->name, d, VMSS_GROUP_NAME_MAX);
		g->off = ld_le64(d + 64);
		g->size = ld_le64(d + 72);
		if (g->off > st->state_size || ck_add(g->off, g->size, &end) ||
		    end > st->state_size) {
			rc = vimg_error_set(err, VIMG_ECORRUPT,
					    "vmss: group %u \"%s\" (table entry at offset 0x%llx): offset "
					    "0x%llx size 0x%llx runs past end of file (size 0x%llx)", i,
					    g->name, (unsigned long long)(VMSS_HEADER_SIZE +
									 (uint64_t)i * VMSS_GROUP_DESC_SIZE),
					    (unsigned long long)g->off, (unsigned long long)g->size,
					    (unsigned long long)st->state_size);
			goto out;
		}
	}
	if (!(r = malloc(sizeof(*r)))) {
		rc = vimg_error_set(err, VIMG_ENOMEM, "out of memory");
		goto out;
	}
	r->f = st->state;
	r->file_size = st->state_size;
	r->buf_off = 0;
	for (uint32_t i = 0; i < n && !rc; i++)
		rc = walk_group(p, r, &st->groups[i], err);
out:
	free(r);
	free(tab);
	return rc;
}

static int region_cmp_gpa(const void *a, const void *b)
{
	const struct vmss_region *x = a, *y = b;
	return x->gpa < y->gpa ? -1 : x->gpa > y->gpa;
}

static int region_cmp_data(const void *a, const void *b)
{
	const struct vmss_region *x = *(const struct vmss_region *const *)a;
	const struct vmss_region *y = *(const struct vmss_region *const *)b;
	return x->data_off < y->data_off ? -1 : x->data_off > y->data_off;
}

static const char *mem_name(const struct vimg_vmstate *st)
{
	return st->embedded ? "the memory block" : st->mem_path;
}

/* Regions from the pending fields: complete, non-empty, inside the memory
 * data, overlapping neither in guest space nor in the data. */
static int build_regions(struct parse *p, struct vimg_error *err)
{
	struct vimg_vmstate *st = p->st;
	struct vmss_region **by_data = NULL;
	size_t n = st->has_count ? st->region_count : 0;
	int rc;

	if (!n) {
		/* No region table: the memory data is guest memory from 0 (crash). */
		if (!st->mem_avail)
			return 0;
		if ((rc = vimg_alloc_table(1, sizeof(*st->regions), sizeof(*st->regions),
					   "vmss: regions", (void **)&st->regions, err)))
			return rc;
		st->regions[0].len = st->mem_avail;
		st->regions[0].pages = (uint32_t)min_u64(st->mem_avail / VMSS_PAGE_SIZE, UINT32_MAX);
		st->n_regions = 1;
		st->mem_size = st->mem_avail;
		return 0;
	}
	if ((rc = vimg_alloc_table(n, sizeof(*st->regions), (uint64_t)VMSS_MAX_REGIONS *
				   sizeof(*st->regions), "vmss: regions", (void **)&st->regions, err)) ||
	    (rc = vimg_alloc_table(n, sizeof(*by_data), (uint64_t)VMSS_MAX_REGIONS *
				   sizeof(*by_data), "vmss: regions", (void **)&by_data, err)))
		return rc;
	for (size_t i = 0; i < n; i++) {
		struct pending_region *pr = &p->pend[i];
		struct vmss_region *g = &st->regions[i];

		for (unsigned f = 0; f < 3; f++)
			if (!(pr->have & (1u << f))) {
				rc = vimg_error_set(err, VIMG_ECORRUPT,
						    "vmss: memory region %zu: no %s tag in group \"memory\" "
						    "(offset 0x%llx)", i, region_field[f],
						    (unsigned long long)p->memory_group_off);
				goto out;
			}
		if (!pr->v[2]) {
			rc = vimg_error_set(err, VIMG_ECORRUPT,
					    "vmss: memory region %zu (tag at offset 0x%llx): size 0", i,
					    (unsigned long long)pr->off);
			goto out;
		}
		g->page_num = pr->v[0];
		g->ppn = pr->v[1];
		g->pages = pr->v[2];
		g->gpa = (uint64_t)g->ppn * VMSS_PAGE_SIZE;
		g->data_off = (uint64_t)g->page_num * VMSS_PAGE_SIZE;
		g->len = (uint64_t)g->pages * VMSS_PAGE_SIZE;
		g->tag_off = pr->off;
		if (g->data_off + g->len > st->mem_avail) {
			rc = vimg_error_set(err, VIMG_ECORRUPT,
					    "vmss: memory region %zu (tag at offset 0x%llx): pages at data "
					    "offset 0x%llx size 0x%llx run past the end of %s (size 0x%llx)",
					    i, (unsigned long long)pr->off,
					    (unsigned long long)g->data_off, (unsigned long long)g->len,
					    mem_name(st), (unsigned long long)st->mem_avail);
			goto out;
		}
	}
	qsort(st->regions, n, sizeof(*st->regions), region_cmp_gpa);
	for (size_t i = 0; i < n; i++)
		by_data[i] = &st->regions[i];
	qsort(by_data, n, sizeof(*by_data), region_cmp_data);
	for (size_t i = 1; i < n; i++) {
		const struct vmss_region *a = &st->regions[i - 1], *b = &st->regions[i];
		const struct vmss_region *c = by_data[i - 1], *d = by_data[i];

		if (b->gpa < a->gpa + a->len || d->data_off < c->data_off + c->len) {
			bool guest = b->gpa < a->gpa + a->len;

			if (!guest)
				a = c, b = d;
			rc = vimg_error_set(err, VIMG_ECORRUPT,
					    "vmss: memory region at %s 0x%llx (tag at offset 0x%llx) "
					    "overlaps the region at 0x%llx (tag at offset 0x%llx)",
					    guest ? "guest address" : "data offset",
					    (unsigned long long)(guest ? b->gpa : b->data_off),
					    (unsigned long long)b->tag_off,
					    (unsigned long long)(guest ? a->gpa : a->data_off),
					    (unsigned long long)a->tag_off);
			goto out;
		}
	}
	st->n_regions = n;
	st->mem_size = st->regions[n - 1].gpa + st->regions[n - 1].len;
out:
	free(by_data);
	return rc;
}

static bool has_ext(const char *path, const char *ext)
{
	size_t l = strlen(path), e = strlen(ext);
	return l > e && !strcasecmp(path + l - e, ext);
}

/* path with its .vmss/.vmsn/.vmem extension (if any) replaced by ext. */
static char *sibling(const char *path, const char *ext)
{
	size_t l = strlen(path);
	char *s;

	if (has_ext(path, ".vmss") || has_ext(path, ".vmsn") || has_ext(path, ".vmem"))
		l -= 5;
	if (!(s = malloc(l + strlen(ext) + 1)))
		return NULL;
	memcpy(s, path, l);
	strcpy(s + l, ext);
	return s;
}

static bool exists(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0;
}

static int locate_memory(struct parse *p, const char *vmem, struct vimg_error *err)
{
	struct vimg_vmstate *st = p->st;
	int64_t size;
	int rc;

	if (!p->has_memory_group && !vmem)
		return vimg_error_set(err, VIMG_ENOENT,
				      "vmss: %s has no \"memory\" group: the state holds no guest memory",
				      st->path);
	if (st->has_block) {
		if (st->compressed)
			return vimg_error_set(err, VIMG_EUNSUPPORTED,
					      "vmss: group \"memory\" tag \"Memory\" at offset 0x%llx: "
					      "compressed memory blocks are not supported",
					      (unsigned long long)st->block_tag_off);
		if (vmem)
			return vimg_error_set(err, VIMG_EINVAL,
					      "vmss: %s holds its memory itself (block at offset 0x%llx): "
					      "no .vmem is used", st->path,
					      (unsigned long long)st->block_data_off);
		st->embedded = true;
		st->mem = st->state;
		st->mem_base = st->block_data_off;
		st->mem_avail = st->block_size;
		if (!(st->mem_path = strdup(st->path)))
			return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
		return 0;
	}
	if (vmem) {
		if (!(st->mem_path = strdup(vmem)))
			return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	} else {
		if (!(st->mem_path = sibling(st->path, ".vmem")))
			return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
		if (!exists(st->mem_path))
			return vimg_error_set(err, VIMG_ENOENT,
					      "vmss: the memory is neither embedded in %s nor in %s",
					      st->path, st->mem_path);
	}
	if ((rc = file_open(st->mem_path, 0, &st->mem, err)))
		return vimg_error_prefix(err, "vmss: memory file");
	if ((size = file_size(st->mem, err)) < 0)
		return (int)size;
	st->mem_avail = (uint64_t)size;
	return 0;
}

static int open_state(struct vimg_vmstate *st, const char *vmem, unsigned flags,
		      struct vimg_error *err)
{
	struct parse p = { .st = st };
	int64_t size;
	int rc;

	if ((rc = file_open(st->path, 0, &st->state, err)))
		return rc;
	if ((size = file_size(st->state, err)) < 0)
		return (int)size;
	st->state_size = (uint64_t)size;
	if ((rc = vimg_alloc_table(VMSS_MAX_REGIONS, sizeof(*p.pend), (uint64_t)VMSS_MAX_REGIONS *
				   sizeof(*p.pend), "vmss: regions", (void **)&p.pend, err)))
		return rc;
	if (!(rc = read_groups(&p, err)) && !(flags & VIMG_VMSTATE_METADATA_ONLY) &&
	    !(rc = locate_memory(&p, vmem, err)))
		rc = build_regions(&p, err);
	free(p.pend);
	return rc;
}

int vimg_vmstate_open(const char *path, const char *vmem, unsigned flags,
		      struct vimg_vmstate **out, struct vimg_error *err)
{
	struct vimg_vmstate *st;
	int rc;

	if (!out || !path || (flags & ~VIMG_VMSTATE_METADATA_ONLY))
		return vimg_error_set(err, VIMG_EINVAL, "vmss: bad arguments to vimg_vmstate_open");
	*out = NULL;
	if (!(st = calloc(1, sizeof(*st))))
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	st->magic = VMSTATE_MAGIC;
	if (has_ext(path, ".vmem")) {
		/* The memory was named: its state is the .vmss beside it, else the .vmsn. */
		if (!vmem)
			vmem = path;
		st->path = sibling(path, ".vmss");
		if (st->path && !exists(st->path)) {
			free(st->path);
			st->path = sibling(path, ".vmsn");
		}
		if (st->path && !exists(st->path)) {
			rc = vimg_error_set(err, VIMG_ENOENT,
					    "vmss: no .vmss or .vmsn beside %s (its state is needed to "
					    "place the memory)", path);
			goto fail;
		}
	} else {
		st->path = strdup(path);
	}
	if (!st->path) {
		rc = vimg_error_set(err, VIMG_ENOMEM, "out of memory");
		goto fail;
	}
	if ((rc = open_state(st, vmem, flags, err)))
		goto fail;
	*out = st;
	return 0;
fail:
	vimg_vmstate_close(st);
	return rc;
}

void vimg_vmstate_close(struct vimg_vmstate *st)
{
	if (!vmstate_valid(st))
		return;
	if (st->mem && st->mem != st->state)
		file_close(st->mem);
	if (st->state)
		file_close(st->state);
	free(st->path);
	free(st->mem_path);
	free(st->groups);
	free(st->regions);
	free(st->vcpus);
	st->magic = 0;
	free(st);
}

const char *vimg_vmstate_path(const struct vimg_vmstate *st)
{
	return vmstate_valid(st) ? st->path : NULL;
}

const char *vimg_vmstate_memory_path(const struct vimg_vmstate *st)
{
	return vmstate_valid(st) ? st->mem_path : NULL;
}

uint64_t vimg_vmstate_memory_size(const struct vimg_vmstate *st)
{
	return vmstate_valid(st) ? st->mem_size : 0;
}

size_t vimg_vmstate_region_count(const struct vimg_vmstate *st)
{
	return vmstate_valid(st) ? st->n_regions : 0;
}

int vimg_vmstate_region(const struct vimg_vmstate *st, size_t i, uint64_t *gpa, uint64_t *len,
			struct vimg_error *err)
{
	if (!vmstate_valid(st) || i >= st->n_regions)
		return vimg_error_set(err, VIMG_EINVAL, "vmss: no region %zu", i);
	if (gpa)
		*gpa = st->regions[i].gpa;
	if (len)
		*len = st->regions[i].len;
	return 0;
}

int vimg_vmstate_read(struct vimg_vmstate *st, void *buf, uint64_t gpa, size_t len,
		      struct vimg_error *err)
{
	uint8_t *p = buf;
	uint64_t end;
	size_t lo = 0, hi;
	int rc;

	if (!vmstate_valid(st) || (!buf && len))
		return vimg_error_set(err, VIMG_EINVAL, "vmss: bad arguments to vimg_vmstate_read");
	if (ck_add(gpa, len, &end) || end > st->mem_size)
		return vimg_error_set(err, VIMG_ERANGE,
				      "vmss: read of 0x%zx bytes at 0x%llx is beyond the guest memory "
				      "(size 0x%llx)", len, (unsigned long long)gpa,
				      (unsigned long long)st->mem_size);
	/* First region that ends after gpa. */
	hi = st->n_regions;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (st->regions[mid].gpa + st->regions[mid].len <= gpa)
			lo = mid + 1;
		else
			hi = mid;
	}
	while (gpa < end) {
		const struct vmss_region *r = lo < st->n_regions ? &st->regions[lo] : NULL;
		uint64_t n;

		if (!r || gpa < r->gpa) {
			n = (r ? min_u64(end, r->gpa) : end) - gpa;
			memset(p, 0, (size_t)n);
		} else {
			n = min_u64(end, r->gpa + r->len) - gpa;
			if ((rc = file_pread_full(st->mem, p, (size_t)n,
						  st->mem_base + r->data_off + (gpa - r->gpa), err)))
				return vimg_error_prefix(err, "vmss: reading guest memory at 0x%llx",
							 (unsigned long long)gpa);
			lo++;
		}
		p += n;
		gpa += n;
	}
	return 0;
}
