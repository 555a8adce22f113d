/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Partition tables (libvimg/partition.c) on raw images built in memory: MBR
 * primaries, extended partitions and their EBR chains, GPT with its CRCs and
 * backup header, and hostile layouts (EBR loops, endless EBR chains, 2^31
 * GPT entries, partitions past the end of the disk, superfloppies).
 */
#include "config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "testlib.h"

#define MiB (1024 * 1024)
#define DISK_SECTORS 8192u /* 4 MiB */

struct collected {
	unsigned n;
	struct vimg_partition p[VIMG_PARTITION_MAX + 8];
	int stop_after; /* return 42 after this many, 0 = never */
};

static int collect(void *opaque, const struct vimg_partition *p)
{
	struct collected *c = opaque;

	ck_assert_uint_lt(c->n, VIMG_PARTITION_MAX + 8);
	c->p[c->n++] = *p;
	if (c->stop_after && c->n == (unsigned)c->stop_after)
		return 42;
	return 0;
}

static int new_disk(const char *name, uint64_t size)
{
	int fd = open(test_path(name), O_RDWR | O_CREAT | O_TRUNC, 0644);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)size), 0);
	return fd;
}

static void put(int fd, uint64_t off, const void *buf, size_t len)
{
	ck_assert_int_eq(pwrite(fd, buf, len, (off_t)off), (ssize_t)len);
}

static void le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void le64(uint8_t *p, uint64_t v)
{
	le32(p, (uint32_t)v);
	le32(p + 4, (uint32_t)(v >> 32));
}

static void mbr_slot(uint8_t *sector, unsigned i, uint8_t status, uint8_t type, uint32_t lba,
		     uint32_t nsect)
{
	uint8_t *e = sector + 0x1be + 16 * i;

	e[0] = status;
	e[4] = type;
	le32(e + 8, lba);
	le32(e + 12, nsect);
	sector[510] = 0x55;
	sector[511] = 0xaa;
}

/* Open the raw disk and list its partitions. */
static int list(const char *name, struct collected *c, const char **scheme,
		struct vimg_error *err)
{
	struct vimg_image *img;
	struct vimg_error oerr = VIMG_ERROR_INIT;
	int rc;

	ck_assert_vimg_ok(vimg_image_open(test_path(name), "raw", 0, &img, &oerr), &oerr);
	rc = vimg_image_partitions(img, collect, c, scheme, err);
	vimg_image_close(img, NULL);
	return rc;
}

static void expect_part(const struct vimg_partition *p, unsigned index, uint64_t start_lba,
			uint64_t nsect)
{
	ck_assert_uint_eq(p->index, index);
	ck_assert_uint_eq(p->start, start_lba * 512);
	ck_assert_uint_eq(p->length, nsect * 512);
}

/* ---- MBR ------------------------------------------------------------- */

START_TEST(no_table)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct collected c = { 0 };
	const char *scheme = "x";
	uint8_t s[512] = { 0 };
	int fd = new_disk("blank.raw", 1 * MiB);

	ck_assert_vimg_ok(list("blank.raw", &c, &scheme, &err), &err);
	ck_assert_ptr_null(scheme);
	ck_assert_uint_eq(c.n, 0);
	/* A FAT "superfloppy": a boot sector with the signature but no table. */
	s[0] = 0xeb;
	s[1] = 0x3c;
	s[2] = 0x90;
	s[510] = 0x55;
	s[511] = 0xaa;
	put(fd, 0, s, sizeof(s));
	ck_assert_vimg_ok(list("blank.raw", &c, &scheme, &err), &err);
	ck_assert_ptr_null(scheme);
	/* Boot code where the status bytes are not 0/0x80: not an MBR. */
	mbr_slot(s, 0, 0x80, 0x83, 2048, 100);
	s[0x1be + 16] = 0x12;
	put(fd, 0, s, sizeof(s));
	ck_assert_vimg_ok(list("blank.raw", &c, &scheme, &err), &err);
	ck_assert_ptr_null(scheme);
	ck_assert_uint_eq(c.n, 0);
	close(fd);
}
END_TEST

