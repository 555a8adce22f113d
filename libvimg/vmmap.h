/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * How the VM model's values are named by each hypervisor: one table per
 * axis, as data (map-guestos.c, map-devices.c), read by every codec and by
 * the conversion. The model's own names are VMware's (.vmx guestOS ids,
 * controller and NIC models), the pivot every translation goes through;
 * a NULL cell is a value that hypervisor has no name for.
 */
#ifndef VIMG_VMMAP_H
#define VIMG_VMMAP_H

#include <stdbool.h>

struct vmmap_guest_os {
	const char *vmx;	/* .vmx guestOS: "ubuntu-64" */
	const char *vsphere;	/* vSphere guest id, OVF vmw:osType: "ubuntu64Guest" */
	unsigned ovf_id;	/* OVF OperatingSystemSection ovf:id (CIM_OperatingSystem) */
	const char *osinfo;	/* libosinfo id: "http://ubuntu.com/ubuntu/22.04" */
	const char *vbox;	/* VirtualBox OSType: "Ubuntu_64" */
	bool windows;
	bool bits64;
	/* The firmware guests of this kind install with by default, a hint for
	 * Hyper-V's generation when the source does not say. */
	bool efi_default;
};

/* The row for a .vmx guestOS id (case-insensitive), or NULL. */
const struct vmmap_guest_os *vmmap_guest_os_by_vmx(const char *id);
/* The first row naming this value in that column, or NULL. */
const struct vmmap_guest_os *vmmap_guest_os_by_vsphere(const char *id);
const struct vmmap_guest_os *vmmap_guest_os_by_osinfo(const char *id);
const struct vmmap_guest_os *vmmap_guest_os_by_vbox(const char *id);
const struct vmmap_guest_os *vmmap_guest_os_by_ovf(unsigned id);

/* A NIC model: VMware's name, libvirt's <model type>, VirtualBox's
 * adapter type, and whether guests of every kind have drivers for it. */
struct vmmap_nic {
	const char *vmx;	/* "e1000", "e1000e", "vmxnet3", "vlance" */
	const char *libvirt;	/* "e1000", "e1000e", "vmxnet3", "pcnet" */
	const char *vbox;	/* "82540EM", "82545EM", "Am79C973", "virtio" */
	const char *ovf;	/* OVF ResourceSubType: "E1000", "VmxNet3", "PCNet32" */
	bool inbox;		/* drivers ship with Windows and Linux */
};

const struct vmmap_nic *vmmap_nic_by_vmx(const char *model);
const struct vmmap_nic *vmmap_nic_by_libvirt(const char *model);
/* By OVF ResourceSubType (case-insensitive). */
const struct vmmap_nic *vmmap_nic_by_ovf(const char *subtype);
/* The first row naming VirtualBox's adapter type, or NULL. */
const struct vmmap_nic *vmmap_nic_by_vbox(const char *type);

/* A disk controller: the model's type and SCSI model, libvirt's bus,
 * VirtualBox's controller, OVF's ResourceType/ResourceSubType, and whether
 * a guest without added drivers boots from it. */
struct vmmap_controller {
	int type;		/* enum vimg_controller_type */
	const char *model;	/* SCSI: "lsilogic", "lsisas1068", "pvscsi", "buslogic" */
	const char *libvirt_bus;	/* "sata", "ide", "scsi", "virtio", "nvme" */
	const char *libvirt_model;	/* <controller type='scsi' model=...> */
	const char *vbox;	/* StorageController type: "AHCI", "PIIX4", "LsiLogic", ... */
	unsigned ovf_type;	/* ResourceType: 5 IDE, 6 SCSI, 20 SATA */
	const char *ovf_subtype;	/* "lsilogic", "lsilogicsas", "VirtualSCSI", "buslogic", "AHCI" */
	bool inbox;
};

const struct vmmap_controller *vmmap_controller(int type, const char *model);
/* The SCSI controller libvirt calls model (<controller type='scsi' model=...>). */
const struct vmmap_controller *vmmap_controller_by_libvirt(const char *model);
/* By OVF ResourceType and ResourceSubType (other writers' names too); the
 * type's first row when the subtype is unknown, NULL for no controller. */
const struct vmmap_controller *vmmap_controller_by_ovf(unsigned type, const char *subtype);
/* The first row naming VirtualBox's StorageController type, or NULL. */
const struct vmmap_controller *vmmap_controller_by_vbox(const char *type);

/* Firmware for libvirt and OVMF: the code that boots an EFI VM (with or
 * without Secure Boot) and the variable template Debian ships with it. */
struct vmmap_firmware {
	bool efi, secure_boot;
	const char *ovmf_code;	/* /usr/share/OVMF/OVMF_CODE_4M.secboot.fd */
	const char *ovmf_vars;	/* the matching empty store */
	const char *machine;	/* libvirt machine type: "q35" (SMM for Secure Boot) */
};

const struct vmmap_firmware *vmmap_firmware(bool efi, bool secure_boot);

#endif
