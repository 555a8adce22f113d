/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvirt domain XML (type kvm), read in libvirt-read.c, written here from
 * the VM model with libxml2's writer so that every name and path is escaped. The conversion has already
 * put the model where KVM can take it (disks converted and on a bus the
 * guest boots from, NIC models with drivers, the EFI variables exported to
 * an OVMF store); this file only names it as libvirt does. Disk sources are
 * absolute paths, as virsh define needs them. What libvirt has no element
 * for goes to the warnings.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vmmap.h"
#include "xmlvm.h"

static const char *const libvirt_ext[] = { ".xml", NULL };

/* The image format of a converted disk or of media, from its name. */
static const char *driver_type(const char *file)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{ ".qcow2", "qcow2" }, { ".vmdk", "vmdk" }, { ".vhdx", "vhdx" },
		{ ".vhd", "vpc" },     { ".vdi", "vdi" },   { ".raw", "raw" },
		{ ".img", "raw" },     { ".iso", "raw" },
	};
	size_t l = strlen(file);

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		size_t e = strlen(types[i].ext);

		if (l > e && !strcasecmp(file + l - e, types[i].ext))
			return types[i].type;
	}
	return "raw";
}

/* "sda", "hdb", "vdc", "nvme0n1"... in the order the disks come. */
static void target_dev(const char *bus, unsigned n, char *out, size_t len)
{
	const char *prefix = !strcmp(bus, "ide") ? "hd" : !strcmp(bus, "virtio") ? "vd" : "sd";

	if (n < 26)
		snprintf(out, len, "%s%c", prefix, 'a' + n);
	else
		snprintf(out, len, "%s%c%c", prefix, 'a' + n / 26 - 1, 'a' + n % 26);
}

static bool write_disks(xmlTextWriterPtr x, struct vimg_vm *vm, struct vimg_warnings **w)
{
	static const char *const buses[] = { "sata", "ide", "scsi", "virtio", "nvme", "fdc" };
	unsigned count[sizeof(buses) / sizeof(buses[0])] = { 0 };
	bool ok = true, scsi_model = false;

	for (size_t i = 0; i < vm->n_disks; i++) {
		const struct vimg_vm_disk *d = &vm->disks[i];
		const struct vimg_vm_controller *c = vm_controller_of(vm, d);
		const struct vmmap_controller *m = c ? vmmap_controller(c->type, c->model) : NULL;
		const char *bus = d->kind == VIMG_DEV_FLOPPY ? "fdc" : m ? m->libvirt_bus : "sata";
		char dev[16], *path = NULL;
		size_t b;

		if ((!d->file || !*d->file) && d->kind == VIMG_DEV_DISK) {
			warnings_add(w, d->node, "a disk without a file is left out");
			continue;
		}
		if (d->kind == VIMG_DEV_FLOPPY) {
			warnings_add(w, d->node, "q35 machines have no floppy controller: the "
				     "floppy drive is left out");
			continue;
		}
		for (b = 0; strcmp(buses[b], bus); b++)
			;
		if (m && m->libvirt_model)
			scsi_model = true;
		target_dev(bus, count[b]++, dev, sizeof(dev));
		if (d->file && (d->file[0] == '/' || vm_resolve(vm, d->file, &path, NULL)))
			path = strdup(d->file);
		W(xmlTextWriterStartElement(x, BAD_CAST "disk"));
		W(xmlTextWriterWriteAttribute(x, BAD_CAST "type", BAD_CAST "file"));
		W(xmlTextWriterWriteAttribute(x, BAD_CAST "device",
					      BAD_CAST(d->kind == VIMG_DEV_CDROM ? "cdrom" : "disk")));
		W(xmlTextWriterStartElement(x, BAD_CAST "driver"));
		W(xmlTextWriterWriteAttribute(x, BAD_CAST "name", BAD_CAST "qemu"));
		W(xmlTextWriterWriteAttribute(x, BAD_CAST "type",
					      BAD_CAST(d->file ? driver_type(d->file) : "raw")));
		W(xmlTextWriterEndElement(x));
		/* An empty drive keeps its place for media inserted later. */
		if (path) {
			W(xmlTextWriterStartElement(x, BAD_CAST "source"));
			W(xmlTextWriterWriteAttribute(x, BAD_CAST "file", BAD_CAST path));
			W(xmlTextWriterEndElement(x));
		}
		W(xmlTextWriterStartElement(x, BAD_CAST "target"));
		W(xmlTextWriterWriteAttribute(x, BAD_CAST "dev", BAD_CAST dev));
		W(xmlTextWriterWriteAttribute(x, BAD_CAST "bus", BAD_CAST bus));
		W(xmlTextWriterEndElement(x));
		if (d->kind == VIMG_DEV_CDROM)
			W(xmlTextWriterWriteElement(x, BAD_CAST "readonly", NULL));
		W(xmlTextWriterEndElement(x));
		free(path);
	}
	for (size_t i = 0; scsi_model && i < vm->n_ctrls; i++) {
		const struct vmmap_controller *m =
			vmmap_controller(vm->ctrls[i].type, vm->ctrls[i].model);

		if (vm->ctrls[i].type != VIMG_CTRL_SCSI || !m || !m->libvirt_model)
			continue;
		W(xmlTextWriterStartElement(x, BAD_CAST "controller"));
		W(xmlTextWriterWriteAttribute(x, BAD_CAST "type", BAD_CAST "scsi"));
		W(xmlTextWriterWriteFormatAttribute(x, BAD_CAST "index", "%u", vm->ctrls[i].bus));
		W(xmlTextWriterWriteAttribute(x, BAD_CAST "model", BAD_CAST m->libvirt_model));
		W(xmlTextWriterEndElement(x));
	}
	return ok;
}

