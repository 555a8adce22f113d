/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vimg amend: qemu-img amend's command line over vimg_image_amend. As in
 * qemu-img, -o backing_file= and backing_fmt= change the backing pointer
 * (without copying data: vimg rebase keeps the disk), to the same parent
 * found elsewhere where the format links a child to its parent
 * (vimg_image_move_backing).
 */
#include "config.h"

#include <getopt.h>
#include <stdlib.h>

#include "cli.h"

static const char usage[] =
	"Usage: vimg amend [-f FMT] -o OPTIONS [-q] [--allow-escape] IMAGE\n"
	"\n"
	"Change format options of IMAGE in place, by the names of its create\n"
	"options (-o help lists them): qcow2's compat and lazy_refcounts, and\n"
	"backing_file=/backing_fmt= for the backing pointer (VMDK, VHD, VHDX: the\n"
	"same parent, moved; vimg rebase changes the parent). Options that shape\n"
	"the layout cannot change and are refused.\n"
	"\n"
	"  -f, --format=FMT     image format (default: probe)\n"
	"  -o OPTIONS           \"key=val,...\"; may be repeated\n"
	"  -q, --quiet          print nothing\n"
	"  --allow-escape       allow backing files outside the image's directory\n"
	"  -h, --help           show this help\n";

static int cmd_amend_run(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "format", required_argument, NULL, 'f' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "allow-escape", no_argument, NULL, OPT_ALLOW_ESCAPE },
		{ NULL, 0, NULL, 0 },
	};
	const char *format = NULL;
	char *opts = NULL, *backing = NULL, *bfmt = NULL;
	unsigned oflags = VIMG_OPEN_RDWR | VIMG_OPEN_NO_BACKING;
	int c, rc = CLI_OK;

	while ((c = getopt_long(argc, argv, "hf:o:q", lopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			rc = cli_help(&cmd_amend);
			goto out;
		case 'f':
			format = optarg;
			break;
		case 'o':
			if (cli_opts_append(&opts, optarg)) {
				rc = cli_errorf(&cmd_amend, "out of memory");
				goto out;
			}
			break;
		case 'q':
			break;
		case OPT_ALLOW_ESCAPE:
			oflags |= VIMG_OPEN_ALLOW_ESCAPE;
			break;
		default:
			rc = cli_usage(&cmd_amend, NULL);
			goto out;
		}
	}
	if (format && (rc = cli_check_format(&cmd_amend, format)))
		goto out;
	if (format && cli_opts_want_help(opts)) {
		cli_opts_print_help(format, false);
		goto out;
	}
	if (optind + 1 != argc || !opts) {
		rc = cli_usage(&cmd_amend, "expected -o OPTIONS and IMAGE");
		goto out;
	}
	if (cli_opts_take(&opts, "backing_file", &backing) ||
	    cli_opts_take(&opts, "backing_fmt", &bfmt)) {
		rc = cli_errorf(&cmd_amend, "out of memory");
		goto out;
	}
	if (bfmt && !backing) {
		rc = cli_usage(&cmd_amend, "backing_fmt needs backing_file");
		goto out;
	}

	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *img;
	if (vimg_image_open(argv[optind], format, oflags, &img, &err) < 0) {
		rc = cli_error(&cmd_amend, &err);
		goto out;
	}
	if (cli_opts_want_help(opts)) {
		cli_opts_print_help(vimg_image_format(img), false);
		vimg_image_close(img, NULL);
		goto out;
	}
	int arc = opts ? vimg_image_amend(img, opts, &err) : 0;
	/* backing_file= names where the same parent is now; "" drops it. */
	if (!arc && backing)
		arc = *backing ? vimg_image_move_backing(img, backing, bfmt, &err)
			       : vimg_image_change_backing(img, NULL, NULL, &err);
	if (!arc)
		arc = vimg_image_close(img, &err);
	else
		vimg_image_close(img, NULL);
	rc = arc < 0 ? cli_error(&cmd_amend, &err) : CLI_OK;
out:
	free(opts);
	free(backing);
	free(bfmt);
	return rc;
}

const struct cmd cmd_amend = {
	.name = "amend",
	.summary = "change format options of an image in place",
	.usage = usage,
	.run = cmd_amend_run,
};
