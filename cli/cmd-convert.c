/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vimg convert: qemu-img convert's options mapped onto struct
 * vimg_convert_opts, then one vimg_convert call. The copy engine does the
 * work (block-status walk, zero detection, threads, bounded memory); this
 * file only parses, opens the source read-only and shows progress.
 */
#include "config.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
	"Usage: vimg convert [-f FMT] [-O OUTPUT_FMT] [-o OPTIONS] [-c] [-S SIZE]\n"
	"                    [-B BACKING [-F BACKING_FMT]] [-m N] [-W] [-t CACHE] [-p] [-q]\n"
	"                    [--allow-escape] SRC DST\n"
	"\n"
	"Copy the guest-visible contents of SRC (with its backing chain) into a new\n"
	"image DST. Only allocated data is read and zero runs stay sparse.\n"
	"\n"
	"  -f, --format=FMT     source format (default: probe)\n"
	"  -O FMT               output format (default: raw)\n"
	"  -o OPTIONS           create options of DST; -o help lists them\n"
	"  -c                   compress every data cluster (qcow2)\n"
	"  -S SIZE              zero runs of at least SIZE bytes stay sparse\n"
	"                       (default 4k); -S 0 allocates everything\n"
	"  -B BACKING           make DST an overlay of BACKING and copy only what\n"
	"                       differs from the source's backing chain\n"
	"  -F BACKING_FMT       format of BACKING\n"
	"  -m N                 worker threads, 1..16 (default: automatic)\n"
	"  -W                   allow out-of-order writes\n"
	"  -t CACHE             writeback (default: DST is fsynced before vimg exits)\n"
	"                       or unsafe (never fsync, as qemu-img convert's default)\n"
	"  -p, --progress       show progress on stderr\n"
	"  -q, --quiet          print nothing on success\n"
	"  --allow-escape       allow backing files outside the images' directories\n"
	"  -h, --help           show this help\n"
	"\n"
	"A whole VM:\n"
	"Usage: vimg convert --to libvirt|vmware|ovf|ova|hyperv|azure|virtualbox\n"
	"                    [-O DISK_FMT] [-o OPTIONS] [--from FORMAT] [--bus BUS]\n"
	"                    [--manifest=ALGO] [--ovf-version=1.0|2.0]\n"
	"                    [--nic-model MODEL] [--new-identity] [-p] [--output=human|json]\n"
	"                    [--allow-escape] SOURCE OUTDIR\n"
	"\n"
	"With --to, SOURCE is a VM (a VMware folder or .vmx, a libvirt domain's XML,\n"
	"an .ovf or .ova, a VirtualBox .vbox, or Hyper-V's configuration, XML or\n"
	".vmcx) and\n"
	"OUTDIR (new or empty) receives it for the target: its\n"
	"configuration (NAME.xml for libvirt, NAME.vmx for VMware, NAME.ovf with\n"
	"NAME.mf, or all of it in NAME.ova, for OVF; NAME.ps1 making\n"
	"the VM with New-VM for Hyper-V, NAME.azure.sh uploading the disks and\n"
	"creating the VM for Azure) and every disk of the current state converted\n"
	"(qcow2 for libvirt, vmdk for VMware, streamOptimized VMDK for OVF, VHDX\n"
	"for Hyper-V, fixed VHD for Azure:\n"
	"NAME.qcow2, NAME_1.qcow2, ...). An EFI VM's variables (boot entries,\n"
	"Secure Boot keys) go to NAME_VARS.fd, the OVMF store it boots with, for\n"
	"libvirt, and to NAME.nvram for VMware and OVF. For libvirt, disks move to\n"
	"SATA and NICs to e1000 (drivers every guest has)\n"
	"unless --bus or --nic-model say otherwise. Every change and every setting\n"
	"the target cannot hold is reported as a warning; SOURCE is only read. An\n"
	"OVF or OVA source's manifest is verified first; an OVA's disks are read in\n"
	"place, never extracted.\n"
	"For VirtualBox: NAME.vbox and VDI disks (-O vmdk for VMDK) registered under\n"
	"the UUIDs their files carry.\n"
	"Not supported yet: EFI variables into Hyper-V or VirtualBox.\n"
	"\n"
	"  --to TARGET          libvirt, vmware, ovf, ova, hyperv, azure or virtualbox\n"
	"  --from FORMAT        SOURCE's format: vmware, libvirt, hyperv-xml,\n"
	"                       hyperv-vmcx, ovf, vbox (default: probed)\n"
	"  --manifest=ALGO      ovf, ova: the manifest's digest, sha256 (default),\n"
	"                       sha1 or sha512\n"
	"  --ovf-version=V      ovf, ova: the descriptor's OVF version, 1.0 (default,\n"
	"                       what every importer takes) or 2.0\n"
	"  -O, --disk-format=F  disk format (default: the target's)\n"
	"  -o OPTIONS           disk create options\n"
	"  --bus BUS            sata (default), ide, scsi or virtio\n"
	"  --nic-model MODEL    every NIC's model (e1000, virtio, ...)\n"
	"  --new-identity       new UUIDs and generated MACs, as vimg clone gives\n"
	"  -p, --progress       show progress\n"
	"  --output=FMT         human (default) or json\n"
	"  --allow-escape       the VM may name files outside its folder\n";

