/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Hyper-V's settings, as a tree of keys (hyperv-config.h), mapped onto the
 * VM model: one mapping for the XML and the binary .vmcx configurations.
 * Devices are keys named after their instance GUID ("_83f8638b-..._"); the
 * manifest's vdevNNN entries say what each instance is ("Microsoft Emulated
 * IDE Controller", "Synthetic SCSI Controller", "Synthetic Ethernet Port",
 * ...). Disk paths are the Hyper-V host's (C:\...): a disk is looked for by
 * its file name beside the configuration, then in the "Virtual Hard Disks"
 * folder of an export.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "hyperv-config.h"

/* ---- the tree -------------------------------------------------------------- */

int hv_add(struct hv_tree *t, struct hv_node *parent, const char *name, size_t nlen,
	   const char *value, size_t vlen, const char *fmt, struct hv_node **out,
	   struct vimg_error *err)
{
	unsigned depth = parent ? parent->depth + 1 : 1;
	struct hv_node *n;

	if (depth > HV_MAX_DEPTH)
		return vimg_error_set(err, VIMG_ECORRUPT, "%s: keys nested deeper than %d", fmt,
				      HV_MAX_DEPTH);
	if (t->count >= HV_MAX_NODES)
		return vimg_error_set(err, VIMG_ECORRUPT, "%s: more than %d keys", fmt,
				      HV_MAX_NODES);
	/* Name and value share the node's allocation: freeing is one walk. */
	n = calloc(1, sizeof(*n) + nlen + 1 + (value ? vlen + 1 : 0));
	if (!n)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	memcpy(n->name, name, nlen);
	if (value) {
		n->value = n->name + nlen + 1;
		memcpy(n->value, value, vlen);
	}
	n->depth = depth;
	n->all = t->all;
	t->all = n;
	t->count++;
	if (parent) {
		*(parent->last ? &parent->last->next : &parent->child) = n;
		parent->last = n;
	} else {
		*(t->top_last ? &t->top_last->next : &t->top) = n;
		t->top_last = n;
	}
	if (out)
		*out = n;
	return 0;
}

void hv_free(struct hv_tree *t)
{
	for (struct hv_node *n = t->all, *next; n; n = next) {
		next = n->all;
		free(n);
	}
	*t = (struct hv_tree){ 0 };
}

static const struct hv_node *child(const struct hv_node *n, const char *name)
{
	for (const struct hv_node *c = n ? n->child : NULL; c; c = c->next)
		if (!strcasecmp(c->name, name))
			return c;
	return NULL;
}

/* The first key called name below n, at any depth (bounded by HV_MAX_DEPTH). */
static const struct hv_node *find(const struct hv_node *n, const char *name)
{
	for (const struct hv_node *c = n ? n->child : NULL; c; c = c->next) {
		const struct hv_node *f;

		if (!strcasecmp(c->name, name))
			return c;
		if ((f = find(c, name)))
			return f;
	}
	return NULL;
}

/* The text of key path "a/b/c" below n, or NULL. */
static const char *value(const struct hv_node *n, const char *path)
{
	char part[64];

	while (n && *path) {
		size_t l = strcspn(path, "/");

		snprintf(part, sizeof(part), "%.*s", (int)l, path);
		n = child(n, part);
		path += l + (path[l] == '/');
	}
	return n ? n->value : NULL;
}

static unsigned number(const struct hv_node *n, const char *path, unsigned dflt, unsigned max)
{
	const char *v = value(n, path);
	char *end;
	unsigned long x = v ? strtoul(v, &end, 10) : 0;

	return v && end != v && !*end && x <= max ? (unsigned)x : dflt;
}

/* ---- the mapping ------------------------------------------------------------ */

struct ctx {
	struct vimg_vm *vm;
	const char *fmt;
	struct vimg_error *err;
	unsigned scsi;		/* SCSI controllers seen */
};

/* What the manifest says instance key "_guid_" is; the emulated devices have
 * instances of their own fixed GUIDs, not in the manifest. */
