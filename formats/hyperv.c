/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Hyper-V: a PowerShell script, NAME.ps1 beside the VHDX disks, that makes
 * the VM with New-VM where it is run: generation 1 for a BIOS VM (its first
 * disks on IDE, which generation 1 boots from), generation 2 for an EFI VM
 * (every disk on SCSI, Secure Boot with the template the guest needs),
 * memory (whole 2 MiB, as Hyper-V takes it), processors, DVD drives, NICs
 * on a switch named at run time with their MACs kept static. Hyper-V's own
 * configuration (.vmcx) is binary and undocumented, so the script is how a
 * VM gets there. Strings are PowerShell single-quoted, quotes doubled.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm.h"
#include "vmmap.h"

static const char *const hyperv_ext[] = { ".ps1", NULL };

/* A PowerShell single-quoted string. */
static void ps_quote(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++) {
		if (*s == '\'')
			fputc('\'', f);
		fputc(*s, f);
	}
	fputc('\'', f);
}

static void put_disks(FILE *f, struct vimg_vm *vm, bool gen2, struct vimg_warnings **w)
{
	unsigned ide = 0, scsi = 0;

	for (size_t i = 0; i < vm->n_disks; i++) {
		const struct vimg_vm_disk *d = &vm->disks[i];
		bool dvd = d->kind == VIMG_DEV_CDROM;
		/* Generation 1 boots from IDE: the first disks and DVDs go there. */
		bool on_ide = !gen2 && ide < 4;
		unsigned loc = on_ide ? ide % 2 : scsi, ctrl = on_ide ? ide / 2 : 0;

		if (d->kind == VIMG_DEV_FLOPPY || (d->kind == VIMG_DEV_DISK && !d->file)) {
			if (d->kind == VIMG_DEV_FLOPPY)
				warnings_add(w, d->node, "floppy drives are left out");
			continue;
		}
		if (on_ide)
			ide++;
		else
			scsi++;
		fprintf(f, "%s -VM $vm -ControllerType %s -ControllerNumber %u -ControllerLocation %u",
			dvd ? "Add-VMDvdDrive" : "Add-VMHardDiskDrive", on_ide ? "IDE" : "SCSI", ctrl,
			loc);
		if (d->file) {
			fputs(" -Path ", f);
			if (dvd) {
				ps_quote(f, d->file);
				warnings_add(w, d->node, "the DVD image is named by this machine's path "
					     "\"%s\": copy it to the Hyper-V host", d->file);
			} else {
				fputs("(Join-Path $Path ", f);
				ps_quote(f, d->file);
				fputc(')', f);
			}
		}
		fputc('\n', f);
	}
}

static void put_nics(FILE *f, struct vimg_vm *vm, struct vimg_warnings **w)
{
	fputs("Get-VMNetworkAdapter -VM $vm | Remove-VMNetworkAdapter\n", f);
	for (size_t i = 0; i < vm->n_nics; i++) {
		const struct vimg_vm_nic *n = &vm->nics[i];
		char key[32];

		snprintf(key, sizeof(key), "ethernet%u", n->index);
		fprintf(f, "Add-VMNetworkAdapter -VM $vm -Name 'ethernet%u' -SwitchName $Switch",
			n->index);
		if (n->mac) {
			fputs(" -StaticMacAddress '", f);
			for (const char *c = n->mac; *c; c++)
				if (*c != ':' && *c != '-')
					fputc(*c >= 'a' && *c <= 'f' ? *c - 'a' + 'A' : *c, f);
			fputc('\'', f);
		}
		fputc('\n', f);
		warnings_add(w, key, "NIC model %s becomes Hyper-V's synthetic adapter (drivers "
			     "in Windows since 2008 R2 and in Linux since 3.x)",
			     n->model ? n->model : "e1000");
	}
}

static int hyperv_save(struct vimg_vm *vm, const char *path, struct vimg_warnings **w,
		       struct vimg_error *err)
{
	const struct vmmap_guest_os *os = vmmap_guest_os_by_vmx(vm->guest_os);
	bool gen2 = vm->firmware == VIMG_FIRMWARE_EFI;
	uint64_t mem = (vm->memory_mb + 1) & ~1ull;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int rc;

	if (!f)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	if (mem != vm->memory_mb)
		warnings_add(w, "memsize", "Hyper-V takes memory in whole 2 MiB: %llu MiB becomes "
			     "%llu MiB", (unsigned long long)vm->memory_mb, (unsigned long long)mem);
	fputs("# Creates this VM in Hyper-V from the disks beside this script, written by\n"
	      "# vimg convert --to hyperv. Run it on the Hyper-V host, as an administrator,\n"
	      "# from the folder holding the disks (or give it -Path).\n", f);
	fputs("param([string]$Path = $PSScriptRoot, [string]$Switch = 'Default Switch')\n", f);
	fputs("$ErrorActionPreference = 'Stop'\n", f);
	fputs("$vm = New-VM -Name ", f);
	ps_quote(f, vm->name ? vm->name : vm->base);
	fprintf(f, " -Generation %d -MemoryStartupBytes %lluMB -NoVHD -Path $Path\n", gen2 ? 2 : 1,
		(unsigned long long)(mem ? mem : 512));
	fputs("Set-VMMemory -VM $vm -DynamicMemoryEnabled $false\n", f);
	fprintf(f, "Set-VMProcessor -VM $vm -Count %u\n", vm->cpus ? vm->cpus : 1);
	if (vm->annotation && *vm->annotation) {
		fputs("Set-VM -VM $vm -Notes ", f);
		ps_quote(f, vm->annotation);
		fputc('\n', f);
	}
	if (gen2 && vm->secure_boot)
		fprintf(f, "Set-VMFirmware -VM $vm -EnableSecureBoot On -SecureBootTemplate %s\n",
			os && os->windows ? "MicrosoftWindows" : "MicrosoftUEFICertificateAuthority");
	else if (gen2)
		fputs("Set-VMFirmware -VM $vm -EnableSecureBoot Off\n", f);
	if (gen2 && vm->secure_boot && !(os && os->windows))
		warnings_add(w, "uefi.secureBoot.enabled", "Secure Boot with Microsoft's UEFI CA "
			     "template: the guest's boot loader must be signed by it (shim is)");
	put_disks(f, vm, gen2, w);
	put_nics(f, vm, w);
	if (gen2)
		fputs("Set-VMFirmware -VM $vm -FirstBootDevice (Get-VMHardDiskDrive -VM $vm | "
		      "Select-Object -First 1)\n",
		      f);
	for (size_t i = 0; i < vm->n_ports; i++)
		if (vm->ports[i].kind == VIMG_PORT_SERIAL && vm->ports[i].index < 2) {
			fprintf(f, "Set-VMComPort -VM $vm -Number %u -Path ('\\\\.\\pipe\\' + $vm.Name "
				"+ '-com%u')\n",
				vm->ports[i].index + 1, vm->ports[i].index + 1);
			warnings_add(w, "serial", "serial port %u becomes a named pipe on the host",
				     vm->ports[i].index);
		}
	fputs("$vm\n", f);
	if (fclose(f) || !text)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	rc = file_replace(path, text, len, err);
	free(text);
	return rc;
}

static int hyperv_probe(const struct vimg_probe *p)
{
	(void)p;
	return 0;
}

const struct vimg_codec vimg_codec_hyperv = {
	.name = "hyperv",
	.description = "Hyper-V (a PowerShell script that creates the VM)",
	.extensions = hyperv_ext,
	.probe = hyperv_probe,
	.save = hyperv_save,
};
