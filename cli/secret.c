/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Secrets for encrypted images, taken off any command's arguments before
 * it parses them: --secret-file FILE, and qemu's --object
 * secret,id=ID,data=TEXT or secret,id=ID,file=FILE. The bytes are used as
 * given (a file's trailing newline is part of the secret, as in qemu). One
 * secret serves every encrypted image the command opens.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define SECRET_MAX (64u << 10)

static int secret_from_file(const char *cmd, const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = malloc(SECRET_MAX + 1);
	size_t n = 0;
	int rc = CLI_OK;

	if (!f || !buf) {
		fprintf(stderr, "vimg %s: secret file %s: %s\n", cmd, path,
			f ? "out of memory" : strerror(errno));
		rc = CLI_USAGE;
	} else {
		n = fread(buf, 1, SECRET_MAX + 1, f);
		if (n > SECRET_MAX || ferror(f)) {
			fprintf(stderr, "vimg %s: secret file %s: unreadable or over %u bytes\n", cmd,
				path, SECRET_MAX);
			rc = CLI_USAGE;
		} else if (vimg_set_secret(buf, n, NULL) < 0) {
			rc = CLI_ERR;
		}
	}
	if (buf) {
		memset(buf, 0, SECRET_MAX + 1);
		free(buf);
	}
	if (f)
		fclose(f);
	return rc;
}

/* "secret,id=ID,data=TEXT" or "secret,id=ID,file=PATH". */
static int secret_object(const char *cmd, const char *spec)
{
	const char *p;

	if (strncmp(spec, "secret,", 7)) {
		fprintf(stderr, "vimg %s: --object: only secret objects are known ('%s')\n", cmd,
			spec);
		return CLI_USAGE;
	}
	if ((p = strstr(spec, ",data=")))
		return vimg_set_secret(p + 6, strcspn(p + 6, ","), NULL) < 0 ? CLI_ERR : CLI_OK;
	if ((p = strstr(spec, ",file="))) {
		char *path = strndup(p + 6, strcspn(p + 6, ","));
		int rc = path ? secret_from_file(cmd, path) : CLI_ERR;

		free(path);
		return rc;
	}
	fprintf(stderr, "vimg %s: --object secret: data= or file= is needed\n", cmd);
	return CLI_USAGE;
}

int cli_take_secrets(const char *cmd, int *argc, char **argv)
{
	int out = 1;

	for (int i = 1; i < *argc; i++) {
		const char *a = argv[i], *val = NULL;
		bool file;

		if (!strcmp(a, "--")) {
			while (i < *argc)
				argv[out++] = argv[i++];
			break;
		}
		file = !strncmp(a, "--secret-file", 13) && (a[13] == '=' || !a[13]);
		if (!file && !(!strncmp(a, "--object", 8) && (a[8] == '=' || !a[8]))) {
			argv[out++] = argv[i];
			continue;
		}
		val = strchr(a, '=') ? strchr(a, '=') + 1 : i + 1 < *argc ? argv[++i] : NULL;
		if (!val) {
			fprintf(stderr, "vimg %s: %s needs a value\n", cmd, a);
			return CLI_USAGE;
		}
		int rc = file ? secret_from_file(cmd, val) : secret_object(cmd, val);
		if (rc)
			return rc;
	}
	argv[out] = NULL;
	*argc = out;
	return CLI_OK;
}