static int cmd_convert_run(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "format", required_argument, NULL, 'f' },
		{ "progress", no_argument, NULL, 'p' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "allow-escape", no_argument, NULL, OPT_ALLOW_ESCAPE },
		{ NULL, 0, NULL, 0 },
	};
	struct vimg_convert_opts co = { .format = "raw" };
	const char *format = NULL;
	char *opts = NULL;
	bool progress = false, quiet = false;
	unsigned open_flags = 0;
	int c, rc = CLI_OK;

	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--to") || !strncmp(argv[i], "--to=", 5))
			return cmd_convert_vm_run(argc, argv);
	while ((c = getopt_long(argc, argv, "hf:O:o:cS:B:F:m:Wt:pq", lopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			rc = cli_help(&cmd_convert);
			goto out;
		case 'f':
			format = optarg;
			break;
		case 'O':
			co.format = optarg;
			break;
		case 'o':
			if (cli_opts_append(&opts, optarg)) {
				rc = cli_errorf(&cmd_convert, "out of memory");
				goto out;
			}
			break;
		case 'c':
			co.compress = true;
			break;
		case 'S':
			if ((rc = cli_parse_size(&cmd_convert, "-S size", optarg, &co.min_sparse)))
				goto out;
			co.has_min_sparse = true;
			break;
		case 'B':
			co.backing = optarg;
			break;
		case 'F':
			co.backing_format = optarg;
			break;
		case 'm':
			if ((rc = cli_parse_uint(&cmd_convert, "-m count", optarg, 1, 16,
						 &co.threads)))
				goto out;
			break;
		case 'W':
			co.out_of_order = true;
			break;
		case 't':
			if (strcmp(optarg, "writeback") && strcmp(optarg, "unsafe")) {
				rc = cli_usage(&cmd_convert, "-t takes writeback or unsafe");
				goto out;
			}
			co.no_sync = !strcmp(optarg, "unsafe");
			break;
		case 'p':
			progress = true;
			break;
		case 'q':
			quiet = true;
			break;
		case OPT_ALLOW_ESCAPE:
			open_flags |= VIMG_OPEN_ALLOW_ESCAPE;
			co.create_flags |= VIMG_CREATE_ALLOW_ESCAPE;
			break;
		default:
			rc = cli_usage(&cmd_convert, NULL);
			goto out;
		}
	}
	if ((rc = cli_check_format(&cmd_convert, co.format)))
		goto out;
	if (cli_opts_want_help(opts)) {
		cli_opts_print_help(co.format, false);
		rc = CLI_OK;
		goto out;
	}
	if (argc - optind != 2) {
		rc = cli_usage(&cmd_convert, "expected SRC and DST");
		goto out;
	}
	if (format && (rc = cli_check_format(&cmd_convert, format)))
		goto out;
	if (co.backing_format && !co.backing) {
		rc = cli_usage(&cmd_convert, "-F needs -B");
		goto out;
	}
	if (co.backing_format && (rc = cli_check_format(&cmd_convert, co.backing_format)))
		goto out;
	unsigned feat = vimg_format_features(co.format);
	if (!(feat & VIMG_FEAT_CREATE)) {
		rc = cli_errorf(&cmd_convert, "format '%s' does not support creating images",
				co.format);
		goto out;
	}
	if (co.compress && !(feat & VIMG_FEAT_COMPRESS)) {
		rc = cli_errorf(&cmd_convert, "format '%s' does not support compression (-c)",
				co.format);
		goto out;
	}
	if (co.backing && !(feat & VIMG_FEAT_BACKING)) {
		rc = cli_errorf(&cmd_convert, "format '%s' does not support backing files (-B)",
				co.format);
		goto out;
	}
	co.options = opts;

	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *src = NULL;
	if (vimg_image_open(argv[optind], format, open_flags, &src, &err) < 0) {
		rc = cli_error(&cmd_convert, &err);
		goto out;
	}
	struct progress *p = progress_new(progress && !quiet);
	if (!p) {
		vimg_image_close(src, NULL);
		rc = cli_errorf(&cmd_convert, "out of memory");
		goto out;
	}
	co.progress = progress_update;
	co.progress_opaque = p;
	int crc = vimg_convert(src, argv[optind + 1], &co, &err);
	progress_free(p, crc == 0);
	vimg_image_close(src, NULL);
	rc = crc < 0 ? cli_error(&cmd_convert, &err) : CLI_OK;
out:
	free(opts);
	return rc;
}

const struct cmd cmd_convert = {
	.name = "convert",
	.summary = "convert an image to another format, or a VM to another hypervisor",
	.usage = usage,
	.run = cmd_convert_run,
};