static const char *vdev_name(const struct hv_node *manifest, const char *key)
{
	static const struct {
		const char *guid, *name;
	} fixed[] = {
		{ "83f8638b-8dca-4152-9eda-2ca8b33039b4", "Microsoft Emulated IDE Controller" },
	};
	size_t l = strlen(key);

	if (l < 3 || key[0] != '_' || key[l - 1] != '_')
		return NULL;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (l - 2 == strlen(fixed[i].guid) && !strncasecmp(key + 1, fixed[i].guid, l - 2))
			return fixed[i].name;
	for (const struct hv_node *c = manifest ? manifest->child : NULL; c; c = c->next) {
		const char *inst = value(c, "instance");

		if (inst && strlen(inst) == l - 2 && !strncasecmp(inst, key + 1, l - 2))
			return value(c, "name");
	}
	return NULL;
}

/* A disk named by the Hyper-V host's path, as found from dir. */
static char *local_disk(const char *dir, const char *host_path)
{
	const char *base = host_path;
	char *p;
	struct stat st;

	for (const char *c = host_path; *c; c++)
		if (*c == '\\' || *c == '/')
			base = c + 1;
	if (!*base)
		return NULL;
	if (asprintf(&p, "%s/%s", dir, base) >= 0) {
		if (stat(p, &st) == 0) {
			free(p);
			return strdup(base);
		}
		free(p);
	}
	/* Export-VM writes "Virtual Machines/" beside "Virtual Hard Disks/". */
	if (asprintf(&p, "../Virtual Hard Disks/%s", base) < 0)
		return NULL;
	return p;
}

static int add_drive(struct ctx *x, const struct hv_node *drive, const char *ctrl, unsigned unit)
{
	struct vimg_vm *vm = x->vm;
	const char *type = value(drive, "type"), *path = value(drive, "pathname");
	enum vimg_device_kind kind = type && !strcasecmp(type, "VHD")   ? VIMG_DEV_DISK
				     : type && !strcasecmp(type, "ISO") ? VIMG_DEV_CDROM
									: 0;
	char node[32];
	int rc = 0;

	if (kind && !(rc = vm_grow((void **)&vm->disks, vm->n_disks, sizeof(*vm->disks), x->fmt,
				   x->err))) {
		snprintf(node, sizeof(node), "%s:%u", ctrl, unit);
		vm->disks[vm->n_disks] = (struct vimg_vm_disk){
			.kind = kind, .unit = unit, .start_connected = true,
			.node = strdup(node), .controller = strdup(ctrl),
			.file = path && *path ? local_disk(vm->dir, path) : NULL,
			.device_type = kind == VIMG_DEV_CDROM ? strdup("cdrom-image") : NULL,
		};
		if (!vm->disks[vm->n_disks++].node)
			rc = vimg_error_set(x->err, VIMG_ENOMEM, "out of memory");
	}
	return rc;
}

static int add_controller(struct ctx *x, enum vimg_controller_type type, unsigned bus,
			  const char *id)
{
	struct vimg_vm *vm = x->vm;
	int rc = vm_grow((void **)&vm->ctrls, vm->n_ctrls, sizeof(*vm->ctrls), x->fmt, x->err);

	if (!rc) {
		vm->ctrls[vm->n_ctrls] = (struct vimg_vm_controller){ .type = type, .bus = bus,
								       .id = strdup(id) };
		if (!vm->ctrls[vm->n_ctrls++].id)
			rc = vimg_error_set(x->err, VIMG_ENOMEM, "out of memory");
	}
	return rc;
}

/* An IDE device holds two channels; a SCSI device is one controller. */
static int read_storage(struct ctx *x, const struct hv_node *dev, bool ide)
{
	int rc = 0;

	for (unsigned c = 0; c < (ide ? 2u : 1u) && !rc; c++) {
		char name[16], id[16];
		const struct hv_node *ctrl;

		snprintf(name, sizeof(name), "controller%u", c);
		if (!(ctrl = child(dev, name)))
			continue;
		snprintf(id, sizeof(id), ide ? "ide%u" : "scsi%u", ide ? c : x->scsi);
		rc = add_controller(x, ide ? VIMG_CTRL_IDE : VIMG_CTRL_SCSI, ide ? c : x->scsi, id);
		if (!rc && !ide)
			rc = vm_set_str((char **)&x->vm->ctrls[x->vm->n_ctrls - 1].model,
					"lsisas1068", x->err);
		for (unsigned d = 0; d < 64 && !rc; d++) {
			const struct hv_node *drive;

			snprintf(name, sizeof(name), "drive%u", d);
			if ((drive = child(ctrl, name)))
				rc = add_drive(x, drive, id, d);
		}
	}
	if (!ide)
		x->scsi++;
	return rc;
}

