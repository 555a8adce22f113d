/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vimg snapshot on a VM bundle (a folder or a .vmx): list the snapshot tree,
 * create, revert to, delete, consolidate. The library does the work
 * (vimg_vm_snapshot_*); this file parses options and renders the tree.
 */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"

enum { OPT_CONSOLIDATE = 300, OPT_FORCE, OPT_DESCRIPTION };

bool cli_is_bundle(const char *path)
{
	struct stat st;
	size_t l = strlen(path);

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return true;
	return (l > 4 && (!strcasecmp(path + l - 4, ".vmx") || !strcasecmp(path + l - 4, ".xml") ||
			  !strcasecmp(path + l - 4, ".ovf") || !strcasecmp(path + l - 4, ".ova"))) ||
	       (l > 5 && !strcasecmp(path + l - 5, ".vmtx"));
}

static void fmt_time(int64_t us, char *buf, size_t n)
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;

	if (!us || !gmtime_r(&t, &tm))
		snprintf(buf, n, "-");
	else
		strftime(buf, n, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

static void tree_human(const struct vimg_vm *vm, unsigned parent, int depth)
{
	for (size_t i = 0; i < vimg_vm_snapshot_count(vm); i++) {
		const struct vimg_vm_snapshot *s = vimg_vm_snapshot_get(vm, i);
		char when[40];

		if (s->parent_uid != parent)
			continue;
		fmt_time(s->create_time_us, when, sizeof(when));
		printf("%*s%s (uid %u, %s)%s\n", depth * 2, "", s->name ? s->name : "", s->uid,
		       when, vimg_vm_snapshot_current(vm) == s->uid ? "  <- current state" : "");
		if (s->description && *s->description)
			printf("%*s  description: %s\n", depth * 2, "", s->description);
		if (s->state_file)
			printf("%*s  state: %s\n", depth * 2, "", s->state_file);
		for (size_t d = 0; d < s->n_disks; d++)
			printf("%*s  %s: %s\n", depth * 2, "", s->disks[d].node, s->disks[d].file);
		if (depth < 200)
			tree_human(vm, s->uid, depth + 1);
	}
}

void cli_vm_disks_json(struct json *j, const struct vimg_vm *vm)
{
	json_begin(j, "disks", true);
	for (size_t i = 0; i < vimg_vm_disk_count(vm); i++) {
		const struct vimg_vm_disk *d = vimg_vm_disk_get(vm, i);

		if (d->kind != VIMG_DEV_DISK)
			continue;
		json_begin(j, NULL, false);
		json_str(j, "node", d->node);
		json_str(j, "file", d->file);
		json_end(j);
	}
	json_end(j);
}

void cli_vm_snapshots_json(struct json *j, const struct vimg_vm *vm)
{
	json_begin(j, "snapshots", true);
	for (size_t i = 0; i < vimg_vm_snapshot_count(vm); i++) {
		const struct vimg_vm_snapshot *s = vimg_vm_snapshot_get(vm, i);

		json_begin(j, NULL, false);
		json_u64(j, "uid", s->uid);
		if (s->parent_uid)
			json_u64(j, "parent", s->parent_uid);
		json_str(j, "name", s->name);
		json_str(j, "description", s->description);
		json_i64(j, "create-time-us", s->create_time_us);
		json_str(j, "state-file", s->state_file);
		json_bool(j, "current", vimg_vm_snapshot_current(vm) == s->uid);
		json_begin(j, "disks", true);
		for (size_t d = 0; d < s->n_disks; d++) {
			json_begin(j, NULL, false);
			json_str(j, "node", s->disks[d].node);
			json_str(j, "file", s->disks[d].file);
			json_end(j);
		}
		json_end(j);
		json_end(j);
	}
	json_end(j);
}

static void list(const struct vimg_vm *vm, enum cli_output output)
{
	if (output == OUTPUT_JSON) {
		struct json j;

		json_init(&j, stdout);
		json_begin(&j, NULL, false);
		json_str(&j, "vm", vimg_vm_config_path(vm));
		json_u64(&j, "current", vimg_vm_snapshot_current(vm));
		cli_vm_snapshots_json(&j, vm);
		cli_vm_disks_json(&j, vm);
		json_end(&j);
		json_finish(&j);
		return;
	}
	if (!vimg_vm_snapshot_count(vm)) {
		printf("%s has no snapshots.\n", vimg_vm_config_path(vm));
	} else {
		printf("Snapshots of %s:\n", vimg_vm_config_path(vm));
		tree_human(vm, 0, 1);
	}
	printf("Current state:%s\n", vimg_vm_snapshot_current(vm) ? "" : " (no snapshot)");
	for (size_t i = 0; i < vimg_vm_disk_count(vm); i++) {
		const struct vimg_vm_disk *d = vimg_vm_disk_get(vm, i);

		if (d->kind == VIMG_DEV_DISK)
			printf("  %s: %s\n", d->node, d->file ? d->file : "-");
	}
}

int cli_snapshot_vm(const struct cmd *c, int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "list", no_argument, NULL, 'l' },
		{ "consolidate", no_argument, NULL, OPT_CONSOLIDATE },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "description", required_argument, NULL, OPT_DESCRIPTION },
		{ "output", required_argument, NULL, OPT_OUTPUT },
		{ "allow-escape", no_argument, NULL, OPT_ALLOW_ESCAPE },
		{ NULL, 0, NULL, 0 },
	};
	struct vimg_vm_snapshot_opts so = { 0 };
	struct vimg_error err = VIMG_ERROR_INIT;
	enum cli_output output = OUTPUT_HUMAN;
	const char *arg = NULL;
	struct progress *prog = NULL;
	struct vimg_vm *vm;
	unsigned vflags = 0, collapsed = 0;
	char op = 0;
	bool progress = false;
	int opt, rc;

	cli_getopt_reset();
	while ((opt = getopt_long(argc, argv, "hlc:a:d:f:p", lopts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			return cli_help(c);
		case 'l':
		case 'c':
		case 'a':
		case 'd':
		case OPT_CONSOLIDATE:
			if (op)
				return cli_usage(c, "give one of -l, -c, -a, -d, --consolidate");
			op = opt == OPT_CONSOLIDATE ? 'C' : (char)opt;
			arg = optarg;
			break;
		case 'f':
			break; /* a bundle's format is probed */
		case 'p':
			progress = true;
			break;
		case OPT_FORCE:
			so.flags |= VIMG_VM_FORCE;
			break;
		case OPT_DESCRIPTION:
			so.description = optarg;
			break;
		case OPT_OUTPUT:
			if (cli_parse_output(c, optarg, &output))
				return CLI_USAGE;
			break;
		case OPT_ALLOW_ESCAPE:
			vflags |= VIMG_VM_ALLOW_ESCAPE;
			break;
		default:
			return cli_usage(c, NULL);
		}
	}
	if (optind != argc - 1)
		return cli_usage(c, "expected one VM (folder or .vmx)");
	if (!op)
		op = 'l';
	if (vimg_vm_open(argv[optind], NULL, vflags, &vm, &err))
		return cli_error(c, &err);
	if (progress) {
		prog = progress_new(true);
		so.progress = progress_update;
		so.progress_opaque = prog;
	}
	switch (op) {
	case 'l':
		list(vm, output);
		rc = 0;
		break;
	case 'c':
		rc = vimg_vm_snapshot_create(vm, arg, &so, &err);
		break;
	case 'a':
		rc = vimg_vm_snapshot_revert(vm, arg, &so, &err);
		break;
	case 'd':
		rc = vimg_vm_snapshot_delete(vm, arg, &so, &err);
		break;
	default:
		rc = vimg_vm_consolidate(vm, &so, &collapsed, &err);
		if (!rc && output == OUTPUT_HUMAN)
			printf("%u redundant link%s collapsed\n", collapsed, collapsed == 1 ? "" : "s");
		break;
	}
	progress_free(prog, rc == 0);
	vimg_vm_close(vm);
	return rc ? cli_error(c, &err) : CLI_OK;
}
