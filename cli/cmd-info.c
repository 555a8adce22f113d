/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vimg info: what qemu-img info shows, in the same words and JSON keys
 * (filename, format, virtual-size, actual-size, cluster-size, backing-*,
 * snapshots, format-specific{type, data}). The image is opened read-only and
 * never modified. Without --backing-chain the backing file is not opened
 * (only its name and resolved path are shown), so a missing parent does not
 * hide the image's own facts; with it, every layer is opened and reported.
 */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static const char usage[] =
	"Usage: vimg info [-f FMT] [--backing-chain] [--output=human|json]\n"
	"                 [--allow-escape] IMAGE\n"
	"\n"
	"Show the format, sizes, backing file, snapshots and format-specific\n"
	"facts of IMAGE. The image is opened read-only and never modified.\n"
	"\n"
	"  -f, --format=FMT     image format (default: probe)\n"
	"  --backing-chain      open and show every image of the backing chain\n"
	"  --output=FMT         human (default) or json (as qemu-img info)\n"
	"  --allow-escape       allow backing files outside the image's directory\n"
	"  -h, --help           show this help\n";

struct info_opts {
	enum cli_output output;
	struct json j;
};

/* ---- snapshots ------------------------------------------------------- */

struct snap_ctx {
	struct info_opts *o;
	unsigned count;
};

