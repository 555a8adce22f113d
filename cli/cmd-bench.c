/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vimg bench: qemu-img bench's options and report over the public API:
 * count requests of a buffer size at offsets advancing by the step and
 * wrapping at the disk's end, depth of them in flight (one thread each, at
 * most 16). Reads and writes go through the host's page cache: -t none and
 * -n are refused rather than ignored.
 */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static const char usage[] =
	"Usage: vimg bench [-c COUNT] [-d DEPTH] [-f FMT] [--flush-interval=N]\n"
	"                  [-o OFFSET] [--pattern=N] [-q] [-s SIZE] [-S STEP]\n"
	"                  [-t writeback|unsafe] [-w] [--output=human|json] IMAGE\n"
	"\n"
	"Time COUNT requests (default 75000) of SIZE bytes (default 4k) from\n"
	"OFFSET on, each STEP bytes (default SIZE) after the last, wrapping at the\n"
	"disk's end, DEPTH at a time (default 64; threads, at most 16), as\n"
	"qemu-img bench does. Reads unless -w.\n"
	"\n"
	"  -w                   write (the image is opened writable)\n"
	"  --pattern=N          byte written (default 0)\n"
	"  --flush-interval=N   flush after every N writes (default: at the end)\n"
	"  -t MODE              writeback (default) or unsafe (no flush at all)\n"
	"  --output=FMT         human (default) or json\n"
	"  -h, --help           show this help\n";

enum { OPT_FLUSH = OPT_VMEM + 1, OPT_PATTERN, OPT_NO_DRAIN };

struct bench {
	struct vimg_image *img;
	uint64_t count, size, step, start, disk, flush_every;
	bool write;
	int pattern;
	atomic_uint_fast64_t next;
	pthread_mutex_t lock;
	struct vimg_error err;
	int rc;
};

static void *bench_worker(void *opaque)
{
	struct bench *b = opaque;
	uint8_t *buf = malloc(b->size);
	struct vimg_error err = VIMG_ERROR_INIT;
	int rc = buf ? 0 : vimg_error_set(&err, VIMG_ENOMEM, "out of memory");

	if (buf)
		memset(buf, b->pattern, b->size);
	for (;;) {
		uint64_t i = atomic_fetch_add(&b->next, 1);

		if (rc || i >= b->count)
			break;
		/* qemu-img bench: offset = (offset + step) % image size. */
		uint64_t off = (b->start + (i * b->step) % b->disk) % b->disk;
		size_t n = (size_t)(b->disk - off < b->size ? b->disk - off : b->size);

		rc = b->write ? vimg_image_write(b->img, buf, off, n, &err)
			      : vimg_image_read(b->img, buf, off, n, &err);
		if (!rc && b->write && b->flush_every && (i + 1) % b->flush_every == 0)
			rc = vimg_image_flush(b->img, &err);
	}
	if (rc) {
		pthread_mutex_lock(&b->lock);
		if (!b->rc) {
			b->rc = rc;
			b->err = err;
		}
		pthread_mutex_unlock(&b->lock);
	}
	free(buf);
	return NULL;
}

