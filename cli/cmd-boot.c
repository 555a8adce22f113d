/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vimg boot: boot an image under KVM with the project's own firmware (or
 * under qemu), show the serial console as it comes, and report the stage
 * reached, the time to each stage, the engine and whether KVM is
 * hardware-backed. The image is opened read-only and never modified: guest
 * writes go to an overlay. Exit 0 passed, 1 failed, 2 error (or usage).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
	"Usage: vimg boot [-f FMT] [-m MEM] [--engine=kvm|qemu|auto] [--timeout=S]\n"
	"                 [--expect=REGEX] [--until=STAGE] [--keys=STR] [--timer=on|off]\n"
	"                 [--kernel=F [--initrd=F] [--append=S]] [--overlay=F]\n"
	"                 [--serial=FILE] [--screen] [--output=human|json] IMAGE|VM\n"
	"\n"
	"Boot IMAGE and watch it: the serial console is shown as it comes, then the\n"
	"stage reached (firmware, loader, kernel, userspace), the time to each stage,\n"
	"the engine and whether KVM is hardware-backed. The image is never modified:\n"
	"guest writes go to an overlay in memory (or --overlay).\n"
	"\n"
	"Given a VM (a VMware folder or .vmx, a libvirt domain's XML), boot its first\n"
	"disk with its firmware: an EFI VM runs on the qemu engine with Debian's OVMF\n"
	"(the Secure Boot build if the VM has it on) and a copy of its own UEFI\n"
	"variables, so its boot entries and keys are those it has.\n"
	"\n"
	"  -f, --format=FMT     image format (default: probe)\n"
	"  -m, --memory=MEM     guest RAM (default 512M, at most 3G)\n"
	"  --engine=ENGINE      kvm (own firmware), qemu (qemu-system-x86_64),\n"
	"                       auto (default: kvm on hardware KVM, else qemu\n"
	"                       when installed, else the emulated KVM)\n"
	"  --timeout=S          give up after S seconds (default 60)\n"
	"  --expect=REGEX       pass when the console matches (POSIX extended)\n"
	"  --until=STAGE        pass and stop when STAGE is reached\n"
	"  --keys=STR           scripted keyboard input (\\n Enter, \\e Esc, \\t Tab)\n"
	"  --timer=on|off       run the firmware's IRQ 0 tick (default: on with\n"
	"                       hardware KVM, off with an emulated one)\n"
	"  --kernel=F           boot this Linux kernel directly (boot protocol)\n"
	"  --initrd=F           initrd for --kernel\n"
	"  --append=S           kernel command line for --kernel\n"
	"  --overlay=F          keep guest writes in a new qcow2 file F\n"
	"  --serial=FILE        write the console to FILE instead of stdout\n"
	"  --screen             show the VGA text screen at the end (kvm engine)\n"
	"  --output=FMT         human (default) or json; json keeps the console\n"
	"                       off stdout (use --serial)\n"
	"  -h, --help           show this help\n"
	"\n"
	"Exit status: 0 passed, 1 failed (pattern or stage not reached, guest\n"
	"error code), 2 error (no KVM or qemu, KVM failure, bad command line).\n";

enum {
	OPT_ENGINE = 300,
	OPT_TIMEOUT,
	OPT_EXPECT,
	OPT_UNTIL,
	OPT_KEYS,
	OPT_TIMER,
	OPT_KERNEL,
	OPT_INITRD,
	OPT_APPEND,
	OPT_OVERLAY,
	OPT_SERIAL,
	OPT_SCREEN,
};

static void console_out(void *opaque, const char *buf, size_t n)
{
	FILE *f = opaque;
	if (f) {
		fwrite(buf, 1, n, f);
		fflush(f);
	}
}

