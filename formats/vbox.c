/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * VirtualBox .vbox, read in vbox-read.c, written here from the VM model in
 * VirtualBox 7.0's settings format (1.19) with libxml2's writer. The
 * conversion has already made the disks VDI (or VMDK) files beside the
 * configuration; each is registered in the machine's own media registry
 * under the UUID its file carries, because VirtualBox refuses a medium whose
 * file names another UUID than the registry. Media keep their absolute
 * paths. What the format has no element for goes to the warnings.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vmmap.h"
#include "xmlvm.h"

static const char *const vbox_ext[] = {".vbox", NULL};

/* Each disk and CD-ROM of the model, as VirtualBox attaches it. */
struct medium {
	const struct vimg_vm_disk *d;
	const struct vmmap_controller *m; /* its controller, NULL: left out */
	char uuid[40];			  /* "{...}" in the registry, "" for an empty drive */
	const char *format;		  /* VDI, VMDK, VHD; NULL for media */
	unsigned port, device;
};

/* The UUID an image says it has, as its driver's info names it: VDI's
 * uuid_image, the VMDK descriptor's ddb.uuid.image. */
struct uuid_probe {
	char uuid[40];
};

static void probe_str(void *opaque, const char *key, const char *val)
{
	struct uuid_probe *p = opaque;
	uint8_t u[16];

	if (key && (!strcmp(key, "uuid") || !strcmp(key, "uuid-image")) && id_uuid_parse(val, u))
		snprintf(p->uuid, sizeof(p->uuid), "{%s}", val);
}

static void probe_u64(void *o, const char *k, uint64_t v)
{
	(void)o, (void)k, (void)v;
}
static void probe_i64(void *o, const char *k, int64_t v)
{
	(void)o, (void)k, (void)v;
}
static void probe_bool(void *o, const char *k, bool v)
{
	(void)o, (void)k, (void)v;
}
static void probe_begin(void *o, const char *k, bool l)
{
	(void)o, (void)k, (void)l;
}
static void probe_end(void *o)
{
	(void)o;
}

/* The UUID stored in a converted disk, and VirtualBox's name of its format.
 * Only VDI's header and VMDK's ddb.uuid.image are known to be read by
 * VirtualBox as vimg reads them; VHD, VHDX and QCOW disks get a UUID of
 * their own in the registry, and a warning. */
static void disk_identity(struct vimg_vm *vm, struct medium *md, struct vimg_warnings **w)
{
	static const struct {
		const char *driver, *vbox;
		bool uuid;
	} formats[] = {{"vdi", "VDI", true},	{"vmdk", "VMDK", true}, {"vhd", "VHD", false},
		       {"vhdx", "VHDX", false}, {"qcow2", "QCOW", false}};
	struct uuid_probe p = {""};
	struct vimg_emit em = {probe_str,   probe_u64, probe_i64, probe_bool,
			       probe_begin, probe_end, &p};
	struct vimg_image *img = NULL;
	char *path = NULL;

	md->format = NULL;
	if (vm_resolve(vm, md->d->file, &path, NULL) == 0 &&
	    vimg_image_open(path, NULL, 0, &img, NULL) == 0) {
		for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
			if (strcmp(vimg_image_format(img), formats[i].driver))
				continue;
			md->format = formats[i].vbox;
			if (formats[i].uuid)
				vimg_image_info(img, &em, NULL);
		}
		if (!md->format)
			warnings_add(w, md->d->node,
				     "VirtualBox does not run %s disks: \"%s\" is "
				     "registered as VDI",
				     vimg_image_format(img), md->d->file);
	}
	vimg_image_close(img, NULL);
	free(path);
	if (!md->format)
		md->format = "VDI";
	if (p.uuid[0]) {
		memcpy(md->uuid, p.uuid, sizeof(md->uuid));
	} else {
		uint8_t u[16];
		char t[37];

		/* VirtualBox will find another UUID (or none) in the file and refuse it. */
		id_guid_random(u);
		id_guid_format(u, false, t);
		snprintf(md->uuid, sizeof(md->uuid), "{%s}", t);
		warnings_add(w, md->d->node,
			     "vimg cannot tell which UUID VirtualBox finds in \"%s\": "
			     "VirtualBox may refuse it until it is attached again",
			     md->d->file);
	}
}

