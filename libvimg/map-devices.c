/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Devices across hypervisors: NIC models, disk controllers and firmware,
 * one table each. "inbox" marks what a guest boots from or talks through
 * without drivers added: the conversion moves a VM to those, unless asked
 * otherwise, and says what it changed.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "vimg.h"
#include "vmmap.h"

static const struct vmmap_nic nics[] = {
    /* vmx, libvirt, vbox, ovf, inbox */
    {"e1000", "e1000", "82540EM", "E1000", true},
    {"e1000e", "e1000e", "82545EM", "E1000e", false},
    /* Before the vmxnet rows: VirtualBox's virtio reads back as virtio. */
    {"virtio", "virtio", "virtio", NULL, false},
    {"vmxnet3", "vmxnet3", "virtio", "VmxNet3", false},
    {"vmxnet2", "vmxnet", "virtio", "VmxNet2", false},
    {"vmxnet", "vmxnet", "virtio", "VmxNet", false},
    {"vlance", "pcnet", "Am79C973", "PCNet32", true},
    /* VirtualBox's other PCnet and PRO/1000 models, for reading: the rows
     * above name what each model is written as. */
    {"vlance", "pcnet", "Am79C970A", "PCNet32", true},
    {"vlance", "pcnet", "Am79C960", "PCNet32", true},
    {"e1000", "e1000", "82543GC", "E1000", true},
};

const struct vmmap_nic *vmmap_nic_by_vmx(const char *model)
{
	for (size_t i = 0; model && i < sizeof(nics) / sizeof(nics[0]); i++)
		if (!strcasecmp(nics[i].vmx, model))
			return &nics[i];
	return NULL;
}

const struct vmmap_nic *vmmap_nic_by_libvirt(const char *model)
{
	for (size_t i = 0; model && i < sizeof(nics) / sizeof(nics[0]); i++)
		if (!strcasecmp(nics[i].libvirt, model))
			return &nics[i];
	return NULL;
}

const struct vmmap_nic *vmmap_nic_by_ovf(const char *subtype)
{
	for (size_t i = 0; subtype && i < sizeof(nics) / sizeof(nics[0]); i++)
		if (nics[i].ovf && !strcasecmp(nics[i].ovf, subtype))
			return &nics[i];
	return NULL;
}

const struct vmmap_nic *vmmap_nic_by_vbox(const char *type)
{
	for (size_t i = 0; type && i < sizeof(nics) / sizeof(nics[0]); i++)
		if (!strcasecmp(nics[i].vbox, type))
			return &nics[i];
	return NULL;
}

static const struct vmmap_controller controllers[] = {
    /* type, SCSI model, libvirt bus, libvirt model, vbox, OVF type, subtype, inbox */
    {VIMG_CTRL_IDE, NULL, "ide", NULL, "PIIX4", 5, "PIIX4", true},
    {VIMG_CTRL_SATA, NULL, "sata", NULL, "AHCI", 20, "vmware.sata.ahci", true},
    {VIMG_CTRL_NVME, NULL, "nvme", NULL, "NVMe", 20, "vmware.nvme.controller", false},
    /* VirtualBox has no virtio-blk: its virtio-scsi is the nearest. */
    {VIMG_CTRL_VIRTIO, NULL, "virtio", NULL, "VirtioSCSI", 0, NULL, false},
    {VIMG_CTRL_SCSI, "lsilogic", "scsi", "lsilogic", "LsiLogic", 6, "lsilogic", false},
    {VIMG_CTRL_SCSI, "lsisas1068", "scsi", "lsisas1068", "LsiLogicSas", 6, "lsilogicsas", false},
    {VIMG_CTRL_SCSI, "pvscsi", "scsi", "vmpvscsi", "LsiLogicSas", 6, "VirtualSCSI", false},
    {VIMG_CTRL_SCSI, "buslogic", "scsi", "buslogic", "BusLogic", 6, "buslogic", false},
    /* VirtualBox's other IDE chips, for reading. */
    {VIMG_CTRL_IDE, NULL, "ide", NULL, "PIIX3", 5, "PIIX3", true},
    {VIMG_CTRL_IDE, NULL, "ide", NULL, "ICH6", 5, "ICH6", true},
};

const struct vmmap_controller *vmmap_controller(int type, const char *model)
{
	const struct vmmap_controller *first = NULL;

	for (size_t i = 0; i < sizeof(controllers) / sizeof(controllers[0]); i++) {
		if (controllers[i].type != type)
			continue;
		if (!first)
			first = &controllers[i];
		if (!controllers[i].model || (model && !strcasecmp(controllers[i].model, model)))
			return &controllers[i];
	}
	return first;
}

const struct vmmap_controller *vmmap_controller_by_libvirt(const char *model)
{
	for (size_t i = 0; model && i < sizeof(controllers) / sizeof(controllers[0]); i++)
		if (controllers[i].libvirt_model && !strcmp(controllers[i].libvirt_model, model))
			return &controllers[i];
	return NULL;
}

const struct vmmap_controller *vmmap_controller_by_ovf(unsigned type, const char *subtype)
{
	/* What other writers put in ResourceSubType for the same controllers. */
	static const struct {
		const char *alias, *subtype;
	} aliases[] = { { "AHCI", "vmware.sata.ahci" }, { "vmware.nvme", "vmware.nvme.controller" },
			{ "lsilogicsas", "lsilogicsas" }, { "pvscsi", "VirtualSCSI" } };
	const struct vmmap_controller *first = NULL;

	for (size_t i = 0; subtype && i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (!strcasecmp(aliases[i].alias, subtype))
			subtype = aliases[i].subtype;
	for (size_t i = 0; i < sizeof(controllers) / sizeof(controllers[0]); i++) {
		if (controllers[i].ovf_type != type)
			continue;
		if (!first)
			first = &controllers[i];
		if (subtype && controllers[i].ovf_subtype &&
		    !strcasecmp(controllers[i].ovf_subtype, subtype))
			return &controllers[i];
	}
	return first;
}

const struct vmmap_controller *vmmap_controller_by_vbox(const char *type)
{
	for (size_t i = 0; type && i < sizeof(controllers) / sizeof(controllers[0]); i++)
		if (!strcasecmp(controllers[i].vbox, type))
			return &controllers[i];
	return NULL;
}

static const struct vmmap_firmware firmware[] = {
    {false, false, NULL, NULL, "q35"},
    {true, false, "/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd", "q35"},
    {true, true, "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd",
     "q35"},
};

const struct vmmap_firmware *vmmap_firmware(bool efi, bool secure_boot)
{
	for (size_t i = 0; i < sizeof(firmware) / sizeof(firmware[0]); i++)
		if (firmware[i].efi == efi && firmware[i].secure_boot == (efi && secure_boot))
			return &firmware[i];
	return &firmware[0];
}