static bool write_nics(xmlTextWriterPtr x, struct vimg_vm *vm, struct vimg_warnings **w)
{
	bool ok = true;

	for (size_t i = 0; i < vm->n_nics; i++) {
		const struct vimg_vm_nic *n = &vm->nics[i];
		const struct vmmap_nic *m = vmmap_nic_by_vmx(n->model ? n->model : "e1000");
		char key[32];

		snprintf(key, sizeof(key), "ethernet%u", n->index);
		W(xmlTextWriterStartElement(x, BAD_CAST "interface"));
		W(xmlTextWriterWriteAttribute(x, BAD_CAST "type", BAD_CAST "network"));
		if (n->mac) {
			W(xmlTextWriterStartElement(x, BAD_CAST "mac"));
			W(xmlTextWriterWriteAttribute(x, BAD_CAST "address", BAD_CAST n->mac));
			W(xmlTextWriterEndElement(x));
		}
		W(xmlTextWriterStartElement(x, BAD_CAST "source"));
		W(xmlTextWriterWriteAttribute(x, BAD_CAST "network", BAD_CAST "default"));
		W(xmlTextWriterEndElement(x));
		if (n->connection || n->network)
			warnings_add(w, key, "VMware's network \"%s\" becomes libvirt's \"default\"",
				     n->network ? n->network : n->connection);
		W(xmlTextWriterStartElement(x, BAD_CAST "model"));
		W(xmlTextWriterWriteAttribute(x, BAD_CAST "type",
					      BAD_CAST(m ? m->libvirt : "e1000")));
		W(xmlTextWriterEndElement(x));
		if (!m)
			warnings_add(w, key, "NIC model \"%s\" is unknown to libvirt: e1000",
				     n->model);
		if (!n->start_connected) {
			W(xmlTextWriterStartElement(x, BAD_CAST "link"));
			W(xmlTextWriterWriteAttribute(x, BAD_CAST "state", BAD_CAST "down"));
			W(xmlTextWriterEndElement(x));
		}
		W(xmlTextWriterEndElement(x));
	}
	return ok;
}

static bool write_ports(xmlTextWriterPtr x, struct vimg_vm *vm, struct vimg_warnings **w)
{
	bool ok = true;
	unsigned serial = 0;

	for (size_t i = 0; i < vm->n_ports; i++) {
		const struct vimg_vm_port *p = &vm->ports[i];
		char key[32];

		snprintf(key, sizeof(key), "%s%u", p->kind == VIMG_PORT_SERIAL ? "serial" : "parallel",
			 p->index);
		if (p->kind != VIMG_PORT_SERIAL) {
			warnings_add(w, key, "parallel ports are left out");
			continue;
		}
		bool file = p->type && !strcasecmp(p->type, "file") && p->target;

		if (p->type && !file)
			warnings_add(w, key, "a serial port of type \"%s\" becomes a pty", p->type);
		W(xmlTextWriterStartElement(x, BAD_CAST "serial"));
		W(xmlTextWriterWriteAttribute(x, BAD_CAST "type", BAD_CAST(file ? "file" : "pty")));
		if (file) {
			W(xmlTextWriterStartElement(x, BAD_CAST "source"));
			W(xmlTextWriterWriteAttribute(x, BAD_CAST "path", BAD_CAST p->target));
			W(xmlTextWriterEndElement(x));
		}
		W(xmlTextWriterStartElement(x, BAD_CAST "target"));
		W(xmlTextWriterWriteFormatAttribute(x, BAD_CAST "port", "%u", serial++));
		W(xmlTextWriterEndElement(x));
		W(xmlTextWriterEndElement(x));
	}
	return ok;
}