static void report_human(const struct vimg_boot_result *r, bool screen, bool console_on_stdout)
{
	if (console_on_stdout)
		printf("\n");
	printf("result: %s\n", r->passed ? "passed" : "failed");
	printf("stage: %s\n", vimg_boot_stage_name(r->stage));
	for (int i = VIMG_BOOT_FIRMWARE; i < VIMG_BOOT_NSTAGES; i++) {
		if (r->stage_ms[i] >= 0)
			printf("  %-10s %" PRId64 " ms\n", vimg_boot_stage_name((enum vimg_boot_stage)i),
			       r->stage_ms[i]);
		else
			printf("  %-10s -\n", vimg_boot_stage_name((enum vimg_boot_stage)i));
	}
	printf("total: %" PRId64 " ms\n", r->total_ms);
	if (strcmp(r->engine, "qemu") == 0)
		printf("engine: qemu (%s%s%s)%s\n", r->kvm_hw ? "accel kvm, KVM hardware" : "accel tcg",
		       r->emulated[0] ? "; KVM " : "", r->emulated,
		       r->engine_auto ? ", chosen by --engine=auto" : "");
	else
		printf("engine: kvm (KVM %s)%s\n", r->kvm_hw ? "hardware" : r->emulated,
		       r->engine_auto ? ", chosen by --engine=auto" : "");
	printf("stages from: %s\n", r->stage_source);
	printf("ended: %s\n", r->exit_reason);
	if (r->exit_code >= 0)
		printf("exit code: %d\n", r->exit_code);
	if (strcmp(r->engine, "kvm") == 0)
		printf("guest CS:IP: %04x:%08" PRIx32 "\n", r->cs, r->ip);
	if (screen) {
		int last = -1;
		for (int i = 0; i < 25; i++)
			if (r->screen[i][0])
				last = i;
		printf("screen:\n");
		for (int i = 0; i <= last; i++)
			printf("| %s\n", r->screen[i]);
	}
}

static void report_json(const struct vimg_boot_result *r, bool screen, const char *error)
{
	struct json j;
	json_init(&j, stdout);
	json_begin(&j, NULL, false);
	json_bool(&j, "passed", r->passed);
	json_str(&j, "stage", vimg_boot_stage_name(r->stage));
	json_begin(&j, "stage-ms", false);
	for (int i = VIMG_BOOT_FIRMWARE; i < VIMG_BOOT_NSTAGES; i++) {
		const char *name = vimg_boot_stage_name((enum vimg_boot_stage)i);
		if (r->stage_ms[i] >= 0)
			json_i64(&j, name, r->stage_ms[i]);
		else
			json_str(&j, name, NULL);
	}
	json_end(&j);
	json_i64(&j, "total-ms", r->total_ms);
	json_str(&j, "engine", r->engine);
	json_bool(&j, "engine-auto", r->engine_auto);
	json_bool(&j, "kvm-hardware", r->kvm_hw);
	json_str(&j, "emulated", r->emulated[0] ? r->emulated : NULL);
	json_str(&j, "stage-source", r->stage_source);
	json_str(&j, "exit-reason", r->exit_reason);
	json_i64(&j, "exit-code", r->exit_code);
	json_bool(&j, "expect-matched", r->expect_matched);
	json_u64(&j, "resets", r->resets);
	if (strcmp(r->engine, "kvm") == 0) {
		char where[32];
		snprintf(where, sizeof(where), "%04x:%08" PRIx32, r->cs, r->ip);
		json_str(&j, "cs-ip", where);
		json_u64(&j, "exits", r->exits);
		json_u64(&j, "firmware-calls", r->hypercalls);
	}
	if (error)
		json_str(&j, "error", error);
	if (screen) {
		json_begin(&j, "screen", true);
		for (int i = 0; i < 25; i++)
			json_str(&j, NULL, r->screen[i]);
		json_end(&j);
	}
	json_end(&j);
	json_finish(&j);
}

