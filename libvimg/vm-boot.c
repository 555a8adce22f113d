/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Boot-check a VM rather than a disk: its first disk of the current state,
 * with the firmware it has. An EFI VM's variables are exported to a
 * temporary OVMF store so that the check sees its boot entries and Secure
 * Boot keys, as the converted VM will; the mapping table names the OVMF
 * build. The boot launcher itself knows nothing of VMs.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vm.h"
#include "vmmap.h"

int vimg_vm_boot(struct vimg_vm *vm, const struct vimg_boot_opts *o,
		 struct vimg_boot_result *r, struct vimg_error *err)
{
	struct vimg_boot_opts bo = *o;
	struct vimg_image *img = NULL;
	struct vimg_nvram *nv = NULL;
	const struct vimg_vm_disk *boot = NULL;
	char vars[64] = "";
	int rc;

	if (!vm_valid(vm) || !o || !r)
		return vimg_error_set(err, VIMG_EINVAL, "vimg_vm_boot: invalid arguments");
	for (size_t i = 0; i < vm->n_disks && !boot; i++)
		if (vm->disks[i].kind == VIMG_DEV_DISK && vm->disks[i].file)
			boot = &vm->disks[i];
	if (!boot)
		return vimg_error_set(err, VIMG_ENOENT, "%s has no disk to boot", vm->path);
	if (vm->firmware == VIMG_FIRMWARE_EFI) {
		const struct vmmap_firmware *fw = vmmap_firmware(true, vm->secure_boot);

		bo.uefi_code = fw->ovmf_code;
		bo.uefi_vars = fw->ovmf_vars;
		bo.secure_boot = fw->secure_boot;
		if (access(fw->ovmf_code, R_OK))
			return vimg_error_set(err, VIMG_EUNSUPPORTED,
					      "boot: %s is an EFI VM and OVMF (%s) is not installed",
					      vm->path, fw->ovmf_code);
		if (vm->nvram && vimg_vm_nvram_open(vm, &nv, NULL) == 0) {
			int fd;

			snprintf(vars, sizeof(vars), "/tmp/vimg-vm-vars.XXXXXX");
			if ((fd = mkstemp(vars)) < 0) {
				vimg_nvram_close(nv);
				return vimg_error_set_errno(err, errno, "boot: temporary store");
			}
			close(fd);
			rc = vimg_nvram_export_ovmf(nv, vars, NULL, NULL, err);
			vimg_nvram_close(nv);
			if (rc) {
				unlink(vars);
				return rc;
			}
			bo.uefi_vars = vars;
		}
	}
	rc = vimg_vm_disk_open(vm, boot->file, 0, &img, err);
	if (!rc)
		rc = vimg_boot_run(img, &bo, r, err);
	vimg_image_close(img, NULL);
	if (vars[0])
		unlink(vars);
	return rc;
}
