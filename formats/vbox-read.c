/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * VirtualBox .vbox read into the VM model: the machine's identity and
 * OSType, CPUs, memory, firmware, storage controllers with their disks,
 * DVD and floppy drives, network adapters with their MACs, serial and
 * parallel ports, USB, sound, video memory, and the snapshot tree. Settings
 * files of every version are read: the current namespace
 * (http://www.virtualbox.org/) and innotek's of the old ones, hardware in
 * <Hardware> or, since 1.20, partly in <Platform>. A drive names its medium
 * by UUID; the media registry is a tree of differencing images, and the
 * attachment names the one in use, wherever it sits in the tree. Elements
 * the model has no field for are kept as extra keys ("vbox.Hardware.BIOS"),
 * so a conversion reports them. The document is bounded (4 MiB, nesting
 * and counts) and parsed without network access, DTDs or entity expansion.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "vmmap.h"
#include "xmlvm.h"

#define VBOX_MAX_BYTES (4u << 20)
/* Differencing images and snapshots nest; VirtualBox itself sets no limit,
 * libxml2 refuses documents nested deeper than 256 elements. */
#define VBOX_MAX_DEPTH 200
#define VBOX_MAX_MEDIA 4096

static const char *const namespaces[] = {
    "http://www.virtualbox.org/",
    "http://www.innotek.de/VirtualBox-settings",
};

struct medium {
	const xmlNode *n; /* its <HardDisk> or <Image> */
	char *uuid;	  /* as written, malloc'd by libxml2 */
};

struct reader {
	struct vimg_vm *vm;
	struct medium *media;
	size_t n_media;
	unsigned next_uid;
	struct vimg_error *err;
};

static bool attr_true(const xmlNode *n, const char *name, bool dflt)
{
	char *v = xmlvm_attr(n, name);
	bool r = v ? !strcmp(v, "true") || !strcmp(v, "1") : dflt;

	xmlFree(v);
	return r;
}

static unsigned attr_uint(const xmlNode *n, const char *name, unsigned dflt, unsigned max)
{
	return xmlvm_uint(xmlvm_attr(n, name), dflt, max);
}

static int extra(struct reader *r, const char *key, const char *value)
{
	return vm_add_extra(&r->vm->extra, &r->vm->n_extra, key, value ? value : "", r->err);
}

/* An element the model has no field for, kept as "vbox.<where>.<Name>" with its
 * attributes as the value. */
static int keep_element(struct reader *r, const char *where, const xmlNode *n)
{
	char key[128], value[512] = "";
	size_t o = 0;

	snprintf(key, sizeof(key), "vbox.%s.%s", where, (const char *)n->name);
	for (const xmlAttr *a = n->properties; a; a = a->next) {
		char *v = xmlvm_attr(n, (const char *)a->name);

		if (o < sizeof(value))
			o += (size_t)snprintf(value + o, sizeof(value) - o, "%s%s=%s", o ? " " : "",
					      (const char *)a->name, v ? v : "");
		xmlFree(v);
	}
	return extra(r, key, value);
}

/* ---- the media registry ------------------------------------------------------------ */

static int add_media(struct reader *r, const xmlNode *list, const char *elem, unsigned depth)
{
	int rc = 0;

	if (depth > VBOX_MAX_DEPTH)
		return vimg_error_set(r->err, VIMG_ECORRUPT,
				      "vbox: <MediaRegistry>: differencing images nest deeper "
				      "than %u",
				      VBOX_MAX_DEPTH);
	for (const xmlNode *c = list ? list->children : NULL; c && !rc; c = c->next) {
		if (!xmlvm_named(c, elem))
			continue;
		if (r->n_media >= VBOX_MAX_MEDIA)
			return vimg_error_set(r->err, VIMG_ECORRUPT,
					      "vbox: <MediaRegistry>: more than %u media",
					      VBOX_MAX_MEDIA);
		if (!(r->n_media & 63)) {
			struct medium *m = realloc(r->media, (r->n_media + 64) * sizeof(*m));

			if (!m)
				return vimg_error_set(r->err, VIMG_ENOMEM, "out of memory");
			r->media = m;
		}
		r->media[r->n_media++] = (struct medium){.n = c, .uuid = xmlvm_attr(c, "uuid")};
		/* Encryption keys and the like: vimg reads the file as it is. */
		for (const xmlNode *p = c->children; p && !rc; p = p->next)
			if (xmlvm_named(p, "Property"))
				rc = keep_element(r, "MediaRegistry", p);
		/* A differencing image is a <HardDisk> inside its parent. */
		rc = add_media(r, c, elem, depth + 1);
	}
	return rc;
}

static int read_registry(struct reader *r, const xmlNode *reg)
{
	int rc = add_media(r, xmlvm_child(reg, "HardDisks"), "HardDisk", 0);

	if (!rc)
		rc = add_media(r, xmlvm_child(reg, "DVDImages"), "Image", 0);
	if (!rc)
		rc = add_media(r, xmlvm_child(reg, "FloppyImages"), "Image", 0);
	return rc;
}

static const xmlNode *medium_by_uuid(const struct reader *r, const char *uuid)
{
	for (size_t i = 0; uuid && i < r->n_media; i++)
		if (r->media[i].uuid && !strcasecmp(r->media[i].uuid, uuid))
			return r->media[i].n;
	return NULL;
}

/* ---- storage -------------------------------------------------------------------------- */

/* The model's controller for a VirtualBox one: "ide<channel>" for each
 * IDE channel used, otherwise "<type><n>", numbered per type; added to the
 * model unless it only names a snapshot's drive. */
static int controller_id(struct reader *r, const struct vmmap_controller *m, unsigned k,
			 unsigned port, bool add, char *id, size_t idlen)
{
	static const char *const prefix[] = {"", "ide", "scsi", "sata", "nvme", "virtio"};
	struct vimg_vm *vm = r->vm;
	unsigned bus = m->type == VIMG_CTRL_IDE ? port : k;

	snprintf(id, idlen, "%s%u", prefix[m->type], bus);
	for (size_t i = 0; add && i < vm->n_ctrls; i++)
		if (!strcmp(vm->ctrls[i].id, id))
			return 0;
	if (!add)
		return 0;
	if (vm_grow((void **)&vm->ctrls, vm->n_ctrls, sizeof(*vm->ctrls), "vbox", r->err))
		return -1;
	vm->ctrls[vm->n_ctrls] =
	    (struct vimg_vm_controller){.type = m->type, .bus = bus, .id = strdup(id)};
	if (!vm->ctrls[vm->n_ctrls++].id)
		return vimg_error_set(r->err, VIMG_ENOMEM, "out of memory");
	if (m->model)
		return vm_set_str((char **)&vm->ctrls[vm->n_ctrls - 1].model, m->model, r->err);
	return 0;
}

/* The file an attachment's medium is: its location in the registry, or the
 * host drive it passes through. */
static int attached_file(struct reader *r, const xmlNode *dev, const char *where, char **file,
			 const char **device_type)
{
	const xmlNode *img = xmlvm_child(dev, "Image"), *host = xmlvm_child(dev, "HostDrive");
	char *uuid = xmlvm_attr(img, "uuid");
	const xmlNode *m = medium_by_uuid(r, uuid);
	int rc = 0;

	*file = NULL;
	if (host) {
		*file = xmlvm_attr(host, "src");
		*device_type = "atapi-cdrom";
	} else if (m) {
		*file = xmlvm_attr(m, "location");
	} else if (uuid) {
		char key[96];

		/* Media of old versions are in VirtualBox.xml, which is not read. */
		snprintf(key, sizeof(key), "vbox.%s.medium", where);
		rc = extra(r, key, uuid);
	}
	xmlFree(uuid);
	return rc;
}

static int read_attachment(struct reader *r, const xmlNode *dev, const char *ctrl, bool ide,
			   struct vm_snapshot *snap)
{
	struct vimg_vm *vm = r->vm;
	char *type = xmlvm_attr(dev, "type"), *file = NULL, node[32];
	const char *device_type = NULL;
	unsigned port = attr_uint(dev, "port", 0, 65535), device = attr_uint(dev, "device", 0, 1);
	enum vimg_device_kind kind = !type || !strcmp(type, "HardDisk") ? VIMG_DEV_DISK
				     : !strcmp(type, "DVD")		? VIMG_DEV_CDROM
				     : !strcmp(type, "Floppy")		? VIMG_DEV_FLOPPY
									: 0;
	int rc;

	xmlFree(type);
	if (kind == VIMG_DEV_FLOPPY)
		snprintf(node, sizeof(node), "floppy%u", port * 2 + device);
	else
		snprintf(node, sizeof(node), "%s:%u", ctrl, ide ? device : port);
	rc = attached_file(r, dev, node, &file, &device_type);
	if (rc || !kind) {
		xmlFree(file);
		return rc ? rc : keep_element(r, "StorageController", dev);
	}
	if (snap) {
		/* A snapshot keeps the disks as it left them. */
		struct vimg_vm_snapshot_disk *d;

		if (kind != VIMG_DEV_DISK || !file || snap->pub.n_disks >= VM_MAX_SNAPSHOT_DISKS) {
			xmlFree(file);
			return 0;
		}
		d = realloc((void *)snap->pub.disks, (snap->pub.n_disks + 1) * sizeof(*d));
		if (!d) {
			xmlFree(file);
			return vimg_error_set(r->err, VIMG_ENOMEM, "out of memory");
		}
		snap->pub.disks = d;
		d[snap->pub.n_disks] = (struct vimg_vm_snapshot_disk){strdup(node), strdup(file)};
		xmlFree(file);
		if (!d[snap->pub.n_disks++].file || !d[snap->pub.n_disks - 1].node)
			return vimg_error_set(r->err, VIMG_ENOMEM, "out of memory");
		return 0;
	}
	if ((rc = vm_grow((void **)&vm->disks, vm->n_disks, sizeof(*vm->disks), "vbox", r->err))) {
		xmlFree(file);
		return rc;
	}
	vm->disks[vm->n_disks] = (struct vimg_vm_disk){
	    .kind = kind,
	    .unit = ide ? device : port,
	    .start_connected = true,
	    .node = strdup(node),
	    .controller = kind == VIMG_DEV_FLOPPY ? NULL : strdup(ctrl),
	    .file = file ? strdup(file) : NULL,
	    .device_type =
		kind == VIMG_DEV_CDROM ? strdup(device_type ? device_type : "cdrom-image") : NULL,
	};
	xmlFree(file);
	if (!vm->disks[vm->n_disks++].node)
		return vimg_error_set(r->err, VIMG_ENOMEM, "out of memory");
	return 0;
}

/* The medium type an independent disk has in the model. */
static int disk_modes(struct reader *r)
{
	for (size_t i = 0; i < r->vm->n_disks; i++) {
		struct vimg_vm_disk *d = &r->vm->disks[i];
		const xmlNode *m = NULL;
		char *type;

		for (size_t j = 0; d->file && !m && j < r->n_media; j++) {
			char *loc = xmlvm_attr(r->media[j].n, "location");

			if (loc && !strcmp(loc, d->file))
				m = r->media[j].n;
			xmlFree(loc);
		}
		type = xmlvm_attr(m, "type");
		if (type && (!strcmp(type, "Writethrough") || !strcmp(type, "Immutable")) &&
		    vm_set_str((char **)&d->mode,
			       !strcmp(type, "Writethrough") ? "independent-persistent"
							     : "independent-nonpersistent",
			       r->err)) {
			xmlFree(type);
			return -1;
		}
		xmlFree(type);
	}
	return 0;
}

static int read_storage(struct reader *r, const xmlNode *list, struct vm_snapshot *snap)
{
	unsigned per_type[VIMG_CTRL_VIRTIO + 1] = {0};
	int rc = 0;

	for (const xmlNode *c = list ? list->children : NULL; c && !rc; c = c->next) {
		char *type, id[16] = "";
		const struct vmmap_controller *m;
		bool floppy;

		if (!xmlvm_named(c, "StorageController"))
			continue;
		type = xmlvm_attr(c, "type");
		m = vmmap_controller_by_vbox(type);
		floppy = type && !strcmp(type, "I82078");
		xmlFree(type);
		if (!m && !floppy) {
			/* USB mass storage has no place in the model. */
			rc = keep_element(r, "StorageControllers", c);
			continue;
		}
		for (const xmlNode *d = c->children; d && !rc; d = d->next) {
			if (!xmlvm_named(d, "AttachedDevice"))
				continue;
			if (m)
				rc = controller_id(r, m, per_type[m->type],
						   attr_uint(d, "port", 0, 65535), !snap, id,
						   sizeof(id));
			if (!rc)
				rc = read_attachment(r, d, id, m && m->type == VIMG_CTRL_IDE, snap);
		}
		if (m)
			per_type[m->type]++;
	}
	return rc;
}

/* ---- network, ports, the rest of the hardware ------------------------------------------- */

static int read_adapter(struct reader *r, const xmlNode *a)
{
	static const struct {
		const char *elem, *connection;
	} modes[] = {
	    {"NAT", "nat"},
	    {"BridgedInterface", "bridged"},
	    {"HostInterface", "bridged"},
	    {"HostOnlyInterface", "hostonly"},
	    {"InternalNetwork", "custom"},
	    {"NATNetwork", "custom"},
	    {"GenericInterface", "custom"},
	};
	struct vimg_vm *vm = r->vm;
	char *mac = xmlvm_attr(a, "MACAddress"), *type = xmlvm_attr(a, "type"), text[18] = "";
	const struct vmmap_nic *m = vmmap_nic_by_vbox(type ? type : "Am79C973");
	const char *connection = NULL;
	char *network = NULL;
	int rc = 0;

	/* "080027AABBCC": 12 hex digits, no separators. */
	if (mac && strlen(mac) == 12 && strspn(mac, "0123456789abcdefABCDEF") == 12) {
		for (int i = 0, o = 0; i < 12; i += 2)
			o += snprintf(text + o, sizeof(text) - (size_t)o, "%s%c%c", i ? ":" : "",
				      mac[i] | 0x20, mac[i + 1] | 0x20);
	} else if (mac) {
		rc = extra(r, "vbox.Network.Adapter.MACAddress", mac);
	}
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]) && !connection; i++) {
		const xmlNode *n = xmlvm_child(a, modes[i].elem);

		if (n) {
			connection = modes[i].connection;
			network = xmlvm_attr(n, "name");
		}
	}
	if (!rc && !m)
		rc = extra(r, "vbox.Network.Adapter.type", type);
	if (!rc)
		rc = vm_grow((void **)&vm->nics, vm->n_nics, sizeof(*vm->nics), "vbox", r->err);
	if (!rc) {
		vm->nics[vm->n_nics] = (struct vimg_vm_nic){
		    .index = attr_uint(a, "slot", (unsigned)vm->n_nics, 35),
		    .mac_type =
			!strncmp(text, "00:0c:29:", 9) ? VIMG_MAC_GENERATED : VIMG_MAC_STATIC,
		    .mac = text[0] ? strdup(text) : NULL,
		    .model = strdup(m ? m->vmx : "e1000"),
		    .connection = connection ? strdup(connection) : NULL,
		    .network = network ? strdup(network) : NULL,
		    .start_connected = attr_true(a, "cable", true),
		};
		if (!vm->nics[vm->n_nics++].model)
			rc = vimg_error_set(r->err, VIMG_ENOMEM, "out of memory");
	}
	xmlFree(mac);
	xmlFree(type);
	xmlFree(network);
	return rc;
}

