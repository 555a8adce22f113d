/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvirt domain XML read into the VM model: identity, memory, vCPUs and
 * topology, firmware (a pflash loader or firmware="efi", secure="yes"), the
 * per-VM nvram store, disks and CD-ROMs by bus, NICs with their MACs and
 * models, serial ports, sound. Names are translated to the model's through
 * the mapping tables. The document is bounded (1 MiB) and parsed without
 * network access, DTDs or entity expansion.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vmmap.h"
#include "xmlvm.h"

#define DOMAIN_MAX_BYTES (1u << 20)

static int set_xml(char **field, char *v, struct vimg_error *err)
{
	int rc = v ? vm_set_str(field, v, err) : 0;

	xmlFree(v);
	return rc;
}

/* libvirt's memory units (KiB when none is given). */
static int memory_mb(const xmlNode *n, uint64_t *mb, struct vimg_error *err)
{
	static const struct {
		const char *unit;
		uint64_t bytes;
	} units[] = {
		{ "b", 1 },	     { "bytes", 1 },	  { "KB", 1000 },     { "k", 1024 },
		{ "KiB", 1024 },     { "MB", 1000000 },	  { "M", 1 << 20 },   { "MiB", 1 << 20 },
		{ "GB", 1000000000 }, { "G", 1 << 30 },	  { "GiB", 1 << 30 },
		{ "T", 1ull << 40 }, { "TiB", 1ull << 40 },
	};
	char *u = xmlvm_attr(n, "unit"), *v = xmlvm_text(n), *end;
	unsigned long long x = v ? strtoull(v, &end, 10) : 0;
	uint64_t scale = 0;

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcmp(u ? u : "KiB", units[i].unit))
			scale = units[i].bytes;
	xmlFree(u);
	if (!v || end == v || *end || !scale || x > (1ull << 50) / scale) {
		xmlFree(v);
		return vimg_error_set(err, VIMG_ECORRUPT, "libvirt: <memory> is not a size");
	}
	xmlFree(v);
	*mb = (uint64_t)x * scale >> 20;
	return 0;
}

static const struct {
	const char *bus, *ctrl;
	enum vimg_controller_type type;
} buses[] = {
	{ "sata", "sata", VIMG_CTRL_SATA }, { "ide", "ide", VIMG_CTRL_IDE },
	{ "scsi", "scsi", VIMG_CTRL_SCSI }, { "virtio", "virtio", VIMG_CTRL_VIRTIO },
	{ "nvme", "nvme", VIMG_CTRL_NVME },
};

/* The controller a disk on `bus` hangs off, added on first use. */
static int bus_controller(struct vimg_vm *vm, size_t b, unsigned index, const char *model,
			  char *id, size_t idlen, struct vimg_error *err)
{
	snprintf(id, idlen, "%s%u", buses[b].ctrl, index);
	for (size_t i = 0; i < vm->n_ctrls; i++)
		if (!strcmp(vm->ctrls[i].id, id))
			return 0;
	if (vm_grow((void **)&vm->ctrls, vm->n_ctrls, sizeof(*vm->ctrls), "libvirt", err))
		return -1;
	vm->ctrls[vm->n_ctrls] = (struct vimg_vm_controller){ .type = buses[b].type,
							       .id = strdup(id) };
	if (!vm->ctrls[vm->n_ctrls].id)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	vm->n_ctrls++;
	if (buses[b].type == VIMG_CTRL_SCSI)
		return vm_set_str((char **)&vm->ctrls[vm->n_ctrls - 1].model,
				  model ? model : "lsilogic", err);
	return 0;
}

