/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vimg inspect: a VM bundle described from its metadata (vimg_vm_inspect),
 * rendered as text or JSON. Read-only.
 */
#include "config.h"

#include <getopt.h>

#include "cli.h"

static const char usage[] =
	"Usage: vimg inspect [--output=human|json] [--allow-escape] BUNDLE|FILE.vmx\n"
	"\n"
	"Describe a VMware VM (a folder or its .vmx) from its metadata: the\n"
	"configuration (identity, firmware, CPUs, memory, controllers, disks,\n"
	"NICs, ports), each disk's chain with formats, sizes and allocation, the\n"
	"snapshot tree, every file in the folder with its role, and the problems\n"
	"found: missing files, broken delta chains, absent snapshot disks, locks,\n"
	"keys that look mistyped. Nothing is written; disks are opened read-only\n"
	"and only their metadata is read.\n"
	"\n"
	"  --output=FMT         human (default) or json\n"
	"  --allow-escape       the VM may name files outside its folder\n"
	"  -h, --help           show this help\n"
	"\n"
	"Exit status: 0 when inspected (problems are reported, see \"problems\"),\n"
	"1 when the VM cannot be read, 2 for usage errors.\n";

static int cmd_inspect_run(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "output", required_argument, NULL, OPT_OUTPUT },
		{ "allow-escape", no_argument, NULL, OPT_ALLOW_ESCAPE },
		{ NULL, 0, NULL, 0 },
	};
	struct vimg_error err = VIMG_ERROR_INIT;
	enum cli_output output = OUTPUT_HUMAN;
	struct vimg_vm *vm;
	struct vimg_emit em;
	struct json j;
	struct text t;
	unsigned flags = 0, problems = 0;
	int opt, rc;

	cli_getopt_reset();
	while ((opt = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			return cli_help(&cmd_inspect);
		case OPT_OUTPUT:
			if (cli_parse_output(&cmd_inspect, optarg, &output))
				return CLI_USAGE;
			break;
		case OPT_ALLOW_ESCAPE:
			flags |= VIMG_VM_ALLOW_ESCAPE;
			break;
		default:
			return cli_usage(&cmd_inspect, NULL);
		}
	}
	if (optind != argc - 1)
		return cli_usage(&cmd_inspect, "expected one VM (folder or .vmx)");
	if (vimg_vm_open(argv[optind], NULL, flags, &vm, &err))
		return cli_error(&cmd_inspect, &err);
	if (output == OUTPUT_JSON) {
		json_init(&j, stdout);
		json_emit_init(&em, &j);
		json_begin(&j, NULL, false);
	} else {
		text_emit_init(&em, &t, stdout, 0);
	}
	rc = vimg_vm_inspect(vm, &em, &problems, &err);
	if (output == OUTPUT_JSON) {
		json_end(&j);
		json_finish(&j);
	} else if (!rc) {
		printf("%u problem%s found\n", problems, problems == 1 ? "" : "s");
	}
	vimg_vm_close(vm);
	return rc ? cli_error(&cmd_inspect, &err) : CLI_OK;
}

const struct cmd cmd_inspect = {
	.name = "inspect",
	.summary = "describe a VM bundle: configuration, disks, snapshots, files, problems",
	.usage = usage,
	.run = cmd_inspect_run,
};