/* The highest port each VirtualBox controller takes. */
static unsigned max_ports(const char *type)
{
	return !strcmp(type, "PIIX4")					? 2
	       : !strcmp(type, "AHCI")					? 30
	       : !strcmp(type, "LsiLogic") || !strcmp(type, "BusLogic") ? 16
									: 255;
}

/*
 * Place every drive: IDE keeps channel (port) and master/slave (device);
 * elsewhere the unit is the port, moved to the next free one when two
 * controllers of the model become one of VirtualBox's.
 */
static void place(struct vimg_vm *vm, struct medium *md, size_t n, struct vimg_warnings **w)
{
	for (size_t i = 0; i < n; i++) {
		const struct vimg_vm_controller *c = vm_controller_of(vm, md[i].d);
		const struct vmmap_controller *back;
		bool ide;

		md[i].m = c ? vmmap_controller(c->type, c->model) : NULL;
		if (!md[i].m || !md[i].m->vbox) {
			warnings_add(w, md[i].d->node,
				     "no VirtualBox controller for this %s: it is "
				     "left out",
				     md[i].d->kind == VIMG_DEV_FLOPPY ? "floppy drive" : "drive");
			md[i].m = NULL;
			continue;
		}
		ide = c->type == VIMG_CTRL_IDE;
		back = vmmap_controller_by_vbox(md[i].m->vbox);
		for (size_t j = 0; j < i && back; j++)
			if (md[j].d->controller && !strcasecmp(md[j].d->controller, c->id))
				back = NULL; /* said with its first drive */
		if (back && c->model && back->model && strcasecmp(c->model, back->model))
			warnings_add(w, c->id, "%s becomes VirtualBox's %s (read back as %s)",
				     c->model, md[i].m->vbox, back->model);
		md[i].port = ide ? c->bus : md[i].d->unit;
		md[i].device = ide ? md[i].d->unit : 0;
		for (size_t j = 0; j < i; j++) {
			if (!md[j].m || strcmp(md[j].m->vbox, md[i].m->vbox) ||
			    md[j].port != md[i].port || md[j].device != md[i].device)
				continue;
			md[i].port++;
			j = (size_t)-1; /* look again from the first */
		}
		if (ide ? md[i].port > 1 || md[i].device > 1
			: md[i].port >= max_ports(md[i].m->vbox)) {
			warnings_add(w, md[i].d->node,
				     "VirtualBox's %s controller has no room for it: "
				     "it is left out",
				     md[i].m->vbox);
			md[i].m = NULL;
		} else if (!ide && md[i].port != md[i].d->unit) {
			warnings_add(w, md[i].d->node,
				     "moves to port %u of VirtualBox's %s controller", md[i].port,
				     md[i].m->vbox);
		}
	}
}

static bool write_registry(xmlTextWriterPtr x, struct medium *md, size_t n)
{
	bool ok = true;

	W(xmlTextWriterStartElement(x, BAD_CAST "MediaRegistry"));
	for (int dvd = 0; dvd < 2; dvd++) {
		bool open = false;

		for (size_t i = 0; i < n; i++) {
			if (!md[i].m || !md[i].uuid[0] || (md[i].d->kind == VIMG_DEV_CDROM) != dvd)
				continue;
			if (!open)
				W(xmlTextWriterStartElement(
				    x, BAD_CAST(dvd ? "DVDImages" : "HardDisks")));
			open = true;
			W(xmlTextWriterStartElement(x, BAD_CAST(dvd ? "Image" : "HardDisk")));
			W(xmlTextWriterWriteAttribute(x, BAD_CAST "uuid", BAD_CAST md[i].uuid));
			W(xmlTextWriterWriteAttribute(x, BAD_CAST "location",
						      BAD_CAST md[i].d->file));
			if (!dvd) {
				const char *mode = md[i].d->mode ? md[i].d->mode : "";

				W(xmlTextWriterWriteAttribute(x, BAD_CAST "format",
							      BAD_CAST md[i].format));
				/* Independent disks stay out of snapshots: VirtualBox's
				 * Writethrough; nonpersistent ones are Immutable. */
				W(xmlTextWriterWriteAttribute(
				    x, BAD_CAST "type",
				    BAD_CAST(!strcasecmp(mode, "independent-persistent")
						 ? "Writethrough"
					     : !strcasecmp(mode, "independent-nonpersistent")
						 ? "Immutable"
						 : "Normal")));
			}
			W(xmlTextWriterEndElement(x));
		}
		if (open)
			W(xmlTextWriterEndElement(x));
	}
	W(xmlTextWriterEndElement(x));
	return ok;
}