static int read_disk(struct vimg_vm *vm, const xmlNode *n, const char *scsi_model,
		     unsigned *units, struct vimg_error *err)
{
	char *device = xmlvm_attr(n, "device"), *bus = xmlvm_attr(xmlvm_child(n, "target"), "bus");
	char *file = xmlvm_attr(xmlvm_child(n, "source"), "file"), id[16], node[32];
	const xmlNode *addr = xmlvm_child(n, "address");
	char *addr_type = xmlvm_attr(addr, "type"), *a_ctrl = xmlvm_attr(addr, "controller");
	char *a_bus = xmlvm_attr(addr, "bus"), *a_unit = xmlvm_attr(addr, "unit");
	unsigned index = 0, unit;
	enum vimg_device_kind kind = !device || !strcmp(device, "disk") ? VIMG_DEV_DISK
				     : !strcmp(device, "cdrom")	     ? VIMG_DEV_CDROM
				     : !strcmp(device, "floppy")     ? VIMG_DEV_FLOPPY
								     : 0;
	size_t b = 0;
	int rc = 0;

	while (b < sizeof(buses) / sizeof(buses[0]) && (!bus || strcmp(buses[b].bus, bus)))
		b++;
	if (!kind || kind == VIMG_DEV_FLOPPY || b == sizeof(buses) / sizeof(buses[0])) {
		/* A floppy, a LUN or an unknown bus has no place in the model. */
		rc = vm_add_extra(&vm->extra, &vm->n_extra, "libvirt.disk",
				  file ? file : device ? device : "?", err);
		goto out;
	}
	/* libvirt's <address type='drive'>: IDE's bus is the channel (hdc is
	 * bus 1 unit 0, as qemuxml2xmloutdata/boot-complex shows), the other
	 * buses' controller the controller. Without one, the next unit. */
	if (addr_type && !strcmp(addr_type, "drive") && a_unit && atoi(a_unit) >= 0 &&
	    atoi(a_unit) < 64) {
		const char *ix = buses[b].type == VIMG_CTRL_IDE ? a_bus : a_ctrl;

		index = ix && atoi(ix) > 0 && atoi(ix) < 8 ? (unsigned)atoi(ix) : 0;
		unit = (unsigned)atoi(a_unit);
		if (!index && unit >= units[b])
			units[b] = unit + 1;
	} else {
		unit = units[b]++;
	}
	rc = bus_controller(vm, b, index, scsi_model, id, sizeof(id), err);
	if (!rc)
		rc = vm_grow((void **)&vm->disks, vm->n_disks, sizeof(*vm->disks), "libvirt", err);
	if (rc)
		goto out;
	snprintf(node, sizeof(node), "%s:%u", id, unit);
	vm->disks[vm->n_disks] = (struct vimg_vm_disk){
		.kind = kind, .unit = unit, .start_connected = true,
		.node = strdup(node), .controller = strdup(id),
		.file = file ? strdup(file) : NULL,
		.device_type = kind == VIMG_DEV_CDROM ? strdup("cdrom-image") : NULL,
	};
	if (!vm->disks[vm->n_disks].node || !vm->disks[vm->n_disks].controller)
		rc = vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	vm->n_disks++;
out:
	xmlFree(device);
	xmlFree(bus);
	xmlFree(file);
	xmlFree(addr_type);
	xmlFree(a_ctrl);
	xmlFree(a_bus);
	xmlFree(a_unit);
	return rc;
}

/* VMware tells its generated MACs by their prefix; a MAC from elsewhere
 * is one the user set. */
static enum vimg_mac_type mac_type(const char *mac)
{
	return mac && !strncasecmp(mac, "00:0c:29:", 9) ? VIMG_MAC_GENERATED : VIMG_MAC_STATIC;
}

static int read_nic(struct vimg_vm *vm, const xmlNode *n, struct vimg_error *err)
{
	char *mac = xmlvm_attr(xmlvm_child(n, "mac"), "address");
	char *model = xmlvm_attr(xmlvm_child(n, "model"), "type");
	char *net = xmlvm_attr(xmlvm_child(n, "source"), "network");
	char *link = xmlvm_attr(xmlvm_child(n, "link"), "state");
	const struct vmmap_nic *m = vmmap_nic_by_libvirt(model);
	int rc = vm_grow((void **)&vm->nics, vm->n_nics, sizeof(*vm->nics), "libvirt", err);

	if (!rc) {
		vm->nics[vm->n_nics] = (struct vimg_vm_nic){
			.index = (unsigned)vm->n_nics, .mac_type = mac_type(mac),
			.mac = mac ? strdup(mac) : NULL,
			.model = strdup(m ? m->vmx : "e1000"),
			.network = net ? strdup(net) : NULL,
			.start_connected = !link || strcmp(link, "down"),
		};
		vm->n_nics++;
	}
	xmlFree(mac);
	xmlFree(model);
	xmlFree(net);
	xmlFree(link);
	return rc;
}

static int read_devices(struct vimg_vm *vm, const xmlNode *devs, struct vimg_error *err)
{
	unsigned units[sizeof(buses) / sizeof(buses[0])] = { 0 };
	char *scsi_model = NULL;
	int rc = 0;

	for (const xmlNode *c = devs ? devs->children : NULL; c && !rc; c = c->next) {
		char *type;

		if (!xmlvm_named(c, "controller"))
			continue;
		type = xmlvm_attr(c, "type");
		if (type && !strcmp(type, "scsi") && !scsi_model) {
			char *model = xmlvm_attr(c, "model");
			const struct vmmap_controller *m = vmmap_controller_by_libvirt(model);

			scsi_model = m && m->model ? strdup(m->model) : NULL;
			xmlFree(model);
		}
		xmlFree(type);
	}
	for (const xmlNode *c = devs ? devs->children : NULL; c && !rc; c = c->next) {
		if (xmlvm_named(c, "disk"))
			rc = read_disk(vm, c, scsi_model, units, err);
		else if (xmlvm_named(c, "interface"))
			rc = read_nic(vm, c, err);
		else if (xmlvm_named(c, "serial") &&
			 !(rc = vm_grow((void **)&vm->ports, vm->n_ports, sizeof(*vm->ports),
					"libvirt", err)))
			vm->ports[vm->n_ports] = (struct vimg_vm_port){
				.kind = VIMG_PORT_SERIAL, .index = (unsigned)vm->n_ports,
				.start_connected = true,
			}, vm->n_ports++;
		else if (xmlvm_named(c, "sound"))
			vm->sound = true;
	}
	free(scsi_model);
	return rc;
}

