/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vimg config: read and edit a VMware dictionary file (.vmx, .vmsd, ...)
 * losslessly through vimg_config: what scripts do today with sed, without
 * breaking escapes, encodings, case or the lines around the key.
 */
#include "config.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

static const char usage[] =
	"Usage: vimg config [--get KEY]... [--set KEY=VALUE]... [--unset KEY]...\n"
	"                   [--output=human|json] FILE\n"
	"\n"
	"Read or edit a VMware configuration file (.vmx, .vmsd) losslessly. With\n"
	"no option, print every key with its value. --set and --unset apply in\n"
	"command-line order and the file is rewritten once, atomically: lines that\n"
	"do not change keep their bytes, an existing key's line keeps its spelling\n"
	"and spacing, a new key is added at the end. --get prints values after the\n"
	"edits. Values are plain text: VMware's |XX escapes and the file's\n"
	".encoding are handled here. Keys match whatever their case; with a key\n"
	"written twice the last one counts. The .encoding itself cannot change.\n"
	"\n"
	"  --get KEY            print the value of KEY (exit 1 if it is absent)\n"
	"  --set KEY=VALUE      set KEY (add it if absent)\n"
	"  --unset KEY          remove every line of KEY\n"
	"  --output=FMT         human (default) or json\n"
	"  -h, --help           show this help\n"
	"\n"
	"Examples:\n"
	"  vimg config vm.vmx --set memsize=4096 --unset sched.mem.pin\n"
	"  vimg config vm.vmx --get displayName --get guestOS\n";

enum { OPT_GET = 300, OPT_SET, OPT_UNSET };

struct edit {
	int op;
	const char *arg;
};

static void list_all(const struct vimg_config *cfg, const char *file, enum cli_output output)
{
	if (output == OUTPUT_JSON) {
		struct json j;

		json_init(&j, stdout);
		json_begin(&j, NULL, false);
		json_str(&j, "file", file);
		json_str(&j, "encoding", vimg_config_get(cfg, ".encoding"));
		json_begin(&j, "keys", true);
		for (size_t i = 0; i < vimg_config_count(cfg); i++) {
			json_begin(&j, NULL, false);
			json_str(&j, "key", vimg_config_key(cfg, i));
			json_str(&j, "value", vimg_config_value(cfg, i));
			json_end(&j);
		}
		json_end(&j);
		json_end(&j);
		json_finish(&j);
		return;
	}
	for (size_t i = 0; i < vimg_config_count(cfg); i++)
		printf("%s = \"%s\"\n", vimg_config_key(cfg, i), vimg_config_value(cfg, i));
}

/*
 * The lines after .encoding were written in it; naming another one would make
 * the next reader decode them wrongly, so only a no-op change is allowed.
 */
static int encoding_change(const struct vimg_config *cfg, const char *key, const char *value)
{
	const char *cur = vimg_config_get(cfg, ".encoding");

	if (strcasecmp(key, ".encoding"))
		return CLI_OK;
	if (!cur)
		cur = "UTF-8";
	if (value ? !strcasecmp(value, cur) : !strcasecmp(cur, "UTF-8"))
		return CLI_OK;
	return cli_errorf(&cmd_config,
			  "changing .encoding (now \"%s\") is not supported: the other lines "
			  "would be misread", cur);
}

/* Apply the --set and --unset edits in order; 0 or CLI_ERR. */
static int apply(struct vimg_config *cfg, const struct edit *e, size_t n)
{
	struct vimg_error err = VIMG_ERROR_INIT;

	for (size_t i = 0; i < n; i++) {
		char *key, *eq;
		int rc;

		if (e[i].op == OPT_UNSET) {
			if (encoding_change(cfg, e[i].arg, NULL))
				return CLI_ERR;
			if (vimg_config_unset(cfg, e[i].arg, &err) < 0)
				return cli_error(&cmd_config, &err);
			continue;
		}
		if (e[i].op != OPT_SET)
			continue;
		eq = strchr(e[i].arg, '=');
		key = strndup(e[i].arg, (size_t)(eq - e[i].arg));
		if (!key)
			return cli_errorf(&cmd_config, "out of memory");
		if (encoding_change(cfg, key, eq + 1)) {
			free(key);
			return CLI_ERR;
		}
		rc = vimg_config_set(cfg, key, eq + 1, &err);
		free(key);
		if (rc)
			return cli_error(&cmd_config, &err);
	}
	if (vimg_config_save(cfg, &err))
		return cli_error(&cmd_config, &err);
	return CLI_OK;
}

static int print_gets(const struct vimg_config *cfg, const char *file, const struct edit *e,
		      size_t n, enum cli_output output)
{
	struct json j;
	int rc = CLI_OK;

	if (output == OUTPUT_JSON) {
		json_init(&j, stdout);
		json_begin(&j, NULL, false);
	}
	for (size_t i = 0; i < n; i++) {
		const char *v;

		if (e[i].op != OPT_GET)
			continue;
		v = vimg_config_get(cfg, e[i].arg);
		if (output == OUTPUT_JSON)
			json_str(&j, e[i].arg, v);
		else if (v)
			printf("%s\n", v);
		if (!v)
			rc = cli_errorf(&cmd_config, "%s: no key \"%s\"", file, e[i].arg);
	}
	if (output == OUTPUT_JSON) {
		json_end(&j);
		json_finish(&j);
	}
	return rc;
}

static int cmd_config_run(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "get", required_argument, NULL, OPT_GET },
		{ "set", required_argument, NULL, OPT_SET },
		{ "unset", required_argument, NULL, OPT_UNSET },
		{ "output", required_argument, NULL, OPT_OUTPUT },
		{ NULL, 0, NULL, 0 },
	};
	struct vimg_error err = VIMG_ERROR_INIT;
	enum cli_output output = OUTPUT_HUMAN;
	struct vimg_config *cfg;
	struct edit *edits;
	size_t n = 0, gets = 0, changes = 0;
	int opt, rc;

	edits = calloc((size_t)argc + 1, sizeof(*edits));
	if (!edits)
		return CLI_ERR;
	cli_getopt_reset();
	while ((opt = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			free(edits);
			return cli_help(&cmd_config);
		case OPT_SET:
			if (optarg[0] == '=' || !strchr(optarg, '=')) {
				free(edits);
				return cli_usage(&cmd_config, "--set wants KEY=VALUE, not '%s'",
						 optarg);
			}
			/* fall through */
		case OPT_GET:
		case OPT_UNSET:
			edits[n++] = (struct edit){ opt, optarg };
			gets += opt == OPT_GET;
			changes += opt != OPT_GET;
			break;
		case OPT_OUTPUT:
			if (cli_parse_output(&cmd_config, optarg, &output)) {
				free(edits);
				return CLI_USAGE;
			}
			break;
		default:
			free(edits);
			return cli_usage(&cmd_config, NULL);
		}
	}
	if (optind != argc - 1) {
		free(edits);
		return cli_usage(&cmd_config, "expected one FILE");
	}
	if (vimg_config_open(argv[optind], &cfg, &err)) {
		free(edits);
		return cli_error(&cmd_config, &err);
	}
	rc = changes ? apply(cfg, edits, n) : CLI_OK;
	if (rc == CLI_OK && gets)
		rc = print_gets(cfg, argv[optind], edits, n, output);
	else if (rc == CLI_OK && !changes)
		list_all(cfg, argv[optind], output);
	vimg_config_close(cfg);
	free(edits);
	return rc;
}

const struct cmd cmd_config = {
	.name = "config",
	.summary = "read and edit a VMware .vmx/.vmsd losslessly",
	.usage = usage,
	.run = cmd_config_run,
};
