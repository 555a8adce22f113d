/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vimg convert --to TARGET: a whole VM to another hypervisor
 * (vimg_vm_convert), with every change and every setting the target cannot
 * hold reported, as text or JSON. `vimg convert` hands over to this when
 * --to is given; its usage text is convert's.
 */
#include "config.h"

#include <getopt.h>
#include <string.h>

#include "cli.h"

enum { OPT_TO = 400, OPT_BUS, OPT_NIC_MODEL, OPT_NEW_IDENTITY, OPT_MANIFEST, OPT_FROM, OPT_OVF_VERSION };

int cmd_convert_vm_run(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "to", required_argument, NULL, OPT_TO },
		{ "disk-format", required_argument, NULL, 'O' },
		{ "bus", required_argument, NULL, OPT_BUS },
		{ "nic-model", required_argument, NULL, OPT_NIC_MODEL },
		{ "new-identity", no_argument, NULL, OPT_NEW_IDENTITY },
		{ "manifest", required_argument, NULL, OPT_MANIFEST },
		{ "from", required_argument, NULL, OPT_FROM },
		{ "ovf-version", required_argument, NULL, OPT_OVF_VERSION },
		{ "progress", no_argument, NULL, 'p' },
		{ "output", required_argument, NULL, OPT_OUTPUT },
		{ "allow-escape", no_argument, NULL, OPT_ALLOW_ESCAPE },
		{ NULL, 0, NULL, 0 },
	};
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_vm_convert_opts o = { 0 };
	enum cli_output output = OUTPUT_HUMAN;
	struct vimg_warnings *w = NULL;
	struct progress *prog;
	struct vimg_vm *vm;
	unsigned flags = 0;
	const char *from = NULL;
	bool progress = false;
	int opt, rc;

	cli_getopt_reset();
	while ((opt = getopt_long(argc, argv, "hO:o:p", lopts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			return cli_help(&cmd_convert);
		case OPT_TO:
			o.to = strcmp(optarg, "vmware") ? optarg : "vmx";
			break;
		case 'O':
			o.disk_format = optarg;
			break;
		case 'o':
			o.disk_options = optarg;
			break;
		case OPT_BUS:
			if (strcmp(optarg, "sata") && strcmp(optarg, "ide") && strcmp(optarg, "scsi") &&
			    strcmp(optarg, "virtio"))
				return cli_usage(&cmd_convert, "--bus: sata, ide, scsi or virtio");
			o.bus = optarg;
			break;
		case OPT_NIC_MODEL:
			o.nic_model = optarg;
			break;
		case OPT_NEW_IDENTITY:
			o.new_identity = true;
			break;
		case OPT_MANIFEST:
			if (strcmp(optarg, "sha1") && strcmp(optarg, "sha256") && strcmp(optarg, "sha512"))
				return cli_usage(&cmd_convert, "--manifest: sha1, sha256 or sha512");
			o.manifest = optarg;
			break;
		case OPT_OVF_VERSION:
			if (strcmp(optarg, "1.0") && strcmp(optarg, "2.0"))
				return cli_usage(&cmd_convert, "--ovf-version: 1.0 or 2.0");
			o.ovf_version = optarg[0] == '2' ? 2 : 1;
			break;
		case OPT_FROM:
			from = !strcmp(optarg, "vmware") ? "vmx" : !strcmp(optarg, "ova") ? "ovf" : optarg;
			break;
		case 'p':
			progress = true;
			break;
		case OPT_OUTPUT:
			if (cli_parse_output(&cmd_convert, optarg, &output))
				return CLI_USAGE;
			break;
		case OPT_ALLOW_ESCAPE:
			flags |= VIMG_VM_ALLOW_ESCAPE;
			break;
		default:
			return cli_usage(&cmd_convert, NULL);
		}
	}
	if (argc - optind != 2)
		return cli_usage(&cmd_convert, "--to expects SOURCE and OUTDIR");
	if (o.disk_format && cli_check_format(&cmd_convert, o.disk_format))
		return CLI_USAGE;
	if (vimg_vm_open(argv[optind], from, flags, &vm, &err))
		return cli_error(&cmd_convert, &err);
	prog = progress_new(progress);
	o.progress = progress_update;
	o.progress_opaque = prog;
	rc = vimg_vm_convert(vm, argv[optind + 1], &o, &w, &err);
	progress_free(prog, rc == 0);
	if (output == OUTPUT_JSON) {
		struct json j;

		json_init(&j, stdout);
		json_begin(&j, NULL, false);
		json_str(&j, "source", vimg_vm_config_path(vm));
		json_str(&j, "target", o.to);
		json_str(&j, "output", argv[optind + 1]);
		json_bool(&j, "converted", rc == 0);
		if (rc)
			json_str(&j, "error", err.msg);
		cli_warnings_json(&j, w);
		json_end(&j);
		json_finish(&j);
	} else {
		cli_warnings_print(w);
	}
	vimg_warnings_free(w);
	vimg_vm_close(vm);
	return rc ? cli_error(&cmd_convert, &err) : CLI_OK;
}
