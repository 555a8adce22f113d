/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shared declarations of the vimg command: the subcommand table entry, exit
 * codes, option helpers (opts.c), the text and JSON renderers (output.c) and
 * the progress display (progress.c). cli/ sees libvimg only through vimg.h:
 * no format knowledge lives here, only what the library reports.
 */
#ifndef VIMG_CLI_H
#define VIMG_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "vimg.h"

/* Exit codes shared by every subcommand (check and compare add their own). */
enum {
	CLI_OK = 0,
	CLI_ERR = 1,	/* the image or the operation failed */
	CLI_USAGE = 2,	/* bad command line */
};

/* Long-only option values, above any short option character. */
enum {
	OPT_HELP_LONG = 256,
	OPT_OUTPUT,
	OPT_ALLOW_ESCAPE,
	OPT_BACKING_CHAIN,
	OPT_VMEM,
};

/*
 * One subcommand. `run` gets argv[0] == "vimg <name>" (so getopt messages
 * name the command) and returns the process exit code.
 */
struct cmd {
	const char *name;
	const char *summary;	/* one line for `vimg --help` */
	const char *usage;	/* full --help text, ends with a newline */
	int (*run)(int argc, char **argv);
};

extern const struct cmd cmd_info, cmd_create, cmd_convert, cmd_compare, cmd_check,
	cmd_map, cmd_snapshot, cmd_formats, cmd_resize, cmd_measure,
	cmd_rebase, cmd_commit, cmd_sparsify, cmd_amend,
	cmd_dd, cmd_bench;
extern const struct cmd cmd_boot;
extern const struct cmd cmd_inspect, cmd_clone, cmd_config, cmd_nvram;
extern const struct cmd cmd_memdump;
/* vimg convert --to: a whole VM (cmd-convert-vm.c). */
int cmd_convert_vm_run(int argc, char **argv);

/* ---- secret.c ---------------------------------------------------------- */

/* Take --secret-file FILE and --object secret,... off argv (a subcommand's,
 * argv[0] its name) and hand the secret to the library. */
int cli_take_secrets(const char *cmd, int *argc, char **argv);

/* ---- opts.c ---------------------------------------------------------- */

/* Reset getopt so that a subcommand parses its own argv from index 1. */
void cli_getopt_reset(void);
/* Print c->usage to stdout; returns CLI_OK. */
int cli_help(const struct cmd *c);
/*
 * Print "vimg <cmd>: <message>" (when fmt is not NULL) and a hint to run
 * --help, to stderr; returns CLI_USAGE.
 */