/* Primary 1 (bootable), extended 2 holding logicals 5 and 6, primary 3. */
START_TEST(mbr_extended)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct collected c = { 0 };
	const char *scheme = NULL;
	uint8_t s[512] = { 0 };
	int fd = new_disk("mbr.raw", DISK_SECTORS * 512);

	mbr_slot(s, 0, 0x80, 0x83, 2048, 1024);
	mbr_slot(s, 1, 0, 0x05, 4096, 2048);
	mbr_slot(s, 2, 0, 0x0c, 3072, 1024);
	put(fd, 0, s, sizeof(s));
	/* EBR at 4096: logical at +64, link to the EBR at ext+1024 */
	memset(s, 0, sizeof(s));
	mbr_slot(s, 0, 0, 0x83, 64, 512);
	mbr_slot(s, 1, 0, 0x05, 1024, 1024);
	put(fd, 4096 * 512, s, sizeof(s));
	memset(s, 0, sizeof(s));
	mbr_slot(s, 0, 0, 0x07, 32, 992);
	put(fd, 5120 * 512, s, sizeof(s));
	close(fd);

	ck_assert_vimg_ok(list("mbr.raw", &c, &scheme, &err), &err);
	ck_assert_str_eq(scheme, "mbr");
	ck_assert_uint_eq(c.n, 4);
	expect_part(&c.p[0], 1, 2048, 1024);
	ck_assert(c.p[0].bootable);
	ck_assert_uint_eq(c.p[0].mbr_type, 0x83);
	ck_assert_str_eq(c.p[0].gpt_type, "");
	expect_part(&c.p[1], 3, 3072, 1024);
	ck_assert(!c.p[1].bootable);
	ck_assert_uint_eq(c.p[1].mbr_type, 0x0c);
	expect_part(&c.p[2], 5, 4096 + 64, 512);
	expect_part(&c.p[3], 6, 5120 + 32, 992);
	ck_assert_uint_eq(c.p[3].mbr_type, 0x07);
}
END_TEST

/* The second EBR links back to the first: an error after logical 5 was reported. */
START_TEST(ebr_loop)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct collected c = { 0 };
	uint8_t s[512] = { 0 };
	int fd = new_disk("loop.raw", DISK_SECTORS * 512);

	mbr_slot(s, 0, 0, 0x0f, 2048, 4096);
	put(fd, 0, s, sizeof(s));
	memset(s, 0, sizeof(s));
	mbr_slot(s, 0, 0, 0x83, 1, 100);
	mbr_slot(s, 1, 0, 0x05, 512, 200);
	put(fd, 2048 * 512, s, sizeof(s));
	memset(s, 0, sizeof(s));
	mbr_slot(s, 0, 0, 0x83, 1, 100);
	mbr_slot(s, 1, 0, 0x05, 0, 200); /* back to the first EBR */
	put(fd, 2560 * 512, s, sizeof(s));
	close(fd);

	ck_assert_vimg_fails(list("loop.raw", &c, NULL, &err), &err, VIMG_ECORRUPT,
			     "partition: EBR 2: chain loops back to EBR 0");
	ck_assert_uint_eq(c.n, 2);
	expect_part(&c.p[0], 5, 2049, 100);
	expect_part(&c.p[1], 6, 2561, 100);

	/* An EBR linking to itself is a loop too, caught at once. */
	fd = new_disk("self.raw", DISK_SECTORS * 512);
	memset(s, 0, sizeof(s));
	mbr_slot(s, 0, 0, 0x05, 2048, 4096);
	put(fd, 0, s, sizeof(s));
	memset(s, 0, sizeof(s));
	mbr_slot(s, 1, 0, 0x05, 0, 1);
	put(fd, 2048 * 512, s, sizeof(s));
	close(fd);
	vimg_error_clear(&err);
	c.n = 0;
	ck_assert_vimg_fails(list("self.raw", &c, NULL, &err), &err, VIMG_ECORRUPT,
			     "chain loops back");
	ck_assert_uint_eq(c.n, 0);
}
END_TEST

/*
 * An extended partition claiming a million logicals, one EBR per sector: the
 * walk stops after VIMG_PARTITION_MAX with a clear error and reports the
 * logicals 5..256 it found.
 */