static bool write_storage(xmlTextWriterPtr x, struct medium *md, size_t n)
{
	bool ok = true;

	W(xmlTextWriterStartElement(x, BAD_CAST "StorageControllers"));
	for (size_t i = 0; i < n; i++) {
		unsigned ports = 1;
		bool first = md[i].m != NULL;

		/* One VirtualBox controller per type, where its first drive comes. */
		for (size_t j = 0; first && j < i; j++)
			first = !md[j].m || strcmp(md[j].m->vbox, md[i].m->vbox);
		if (!first)
			continue;
		for (size_t j = i; j < n; j++)
			if (md[j].m && !strcmp(md[j].m->vbox, md[i].m->vbox) && md[j].port >= ports)
				ports = md[j].port + 1;
		W(xmlTextWriterStartElement(x, BAD_CAST "StorageController"));
		W(xmlTextWriterWriteAttribute(x, BAD_CAST "name", BAD_CAST md[i].m->vbox));
		W(xmlTextWriterWriteAttribute(x, BAD_CAST "type", BAD_CAST md[i].m->vbox));
		W(xmlTextWriterWriteFormatAttribute(x, BAD_CAST "PortCount", "%u",
						    !strcmp(md[i].m->vbox, "PIIX4") ? 2 : ports));
		W(xmlTextWriterWriteAttribute(x, BAD_CAST "useHostIOCache", BAD_CAST "false"));
		W(xmlTextWriterWriteAttribute(x, BAD_CAST "Bootable", BAD_CAST "true"));
		for (size_t j = i; j < n; j++) {
			if (!md[j].m || strcmp(md[j].m->vbox, md[i].m->vbox))
				continue;
			W(xmlTextWriterStartElement(x, BAD_CAST "AttachedDevice"));
			W(xmlTextWriterWriteAttribute(
			    x, BAD_CAST "type",
			    BAD_CAST(md[j].d->kind == VIMG_DEV_CDROM ? "DVD" : "HardDisk")));
			W(xmlTextWriterWriteFormatAttribute(x, BAD_CAST "port", "%u", md[j].port));
			W(xmlTextWriterWriteFormatAttribute(x, BAD_CAST "device", "%u",
							    md[j].device));
			if (md[j].uuid[0]) {
				W(xmlTextWriterStartElement(x, BAD_CAST "Image"));
				W(xmlTextWriterWriteAttribute(x, BAD_CAST "uuid",
							      BAD_CAST md[j].uuid));
				W(xmlTextWriterEndElement(x));
			}
			W(xmlTextWriterEndElement(x));
		}
		W(xmlTextWriterEndElement(x));
	}
	W(xmlTextWriterEndElement(x));
	return ok;
}

