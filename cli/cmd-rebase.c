/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vimg rebase: qemu-img rebase's command line over vimg_image_rebase. -b ""
 * removes the backing file (the image then holds the whole disk).
 */
#include "config.h"

#include <getopt.h>

#include "cli.h"

static const char usage[] =
	"Usage: vimg rebase [-f FMT] [-u] -b BACKING [-F BACKING_FMT] [-p] [-q]\n"
	"                   [--allow-escape] IMAGE\n"
	"\n"
	"Make BACKING the backing file of IMAGE (\"\" for none). Unless -u, IMAGE\n"
	"first receives every cluster where it holds nothing and BACKING would\n"
	"read differently from its old backing chain, so the guest's disk does not\n"
	"change. qcow2, VMDK delta and differencing VHD/VHDX images can be\n"
	"rebased.\n"
	"\n"
	"  -f, --format=FMT     format of IMAGE (default: probe)\n"
	"  -b BACKING           the new backing file, named relative to IMAGE\n"
	"  -F BACKING_FMT       its format (default: probe)\n"
	"  -u                   unsafe: only change the pointer (the old backing\n"
	"                       need not exist)\n"
	"  -p, --progress       show progress on stderr\n"
	"  -q, --quiet          print nothing\n"
	"  --allow-escape       allow backing files outside IMAGE's directory\n"
	"  -h, --help           show this help\n";

static int cmd_rebase_run(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "format", required_argument, NULL, 'f' },
		{ "progress", no_argument, NULL, 'p' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "allow-escape", no_argument, NULL, OPT_ALLOW_ESCAPE },
		{ NULL, 0, NULL, 0 },
	};
	const char *format = NULL, *backing = NULL, *bfmt = NULL;
	unsigned flags = 0, oflags = VIMG_OPEN_RDWR;
	bool progress = false, quiet = false;
	int c, rc;

	while ((c = getopt_long(argc, argv, "hf:b:F:upq", lopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			return cli_help(&cmd_rebase);
		case 'f':
			format = optarg;
			break;
		case 'b':
			backing = optarg;
			break;
		case 'F':
			bfmt = optarg;
			break;
		case 'u':
			flags |= VIMG_REBASE_UNSAFE;
			break;
		case 'p':
			progress = true;
			break;
		case 'q':
			quiet = true;
			break;
		case OPT_ALLOW_ESCAPE:
			oflags |= VIMG_OPEN_ALLOW_ESCAPE;
			break;
		default:
			return cli_usage(&cmd_rebase, NULL);
		}
	}
	if (optind + 1 != argc || !backing)
		return cli_usage(&cmd_rebase, "expected -b BACKING and IMAGE");
	if (!*backing)
		backing = NULL;
	if (bfmt && !backing)
		return cli_usage(&cmd_rebase, "-F needs a backing file");
	if ((format && (rc = cli_check_format(&cmd_rebase, format))) ||
	    (bfmt && (rc = cli_check_format(&cmd_rebase, bfmt))))
		return rc;
	/* -u: the old backing file may be gone. */
	if (flags & VIMG_REBASE_UNSAFE)
		oflags |= VIMG_OPEN_NO_BACKING;

	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *img;
	if (vimg_image_open(argv[optind], format, oflags, &img, &err) < 0)
		return cli_error(&cmd_rebase, &err);
	struct progress *p = progress_new(progress && !quiet);
	if (!p) {
		vimg_image_close(img, NULL);
		return cli_errorf(&cmd_rebase, "out of memory");
	}
	rc = vimg_image_rebase(img, backing, bfmt, flags, progress_update, p, &err);
	progress_free(p, rc == 0);
	if (rc == 0)
		rc = vimg_image_close(img, &err);
	else
		vimg_image_close(img, NULL);
	return rc < 0 ? cli_error(&cmd_rebase, &err) : CLI_OK;
}

const struct cmd cmd_rebase = {
	.name = "rebase",
	.summary = "change the backing file of an image",
	.usage = usage,
	.run = cmd_rebase_run,
};
