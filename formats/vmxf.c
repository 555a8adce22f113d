/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * VMware .vmxf: the "extra configuration" of Workstation and ESXi, a small
 * XML document (<Foundry><VM><VMId>..</VMId>..<vmxPathName>..</vmxPathName>).
 * vimg needs only the VM id and the path back to the .vmx, so the text is
 * kept as read and those two elements are edited in place: a file read and
 * written unchanged stays byte-identical, and no XML library is involved.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vm.h"

#define VMXF_MAX_BYTES (1u << 20)

/* The text between <tag ...> and </tag>, as [*start, *end). */
static bool element(const char *text, const char *tag, const char **start, const char **end)
{
	char open[48], close[48];
	const char *p, *gt;

	snprintf(open, sizeof(open), "<%s", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	for (p = text; (p = strstr(p, open)); p++) {
		char c = p[strlen(open)];

		if (c != '>' && c != ' ' && c != '\t')
			continue;
		if (!(gt = strchr(p, '>')) || !(*end = strstr(gt, close)))
			return false;
		*start = gt + 1;
		return true;
	}
	return false;
}

static int vmxf_load(struct vimg_vm *vm, const char *path, struct vimg_error *err)
{
	const char *a, *b;
	char *text;
	size_t len;
	int rc;

	rc = file_read_all(path, VMXF_MAX_BYTES, "vmxf", &text, &len, err);
	if (rc)
		return rc;
	if (strlen(text) != len || !strstr(text, "<Foundry")) {
		free(text);
		return vimg_error_set(err, VIMG_EFORMAT, "vmxf: %s: not a VMware Foundry document",
				      path);
	}
	free(vm->vmxf_text);
	vm->vmxf_text = text;
	vm->vmxf_len = len;
	if (element(text, "VMId", &a, &b)) {
		free(vm->vmxf_id);
		vm->vmxf_id = strndup(a, (size_t)(b - a));
		if (!vm->vmxf_id)
			return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	}
	return 0;
}

/* text with [a, b) replaced by repl; takes text. */
static char *splice(char *text, const char *a, const char *b, const char *repl)
{
	size_t head = (size_t)(a - text), tail = strlen(b), n = strlen(repl);
	char *out = malloc(head + n + tail + 1);

	if (out) {
		memcpy(out, text, head);
		memcpy(out + head, repl, n);
		memcpy(out + head + n, b, tail + 1);
	}
	free(text);
	return out;
}

static int vmxf_save(struct vimg_vm *vm, const char *path, struct vimg_warnings **w,
		     struct vimg_error *err)
{
	const char *a, *b, *slash = strrchr(vm->path, '/');
	char *text;
	int rc;

	(void)w;
	if (!vm->vmxf_text)
		return vimg_error_set(err, VIMG_EUNSUPPORTED, "vmxf: no document to write");
	text = strdup(vm->vmxf_text);
	if (text && vm->vmxf_id && element(text, "VMId", &a, &b))
		text = splice(text, a, b, vm->vmxf_id);
	if (text && element(text, "vmxPathName", &a, &b))
		text = splice(text, a, b, slash ? slash + 1 : vm->path);
	if (!text)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	rc = file_replace(path, text, strlen(text), err);
	free(text);
	return rc;
}

static int vmxf_probe(const struct vimg_probe *p)
{
	size_t l = p->name ? strlen(p->name) : 0;
	int score = 0;

	if (l > 5 && !strcasecmp(p->name + l - 5, ".vmxf"))
		score = 60;
	if (p->head_len && memmem(p->head, p->head_len, "<Foundry", 8))
		score += 30;
	return score;
}

static const char *const vmxf_ext[] = { "vmxf", NULL };

const struct vimg_codec vimg_codec_vmxf = {
	.name = "vmxf",
	.description = "VMware extra configuration (.vmxf)",
	.extensions = vmxf_ext,
	.probe = vmxf_probe,
	.load = vmxf_load,
	.save = vmxf_save,
};
