/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vimg formats: the registered disk formats in probe order, with their
 * description and what each supports, straight from the registry.
 */
#include "config.h"

#include <getopt.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
	"Usage: vimg formats [--output=human|json]\n"
	"\n"
	"List the disk image formats vimg knows, in probe order, with what each\n"
	"supports (read, write, create, backing, snapshots, check, repair,\n"
	"compress, multi-file, resize, rebase, amend, empty), and the name\n"
	"qemu-img uses where it differs\n"
	"(accepted in every command).\n"
	"\n"
	"  --output=FMT         human (default) or json\n"
	"  -h, --help           show this help\n";

static const struct {
	unsigned bit;
	const char *name;
} features[] = {
	{ VIMG_FEAT_READ, "read" },
	{ VIMG_FEAT_WRITE, "write" },
	{ VIMG_FEAT_CREATE, "create" },
	{ VIMG_FEAT_BACKING, "backing" },
	{ VIMG_FEAT_SNAPSHOTS, "snapshots" },
	{ VIMG_FEAT_CHECK, "check" },
	{ VIMG_FEAT_REPAIR, "repair" },
	{ VIMG_FEAT_COMPRESS, "compress" },
	{ VIMG_FEAT_MULTI_FILE, "multi-file" },
	{ VIMG_FEAT_RESIZE, "resize" },
	{ VIMG_FEAT_REBASE, "rebase" },
	{ VIMG_FEAT_AMEND, "amend" },
	{ VIMG_FEAT_EMPTY, "empty" },
};

#define N_FEATURES (sizeof(features) / sizeof(features[0]))

static int cmd_formats_run(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "output", required_argument, NULL, OPT_OUTPUT },
		{ NULL, 0, NULL, 0 },
	};
	enum cli_output output = OUTPUT_HUMAN;
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			return cli_help(&cmd_formats);
		case OPT_OUTPUT:
			if ((rc = cli_parse_output(&cmd_formats, optarg, &output)))
				return rc;
			break;
		default:
			return cli_usage(&cmd_formats, NULL);
		}
	}
	if (optind != argc)
		return cli_usage(&cmd_formats, "unexpected argument '%s'", argv[optind]);

	struct json j;
	json_init(&j, stdout);
	if (output == OUTPUT_JSON)
		json_begin(&j, NULL, true);
	for (size_t i = 0; vimg_format_name(i); i++) {
		const char *name = vimg_format_name(i);
		const char *desc = vimg_format_description(name);
		const char *qname = vimg_format_qemu_name(name);
		unsigned feat = vimg_format_features(name);
		if (output == OUTPUT_JSON) {
			json_begin(&j, NULL, false);
			json_str(&j, "name", name);
			json_str(&j, "qemu-name", qname);
			json_str(&j, "description", desc ? desc : "");
			json_begin(&j, "features", true);
			for (size_t k = 0; k < N_FEATURES; k++)
				if (feat & features[k].bit)
					json_str(&j, NULL, features[k].name);
			json_end(&j);
			json_end(&j);
			continue;
		}
		printf("%-8s %s\n", name, desc ? desc : "");
		printf("%-8s", "");
		for (size_t k = 0, n = 0; k < N_FEATURES; k++)
			if (feat & features[k].bit)
				printf("%s%s", n++ ? ", " : " ", features[k].name);
		putchar('\n');
		if (strcmp(qname, name))
			printf("%-8s qemu-img calls it %s\n", "", qname);
	}
	if (output == OUTPUT_JSON) {
		json_end(&j);
		json_finish(&j);
	}
	return CLI_OK;
}

const struct cmd cmd_formats = {
	.name = "formats",
	.summary = "list the supported image formats",
	.usage = usage,
	.run = cmd_formats_run,
};
