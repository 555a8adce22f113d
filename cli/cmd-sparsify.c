/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vimg sparsify: vimg_image_sparsify on one image, in place, with a report
 * of what was found and what the host got back (human or JSON).
 */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>

#include "cli.h"

static const char usage[] =
	"Usage: vimg sparsify [-f FMT] [--dry-run] [-p] [-q] [--output=human|json]\n"
	"                     [--allow-escape] IMAGE\n"
	"\n"
	"In place, make every cluster (grain, block) of IMAGE's own layer that\n"
	"holds only zeros zero through the format's metadata, freeing it where\n"
	"the format can, and report the bytes found and given back to the host.\n"
	"The guest's disk does not change. 'vimg convert' already leaves zeros\n"
	"out of a copy.\n"
	"\n"
	"  -f, --format=FMT     image format (default: probe)\n"
	"  --dry-run            only count (IMAGE is opened read-only)\n"
	"  -p, --progress       show progress on stderr\n"
	"  -q, --quiet          print nothing on success\n"
	"  --output=FMT         human (default) or json\n"
	"  --allow-escape       allow backing files outside the image's directory\n"
	"  -h, --help           show this help\n";

enum { OPT_DRY_RUN = OPT_VMEM + 1 };

static int cmd_sparsify_run(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "format", required_argument, NULL, 'f' },
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ "progress", no_argument, NULL, 'p' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "output", required_argument, NULL, OPT_OUTPUT },
		{ "allow-escape", no_argument, NULL, OPT_ALLOW_ESCAPE },
		{ NULL, 0, NULL, 0 },
	};
	enum cli_output output = OUTPUT_HUMAN;
	const char *format = NULL;
	unsigned flags = 0, oflags = VIMG_OPEN_RDWR;
	bool progress = false, quiet = false;
	int c, rc;

	while ((c = getopt_long(argc, argv, "hf:pq", lopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			return cli_help(&cmd_sparsify);
		case 'f':
			format = optarg;
			break;
		case OPT_DRY_RUN:
			flags |= VIMG_SPARSIFY_DRY_RUN;
			break;
		case 'p':
			progress = true;
			break;
		case 'q':
			quiet = true;
			break;
		case OPT_OUTPUT:
			if ((rc = cli_parse_output(&cmd_sparsify, optarg, &output)))
				return rc;
			break;
		case OPT_ALLOW_ESCAPE:
			oflags |= VIMG_OPEN_ALLOW_ESCAPE;
			break;
		default:
			return cli_usage(&cmd_sparsify, NULL);
		}
	}
	if (optind + 1 != argc)
		return cli_usage(&cmd_sparsify, "expected IMAGE");
	if (format && (rc = cli_check_format(&cmd_sparsify, format)))
		return rc;
	if (flags & VIMG_SPARSIFY_DRY_RUN)
		oflags &= ~VIMG_OPEN_RDWR;

	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *img;
	if (vimg_image_open(argv[optind], format, oflags, &img, &err) < 0)
		return cli_error(&cmd_sparsify, &err);
	struct progress *p = progress_new(progress && !quiet);
	struct vimg_sparsify r;
	int64_t before = vimg_image_disk_size(img, NULL), after = before;
	rc = p ? vimg_image_sparsify(img, flags, progress_update, p, &r, &err)
	       : vimg_error_set(&err, VIMG_ENOMEM, "out of memory");
	progress_free(p, rc == 0);
	if (rc == 0)
		rc = vimg_image_close(img, &err);
	else
		vimg_image_close(img, NULL);
	if (rc < 0)
		return cli_error(&cmd_sparsify, &err);
	/* Measured closed: drivers may give space back as late as close. */
	if (vimg_image_open(argv[optind], format, (oflags & ~VIMG_OPEN_RDWR) | VIMG_OPEN_NO_BACKING,
			    &img, NULL) == 0) {
		after = vimg_image_disk_size(img, NULL);
		vimg_image_close(img, NULL);
	}
	uint64_t reclaimed = before > after && after >= 0 ? (uint64_t)(before - after) : 0;
	if (output == OUTPUT_JSON) {
		struct json j;
		json_init(&j, stdout);
		json_begin(&j, NULL, false);
		json_str(&j, "filename", argv[optind]);
		json_bool(&j, "dry-run", flags & VIMG_SPARSIFY_DRY_RUN);
		json_u64(&j, "data-bytes", r.data_bytes);
		json_u64(&j, "zero-bytes", r.zero_bytes);
		json_u64(&j, "reclaimed-bytes", reclaimed);
		json_end(&j);
		json_finish(&j);
	} else if (!quiet) {
		printf("%" PRIu64 " of %" PRIu64 " bytes of data read as zeros%s\n", r.zero_bytes,
		       r.data_bytes, flags & VIMG_SPARSIFY_DRY_RUN ? "" : " and are now zero");
		if (!(flags & VIMG_SPARSIFY_DRY_RUN))
			printf("%" PRIu64 " bytes given back to the host\n", reclaimed);
	}
	return CLI_OK;
}

const struct cmd cmd_sparsify = {
	.name = "sparsify",
	.summary = "give zero clusters back to the host, in place",
	.usage = usage,
	.run = cmd_sparsify_run,
};
