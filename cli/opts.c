/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Option helpers shared by the subcommands: getopt reset, help and error
 * printing, size and integer arguments (sizes through vimg_parse_size, so
 * the CLI and the library agree on units), -f/-O validation against the
 * format registry, -o accumulation and `-o help`, and qemu-img's human size
 * notation. Every error goes to stderr once, as "vimg <cmd>: <message>".
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void cli_getopt_reset(void)
{
	/* glibc: optind = 0 reinitialises the scanner completely. */
	optind = 0;
	opterr = 1;
}

int cli_help(const struct cmd *c)
{
	fputs(c->usage, stdout);
	return CLI_OK;
}

int cli_usage(const struct cmd *c, const char *fmt, ...)
{
	if (fmt) {
		va_list ap;
		fprintf(stderr, "vimg %s: ", c->name);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	fprintf(stderr, "Try 'vimg %s --help' for more information.\n", c->name);
	return CLI_USAGE;
}

int cli_error(const struct cmd *c, const struct vimg_error *err)
{
	const char *msg = err && err->msg[0] ? err->msg
			  : vimg_strerror(err && err->code ? err->code : VIMG_EIO);
	fprintf(stderr, "vimg %s: %s\n", c->name, msg);
	return CLI_ERR;
}

int cli_errorf(const struct cmd *c, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "vimg %s: ", c->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CLI_ERR;
}

int cli_parse_size(const struct cmd *c, const char *what, const char *s, uint64_t *out)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	if (s[0] == '-' || vimg_parse_size(s, out, &err) < 0)
		return cli_usage(c, "invalid %s '%s'%s%s", what, s, err.msg[0] ? ": " : "",
				 err.msg);
	return CLI_OK;
}

int cli_parse_uint(const struct cmd *c, const char *what, const char *s, unsigned min,
		   unsigned max, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (s[0] == '-' || end == s || *end || errno || v < min || v > max)
		return cli_usage(c, "invalid %s '%s' (expected %u..%u)", what, s, min, max);
	*out = (unsigned)v;
	return CLI_OK;
}

int cli_check_format(const struct cmd *c, const char *format)
{
	if (vimg_format_description(format))
		return CLI_OK;
	fprintf(stderr, "vimg %s: unknown format '%s'; known formats:", c->name, format);
	for (size_t i = 0; vimg_format_name(i); i++)
		fprintf(stderr, " %s", vimg_format_name(i));
	fputc('\n', stderr);
	return CLI_USAGE;
}

int cli_opts_append(char **acc, const char *arg)
{
	size_t old = *acc ? strlen(*acc) : 0;
	size_t add = strlen(arg);
	char *p = realloc(*acc, old + add + 2);
	if (!p)
		return CLI_ERR;
	if (old)
		p[old++] = ',';
	memcpy(p + old, arg, add + 1);
	*acc = p;
	return CLI_OK;
}

bool cli_opts_want_help(const char *opts)
{
	if (!opts)
		return false;
	const char *p = opts;
	while (*p) {
		size_t n = strcspn(p, ",");
		if ((n == 4 && strncmp(p, "help", 4) == 0) || (n == 1 && p[0] == '?'))
			return true;
		p += n;
		if (*p == ',')
			p++;
	}
	return false;
}

int cli_opts_take(char **opts, const char *key, char **value)
{
	size_t klen = strlen(key);
	char *r = *opts, *w = *opts;

	while (r && *r) {
		size_t n = strcspn(r, ",");
		if (n > klen && !strncmp(r, key, klen) && r[klen] == '=') {
			char *v = strndup(r + klen + 1, n - klen - 1);
			if (!v)
				return CLI_ERR;
			free(*value);
			*value = v;
		} else {
			if (w != *opts)
				*w++ = ',';
			memmove(w, r, n);
			w += n;
		}
		r += n;
		if (*r == ',')
			r++;
	}
	if (w)
		*w = '\0';
	if (*opts && !**opts) {
		free(*opts);
		*opts = NULL;
	}
	return CLI_OK;
}

static const char *opt_type_name(enum vimg_opt_type t)
{
	switch (t) {
	case VIMG_OPT_STR:
		return "str";
	case VIMG_OPT_SIZE:
		return "size";
	case VIMG_OPT_UINT:
		return "num";
	case VIMG_OPT_BOOL:
		return "on|off";
	}
	return "?";
}

void cli_opts_print_help(const char *format, bool create)
{
	const struct vimg_opt_desc *d = vimg_format_create_opts(format);
	printf("Supported options for %s:\n", format);
	if (create) {
		printf("  %-30s - %s\n", "size=<size>", "virtual disk size (as the SIZE argument)");
		if (vimg_format_features(format) & VIMG_FEAT_BACKING) {
			printf("  %-30s - %s\n", "backing_file=<str>", "backing file (as -b)");
			printf("  %-30s - %s\n", "backing_fmt=<str>", "its format (as -F)");
		}
	}
	if ((!d || !d->key) && !create) {
		printf("  (none)\n");
		return;
	}
	for (; d && d->key; d++) {
		char lhs[96];
		if (d->type == VIMG_OPT_STR && d->choices)
			snprintf(lhs, sizeof(lhs), "%s=<%s>", d->key, d->choices);
		else
			snprintf(lhs, sizeof(lhs), "%s=<%s>", d->key, opt_type_name(d->type));
		printf("  %-30s - %s", lhs, d->help ? d->help : "");
		if (d->def)
			printf(" (default: %s)", d->def);
		putchar('\n');
	}
}

void cli_fmt_size(char *buf, size_t len, uint64_t val)
{
	/*
	 * qemu's size_to_str(): the unit grows once the number reaches 1000 of
	 * the current one, and three significant digits are shown.
	 */
	static const char *const suffix[] = { "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei" };
	int i = 0;
	while (i < 6 && (double)val >= 1000.0 * (double)(1ull << (10 * i)))
		i++;
	snprintf(buf, len, "%0.3g %sB", (double)val / (double)(1ull << (10 * i)), suffix[i]);
}