static int read_ports(struct reader *r, const xmlNode *list, enum vimg_port_kind kind)
{
	static const struct {
		const char *mode, *type;
	} modes[] = {{"RawFile", "file"},
		     {"HostPipe", "pipe"},
		     {"HostDevice", "device"},
		     {"TCP", "network"}};
	struct vimg_vm *vm = r->vm;
	int rc = 0;

	for (const xmlNode *p = list ? list->children : NULL; p && !rc; p = p->next) {
		char *mode, *path;
		const char *type = NULL;

		if (!xmlvm_named(p, "Port") || !attr_true(p, "enabled", false))
			continue;
		mode = xmlvm_attr(p, "hostMode");
		path = xmlvm_attr(p, "path");
		for (size_t i = 0; mode && i < sizeof(modes) / sizeof(modes[0]); i++)
			if (!strcmp(mode, modes[i].mode))
				type = modes[i].type;
		rc = vm_grow((void **)&vm->ports, vm->n_ports, sizeof(*vm->ports), "vbox", r->err);
		if (!rc) {
			vm->ports[vm->n_ports++] = (struct vimg_vm_port){
			    .kind = kind,
			    .index = attr_uint(p, "slot", 0, 3),
			    .type = type ? strdup(type) : NULL,
			    .target = path ? strdup(path) : NULL,
			    .start_connected = true,
			};
		}
		xmlFree(mode);
		xmlFree(path);
	}
	return rc;
}

