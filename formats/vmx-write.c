/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A .vmx written afresh for a VM read from another hypervisor: the keys
 * VMware Workstation and ESXi write for the model's settings, in their
 * order (identity, hardware, controllers, disks, NICs, ports). A VM read
 * from a .vmx is saved by editing its own document instead (vmx.c). What
 * VMware has no device for (virtio) moves to what it has, with a warning.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vm.h"
#include "vmmap.h"

static int put(struct kvtext *kv, struct vimg_error *err, const char *value, const char *fmt,
	       ...) __attribute__((format(printf, 4, 5)));

static int put(struct kvtext *kv, struct vimg_error *err, const char *value, const char *fmt,
	       ...)
{
	char key[96];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(key, sizeof(key), fmt, ap);
	va_end(ap);
	return value ? kv_set(kv, key, value, err) : 0;
}

static int put_uint(struct kvtext *kv, struct vimg_error *err, uint64_t v, const char *key)
{
	char s[24];

	snprintf(s, sizeof(s), "%llu", (unsigned long long)v);
	return put(kv, err, s, "%s", key);
}

/* The SATA bus a virtio controller becomes: after the VM's own SATA
 * controllers, so its disks take no SATA disk's place. */
static unsigned virtio_sata_bus(const struct vimg_vm *vm, const struct vimg_vm_controller *c)
{
	unsigned first = 0;

	for (size_t i = 0; i < vm->n_ctrls; i++)
		if (vm->ctrls[i].type == VIMG_CTRL_SATA && vm->ctrls[i].bus + 1 > first)
			first = vm->ctrls[i].bus + 1;
	return first + c->bus;
}

/* VMware's name for a controller: virtio becomes SATA. */
static const char *vmx_controller(const struct vimg_vm *vm, const char *id, char *out, size_t n)
{
	for (size_t i = 0; i < vm->n_ctrls; i++) {
		const struct vimg_vm_controller *c = &vm->ctrls[i];

		if (strcasecmp(c->id, id))
			continue;
		if (c->type == VIMG_CTRL_VIRTIO)
			snprintf(out, n, "sata%u", virtio_sata_bus(vm, c));
		else
			snprintf(out, n, "%s", c->id);
		return out;
	}
	return NULL;
}

static int put_controllers(struct kvtext *kv, const struct vimg_vm *vm, struct vimg_error *err)
{
	int rc = 0;

	for (size_t i = 0; !rc && i < vm->n_ctrls; i++) {
		const struct vimg_vm_controller *c = &vm->ctrls[i];
		char id[16];

		if (c->type == VIMG_CTRL_IDE)
			continue; /* present unless switched off */
		snprintf(id, sizeof(id), "%s%u",
			 c->type == VIMG_CTRL_SCSI	   ? "scsi"
			 : c->type == VIMG_CTRL_NVME ? "nvme"
						     : "sata",
			 c->type == VIMG_CTRL_VIRTIO ? virtio_sata_bus(vm, c) : c->bus);
		rc = put(kv, err, "TRUE", "%s.present", id);
		if (!rc && c->type == VIMG_CTRL_SCSI)
			rc = put(kv, err, c->model ? c->model : "lsilogic", "%s.virtualDev", id);
	}
	return rc;
}

static int put_disks(struct kvtext *kv, const struct vimg_vm *vm, struct vimg_warnings **w,
		     struct vimg_error *err)
{
	int rc = 0;

	for (size_t i = 0; !rc && i < vm->n_disks; i++) {
		const struct vimg_vm_disk *d = &vm->disks[i];
		char ctrl[16], node[32];

		if (d->kind == VIMG_DEV_FLOPPY || !d->controller ||
		    !vmx_controller(vm, d->controller, ctrl, sizeof(ctrl)))
			continue;
		snprintf(node, sizeof(node), "%s:%u", ctrl, d->unit);
		if (d->node && strcmp(d->node, node))
			warnings_add(w, d->node, "moves to %s: VMware has no virtio disks", node);
		rc = put(kv, err, "TRUE", "%s.present", node);
		if (!rc)
			rc = put(kv, err, d->file, "%s.fileName", node);
		if (!rc && d->kind == VIMG_DEV_CDROM)
			rc = put(kv, err, d->file ? "cdrom-image" : "atapi-cdrom", "%s.deviceType",
				 node);
		if (!rc && d->kind == VIMG_DEV_CDROM && !d->file)
			rc = put(kv, err, "FALSE", "%s.startConnected", node);
	}
	return rc;
}

