/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vimg compare: qemu-img compare's options, messages and exit codes
 * (0 identical, 1 different, 2 error) over vimg_compare. Both images are
 * opened read-only. Without -s a size difference is allowed when the extra
 * part of the larger image reads as zeros.
 */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>

#include "cli.h"

enum { CMP_SAME = 0, CMP_DIFFERENT = 1, CMP_ERROR = 2 };

static const char usage[] =
	"Usage: vimg compare [-f FMT] [-F FMT] [-s] [-p] [-q] [--allow-escape] IMAGE1 IMAGE2\n"
	"\n"
	"Compare the guest-visible contents of two images (backing chains\n"
	"included). Exit status: 0 identical, 1 different, 2 error.\n"
	"\n"
	"  -f FMT               format of IMAGE1 (default: probe)\n"
	"  -F FMT               format of IMAGE2 (default: probe)\n"
	"  -s, --strict         images of different sizes differ\n"
	"  -p, --progress       show progress on stderr\n"
	"  -q, --quiet          print nothing, only set the exit status\n"
	"  --allow-escape       allow backing files outside the images' directories\n"
	"  -h, --help           show this help\n";

static int cmd_compare_run(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "strict", no_argument, NULL, 's' },
		{ "progress", no_argument, NULL, 'p' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "allow-escape", no_argument, NULL, OPT_ALLOW_ESCAPE },
		{ NULL, 0, NULL, 0 },
	};
	const char *fmt1 = NULL, *fmt2 = NULL;
	bool strict = false, progress = false, quiet = false;
	unsigned flags = 0;
	int c;

	while ((c = getopt_long(argc, argv, "hf:F:spq", lopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			return cli_help(&cmd_compare);
		case 'f':
			fmt1 = optarg;
			break;
		case 'F':
			fmt2 = optarg;
			break;
		case 's':
			strict = true;
			break;
		case 'p':
			progress = true;
			break;
		case 'q':
			quiet = true;
			break;
		case OPT_ALLOW_ESCAPE:
			flags |= VIMG_OPEN_ALLOW_ESCAPE;
			break;
		default:
			return cli_usage(&cmd_compare, NULL);
		}
	}
	if (argc - optind != 2)
		return cli_usage(&cmd_compare, "expected IMAGE1 and IMAGE2");
	if (fmt1 && cli_check_format(&cmd_compare, fmt1))
		return CMP_ERROR;
	if (fmt2 && cli_check_format(&cmd_compare, fmt2))
		return CMP_ERROR;

	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *a = NULL, *b = NULL;
	struct progress *p = NULL;
	int rc = CMP_ERROR;

	if (vimg_image_open(argv[optind], fmt1, flags, &a, &err) < 0 ||
	    vimg_image_open(argv[optind + 1], fmt2, flags, &b, &err) < 0) {
		cli_error(&cmd_compare, &err);
		goto out;
	}
	if (vimg_image_virtual_size(a) != vimg_image_virtual_size(b)) {
		if (strict) {
			if (!quiet)
				printf("Strict mode: Image size mismatch!\n");
			rc = CMP_DIFFERENT;
			goto out;
		}
		if (!quiet)
			printf("Warning: Image size mismatch!\n");
	}
	p = progress_new(progress && !quiet);
	if (!p) {
		cli_errorf(&cmd_compare, "out of memory");
		goto out;
	}
	uint64_t off = 0;
	int r = vimg_compare(a, b, strict, &off, progress_update, p, &err);
	progress_free(p, r >= 0);
	if (r < 0) {
		cli_error(&cmd_compare, &err);
	} else if (r == 0) {
		if (!quiet)
			printf("Images are identical.\n");
		rc = CMP_SAME;
	} else {
		if (!quiet)
			printf("Content mismatch at offset %" PRIu64 "!\n", off);
		rc = CMP_DIFFERENT;
	}
out:
	vimg_image_close(b, NULL);
	vimg_image_close(a, NULL);
	return rc;
}

const struct cmd cmd_compare = {
	.name = "compare",
	.summary = "compare the contents of two images",
	.usage = usage,
	.run = cmd_compare_run,
};
