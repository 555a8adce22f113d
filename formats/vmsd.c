/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * VMware .vmsd: the snapshot tree, a dictionary like the .vmx.
 *
 *   snapshot.lastUID, snapshot.current, snapshot.numSnapshots
 *   snapshotN.uid, .parent, .displayName, .description, .filename (the .vmsn),
 *   .createTimeHigh/.createTimeLow (microseconds since 1970, split in two
 *   signed 32-bit halves), .numDisks, .diskM.fileName, .diskM.node
 *
 * N is only a slot number; snapshots refer to each other by uid. Reading
 * bounds the slots and disks, checks uids and parents and refuses cycles.
 * Writing regenerates the tree's keys (in VMware's order) and keeps every
 * other line of the document, and each snapshot's unknown keys, as read.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vm.h"

struct slot {
	struct vm_snapshot s;
	bool used;
	int64_t time_hi;
	uint32_t time_lo;
	struct vimg_vm_snapshot_disk *disks;	/* indexed by M, VM_MAX_SNAPSHOT_DISKS */
	size_t n_disks;				/* highest M + 1 */
};

/* "snapshot12.disk0.node" -> slot 12, rest "disk0.node". */
static bool parse_slot(const char *k, unsigned *slot, const char **rest)
{
	unsigned v = 0, d = 0;

	if (strncasecmp(k, "snapshot", 8))
		return false;
	for (k += 8; isdigit((unsigned char)*k) && d < 9; k++, d++)
		v = v * 10 + (unsigned)(*k - '0');
	if (!d || *k != '.')
		return false;
	*slot = v;
	*rest = k + 1;
	return true;
}

static int num(const char *key, const char *v, int64_t min, int64_t max, int64_t *out,
	       struct vimg_error *err)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(v, &end, 10);
	if (!*v || *end || errno || n < min || n > max)
		return vimg_error_set(err, VIMG_ECORRUPT, "vmsd: %s: \"%.32s\" is not a valid number",
				      key, v);
	*out = n;
	return 0;
}

static int slot_disk(struct slot *sl, const char *key, const char *rest, const char *v,
		     bool *typed, struct vimg_error *err)
{
	unsigned m = 0, d = 0;
	const char **field;
	char *c;

	for (rest += 4; isdigit((unsigned char)*rest) && d < 4; rest++, d++)
		m = m * 10 + (unsigned)(*rest - '0');
	if (!d || *rest != '.' || (strcasecmp(rest + 1, "fileName") && strcasecmp(rest + 1, "node"))) {
		*typed = false;
		return 0;
	}
	if (m >= VM_MAX_SNAPSHOT_DISKS)
		return vimg_error_set(err, VIMG_ECORRUPT, "vmsd: %s: more than %d disks", key,
				      VM_MAX_SNAPSHOT_DISKS);
	if (!sl->disks && !(sl->disks = calloc(VM_MAX_SNAPSHOT_DISKS, sizeof(*sl->disks))))
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	field = !strcasecmp(rest + 1, "node") ? &sl->disks[m].node : &sl->disks[m].file;
	if (!(c = strdup(v)))
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	free((char *)*field);
	*field = c;
	if (m + 1 > sl->n_disks)
		sl->n_disks = m + 1;
	*typed = true;
	return 0;
}

static int slot_key(struct slot *sl, const char *key, const char *rest, const char *v,
		    struct vimg_error *err)
{
	bool typed = true;
	int64_t n;
	int rc = 0;

	sl->used = true;
	if (!strcasecmp(rest, "uid") && !(rc = num(key, v, 1, UINT32_MAX, &n, err)))
		sl->s.pub.uid = (unsigned)n;
	else if (!strcasecmp(rest, "parent") && !(rc = num(key, v, 0, UINT32_MAX, &n, err)))
		sl->s.pub.parent_uid = (unsigned)n;
	else if (!strcasecmp(rest, "displayName"))
		rc = vm_set_str((char **)&sl->s.pub.name, v, err);
	else if (!strcasecmp(rest, "description"))
		rc = vm_set_str((char **)&sl->s.pub.description, v, err);
	else if (!strcasecmp(rest, "filename"))
		rc = vm_set_str((char **)&sl->s.pub.state_file, *v ? v : NULL, err);
	else if (!strcasecmp(rest, "createTimeHigh") &&
		 !(rc = num(key, v, INT32_MIN, UINT32_MAX, &n, err)))
		sl->time_hi = n;
	else if (!strcasecmp(rest, "createTimeLow") &&
		 !(rc = num(key, v, INT32_MIN, UINT32_MAX, &n, err)))
		sl->time_lo = (uint32_t)n;
	else if (!strcasecmp(rest, "numDisks"))
		rc = num(key, v, 0, VM_MAX_SNAPSHOT_DISKS, &n, err);
	else if (!strncasecmp(rest, "disk", 4))
		rc = slot_disk(sl, key, rest, v, &typed, err);
	else
		typed = false;
	if (!rc && !typed)
		rc = vm_add_extra(&sl->s.extra, &sl->s.n_extra, rest, v, err);
	return rc;
}