/* The firmware type, the path of VirtualBox's variable store (inspect and
 * convert say what they make of it); its settings are kept as extra keys. */
static int read_firmware(struct reader *r, const xmlNode *fw)
{
	char *type = xmlvm_attr(fw, "type"), *nvram = xmlvm_attr(xmlvm_child(fw, "NVRAM"), "path");
	int rc = nvram ? vm_set_str(&r->vm->nvram, nvram, r->err) : 0;

	if (type)
		r->vm->firmware = !strncmp(type, "EFI", 3) ? VIMG_FIRMWARE_EFI : VIMG_FIRMWARE_BIOS;
	if (!rc && fw->children)
		rc = keep_element(r, (const char *)fw->parent->name, fw);
	xmlFree(type);
	xmlFree(nvram);
	return rc;
}

static void read_usb(struct vimg_vm *vm, const xmlNode *usb)
{
	for (const xmlNode *c = xmlvm_child(xmlvm_child(usb, "Controllers"), "Controller"); c;
	     c = c->next) {
		char *type = xmlvm_attr(c, "type");

		if (xmlvm_named(c, "Controller") && type) {
			vm->usb = true;
			vm->usb_ehci |= !strcmp(type, "EHCI");
			vm->usb_xhci |= !strcmp(type, "XHCI");
		}
		xmlFree(type);
	}
}

