/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vimg check: vimg_image_check with qemu-img check's report and exit codes:
 * 0 clean, 1 the check could not complete, 2 corruptions, 3 leaks only, 63
 * the format has no checker. With -r the image is opened writable for
 * repair, then checked again and the second result decides the exit code.
 * Findings are printed as they are reported (human) or gathered into the
 * JSON object, which otherwise has qemu-img's keys.
 */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum {
	CHECK_OK = 0,
	CHECK_INCOMPLETE = 1,
	CHECK_CORRUPT = 2,
	CHECK_LEAKS = 3,
	CHECK_UNSUPPORTED = 63,
};

static const char usage[] =
	"Usage: vimg check [-f FMT] [-r leaks|all] [--output=human|json] [-q]\n"
	"                  [--allow-escape] IMAGE\n"
	"\n"
	"Check the consistency of IMAGE's own metadata (not its backing files).\n"
	"Exit status: 0 no problems, 1 the check could not complete, 2 corruptions\n"
	"found, 3 only leaked clusters found, 63 the format has no checker.\n"
	"\n"
	"  -f, --format=FMT     image format (default: probe)\n"
	"  -r, --repair=WHAT    repair leaks, or all problems (opens read-write)\n"
	"  --output=FMT         human (default) or json (as qemu-img check)\n"
	"  -q, --quiet          print nothing on a clean image\n"
	"  --allow-escape       allow backing files outside the image's directory\n"
	"  -h, --help           show this help\n";

struct finding {
	enum vimg_check_severity severity;
	char *structure;
	int64_t index;
	uint64_t file_off;
	char *message;
	bool fixed;
};

struct check_ctx {
	enum cli_output output;
	bool quiet;
	struct finding *v;
	size_t n, cap;
	bool oom;
};

static const char *severity_name(enum vimg_check_severity s)
{
	switch (s) {
	case VIMG_CHECK_LEAK:
		return "leak";
	case VIMG_CHECK_CORRUPTION:
		return "corruption";
	case VIMG_CHECK_ERROR:
		return "check-error";
	case VIMG_CHECK_NOTE:
		return "note";
	}
	return "unknown";
}

static void report_human(const struct vimg_check_finding *f)
{
	const char *what = f->severity == VIMG_CHECK_NOTE ? "Note:" :
			   f->fixed ? "Repairing" :
			   f->severity == VIMG_CHECK_LEAK ? "Leaked" : "ERROR";
	printf("%s %s", what, f->structure ? f->structure : "");
	if (f->index >= 0)
		printf(" %" PRId64, f->index);
	printf(": %s", f->message ? f->message : "");
	if (f->file_off)
		printf(" (offset 0x%" PRIx64 ")", f->file_off);
	putchar('\n');
}

static void report_cb(void *opaque, const struct vimg_check_finding *f)
{
	struct check_ctx *c = opaque;
	if (c->output == OUTPUT_HUMAN) {
		report_human(f);
		return;
	}
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 16;
		struct finding *v = realloc(c->v, cap * sizeof(*v));
		if (!v) {
			c->oom = true;
			return;
		}
		c->v = v;
		c->cap = cap;
	}
	struct finding *d = &c->v[c->n];
	d->severity = f->severity;
	d->structure = strdup(f->structure ? f->structure : "");
	d->message = strdup(f->message ? f->message : "");
	d->index = f->index;
	d->file_off = f->file_off;
	d->fixed = f->fixed;
	if (!d->structure || !d->message) {
		free(d->structure);
		free(d->message);
		c->oom = true;
		return;
	}
	c->n++;
}

static void findings_free(struct check_ctx *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].structure);
		free(c->v[i].message);
	}
	free(c->v);
}

static int exit_code(const struct vimg_check *r)
{
	if (r->check_errors)
		return CHECK_INCOMPLETE;
	if (r->corruptions)
		return CHECK_CORRUPT;
	if (r->leaks)
		return CHECK_LEAKS;
	return CHECK_OK;
}

static void summary_human(const struct vimg_check *r, bool quiet)
{
	if (r->check_errors)
		printf("\n%" PRIu64 " internal errors have occurred during the check.\n",
		       r->check_errors);
	if (r->corruptions)
		printf("\n%" PRIu64 " errors were found on the image.\n"
		       "Data may be corrupted, or further writes to the image may corrupt it.\n",
		       r->corruptions);
	if (r->leaks)
		printf("\n%" PRIu64 " leaked clusters were found on the image.\n"
		       "This means waste of disk space, but no harm to data.\n", r->leaks);
	if (quiet && exit_code(r) == CHECK_OK)
		return;
	if (exit_code(r) == CHECK_OK)
		printf("No errors were found on the image.\n");
	if (r->total_clusters && r->allocated_clusters) {
		double alloc = 100.0 * (double)r->allocated_clusters / (double)r->total_clusters;
		double frag = 100.0 * (double)r->fragmented_clusters /
			      (double)r->allocated_clusters;
		double comp = 100.0 * (double)r->compressed_clusters /
			      (double)r->allocated_clusters;
		printf("%" PRIu64 "/%" PRIu64 " = %0.2f%% allocated, %0.2f%% fragmented, "
		       "%0.2f%% compressed clusters\n", r->allocated_clusters,
		       r->total_clusters, alloc, frag, comp);
	}
	if (r->image_end_offset)
		printf("Image end offset: %" PRIu64 "\n", r->image_end_offset);
}