START_TEST(ebr_endless)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct collected *c = calloc(1, sizeof(*c));
	uint8_t s[512] = { 0 };
	const uint32_t n = 1000000, ext = 2048;
	int fd = new_disk("endless.raw", (uint64_t)(ext + n + 1) * 512);

	mbr_slot(s, 0, 0, 0x05, ext, n);
	put(fd, 0, s, sizeof(s));
	/* Only the first 300 EBRs need to exist: the walk must never get further.
	 * EBR i lies at ext + 2i, its logical right after it. */
	for (uint32_t i = 0; i < 300; i++) {
		memset(s, 0, sizeof(s));
		mbr_slot(s, 0, 0, 0x83, 1, 1);
		mbr_slot(s, 1, 0, 0x05, 2 * (i + 1), 2);
		put(fd, (uint64_t)(ext + 2 * i) * 512, s, 512);
	}
	close(fd);

	ck_assert_vimg_fails(list("endless.raw", c, NULL, &err), &err, VIMG_ECORRUPT,
			     "more than 256 entries");
	ck_assert_uint_eq(c->n, VIMG_PARTITION_MAX - 4);
	expect_part(&c->p[0], 5, ext + 1, 1);
	expect_part(&c->p[c->n - 1], VIMG_PARTITION_MAX, ext + 2 * (c->n - 1) + 1, 1);
	free(c);
}
END_TEST

START_TEST(past_the_end)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct collected c = { 0 };
	uint8_t s[512] = { 0 };
	int fd = new_disk("end.raw", DISK_SECTORS * 512);

	mbr_slot(s, 0, 0, 0x83, 2048, 1024);
	mbr_slot(s, 1, 0, 0x83, 8000, 0xffffffff);	/* truncated to the disk */
	mbr_slot(s, 2, 0, 0x83, 0xfffffff0, 16);	/* starts past the end: skipped */
	mbr_slot(s, 3, 0, 0x05, 9000, 100);		/* extended past the end */
	put(fd, 0, s, sizeof(s));
	close(fd);

	ck_assert_vimg_fails(list("end.raw", &c, NULL, &err), &err, VIMG_ECORRUPT,
			     "partition: EBR 0: beyond the end of the disk");
	ck_assert_uint_eq(c.n, 2);
	expect_part(&c.p[0], 1, 2048, 1024);
	expect_part(&c.p[1], 2, 8000, DISK_SECTORS - 8000);
}
END_TEST

START_TEST(callback_stops)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct collected c = { .stop_after = 1 };
	uint8_t s[512] = { 0 };
	int fd = new_disk("stop.raw", DISK_SECTORS * 512);

	mbr_slot(s, 0, 0, 0x83, 2048, 8);
	mbr_slot(s, 1, 0, 0x83, 4096, 8);
	put(fd, 0, s, sizeof(s));
	close(fd);
	ck_assert_int_eq(list("stop.raw", &c, NULL, &err), 42);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_int_eq(err.code, 0);
}
END_TEST

/* ---- GPT ------------------------------------------------------------- */

struct gpt_opts {
	uint32_t num_entries;	/* in the header; 128 by default */
	bool bad_primary_entries;
	bool bad_backup_header;
	bool no_pmbr;
};

static void guid(uint8_t *g, uint8_t seed)
{
	for (int i = 0; i < 16; i++)
		g[i] = (uint8_t)(seed + i);
}

static void gpt_header(uint8_t *h, uint64_t my, uint64_t alt, uint64_t entries_lba,
		       uint32_t num, uint32_t entries_crc)
{
	memset(h, 0, 512);
	memcpy(h, "EFI PART", 8);
	le32(h + 8, 0x00010000);
	le32(h + 12, 92);
	le64(h + 24, my);
	le64(h + 32, alt);
	le64(h + 40, 34);
	le64(h + 48, DISK_SECTORS - 34);
	guid(h + 56, 0x40);
	le64(h + 72, entries_lba);
	le32(h + 80, num);
	le32(h + 84, 128);
	le32(h + 88, entries_crc);
	le32(h + 16, (uint32_t)crc32(0, h, 92));
}