static int read_os(struct vimg_vm *vm, const xmlNode *os, struct vimg_error *err)
{
	char *fw = xmlvm_attr(os, "firmware");
	char *type = xmlvm_attr(xmlvm_child(os, "loader"), "type");
	char *secure = xmlvm_attr(xmlvm_child(os, "loader"), "secure");
	int rc = set_xml(&vm->nvram, xmlvm_text(xmlvm_child(os, "nvram")), err);

	vm->firmware = (fw && !strcmp(fw, "efi")) || (type && !strcmp(type, "pflash"))
			       ? VIMG_FIRMWARE_EFI
			       : VIMG_FIRMWARE_BIOS;
	vm->secure_boot = vm->firmware == VIMG_FIRMWARE_EFI && secure && !strcmp(secure, "yes");
	xmlFree(fw);
	xmlFree(type);
	xmlFree(secure);
	return rc;
}

static int read_identity(struct vimg_vm *vm, const xmlNode *dom, struct vimg_error *err)
{
	const xmlNode *topo = xmlvm_child(xmlvm_child(dom, "cpu"), "topology");
	char *uuid = xmlvm_text(xmlvm_child(dom, "uuid"));
	char *vcpu = xmlvm_text(xmlvm_child(dom, "vcpu"));
	char *cores = xmlvm_attr(topo, "cores");
	int rc = set_xml(&vm->name, xmlvm_text(xmlvm_child(dom, "name")), err);

	if (!rc)
		rc = set_xml(&vm->annotation, xmlvm_text(xmlvm_child(dom, "description")), err);
	if (!rc && uuid) {
		uint8_t u[16];
		char s[48];

		if (id_uuid_parse(uuid, u)) {
			id_vmware_uuid_format(u, s);
			rc = vm_set_str(&vm->uuid_bios, s, err);
		}
	}
	vm->cpus = vcpu && atoi(vcpu) > 0 && atoi(vcpu) <= 4096 ? (unsigned)atoi(vcpu) : 1;
	vm->cores_per_socket = cores && atoi(cores) > 0 && atoi(cores) <= 4096 ? (unsigned)atoi(cores)
									      : 1;
	if (!rc && xmlvm_child(dom, "memory"))
		rc = memory_mb(xmlvm_child(dom, "memory"), &vm->memory_mb, err);
	xmlFree(uuid);
	xmlFree(vcpu);
	xmlFree(cores);
	return rc;
}

/* <metadata><libosinfo:libosinfo><libosinfo:os id="..."/>, in the model's ids. */
static int read_guest_os(struct vimg_vm *vm, const xmlNode *dom, struct vimg_error *err)
{
	const xmlNode *info = xmlvm_child(xmlvm_child(dom, "metadata"), "libosinfo");
	char *id = xmlvm_attr(xmlvm_child(info, "os"), "id");
	const struct vmmap_guest_os *os = vmmap_guest_os_by_osinfo(id);
	int rc = 0;

	if (os)
		rc = vm_set_str(&vm->guest_os, os->vmx, err);
	else if (id)
		rc = vm_add_extra(&vm->extra, &vm->n_extra, "libvirt.osinfo", id, err);
	xmlFree(id);
	return rc;
}

int libvirt_load(struct vimg_vm *vm, const char *path, struct vimg_error *err)
{
	xmlDoc *doc;
	const xmlNode *dom;
	int rc = xmlvm_read(path, DOMAIN_MAX_BYTES, "libvirt", &doc, err);

	if (rc)
		return rc;
	dom = xmlDocGetRootElement(doc);
	if (!xmlvm_named(dom, "domain")) {
		xmlFreeDoc(doc);
		return vimg_error_set(err, VIMG_EFORMAT, "libvirt: %s is not a domain's XML", path);
	}
	rc = read_identity(vm, dom, err);
	if (!rc)
		rc = read_guest_os(vm, dom, err);
	if (!rc)
		rc = read_os(vm, xmlvm_child(dom, "os"), err);
	if (!rc)
		rc = read_devices(vm, xmlvm_child(dom, "devices"), err);
	xmlFreeDoc(doc);
	if (!rc)
		rc = vm_loaded(vm, err);
	return rc ? vimg_error_prefix(err, "%s", path) : 0;
}