static int put_nics(struct kvtext *kv, const struct vimg_vm *vm, struct vimg_error *err)
{
	int rc = 0;

	for (size_t i = 0; !rc && i < vm->n_nics; i++) {
		const struct vimg_vm_nic *n = &vm->nics[i];
		/* Without a MAC, VMware makes one. */
		bool generated = n->mac_type == VIMG_MAC_GENERATED || !n->mac;
		unsigned k = n->index;

		rc = put(kv, err, "TRUE", "ethernet%u.present", k);
		if (!rc)
			rc = put(kv, err, n->model ? n->model : "e1000", "ethernet%u.virtualDev", k);
		if (!rc)
			rc = put(kv, err, "nat", "ethernet%u.connectionType", k);
		if (!rc)
			rc = put(kv, err, generated ? "generated" : "static", "ethernet%u.addressType",
				 k);
		if (!rc)
			rc = put(kv, err, n->mac, generated ? "ethernet%u.generatedAddress"
							    : "ethernet%u.address", k);
		if (!rc && !n->start_connected)
			rc = put(kv, err, "FALSE", "ethernet%u.startConnected", k);
	}
	return rc;
}

int vmx_render_new(struct vimg_vm *vm, struct kvtext *kv, struct vimg_warnings **w,
		   struct vimg_error *err)
{
	const struct vmmap_guest_os *os = vmmap_guest_os_by_vmx(vm->guest_os);
	int rc = kv_parse(kv, "", 0, KV_ESCAPES, "vmx", ".encoding", NULL, err);

	if (!rc)
		rc = put(kv, err, "UTF-8", ".encoding");
	if (!rc)
		rc = put(kv, err, "8", "config.version");
	if (!rc)
		rc = put_uint(kv, err, vm->hw_version ? vm->hw_version : 19, "virtualHW.version");
	if (!rc)
		rc = put(kv, err, vm->name ? vm->name : vm->base, "displayName");
	if (!rc && !os && vm->guest_os)
		warnings_add(w, "guestOS", "\"%s\" is no VMware guest id: other-64", vm->guest_os);
	if (!rc)
		rc = put(kv, err, os ? os->vmx : "other-64", "guestOS");
	if (!rc)
		rc = put(kv, err, vm->annotation, "annotation");
	if (!rc)
		rc = put_uint(kv, err, vm->memory_mb, "memsize");
	if (!rc)
		rc = put_uint(kv, err, vm->cpus, "numvcpus");
	if (!rc)
		rc = put_uint(kv, err, vm->cores_per_socket, "cpuid.coresPerSocket");
	if (!rc && vm->firmware == VIMG_FIRMWARE_EFI)
		rc = put(kv, err, "efi", "firmware");
	if (!rc && vm->secure_boot)
		rc = put(kv, err, "TRUE", "uefi.secureBoot.enabled");
	if (!rc)
		rc = put(kv, err, vm->nvram, "nvram");
	if (!rc)
		rc = put(kv, err, vm->uuid_bios, "uuid.bios");
	if (!rc)
		rc = put(kv, err, vm->uuid_location, "uuid.location");
	if (!rc)
		rc = put_controllers(kv, vm, err);
	if (!rc)
		rc = put_disks(kv, vm, w, err);
	if (!rc)
		rc = put_nics(kv, vm, err);
	for (size_t i = 0; !rc && i < vm->n_ports; i++)
		if (vm->ports[i].kind == VIMG_PORT_SERIAL)
			rc = put(kv, err, "TRUE", "serial%u.present", vm->ports[i].index);
	if (!rc && vm->usb)
		rc = put(kv, err, "TRUE", "usb.present");
	if (!rc && vm->sound)
		rc = put(kv, err, "TRUE", "sound.present");
	/* .vmx keys another format carried (an OVF's vmw:ExtraConfig). */
	for (size_t i = 0; !rc && i < vm->n_extra; i++)
		if (!vm_extra_is_note(vm->extra[i].key) && vm->extra[i].key[0] != '.' &&
		    !kv_get(kv, vm->extra[i].key))
			rc = put(kv, err, vm->extra[i].value, "%s", vm->extra[i].key);
	return rc;
}