static int read_nic(struct ctx *x, const struct hv_node *dev, bool legacy)
{
	struct vimg_vm *vm = x->vm;
	const char *mac = value(dev, "MacAddress"), *is_static = value(dev, "MacAddressIsStatic");
	const char *sw = value(dev, "SwitchName");
	char text[18] = "";
	int rc = vm_grow((void **)&vm->nics, vm->n_nics, sizeof(*vm->nics), x->fmt, x->err);

	/* "00-15-5D-..."; all zeros is "not assigned yet". */
	if (mac && strlen(mac) == 17 && strcmp(mac, "00-00-00-00-00-00"))
		for (int i = 0; i < 17; i++)
			text[i] = mac[i] == '-' ? ':' : (char)(mac[i] | 0x20);
	if (!rc) {
		vm->nics[vm->n_nics] = (struct vimg_vm_nic){
			.index = (unsigned)vm->n_nics,
			.mac_type = is_static && !strcasecmp(is_static, "True") ? VIMG_MAC_STATIC
										: VIMG_MAC_GENERATED,
			.mac = text[0] ? strdup(text) : NULL,
			/* The legacy adapter is a DEC 21140; the synthetic one has no
			 * counterpart: e1000 is what every guest drives. */
			.model = strdup(legacy ? "vlance" : "e1000"),
			.network = sw && *sw ? strdup(sw) : NULL,
			.start_connected = true,
		};
		vm->n_nics++;
	}
	return rc;
}

static int read_devices(struct ctx *x, const struct hv_node *cfg)
{
	const struct hv_node *manifest = child(cfg, "manifest");
	int rc = 0;

	for (const struct hv_node *c = cfg->child; c && !rc; c = c->next) {
		const char *what = vdev_name(manifest, c->name);

		if (!what)
			continue;
		if (!strcasecmp(what, "Microsoft Emulated IDE Controller"))
			rc = read_storage(x, c, true);
		else if (!strcasecmp(what, "Synthetic SCSI Controller"))
			rc = read_storage(x, c, false);
		else if (!strcasecmp(what, "Synthetic Ethernet Port") ||
			 !strcasecmp(what, "Emulated Ethernet Port"))
			rc = read_nic(x, c, !strcasecmp(what, "Emulated Ethernet Port"));
	}
	return rc;
}

int hyperv_config_read(struct vimg_vm *vm, const struct hv_tree *t, const char *fmt,
		       const char *path, const char *what, struct vimg_error *err)
{
	const struct hv_node *cfg = t->top, *props, *sb;
	const char *name, *notes, *sbv;
	struct ctx x = { .vm = vm, .fmt = fmt, .err = err };
	int rc = 0;

	while (cfg && strcasecmp(cfg->name, "configuration"))
		cfg = cfg->next;
	/* A runtime state file (.vmrs) has configuration/properties too, but no
	 * manifest: it names no devices. */
	if (!(props = child(cfg, "properties")) || !child(cfg, "manifest"))
		return vimg_error_set(err, VIMG_EFORMAT, "%s: %s is not %s", fmt, path, what);
	name = value(props, "name");
	notes = value(props, "notes");
	sb = find(cfg, "secure_boot_enabled");
	sbv = sb ? sb->value : NULL;
	if (name)
		rc = vm_set_str(&vm->name, name, err);
	if (!rc && notes && *notes)
		rc = vm_set_str(&vm->annotation, notes, err);
	vm->firmware = number(props, "subtype", 0, 1) == 1 ? VIMG_FIRMWARE_EFI : VIMG_FIRMWARE_BIOS;
	vm->secure_boot = vm->firmware == VIMG_FIRMWARE_EFI && sbv && !strcasecmp(sbv, "True");
	vm->memory_mb = number(cfg, "settings/memory/bank/size", 0, 1u << 30);
	vm->cpus = number(cfg, "settings/processors/count", 1, 4096);
	if (!rc)
		rc = read_devices(&x, cfg);
	if (!rc)
		rc = vm_loaded(vm, err);
	return rc;
}
