/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The -p progress display: "    (42.00/100%)" on stderr, rewritten in place
 * with a carriage return as qemu-img does, at most once per hundredth of a
 * percent step so a fast copy does not flood the terminal. The copy engine
 * may report from several worker threads, hence the mutex; progress never
 * goes backwards on screen.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>

#include "cli.h"

struct progress {
	pthread_mutex_t lock;
	bool enabled;
	bool shown;
	double last;	/* last percentage printed */
};

struct progress *progress_new(bool enabled)
{
	struct progress *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	p->enabled = enabled;
	p->last = -1.0;
	return p;
}

static void progress_print(struct progress *p, double pct)
{
	fprintf(stderr, "    (%.2f/100%%)\r", pct);
	fflush(stderr);
	p->shown = true;
	p->last = pct;
}

void progress_update(void *opaque, uint64_t done, uint64_t total)
{
	struct progress *p = opaque;
	if (!p || !p->enabled)
		return;
	double pct = total ? 100.0 * (double)done / (double)total : 100.0;
	if (pct > 100.0)
		pct = 100.0;
	pthread_mutex_lock(&p->lock);
	/* Print on the first call, then on every whole-percent step. */
	if (p->last < 0.0 || pct >= p->last + 1.0 || (pct >= 100.0 && p->last < 100.0))
		progress_print(p, pct);
	pthread_mutex_unlock(&p->lock);
}

void progress_free(struct progress *p, bool completed)
{
	if (!p)
		return;
	if (p->enabled) {
		if (completed && p->last < 100.0)
			progress_print(p, 100.0);
		if (p->shown)
			fputc('\n', stderr);
	}
	pthread_mutex_destroy(&p->lock);
	free(p);
}
