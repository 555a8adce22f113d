/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vimg commit: qemu-img commit's command line over vimg_image_commit. The
 * base is IMAGE's backing file, or the layer of its chain -b names (by
 * path, as the chain resolved it). The base is opened a second time,
 * writable, for the copy. IMAGE is then emptied, as qemu-img empties it,
 * unless -d, or -b names a deeper base (the layers between would then show
 * through), or its format cannot be emptied (said on stderr).
 */
#include "config.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
	"Usage: vimg commit [-f FMT] [-b BASE] [-d] [-p] [-q] [--allow-escape] IMAGE\n"
	"\n"
	"Copy what IMAGE holds (and the layers between it and BASE) into BASE,\n"
	"its backing file unless -b names a deeper one; BASE is grown first when\n"
	"it is smaller. IMAGE is then emptied, so that it reads BASE, where its\n"
	"format can be emptied (qcow2), unless -d or -b is given.\n"
	"\n"
	"  -f, --format=FMT     format of IMAGE (default: probe)\n"
	"  -b BASE              the layer of IMAGE's chain to commit into\n"
	"  -d                   keep IMAGE as it is (implied by -b)\n"
	"  -p, --progress       show progress on stderr\n"
	"  -q, --quiet          print nothing on success\n"
	"  --allow-escape       allow backing files outside the images' directories\n"
	"  -h, --help           show this help\n";

/* The layer of img's chain whose file is path (compared after resolving). */
static struct vimg_image *chain_layer(struct vimg_image *img, const char *path)
{
	char *want = realpath(path, NULL);
	struct vimg_image *found = NULL;

	for (struct vimg_image *l = vimg_image_backing(img); want && l && !found;
	     l = vimg_image_backing(l)) {
		char *have = realpath(vimg_image_filename(l), NULL);

		if (have && !strcmp(have, want))
			found = l;
		free(have);
	}
	free(want);
	return found;
}

static int cmd_commit_run(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "format", required_argument, NULL, 'f' },
		{ "progress", no_argument, NULL, 'p' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "allow-escape", no_argument, NULL, OPT_ALLOW_ESCAPE },
		{ NULL, 0, NULL, 0 },
	};
	const char *format = NULL, *base_name = NULL;
	unsigned oflags = 0;
	bool progress = false, quiet = false, keep = false;
	int c, rc;

	while ((c = getopt_long(argc, argv, "hf:b:dpq", lopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			return cli_help(&cmd_commit);
		case 'f':
			format = optarg;
			break;
		case 'b':
			base_name = optarg;
			break;
		case 'd':
			keep = true;
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
			return cli_usage(&cmd_commit, NULL);
		}
	}
	if (optind + 1 != argc)
		return cli_usage(&cmd_commit, "expected IMAGE");
	if (format && (rc = cli_check_format(&cmd_commit, format)))
		return rc;

	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *top, *base, *base_rw;
	if (base_name)
		keep = true;
	if (vimg_image_open(argv[optind], format, oflags, &top, &err) < 0)
		return cli_error(&cmd_commit, &err);
	base = base_name ? chain_layer(top, base_name) : vimg_image_backing(top);
	if (!base) {
		vimg_image_close(top, NULL);
		return base_name ? cli_errorf(&cmd_commit, "'%s' is not in the backing chain of '%s'",
					      base_name, argv[optind])
				 : cli_errorf(&cmd_commit, "'%s' has no backing file", argv[optind]);
	}
	if (vimg_image_open(vimg_image_filename(base), vimg_image_format(base),
			    VIMG_OPEN_RDWR | oflags, &base_rw, &err) < 0) {
		vimg_image_close(top, NULL);
		return cli_error(&cmd_commit, &err);
	}
	struct progress *p = progress_new(progress && !quiet);
	rc = p ? vimg_image_commit(top, base, base_rw, progress_update, p, &err)
	       : vimg_error_set(&err, VIMG_ENOMEM, "out of memory");
	progress_free(p, rc == 0);
	if (rc == 0)
		rc = vimg_image_close(base_rw, &err);
	else
		vimg_image_close(base_rw, NULL);
	char *fmt = strdup(vimg_image_format(top));
	vimg_image_close(top, NULL);
	if (rc == 0 && !fmt)
		rc = vimg_error_set(&err, VIMG_ENOMEM, "out of memory");
	/* The base holds the data now, and is closed: IMAGE is opened again,
	 * writable, only to be emptied; a format that cannot be emptied only
	 * leaves it larger than it needs to be. */
	if (rc == 0 && !keep && !(vimg_format_features(fmt) & VIMG_FEAT_EMPTY)) {
		if (!quiet)
			fprintf(stderr, "vimg commit: %s images cannot be emptied: '%s' is kept "
				"as it is\n", fmt, argv[optind]);
	} else if (rc == 0 && !keep &&
		 (rc = vimg_image_open(argv[optind], fmt, oflags | VIMG_OPEN_RDWR, &top, &err)) == 0) {
		rc = vimg_image_make_empty(top, &err);
		if (rc == 0)
			rc = vimg_image_close(top, &err);
		else
			vimg_image_close(top, NULL);
	}
	free(fmt);
	if (rc < 0)
		return cli_error(&cmd_commit, &err);
	if (!quiet)
		printf("Image committed.\n");
	return CLI_OK;
}

const struct cmd cmd_commit = {
	.name = "commit",
	.summary = "commit an image's data into its backing file",
	.usage = usage,
	.run = cmd_commit_run,
};