static bool write_os(xmlTextWriterPtr x, struct vimg_vm *vm)
{
	const struct vmmap_firmware *fw = vmmap_firmware(vm->firmware == VIMG_FIRMWARE_EFI,
							 vm->secure_boot);
	char *nvram = NULL;
	bool ok = true;

	W(xmlTextWriterStartElement(x, BAD_CAST "os"));
	W(xmlTextWriterStartElement(x, BAD_CAST "type"));
	W(xmlTextWriterWriteAttribute(x, BAD_CAST "arch", BAD_CAST "x86_64"));
	W(xmlTextWriterWriteAttribute(x, BAD_CAST "machine", BAD_CAST fw->machine));
	W(xmlTextWriterWriteString(x, BAD_CAST "hvm"));
	W(xmlTextWriterEndElement(x));
	if (fw->efi) {
		W(xmlTextWriterStartElement(x, BAD_CAST "loader"));
		W(xmlTextWriterWriteAttribute(x, BAD_CAST "readonly", BAD_CAST "yes"));
		W(xmlTextWriterWriteAttribute(x, BAD_CAST "secure",
					      BAD_CAST(fw->secure_boot ? "yes" : "no")));
		W(xmlTextWriterWriteAttribute(x, BAD_CAST "type", BAD_CAST "pflash"));
		W(xmlTextWriterWriteString(x, BAD_CAST fw->ovmf_code));
		W(xmlTextWriterEndElement(x));
		W(xmlTextWriterStartElement(x, BAD_CAST "nvram"));
		W(xmlTextWriterWriteAttribute(x, BAD_CAST "template", BAD_CAST fw->ovmf_vars));
		if (vm->nvram && vm_resolve(vm, vm->nvram, &nvram, NULL) == 0)
			W(xmlTextWriterWriteString(x, BAD_CAST nvram));
		W(xmlTextWriterEndElement(x));
		free(nvram);
	}
	W(xmlTextWriterStartElement(x, BAD_CAST "boot"));
	W(xmlTextWriterWriteAttribute(x, BAD_CAST "dev", BAD_CAST "hd"));
	W(xmlTextWriterEndElement(x));
	W(xmlTextWriterEndElement(x));
	W(xmlTextWriterStartElement(x, BAD_CAST "features"));
	W(xmlTextWriterWriteElement(x, BAD_CAST "acpi", NULL));
	W(xmlTextWriterWriteElement(x, BAD_CAST "apic", NULL));
	if (fw->secure_boot) {
		W(xmlTextWriterStartElement(x, BAD_CAST "smm"));
		W(xmlTextWriterWriteAttribute(x, BAD_CAST "state", BAD_CAST "on"));
		W(xmlTextWriterEndElement(x));
	}
	W(xmlTextWriterEndElement(x));
	return ok;
}

static bool write_identity(xmlTextWriterPtr x, struct vimg_vm *vm, struct vimg_warnings **w)
{
	const struct vmmap_guest_os *os = vmmap_guest_os_by_vmx(vm->guest_os);
	uint8_t u[16];
	char uuid[37];
	bool ok = true;

	W(xmlTextWriterWriteElement(x, BAD_CAST "name", BAD_CAST(vm->name ? vm->name : vm->base)));
	if (vm->uuid_bios && id_vmware_uuid_parse(vm->uuid_bios, u)) {
		id_uuid_format(u, uuid);
		W(xmlTextWriterWriteElement(x, BAD_CAST "uuid", BAD_CAST uuid));
	}
	if (vm->annotation && *vm->annotation)
		W(xmlTextWriterWriteElement(x, BAD_CAST "description", BAD_CAST vm->annotation));
	if (os && os->osinfo) {
		W(xmlTextWriterStartElement(x, BAD_CAST "metadata"));
		W(xmlTextWriterStartElementNS(x, BAD_CAST "libosinfo", BAD_CAST "libosinfo",
					      BAD_CAST "http://libosinfo.org/xmlns/libvirt/domain/1.0"));
		W(xmlTextWriterStartElementNS(x, BAD_CAST "libosinfo", BAD_CAST "os", NULL));
		W(xmlTextWriterWriteAttribute(x, BAD_CAST "id", BAD_CAST os->osinfo));
		W(xmlTextWriterEndElement(x));
		W(xmlTextWriterEndElement(x));
		W(xmlTextWriterEndElement(x));
	} else if (vm->guest_os) {
		warnings_add(w, "guestOS", "\"%s\" has no libosinfo id: the domain names no OS",
			     vm->guest_os);
	}
	/* In KiB, libvirt's default unit: virt-v2v reads the number as KiB
	 * whatever the unit says. */
	W(xmlTextWriterStartElement(x, BAD_CAST "memory"));
	W(xmlTextWriterWriteAttribute(x, BAD_CAST "unit", BAD_CAST "KiB"));
	W(xmlTextWriterWriteFormatString(x, "%llu", (unsigned long long)vm->memory_mb * 1024));
	W(xmlTextWriterEndElement(x));
	W(xmlTextWriterWriteFormatElement(x, BAD_CAST "vcpu", "%u", vm->cpus));
	W(xmlTextWriterStartElement(x, BAD_CAST "cpu"));
	W(xmlTextWriterWriteAttribute(x, BAD_CAST "mode", BAD_CAST "host-model"));
	if (vm->cores_per_socket > 1 && vm->cpus % vm->cores_per_socket == 0) {
		W(xmlTextWriterStartElement(x, BAD_CAST "topology"));
		W(xmlTextWriterWriteFormatAttribute(x, BAD_CAST "sockets", "%u",
						    vm->cpus / vm->cores_per_socket));
		W(xmlTextWriterWriteAttribute(x, BAD_CAST "dies", BAD_CAST "1"));
		W(xmlTextWriterWriteFormatAttribute(x, BAD_CAST "cores", "%u",
						    vm->cores_per_socket));
		W(xmlTextWriterWriteAttribute(x, BAD_CAST "threads", BAD_CAST "1"));
		W(xmlTextWriterEndElement(x));
	}
	W(xmlTextWriterEndElement(x));
	return ok;
}

