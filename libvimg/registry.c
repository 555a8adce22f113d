/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The one table of disk-format drivers, in probe order: cheap specific magics
 * first, formats needing the tail or text next, raw last. Probing takes the
 * highest score, ties going to the earlier entry (libarchive's bid). No
 * constructors: the list can be read here and is walked by check-registry.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const struct vimg_driver *const drivers[] = {
	&vimg_drv_qcow2,
	&vimg_drv_vhdx,
	&vimg_drv_vdi,
	&vimg_drv_vmdk,
	&vimg_drv_vhd,
	&vimg_drv_raw,
};

#define N_DRIVERS (sizeof(drivers) / sizeof(drivers[0]))

const struct vimg_driver *registry_driver(size_t i)
{
	return i < N_DRIVERS ? drivers[i] : NULL;
}

const struct vimg_driver *registry_by_name(const char *name)
{
	for (size_t i = 0; name && i < N_DRIVERS; i++)
		if (!strcmp(drivers[i]->name, name))
			return drivers[i];
	return NULL;
}

const char *vimg_format_name(size_t i)
{
	return i < N_DRIVERS ? drivers[i]->name : NULL;
}

const char *vimg_format_description(const char *format)
{
	const struct vimg_driver *d = registry_by_name(format);

	return d ? d->description : NULL;
}

unsigned vimg_format_features(const char *format)
{
	const struct vimg_driver *d = registry_by_name(format);

	return d ? d->features : 0;
}

const struct vimg_opt_desc *vimg_format_create_opts(const char *format)
{
	static const struct vimg_opt_desc none[] = { { 0 } };
	const struct vimg_driver *d = registry_by_name(format);

	if (!d)
		return NULL;
	return d->create_opts ? d->create_opts : none;
}

static int best_driver(const struct vimg_probe *p, bool skip_weak)
{
	int best = -1, best_score = 0;

	for (size_t i = 0; i < N_DRIVERS; i++) {
		int score;

		if (skip_weak && (drivers[i]->features & VIMG_FEAT_PROBE_WEAK))
			continue;
		score = drivers[i]->probe(p);
		if (score > best_score) {
			best_score = score;
			best = (int)i;
		}
	}
	return best;
}

int registry_probe(struct vimg_file *f, const char *name, const struct vimg_driver **out,
		   struct vimg_error *err)
{
	struct vimg_probe p = { .name = name };
	uint8_t *head = NULL, *tail = NULL;
	int64_t size;
	int rc, best;

	*out = NULL;
	size = file_size(f, err);
	if (size < 0)
		return (int)size;
	p.file_size = (uint64_t)size;
	p.head_len = p.file_size < VIMG_PROBE_HEAD ? p.file_size : VIMG_PROBE_HEAD;
	p.tail_len = p.file_size < VIMG_PROBE_TAIL ? p.file_size : VIMG_PROBE_TAIL;
	head = malloc(VIMG_PROBE_HEAD);
	tail = malloc(VIMG_PROBE_TAIL);
	if (!head || !tail) {
		rc = vimg_error_set(err, VIMG_ENOMEM, "out of memory");
		goto out;
	}
	rc = file_pread_full(f, head, p.head_len, 0, err);
	if (!rc)
		rc = file_pread_full(f, tail, p.tail_len, p.file_size - p.tail_len, err);
	if (rc)
		goto out;
	p.head = head;
	p.tail = tail;
	best = best_driver(&p, false);
	if (best < 0) {
		rc = vimg_error_set(err, VIMG_EFORMAT, "%s: unknown image format", name);
		goto out;
	}
	*out = drivers[best];
out:
	free(head);
	free(tail);
	return rc;
}

bool registry_sector0_probes_as_other(const uint8_t *sector, size_t len)
{
	struct vimg_probe p = {
		.head = sector, .head_len = len, .tail = sector, .tail_len = 0,
		.file_size = len, .name = "",
	};

	return best_driver(&p, true) >= 0;
}
