/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * OVF 1.0 descriptors written from the VM model, in the dialect ovftool
 * and vSphere write (their importers, VirtualBox's and virt-v2v's all take
 * it): References with each file's exact size, a DiskSection with
 * capacities and allocation units, one VirtualHardwareSection whose Items
 * are CIM ResourceAllocationSettingData, VMware's settings as vmw:Config and
 * the .vmx keys the model does not hold as vmw:ExtraConfig. ovf-read.c
 * reads it back; libvimg/ova.c packs it with a manifest. What OVF has no
 * place for goes to the warnings.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <libxml/xmlwriter.h>

#include "vm.h"
#include "vmmap.h"

static const char *const ovf_ext[] = { ".ovf", ".ova", NULL };

#define W(call)                                                                                 \
	do {                                                                                    \
		if ((call) < 0)                                                                 \
			o->ok = false;                                                          \
	} while (0)

struct ovf_out {
	xmlTextWriterPtr x;
	struct vimg_vm *vm;
	const struct ovf_file *files;
	size_t n_files;
	struct vimg_warnings **w;
	unsigned instance;	/* the next InstanceID */
	bool ok;
	/* An open Item's fields: the CIM schema wants rasd: elements in
	 * alphabetical order, then the vmw: extensions. */
	bool in_item;
	struct {
		char *name, *value;
	} rasd[16];
	size_t n_rasd;
	struct {
		const char *elem, *key;
		char *value;
	} cfg[8];
	size_t n_cfg;
	unsigned cores_per_socket;
};

