/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vimg: main, global options (--help, --version), the subcommand table and
 * `vimg help CMD`. Each subcommand lives in cli/cmd-<name>.c and returns its
 * exit code: 0 success, 1 image or operation error, 2 usage error (check and
 * compare follow qemu-img's codes, see their man pages).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const struct cmd *const commands[] = {
	&cmd_info, &cmd_create, &cmd_convert, &cmd_compare, &cmd_check,
	&cmd_map, &cmd_snapshot, &cmd_formats, &cmd_resize, &cmd_measure, &cmd_rebase, &cmd_commit, &cmd_sparsify, &cmd_amend, &cmd_dd, &cmd_bench,
	&cmd_inspect, &cmd_clone, &cmd_config, &cmd_nvram, &cmd_memdump,
	&cmd_boot,
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct cmd *find_command(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i]->name, name) == 0)
			return commands[i];
	return NULL;
}

static void global_usage(FILE *f)
{
	fprintf(f, "Usage: vimg [--help | --version] COMMAND [ARGS...]\n"
		   "\n"
		   "Inspect, create, convert and check virtual machine disk images.\n"
		   "\n"
		   "Commands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(f, "  %-10s %s\n", "help", "show help for a command");
	fprintf(f, "\n"
		   "Run 'vimg COMMAND --help' for the options of a command. Every command\n"
		   "takes --secret-file FILE or --object secret,id=ID,data=TEXT|file=FILE,\n"
		   "the secret of the encrypted images it opens.\n"
		   "Exit status: 0 success, 1 image or operation error, 2 usage error\n"
		   "(compare and check use qemu-img's codes; see vimg(1)).\n");
}

static int help_command(int argc, char **argv)
{
	if (argc < 2) {
		global_usage(stdout);
		return CLI_OK;
	}
	const struct cmd *c = find_command(argv[1]);
	if (!c) {
		fprintf(stderr, "vimg help: unknown command '%s'\n", argv[1]);
		return CLI_USAGE;
	}
	return cli_help(c);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		global_usage(stderr);
		return CLI_USAGE;
	}
	const char *name = argv[1];
	if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
		global_usage(stdout);
		return CLI_OK;
	}
	if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0) {
		printf("vimg %s\n", PACKAGE_VERSION);
		return CLI_OK;
	}
	if (strcmp(name, "help") == 0)
		return help_command(argc - 1, argv + 1);
	if (name[0] == '-') {
		fprintf(stderr, "vimg: unknown option '%s'\nTry 'vimg --help'.\n", name);
		return CLI_USAGE;
	}
	const struct cmd *c = find_command(name);
	if (!c) {
		fprintf(stderr, "vimg: unknown command '%s'\nTry 'vimg --help'.\n", name);
		return CLI_USAGE;
	}

	/* argv[0] of the subcommand reads "vimg <cmd>" so getopt's messages name it. */
	char prog[64];
	snprintf(prog, sizeof(prog), "vimg %s", c->name);
	char **sub = calloc((size_t)argc, sizeof(*sub));
	if (!sub) {
		fprintf(stderr, "vimg: out of memory\n");
		return CLI_ERR;
	}
	sub[0] = prog;
	for (int i = 2; i < argc; i++)
		sub[i - 1] = argv[i];
	sub[argc - 1] = NULL;
	int nsub = argc - 1;
	int rc = cli_take_secrets(c->name, &nsub, sub);
	if (rc) {
		free(sub);
		return rc;
	}
	cli_getopt_reset();
	rc = c->run(nsub, sub);
	free(sub);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "vimg %s: error writing output\n", c->name);
		if (rc == CLI_OK)
			rc = CLI_ERR;
	}
	return rc;
}
