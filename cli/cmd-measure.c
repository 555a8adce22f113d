/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vimg measure: qemu-img measure's command line and output over
 * vimg_measure, for every format vimg writes (qemu-img measures only raw
 * and qcow2), with convert's -c and -S so that the answer is for the
 * conversion the user means to run.
 */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>

#include "cli.h"

static const char usage[] =
	"Usage: vimg measure [-O FMT] [-o OPTIONS] [-c] [-S SIZE] [-p]\n"
	"                    [--target=NAME] [--output=human|json] (--size N | [-f FMT] SRC)\n"
	"\n"
	"Print the bytes of host files 'vimg convert -O FMT' would write: the\n"
	"required size for SRC's data and the fully allocated size. The target's\n"
	"own writer runs on simulated files, so the sizes are exact. SRC's data is\n"
	"read (blocks of zeros are not written, as in convert). With --size, an\n"
	"empty disk of N bytes.\n"
	"\n"
	"  -O FMT               target format (default: raw)\n"
	"  -o OPTIONS           target create options, as for convert\n"
	"  -c                   the conversion compresses (as convert -c)\n"
	"  -S SIZE              convert's -S (default 4k)\n"
	"  -f, --format=FMT     format of SRC (default: probe)\n"
	"  --size=N             measure an empty disk of N bytes instead\n"
	"  --target=NAME        the name the conversion would write (default disk):\n"
	"                       multi-file VMDK descriptors are sized by it\n"
	"  -p, --progress       show progress on stderr\n"
	"  --output=FMT         human (default) or json (as qemu-img measure)\n"
	"  --allow-escape       allow SRC's backing files outside its directory\n"
	"  -h, --help           show this help\n";

enum { OPT_SIZE = OPT_VMEM + 1, OPT_TARGET };

static int cmd_measure_run(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "format", required_argument, NULL, 'f' },
		{ "size", required_argument, NULL, OPT_SIZE },
		{ "target", required_argument, NULL, OPT_TARGET },
		{ "progress", no_argument, NULL, 'p' },
		{ "output", required_argument, NULL, OPT_OUTPUT },
		{ "allow-escape", no_argument, NULL, OPT_ALLOW_ESCAPE },
		{ NULL, 0, NULL, 0 },
	};
	struct vimg_convert_opts co = { .format = "raw" };
	enum cli_output output = OUTPUT_HUMAN;
	const char *format = NULL, *target = NULL;
	char *opts = NULL;
	unsigned open_flags = 0;
	uint64_t size = 0;
	bool have_size = false, progress = false;
	int c, rc = CLI_OK;

	while ((c = getopt_long(argc, argv, "hO:o:cS:f:p", lopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			rc = cli_help(&cmd_measure);
			goto out;
		case 'O':
			co.format = optarg;
			break;
		case 'o':
			if (cli_opts_append(&opts, optarg)) {
				rc = cli_errorf(&cmd_measure, "out of memory");
				goto out;
			}
			break;
		case 'c':
			co.compress = true;
			break;
		case 'S':
			if ((rc = cli_parse_size(&cmd_measure, "-S size", optarg, &co.min_sparse)))
				goto out;
			co.has_min_sparse = true;
			break;
		case 'f':
			format = optarg;
			break;
		case OPT_SIZE:
			if ((rc = cli_parse_size(&cmd_measure, "size", optarg, &size)))
				goto out;
			have_size = true;
			break;
		case OPT_TARGET:
			target = optarg;
			break;
		case 'p':
			progress = true;
			break;
		case OPT_OUTPUT:
			if ((rc = cli_parse_output(&cmd_measure, optarg, &output)))
				goto out;
			break;
		case OPT_ALLOW_ESCAPE:
			open_flags |= VIMG_OPEN_ALLOW_ESCAPE;
			break;
		default:
			rc = cli_usage(&cmd_measure, NULL);
			goto out;
		}
	}
	if ((rc = cli_check_format(&cmd_measure, co.format)))
		goto out;
	if (cli_opts_want_help(opts)) {
		cli_opts_print_help(co.format, false);
		goto out;
	}
	if (have_size == (argc - optind == 1) || argc - optind > 1) {
		rc = cli_usage(&cmd_measure, "expected either --size N or SRC");
		goto out;
	}
	if (have_size && (format || !size)) {
		rc = cli_usage(&cmd_measure, format ? "-f needs SRC, not --size" : "a size of 0");
		goto out;
	}
	if (format && (rc = cli_check_format(&cmd_measure, format)))
		goto out;
	if (!(vimg_format_features(co.format) & VIMG_FEAT_CREATE)) {
		rc = cli_errorf(&cmd_measure, "format '%s' does not support creating images",
				co.format);
		goto out;
	}
	co.options = opts;

	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *src = NULL;
	if (!have_size && vimg_image_open(argv[optind], format, open_flags, &src, &err) < 0) {
		rc = cli_error(&cmd_measure, &err);
		goto out;
	}
	struct progress *p = progress_new(progress);
	if (!p) {
		vimg_image_close(src, NULL);
		rc = cli_errorf(&cmd_measure, "out of memory");
		goto out;
	}
	co.progress = progress_update;
	co.progress_opaque = p;
	struct vimg_measure m;
	int mrc = vimg_measure(src, size, &co, target, &m, &err);
	progress_free(p, mrc == 0);
	vimg_image_close(src, NULL);
	if (mrc < 0) {
		rc = cli_error(&cmd_measure, &err);
		goto out;
	}
	if (output == OUTPUT_JSON) {
		struct json j;
		json_init(&j, stdout);
		json_begin(&j, NULL, false);
		json_u64(&j, "required", m.required);
		json_u64(&j, "fully-allocated", m.fully_allocated);
		json_end(&j);
		json_finish(&j);
	} else {
		printf("required size: %" PRIu64 "\n", m.required);
		printf("fully allocated size: %" PRIu64 "\n", m.fully_allocated);
	}
out:
	free(opts);
	return rc;
}

const struct cmd cmd_measure = {
	.name = "measure",
	.summary = "measure the size a conversion would write",
	.usage = usage,
	.run = cmd_measure_run,
};
