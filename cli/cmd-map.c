/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vimg map: the allocation map of the whole chain, from
 * vimg_image_block_status_above, in qemu-img map's two formats. Adjacent runs
 * merge when they agree on depth, kind and file, and their file offsets are
 * contiguous. JSON entries carry qemu's fields: present (some layer has the
 * range), zero (reads as zeros, including unallocated at the bottom), data,
 * and offset wherever the layer names a place in its file (uncompressed data,
 * and zero runs that have one, such as raw holes: qemu prints those too).
 */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
	"Usage: vimg map [-f FMT] [--output=human|json] [--start-offset=OFFSET]\n"
	"                [--max-length=LEN] [--allow-escape] IMAGE\n"
	"\n"
	"Show where the data of IMAGE (backing chain included) lies, as qemu-img map:\n"
	"human output lists the data runs with their place in the files; JSON lists\n"
	"every run with start, length, depth, present, zero, data and offset.\n"
	"\n"
	"  -f, --format=FMT     image format (default: probe)\n"
	"  --output=FMT         human (default) or json\n"
	"  --start-offset=OFF   start at this guest offset (default 0)\n"
	"  --max-length=LEN     map at most LEN bytes\n"
	"  --allow-escape       allow backing files outside the image's directory\n"
	"  -h, --help           show this help\n";

enum { OPT_START = 512, OPT_MAXLEN };

struct entry {
	uint64_t start, length;
	unsigned depth;
	bool present, zero, data, has_offset;
	uint64_t offset;
	const char *file;
};

struct map_out {
	enum cli_output output;
	bool any;
};

static void print_entry(struct map_out *m, const struct entry *e)
{
	if (m->output == OUTPUT_JSON) {
		/* Byte for byte the line qemu-img map --output=json writes. */
		printf("%s{ \"start\": %" PRIu64 ", \"length\": %" PRIu64 ", \"depth\": %u,"
		       " \"present\": %s, \"zero\": %s, \"data\": %s",
		       m->any ? ",\n" : "", e->start, e->length, e->depth,
		       e->present ? "true" : "false", e->zero ? "true" : "false",
		       e->data ? "true" : "false");
		if (e->has_offset)
			printf(", \"offset\": %" PRIu64, e->offset);
		putchar('}');
	} else if (e->data && e->has_offset) {
		if (!m->any)
			printf("%-16s%-16s%-16s%s\n", "Offset", "Length", "Mapped to", "File");
		printf("%#-16" PRIx64 "%#-16" PRIx64 "%#-16" PRIx64 "%s\n", e->start, e->length,
		       e->offset, e->file ? e->file : "");
	} else {
		return;
	}
	m->any = true;
}

static bool mergeable(const struct entry *a, const struct entry *b)
{
	if (a->depth != b->depth || a->present != b->present || a->zero != b->zero ||
	    a->data != b->data || a->has_offset != b->has_offset)
		return false;
	if (!a->has_offset)
		return true;
	return a->offset + a->length == b->offset &&
	       (a->file == b->file || (a->file && b->file && strcmp(a->file, b->file) == 0));
}

static unsigned chain_layers(struct vimg_image *img)
{
	unsigned n = 0;
	for (struct vimg_image *l = img; l; l = vimg_image_backing(l))
		n++;
	return n;
}

static int map_image(struct vimg_image *img, uint64_t start, uint64_t end, struct map_out *m,
		     struct vimg_error *err)
{
	unsigned bottom = chain_layers(img) - 1;
	struct entry cur = { 0 };
	bool have = false;

	for (uint64_t off = start; off < end;) {
		struct vimg_run run;
		unsigned depth = 0;
		int rc = vimg_image_block_status_above(img, NULL, off, end - off, &run, &depth,
						       err);
		if (rc < 0)
			return rc;
		if (run.length == 0)
			return vimg_error_set(err, VIMG_EIO, "block status returned an empty run "
					      "at offset %" PRIu64, off);
		if (run.length > end - off)
			run.length = end - off;
		struct entry e = {
			.start = off,
			.length = run.length,
			.depth = run.kind == VIMG_RUN_UNALLOCATED ? bottom : depth,
			.present = run.kind != VIMG_RUN_UNALLOCATED,
			.zero = run.kind != VIMG_RUN_DATA,
			.data = run.kind == VIMG_RUN_DATA,
		};
		/* As qemu: an offset whenever the layer knows one, zero runs included. */
		if (run.kind != VIMG_RUN_UNALLOCATED && (run.flags & VIMG_RUN_OFFSET_VALID)) {
			e.has_offset = true;
			e.offset = run.file_off;
			e.file = run.file ? vimg_file_path(run.file) : NULL;
		}
		if (have && mergeable(&cur, &e)) {
			cur.length += e.length;
		} else {
			if (have)
				print_entry(m, &cur);
			cur = e;
			have = true;
		}
		off += run.length;
	}
	if (have)
		print_entry(m, &cur);
	return 0;
}

static int cmd_map_run(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, OPT_OUTPUT },
		{ "start-offset", required_argument, NULL, OPT_START },
		{ "max-length", required_argument, NULL, OPT_MAXLEN },
		{ "allow-escape", no_argument, NULL, OPT_ALLOW_ESCAPE },
		{ NULL, 0, NULL, 0 },
	};
	const char *format = NULL;
	unsigned flags = 0;
	uint64_t start = 0, maxlen = UINT64_MAX;
	struct map_out m = { .output = OUTPUT_HUMAN };
	int c, rc;

	while ((c = getopt_long(argc, argv, "hf:", lopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			return cli_help(&cmd_map);
		case 'f':
			format = optarg;
			break;
		case OPT_OUTPUT:
			if ((rc = cli_parse_output(&cmd_map, optarg, &m.output)))
				return rc;
			break;
		case OPT_START:
			if ((rc = cli_parse_size(&cmd_map, "start offset", optarg, &start)))
				return rc;
			break;
		case OPT_MAXLEN:
			if ((rc = cli_parse_size(&cmd_map, "max length", optarg, &maxlen)))
				return rc;
			break;
		case OPT_ALLOW_ESCAPE:
			flags |= VIMG_OPEN_ALLOW_ESCAPE;
			break;
		default:
			return cli_usage(&cmd_map, NULL);
		}
	}
	if (argc - optind != 1)
		return cli_usage(&cmd_map, "expected one IMAGE");
	if (format && (rc = cli_check_format(&cmd_map, format)))
		return rc;

	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *img = NULL;
	if (vimg_image_open(argv[optind], format, flags, &img, &err) < 0)
		return cli_error(&cmd_map, &err);

	uint64_t size = vimg_image_virtual_size(img);
	uint64_t end = start < size ? start : size;
	end = maxlen < size - end ? end + maxlen : size;
	if (m.output == OUTPUT_JSON)
		putchar('[');
	rc = map_image(img, start < size ? start : size, end, &m, &err);
	if (m.output == OUTPUT_JSON)
		printf("]\n");
	vimg_image_close(img, NULL);
	return rc < 0 ? cli_error(&cmd_map, &err) : CLI_OK;
}

const struct cmd cmd_map = {
	.name = "map",
	.summary = "show the allocation map of an image",
	.usage = usage,
	.run = cmd_map_run,
};