static int cmd_boot_run(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "format", required_argument, NULL, 'f' },
		{ "memory", required_argument, NULL, 'm' },
		{ "engine", required_argument, NULL, OPT_ENGINE },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "expect", required_argument, NULL, OPT_EXPECT },
		{ "until", required_argument, NULL, OPT_UNTIL },
		{ "keys", required_argument, NULL, OPT_KEYS },
		{ "timer", required_argument, NULL, OPT_TIMER },
		{ "kernel", required_argument, NULL, OPT_KERNEL },
		{ "initrd", required_argument, NULL, OPT_INITRD },
		{ "append", required_argument, NULL, OPT_APPEND },
		{ "overlay", required_argument, NULL, OPT_OVERLAY },
		{ "serial", required_argument, NULL, OPT_SERIAL },
		{ "screen", no_argument, NULL, OPT_SCREEN },
		{ "output", required_argument, NULL, OPT_OUTPUT },
		{ NULL, 0, NULL, 0 },
	};
	struct vimg_boot_opts o = { 0 };
	const char *format = NULL, *serial = NULL;
	bool screen = false;
	enum cli_output output = OUTPUT_HUMAN;
	int c, rc;

	while ((c = getopt_long(argc, argv, "hf:m:", lopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			return cli_help(&cmd_boot);
		case 'f':
			format = optarg;
			break;
		case 'm':
			if ((rc = cli_parse_size(&cmd_boot, "memory", optarg, &o.mem)))
				return rc;
			if (o.mem < (2u << 20) || o.mem > (3ull << 30))
				return cli_usage(&cmd_boot, "memory must be 2M to 3G: '%s'", optarg);
			break;
		case OPT_ENGINE:
			if (strcmp(optarg, "kvm") && strcmp(optarg, "qemu") && strcmp(optarg, "auto"))
				return cli_usage(&cmd_boot, "unknown engine '%s'", optarg);
			o.engine = optarg;
			break;
		case OPT_TIMEOUT: {
			char *end;
			o.timeout_s = strtod(optarg, &end);
			if (*end || !(o.timeout_s > 0) || o.timeout_s > 86400)
				return cli_usage(&cmd_boot, "bad timeout '%s'", optarg);
			break;
		}
		case OPT_EXPECT:
			o.expect = optarg;
			break;
		case OPT_UNTIL:
			if (strcmp(optarg, "firmware") && strcmp(optarg, "loader") &&
			    strcmp(optarg, "kernel") && strcmp(optarg, "userspace"))
				return cli_usage(&cmd_boot, "unknown stage '%s'", optarg);
			o.until = optarg;
			break;
		case OPT_KEYS:
			o.keys = optarg;
			break;
		case OPT_TIMER:
			if (strcmp(optarg, "on") && strcmp(optarg, "off"))
				return cli_usage(&cmd_boot, "--timer takes on or off");
			o.timer_set = true;
			o.timer = strcmp(optarg, "on") == 0;
			break;
		case OPT_KERNEL:
			o.kernel = optarg;
			break;
		case OPT_INITRD:
			o.initrd = optarg;
			break;
		case OPT_APPEND:
			o.append = optarg;
			break;
		case OPT_OVERLAY:
			o.overlay = optarg;
			break;
		case OPT_SERIAL:
			serial = optarg;
			break;
		case OPT_SCREEN:
			screen = true;
			break;
		case OPT_OUTPUT:
			if ((rc = cli_parse_output(&cmd_boot, optarg, &output)))
				return rc;
			break;
		default:
			return cli_usage(&cmd_boot, NULL);
		}
	}
	if (argc - optind != 1)
		return cli_usage(&cmd_boot, "expected one IMAGE");
	if ((o.initrd || o.append) && !o.kernel)
		return cli_usage(&cmd_boot, "--initrd and --append need --kernel");
	if (format && (rc = cli_check_format(&cmd_boot, format)))
		return rc;

	FILE *con = NULL;
	if (serial) {
		con = fopen(serial, "w");
		if (!con)
			return cli_errorf(&cmd_boot, "%s: %s", serial, strerror(errno));
	} else if (output == OUTPUT_HUMAN) {
		con = stdout;
	}
	o.serial_out = console_out;
	o.opaque = con;

	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *img = NULL;
	struct vimg_vm *vm = NULL;
	if (cli_is_bundle(argv[optind]) ? vimg_vm_open(argv[optind], NULL, 0, &vm, &err) < 0
					 : vimg_image_open(argv[optind], format, 0, &img, &err) < 0) {
		if (con && con != stdout)
			fclose(con);
		cli_error(&cmd_boot, &err);
		return CLI_USAGE;
	}
	struct vimg_boot_result r;
	rc = vm ? vimg_vm_boot(vm, &o, &r, &err) : vimg_boot_run(img, &o, &r, &err);
	vimg_image_close(img, NULL);
	vimg_vm_close(vm);
	if (con && con != stdout)
		fclose(con);
	bool ran = r.engine[0] && (r.stage > VIMG_BOOT_NONE || r.exit_reason[0]);
	if (output == OUTPUT_JSON && (rc == 0 || ran))
		report_json(&r, screen, rc < 0 ? err.msg : NULL);
	else if (output == OUTPUT_HUMAN && ran)
		report_human(&r, screen, con == stdout);
	if (rc < 0) {
		cli_error(&cmd_boot, &err);
		return CLI_USAGE;
	}
	return r.passed ? CLI_OK : CLI_ERR;
}

const struct cmd cmd_boot = {
	.name = "boot",
	.summary = "boot an image under KVM or qemu and report how far it got",
	.usage = usage,
	.run = cmd_boot_run,
};
