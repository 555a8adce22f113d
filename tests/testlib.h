/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shared support for the Check unit tests: each tests/check-<module>.c defines
 * only `Suite *make_suite(void)`; testlib.c provides main(), a fresh temporary
 * directory per test, fixture paths, and assertions that print a vimg_error.
 */
#ifndef VIMG_TESTLIB_H
#define VIMG_TESTLIB_H

#include <check.h>
#include <stdio.h>

#include "vimg.h"

Suite *make_suite(void);

/* A fresh temporary directory for the running test (removed at exit). */
const char *test_tmpdir(void);
/* test_tmpdir()/name, in a static rotating buffer (valid for 8 calls). */
const char *test_path(const char *name);
/* $VIMG_FIXTURES/name, or NULL-free path even when unset (then "fixtures/name"). */
const char *test_fixture(const char *name);
/* Write a file of `size` bytes filled by a deterministic pattern seeded by `seed`. */
void test_write_pattern(const char *path, uint64_t size, unsigned seed);
/* Fill buf with the same pattern as test_write_pattern at file offset off. */
void test_pattern(void *buf, size_t len, uint64_t off, unsigned seed);
/*
 * Exercise an image that may be damaged: walk its block status over the whole
 * disk (at most 1000 runs, each checked for a sane length), read its first MiB
 * and run its checker. Errors are fine; crashes and bad runs are not.
 */
void test_walk_image(struct vimg_image *img);
/* Run a shell command; returns its exit status (-1 if it could not run). */
int test_system(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define ck_assert_vimg_ok(rc, errp)                                                    \
	do {                                                                           \
		int rc_ = (rc);                                                        \
		ck_assert_msg(rc_ == 0, "%s failed: %d (%s)", #rc, rc_, (errp)->msg);  \
	} while (0)

#define ck_assert_vimg_fails(rc, errp, want_code, substr)                              \
	do {                                                                           \
		int rc_ = (rc);                                                        \
		ck_assert_msg(rc_ == (want_code), "%s: got %d (%s), want %d", #rc, rc_, \
			      (errp)->msg, (want_code));                               \
		ck_assert_msg(strstr((errp)->msg, (substr)) != NULL,                   \
			      "%s: message \"%s\" lacks \"%s\"", #rc, (errp)->msg,      \
			      (substr));                                               \
	} while (0)

#endif