static void summary_json(struct vimg_image *img, const struct vimg_check *r,
			 const struct vimg_check *fixed, const struct check_ctx *c)
{
	struct json j;
	json_init(&j, stdout);
	json_begin(&j, NULL, false);
	json_str(&j, "filename", vimg_image_filename(img));
	json_str(&j, "format", vimg_image_format(img));
	json_u64(&j, "check-errors", r->check_errors);
	json_u64(&j, "corruptions", r->corruptions);
	json_u64(&j, "leaks", r->leaks);
	if (fixed) {
		json_u64(&j, "corruptions-fixed", fixed->corruptions_fixed);
		json_u64(&j, "leaks-fixed", fixed->leaks_fixed);
	}
	if (r->total_clusters) {
		json_u64(&j, "total-clusters", r->total_clusters);
		json_u64(&j, "allocated-clusters", r->allocated_clusters);
		json_u64(&j, "fragmented-clusters", r->fragmented_clusters);
		json_u64(&j, "compressed-clusters", r->compressed_clusters);
	}
	if (r->image_end_offset)
		json_u64(&j, "image-end-offset", r->image_end_offset);
	json_begin(&j, "findings", true);
	for (size_t i = 0; i < c->n; i++) {
		const struct finding *f = &c->v[i];
		json_begin(&j, NULL, false);
		json_str(&j, "severity", severity_name(f->severity));
		json_str(&j, "structure", f->structure);
		json_i64(&j, "index", f->index);
		json_u64(&j, "offset", f->file_off);
		json_str(&j, "message", f->message);
		json_bool(&j, "fixed", f->fixed);
		json_end(&j);
	}
	json_end(&j);
	json_end(&j);
	json_finish(&j);
}

static int run_check(struct vimg_image *img, struct check_ctx *ctx, unsigned fix,
		     struct vimg_check *rep, struct vimg_error *err)
{
	memset(rep, 0, sizeof(*rep));
	rep->report = report_cb;
	rep->opaque = ctx;
	return vimg_image_check(img, rep, fix, err);
}

static int cmd_check_run(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "format", required_argument, NULL, 'f' },
		{ "repair", required_argument, NULL, 'r' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "output", required_argument, NULL, OPT_OUTPUT },
		{ "allow-escape", no_argument, NULL, OPT_ALLOW_ESCAPE },
		{ NULL, 0, NULL, 0 },
	};
	const char *format = NULL;
	unsigned fix = 0, flags = VIMG_OPEN_CHECK | VIMG_OPEN_NO_BACKING;
	struct check_ctx ctx = { .output = OUTPUT_HUMAN };
	int c, rc;

	while ((c = getopt_long(argc, argv, "hf:r:q", lopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			return cli_help(&cmd_check);
		case 'f':
			format = optarg;
			break;
		case 'r':
			if (strcmp(optarg, "leaks") == 0)
				fix = VIMG_CHECK_FIX_LEAKS;
			else if (strcmp(optarg, "all") == 0)
				fix = VIMG_CHECK_FIX_LEAKS | VIMG_CHECK_FIX_ERRORS;
			else
				return cli_usage(&cmd_check, "invalid -r '%s' (leaks or all)",
						 optarg);
			break;
		case 'q':
			ctx.quiet = true;
			break;
		case OPT_OUTPUT:
			if ((rc = cli_parse_output(&cmd_check, optarg, &ctx.output)))
				return rc;
			break;
		case OPT_ALLOW_ESCAPE:
			flags |= VIMG_OPEN_ALLOW_ESCAPE;
			break;
		default:
			return cli_usage(&cmd_check, NULL);
		}
	}
	if (argc - optind != 1)
		return cli_usage(&cmd_check, "expected one IMAGE");
	if (format && (rc = cli_check_format(&cmd_check, format)))
		return rc;
	if (fix)
		flags |= VIMG_OPEN_RDWR;

	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *img = NULL;
	if (vimg_image_open(argv[optind], format, flags, &img, &err) < 0)
		return cli_error(&cmd_check, &err);

	struct vimg_check first, final;
	rc = run_check(img, &ctx, fix, &first, &err);
	final = first;
	if (rc == 0 && fix && (first.leaks_fixed || first.corruptions_fixed)) {
		if (ctx.output == OUTPUT_HUMAN)
			printf("The following inconsistencies were found and repaired:\n\n"
			       "    %" PRIu64 " leaked clusters\n    %" PRIu64 " corruptions\n\n"
			       "Double checking the fixed image now...\n",
			       first.leaks_fixed, first.corruptions_fixed);
		rc = run_check(img, &ctx, 0, &final, &err);
	}
	if (rc == VIMG_EUNSUPPORTED) {
		fprintf(stderr, "vimg check: %s\n", err.msg[0] ? err.msg :
			"this image format does not support checks");
		rc = CHECK_UNSUPPORTED;
	} else if (rc < 0) {
		cli_error(&cmd_check, &err);
		rc = CHECK_INCOMPLETE;
	} else if (ctx.oom) {
		cli_errorf(&cmd_check, "out of memory");
		rc = CHECK_INCOMPLETE;
	} else {
		if (ctx.output == OUTPUT_JSON)
			summary_json(img, &final, fix ? &first : NULL, &ctx);
		else
			summary_human(&final, ctx.quiet);
		rc = exit_code(&final);
	}
	findings_free(&ctx);
	struct vimg_error cerr = VIMG_ERROR_INIT;
	if (vimg_image_close(img, &cerr) < 0) {
		cli_error(&cmd_check, &cerr);
		if (rc == CHECK_OK)
			rc = CHECK_INCOMPLETE;
	}
	return rc;
}

const struct cmd cmd_check = {
	.name = "check",
	.summary = "check an image for consistency",
	.usage = usage,
	.run = cmd_check_run,
};
