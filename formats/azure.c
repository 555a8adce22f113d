/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Azure: a shell script, NAME.azure.sh beside the fixed VHD disks, that
 * uploads them as managed disks (az disk create --upload-type Upload, then
 * azcopy) and creates the VM from the first one (az vm create
 * --attach-os-disk), generation V1 for a BIOS VM, V2 for an EFI one (with
 * Trusted Launch when it has Secure Boot). What Azure rejects or changes is
 * a warning: sizes that are not whole MiB, disks over its limits, a size
 * (vCPUs and memory) that is one of its own, MACs it assigns itself.
 * Strings are shell single-quoted.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm.h"
#include "vmmap.h"

#define TIB (1ull << 40)
#define AZURE_OS_DISK_MAX (4 * TIB)
#define AZURE_DATA_DISK_MAX (32 * TIB)

static const char *const azure_ext[] = { ".azure.sh", NULL };

static void sh_quote(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++)
		if (*s == '\'')
			fputs("'\\''", f);
		else
			fputc(*s, f);
	fputc('\'', f);
}

/* Check a converted disk against Azure's rules. */
static void check_disk(struct vimg_vm *vm, const struct vimg_vm_disk *d, bool os_disk,
		       struct vimg_warnings **w)
{
	struct vimg_image *img;
	char *p;
	uint64_t size;

	if (vm_resolve(vm, d->file, &p, NULL))
		return;
	if (vimg_image_open(p, NULL, 0, &img, NULL) == 0) {
		size = vimg_image_virtual_size(img);
		if (size % (1u << 20))
			warnings_add(w, d->node, "Azure takes only whole MiB: %llu bytes must be "
				     "resized first", (unsigned long long)size);
		if (size > (os_disk ? AZURE_OS_DISK_MAX : AZURE_DATA_DISK_MAX))
			warnings_add(w, d->node, "over Azure's %s disk limit of %llu TiB",
				     os_disk ? "OS" : "data",
				     (unsigned long long)((os_disk ? AZURE_OS_DISK_MAX
								   : AZURE_DATA_DISK_MAX) / TIB));
		vimg_image_close(img, NULL);
	}
	free(p);
}

/* A general-purpose size with at least the VM's vCPUs (D-series v5:
 * 2 to 96 vCPUs, 4 GiB each). */
static unsigned vm_size_vcpus(unsigned cpus)
{
	static const unsigned sizes[] = { 2, 4, 8, 16, 32, 48, 64, 96 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		if (cpus <= sizes[i])
			return sizes[i];
	return 96;
}

static int azure_save(struct vimg_vm *vm, const char *path, struct vimg_warnings **w,
		      struct vimg_error *err)
{
	const struct vmmap_guest_os *os = vmmap_guest_os_by_vmx(vm->guest_os);
	bool gen2 = vm->firmware == VIMG_FIRMWARE_EFI;
	unsigned vcpus = vm_size_vcpus(vm->cpus), ndata = 0;
	const char *name = vm->name ? vm->name : vm->base;
	const struct vimg_vm_disk *os_disk = NULL;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int rc;

	if (!f)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	if (vcpus != vm->cpus || (uint64_t)vcpus * 4096 != vm->memory_mb)
		warnings_add(w, "size", "Azure has sizes, not settings: Standard_D%us_v5 (%u vCPUs, "
			     "%u GiB) for %u vCPUs and %llu MiB", vcpus, vcpus, vcpus * 4, vm->cpus,
			     (unsigned long long)vm->memory_mb);
	if (vm->n_nics)
		warnings_add(w, "ethernet", "Azure assigns its own MACs and one NIC: the VM's %zu "
			     "NIC%s and MACs are not carried", vm->n_nics, vm->n_nics == 1 ? "" : "s");
	fputs("#!/bin/sh\n"
	      "# Uploads this VM's disks to Azure as managed disks and creates the VM,\n"
	      "# written by vimg convert --to azure. Needs the az CLI (logged in) and\n"
	      "# azcopy. Usage: NAME.azure.sh RESOURCE_GROUP [LOCATION]\n"
	      "set -eu\n"
	      "rg=${1:?usage: $0 RESOURCE_GROUP [LOCATION]}\n"
	      "loc=${2:-westeurope}\n"
	      "here=$(cd \"$(dirname \"$0\")\" && pwd)\n",
	      f);
	fputs("name=", f);
	sh_quote(f, name);
	fprintf(f, "\nos_type=%s\ngeneration=%s\n", os && os->windows ? "Windows" : "Linux",
		gen2 ? "V2" : "V1");
	fputs("upload() { # upload DISK FILE\n"
	      "\tsize=$(stat -c %s \"$here/$2\")\n"
	      "\taz disk create -g \"$rg\" -l \"$loc\" -n \"$1\" --os-type \"$os_type\" \\\n"
	      "\t\t--hyper-v-generation \"$generation\" --upload-type Upload \\\n"
	      "\t\t--upload-size-bytes \"$size\" --sku StandardSSD_LRS\n"
	      "\tsas=$(az disk grant-access -g \"$rg\" -n \"$1\" --access-level Write \\\n"
	      "\t\t--duration-in-seconds 86400 --query accessSas -o tsv)\n"
	      "\tazcopy copy \"$here/$2\" \"$sas\" --blob-type PageBlob\n"
	      "\taz disk revoke-access -g \"$rg\" -n \"$1\"\n"
	      "}\n",
	      f);
	for (size_t i = 0; i < vm->n_disks; i++) {
		const struct vimg_vm_disk *d = &vm->disks[i];

		if (d->kind != VIMG_DEV_DISK || !d->file) {
			if (d->kind != VIMG_DEV_DISK)
				warnings_add(w, d->node, "Azure VMs have no CD-ROM or floppy drive");
			continue;
		}
		check_disk(vm, d, !os_disk, w);
		if (!os_disk) {
			os_disk = d;
			fputs("upload \"$name-os\" ", f);
		} else {
			fprintf(f, "upload \"$name-data%u\" ", ++ndata);
		}
		sh_quote(f, d->file);
		fputc('\n', f);
	}
	fprintf(f, "az vm create -g \"$rg\" -l \"$loc\" -n \"$name\" --os-type \"$os_type\" "
		"--size Standard_D%us_v5 \\\n\t--attach-os-disk \"$name-os\"", vcpus);
	for (unsigned k = 1; k <= ndata; k++)
		fprintf(f, "%s\"$name-data%u\"", k == 1 ? " --attach-data-disks " : " ", k);
	if (gen2 && vm->secure_boot)
		fputs(" \\\n\t--security-type TrustedLaunch --enable-secure-boot true", f);
	fputc('\n', f);
	if (fclose(f) || !text)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	if (!os_disk)
		warnings_add(w, "disks", "no disk: the script cannot create the VM");
	rc = file_replace(path, text, len, err);
	free(text);
	return rc;
}

static int azure_probe(const struct vimg_probe *p)
{
	(void)p;
	return 0;
}

const struct vimg_codec vimg_codec_azure = {
	.name = "azure",
	.description = "Azure (fixed VHD disks and a script that uploads them and creates the VM)",
	.extensions = azure_ext,
	.probe = azure_probe,
	.save = azure_save,
};