/* Partitions 1 (LBA 2048-4095, "boot", legacy bootable) and 3 (4096-6143, "données"). */
static void make_gpt(const char *name, const struct gpt_opts *o)
{
	uint8_t s[512] = { 0 }, h[512];
	uint8_t *ent = calloc(128, 128);
	uint32_t num = o->num_entries ? o->num_entries : 128, crc;
	int fd = new_disk(name, DISK_SECTORS * 512);
	static const uint16_t utf16[][8] = { { 'b', 'o', 'o', 't' },
					     { 'd', 'o', 'n', 'n', 0xe9, 'e', 's' } };

	if (!o->no_pmbr) {
		mbr_slot(s, 0, 0, 0xee, 1, DISK_SECTORS - 1);
		put(fd, 0, s, sizeof(s));
	}
	for (int k = 0; k < 2; k++) {
		uint8_t *e = ent + 128 * (k == 0 ? 0 : 2);
		/* Linux filesystem data 0FC63DAF-8483-4772-8E79-3D69D8477DE4 */
		static const uint8_t linux_fs[16] = { 0xaf, 0x3d, 0xc6, 0x0f, 0x83, 0x84,
						      0x72, 0x47, 0x8e, 0x79, 0x3d, 0x69,
						      0xd8, 0x47, 0x7d, 0xe4 };
		memcpy(e, linux_fs, 16);
		guid(e + 16, (uint8_t)(0x10 * (k + 1)));
		le64(e + 32, 2048 + 2048 * k);
		le64(e + 40, 4095 + 2048 * k);
		le64(e + 48, k == 0 ? 4 : 0);
		for (int i = 0; i < 8; i++) {
			e[56 + 2 * i] = (uint8_t)utf16[k][i];
			e[57 + 2 * i] = (uint8_t)(utf16[k][i] >> 8);
		}
	}
	crc = (uint32_t)crc32(0, ent, 128 * 128);
	put(fd, 2 * 512, ent, 128 * 128);
	put(fd, (DISK_SECTORS - 33) * 512, ent, 128 * 128);
	if (o->bad_primary_entries) {
		uint8_t junk = 0x5a;
		put(fd, 2 * 512 + 100, &junk, 1);
	}
	gpt_header(h, 1, DISK_SECTORS - 1, 2, num, crc);
	put(fd, 512, h, 512);
	gpt_header(h, DISK_SECTORS - 1, 1, DISK_SECTORS - 33, num, crc);
	if (o->bad_backup_header)
		h[0] = 'X';
	put(fd, (DISK_SECTORS - 1) * 512, h, 512);
	close(fd);
	free(ent);
}

static void expect_gpt_parts(const struct collected *c)
{
	ck_assert_uint_eq(c->n, 2);
	expect_part(&c->p[0], 1, 2048, 2048);
	ck_assert_str_eq(c->p[0].gpt_type, "0FC63DAF-8483-4772-8E79-3D69D8477DE4");
	ck_assert_str_eq(c->p[0].gpt_uuid, "13121110-1514-1716-1819-1A1B1C1D1E1F");
	ck_assert_str_eq(c->p[0].name, "boot");
	ck_assert(c->p[0].bootable);
	ck_assert_uint_eq(c->p[0].mbr_type, 0);
	expect_part(&c->p[1], 3, 4096, 2048);
	ck_assert_str_eq(c->p[1].name, "donn\xc3\xa9" "es");
	ck_assert(!c->p[1].bootable);
}

START_TEST(gpt_basic)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct collected c = { 0 };
	const char *scheme = NULL;
	struct gpt_opts o = { 0 };

	make_gpt("gpt.raw", &o);
	ck_assert_vimg_ok(list("gpt.raw", &c, &scheme, &err), &err);
	ck_assert_str_eq(scheme, "gpt");
	expect_gpt_parts(&c);
}
END_TEST

START_TEST(gpt_backup_used)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct collected c = { 0 };
	struct gpt_opts o = { .bad_primary_entries = true };

	make_gpt("gpt.raw", &o);
	ck_assert_vimg_ok(list("gpt.raw", &c, NULL, &err), &err);
	expect_gpt_parts(&c);
}
END_TEST

START_TEST(gpt_both_bad)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct collected c = { 0 };
	struct gpt_opts o = { .bad_primary_entries = true, .bad_backup_header = true };

	make_gpt("gpt.raw", &o);
	ck_assert_vimg_fails(list("gpt.raw", &c, NULL, &err), &err, VIMG_ECORRUPT,
			     "partition: GPT header: entries CRC mismatch (offset 0x200), and "
			     "backup GPT header: bad signature (offset 0x3ffe00)");
	ck_assert_uint_eq(c.n, 0);
}
END_TEST

