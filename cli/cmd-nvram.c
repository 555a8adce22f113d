/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vimg nvram: a VM's UEFI variables (VMware's .nvram, an edk2 store) listed
 * and decoded, or written as the variable store OVMF boots from or as
 * VMware's .nvram, so that a VM moved to KVM or back to VMware keeps its boot
 * entries and Secure Boot keys.
 */
#include "config.h"

#include <getopt.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
	"Usage: vimg nvram list [--output=human|json] [--allow-escape] SRC\n"
	"       vimg nvram export --to ovmf|vmware [--template FILE]\n"
	"                         [--output=human|json] [--allow-escape] SRC OUT\n"
	"\n"
	"SRC is a VMware .nvram file, an edk2 variable store (OVMF_VARS.fd), or a\n"
	"VM (a folder or its .vmx: its nvram = \"...\" file). SRC is only read.\n"
	"\n"
	"list: every variable (name, vendor GUID, attributes, size, SHA-256,\n"
	"  decoded value where one is known), the boot entries (BootOrder, each\n"
	"  Boot#### with its description and device path as efibootmgr prints\n"
	"  them) and the Secure Boot state (mode; PK, KEK, db, dbx with their\n"
	"  certificate subjects and hashes). VMware's sections are listed too,\n"
	"  so BIOS VMs' files show what they hold.\n"
	"\n"
	"export --to ovmf: write the non-volatile variables as an edk2 variable\n"
	"  store for OVMF (QEMU/KVM, libvirt's per-VM nvram), authenticated\n"
	"  variables kept. Without --template the store has the layout of\n"
	"  OVMF's 4 MiB build (540672 bytes, as Debian's OVMF_VARS_4M.fd); with\n"
	"  it, the template's layout and its variables, those SRC also has\n"
	"  replaced. The same SRC always gives the same bytes. Volatile variables\n"
	"  (the firmware makes them at boot) are left out with a warning.\n"
	"\n"
	"export --to vmware: write them as VMware's .nvram, authenticated\n"
	"  variables kept. Without --template the container VMware makes for an\n"
	"  EFI VM's variables (one EFI_/NV section of 256 KiB, 262164 bytes); with\n"
	"  it (a VMware .nvram), the template's sections and layout, its variables\n"
	"  kept unless SRC has them too. Deterministic, volatile variables left\n"
	"  out, as for ovmf.\n"
	"\n"
	"  --to FORMAT          export target: ovmf or vmware\n"
	"  --template FILE      export: start from this store (edk2 for ovmf,\n"
	"                       a VMware .nvram for vmware)\n"
	"  --output=FMT         human (default) or json\n"
	"  --allow-escape       a VM's nvram may lie outside its folder\n"
	"  -h, --help           show this help\n"
	"\n"
	"Example:\n"
	"  vimg nvram export --to ovmf vm/win11.vmx win11_VARS.fd\n"
	"  vimg nvram export --to vmware win11_VARS.fd win11/win11.nvram\n";

enum { OPT_TO = 300, OPT_TEMPLATE };

static int open_source(const char *src, unsigned flags, struct vimg_nvram **nv,
		       struct vimg_error *err)
{
	struct vimg_vm *vm;
	int rc;

	if (cli_is_bundle(src)) {
		if (vimg_vm_open(src, NULL, flags, &vm, err))
			return -1;
		rc = vimg_vm_nvram_open(vm, nv, err);
		vimg_vm_close(vm);
		return rc;
	}
	return vimg_nvram_open(src, 0, nv, err);
}

static int cmd_nvram_run(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "output", required_argument, NULL, OPT_OUTPUT },
		{ "allow-escape", no_argument, NULL, OPT_ALLOW_ESCAPE },
		{ "to", required_argument, NULL, OPT_TO },
		{ "template", required_argument, NULL, OPT_TEMPLATE },
		{ NULL, 0, NULL, 0 },
	};
	struct vimg_error err = VIMG_ERROR_INIT;
	enum cli_output output = OUTPUT_HUMAN;
	const char *to = NULL, *template = NULL, *action;
	struct vimg_warnings *w = NULL;
	struct vimg_nvram *nv;
	unsigned flags = 0;
	bool export;
	int opt, rc;

	cli_getopt_reset();
	while ((opt = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			return cli_help(&cmd_nvram);
		case OPT_OUTPUT:
			if (cli_parse_output(&cmd_nvram, optarg, &output))
				return CLI_USAGE;
			break;
		case OPT_ALLOW_ESCAPE:
			flags |= VIMG_VM_ALLOW_ESCAPE;
			break;
		case OPT_TO:
			to = optarg;
			break;
		case OPT_TEMPLATE:
			template = optarg;
			break;
		default:
			return cli_usage(&cmd_nvram, NULL);
		}
	}
	if (optind >= argc)
		return cli_usage(&cmd_nvram, "expected an action: list or export");
	action = argv[optind++];
	export = !strcmp(action, "export");
	if (!export && strcmp(action, "list"))
		return cli_usage(&cmd_nvram, "unknown action '%s' (list or export)", action);
	if (argc - optind != (export ? 2 : 1))
		return cli_usage(&cmd_nvram, export ? "export expects SRC and OUT"
						    : "list expects one SRC");
	if (export && (!to || (strcmp(to, "ovmf") && strcmp(to, "vmware"))))
		return cli_usage(&cmd_nvram, "export needs --to ovmf or --to vmware");
	if (!export && (to || template))
		return cli_usage(&cmd_nvram, "--to and --template apply to export");
	if (open_source(argv[optind], flags, &nv, &err))
		return cli_error(&cmd_nvram, &err);
	if (export && !strcmp(to, "ovmf"))
		rc = vimg_nvram_export_ovmf(nv, argv[optind + 1], template, &w, &err);
	else if (export)
		rc = vimg_nvram_export_vmware(nv, argv[optind + 1], template, &w, &err);
	if (output == OUTPUT_JSON) {
		struct vimg_emit em;
		struct json j;

		json_init(&j, stdout);
		json_emit_init(&em, &j);
		json_begin(&j, NULL, false);
		json_str(&j, "source", argv[optind]);
		if (export) {
			json_str(&j, "output", argv[optind + 1]);
			json_str(&j, "format", to);
			json_bool(&j, "written", rc == 0);
			cli_warnings_json(&j, w);
		} else {
			rc = vimg_nvram_info(nv, &em, &err);
		}
		json_end(&j);
		json_finish(&j);
	} else if (export) {
		cli_warnings_print(w);
	} else {
		struct vimg_emit em;
		struct text t;

		text_emit_init(&em, &t, stdout, 0);
		rc = vimg_nvram_info(nv, &em, &err);
	}
	vimg_warnings_free(w);
	vimg_nvram_close(nv);
	return rc ? cli_error(&cmd_nvram, &err) : CLI_OK;
}

const struct cmd cmd_nvram = {
	.name = "nvram",
	.summary = "list a VM's UEFI variables, or export them for OVMF or VMware",
	.usage = usage,
	.run = cmd_nvram_run,
};