static int cmd_bench_run(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "format", required_argument, NULL, 'f' },
		{ "flush-interval", required_argument, NULL, OPT_FLUSH },
		{ "pattern", required_argument, NULL, OPT_PATTERN },
		{ "no-drain", no_argument, NULL, OPT_NO_DRAIN },
		{ "quiet", no_argument, NULL, 'q' },
		{ "output", required_argument, NULL, OPT_OUTPUT },
		{ NULL, 0, NULL, 0 },
	};
	struct bench b = { .count = 75000, .size = 4096, .lock = PTHREAD_MUTEX_INITIALIZER };
	enum cli_output output = OUTPUT_HUMAN;
	const char *format = NULL, *cache = "writeback";
	unsigned depth = 64, pattern = 0, flush = 0;
	bool quiet = false, have_step = false;
	int c, rc;

	while ((c = getopt_long(argc, argv, "hc:d:f:no:qs:S:t:wi:U", lopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			return cli_help(&cmd_bench);
		case 'c':
			if ((rc = cli_parse_size(&cmd_bench, "count", optarg, &b.count)))
				return rc;
			break;
		case 'd':
			if ((rc = cli_parse_uint(&cmd_bench, "depth", optarg, 1, 65536, &depth)))
				return rc;
			break;
		case 'f':
			format = optarg;
			break;
		case 'n':
			return cli_usage(&cmd_bench, "-n (O_DIRECT) is not available: vimg goes "
					 "through the host's page cache");
		case 'o':
			if ((rc = cli_parse_size(&cmd_bench, "offset", optarg, &b.start)))
				return rc;
			break;
		case 'q':
			quiet = true;
			break;
		case 's':
			if ((rc = cli_parse_size(&cmd_bench, "buffer size", optarg, &b.size)))
				return rc;
			break;
		case 'S':
			if ((rc = cli_parse_size(&cmd_bench, "step", optarg, &b.step)))
				return rc;
			have_step = true;
			break;
		case 't':
			cache = optarg;
			break;
		case 'w':
			b.write = true;
			break;
		case 'i':
		case 'U':
		case OPT_NO_DRAIN:
			break; /* qemu's AIO engine and locking: no such choice here */
		case OPT_FLUSH:
			if ((rc = cli_parse_uint(&cmd_bench, "flush interval", optarg, 0, UINT32_MAX,
						 &flush)))
				return rc;
			break;
		case OPT_PATTERN:
			if ((rc = cli_parse_uint(&cmd_bench, "pattern", optarg, 0, 255, &pattern)))
				return rc;
			break;
		case OPT_OUTPUT:
			if ((rc = cli_parse_output(&cmd_bench, optarg, &output)))
				return rc;
			break;
		default:
			return cli_usage(&cmd_bench, NULL);
		}
	}
	if (optind + 1 != argc)
		return cli_usage(&cmd_bench, "expected IMAGE");
	if (strcmp(cache, "writeback") && strcmp(cache, "unsafe"))
		return cli_usage(&cmd_bench, "cache mode '%s' is not available (writeback or "
				 "unsafe: vimg goes through the host's page cache)", cache);
	if (!b.size || b.size > (64u << 20))
		return cli_usage(&cmd_bench, "buffer size must be 1 byte to 64 MiB");
	if (format && (rc = cli_check_format(&cmd_bench, format)))
		return rc;
	if (!have_step)
		b.step = b.size;
	b.flush_every = flush;
	b.pattern = (int)pattern;

	struct vimg_error err = VIMG_ERROR_INIT;
	unsigned oflags = (b.write ? VIMG_OPEN_RDWR : 0) |
			  (!strcmp(cache, "unsafe") ? VIMG_OPEN_NO_SYNC : 0);
	if (vimg_image_open(argv[optind], format, oflags, &b.img, &err) < 0)
		return cli_error(&cmd_bench, &err);
	b.disk = vimg_image_virtual_size(b.img);
	if (!b.disk || b.start >= b.disk) {
		vimg_image_close(b.img, NULL);
		return cli_errorf(&cmd_bench, "offset %" PRIu64 " is past the disk's %" PRIu64
				  " bytes", b.start, b.disk);
	}
	unsigned threads = depth < 16 ? depth : 16;
	if (!quiet && output == OUTPUT_HUMAN)
		printf("Sending %" PRIu64 " %s requests, %" PRIu64 " bytes each, %u in parallel "
		       "(starting at offset %" PRIu64 ", step size %" PRIu64 ")\n",
		       b.count, b.write ? "write" : "read", b.size, depth, b.start, b.step);
	struct timespec t0, t1;
	pthread_t tids[16];
	unsigned started = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (; started < threads; started++)
		if (pthread_create(&tids[started], NULL, bench_worker, &b))
			break;
	if (!started)
		bench_worker(&b);
	for (unsigned i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	if (!b.rc && b.write && strcmp(cache, "unsafe"))
		b.rc = vimg_image_flush(b.img, &b.err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	rc = b.rc ? b.rc : vimg_image_close(b.img, &b.err);
	if (b.rc)
		vimg_image_close(b.img, NULL);
	if (rc < 0)
		return cli_error(&cmd_bench, &b.err);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (output == OUTPUT_JSON) {
		struct json j;
		json_init(&j, stdout);
		json_begin(&j, NULL, false);
		json_str(&j, "mode", b.write ? "write" : "read");
		json_u64(&j, "requests", b.count);
		json_u64(&j, "request-size", b.size);
		json_u64(&j, "depth", depth);
		json_u64(&j, "threads", started ? started : 1);
		json_u64(&j, "nanoseconds", (uint64_t)(secs * 1e9));
		json_end(&j);
		json_finish(&j);
	} else if (!quiet) {
		printf("Run completed in %.3f seconds.\n", secs);
	}
	return CLI_OK;
}

const struct cmd cmd_bench = {
	.name = "bench",
	.summary = "time many small reads or writes, as qemu-img bench",
	.usage = usage,
	.run = cmd_bench_run,
};