/* Move the used slots into the model, in slot order. */
static int slots_to_model(struct vimg_vm *vm, struct slot *slots, size_t n, const char *path,
			  struct vimg_error *err)
{
	size_t used = 0;

	for (size_t i = 0; i < n; i++)
		used += slots[i].used;
	vm->snaps = calloc(used + 1, sizeof(*vm->snaps));
	if (!vm->snaps)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		struct slot *sl = &slots[i];
		struct vm_snapshot *s;
		size_t nd = 0;

		if (!sl->used)
			continue;
		s = &vm->snaps[vm->n_snaps++];
		*s = sl->s;
		memset(&sl->s, 0, sizeof(sl->s));
		s->pub.create_time_us = (int64_t)((uint64_t)sl->time_hi << 32 | sl->time_lo);
		if (!s->pub.description && !(s->pub.description = strdup("")))
			return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
		/* Disks in slot order, with both halves present. */
		for (size_t m = 0; m < sl->n_disks; m++) {
			if (!sl->disks[m].file || !sl->disks[m].node) {
				if (sl->disks[m].file || sl->disks[m].node)
					return vimg_error_set(err, VIMG_ECORRUPT,
							      "vmsd: snapshot%zu.disk%zu: needs "
							      "both fileName and node (%s)", i, m,
							      path);
				continue;
			}
			sl->disks[nd++] = sl->disks[m];
			if (nd - 1 != m)
				memset(&sl->disks[m], 0, sizeof(sl->disks[m]));
		}
		s->pub.disks = sl->disks;
		s->pub.n_disks = nd;
		sl->disks = NULL;
		sl->n_disks = 0;
	}
	return 0;
}

static void slots_free(struct slot *slots, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct vm_snapshot *s = &slots[i].s;

		free((char *)s->pub.name);
		free((char *)s->pub.description);
		free((char *)s->pub.state_file);
		for (size_t m = 0; slots[i].disks && m < VM_MAX_SNAPSHOT_DISKS; m++) {
			free((char *)slots[i].disks[m].node);
			free((char *)slots[i].disks[m].file);
		}
		free(slots[i].disks);
		for (size_t e = 0; e < s->n_extra; e++) {
			free(s->extra[e].key);
			free(s->extra[e].value);
		}
		free(s->extra);
	}
	free(slots);
}

static int vmsd_load(struct vimg_vm *vm, const char *path, struct vimg_error *err)
{
	struct kvtext *kv;
	struct slot *slots = NULL;
	size_t n_slots = 0;
	unsigned slot;
	const char *rest;
	int64_t n;
	int rc;

	rc = vm_read_dictionary(path, "vmsd", &kv, err);
	if (rc)
		return rc;
	if (vm->vmsd_doc) {
		kv_free(vm->vmsd_doc);
		free(vm->vmsd_doc);
	}
	vm->vmsd_doc = kv;
	vm_snapshots_clear(vm);
	if (!vm->vmsd_path && (rc = vm_set_str(&vm->vmsd_path, path, err)))
		return rc;
	/* Bound the slots before allocating them. */
	for (size_t i = 0; i < kv_lines(kv); i++)
		if (kv_line_kind(kv, i) == KV_LINE_PAIR &&
		    parse_slot(kv_line_key(kv, i), &slot, &rest)) {
			if (slot >= VM_MAX_SNAPSHOTS)
				return vimg_error_set(err, VIMG_ECORRUPT,
						      "vmsd: %s: more than %d snapshots (%s)",
						      kv_line_key(kv, i), VM_MAX_SNAPSHOTS, path);
			if (slot + 1 > n_slots)
				n_slots = slot + 1;
		}
	if (n_slots && !(slots = calloc(n_slots, sizeof(*slots))))
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	for (size_t i = 0; !rc && i < kv_lines(kv); i++) {
		const char *k = kv_line_key(kv, i), *v = kv_line_value(kv, i);

		if (kv_line_kind(kv, i) != KV_LINE_PAIR || kv_find(kv, k) != (long)i)
			continue;
		if (parse_slot(k, &slot, &rest))
			rc = slot_key(&slots[slot], k, rest, v, err);
		else if (!strcasecmp(k, "snapshot.current") &&
			 !(rc = num(k, v, 0, UINT32_MAX, &n, err)))
			vm->snap_current = (unsigned)n;
		else if (!strcasecmp(k, "snapshot.lastUID") &&
			 !(rc = num(k, v, 0, UINT32_MAX, &n, err)))
			vm->snap_last_uid = (unsigned)n;
	}
	if (!rc)
		rc = slots_to_model(vm, slots, n_slots, path, err);
	slots_free(slots, n_slots);
	if (!rc)
		rc = vm_snapshots_validate(vm, err);
	for (size_t i = 0; !rc && i < vm->n_snaps; i++)
		if (vm->snaps[i].pub.uid > vm->snap_last_uid)
			vm->snap_last_uid = vm->snaps[i].pub.uid;
	return rc ? vimg_error_prefix(err, "%s", path) : 0;
}

/* ---- saving -------------------------------------------------------------------- */

