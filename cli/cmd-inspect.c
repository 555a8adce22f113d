/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vimg inspect: a VM bundle described from its metadata (vimg_vm_inspect),
 * rendered as text or JSON. Read-only.
 */
#include "config.h"

#include <getopt.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

static const char usage[] =
	"Usage: vimg inspect [--output=human|json] [--allow-escape]\n"
	"                    BUNDLE|FILE.vmx|FILE.nvram|FILE.vmss\n"
	"\n"
	"Describe a VMware VM (a folder or its .vmx) from its metadata: the\n"
	"configuration (identity, firmware, CPUs, memory, controllers, disks,\n"
	"NICs, ports), each disk's chain with formats, sizes and allocation, the\n"
	"snapshot tree, every file in the folder with its role, and the problems\n"
	"found: missing files, broken delta chains, absent snapshot disks, locks,\n"
	"keys that look mistyped; the .nvram's variables decoded (boot entries,\n"
	"Secure Boot state and keys). Nothing is written; disks are opened\n"
	"read-only and only their metadata is read.\n"
	"\n"
	"Given a firmware-variable file instead (VMware's .nvram, an edk2 store\n"
	"such as OVMF_VARS.fd), describe it as vimg nvram list does; given a saved\n"
	"state (.vmss, .vmsn, or a .vmem with its state beside it), its header,\n"
	"groups, vCPU registers and memory regions.\n"
	"\n"
	"  --output=FMT         human (default) or json\n"
	"  --allow-escape       the VM may name files outside its folder\n"
	"  -h, --help           show this help\n"
	"\n"
	"Exit status: 0 when inspected (problems are reported, see \"problems\"),\n"
	"1 when the VM cannot be read, 2 for usage errors.\n";

static bool is_state(const char *path)
{
	size_t l = strlen(path);

	return l > 5 && (!strcasecmp(path + l - 5, ".vmss") || !strcasecmp(path + l - 5, ".vmsn") ||
			 !strcasecmp(path + l - 5, ".vmem"));
}

/* A state with its memory where it has some, else its metadata alone (the
 * .vmsn of a powered-off snapshot). */
static int open_state(const char *path, struct vimg_vmstate **st, struct vimg_error *err)
{
	if (vimg_vmstate_open(path, NULL, 0, st, err) == 0)
		return 0;
	if (err->code != VIMG_ENOENT)
		return -1;
	*err = (struct vimg_error)VIMG_ERROR_INIT;
	return vimg_vmstate_open(path, NULL, VIMG_VMSTATE_METADATA_ONLY, st, err);
}

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
	struct vimg_nvram *nv = NULL;
	struct vimg_vmstate *state = NULL;
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
		return cli_usage(&cmd_inspect, "expected one VM (folder or .vmx), .nvram or .vmss");
	/* Firmware variables and saved states are known by their content (a
	 * damaged one by its magic); anything else is taken for a VM. */
	vm = NULL;
	if (!cli_is_bundle(argv[optind]) && vimg_nvram_open(argv[optind], 0, &nv, &err) &&
	    err.code == VIMG_ECORRUPT)
		return cli_error(&cmd_inspect, &err);
	if (!nv && is_state(argv[optind]) && open_state(argv[optind], &state, &err))
		return cli_error(&cmd_inspect, &err);
	if (!nv && !state) {
		err = (struct vimg_error)VIMG_ERROR_INIT;
		if (vimg_vm_open(argv[optind], NULL, flags, &vm, &err))
			return cli_error(&cmd_inspect, &err);
	}
	if (output == OUTPUT_JSON) {
		json_init(&j, stdout);
		json_emit_init(&em, &j);
		json_begin(&j, NULL, false);
	} else {
		text_emit_init(&em, &t, stdout, 0);
	}
	if (vm) {
		rc = vimg_vm_inspect(vm, &em, &problems, &err);
	} else if (nv) {
		em.str(em.opaque, "file", argv[optind]);
		rc = vimg_nvram_info(nv, &em, &err);
		vimg_nvram_close(nv);
	} else {
		em.str(em.opaque, "file", argv[optind]);
		rc = vimg_vmstate_info(state, &em, &err);
		vimg_vmstate_close(state);
	}
	if (output == OUTPUT_JSON) {
		json_end(&j);
		json_finish(&j);
	} else if (!rc && vm) {
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