static int libvirt_save(struct vimg_vm *vm, const char *path, struct vimg_warnings **w,
			struct vimg_error *err)
{
	const struct vmmap_guest_os *os = vmmap_guest_os_by_vmx(vm->guest_os);
	xmlBufferPtr buf;
	xmlTextWriterPtr x = xmlvm_writer(&buf);
	bool ok = x != NULL;

	if (x) {
		W(xmlTextWriterStartElement(x, BAD_CAST "domain"));
		W(xmlTextWriterWriteAttribute(x, BAD_CAST "type", BAD_CAST "kvm"));
		ok = ok && write_identity(x, vm, w) && write_os(x, vm);
		W(xmlTextWriterStartElement(x, BAD_CAST "clock"));
		/* Windows keeps the RTC in local time. */
		W(xmlTextWriterWriteAttribute(x, BAD_CAST "offset",
					      BAD_CAST(os && os->windows ? "localtime" : "utc")));
		W(xmlTextWriterEndElement(x));
		W(xmlTextWriterStartElement(x, BAD_CAST "devices"));
		ok = ok && write_disks(x, vm, w) && write_nics(x, vm, w) && write_ports(x, vm, w);
		W(xmlTextWriterStartElement(x, BAD_CAST "input"));
		W(xmlTextWriterWriteAttribute(x, BAD_CAST "type", BAD_CAST "tablet"));
		W(xmlTextWriterWriteAttribute(x, BAD_CAST "bus", BAD_CAST "usb"));
		W(xmlTextWriterEndElement(x));
		W(xmlTextWriterStartElement(x, BAD_CAST "graphics"));
		W(xmlTextWriterWriteAttribute(x, BAD_CAST "type", BAD_CAST "vnc"));
		W(xmlTextWriterEndElement(x));
		W(xmlTextWriterStartElement(x, BAD_CAST "video"));
		W(xmlTextWriterStartElement(x, BAD_CAST "model"));
		W(xmlTextWriterWriteAttribute(x, BAD_CAST "type", BAD_CAST "vga"));
		W(xmlTextWriterEndElement(x));
		W(xmlTextWriterEndElement(x));
		if (vm->sound) {
			W(xmlTextWriterStartElement(x, BAD_CAST "sound"));
			W(xmlTextWriterWriteAttribute(x, BAD_CAST "model", BAD_CAST "ich9"));
			W(xmlTextWriterEndElement(x));
		}
	}
	return xmlvm_save(x, buf, ok, path, "libvirt", err);
}

static int libvirt_probe(const struct vimg_probe *p)
{
	const char *d = memmem(p->head, p->head_len, "<domain", 7);

	return d && memmem(p->head, p->head_len, "type=", 5) ? 80 : 0;
}

const struct vimg_codec vimg_codec_libvirt = {
	.name = "libvirt",
	.description = "libvirt domain XML (KVM)",
	.extensions = libvirt_ext,
	.probe = libvirt_probe,
	.load = libvirt_load,
	.save = libvirt_save,
};