/* <name>printf(fmt)</name> */
static void el(struct ovf_out *o, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void el(struct ovf_out *o, const char *name, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (o->in_item && !strncmp(name, "rasd:", 5)) {
		if (o->n_rasd == sizeof(o->rasd) / sizeof(o->rasd[0]) ||
		    !(o->rasd[o->n_rasd].name = strdup(name)) ||
		    vasprintf(&o->rasd[o->n_rasd].value, fmt, ap) < 0) {
			if (o->n_rasd < sizeof(o->rasd) / sizeof(o->rasd[0]))
				free(o->rasd[o->n_rasd].name);
			o->ok = false;
		} else {
			o->n_rasd++;
		}
		va_end(ap);
		return;
	}
	if (xmlTextWriterStartElement(o->x, BAD_CAST name) < 0 ||
	    xmlTextWriterWriteVFormatString(o->x, fmt, ap) < 0 ||
	    xmlTextWriterEndElement(o->x) < 0)
		o->ok = false;
	va_end(ap);
}

static void config(struct ovf_out *o, const char *elem, const char *key, const char *value)
{
	if (o->in_item) {
		if (o->n_cfg == sizeof(o->cfg) / sizeof(o->cfg[0]) ||
		    !(o->cfg[o->n_cfg].value = strdup(value))) {
			o->ok = false;
			return;
		}
		o->cfg[o->n_cfg].elem = elem;
		o->cfg[o->n_cfg++].key = key;
		return;
	}
	W(xmlTextWriterStartElement(o->x, BAD_CAST elem));
	W(xmlTextWriterWriteAttribute(o->x, BAD_CAST "ovf:required", BAD_CAST "false"));
	W(xmlTextWriterWriteAttribute(o->x, BAD_CAST "vmw:key", BAD_CAST key));
	W(xmlTextWriterWriteAttribute(o->x, BAD_CAST "vmw:value", BAD_CAST value));
	W(xmlTextWriterEndElement(o->x));
}

/* Open an Item; its InstanceID is returned. */
static unsigned item(struct ovf_out *o, unsigned type, const char *subtype, const char *name,
		     bool optional)
{
	unsigned id = o->instance++;

	W(xmlTextWriterStartElement(o->x, BAD_CAST "Item"));
	if (optional)
		W(xmlTextWriterWriteAttribute(o->x, BAD_CAST "ovf:required", BAD_CAST "false"));
	o->in_item = true;
	el(o, "rasd:ElementName", "%s", name);
	el(o, "rasd:InstanceID", "%u", id);
	if (subtype)
		el(o, "rasd:ResourceSubType", "%s", subtype);
	el(o, "rasd:ResourceType", "%u", type);
	return id;
}

static int rasd_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Close the Item: its fields in order, then VMware's extensions. */
static void item_end(struct ovf_out *o)
{
	o->in_item = false;
	qsort(o->rasd, o->n_rasd, sizeof(o->rasd[0]), rasd_cmp);
	for (size_t i = 0; i < o->n_rasd; i++) {
		el(o, o->rasd[i].name, "%s", o->rasd[i].value);
		free(o->rasd[i].name);
		free(o->rasd[i].value);
	}
	if (o->cores_per_socket) {
		W(xmlTextWriterStartElement(o->x, BAD_CAST "vmw:CoresPerSocket"));
		W(xmlTextWriterWriteAttribute(o->x, BAD_CAST "ovf:required", BAD_CAST "false"));
		W(xmlTextWriterWriteFormatString(o->x, "%u", o->cores_per_socket));
		W(xmlTextWriterEndElement(o->x));
		o->cores_per_socket = 0;
	}
	for (size_t i = 0; i < o->n_cfg; i++) {
		config(o, o->cfg[i].elem, o->cfg[i].key, o->cfg[i].value);
		free(o->cfg[i].value);
	}
	o->n_rasd = o->n_cfg = 0;
	W(xmlTextWriterEndElement(o->x));
}

static const struct ovf_file *file_of_disk(const struct ovf_out *o, size_t disk)
{
	for (size_t i = 0; i < o->n_files; i++)
		if (o->files[i].disk == disk)
			return &o->files[i];
	return NULL;
}

static void write_references(struct ovf_out *o)
{
	W(xmlTextWriterStartElement(o->x, BAD_CAST "References"));
	for (size_t i = 0; i < o->n_files; i++) {
		W(xmlTextWriterStartElement(o->x, BAD_CAST "File"));
		W(xmlTextWriterWriteAttribute(o->x, BAD_CAST "ovf:href", BAD_CAST o->files[i].href));
		W(xmlTextWriterWriteFormatAttribute(o->x, BAD_CAST "ovf:id", "file%zu", i + 1));
		W(xmlTextWriterWriteFormatAttribute(o->x, BAD_CAST "ovf:size", "%llu",
						    (unsigned long long)o->files[i].size));
		W(xmlTextWriterEndElement(o->x));
	}
	W(xmlTextWriterEndElement(o->x));
	W(xmlTextWriterStartElement(o->x, BAD_CAST "DiskSection"));
	el(o, "Info", "Virtual disk information");
	for (size_t i = 0; i < o->n_files; i++) {
		const struct ovf_file *f = &o->files[i];
		bool mib = !(f->capacity % (1u << 20));

		if (f->disk == OVF_NOT_A_DISK)
			continue;
		W(xmlTextWriterStartElement(o->x, BAD_CAST "Disk"));
		W(xmlTextWriterWriteFormatAttribute(o->x, BAD_CAST "ovf:capacity", "%llu",
						    (unsigned long long)(mib ? f->capacity >> 20
									     : f->capacity)));
		W(xmlTextWriterWriteAttribute(o->x, BAD_CAST "ovf:capacityAllocationUnits",
					      BAD_CAST(mib ? "byte * 2^20" : "byte")));
		W(xmlTextWriterWriteFormatAttribute(o->x, BAD_CAST "ovf:diskId", "vmdisk%zu", i + 1));
		W(xmlTextWriterWriteFormatAttribute(o->x, BAD_CAST "ovf:fileRef", "file%zu", i + 1));
		W(xmlTextWriterWriteAttribute(o->x, BAD_CAST "ovf:format", BAD_CAST OVF_VMDK_STREAM));
		W(xmlTextWriterEndElement(o->x));
	}
	W(xmlTextWriterEndElement(o->x));
}

static const char *nic_network(const struct vimg_vm_nic *n)
{
	return n->network && *n->network ? n->network : "VM Network";
}

static void write_networks(struct ovf_out *o)
{
	W(xmlTextWriterStartElement(o->x, BAD_CAST "NetworkSection"));
	el(o, "Info", "The list of logical networks");
	for (size_t i = 0; i < o->vm->n_nics; i++) {
		const char *net = nic_network(&o->vm->nics[i]);
		bool seen = false;

		for (size_t j = 0; j < i; j++)
			seen |= !strcmp(nic_network(&o->vm->nics[j]), net);
		if (seen)
			continue;
		W(xmlTextWriterStartElement(o->x, BAD_CAST "Network"));
		W(xmlTextWriterWriteAttribute(o->x, BAD_CAST "ovf:name", BAD_CAST net));
		el(o, "Description", "The %s network", net);
		W(xmlTextWriterEndElement(o->x));
	}
	W(xmlTextWriterEndElement(o->x));
}

static void write_system(struct ovf_out *o)
{
	struct vimg_vm *vm = o->vm;
	const struct vmmap_guest_os *os = vmmap_guest_os_by_vmx(vm->guest_os);
	/* Hardware version 13 (ESXi 6.5, Workstation 14) when the source has
	 * none: old enough for every current importer, new enough for EFI with
	 * Secure Boot. */
	unsigned hw = vm->hw_version ? vm->hw_version : 13;
	const char *name = vm->name && *vm->name ? vm->name : vm->base;
	char cpus[48], mem[48];

	W(xmlTextWriterStartElement(o->x, BAD_CAST "VirtualSystem"));
	W(xmlTextWriterWriteAttribute(o->x, BAD_CAST "ovf:id", BAD_CAST name));
	el(o, "Info", "A virtual machine");
	el(o, "Name", "%s", name);
	if (vm->annotation && *vm->annotation) {
		W(xmlTextWriterStartElement(o->x, BAD_CAST "AnnotationSection"));
		el(o, "Info", "A human-readable annotation");
		el(o, "Annotation", "%s", vm->annotation);
		W(xmlTextWriterEndElement(o->x));
	}
	W(xmlTextWriterStartElement(o->x, BAD_CAST "OperatingSystemSection"));
	W(xmlTextWriterWriteFormatAttribute(o->x, BAD_CAST "ovf:id", "%u",
					    os && os->ovf_id ? os->ovf_id : 1));
	if (os && os->vsphere)
		W(xmlTextWriterWriteAttribute(o->x, BAD_CAST "vmw:osType", BAD_CAST os->vsphere));
	else
		warnings_add(o->w, "guestOS", "\"%s\" has no OVF operating system id: \"Other\"",
			     vm->guest_os ? vm->guest_os : "(none)");
	el(o, "Info", "The kind of installed guest operating system");
	W(xmlTextWriterEndElement(o->x));
	W(xmlTextWriterStartElement(o->x, BAD_CAST "VirtualHardwareSection"));
	el(o, "Info", "Virtual hardware requirements");
	W(xmlTextWriterStartElement(o->x, BAD_CAST "System"));
	el(o, "vssd:ElementName", "Virtual Hardware Family");
	el(o, "vssd:InstanceID", "0");
	el(o, "vssd:VirtualSystemIdentifier", "%s", name);
	el(o, "vssd:VirtualSystemType", "vmx-%02u", hw);
	W(xmlTextWriterEndElement(o->x));

	snprintf(cpus, sizeof(cpus), "%u virtual CPU(s)", vm->cpus ? vm->cpus : 1);
	item(o, 3, NULL, cpus, false);
	el(o, "rasd:AllocationUnits", "hertz * 10^6");
	el(o, "rasd:Description", "Number of Virtual CPUs");
	el(o, "rasd:VirtualQuantity", "%u", vm->cpus ? vm->cpus : 1);
	if (vm->cores_per_socket > 1)
		o->cores_per_socket = vm->cores_per_socket;
	item_end(o);
	snprintf(mem, sizeof(mem), "%lluMB of memory", (unsigned long long)vm->memory_mb);
	item(o, 4, NULL, mem, false);
	el(o, "rasd:AllocationUnits", "byte * 2^20");
	el(o, "rasd:Description", "Memory Size");
	el(o, "rasd:VirtualQuantity", "%llu", (unsigned long long)vm->memory_mb);
	item_end(o);
}

/* Controllers, then what hangs on each; the InstanceID of each controller
 * is kept in ids[] (by index in vm->ctrls). */
static void write_storage(struct ovf_out *o)
{
	struct vimg_vm *vm = o->vm;
	unsigned *ids = calloc(vm->n_ctrls + 1, sizeof(*ids));
	unsigned disk_no = 0;

	if (!ids) {
		o->ok = false;
		return;
	}
	for (size_t i = 0; i < vm->n_ctrls; i++) {
		const struct vimg_vm_controller *c = &vm->ctrls[i];
		const struct vmmap_controller *m = vmmap_controller(c->type, c->model);
		char name[48];

		if (!m || !m->ovf_type) {
			warnings_add(o->w, c->id, "OVF has no %s controller: written as SATA",
				     m && m->libvirt_bus ? m->libvirt_bus : "such");
			m = vmmap_controller(VIMG_CTRL_SATA, NULL);
		}
		snprintf(name, sizeof(name), "%s", c->id);
		/* VMware's IDE controllers carry no subtype. */
		ids[i] = item(o, m->ovf_type, m->ovf_type == 5 ? NULL : m->ovf_subtype, name, false);
		el(o, "rasd:Address", "%u", c->bus);
		item_end(o);
	}
	for (size_t i = 0; i < vm->n_disks; i++) {
		const struct vimg_vm_disk *d = &vm->disks[i];
		const struct ovf_file *f = d->kind == VIMG_DEV_DISK ? file_of_disk(o, i) : NULL;
		const struct vimg_vm_controller *ctl = vm_controller_of(vm, d);
		size_t c = ctl ? (size_t)(ctl - vm->ctrls) : vm->n_ctrls;
		char name[48];

		if (d->kind == VIMG_DEV_DISK && !f) {
			warnings_add(o->w, d->node, "a disk without a file is left out");
			continue;
		}
		if (d->kind == VIMG_DEV_FLOPPY) {
			item(o, 14, NULL, "floppy0", true);
			el(o, "rasd:AutomaticAllocation", "false");
			item_end(o);
			if (d->file)
				warnings_add(o->w, d->node, "the floppy image \"%s\" is not packaged",
					     d->file);
			continue;
		}
		if (d->kind == VIMG_DEV_DISK) {
			snprintf(name, sizeof(name), "Hard disk %u", ++disk_no);
			item(o, 17, NULL, name, false);
			el(o, "rasd:AddressOnParent", "%u", d->unit);
			el(o, "rasd:HostResource", "ovf:/disk/vmdisk%zu", (size_t)(f - o->files) + 1);
		} else {
			snprintf(name, sizeof(name), "CD/DVD drive %s", d->node);
			item(o, 15, NULL, name, true);
			el(o, "rasd:AddressOnParent", "%u", d->unit);
			el(o, "rasd:AutomaticAllocation", "false");
			if (d->file)
				warnings_add(o->w, d->node, "the CD-ROM image \"%s\" is not packaged: "
					     "the drive is left empty", d->file);
		}
		if (c < vm->n_ctrls)
			el(o, "rasd:Parent", "%u", ids[c]);
		item_end(o);
	}
	free(ids);
}

static void write_nics(struct ovf_out *o)
{
	for (size_t i = 0; i < o->vm->n_nics; i++) {
		const struct vimg_vm_nic *n = &o->vm->nics[i];
		const struct vmmap_nic *m = vmmap_nic_by_vmx(n->model ? n->model : "e1000");
		char name[32];

		snprintf(name, sizeof(name), "ethernet%u", n->index);
		if (!m || !m->ovf) {
			warnings_add(o->w, name, "OVF has no NIC model \"%s\": E1000", n->model);
			m = vmmap_nic_by_vmx("e1000");
		}
		item(o, 10, m->ovf, name, false);
		if (n->mac)
			el(o, "rasd:Address", "%s", n->mac);
		el(o, "rasd:AddressOnParent", "%u", 7 + n->index);
		el(o, "rasd:AutomaticAllocation", "%s", n->start_connected ? "true" : "false");
		el(o, "rasd:Connection", "%s", nic_network(n));
		/* Generated MACs are VMware's to replace; static ones are kept. */
		if (n->mac)
			config(o, "vmw:Config", "addressType",
			       n->mac_type == VIMG_MAC_STATIC ? "Manual" : "Generated");
		item_end(o);
	}
}

static void write_other(struct ovf_out *o)
{
	struct vimg_vm *vm = o->vm;
	char kib[32];

	if (vm->usb || vm->usb_ehci || vm->usb_xhci) {
		item(o, 23, vm->usb_xhci ? "vmware.usb.xhci" : "vmware.usb.ehci", "usb", true);
		item_end(o);
	}
	if (vm->sound) {
		const char *m = vm->sound_model;

		item(o, 35, m && !strcasecmp(m, "sb16") ? "vmware.soundcard.sb16"
			   : m && !strcasecmp(m, "es1371") ? "vmware.soundcard.ensoniq1371"
							   : "vmware.soundcard.hdaudio",
		     "sound", true);
		item_end(o);
	}
	item(o, 24, NULL, "video", true);
	if (vm->vram) {
		snprintf(kib, sizeof(kib), "%llu", (unsigned long long)(vm->vram / 1024));
		config(o, "vmw:Config", "videoRamSizeInKB", kib);
	}
	item_end(o);
	for (size_t i = 0; i < vm->n_ports; i++)
		warnings_add(o->w, "ports", "%s port %u is not carried: OVF importers add ports "
			     "only by hand", vm->ports[i].kind == VIMG_PORT_SERIAL ? "serial"
										: "parallel",
			     vm->ports[i].index);
	if (vm->firmware == VIMG_FIRMWARE_EFI) {
		config(o, "vmw:Config", "firmware", "efi");
		if (vm->secure_boot)
			config(o, "vmw:Config", "bootOptions.efiSecureBootEnabled", "true");
	}
	for (size_t i = 0; i < o->n_files; i++) {
		char ref[48];

		if (o->files[i].disk != OVF_NOT_A_DISK)
			continue;
		snprintf(ref, sizeof(ref), "ovf:/file/file%zu", i + 1);
		config(o, "vmw:ExtraConfig", "nvram", ref);
	}
	/* The .vmx keys the model does not hold, for VMware to take back. */
	for (size_t i = 0; i < vm->n_extra; i++) {
		const char *k = vm->extra[i].key;

		if (k[0] == '.' || !strcasecmp(k, "config.version") || vm_extra_is_note(k) ||
		    !strcasecmp(k, "virtualHW.version"))
			continue;
		config(o, "vmw:ExtraConfig", k, vm->extra[i].value ? vm->extra[i].value : "");
	}
	if (vm->uuid_bios)
		warnings_add(o->w, "uuid.bios", "OVF importers give the VM a new BIOS UUID");
}

int ovf_render(struct vimg_vm *vm, const struct ovf_file *files, size_t n_files, unsigned version,
	       char **out, size_t *len, struct vimg_warnings **w, struct vimg_error *err)
{
	xmlBufferPtr buf = xmlBufferCreate();
	struct ovf_out st = { .vm = vm, .files = files, .n_files = n_files, .w = w,
			      .instance = 1, .ok = buf != NULL };
	struct ovf_out *o = &st;
	/* OVF 2.0 keeps 1.0's sections and CIM items under a new envelope. */
	const char *envelope = version == 2 ? "http://schemas.dmtf.org/ovf/envelope/2"
					    : "http://schemas.dmtf.org/ovf/envelope/1";
	static const char *const ns[][2] = {
		{ "xmlns:cim", "http://schemas.dmtf.org/wbem/wscim/1/common" },
		{ "xmlns:rasd",
		  "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" },
		{ "xmlns:vmw", "http://www.vmware.com/schema/ovf" },
		{ "xmlns:vssd",
		  "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData" },
		{ "xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance" },
	};

	*out = NULL;
	o->x = buf ? xmlNewTextWriterMemory(buf, 0) : NULL;
	o->ok = o->x != NULL;
	if (o->x) {
		W(xmlTextWriterSetIndent(o->x, 1));
		W(xmlTextWriterSetIndentString(o->x, BAD_CAST "  "));
		W(xmlTextWriterStartDocument(o->x, "1.0", "UTF-8", NULL));
		W(xmlTextWriterWriteComment(o->x, BAD_CAST "Generated by vimg " PACKAGE_VERSION));
		W(xmlTextWriterStartElement(o->x, BAD_CAST "Envelope"));
		W(xmlTextWriterWriteAttribute(o->x, BAD_CAST "xmlns", BAD_CAST envelope));
		W(xmlTextWriterWriteAttribute(o->x, BAD_CAST "xmlns:ovf", BAD_CAST envelope));
		for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++)
			W(xmlTextWriterWriteAttribute(o->x, BAD_CAST ns[i][0], BAD_CAST ns[i][1]));
		write_references(o);
		write_networks(o);
		write_system(o);
		write_storage(o);
		write_nics(o);
		write_other(o);
		W(xmlTextWriterEndDocument(o->x));
		xmlFreeTextWriter(o->x);
	}
	if (o->ok && !(*out = malloc((size_t)xmlBufferLength(buf) + 1)))
		o->ok = false;
	if (!o->ok) {
		xmlBufferFree(buf);
		return vimg_error_set(err, VIMG_ENOMEM, "ovf: writing the descriptor: out of memory");
	}
	*len = (size_t)xmlBufferLength(buf);
	memcpy(*out, xmlBufferContent(buf), *len + 1);
	xmlBufferFree(buf);
	return 0;
}