int cli_usage(const struct cmd *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print "vimg <cmd>: <err->msg>" once to stderr; returns CLI_ERR. */
int cli_error(const struct cmd *c, const struct vimg_error *err);
/* Print "vimg <cmd>: <message>" to stderr; returns CLI_ERR. */
int cli_errorf(const struct cmd *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parse a size argument; on failure prints a usage error and returns CLI_USAGE. */
int cli_parse_size(const struct cmd *c, const char *what, const char *s, uint64_t *out);
/* Parse an unsigned integer in [min, max]; like cli_parse_size on failure. */
int cli_parse_uint(const struct cmd *c, const char *what, const char *s, unsigned min,
		   unsigned max, unsigned *out);
/* Check that `format` names a registered format; like cli_parse_size on failure. */
int cli_check_format(const struct cmd *c, const char *format);
/*
 * Append one -o argument to the comma-separated list *acc (malloc'd, owned by
 * the caller, starts NULL). Returns 0, or CLI_ERR on allocation failure.
 */
int cli_opts_append(char **acc, const char *arg);
/* True if a -o list asks for help ("help" or "?" as one of its items). */
bool cli_opts_want_help(const char *opts);
/* Remove every "key=value" from *opts; *value (freed first) becomes the last
 * value given, untouched when key is absent. For the options qemu-img takes
 * in -o on top of the format's own (size, backing_file, backing_fmt). */
int cli_opts_take(char **opts, const char *key, char **value);
/* Print the create options of `format` (for -o help) to stdout. */
/* create: also the options cli_opts_take handles for vimg create. */
void cli_opts_print_help(const char *format, bool create);

/* Human size as qemu-img prints it: "1 GiB", "196 KiB", "0.977 KiB". */
void cli_fmt_size(char *buf, size_t len, uint64_t val);

/* ---- output.c -------------------------------------------------------- */

enum cli_output { OUTPUT_HUMAN, OUTPUT_JSON };

/* Parse an --output argument ("human" or "json"); like cli_parse_size on failure. */
int cli_parse_output(const struct cmd *c, const char *s, enum cli_output *out);

#define JSON_MAX_DEPTH 32

/*
 * A streaming, pretty-printing JSON writer. Containers nest up to
 * JSON_MAX_DEPTH; keys are ignored inside lists and required inside objects.
 * Strings are escaped, and invalid UTF-8 becomes U+FFFD, so the output is
 * always valid JSON.
 */
struct json {
	FILE *f;
	int depth;
	bool first[JSON_MAX_DEPTH + 1];
	bool list[JSON_MAX_DEPTH + 1];
};

void json_init(struct json *j, FILE *f);
void json_begin(struct json *j, const char *key, bool is_list);
void json_end(struct json *j);
void json_str(struct json *j, const char *key, const char *val);	/* NULL → null */
void json_u64(struct json *j, const char *key, uint64_t val);
void json_i64(struct json *j, const char *key, int64_t val);
void json_bool(struct json *j, const char *key, bool val);
/* Write s as a quoted, escaped JSON string. */
void json_write_string(FILE *f, const char *s);
/* Finish the document with a newline (after the outermost json_end). */
void json_finish(struct json *j);

/* Fill *em so that library facts go to the JSON writer j. */
void json_emit_init(struct vimg_emit *em, struct json *j);

/*
 * Text renderer for emitted facts, in qemu-img's "Format specific
 * information" style: "key: value" lines, nested maps and lists indented by
 * four spaces, list items as "[i]:", dashes in keys shown as spaces.
 */
struct text {
	FILE *f;
	int indent;	/* base indent in spaces */
	int depth;
	bool list[JSON_MAX_DEPTH + 1];
	uint64_t index[JSON_MAX_DEPTH + 1];
};

void text_emit_init(struct vimg_emit *em, struct text *t, FILE *f, int indent);

/* An emitter that only counts what is emitted (to skip empty sections). */
void count_emit_init(struct vimg_emit *em, uint64_t *count);

/* Warnings of a translation: "warning: KEY: REASON" lines on stderr, or the
 * JSON list "warnings" of {key, reason}. */
void cli_warnings_print(const struct vimg_warnings *w);
void cli_warnings_json(struct json *j, const struct vimg_warnings *w);

/* Snapshot table in qemu-img's columns: header line, then one line each. */
void cli_snapshot_header(void);
void cli_snapshot_line(const struct vimg_snapshot *s);
/* One snapshot as a JSON object (qemu-img info's "snapshots" entries). */
void cli_snapshot_json(struct json *j, const struct vimg_snapshot *s);

/* ---- cmd-snapshot-vm.c ----------------------------------------------- */

/* Whether path names a VM (a folder, a .vmx or .vmtx, a libvirt .xml) rather than a disk. */
bool cli_is_bundle(const char *path);
/* vimg snapshot on a bundle; argv as the snapshot command got it. */
int cli_snapshot_vm(const struct cmd *c, int argc, char **argv);
/* A VM's current disks as the JSON list "disks" of {node, file}. */
void cli_vm_disks_json(struct json *j, const struct vimg_vm *vm);
/* A VM's snapshot tree as the JSON list "snapshots". */
void cli_vm_snapshots_json(struct json *j, const struct vimg_vm *vm);

/* ---- progress.c ------------------------------------------------------ */

/*
 * Progress display on stderr ("    (42.00/100%)" rewritten in place), shown
 * only when enabled. progress_update is a vimg_progress_fn and may be called
 * from several threads.
 */
struct progress;

struct progress *progress_new(bool enabled);
void progress_update(void *opaque, uint64_t done, uint64_t total);
/*
 * End the display (100% first when `completed`, then a newline if anything
 * was shown) and free. Accepts NULL.
 */
void progress_free(struct progress *p, bool completed);

#endif
