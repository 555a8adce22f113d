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
#include "vm.h"

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
		if (!strcmp(drivers[i]->name, name) ||
		    (drivers[i]->qemu_name && !strcmp(drivers[i]->qemu_name, name)))
			return drivers[i];
	return NULL;
}

const char *registry_qemu_name(const struct vimg_driver *d)
{
	return d->qemu_name ? d->qemu_name : d->name;
}

const char *vimg_format_canonical(const char *format)
{
	const struct vimg_driver *d = registry_by_name(format);

	return d ? d->name : NULL;
}

const char *vimg_format_qemu_name(const char *format)
{
	const struct vimg_driver *d = registry_by_name(format);

	return d ? registry_qemu_name(d) : NULL;
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

unsigned registry_features(const struct vimg_driver *d)
{
	return (d->features & (VIMG_FEAT_BACKING | VIMG_FEAT_REPAIR | VIMG_FEAT_MULTI_FILE |
			       VIMG_FEAT_PROBE_WEAK)) |
	       VIMG_FEAT_READ | (d->write ? VIMG_FEAT_WRITE : 0) |
	       (d->create ? VIMG_FEAT_CREATE : 0) | (d->check ? VIMG_FEAT_CHECK : 0) |
	       (d->snapshot_list ? VIMG_FEAT_SNAPSHOTS : 0) | (d->resize ? VIMG_FEAT_RESIZE : 0) |
	       (d->make_empty ? VIMG_FEAT_EMPTY : 0) | (d->set_backing ? VIMG_FEAT_REBASE : 0) |
	       (d->amend ? VIMG_FEAT_AMEND : 0) |
	       (d->compress && d->write_compressed ? VIMG_FEAT_COMPRESS : 0);
}

unsigned vimg_format_features(const char *format)
{
	const struct vimg_driver *d = registry_by_name(format);

	return d ? registry_features(d) : 0;
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

/* ---- bundle codecs ------------------------------------------------------------ */

/*
 * The second table: VM configuration codecs, probed the same way (best score
 * wins, ties to the earlier entry). The .vmx codec reads the .vmsd and .vmxf
 * beside it through their own entries.
 */
static const struct vimg_codec *const codecs[] = {
	&vimg_codec_vmx,
	&vimg_codec_vmsd,
	&vimg_codec_vmxf,
	&vimg_codec_libvirt,
	&vimg_codec_hyperv,
	&vimg_codec_azure,
	&vimg_codec_hyperv_xml,
	&vimg_codec_hyperv_vmcx,
	&vimg_codec_ovf,
	&vimg_codec_vbox,
};

#define N_CODECS (sizeof(codecs) / sizeof(codecs[0]))

const struct vimg_codec *registry_codec(size_t i)
{
	return i < N_CODECS ? codecs[i] : NULL;
}

const struct vimg_codec *registry_codec_by_name(const char *name)
{
	for (size_t i = 0; name && i < N_CODECS; i++)
		if (!strcmp(codecs[i]->name, name))
			return codecs[i];
	return NULL;
}

const char *vimg_codec_name(size_t i)
{
	return i < N_CODECS ? codecs[i]->name : NULL;
}

const char *vimg_codec_description(const char *codec)
{
	const struct vimg_codec *c = registry_codec_by_name(codec);

	return c ? c->description : NULL;
}

int registry_codec_probe(const char *path, const struct vimg_codec **out,
			 struct vimg_error *err)
{
	struct vimg_probe p = { .name = path };
	struct vimg_file *f;
	uint8_t *head;
	int64_t size;
	int rc, best = -1, best_score = 0;

	*out = NULL;
	rc = file_open(path, 0, &f, err);
	if (rc)
		return rc;
	size = file_size(f, err);
	head = malloc(VIMG_PROBE_HEAD);
	if (size < 0) {
		rc = (int)size;
	} else if (!head) {
		rc = vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	} else {
		p.file_size = (uint64_t)size;
		p.head_len = p.file_size < VIMG_PROBE_HEAD ? p.file_size : VIMG_PROBE_HEAD;
		p.head = head;
		rc = file_pread_full(f, head, p.head_len, 0, err);
	}
	file_close(f);
	for (size_t i = 0; !rc && i < N_CODECS; i++) {
		int score = codecs[i]->probe(&p);

		if (score > best_score) {
			best_score = score;
			best = (int)i;
		}
	}
	free(head);
	if (!rc && best < 0)
		rc = vimg_error_set(err, VIMG_EFORMAT, "%s: not a VM configuration vimg knows",
				    path);
	if (!rc)
		*out = codecs[best];
	return rc;
}