/* <Hardware> of the current state; what has no field is kept as extra keys. */
static int read_hardware(struct reader *r, const xmlNode *hw)
{
	struct vimg_vm *vm = r->vm;
	int rc = 0;

	for (const xmlNode *c = hw ? hw->children : NULL; c && !rc; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (xmlvm_named(c, "CPU")) {
			vm->cpus = attr_uint(c, "count", 1, 4096);
		} else if (xmlvm_named(c, "Memory")) {
			vm->memory_mb = attr_uint(c, "RAMSize", 0, 1u << 30);
		} else if (xmlvm_named(c, "Firmware") || xmlvm_named(c, "BIOS")) {
			/* <Firmware type=...> up to 1.19 beside <BIOS>, one element since. */
			rc = read_firmware(r, c);
		} else if (xmlvm_named(c, "Network")) {
			for (const xmlNode *a = c->children; a && !rc; a = a->next)
				if (xmlvm_named(a, "Adapter") && attr_true(a, "enabled", false))
					rc = read_adapter(r, a);
		} else if (xmlvm_named(c, "StorageControllers")) {
			rc = read_storage(r, c, NULL);
		} else if (xmlvm_named(c, "UART") || xmlvm_named(c, "Uart")) {
			rc = read_ports(r, c, VIMG_PORT_SERIAL);
		} else if (xmlvm_named(c, "LPT") || xmlvm_named(c, "Lpt")) {
			rc = read_ports(r, c, VIMG_PORT_PARALLEL);
		} else if (xmlvm_named(c, "USB")) {
			read_usb(vm, c);
		} else if (xmlvm_named(c, "AudioAdapter")) {
			/* The model names VMware's sound cards only: the controller is kept. */
			vm->sound = attr_true(c, "enabled", false);
			rc = vm->sound ? keep_element(r, "Hardware", c) : 0;
		} else if (xmlvm_named(c, "Display")) {
			vm->video = true;
			vm->vram = (uint64_t)attr_uint(c, "VRAMSize", 8, 256) << 20;
			rc = keep_element(r, "Hardware", c);
		} else {
			rc = keep_element(r, "Hardware", c);
		}
	}
	return rc;
}

