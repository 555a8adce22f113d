/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Simulated files (file-sim.c): while a thread's sandbox is open, file_open
 * of a path under its prefix gets a file that lives in memory. A driver
 * creates and writes an image into it exactly as into a host file, so
 * vimg_measure learns the size the real writer would reach without writing
 * the data: sectors equal to the marker (file_sim_marker) are remembered as
 * a range, not stored; everything else (the format's metadata) is kept, up
 * to a bound, and reads back.
 */
#ifndef VIMG_FILE_SIM_H
#define VIMG_FILE_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vimg.h"

#define FILE_SIM_SECTOR 512u

struct file_sim;

/* The 512-byte marker: data a simulated file does not store. */
const uint8_t *file_sim_marker(void);
/* Fill p with the marker's bytes as they lie at offset off. */
void file_sim_marker_fill(uint8_t *p, uint64_t off, size_t len);

/* Open a sandbox in this thread for paths starting with prefix (sandboxes
 * nest: the last opened closes first); bytes other
 * than the marker and zeros are kept up to max_kept (past it, reading them
 * back fails with VIMG_EUNSUPPORTED). */
int file_sandbox_begin(const char *prefix, uint64_t max_kept, struct vimg_error *err);
/* Close the last opened: the summed lengths of its files; they are freed (every file
 * opened in it must be closed first). */
uint64_t file_sandbox_end(void);
/* The path is under the open sandbox's prefix. */
bool file_sandbox_covers(const char *path);
/* The simulated file for path, made when create; NULL when path is not in
 * the sandbox (or no sandbox is open). */
struct file_sim *file_sandbox_lookup(const char *path, bool create, bool truncate);

int file_sim_pread(struct file_sim *s, void *buf, size_t len, uint64_t off, size_t *got,
		   const char *path, struct vimg_error *err);
int file_sim_pwrite(struct file_sim *s, const void *buf, size_t len, uint64_t off,
		    struct vimg_error *err);
uint64_t file_sim_size(const struct file_sim *s);
uint64_t file_sim_stored(const struct file_sim *s);
unsigned file_sim_id(const struct file_sim *s);
int file_sim_truncate(struct file_sim *s, uint64_t size, struct vimg_error *err);
int file_sim_punch(struct file_sim *s, uint64_t off, uint64_t len, struct vimg_error *err);
/* SEEK_DATA (data) or SEEK_HOLE from off; the size when there is none. */
uint64_t file_sim_seek(struct file_sim *s, uint64_t off, bool data);

#endif