static bool tree_key(const char *k)
{
	unsigned slot;
	const char *rest;

	return parse_slot(k, &slot, &rest) || !strcasecmp(k, "snapshot.lastUID") ||
	       !strcasecmp(k, "snapshot.current") || !strcasecmp(k, "snapshot.numSnapshots");
}

static int put(struct kvtext *kv, struct vimg_error *err, const char *value, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int put(struct kvtext *kv, struct vimg_error *err, const char *value, const char *fmt, ...)
{
	char key[96];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(key, sizeof(key), fmt, ap);
	va_end(ap);
	return kv_insert(kv, kv_lines(kv), key, value, KV_STYLE_SPACED, err);
}

static int put_snapshot(struct kvtext *kv, size_t i, const struct vm_snapshot *s,
			struct vimg_error *err)
{
	const struct vimg_vm_snapshot *p = &s->pub;
	char v[32];
	int rc;

	snprintf(v, sizeof(v), "%u", p->uid);
	rc = put(kv, err, v, "snapshot%zu.uid", i);
	if (!rc && p->state_file)
		rc = put(kv, err, p->state_file, "snapshot%zu.filename", i);
	if (!rc && p->parent_uid) {
		snprintf(v, sizeof(v), "%u", p->parent_uid);
		rc = put(kv, err, v, "snapshot%zu.parent", i);
	}
	if (!rc)
		rc = put(kv, err, p->name ? p->name : "", "snapshot%zu.displayName", i);
	if (!rc)
		rc = put(kv, err, p->description ? p->description : "", "snapshot%zu.description",
			 i);
	if (!rc) {
		snprintf(v, sizeof(v), "%d", (int32_t)((uint64_t)p->create_time_us >> 32));
		rc = put(kv, err, v, "snapshot%zu.createTimeHigh", i);
	}
	if (!rc) {
		snprintf(v, sizeof(v), "%d", (int32_t)(uint32_t)p->create_time_us);
		rc = put(kv, err, v, "snapshot%zu.createTimeLow", i);
	}
	if (!rc) {
		snprintf(v, sizeof(v), "%zu", p->n_disks);
		rc = put(kv, err, v, "snapshot%zu.numDisks", i);
	}
	for (size_t d = 0; !rc && d < p->n_disks; d++) {
		rc = put(kv, err, p->disks[d].file, "snapshot%zu.disk%zu.fileName", i, d);
		if (!rc)
			rc = put(kv, err, p->disks[d].node, "snapshot%zu.disk%zu.node", i, d);
	}
	for (size_t e = 0; !rc && e < s->n_extra; e++)
		rc = put(kv, err, s->extra[e].value, "snapshot%zu.%s", i, s->extra[e].key);
	return rc;
}

static int vmsd_save(struct vimg_vm *vm, const char *path, struct vimg_warnings **w,
		     struct vimg_error *err)
{
	struct kvtext *kv = vm->vmsd_doc;
	char v[32], *text;
	size_t len;
	int rc = 0;

	(void)w;
	if (!kv) {
		if (!(kv = calloc(1, sizeof(*kv))))
			return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
		vm->vmsd_doc = kv;
		rc = kv_parse(kv, "", 0, KV_ESCAPES, "vmsd", ".encoding", NULL, err);
		if (!rc)
			rc = put(kv, err, "UTF-8", ".encoding");
	}
	for (size_t i = kv_lines(kv); !rc && i-- > 0;)
		if (kv_line_kind(kv, i) == KV_LINE_PAIR && tree_key(kv_line_key(kv, i)))
			kv_remove_line(kv, i);
	snprintf(v, sizeof(v), "%u", vm->snap_last_uid);
	if (!rc)
		rc = put(kv, err, v, "snapshot.lastUID");
	snprintf(v, sizeof(v), "%u", vm->snap_current);
	if (!rc && vm->snap_current)
		rc = put(kv, err, v, "snapshot.current");
	for (size_t i = 0; !rc && i < vm->n_snaps; i++)
		rc = put_snapshot(kv, i, &vm->snaps[i], err);
	snprintf(v, sizeof(v), "%zu", vm->n_snaps);
	if (!rc)
		rc = put(kv, err, v, "snapshot.numSnapshots");
	if (!rc)
		rc = kv_render(kv, &text, &len, err);
	if (rc)
		return rc;
	rc = file_replace(path, text, len, err);
	free(text);
	return rc;
}

static int vmsd_probe(const struct vimg_probe *p)
{
	size_t l = p->name ? strlen(p->name) : 0;
	int score = 0;

	if (l > 5 && !strcasecmp(p->name + l - 5, ".vmsd"))
		score = 70;
	if (p->head_len && memmem(p->head, p->head_len, "snapshot.", 9))
		score += 20;
	return score;
}

static const char *const vmsd_ext[] = { "vmsd", NULL };

const struct vimg_codec vimg_codec_vmsd = {
	.name = "vmsd",
	.description = "VMware snapshot tree (.vmsd)",
	.extensions = vmsd_ext,
	.probe = vmsd_probe,
	.load = vmsd_load,
	.save = vmsd_save,
};
