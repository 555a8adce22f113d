/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Hyper-V's XML configuration (Windows Server 2012 R2 and earlier; UTF-16)
 * read into the VM model. Devices are elements named after their instance
 * GUID ("_83f8638b-..._"); the manifest's vdevNNN entries say what each
 * instance is ("Microsoft Emulated IDE Controller", "Synthetic SCSI
 * Controller", "Synthetic Ethernet Port", ...). Disk paths are the Hyper-V
 * host's (C:\...): a disk is looked for by its file name beside the
 * configuration, then in the "Virtual Hard Disks" folder of an export.
 * The binary .vmcx of later versions is not read.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <libxml/parser.h>

#include "xmlvm.h"

#define CONFIG_MAX_BYTES (4u << 20)

static const char *const hyperv_xml_ext[] = { ".xml", NULL };

static bool named(const xmlNode *n, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE && !strcasecmp((const char *)n->name, name);
}

static const xmlNode *child(const xmlNode *n, const char *name)
{
	for (const xmlNode *c = n ? n->children : NULL; c; c = c->next)
		if (named(c, name))
			return c;
	return NULL;
}

/* The first element called name below n, at any depth. */
static const xmlNode *find(const xmlNode *n, const char *name)
{
	for (const xmlNode *c = n ? n->children : NULL; c; c = c->next) {
		const xmlNode *f;

		if (named(c, name))
			return c;
		if (c->type == XML_ELEMENT_NODE && (f = find(c, name)))
			return f;
	}
	return NULL;
}

/* The text of element path "a/b/c" below n, malloc'd by libxml2, or NULL. */
static char *value(const xmlNode *n, const char *path)
{
	char part[64];

	while (n && *path) {
		size_t l = strcspn(path, "/");

		snprintf(part, sizeof(part), "%.*s", (int)l, path);
		n = child(n, part);
		path += l + (path[l] == '/');
	}
	return n ? (char *)xmlNodeGetContent(n) : NULL;
}

static unsigned number(const xmlNode *n, const char *path, unsigned dflt, unsigned max)
{
	return xmlvm_uint(value(n, path), dflt, max);
}

/* What the manifest says instance guid (from "_guid_") is; the emulated
 * devices have instances of their own fixed GUIDs, not in the manifest. */
static char *vdev_name(const xmlNode *manifest, const char *elem)
{
	static const struct {
		const char *guid, *name;
	} fixed[] = {
		{ "83f8638b-8dca-4152-9eda-2ca8b33039b4", "Microsoft Emulated IDE Controller" },
	};
	size_t l = strlen(elem);

	if (l < 3 || elem[0] != '_' || elem[l - 1] != '_')
		return NULL;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (l - 2 == strlen(fixed[i].guid) && !strncasecmp(elem + 1, fixed[i].guid, l - 2))
			return (char *)xmlStrdup(BAD_CAST fixed[i].name);
	for (const xmlNode *c = manifest ? manifest->children : NULL; c; c = c->next) {
		char *inst = value(c, "instance");
		bool match = inst && strlen(inst) == l - 2 && !strncasecmp(inst, elem + 1, l - 2);

		xmlFree(inst);
		if (match)
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

static int add_drive(struct vimg_vm *vm, const xmlNode *drive, const char *ctrl, unsigned unit,
		     struct vimg_error *err)
{
	char *type = value(drive, "type"), *path = value(drive, "pathname"), node[32];
	enum vimg_device_kind kind = type && !strcasecmp(type, "VHD")   ? VIMG_DEV_DISK
				     : type && !strcasecmp(type, "ISO") ? VIMG_DEV_CDROM
									: 0;
	int rc = 0;

	if (kind && !(rc = vm_grow((void **)&vm->disks, vm->n_disks, sizeof(*vm->disks),
				   "hyperv", err))) {
		snprintf(node, sizeof(node), "%s:%u", ctrl, unit);
		vm->disks[vm->n_disks] = (struct vimg_vm_disk){
			.kind = kind, .unit = unit, .start_connected = true,
			.node = strdup(node), .controller = strdup(ctrl),
			.file = path && *path ? local_disk(vm->dir, path) : NULL,
			.device_type = kind == VIMG_DEV_CDROM ? strdup("cdrom-image") : NULL,
		};
		if (!vm->disks[vm->n_disks++].node)
			rc = vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	}
	xmlFree(type);
	xmlFree(path);
	return rc;
}

static int add_controller(struct vimg_vm *vm, enum vimg_controller_type type, unsigned bus,
			  const char *id, struct vimg_error *err)
{
	int rc = vm_grow((void **)&vm->ctrls, vm->n_ctrls, sizeof(*vm->ctrls), "hyperv", err);

	if (!rc) {
		vm->ctrls[vm->n_ctrls] = (struct vimg_vm_controller){ .type = type, .bus = bus,
								       .id = strdup(id) };
		if (!vm->ctrls[vm->n_ctrls++].id)
			rc = vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	}
	return rc;
}

/* An IDE device holds two channels; a SCSI device is one controller. */
static int read_storage(struct vimg_vm *vm, const xmlNode *dev, bool ide, unsigned *scsi,
			struct vimg_error *err)
{
	int rc = 0;

	for (unsigned c = 0; c < (ide ? 2u : 1u) && !rc; c++) {
		char name[16], id[16];
		const xmlNode *ctrl;

		snprintf(name, sizeof(name), "controller%u", c);
		if (!(ctrl = child(dev, name)))
			continue;
		snprintf(id, sizeof(id), ide ? "ide%u" : "scsi%u", ide ? c : *scsi);
		rc = add_controller(vm, ide ? VIMG_CTRL_IDE : VIMG_CTRL_SCSI, ide ? c : *scsi, id,
				    err);
		if (!rc && !ide)
			rc = vm_set_str((char **)&vm->ctrls[vm->n_ctrls - 1].model, "lsisas1068", err);
		for (unsigned d = 0; d < 64 && !rc; d++) {
			const xmlNode *drive;

			snprintf(name, sizeof(name), "drive%u", d);
			if ((drive = child(ctrl, name)))
				rc = add_drive(vm, drive, id, d, err);
		}
	}
	if (!ide)
		(*scsi)++;
	return rc;
}

static int read_nic(struct vimg_vm *vm, const xmlNode *dev, bool legacy, struct vimg_error *err)
{
	char *mac = value(dev, "MacAddress"), *is_static = value(dev, "MacAddressIsStatic");
	char *sw = value(dev, "SwitchName"), text[18] = "";
	int rc = vm_grow((void **)&vm->nics, vm->n_nics, sizeof(*vm->nics), "hyperv", err);

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
	xmlFree(mac);
	xmlFree(is_static);
	xmlFree(sw);
	return rc;
}

static int read_config(struct vimg_vm *vm, const xmlNode *cfg, struct vimg_error *err)
{
	const xmlNode *props = child(cfg, "properties"), *manifest = child(cfg, "manifest");
	const xmlNode *sb = find(cfg, "secure_boot_enabled");
	char *name = value(props, "name"), *notes = value(props, "notes");
	char *sbv = sb ? (char *)xmlNodeGetContent(sb) : NULL;
	unsigned scsi = 0;
	int rc = 0;

	if (name)
		rc = vm_set_str(&vm->name, name, err);
	if (!rc && notes && *notes)
		rc = vm_set_str(&vm->annotation, notes, err);
	vm->firmware = number(props, "subtype", 0, 1) == 1 ? VIMG_FIRMWARE_EFI : VIMG_FIRMWARE_BIOS;
	vm->secure_boot = vm->firmware == VIMG_FIRMWARE_EFI && sbv && !strcasecmp(sbv, "True");
	vm->memory_mb = number(cfg, "settings/memory/bank/size", 0, 1u << 30);
	vm->cpus = number(cfg, "settings/processors/count", 1, 4096);
	xmlFree(name);
	xmlFree(notes);
	xmlFree(sbv);
	for (const xmlNode *c = cfg->children; c && !rc; c = c->next) {
		char *what;

		if (c->type != XML_ELEMENT_NODE || !(what = vdev_name(manifest, (const char *)c->name)))
			continue;
		if (!strcasecmp(what, "Microsoft Emulated IDE Controller"))
			rc = read_storage(vm, c, true, &scsi, err);
		else if (!strcasecmp(what, "Synthetic SCSI Controller"))
			rc = read_storage(vm, c, false, &scsi, err);
		else if (!strcasecmp(what, "Synthetic Ethernet Port") ||
			 !strcasecmp(what, "Emulated Ethernet Port"))
			rc = read_nic(vm, c, !strcasecmp(what, "Emulated Ethernet Port"), err);
		xmlFree(what);
	}
	return rc;
}

static int hyperv_xml_load(struct vimg_vm *vm, const char *path, struct vimg_error *err)
{
	char *buf;
	size_t len;
	xmlDoc *doc;
	const xmlNode *cfg;
	int rc = file_read_all(path, CONFIG_MAX_BYTES, "hyperv", &buf, &len, err);

	if (rc)
		return rc;
	doc = xmlReadMemory(buf, (int)len, path, NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	free(buf);
	cfg = doc ? xmlDocGetRootElement(doc) : NULL;
	if (!named(cfg, "configuration") || !child(cfg, "properties")) {
		xmlFreeDoc(doc);
		return vimg_error_set(err, VIMG_EFORMAT,
				      "hyperv: %s is not a Hyper-V XML configuration", path);
	}
	rc = read_config(vm, cfg, err);
	xmlFreeDoc(doc);
	if (!rc)
		rc = vm_loaded(vm, err);
	return rc ? vimg_error_prefix(err, "%s", path) : 0;
}

/* "<configuration>" near the start, in UTF-16LE (as Hyper-V writes it) or 8-bit. */
static int hyperv_xml_probe(const struct vimg_probe *p)
{
	static const char u16[] = "<\0c\0o\0n\0f\0i\0g\0u\0r\0a\0t\0i\0o\0n\0>";

	if (memmem(p->head, p->head_len, u16, sizeof(u16) - 1) ||
	    memmem(p->head, p->head_len, "<configuration>", 15))
		return 70;
	return 0;
}

const struct vimg_codec vimg_codec_hyperv_xml = {
	.name = "hyperv-xml",
	.description = "Hyper-V XML configuration (Windows Server 2012 R2 and earlier)",
	.extensions = hyperv_xml_ext,
	.probe = hyperv_xml_probe,
	.load = hyperv_xml_load,
};
