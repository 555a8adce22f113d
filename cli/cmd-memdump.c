/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vimg memdump: a VM's saved guest memory (VMware .vmss/.vmsn with embedded
 * memory or a .vmem) written out as a raw guest-physical image or an ELF
 * core, through vimg_vmstate_open and one vimg_memdump call. A VM folder
 * or .vmx is resolved to its suspend state (checkpoint.vmState) first.
 */
#include "config.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static const char usage[] =
	"Usage: vimg memdump [--format raw|elf] [--vmem FILE] [-p] [--output=human|json]\n"
	"                    SRC OUT\n"
	"\n"
	"Write the guest memory of a VMware saved state to OUT, a new file (or an\n"
	"existing regular file, which is truncated). SRC is a VM folder or its\n"
	".vmx (its suspend state, checkpoint.vmState, is used), a .vmss or .vmsn\n"
	"(memory embedded, or in the .vmem of the same name beside it), or a .vmem\n"
	"(its .vmss, else .vmsn, is found beside it). The source files are only\n"
	"read. Compressed memory blocks are not supported.\n"
	"\n"
	"  -f, --format=FMT     raw (default): the guest-physical image, holes sparse;\n"
	"                       elf: an ELF64 core with one PT_LOAD per memory region\n"
	"                       (p_paddr the guest-physical address, p_vaddr 0)\n"
	"  --vmem FILE          the memory file to use instead of the .vmem beside\n"
	"                       the state\n"
	"  -p, --progress       show progress on stderr\n"
	"  --output=FMT         human (default) or json: what was written\n"
	"  -h, --help           show this help\n";

/* The suspend state of the VM at src, malloc'd; CLI_OK or an exit code. */
static int bundle_state(const char *src, char **state)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	const char *name;
	struct vimg_vm *vm;

	if (vimg_vm_open(src, NULL, 0, &vm, &err))
		return cli_error(&cmd_memdump, &err);
	name = vimg_vm_suspend_state(vm);
	if (!name || !*name) {
		vimg_vm_close(vm);
		return cli_errorf(&cmd_memdump,
				  "%s has no saved state (checkpoint.vmState is not set)", src);
	}
	if (vimg_vm_resolve(vm, name, state, &err)) {
		vimg_vm_close(vm);
		return cli_error(&cmd_memdump, &err);
	}
	vimg_vm_close(vm);
	return CLI_OK;
}

static void report(struct vimg_vmstate *st, const char *out, const char *fmt,
		   enum cli_output output)
{
	size_t n = vimg_vmstate_region_count(st);
	struct stat sb;
	uint64_t bytes = stat(out, &sb) == 0 ? (uint64_t)sb.st_size : 0;
	struct json j;

	if (output == OUTPUT_HUMAN) {
		printf("wrote %s: %s, %llu bytes, %zu region%s, guest memory %llu bytes\n", out,
		       fmt, (unsigned long long)bytes, n, n == 1 ? "" : "s",
		       (unsigned long long)vimg_vmstate_memory_size(st));
		return;
	}
	json_init(&j, stdout);
	json_begin(&j, NULL, false);
	json_str(&j, "output", out);
	json_str(&j, "format", fmt);
	json_u64(&j, "bytes", bytes);
	json_str(&j, "state", vimg_vmstate_path(st));
	json_str(&j, "memory-file", vimg_vmstate_memory_path(st));
	json_bool(&j, "embedded", !strcmp(vimg_vmstate_path(st), vimg_vmstate_memory_path(st)));
	json_u64(&j, "memory-size", vimg_vmstate_memory_size(st));
	json_begin(&j, "regions", true);
	for (size_t i = 0; i < n; i++) {
		uint64_t gpa, len;

		vimg_vmstate_region(st, i, &gpa, &len, NULL);
		json_begin(&j, NULL, false);
		json_u64(&j, "gpa", gpa);
		json_u64(&j, "size", len);
		json_end(&j);
	}
	json_end(&j);
	json_end(&j);
	json_finish(&j);
}

static int cmd_memdump_run(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "format", required_argument, NULL, 'f' },
		{ "vmem", required_argument, NULL, OPT_VMEM },
		{ "progress", no_argument, NULL, 'p' },
		{ "output", required_argument, NULL, OPT_OUTPUT },
		{ NULL, 0, NULL, 0 },
	};
	struct vimg_error err = VIMG_ERROR_INIT;
	enum vimg_memdump_format fmt = VIMG_MEMDUMP_RAW;
	enum cli_output output = OUTPUT_HUMAN;
	const char *fmt_name = "raw", *vmem = NULL, *src;
	struct vimg_vmstate *st = NULL;
	struct progress *p;
	bool progress = false;
	char *state = NULL;
	int c, rc;

	while ((c = getopt_long(argc, argv, "hf:p", lopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			return cli_help(&cmd_memdump);
		case 'f':
			if (strcmp(optarg, "raw") && strcmp(optarg, "elf"))
				return cli_usage(&cmd_memdump, "--format takes raw or elf");
			fmt = strcmp(optarg, "raw") ? VIMG_MEMDUMP_ELF : VIMG_MEMDUMP_RAW;
			fmt_name = fmt == VIMG_MEMDUMP_RAW ? "raw" : "elf";
			break;
		case OPT_VMEM:
			vmem = optarg;
			break;
		case 'p':
			progress = true;
			break;
		case OPT_OUTPUT:
			if (cli_parse_output(&cmd_memdump, optarg, &output))
				return CLI_USAGE;
			break;
		default:
			return cli_usage(&cmd_memdump, NULL);
		}
	}
	if (argc - optind != 2)
		return cli_usage(&cmd_memdump, "expected SRC and OUT");
	src = argv[optind];
	if (cli_is_bundle(src) && (rc = bundle_state(src, &state)))
		return rc;
	rc = vimg_vmstate_open(state ? state : src, vmem, 0, &st, &err);
	free(state);
	if (rc)
		return cli_error(&cmd_memdump, &err);
	if (!(p = progress_new(progress))) {
		vimg_vmstate_close(st);
		return cli_errorf(&cmd_memdump, "out of memory");
	}
	rc = vimg_memdump(st, argv[optind + 1], fmt, progress_update, p, &err);
	progress_free(p, rc == 0);
	if (!rc)
		report(st, argv[optind + 1], fmt_name, output);
	vimg_vmstate_close(st);
	return rc ? cli_error(&cmd_memdump, &err) : CLI_OK;
}

const struct cmd cmd_memdump = {
	.name = "memdump",
	.summary = "write a VM's saved guest memory (.vmss/.vmsn/.vmem) as raw or ELF",
	.usage = usage,
	.run = cmd_memdump_run,
};
