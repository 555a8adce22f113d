/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vimg snapshot: internal snapshots. Only listing (-l) exists so far;
 * creating, deleting and applying (-c, -d, -a as in qemu-img snapshot) are
 * refused as usage errors until the library can write snapshot tables.
 */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>

#include "cli.h"

static const char usage[] =
	"Usage: vimg snapshot -l [-f FMT] [--output=human|json] [--allow-escape] IMAGE\n"
	"\n"
	"List the internal snapshots of IMAGE (qcow2) in qemu-img's table.\n"
	"The image is opened read-only.\n"
	"\n"
	"  -l, --list           list snapshots\n"
	"  -c NAME, -d NAME, -a NAME\n"
	"                       create, delete, apply: not supported yet\n"
	"  -f, --format=FMT     image format (default: probe)\n"
	"  --output=FMT         human (default) or json\n"
	"  --allow-escape       allow backing files outside the image's directory\n"
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
	const char *format = NULL;
	bool list = false;
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
			list = true;
			break;
		case 'f':
			format = optarg;
			break;
		case 'c':
		case 'd':
		case 'a':
			return cli_usage(&cmd_snapshot, "-%c is not supported yet", c);
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
	if (!list)
		return cli_usage(&cmd_snapshot, "nothing to do (only -l is supported)");
	if (argc - optind != 1)
		return cli_usage(&cmd_snapshot, "expected one IMAGE");
	if (format && (rc = cli_check_format(&cmd_snapshot, format)))
		return rc;

	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *img = NULL;
	if (vimg_image_open(argv[optind], format, flags, &img, &err) < 0)
		return cli_error(&cmd_snapshot, &err);
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
	.summary = "list internal snapshots",
	.usage = usage,
	.run = cmd_snapshot_run,
};