START_TEST(gpt_huge_entry_count)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct collected c = { 0 };
	struct gpt_opts o = { .num_entries = 1u << 31 };

	make_gpt("gpt.raw", &o);
	ck_assert_vimg_fails(list("gpt.raw", &c, NULL, &err), &err, VIMG_ECORRUPT,
			     "partition: GPT header: entries count 2147483648 exceeds limit");
	ck_assert_uint_eq(c.n, 0);
}
END_TEST

/* Without a protective MBR a GPT is not looked for (as Linux without gpt=). */
START_TEST(gpt_needs_pmbr)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct collected c = { 0 };
	const char *scheme = "x";
	struct gpt_opts o = { .no_pmbr = true };

	make_gpt("gpt.raw", &o);
	ck_assert_vimg_ok(list("gpt.raw", &c, &scheme, &err), &err);
	ck_assert_ptr_null(scheme);
	ck_assert_uint_eq(c.n, 0);
}
END_TEST

/* A GPT entry past the disk is skipped; one running past is truncated. */
START_TEST(gpt_past_the_end)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct collected c = { 0 };
	struct gpt_opts o = { 0 };
	uint8_t *ent = calloc(128, 128), h[512];
	int fd;

	make_gpt("gpt.raw", &o);
	fd = open(test_path("gpt.raw"), O_RDWR);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, ent, 128 * 128, 1024), 128 * 128);
	le64(ent + 40, UINT64_MAX);		/* entry 1: last LBA overflows */
	le64(ent + 128 * 2 + 32, 7000);			/* entry 3: 7000 .. past the end */
	le64(ent + 128 * 2 + 40, 100000);
	memcpy(ent + 128 * 5, ent + 128 * 2, 128);	/* entry 6: starts past the end */
	le64(ent + 128 * 5 + 32, 50000);
	put(fd, 1024, ent, 128 * 128);
	gpt_header(h, 1, DISK_SECTORS - 1, 2, 128, (uint32_t)crc32(0, ent, 128 * 128));
	put(fd, 512, h, 512);
	close(fd);
	free(ent);

	ck_assert_vimg_ok(list("gpt.raw", &c, NULL, &err), &err);
	ck_assert_uint_eq(c.n, 1);
	expect_part(&c.p[0], 3, 7000, DISK_SECTORS - 7000);
}
END_TEST

/* Partitions through a qcow2 overlay: the chain is composed. */
START_TEST(through_qcow2)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct collected c = { 0 };
	struct vimg_image *img;
	const char *scheme = NULL;
	struct gpt_opts o = { 0 };

	make_gpt("base.raw", &o);
	ck_assert_vimg_ok(vimg_image_create(test_path("top.qcow2"), "qcow2", 0, NULL, "base.raw",
					    "raw", 0, &err), &err);
	ck_assert_vimg_ok(vimg_image_open(test_path("top.qcow2"), NULL, 0, &img, &err), &err);
	ck_assert_vimg_ok(vimg_image_partitions(img, collect, &c, &scheme, &err), &err);
	ck_assert_str_eq(scheme, "gpt");
	expect_gpt_parts(&c);
	vimg_image_close(img, NULL);
	ck_assert_int_eq(vimg_image_partitions(NULL, collect, &c, NULL, &err), VIMG_EINVAL);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("partition");
	TCase *mbr = tcase_create("mbr"), *gpt = tcase_create("gpt");

	tcase_add_test(mbr, no_table);
	tcase_add_test(mbr, mbr_extended);
	tcase_add_test(mbr, ebr_loop);
	tcase_add_test(mbr, ebr_endless);
	tcase_add_test(mbr, past_the_end);
	tcase_add_test(mbr, callback_stops);
	tcase_add_test(gpt, gpt_basic);
	tcase_add_test(gpt, gpt_backup_used);
	tcase_add_test(gpt, gpt_both_bad);
	tcase_add_test(gpt, gpt_huge_entry_count);
	tcase_add_test(gpt, gpt_needs_pmbr);
	tcase_add_test(gpt, gpt_past_the_end);
	tcase_add_test(gpt, through_qcow2);
	suite_add_tcase(s, mbr);
	suite_add_tcase(s, gpt);
	return s;
}