/* The package's files as they lie beside the descriptor. */
int ovf_files_of(struct vimg_vm *vm, struct ovf_file **out, size_t *n, struct vimg_error *err)
{
	struct ovf_file *f = calloc(vm->n_disks + 1, sizeof(*f));
	size_t k = 0;
	int rc = 0;

	*out = NULL;
	*n = 0;
	if (!f)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	for (size_t i = 0; !rc && i <= vm->n_disks; i++) {
		const char *name = i < vm->n_disks ? vm->disks[i].file : vm->nvram;
		struct vimg_image *img = NULL;
		struct stat st;
		char *path;

		if (!name || (i < vm->n_disks && vm->disks[i].kind != VIMG_DEV_DISK))
			continue;
		if ((rc = vm_resolve(vm, name, &path, err)))
			break;
		if (stat(path, &st) < 0) {
			rc = vimg_error_set_errno(err, errno, "ovf: %s", path);
		} else if (i < vm->n_disks &&
			   !(rc = vimg_image_open(path, NULL, 0, &img, err))) {
			f[k].capacity = vimg_image_virtual_size(img);
			vimg_image_close(img, NULL);
		}
		free(path);
		f[k].href = name;
		f[k].size = (uint64_t)st.st_size;
		f[k].disk = i < vm->n_disks ? i : OVF_NOT_A_DISK;
		k++;
	}
	if (rc) {
		free(f);
		return rc;
	}
	*out = f;
	*n = k;
	return 0;
}