static int snap_cb(void *opaque, const struct vimg_snapshot *s)
{
	struct snap_ctx *c = opaque;
	if (c->o->output == OUTPUT_JSON) {
		struct json *j = &c->o->j;
		if (c->count == 0)
			json_begin(j, "snapshots", true);
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

/* ---- one image --------------------------------------------------------- */

static int info_human(struct vimg_image *img, struct info_opts *o, struct vimg_error *err)
{
	char size[32];
	uint64_t vsize = vimg_image_virtual_size(img);

	printf("image: %s\n", vimg_image_filename(img));
	const char *qname = vimg_format_qemu_name(vimg_image_format(img));
	if (qname && strcmp(qname, vimg_image_format(img)))
		printf("file format: %s (qemu-img: %s)\n", vimg_image_format(img), qname);
	else
		printf("file format: %s\n", vimg_image_format(img));
	cli_fmt_size(size, sizeof(size), vsize);
	printf("virtual size: %s (%" PRIu64 " bytes)\n", size, vsize);
	struct vimg_error derr = VIMG_ERROR_INIT;
	int64_t dsize = vimg_image_disk_size(img, &derr);
	if (dsize >= 0) {
		cli_fmt_size(size, sizeof(size), (uint64_t)dsize);
		printf("disk size: %s\n", size);
	} else {
		printf("disk size: unavailable\n");
	}
	if (vimg_image_cluster_size(img))
		printf("cluster_size: %" PRIu32 "\n", vimg_image_cluster_size(img));

	const char *bname = vimg_image_backing_name(img);
	if (bname) {
		const char *bpath = vimg_image_backing_path(img);
		if (bpath && strcmp(bpath, bname) != 0)
			printf("backing file: %s (actual path: %s)\n", bname, bpath);
		else
			printf("backing file: %s\n", bname);
		if (vimg_image_backing_format(img))
			printf("backing file format: %s\n", vimg_image_backing_format(img));
	}

	struct snap_ctx sc = { .o = o };
	int rc = vimg_image_snapshot_list(img, snap_cb, &sc, err);
	if (rc < 0)
		return rc;

	/* Count first so an empty section gets no heading. */
	struct vimg_emit em;
	uint64_t n;
	count_emit_init(&em, &n);
	rc = vimg_image_info(img, &em, err);
	if (rc < 0)
		return rc;
	if (n) {
		struct text t;
		printf("Format specific information:\n");
		text_emit_init(&em, &t, stdout, 4);
		rc = vimg_image_info(img, &em, err);
	}
	return rc;
}

static int info_json(struct vimg_image *img, struct info_opts *o, struct vimg_error *err)
{
	struct json *j = &o->j;
	struct vimg_emit em;
	uint64_t n;

	/* Gather what can fail before writing, so errors leave no half object. */
	count_emit_init(&em, &n);
	int rc = vimg_image_info(img, &em, err);
	if (rc < 0)
		return rc;

	json_begin(j, NULL, false);
	json_str(j, "filename", vimg_image_filename(img));
	json_str(j, "format", vimg_image_format(img));
	json_str(j, "qemu-format", vimg_format_qemu_name(vimg_image_format(img)));
	json_u64(j, "virtual-size", vimg_image_virtual_size(img));
	int64_t dsize = vimg_image_disk_size(img, NULL);
	if (dsize >= 0)
		json_u64(j, "actual-size", (uint64_t)dsize);
	if (vimg_image_cluster_size(img))
		json_u64(j, "cluster-size", vimg_image_cluster_size(img));
	if (vimg_image_backing_name(img)) {
		json_str(j, "backing-filename", vimg_image_backing_name(img));
		if (vimg_image_backing_path(img))
			json_str(j, "full-backing-filename", vimg_image_backing_path(img));
		if (vimg_image_backing_format(img))
			json_str(j, "backing-filename-format", vimg_image_backing_format(img));
	}
	struct snap_ctx sc = { .o = o };
	rc = vimg_image_snapshot_list(img, snap_cb, &sc, err);
	if (sc.count)
		json_end(j);
	if (rc < 0)
		return rc;
	if (n) {
		json_begin(j, "format-specific", false);
		json_str(j, "type", vimg_image_format(img));
		json_begin(j, "data", false);
		json_emit_init(&em, j);
		rc = vimg_image_info(img, &em, err);
		json_end(j);
		json_end(j);
	}
	json_end(j);
	return rc;
}

static int cmd_info_run(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, OPT_OUTPUT },
		{ "backing-chain", no_argument, NULL, OPT_BACKING_CHAIN },
		{ "allow-escape", no_argument, NULL, OPT_ALLOW_ESCAPE },
		{ NULL, 0, NULL, 0 },
	};
	const char *format = NULL;
	bool chain = false;
	unsigned flags = 0;
	struct info_opts o = { .output = OUTPUT_HUMAN };
	int c, rc;

	while ((c = getopt_long(argc, argv, "hf:", lopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			return cli_help(&cmd_info);
		case 'f':
			format = optarg;
			break;
		case OPT_OUTPUT:
			if ((rc = cli_parse_output(&cmd_info, optarg, &o.output)))
				return rc;
			break;
		case OPT_BACKING_CHAIN:
			chain = true;
			break;
		case OPT_ALLOW_ESCAPE:
			flags |= VIMG_OPEN_ALLOW_ESCAPE;
			break;
		default:
			return cli_usage(&cmd_info, NULL);
		}
	}
	if (argc - optind != 1)
		return cli_usage(&cmd_info, "expected one IMAGE");
	if (format && (rc = cli_check_format(&cmd_info, format)))
		return rc;
	if (!chain)
		flags |= VIMG_OPEN_NO_BACKING;

	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *img = NULL;
	if (vimg_image_open(argv[optind], format, flags, &img, &err) < 0)
		return cli_error(&cmd_info, &err);

	json_init(&o.j, stdout);
	if (chain && o.output == OUTPUT_JSON)
		json_begin(&o.j, NULL, true);
	rc = 0;
	for (struct vimg_image *l = img; l && rc == 0; l = chain ? vimg_image_backing(l) : NULL) {
		if (o.output == OUTPUT_JSON) {
			rc = info_json(l, &o, &err);
		} else {
			if (l != img)
				putchar('\n');
			rc = info_human(l, &o, &err);
		}
	}
	if (o.output == OUTPUT_JSON) {
		if (chain)
			json_end(&o.j);
		json_finish(&o.j);
	}
	vimg_image_close(img, NULL);
	return rc < 0 ? cli_error(&cmd_info, &err) : CLI_OK;
}

const struct cmd cmd_info = {
	.name = "info",
	.summary = "show image information",
	.usage = usage,
	.run = cmd_info_run,
};
