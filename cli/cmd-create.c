/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vimg create: qemu-img create's options (-f, -o, -b, -F, -u, -q) over
 * vimg_image_create. SIZE may be left out with -b (the backing image's size
 * is used). FMT may be vimg's name or qemu's (vpc). `-o help` lists the format's create options from the registry;
 * the option values themselves are checked by the library.
 */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
	"Usage: vimg create -f FMT [-o OPTIONS] [-b BACKING [-F BACKING_FMT]] [-u] [-q]\n"
	"                   [--allow-escape] IMAGE [SIZE]\n"
	"\n"
	"Create IMAGE of format FMT with a virtual size of SIZE bytes (suffixes\n"
	"k, M, G, T, P, E for binary multiples). With -b, SIZE defaults to the size\n"
	"of the backing image.\n"
	"\n"
	"  -f, --format=FMT     format of the new image (default: raw)\n"
	"  -o OPTIONS           create options \"key=val,...\"; -o help lists them;\n"
	"                       size=, backing_file= and backing_fmt= as in qemu-img\n"
	"  -b BACKING           backing file, named relative to IMAGE's directory\n"
	"  -F BACKING_FMT       format of the backing file\n"
	"  -u                   do not open the backing file (SIZE is then required)\n"
	"  -q, --quiet          print nothing on success\n"
	"  --allow-escape       allow a backing file outside IMAGE's directory\n"
	"  -h, --help           show this help\n";

/* "Formatting 'x', fmt=qcow2 size=N backing_file=... options" like qemu-img. */
static void print_formatting(const char *path, const char *format, uint64_t size,
			     bool known_size, const char *backing, const char *bfmt,
			     const char *opts)
{
	printf("Formatting '%s', fmt=%s", path, format);
	if (known_size)
		printf(" size=%" PRIu64, size);
	if (backing)
		printf(" backing_file=%s", backing);
	if (bfmt)
		printf(" backing_fmt=%s", bfmt);
	if (opts)
		for (const char *p = opts; *p; p++)
			putchar(*p == ',' ? ' ' : *p);
	putchar('\n');
	fflush(stdout);
}

/* Options as printed: a leading space, the list with commas kept for parsing. */
static char *display_opts(const char *opts)
{
	if (!opts)
		return NULL;
	size_t n = strlen(opts);
	char *s = malloc(n + 2);
	if (s) {
		s[0] = ' ';
		memcpy(s + 1, opts, n + 1);
	}
	return s;
}

static int cmd_create_run(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "format", required_argument, NULL, 'f' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "allow-escape", no_argument, NULL, OPT_ALLOW_ESCAPE },
		{ NULL, 0, NULL, 0 },
	};
	const char *format = "raw", *backing = NULL, *bfmt = NULL;
	char *opts = NULL, *o_size = NULL, *o_backing = NULL, *o_bfmt = NULL;
	bool quiet = false;
	unsigned flags = 0;
	uint64_t size = 0;
	int c, rc = CLI_OK;

	while ((c = getopt_long(argc, argv, "hf:o:b:F:uq", lopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			rc = cli_help(&cmd_create);
			goto out;
		case 'f':
			format = optarg;
			break;
		case 'o':
			if (cli_opts_append(&opts, optarg)) {
				rc = cli_errorf(&cmd_create, "out of memory");
				goto out;
			}
			break;
		case 'b':
			backing = optarg;
			break;
		case 'F':
			bfmt = optarg;
			break;
		case 'u':
			flags |= VIMG_CREATE_NO_BACKING_CHECK;
			break;
		case 'q':
			quiet = true;
			break;
		case OPT_ALLOW_ESCAPE:
			flags |= VIMG_CREATE_ALLOW_ESCAPE;
			break;
		default:
			rc = cli_usage(&cmd_create, NULL);
			goto out;
		}
	}
	if ((rc = cli_check_format(&cmd_create, format)))
		goto out;
	/* qemu-img's -o size=, backing_file=, backing_fmt=; -b, -F and SIZE win. */
	if (cli_opts_take(&opts, "size", &o_size) ||
	    cli_opts_take(&opts, "backing_file", &o_backing) ||
	    cli_opts_take(&opts, "backing_fmt", &o_bfmt)) {
		rc = cli_errorf(&cmd_create, "out of memory");
		goto out;
	}
	if (!backing)
		backing = o_backing;
	if (!bfmt)
		bfmt = o_bfmt;
	if (cli_opts_want_help(opts)) {
		cli_opts_print_help(format, true);
		rc = CLI_OK;
		goto out;
	}
	if (!(vimg_format_features(format) & VIMG_FEAT_CREATE)) {
		rc = cli_errorf(&cmd_create, "format '%s' does not support creating images",
				format);
		goto out;
	}
	if (bfmt && !backing) {
		rc = cli_usage(&cmd_create, "-F needs -b");
		goto out;
	}
	if (bfmt && (rc = cli_check_format(&cmd_create, bfmt)))
		goto out;
	int npos = argc - optind;
	if (npos < 1 || npos > 2) {
		rc = cli_usage(&cmd_create, "expected IMAGE [SIZE]");
		goto out;
	}
	const char *path = argv[optind];
	const char *size_arg = npos == 2 ? argv[optind + 1] : o_size;
	bool have_size = size_arg != NULL;
	if (have_size && (rc = cli_parse_size(&cmd_create, "size", size_arg, &size)))
		goto out;
	if (!have_size && !backing) {
		rc = cli_usage(&cmd_create, "SIZE is required without -b");
		goto out;
	}
	if (!have_size && (flags & VIMG_CREATE_NO_BACKING_CHECK)) {
		rc = cli_usage(&cmd_create, "SIZE is required with -u");
		goto out;
	}

	struct vimg_error err = VIMG_ERROR_INIT;
	if (vimg_image_create(path, format, size, opts, backing, bfmt, flags, &err) < 0) {
		rc = cli_error(&cmd_create, &err);
		goto out;
	}
	/* Printed once the library accepted the options, so errors stand alone. */
	char *shown = display_opts(opts);
	if (!quiet && have_size) {
		print_formatting(path, format, size, true, backing, bfmt, shown);
	} else if (!quiet) {
		/* The size came from the backing image: read it back to show it. */
		struct vimg_image *img = NULL;
		bool known = vimg_image_open(path, format, VIMG_OPEN_NO_BACKING |
					     (flags & VIMG_CREATE_ALLOW_ESCAPE ?
					      VIMG_OPEN_ALLOW_ESCAPE : 0), &img, NULL) == 0;
		print_formatting(path, format, known ? vimg_image_virtual_size(img) : 0, known,
				 backing, bfmt, shown);
		vimg_image_close(img, NULL);
	}
	free(shown);
	rc = CLI_OK;
out:
	free(opts);
	free(o_size);
	free(o_backing);
	free(o_bfmt);
	return rc;
}

const struct cmd cmd_create = {
	.name = "create",
	.summary = "create a new image",
	.usage = usage,
	.run = cmd_create_run,
};