int ovf_write(struct vimg_vm *vm, const char *path, unsigned version, struct vimg_warnings **w,
	      struct vimg_error *err)
{
	struct ovf_file *files;
	size_t n, len;
	char *text;
	int rc = ovf_files_of(vm, &files, &n, err);

	if (rc)
		return rc;
	rc = ovf_render(vm, files, n, version, &text, &len, w, err);
	free(files);
	if (rc)
		return rc;
	rc = file_replace(path, text, len, err);
	free(text);
	return rc;
}

static int ovf_save(struct vimg_vm *vm, const char *path, struct vimg_warnings **w,
		    struct vimg_error *err)
{
	return ovf_write(vm, path, 1, w, err);
}

static int ovf_probe(const struct vimg_probe *p)
{
	/* An OVA: a tar whose first member is the descriptor. */
	if (p->head_len >= 512 && !memcmp(p->head + 257, "ustar", 5)) {
		size_t n = strnlen((const char *)p->head, 100);

		return n > 4 && !strncasecmp((const char *)p->head + n - 4, ".ovf", 4) ? 95 : 0;
	}
	return memmem(p->head, p->head_len, "Envelope", 8) &&
		       memmem(p->head, p->head_len, "schemas.dmtf.org/ovf/envelope", 29)
		       ? 90
		       : 0;
}

const struct vimg_codec vimg_codec_ovf = {
	.name = "ovf",
	.description = "OVF descriptor (DMTF OVF 1.0/2.0, VMware's dialect)",
	.extensions = ovf_ext,
	.probe = ovf_probe,
	.load = ovf_load,
	.save = ovf_save,
};
