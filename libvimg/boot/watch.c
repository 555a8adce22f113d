/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The watcher: keeps the console text, matches the --expect pattern (POSIX
 * extended, lines as in REG_NEWLINE) as output arrives, records when each
 * stage is first reached and says when the run is done or out of time.
 * Besides the firmware's own markers (bios.c), the console is searched for
 * Linux's messages: "Linux version" or "Decompressing Linux" (kernel) and
 * "Run /init as init process" or "Freeing unused kernel" (user space); the
 * qemu engine also takes boot loader banners (SYSLINUX, GRUB) as the loader
 * stage.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "boot.h"

#define CONSOLE_MAX (4u << 20)
#define SCAN_BACK 4096

int64_t watch_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

int watch_parse_stage(const char *s)
{
	for (int i = 1; i < VIMG_BOOT_NSTAGES; i++)
		if (strcmp(s, vimg_boot_stage_name((enum vimg_boot_stage)i)) == 0)
			return i;
	return -1;
}

const char *vimg_boot_stage_name(enum vimg_boot_stage stage)
{
	static const char *const names[] = { "none", "firmware", "loader", "kernel", "userspace" };
	return (unsigned)stage < VIMG_BOOT_NSTAGES ? names[stage] : "unknown";
}

int watch_init(struct watch *w, const struct vimg_boot_opts *o, struct vimg_error *err)
{
	memset(w, 0, sizeof(*w));
	w->until = -1;
	for (int i = 0; i < VIMG_BOOT_NSTAGES; i++)
		w->stage_ms[i] = -1;
	if (o->until) {
		w->until = watch_parse_stage(o->until);
		if (w->until < 0)
			return vimg_error_set(err, VIMG_EINVAL,
					      "unknown stage '%s' (firmware, loader, kernel, userspace)",
					      o->until);
	}
	if (o->expect) {
		int rc = regcomp(&w->expect, o->expect, REG_EXTENDED | REG_NEWLINE | REG_NOSUB);
		if (rc) {
			char msg[128];
			regerror(rc, &w->expect, msg, sizeof(msg));
			return vimg_error_set(err, VIMG_EINVAL, "expect pattern '%s': %s", o->expect, msg);
		}
		w->has_expect = true;
	}
	double t = o->timeout_s > 0 ? o->timeout_s : 60.0;
	if (t > 86400.0 * 365)
		t = 86400.0 * 365;
	w->t0_ns = watch_now_ns();
	w->deadline_ns = w->t0_ns + (int64_t)(t * 1e9);
	w->pattern_stages = true;
	w->out = o->serial_out;
	w->opaque = o->opaque;
	w->cap = 4096;
	w->buf = malloc(w->cap);
	if (!w->buf) {
		watch_free(w);
		return vimg_error_set(err, VIMG_ENOMEM, "boot: out of memory");
	}
	w->buf[0] = 0;
	return 0;
}

void watch_free(struct watch *w)
{
	if (w->has_expect)
		regfree(&w->expect);
	w->has_expect = false;
	free(w->buf);
	w->buf = NULL;
}

void watch_stage(struct watch *w, int stage)
{
	if (stage <= 0 || stage >= VIMG_BOOT_NSTAGES)
		return;
	if (w->stage_ms[stage] < 0)
		w->stage_ms[stage] = (watch_now_ns() - w->t0_ns) / 1000000;
	if (stage > w->stage)
		w->stage = stage;
}

void watch_console(struct watch *w, const char *buf, size_t n)
{
	if (!n)
		return;
	if (w->out)
		w->out(w->opaque, buf, n);
	if (!w->buf)
		return;
	if (w->len + n + 1 > CONSOLE_MAX) {
		/* Keep the newer half. */
		size_t drop = w->len / 2;
		memmove(w->buf, w->buf + drop, w->len - drop);
		w->len -= drop;
		w->scanned = w->scanned > drop ? w->scanned - drop : 0;
		if (n + 1 > CONSOLE_MAX - w->len) {
			buf += n - (CONSOLE_MAX / 2);
			n = CONSOLE_MAX / 2;
		}
	}
	if (w->len + n + 1 > w->cap) {
		size_t ncap = w->cap;
		while (ncap < w->len + n + 1)
			ncap *= 2;
		char *nb = realloc(w->buf, ncap);
		if (!nb)
			return;
		w->buf = nb;
		w->cap = ncap;
	}
	for (size_t i = 0; i < n; i++)
		w->buf[w->len++] = buf[i] ? buf[i] : ' ';
	w->buf[w->len] = 0;
}

static const struct {
	const char *text;
	int stage;
	bool loader_banner;
} markers[] = {
	{ "SYSLINUX ", VIMG_BOOT_LOADER, true },
	{ "EXTLINUX ", VIMG_BOOT_LOADER, true },
	{ "ISOLINUX ", VIMG_BOOT_LOADER, true },
	{ "GRUB", VIMG_BOOT_LOADER, true },
	{ "Booting from Hard Disk", VIMG_BOOT_LOADER, true },
	{ "Decompressing Linux", VIMG_BOOT_KERNEL, false },
	{ "Linux version ", VIMG_BOOT_KERNEL, false },
	{ "Booting the kernel", VIMG_BOOT_KERNEL, false },
	{ "Run /init as init process", VIMG_BOOT_USERSPACE, false },
	{ "Freeing unused kernel", VIMG_BOOT_USERSPACE, false },
	{ "Run /sbin/init as init process", VIMG_BOOT_USERSPACE, false },
};

void watch_scan(struct watch *w)
{
	if (!w->buf || w->scanned == w->len)
		return;
	size_t from = w->scanned > SCAN_BACK ? w->scanned - SCAN_BACK : 0;
	while (from > 0 && w->buf[from - 1] != '\n')
		from--;
	const char *text = w->buf + from;
	if (w->pattern_stages) {
		for (size_t i = 0; i < sizeof(markers) / sizeof(markers[0]); i++) {
			if (markers[i].loader_banner && !w->loader_banners)
				continue;
			if (w->stage_ms[markers[i].stage] < 0 && strstr(text, markers[i].text)) {
				/* A later stage implies the earlier ones on the console. */
				if (markers[i].stage >= VIMG_BOOT_KERNEL && w->loader_banners)
					watch_stage(w, VIMG_BOOT_LOADER);
				watch_stage(w, markers[i].stage);
			}
		}
	}
	if (strstr(text, "reboot: Power down"))
		w->powered_off = true;
	if (w->has_expect && !w->expect_matched && regexec(&w->expect, text, 0, NULL, 0) == 0)
		w->expect_matched = true;
	w->scanned = w->len;
}

bool watch_done(const struct watch *w)
{
	return w->expect_matched || (w->until > 0 && w->stage >= w->until);
}

bool watch_timed_out(const struct watch *w)
{
	return watch_now_ns() >= w->deadline_ns;
}
