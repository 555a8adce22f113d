/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vimg clone: a full or linked clone of a VMware VM (vimg_vm_clone), then a
 * report of the new VM's identity and disks.
 */
#include "config.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum { OPT_NAME = 300, OPT_LINKED, OPT_SNAPSHOT, OPT_NEW_MACS, OPT_KEEP_SNAPSHOTS };

static const char usage[] =
	"Usage: vimg clone [--name=N] [--linked] [--snapshot=S] [-O FMT] [-o OPTS]\n"
	"                  [--new-macs] [-p] [--output=human|json] [--allow-escape]\n"
	"                  TEMPLATE NEWDIR\n"
	"\n"
	"Clone the VMware VM TEMPLATE (a folder or a .vmx) into the new folder NEWDIR\n"
	"as N.vmx, with a new identity: uuid.bios and uuid.location regenerated,\n"
	"vc.uuid dropped, generated MACs regenerated, new disk CIDs, displayName N.\n"
	"Disks are named N.vmdk, N_1.vmdk, ...; the nvram and .vmxf are copied as\n"
	"N.nvram and N.vmxf. Snapshots, saved state, logs and locks are not copied.\n"
	"The template is only read.\n"
	"\n"
	"  --name=N             name of the clone (default: NEWDIR's last component)\n"
	"  --linked             make deltas over the template's disks (N-000001.vmdk)\n"
	"                       instead of copying them\n"
	"  --snapshot=S         clone the state of snapshot S (name or uid), not the\n"
	"                       current state\n"
	"  -O FMT               disk format of a full clone (default vmdk)\n"
	"  -o OPTS              create options of a full clone's disks, e.g.\n"
	"                       subformat=streamOptimized\n"
	"  --new-macs           regenerate static MACs too\n"
	"  -p                   show progress\n"
	"  --output=FMT         human (default) or json\n"
	"  --allow-escape       the template may name files outside its folder\n"
	"  -h, --help           show this help\n"
	"\n"
	"Not yet: --keep-snapshots (copying the snapshot tree with the clone).\n";

static void report(const struct vimg_vm *vm, const struct vimg_warnings *w, bool linked,
		   enum cli_output output)
{
	if (output == OUTPUT_JSON) {
		struct json j;

		json_init(&j, stdout);
		json_begin(&j, NULL, false);
		json_str(&j, "vm", vimg_vm_config_path(vm));
		json_str(&j, "name", vimg_vm_name(vm));
		json_str(&j, "kind", linked ? "linked" : "full");
		json_str(&j, "uuid.bios", vimg_vm_uuid(vm, "uuid.bios"));
		json_str(&j, "uuid.location", vimg_vm_uuid(vm, "uuid.location"));
		cli_vm_disks_json(&j, vm);
		json_begin(&j, "nics", true);
		for (size_t i = 0; i < vimg_vm_nic_count(vm); i++) {
			json_begin(&j, NULL, false);
			json_u64(&j, "index", vimg_vm_nic_get(vm, i)->index);
			json_str(&j, "mac", vimg_vm_nic_get(vm, i)->mac);
			json_end(&j);
		}
		json_end(&j);
		cli_warnings_json(&j, w);
		json_end(&j);
		json_finish(&j);
		return;
	}
	printf("Cloned to %s (%s clone, name \"%s\")\n", vimg_vm_config_path(vm),
	       linked ? "linked" : "full", vimg_vm_name(vm) ? vimg_vm_name(vm) : "");
	for (size_t i = 0; i < vimg_vm_disk_count(vm); i++) {
		const struct vimg_vm_disk *d = vimg_vm_disk_get(vm, i);

		if (d->kind == VIMG_DEV_DISK)
			printf("  %s: %s\n", d->node, d->file);
	}
	cli_warnings_print(w);
}

static int cmd_clone_run(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "linked", no_argument, NULL, OPT_LINKED },
		{ "snapshot", required_argument, NULL, OPT_SNAPSHOT },
		{ "new-macs", no_argument, NULL, OPT_NEW_MACS },
		{ "keep-snapshots", no_argument, NULL, OPT_KEEP_SNAPSHOTS },
		{ "output", required_argument, NULL, OPT_OUTPUT },
		{ "allow-escape", no_argument, NULL, OPT_ALLOW_ESCAPE },
		{ NULL, 0, NULL, 0 },
	};
	struct vimg_vm_clone_opts co = { 0 };
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_warnings *w = NULL;
	enum cli_output output = OUTPUT_HUMAN;
	struct progress *prog = NULL;
	struct vimg_vm *src = NULL, *clone = NULL;
	char *opts = NULL, *path = NULL;
	unsigned vflags = 0;
	bool progress = false;
	int opt, rc = CLI_OK;

	cli_getopt_reset();
	while ((opt = getopt_long(argc, argv, "hO:o:p", lopts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			free(opts);
			return cli_help(&cmd_clone);
		case OPT_NAME:
			co.name = optarg;
			break;
		case OPT_LINKED:
			co.linked = true;
			break;
		case OPT_SNAPSHOT:
			co.snapshot = optarg;
			break;
		case OPT_NEW_MACS:
			co.new_macs = true;
			break;
		case OPT_KEEP_SNAPSHOTS:
			co.keep_snapshots = true;
			break;
		case 'O':
			if (cli_check_format(&cmd_clone, optarg)) {
				free(opts);
				return CLI_USAGE;
			}
			co.format = optarg;
			break;
		case 'o':
			if (cli_opts_append(&opts, optarg)) {
				free(opts);
				return CLI_ERR;
			}
			break;
		case 'p':
			progress = true;
			break;
		case OPT_OUTPUT:
			if (cli_parse_output(&cmd_clone, optarg, &output)) {
				free(opts);
				return CLI_USAGE;
			}
			break;
		case OPT_ALLOW_ESCAPE:
			vflags |= VIMG_VM_ALLOW_ESCAPE;
			break;
		default:
			free(opts);
			return cli_usage(&cmd_clone, NULL);
		}
	}
	if (optind != argc - 2) {
		free(opts);
		return cli_usage(&cmd_clone, "expected TEMPLATE and NEWDIR");
	}
	co.options = opts;
	if (progress) {
		prog = progress_new(true);
		co.progress = progress_update;
		co.progress_opaque = prog;
	}
	if (vimg_vm_open(argv[optind], NULL, vflags, &src, &err) ||
	    vimg_vm_clone(src, argv[optind + 1], &co, &w, &err)) {
		rc = cli_error(&cmd_clone, &err);
		goto out;
	}
	progress_free(prog, true);
	prog = NULL;
	/* Report what was written, read back from the new folder. */
	if (vimg_vm_open(argv[optind + 1], NULL, VIMG_VM_ALLOW_ESCAPE, &clone, &err)) {
		rc = cli_error(&cmd_clone, &err);
		goto out;
	}
	report(clone, w, co.linked, output);
out:
	progress_free(prog, false);
	vimg_vm_close(clone);
	vimg_vm_close(src);
	vimg_warnings_free(w);
	free(opts);
	free(path);
	return rc;
}

const struct cmd cmd_clone = {
	.name = "clone",
	.summary = "clone a VMware VM (full or linked) with a new identity",
	.usage = usage,
	.run = cmd_clone_run,
};
