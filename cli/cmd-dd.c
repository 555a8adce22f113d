/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vimg dd: qemu-img dd's operands (if=, of=, bs=, count=, skip=) over the
 * public API, with dd's meaning, which qemu-img's manual gives too: count
 * blocks after the skipped ones (qemu-img dd counts the skipped blocks in
 * count). The output is created with -O's format at the size of the
 * range copied; ranges the input reports as zero or unallocated, and
 * blocks that read as zeros, are not written (the new image reads zeros).
 */
#include "config.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
	"Usage: vimg dd [-f FMT] [-O FMT] [-p] [--allow-escape] [bs=SIZE] [count=N]\n"
	"               [skip=N] if=INPUT of=OUTPUT\n"
	"\n"
	"Copy count blocks of bs bytes (default 512; count: to the end) from INPUT,\n"
	"starting skip blocks in, into a new image OUTPUT of format -O (default\n"
	"raw) as large as the range, as qemu-img dd does.\n"
	"\n"
	"  -f FMT               format of INPUT (default: probe)\n"
	"  -O FMT               format of OUTPUT (default: raw)\n"
	"  -p, --progress       show progress on stderr\n"
	"  --allow-escape       allow INPUT's backing files outside its directory\n"
	"  -h, --help           show this help\n";

#define DD_CHUNK (1u << 20)
#define DD_BLOCK 4096u

static size_t block_len(size_t m, size_t at)
{
	return m - at < DD_BLOCK ? m - at : DD_BLOCK;
}

static bool is_zero(const uint8_t *p, size_t n)
{
	return !p[0] && !memcmp(p, p + 1, n - 1);
}

/* Copy [from, from+len) of src to [0, len) of dst, leaving zeros unwritten. */
static int dd_copy(struct vimg_image *src, struct vimg_image *dst, uint64_t from, uint64_t len,
		   struct progress *p, struct vimg_error *err)
{
	uint8_t *buf = malloc(DD_CHUNK);
	uint64_t done = 0;
	int rc = buf ? 0 : vimg_error_set(err, VIMG_ENOMEM, "out of memory");

	while (!rc && done < len) {
		struct vimg_run run;
		uint64_t n;

		rc = vimg_image_block_status_above(src, NULL, from + done, len - done, &run, NULL,
						   err);
		if (rc)
			break;
		n = run.length < len - done ? run.length : len - done;
		for (uint64_t pos = 0; run.kind == VIMG_RUN_DATA && !rc && pos < n;) {
			size_t m = n - pos < DD_CHUNK ? (size_t)(n - pos) : DD_CHUNK;
			size_t at = 0;

			rc = vimg_image_read(src, buf, from + done + pos, m, err);
			/* Only runs of non-zero 4 KiB blocks go out, as convert's -S. */
			while (!rc && at < m) {
				size_t end = at;

				while (end < m && !is_zero(buf + end, block_len(m, end)))
					end += block_len(m, end);
				if (end > at)
					rc = vimg_image_write(dst, buf + at, done + pos + at, end - at,
							      err);
				else
					end += block_len(m, end);
				at = end;
			}
			pos += m;
		}
		done += n;
		progress_update(p, done, len);
	}
	free(buf);
	return rc;
}

static int operand(const char *arg, const char *key, const char **val)
{
	size_t n = strlen(key);

	if (strncmp(arg, key, n) || arg[n] != '=')
		return 0;
	*val = arg + n + 1;
	return 1;
}

static int cmd_dd_run(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "progress", no_argument, NULL, 'p' },
		{ "allow-escape", no_argument, NULL, OPT_ALLOW_ESCAPE },
		{ NULL, 0, NULL, 0 },
	};
	const char *format = NULL, *oformat = "raw", *in = NULL, *out = NULL;
	const char *bs_s = NULL, *count_s = NULL, *skip_s = NULL;
	uint64_t bs = 512, count = 0, skip = 0;
	unsigned oflags = 0;
	bool progress = false;
	int c, rc;

	while ((c = getopt_long(argc, argv, "hf:O:p", lopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			return cli_help(&cmd_dd);
		case 'f':
			format = optarg;
			break;
		case 'O':
			oformat = optarg;
			break;
		case 'p':
			progress = true;
			break;
		case OPT_ALLOW_ESCAPE:
			oflags |= VIMG_OPEN_ALLOW_ESCAPE;
			break;
		default:
			return cli_usage(&cmd_dd, NULL);
		}
	}
	for (int i = optind; i < argc; i++)
		if (!operand(argv[i], "if", &in) && !operand(argv[i], "of", &out) &&
		    !operand(argv[i], "bs", &bs_s) && !operand(argv[i], "count", &count_s) &&
		    !operand(argv[i], "skip", &skip_s))
			return cli_usage(&cmd_dd, "unknown operand '%s'", argv[i]);
	if (!in || !out)
		return cli_usage(&cmd_dd, "if= and of= are needed");
	if ((format && (rc = cli_check_format(&cmd_dd, format))) ||
	    (rc = cli_check_format(&cmd_dd, oformat)))
		return rc;
	if ((bs_s && (rc = cli_parse_size(&cmd_dd, "bs", bs_s, &bs))) ||
	    (count_s && (rc = cli_parse_size(&cmd_dd, "count", count_s, &count))) ||
	    (skip_s && (rc = cli_parse_size(&cmd_dd, "skip", skip_s, &skip))))
		return rc;
	if (!bs)
		return cli_usage(&cmd_dd, "bs must not be 0");

	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *src, *dst;
	if (vimg_image_open(in, format, oflags, &src, &err) < 0)
		return cli_error(&cmd_dd, &err);
	uint64_t size = vimg_image_virtual_size(src), from, len;
	if (skip > size / bs) {
		vimg_image_close(src, NULL);
		return cli_errorf(&cmd_dd, "cannot skip to block %s: the input has %llu bytes",
				  skip_s, (unsigned long long)size);
	}
	from = skip * bs;
	len = size - from;
	if (count_s && count <= len / bs)
		len = count * bs;
	rc = vimg_image_create(out, oformat, len, NULL, NULL, NULL, 0, &err);
	if (!rc)
		rc = vimg_image_open(out, oformat, VIMG_OPEN_RDWR, &dst, &err);
	if (rc) {
		vimg_image_close(src, NULL);
		return cli_error(&cmd_dd, &err);
	}
	struct progress *p = progress_new(progress);
	rc = p ? dd_copy(src, dst, from, len, p, &err)
	       : vimg_error_set(&err, VIMG_ENOMEM, "out of memory");
	progress_free(p, rc == 0);
	vimg_image_close(src, NULL);
	if (rc == 0)
		rc = vimg_image_close(dst, &err);
	else
		vimg_image_close(dst, NULL);
	return rc < 0 ? cli_error(&cmd_dd, &err) : CLI_OK;
}

const struct cmd cmd_dd = {
	.name = "dd",
	.summary = "copy a range of an image into a new image, as dd",
	.usage = usage,
	.run = cmd_dd_run,
};