/* Since settings 1.20 the CPU, chipset and firmware type are in <Platform>. */
static int read_platform(struct reader *r, const xmlNode *pf)
{
	int rc = 0;

	for (const xmlNode *c = pf ? pf->children : NULL; c && !rc; c = c->next) {
		if (xmlvm_named(c, "CPU"))
			r->vm->cpus = attr_uint(c, "count", 1, 4096);
		else if (xmlvm_named(c, "Firmware"))
			rc = read_firmware(r, c);
		else if (c->type == XML_ELEMENT_NODE)
			rc = keep_element(r, "Platform", c);
	}
	return rc;
}

/* ---- snapshots ------------------------------------------------------------------------------- */

static int64_t time_us(const char *stamp)
{
	struct tm tm = {0};

	/* Widths bound every field, so the product below cannot overflow. */
	if (!stamp || sscanf(stamp, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon,
			     &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		return 0;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm) * 1000000;
}

static int read_snapshot(struct reader *r, const xmlNode *n, unsigned parent, const char *current,
			 unsigned depth)
{
	struct vimg_vm *vm = r->vm;
	struct vm_snapshot *s;
	char *uuid, *name, *stamp, *state, *desc;
	const xmlNode *hw = xmlvm_child(n, "Hardware");
	unsigned uid;
	int rc;

	if (depth > VBOX_MAX_DEPTH || vm->n_snaps >= VM_MAX_SNAPSHOTS)
		return vimg_error_set(r->err, VIMG_ECORRUPT,
				      "vbox: <Snapshot>: more than %u "
				      "snapshots or deeper than %u",
				      VM_MAX_SNAPSHOTS, VBOX_MAX_DEPTH);
	if (!(vm->n_snaps & 15)) {
		s = realloc(vm->snaps, (vm->n_snaps + 16) * sizeof(*s));
		if (!s)
			return vimg_error_set(r->err, VIMG_ENOMEM, "out of memory");
		vm->snaps = s;
	}
	uid = ++r->next_uid;
	uuid = xmlvm_attr(n, "uuid");
	name = xmlvm_attr(n, "name");
	stamp = xmlvm_attr(n, "timeStamp");
	state = xmlvm_attr(n, "stateFile");
	desc = xmlvm_child(n, "Description")
		   ? (char *)xmlNodeGetContent(xmlvm_child(n, "Description"))
		   : NULL;
	s = &vm->snaps[vm->n_snaps++];
	*s = (struct vm_snapshot){.pub = {
				      .uid = uid,
				      .parent_uid = parent,
				      .name = strdup(name ? name : ""),
				      .description = strdup(desc ? desc : ""),
				      .state_file = state ? strdup(state) : NULL,
				      .create_time_us = time_us(stamp),
				  }};
	if (current && uuid && !strcasecmp(current, uuid))
		vm->snap_current = uid;
	rc = !s->pub.name || !s->pub.description
		 ? vimg_error_set(r->err, VIMG_ENOMEM, "out of memory")
		 : 0;
	xmlFree(uuid);
	xmlFree(name);
	xmlFree(stamp);
	xmlFree(state);
	xmlFree(desc);
	/* In <Hardware> up to 1.19, beside it since; s stays valid until the
	 * children below are added. */
	if (!rc)
		rc = read_storage(r, xmlvm_child(hw, "StorageControllers"), s);
	if (!rc)
		rc = read_storage(r, xmlvm_child(n, "StorageControllers"), s);
	for (const xmlNode *c = xmlvm_child(xmlvm_child(n, "Snapshots"), "Snapshot"); c && !rc;
	     c = c->next)
		if (xmlvm_named(c, "Snapshot"))
			rc = read_snapshot(r, c, uid, current, depth + 1);
	return rc;
}

/* ---- the machine ------------------------------------------------------------------------------
 */

static int read_identity(struct reader *r, const xmlNode *mach)
{
	struct vimg_vm *vm = r->vm;
	char *uuid = xmlvm_attr(mach, "uuid"), *name = xmlvm_attr(mach, "name"),
	     *os = xmlvm_attr(mach, "OSType");
	char *state = xmlvm_attr(mach, "stateFile");
	const struct vmmap_guest_os *g = vmmap_guest_os_by_vbox(os);
	const xmlNode *desc = xmlvm_child(mach, "Description");
	uint8_t u[16];
	char s[48];
	int rc = name ? vm_set_str(&vm->name, name, r->err) : 0;

	if (!rc && uuid && id_uuid_parse(uuid, u)) {
		id_vmware_uuid_format(u, s);
		rc = vm_set_str(&vm->uuid_bios, s, r->err);
	}
	if (!rc && g)
		rc = vm_set_str(&vm->guest_os, g->vmx, r->err);
	else if (!rc && os)
		rc = extra(r, "vbox.OSType", os);
	/* A saved state (.sav): convert says it is not carried. */
	if (!rc && state)
		rc = vm_set_str(&vm->suspend, state, r->err);
	if (!rc && desc) {
		char *t = (char *)xmlNodeGetContent(desc);

		rc = t ? vm_set_str(&vm->annotation, t, r->err) : 0;
		xmlFree(t);
	}
	xmlFree(uuid);
	xmlFree(name);
	xmlFree(os);
	xmlFree(state);
	return rc;
}

static int read_machine(struct reader *r, const xmlNode *mach)
{
	char *current = xmlvm_attr(mach, "currentSnapshot");
	int rc = read_registry(r, xmlvm_child(mach, "MediaRegistry"));

	r->vm->cpus = 1;
	if (!rc)
		rc = read_identity(r, mach);
	for (const xmlNode *c = mach->children; c && !rc; c = c->next) {
		if (xmlvm_named(c, "Hardware"))
			rc = read_hardware(r, c);
		else if (xmlvm_named(c, "Platform"))
			rc = read_platform(r, c);
		else if (xmlvm_named(c, "StorageControllers"))
			rc = read_storage(r, c, NULL);
		else if (xmlvm_named(c, "Snapshot"))
			rc = read_snapshot(r, c, 0, current, 0);
		else if (c->type == XML_ELEMENT_NODE && !xmlvm_named(c, "MediaRegistry") &&
			 !xmlvm_named(c, "Description"))
			rc = keep_element(r, "Machine", c);
	}
	if (!rc)
		rc = disk_modes(r);
	r->vm->snap_last_uid = r->next_uid;
	xmlFree(current);
	return rc;
}

int vbox_load(struct vimg_vm *vm, const char *path, struct vimg_error *err)
{
	struct reader r = {.vm = vm, .err = err};
	const xmlNode *root, *mach;
	bool ns = false;
	xmlDoc *doc;
	int rc = xmlvm_read(path, VBOX_MAX_BYTES, "vbox", &doc, err);

	if (rc)
		return rc;
	root = xmlDocGetRootElement(doc);
	for (size_t i = 0; root && root->ns && i < sizeof(namespaces) / sizeof(namespaces[0]); i++)
		ns |= root->ns->href && !strcmp((const char *)root->ns->href, namespaces[i]);
	mach = xmlvm_child(root, "Machine");
	if (!xmlvm_named(root, "VirtualBox") || !ns || !mach) {
		xmlFreeDoc(doc);
		return vimg_error_set(err, VIMG_EFORMAT,
				      "vbox: %s is not a VirtualBox machine's settings", path);
	}
	rc = read_machine(&r, mach);
	for (size_t i = 0; i < r.n_media; i++)
		xmlFree(r.media[i].uuid);
	free(r.media);
	xmlFreeDoc(doc);
	if (!rc)
		rc = vm_loaded(vm, err);
	return rc ? vimg_error_prefix(err, "%s", path) : 0;
}