static bool write_nics(xmlTextWriterPtr x, struct vimg_vm *vm, struct vimg_warnings **w)
{
	bool ok = true;

	W(xmlTextWriterStartElement(x, BAD_CAST "Network"));
	for (size_t i = 0; i < vm->n_nics; i++) {
		const struct vimg_vm_nic *n = &vm->nics[i];
		const struct vmmap_nic *m = vmmap_nic_by_vmx(n->model ? n->model : "e1000");
		const struct vmmap_nic *back = m ? vmmap_nic_by_vbox(m->vbox) : NULL;
		uint8_t mac[6];
		char key[32], text[13];

		snprintf(key, sizeof(key), "ethernet%u", n->index);
		if (i >= 8) {
			/* The ICH9 chipset takes 36, PIIX3 (the default) 8. */
			warnings_add(w, key,
				     "VirtualBox's PIIX3 machine has 8 network adapters: "
				     "this one is left out");
			continue;
		}
		if (!m)
			warnings_add(w, key,
				     "NIC model \"%s\" is unknown to VirtualBox: 82540EM "
				     "(e1000)",
				     n->model);
		else if (back && strcasecmp(back->vmx, m->vmx))
			warnings_add(w, key,
				     "NIC model %s becomes VirtualBox's %s (read back as %s)",
				     m->vmx, m->vbox, back->vmx);
		if (!n->mac || !id_mac_parse(n->mac, mac)) {
			/* VirtualBox's own range, as it generates them. */
			mac[0] = 0x08, mac[1] = 0x00, mac[2] = 0x27;
			id_random_bytes(mac + 3, 3);
			warnings_add(w, key,
				     "no MAC address yet: VirtualBox's %02X:%02X:%02X:%02X:"
				     "%02X:%02X is given",
				     mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
		}
		snprintf(text, sizeof(text), "%02X%02X%02X%02X%02X%02X", mac[0], mac[1], mac[2],
			 mac[3], mac[4], mac[5]);
		if (n->network || (n->connection && strcasecmp(n->connection, "nat")))
			warnings_add(w, key, "the network \"%s\" becomes VirtualBox's NAT",
				     n->network ? n->network : n->connection);
		W(xmlTextWriterStartElement(x, BAD_CAST "Adapter"));
		W(xmlTextWriterWriteFormatAttribute(x, BAD_CAST "slot", "%zu", i));
		W(xmlTextWriterWriteAttribute(x, BAD_CAST "enabled", BAD_CAST "true"));
		W(xmlTextWriterWriteAttribute(x, BAD_CAST "MACAddress", BAD_CAST text));
		W(xmlTextWriterWriteAttribute(x, BAD_CAST "cable",
					      BAD_CAST(n->start_connected ? "true" : "false")));
		W(xmlTextWriterWriteAttribute(x, BAD_CAST "type",
					      BAD_CAST(m ? m->vbox : "82540EM")));
		W(xmlTextWriterWriteElement(x, BAD_CAST "NAT", NULL));
		W(xmlTextWriterEndElement(x));
	}
	W(xmlTextWriterEndElement(x));
	return ok;
}

/* The rest of the hardware: USB controllers and sound; what has no element is
 * reported. */
static bool write_other(xmlTextWriterPtr x, struct vimg_vm *vm, struct vimg_warnings **w)
{
	bool ok = true;

	if (vm->usb) {
		W(xmlTextWriterStartElement(x, BAD_CAST "USB"));
		W(xmlTextWriterStartElement(x, BAD_CAST "Controllers"));
		W(xmlTextWriterStartElement(x, BAD_CAST "Controller"));
		W(xmlTextWriterWriteAttribute(x, BAD_CAST "name", BAD_CAST "OHCI"));
		W(xmlTextWriterWriteAttribute(x, BAD_CAST "type", BAD_CAST "OHCI"));
		W(xmlTextWriterEndElement(x));
		if (vm->usb_ehci || vm->usb_xhci) {
			W(xmlTextWriterStartElement(x, BAD_CAST "Controller"));
			W(xmlTextWriterWriteAttribute(x, BAD_CAST "name",
						      BAD_CAST(vm->usb_xhci ? "xHCI" : "EHCI")));
			W(xmlTextWriterWriteAttribute(x, BAD_CAST "type",
						      BAD_CAST(vm->usb_xhci ? "XHCI" : "EHCI")));
			W(xmlTextWriterEndElement(x));
		}
		W(xmlTextWriterEndElement(x));
		W(xmlTextWriterEndElement(x));
	}
	if (vm->sound) {
		/* Intel HD Audio: Windows and Linux drive it; the host side is
		 * VirtualBox's choice on a Linux host. */
		W(xmlTextWriterStartElement(x, BAD_CAST "AudioAdapter"));
		W(xmlTextWriterWriteAttribute(x, BAD_CAST "controller", BAD_CAST "HDA"));
		W(xmlTextWriterWriteAttribute(x, BAD_CAST "driver", BAD_CAST "Pulse"));
		W(xmlTextWriterWriteAttribute(x, BAD_CAST "enabled", BAD_CAST "true"));
		W(xmlTextWriterWriteAttribute(x, BAD_CAST "enabledOut", BAD_CAST "true"));
		W(xmlTextWriterEndElement(x));
		if (vm->sound_model && strcasecmp(vm->sound_model, "hdaudio"))
			warnings_add(w, "sound.virtualDev", "sound card %s becomes Intel HD Audio",
				     vm->sound_model);
	}
	for (size_t i = 0; i < vm->n_ports; i++) {
		char key[32];

		snprintf(key, sizeof(key), "%s%u",
			 vm->ports[i].kind == VIMG_PORT_SERIAL ? "serial" : "parallel",
			 vm->ports[i].index);
		warnings_add(w, key, "%s ports are left out",
			     vm->ports[i].kind == VIMG_PORT_SERIAL ? "serial" : "parallel");
	}
	return ok;
}

static bool write_hardware(xmlTextWriterPtr x, struct vimg_vm *vm, struct medium *md, size_t n,
			   struct vimg_warnings **w)
{
	unsigned cpus = vm->cpus ? vm->cpus : 1;
	uint64_t mb = vm->memory_mb;
	bool ok = true;

	W(xmlTextWriterStartElement(x, BAD_CAST "Hardware"));
	if (cpus > 64) {
		warnings_add(w, "numvcpus", "VirtualBox takes at most 64 CPUs, not %u", cpus);
		cpus = 64;
	}
	if (vm->cores_per_socket > 1)
		warnings_add(w, "cpuid.coresPerSocket",
			     "VirtualBox has no CPU topology: the guest "
			     "sees %u single-core sockets",
			     cpus);
	W(xmlTextWriterStartElement(x, BAD_CAST "CPU"));
	W(xmlTextWriterWriteFormatAttribute(x, BAD_CAST "count", "%u", cpus));
	W(xmlTextWriterEndElement(x));
	if (mb < 4 || mb > 2097152) {
		warnings_add(w, "memsize", "%llu MiB is outside VirtualBox's 4 MiB to 2 TiB: %s",
			     (unsigned long long)mb, mb < 4 ? "4 MiB" : "2 TiB");
		mb = mb < 4 ? 4 : 2097152;
	}
	W(xmlTextWriterStartElement(x, BAD_CAST "Memory"));
	W(xmlTextWriterWriteFormatAttribute(x, BAD_CAST "RAMSize", "%llu", (unsigned long long)mb));
	W(xmlTextWriterEndElement(x));
	if (vm->firmware == VIMG_FIRMWARE_EFI) {
		W(xmlTextWriterStartElement(x, BAD_CAST "Firmware"));
		W(xmlTextWriterWriteAttribute(x, BAD_CAST "type", BAD_CAST "EFI"));
		W(xmlTextWriterEndElement(x));
		/* VirtualBox keeps Secure Boot in its .nvram, which vimg does not write. */
		if (vm->secure_boot)
			warnings_add(w, "uefi.secureBoot.enabled",
				     "VirtualBox enables Secure Boot "
				     "in its own variable store: it starts disabled");
	}
	ok = ok && write_nics(x, vm, w) && write_other(x, vm, w) && write_storage(x, md, n);
	W(xmlTextWriterEndElement(x));
	return ok;
}

static bool write_machine(xmlTextWriterPtr x, struct vimg_vm *vm, struct medium *md, size_t n,
			  struct vimg_warnings **w)
{
	const struct vmmap_guest_os *os = vmmap_guest_os_by_vmx(vm->guest_os);
	uint8_t u[16];
	char uuid[40], t[37];
	bool ok = true;

	if (!vm->uuid_bios || !id_vmware_uuid_parse(vm->uuid_bios, u))
		id_uuid_random(u);
	id_uuid_format(u, t);
	snprintf(uuid, sizeof(uuid), "{%s}", t);
	if (!os && vm->guest_os)
		warnings_add(w, "guestOS", "\"%s\" has no VirtualBox OSType: Other", vm->guest_os);
	W(xmlTextWriterStartElement(x, BAD_CAST "Machine"));
	W(xmlTextWriterWriteAttribute(x, BAD_CAST "uuid", BAD_CAST uuid));
	W(xmlTextWriterWriteAttribute(x, BAD_CAST "name",
				      BAD_CAST(vm->name && *vm->name ? vm->name : vm->base)));
	W(xmlTextWriterWriteAttribute(x, BAD_CAST "OSType",
				      BAD_CAST(os && os->vbox ? os->vbox : "Other")));
	W(xmlTextWriterWriteAttribute(x, BAD_CAST "snapshotFolder", BAD_CAST "Snapshots"));
	ok = ok && write_registry(x, md, n);
	if (vm->annotation && *vm->annotation)
		W(xmlTextWriterWriteElement(x, BAD_CAST "Description", BAD_CAST vm->annotation));
	ok = ok && write_hardware(x, vm, md, n, w);
	W(xmlTextWriterEndElement(x));
	return ok;
}

static int vbox_save(struct vimg_vm *vm, const char *path, struct vimg_warnings **w,
		     struct vimg_error *err)
{
	struct medium *md = calloc(vm->n_disks + 1, sizeof(*md));
	xmlBufferPtr buf = NULL;
	xmlTextWriterPtr x = md ? xmlvm_writer(&buf) : NULL;
	bool ok = x != NULL;
	size_t n = 0;

	for (size_t i = 0; ok && i < vm->n_disks; i++) {
		const struct vimg_vm_disk *d = &vm->disks[i];

		if (d->kind == VIMG_DEV_DISK && (!d->file || !*d->file)) {
			warnings_add(w, d->node, "a disk without a file is left out");
			continue;
		}
		md[n].d = d;
		if (d->kind == VIMG_DEV_DISK) {
			disk_identity(vm, &md[n], w);
		} else if (d->file && *d->file) {
			uint8_t u[16];
			char t[37];

			id_guid_random(u);
			id_guid_format(u, false, t);
			snprintf(md[n].uuid, sizeof(md[n].uuid), "{%s}", t);
		}
		n++;
	}
	if (ok)
		place(vm, md, n, w);
	if (x) {
		W(xmlTextWriterStartDocument(x, NULL, NULL, NULL));
		W(xmlTextWriterStartElement(x, BAD_CAST "VirtualBox"));
		W(xmlTextWriterWriteAttribute(x, BAD_CAST "xmlns",
					      BAD_CAST "http://www.virtualbox.org/"));
		W(xmlTextWriterWriteAttribute(x, BAD_CAST "version", BAD_CAST "1.19-linux"));
		ok = ok && write_machine(x, vm, md, n, w);
	}
	free(md);
	return xmlvm_save(x, buf, ok, path, "vbox", err);
}

/* The root element, with either namespace VirtualBox has written. */
static int vbox_probe(const struct vimg_probe *p)
{
	if (!memmem(p->head, p->head_len, "<VirtualBox", 11))
		return 0;
	return memmem(p->head, p->head_len, "http://www.virtualbox.org/", 26) ||
		       memmem(p->head, p->head_len, "http://www.innotek.de/VirtualBox-settings", 41)
		   ? 90
		   : 0;
}

const struct vimg_codec vimg_codec_vbox = {
    .name = "vbox",
    .description = "VirtualBox machine settings (.vbox)",
    .extensions = vbox_ext,
    .probe = vbox_probe,
    .load = vbox_load,
    .save = vbox_save,
};
