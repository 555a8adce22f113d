/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vimg resize: qemu-img resize's command line over vimg_image_resize. The
 * size is taken off argv before getopt sees it, so that "-1G" is a size and
 * not an option, as qemu-img does. Prints "Image resized." like qemu-img,
 * or the old and new sizes as JSON.
 */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
	"Usage: vimg resize [-f FMT] [--shrink] [--preallocation=MODE] [-q]\n"
	"                   [--output=human|json] [--allow-escape] IMAGE [+|-]SIZE\n"
	"\n"
	"Change the virtual size of IMAGE to SIZE, or by SIZE with + or - (suffixes\n"
	"k, M, G, T, P, E). Shrinking is refused while the part cut off holds data,\n"
	"unless --shrink. Some formats round the size (vhd: to its CHS geometry);\n"
	"the size reached is reported.\n"
	"\n"
	"  -f, --format=FMT     image format (default: probe)\n"
	"  --shrink             allow shrinking over data (the data cut off is lost)\n"
	"  --preallocation=MODE allocation of the grown part: off (default), metadata,\n"
	"                       falloc or full, where the format has them\n"
	"  -q, --quiet          print nothing on success\n"
	"  --output=FMT         human (default) or json\n"
	"  --allow-escape       allow backing files outside the image's directory\n"
	"  -h, --help           show this help\n";

enum { OPT_SHRINK = OPT_VMEM + 1, OPT_PREALLOC };

static int parse_prealloc(const char *s, unsigned *flags)
{
	static const struct {
		const char *name;
		unsigned flag;
	} modes[] = {
		{ "off", 0 },
		{ "metadata", VIMG_RESIZE_PREALLOC_METADATA },
		{ "falloc", VIMG_RESIZE_PREALLOC_FALLOC },
		{ "full", VIMG_RESIZE_PREALLOC_FULL },
	};

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (!strcmp(s, modes[i].name)) {
			*flags = (*flags & ~VIMG_RESIZE_PREALLOC_MASK) | modes[i].flag;
			return CLI_OK;
		}
	return cli_usage(&cmd_resize, "invalid preallocation mode '%s'", s);
}

/* The last argument, when it is a size: digits, optionally signed. */
static bool looks_like_size(const char *s)
{
	if (*s == '+' || *s == '-')
		s++;
	return *s >= '0' && *s <= '9';
}

static int cmd_resize_run(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "format", required_argument, NULL, 'f' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "shrink", no_argument, NULL, OPT_SHRINK },
		{ "preallocation", required_argument, NULL, OPT_PREALLOC },
		{ "output", required_argument, NULL, OPT_OUTPUT },
		{ "allow-escape", no_argument, NULL, OPT_ALLOW_ESCAPE },
		{ NULL, 0, NULL, 0 },
	};
	enum cli_output output = OUTPUT_HUMAN;
	const char *format = NULL, *size_arg = NULL;
	unsigned flags = 0, oflags = VIMG_OPEN_RDWR;
	bool quiet = false;
	int c, rc;

	if (argc >= 3 && looks_like_size(argv[argc - 1]))
		size_arg = argv[--argc];
	while ((c = getopt_long(argc, argv, "hf:q", lopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			return cli_help(&cmd_resize);
		case 'f':
			format = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		case OPT_SHRINK:
			flags |= VIMG_RESIZE_SHRINK;
			break;
		case OPT_PREALLOC:
			if ((rc = parse_prealloc(optarg, &flags)))
				return rc;
			break;
		case OPT_OUTPUT:
			if ((rc = cli_parse_output(&cmd_resize, optarg, &output)))
				return rc;
			break;
		case OPT_ALLOW_ESCAPE:
			oflags |= VIMG_OPEN_ALLOW_ESCAPE;
			break;
		default:
			return cli_usage(&cmd_resize, NULL);
		}
	}
	if (!size_arg && optind + 2 == argc)
		size_arg = argv[argc - 1], argc--;
	if (optind + 1 != argc || !size_arg)
		return cli_usage(&cmd_resize, "expected IMAGE [+|-]SIZE");
	if (format && (rc = cli_check_format(&cmd_resize, format)))
		return rc;

	char sign = *size_arg == '+' || *size_arg == '-' ? *size_arg : 0;
	uint64_t n;
	if ((rc = cli_parse_size(&cmd_resize, "size", size_arg + (sign != 0), &n)))
		return rc;

	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *img;
	if (vimg_image_open(argv[optind], format, oflags, &img, &err) < 0)
		return cli_error(&cmd_resize, &err);
	uint64_t old = vimg_image_virtual_size(img), size = n;
	if (sign == '+')
		size = n > UINT64_MAX - old ? 0 : old + n;
	else if (sign == '-')
		size = n >= old ? 0 : old - n;
	if (size == 0) {
		vimg_image_close(img, NULL);
		return cli_usage(&cmd_resize, "the new size would be %s",
				 sign == '+' ? "too large" : "zero or negative");
	}
	rc = vimg_image_resize(img, size, flags, &err);
	if (rc == 0)
		rc = vimg_image_close(img, &err);
	else
		vimg_image_close(img, NULL);
	if (rc < 0)
		return cli_error(&cmd_resize, &err);

	/* Reopened read-only: the size the file now says, not what was asked. */
	uint64_t got = size;
	if (vimg_image_open(argv[optind], format, VIMG_OPEN_NO_BACKING |
			    (oflags & VIMG_OPEN_ALLOW_ESCAPE), &img, NULL) == 0) {
		got = vimg_image_virtual_size(img);
		vimg_image_close(img, NULL);
	}
	if (output == OUTPUT_JSON) {
		struct json j;
		json_init(&j, stdout);
		json_begin(&j, NULL, false);
		json_str(&j, "filename", argv[optind]);
		json_u64(&j, "old-size", old);
		json_u64(&j, "requested-size", size);
		json_u64(&j, "virtual-size", got);
		json_end(&j);
		json_finish(&j);
	} else if (!quiet) {
		printf("Image resized.\n");
		if (got != size)
			printf("The format rounded the size to %" PRIu64 " bytes.\n", got);
	}
	return CLI_OK;
}

const struct cmd cmd_resize = {
	.name = "resize",
	.summary = "change the virtual size of an image",
	.usage = usage,
	.run = cmd_resize_run,
};
