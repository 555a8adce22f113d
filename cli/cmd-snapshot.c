/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vimg snapshot: an image's internal snapshots (-l, -c, -a, -d as
 * qemu-img snapshot), or, given a VM folder or .vmx, the VM's snapshot tree
 * (cmd-snapshot-vm.c).
 */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>

#include "cli.h"

static const char usage[] =
	"Usage: vimg snapshot -l | -c NAME | -a NAME | -d NAME [-f FMT] [--output=human|json]\n"
	"                     [--allow-escape] IMAGE\n"
	"       vimg snapshot -l | -c NAME | -a NAME | -d NAME | --consolidate\n"
	"                     [--description=TEXT] [--force] [-p] [--output=human|json]\n"
	"                     [--allow-escape] BUNDLE|FILE.vmx\n"
	"\n"
	"On an IMAGE (qcow2): list, create, apply and delete internal snapshots as\n"
	"qemu-img snapshot does, in qemu-img's table. -l opens the image read-only.\n"
	"On a VMware VM (a folder or its .vmx): list the snapshot tree, take a\n"
	"disk-only snapshot (a new delta for every disk), revert to one, delete one\n"
	"(merging as VMware does: no other snapshot and not the current state\n"
	"change), or collapse chain links nothing names. These refuse while the\n"
	"VM looks powered on (a .lck, a .vmem without .vmss, a suspended state)\n"
	"unless --force.\n"
	"\n"
	"  -l, --list           list snapshots\n"
	"  -c NAME              create a snapshot named NAME\n"
	"  -a NAME              apply (revert to) the snapshot with that name or id\n"
	"  -d NAME              delete the snapshot with that name or id\n"
	"  --consolidate        (VM) collapse redundant delta links\n"
	"  --description=TEXT   (VM) description of a new snapshot\n"
	"  --force              (VM) go ahead although the VM looks running\n"
	"  -p                   (VM) show progress while disks are merged\n"
	"  -f, --format=FMT     image format (default: probe)\n"
	"  --output=FMT         human (default) or json, for -l\n"
	"  --allow-escape       allow files outside the image's or VM's folder\n"
	"  -h, --help           show this help\n";

struct list_ctx {
	enum cli_output output;
	struct json j;
	unsigned count;
};

static int list_cb(void *opaque, const struct vimg_snapshot *s)
{
	struct list_ctx *c = opaque;
	if (c->output == OUTPUT_JSON) {
		struct json *j = &c->j;
		cli_snapshot_json(j, s);
	} else {
		if (c->count == 0) {
			printf("Snapshot list:\n");
			cli_snapshot_header();
		}
		cli_snapshot_line(s);
	}
	c->count++;
	return 0;
}

static int cmd_snapshot_run(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "list", no_argument, NULL, 'l' },
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, OPT_OUTPUT },
		{ "allow-escape", no_argument, NULL, OPT_ALLOW_ESCAPE },
		{ NULL, 0, NULL, 0 },
	};
	const char *format = NULL, *arg = NULL;
	char op = 0;
	unsigned flags = VIMG_OPEN_NO_BACKING;
	struct list_ctx ctx = { .output = OUTPUT_HUMAN };
	int c, rc;

	/* A VM folder or .vmx: the bundle's snapshot tree (cmd-snapshot-vm.c). */
	if (argc > 1 && cli_is_bundle(argv[argc - 1]))
		return cli_snapshot_vm(&cmd_snapshot, argc, argv);
	while ((c = getopt_long(argc, argv, "hlf:c:d:a:", lopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			return cli_help(&cmd_snapshot);
		case 'l':
		case 'c':
		case 'd':
		case 'a':
			if (op)
				return cli_usage(&cmd_snapshot, "give one of -l, -c, -a, -d");
			op = (char)c;
			arg = optarg;
			break;
		case 'f':
			format = optarg;
			break;
		case OPT_OUTPUT:
			if ((rc = cli_parse_output(&cmd_snapshot, optarg, &ctx.output)))
				return rc;
			break;
		case OPT_ALLOW_ESCAPE:
			flags |= VIMG_OPEN_ALLOW_ESCAPE;
			break;
		default:
			return cli_usage(&cmd_snapshot, NULL);
		}
	}
	if (!op)
		return cli_usage(&cmd_snapshot, "nothing to do: give -l, -c, -a or -d");
	if (argc - optind != 1)
		return cli_usage(&cmd_snapshot, "expected one IMAGE");
	if (format && (rc = cli_check_format(&cmd_snapshot, format)))
		return rc;

	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *img = NULL;
	if (op != 'l')
		flags |= VIMG_OPEN_RDWR;
	if (vimg_image_open(argv[optind], format, flags, &img, &err) < 0)
		return cli_error(&cmd_snapshot, &err);
	if (op != 'l') {
		rc = op == 'c'	 ? vimg_image_snapshot_create(img, arg, &err)
		     : op == 'a' ? vimg_image_snapshot_apply(img, arg, &err)
				 : vimg_image_snapshot_delete(img, arg, &err);
		rc = vimg_image_close(img, rc ? NULL : &err) ?: rc;
		return rc ? cli_error(&cmd_snapshot, &err) : CLI_OK;
	}
	json_init(&ctx.j, stdout);
	if (ctx.output == OUTPUT_JSON)
		json_begin(&ctx.j, NULL, true);
	rc = vimg_image_snapshot_list(img, list_cb, &ctx, &err);
	if (ctx.output == OUTPUT_JSON) {
		json_end(&ctx.j);
		json_finish(&ctx.j);
	}
	vimg_image_close(img, NULL);
	return rc < 0 ? cli_error(&cmd_snapshot, &err) : CLI_OK;
}

const struct cmd cmd_snapshot = {
	.name = "snapshot",
	.summary = "list, create, apply, delete snapshots of an image or a VMware VM",
	.usage = usage,
	.run = cmd_snapshot_run,
};
