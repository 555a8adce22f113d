/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The VM model: opening a bundle through its codec, accessors, saving back
 * through the codecs that read it, and the snapshot tree's invariants.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "vm.h"

#define VM_MAGIC 0x766d6f64u

bool vm_valid(const struct vimg_vm *vm)
{
	return vm && vm->magic == VM_MAGIC;
}

int vm_set_str(char **field, const char *value, struct vimg_error *err)
{
	char *copy = NULL;

	if (value && !(copy = strdup(value)))
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	free(*field);
	*field = copy;
	return 0;
}

int vm_add_extra(struct vm_kv **v, size_t *n, const char *key, const char *value,
		 struct vimg_error *err)
{
	struct vm_kv *nv;

	if (*n % 32 == 0) {
		nv = realloc(*v, (*n + 32) * sizeof(*nv));
		if (!nv)
			return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
		*v = nv;
	}
	(*v)[*n].key = strdup(key);
	(*v)[*n].value = strdup(value);
	if (!(*v)[*n].key || !(*v)[*n].value) {
		free((*v)[*n].key);
		free((*v)[*n].value);
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	}
	(*n)++;
	return 0;
}

static void free_kvs(struct vm_kv *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].key);
		free(v[i].value);
	}
	free(v);
}

int vm_grow(void **arr, size_t n, size_t elem, const char *fmt, struct vimg_error *err)
{
	void *na;

	if (n >= VM_MAX_DEVICES)
		return vimg_error_set(err, VIMG_ECORRUPT, "%s: more than %d devices of a kind", fmt,
				      VM_MAX_DEVICES);
	if (n % 8)
		return 0;
	na = realloc(*arr, (n + 8) * elem);
	if (!na)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	memset((char *)na + n * elem, 0, 8 * elem);
	*arr = na;
	return 0;
}

int vm_resolve(const struct vimg_vm *vm, const char *name, char **out, struct vimg_error *err)
{
	return path_resolve(vm->dir, name, vm->flags & VIMG_VM_ALLOW_ESCAPE, out, err);
}

int vimg_vm_resolve(const struct vimg_vm *vm, const char *name, char **out,
		    struct vimg_error *err)
{
	if (!vm_valid(vm) || !name || !out)
		return vimg_error_set(err, VIMG_EINVAL, "vimg_vm_resolve: invalid arguments");
	return vm_resolve(vm, name, out, err);
}

bool vm_extra_is_note(const char *key)
{
	static const char *const prefixes[] = { "libvirt.", "ovf.", "hyperv.", "vbox." };

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (!strncmp(key, prefixes[i], strlen(prefixes[i])))
			return true;
	return false;
}

int vm_member(const struct vimg_vm *vm, const char *name, char **path, struct vimg_error *err)
{
	const struct tar_member *m;
	int rc;

	*path = NULL;
	if (!vm->archive)
		return vm_resolve(vm, name, path, err);
	if (!(m = tar_find(vm->members, vm->n_members, name)))
		return vimg_error_set(err, VIMG_ENOENT, "%s: no member \"%s\"", vm->archive, name);
	/* Named ARCHIVE/MEMBER in errors; no file has that name. */
	if (asprintf(path, "%s/%s", vm->archive, name) < 0) {
		*path = NULL;
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	}
	rc = file_window_begin(*path, vm->archive, m->offset, m->size, err);
	if (rc) {
		free(*path);
		*path = NULL;
	}
	return rc;
}

int vimg_vm_disk_open(const struct vimg_vm *vm, const char *name, unsigned flags,
		      struct vimg_image **out, struct vimg_error *err)
{
	char *path;
	int rc;

	if (!vm_valid(vm) || !name || !out)
		return vimg_error_set(err, VIMG_EINVAL, "vimg_vm_disk_open: invalid arguments");
	*out = NULL;
	if (vm->flags & VIMG_VM_ALLOW_ESCAPE)
		flags |= VIMG_OPEN_ALLOW_ESCAPE;
	if (vm->archive && (flags & VIMG_OPEN_RDWR))
		return vimg_error_set(err, VIMG_EUNSUPPORTED, "%s: a disk inside an archive is "
				      "read-only", vm->archive);
	rc = vm_member(vm, name, &path, err);
	if (!rc)
		rc = vimg_image_open(path, NULL, flags, out, err);
	file_window_end();
	free(path);
	return rc;
}

int vm_read_dictionary(const char *path, const char *what, struct kvtext **kv,
		       struct vimg_error *err)
{
	static const struct kv_limits lim = { 16u << 20, 1000000 };
	char *text;
	size_t len;
	int rc;

	*kv = calloc(1, sizeof(**kv));
	if (!*kv)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	rc = file_read_all(path, lim.max_bytes, what, &text, &len, err);
	if (!rc) {
		rc = kv_parse(*kv, text, len, KV_ESCAPES, what, ".encoding", &lim, err);
		free(text);
	}
	if (rc) {
		kv_free(*kv);
		free(*kv);
		*kv = NULL;
		vimg_error_prefix(err, "%s", path);
	}
	return rc;
}

/* ---- snapshots ---------------------------------------------------------------- */

void vm_snapshot_free(struct vm_snapshot *s)
{
	free((char *)s->pub.name);
	free((char *)s->pub.description);
	free((char *)s->pub.state_file);
	for (size_t d = 0; d < s->pub.n_disks; d++) {
		free((char *)s->pub.disks[d].node);
		free((char *)s->pub.disks[d].file);
	}
	free((void *)s->pub.disks);
	free_kvs(s->extra, s->n_extra);
}

int vm_loaded(struct vimg_vm *vm, struct vimg_error *err)
{
	vm->disk_dirty = calloc(vm->n_disks + 1, sizeof(bool));
	vm->nic_dirty = calloc(vm->n_nics + 1, sizeof(bool));
	if (!vm->disk_dirty || !vm->nic_dirty)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	return 0;
}

const struct vimg_vm_controller *vm_controller_of(const struct vimg_vm *vm,
						  const struct vimg_vm_disk *d)
{
	for (size_t i = 0; d->controller && i < vm->n_ctrls; i++)
		if (!strcasecmp(vm->ctrls[i].id, d->controller))
			return &vm->ctrls[i];
	return NULL;
}

void vm_snapshots_clear(struct vimg_vm *vm)
{
	for (size_t i = 0; i < vm->n_snaps; i++)
		vm_snapshot_free(&vm->snaps[i]);
	free(vm->snaps);
	vm->snaps = NULL;
	vm->n_snaps = 0;
}

struct vm_snapshot *vm_snapshot_by_uid(struct vimg_vm *vm, unsigned uid)
{
	for (size_t i = 0; uid && i < vm->n_snaps; i++)
		if (vm->snaps[i].pub.uid == uid)
			return &vm->snaps[i];
	return NULL;
}

int vm_snapshots_validate(const struct vimg_vm *vm, struct vimg_error *err)
{
	struct vimg_vm *m = (struct vimg_vm *)vm;

	for (size_t i = 0; i < vm->n_snaps; i++) {
		const struct vimg_vm_snapshot *s = &vm->snaps[i].pub;
		unsigned uid = s->parent_uid;
		size_t steps = 0;

		if (!s->uid)
			return vimg_error_set(err, VIMG_ECORRUPT, "vmsd: snapshot %zu: no uid", i);
		for (size_t j = 0; j < i; j++)
			if (vm->snaps[j].pub.uid == s->uid)
				return vimg_error_set(err, VIMG_ECORRUPT,
						      "vmsd: snapshot %zu: uid %u used twice", i,
						      s->uid);
		if (uid && !vm_snapshot_by_uid(m, uid))
			return vimg_error_set(err, VIMG_ECORRUPT,
					      "vmsd: snapshot %zu (\"%.64s\"): parent uid %u does "
					      "not exist", i, s->name, uid);
		/* Walking up from any node must end at a root within n steps. */
		for (; uid; uid = vm_snapshot_by_uid(m, uid)->pub.parent_uid)
			if (++steps > vm->n_snaps || uid == s->uid)
				return vimg_error_set(err, VIMG_ECORRUPT,
						      "vmsd: snapshot %zu (\"%.64s\"): its parents "
						      "form a cycle", i, s->name);
	}
	if (vm->snap_current && !vm_snapshot_by_uid(m, vm->snap_current))
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "vmsd: snapshot.current names uid %u, which does not exist",
				      vm->snap_current);
	return 0;
}

/* ---- open, save, close ------------------------------------------------------ */

/* The one configuration file in a folder. */
static int find_config(const char *dir, char **out, struct vimg_error *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char *found = NULL;
	int n = 0;

	if (!d)
		return vimg_error_set_errno(err, errno, "%s", dir);
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);

		if (l > 4 && !strcasecmp(e->d_name + l - 4, ".vmx") && n++ == 0 &&
		    asprintf(&found, "%s/%s", dir, e->d_name) < 0)
			found = NULL;
	}
	closedir(d);
	if (n == 1 && found) {
		*out = found;
		return 0;
	}
	free(found);
	return n ? vimg_error_set(err, VIMG_EINVAL,
				  "%s: holds %d .vmx files; name the one to open", dir, n)
		 : vimg_error_set(err, VIMG_ENOENT, "%s: no .vmx file in this folder", dir);
}

int vimg_vm_open(const char *path, const char *codec, unsigned flags, struct vimg_vm **out,
		 struct vimg_error *err)
{
	struct vimg_vm *vm;
	struct stat st;
	const char *slash, *dot;
	int rc;

	if (!path || !out)
		return vimg_error_set(err, VIMG_EINVAL, "vimg_vm_open: invalid arguments");
	*out = NULL;
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	vm->magic = VM_MAGIC;
	vm->flags = flags;
	vm->cpus = 1;
	vm->cores_per_socket = 1;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		rc = find_config(path, &vm->path, err);
	else
		rc = vm_set_str(&vm->path, path, err);
	if (rc)
		goto fail;
	vm->dir = path_dirname(vm->path);
	slash = strrchr(vm->path, '/');
	vm->base = strdup(slash ? slash + 1 : vm->path);
	if (!vm->dir || !vm->base) {
		rc = vimg_error_set(err, VIMG_ENOMEM, "out of memory");
		goto fail;
	}
	if ((dot = strrchr(vm->base, '.')))
		vm->base[dot - vm->base] = 0;
	if (codec) {
		vm->codec = registry_codec_by_name(codec);
		if (!vm->codec) {
			rc = vimg_error_set(err, VIMG_EINVAL, "unknown VM format \"%s\"", codec);
			goto fail;
		}
	} else if ((rc = registry_codec_probe(vm->path, &vm->codec, err))) {
		goto fail;
	}
	if (!vm->codec->load)
		rc = vimg_error_set(err, VIMG_EUNSUPPORTED, "%s: reading %s is not supported yet",
				    vm->path, vm->codec->description);
	else
		rc = vm->codec->load(vm, vm->path, err);
	if (!rc)
		rc = vm_set_str(&vm->origin, vm->path, err);
	if (rc)
		goto fail;
	vm->dirty = 0;
	*out = vm;
	return 0;
fail:
	vimg_vm_close(vm);
	return rc;
}

int vimg_vm_save(struct vimg_vm *vm, struct vimg_error *err)
{
	int rc = 0;

	if (!vm_valid(vm))
		return vimg_error_set(err, VIMG_EINVAL, "vimg_vm_save: invalid VM");
	if (!vm->codec->save)
		return vimg_error_set(err, VIMG_EUNSUPPORTED, "%s: writing is not supported",
				      vm->codec->name);
	rc = vm->codec->save(vm, vm->path, NULL, err);
	if (!rc)
		vm->dirty = 0;
	return rc;
}

void vimg_vm_close(struct vimg_vm *vm)
{
	if (!vm_valid(vm))
		return;
	free(vm->path);
	free(vm->origin);
	free(vm->dir);
	free(vm->base);
	free(vm->name);
	free(vm->guest_os);
	free(vm->annotation);
	free(vm->uuid_bios);
	free(vm->uuid_location);
	free(vm->vc_uuid);
	free(vm->nvram);
	free(vm->suspend);
	free(vm->vmxf);
	free(vm->sound_model);
	for (size_t i = 0; i < vm->n_ctrls; i++) {
		free((char *)vm->ctrls[i].id);
		free((char *)vm->ctrls[i].model);
	}
	free(vm->ctrls);
	for (size_t i = 0; i < vm->n_disks; i++) {
		free((char *)vm->disks[i].node);
		free((char *)vm->disks[i].controller);
		free((char *)vm->disks[i].file);
		free((char *)vm->disks[i].device_type);
		free((char *)vm->disks[i].mode);
	}
	free(vm->disks);
	free(vm->disk_dirty);
	for (size_t i = 0; i < vm->n_nics; i++) {
		free((char *)vm->nics[i].model);
		free((char *)vm->nics[i].mac);
		free((char *)vm->nics[i].connection);
		free((char *)vm->nics[i].network);
	}
	free(vm->nics);
	free(vm->nic_dirty);
	for (size_t i = 0; i < vm->n_ports; i++) {
		free((char *)vm->ports[i].type);
		free((char *)vm->ports[i].target);
	}
	free(vm->ports);
	free_kvs(vm->extra, vm->n_extra);
	vm_snapshots_clear(vm);
	free(vm->vmsd_path);
	if (vm->vmx_doc)
		kv_free(vm->vmx_doc);
	free(vm->vmx_doc);
	if (vm->vmsd_doc)
		kv_free(vm->vmsd_doc);
	free(vm->vmsd_doc);
	free(vm->vmxf_text);
	free(vm->vmxf_id);
	free(vm->archive);
	tar_list_free(vm->members, vm->n_members);
	vm->magic = 0;
	free(vm);
}

/* ---- accessors ------------------------------------------------------------------ */

#define VM_GET(type, name, expr, dflt)                              \
	type vimg_vm_##name(const struct vimg_vm *vm)                \
	{                                                            \
		return vm_valid(vm) ? (expr) : (dflt);               \
	}

VM_GET(const char *, codec, vm->codec->name, NULL)
VM_GET(const char *, config_path, vm->path, NULL)
VM_GET(const char *, dir, vm->dir, NULL)
VM_GET(const char *, name, vm->name, NULL)
VM_GET(const char *, guest_os, vm->guest_os, NULL)
VM_GET(const char *, annotation, vm->annotation, NULL)
VM_GET(enum vimg_firmware, firmware, vm->firmware, VIMG_FIRMWARE_BIOS)
VM_GET(bool, secure_boot, vm->secure_boot, false)
VM_GET(unsigned, hw_version, vm->hw_version, 0)
VM_GET(unsigned, cpus, vm->cpus, 0)
VM_GET(unsigned, cores_per_socket, vm->cores_per_socket, 0)
VM_GET(uint64_t, memory_mb, vm->memory_mb, 0)
VM_GET(const char *, nvram, vm->nvram, NULL)
VM_GET(const char *, suspend_state, vm->suspend, NULL)
VM_GET(const char *, sound_model, vm->sound_model, NULL)
VM_GET(uint64_t, video_vram, vm->vram, 0)
VM_GET(size_t, controller_count, vm->n_ctrls, 0)
VM_GET(size_t, disk_count, vm->n_disks, 0)
VM_GET(size_t, nic_count, vm->n_nics, 0)
VM_GET(size_t, port_count, vm->n_ports, 0)
VM_GET(size_t, extra_count, vm->n_extra, 0)
VM_GET(size_t, snapshot_count, vm->n_snaps, 0)
VM_GET(unsigned, snapshot_current, vm->snap_current, 0)

const char *vimg_vm_uuid(const struct vimg_vm *vm, const char *which)
{
	if (!vm_valid(vm) || !which)
		return NULL;
	if (!strcasecmp(which, "uuid.bios"))
		return vm->uuid_bios;
	if (!strcasecmp(which, "uuid.location"))
		return vm->uuid_location;
	if (!strcasecmp(which, "vc.uuid"))
		return vm->vc_uuid;
	return NULL;
}

bool vimg_vm_has(const struct vimg_vm *vm, const char *device)
{
	if (!vm_valid(vm) || !device)
		return false;
	if (!strcmp(device, "usb"))
		return vm->usb;
	if (!strcmp(device, "usb.ehci"))
		return vm->usb_ehci;
	if (!strcmp(device, "usb.xhci"))
		return vm->usb_xhci;
	if (!strcmp(device, "sound"))
		return vm->sound;
	if (!strcmp(device, "video"))
		return vm->video;
	return false;
}

const struct vimg_vm_controller *vimg_vm_controller_get(const struct vimg_vm *vm, size_t i)
{
	return i < vimg_vm_controller_count(vm) ? &vm->ctrls[i] : NULL;
}

const struct vimg_vm_disk *vimg_vm_disk_get(const struct vimg_vm *vm, size_t i)
{
	return i < vimg_vm_disk_count(vm) ? &vm->disks[i] : NULL;
}

const struct vimg_vm_nic *vimg_vm_nic_get(const struct vimg_vm *vm, size_t i)
{
	return i < vimg_vm_nic_count(vm) ? &vm->nics[i] : NULL;
}

const struct vimg_vm_port *vimg_vm_port_get(const struct vimg_vm *vm, size_t i)
{
	return i < vimg_vm_port_count(vm) ? &vm->ports[i] : NULL;
}

const char *vimg_vm_extra_key(const struct vimg_vm *vm, size_t i)
{
	return i < vimg_vm_extra_count(vm) ? vm->extra[i].key : NULL;
}

const char *vimg_vm_extra_value(const struct vimg_vm *vm, size_t i)
{
	return i < vimg_vm_extra_count(vm) ? vm->extra[i].value : NULL;
}

const struct vimg_vm_snapshot *vimg_vm_snapshot_get(const struct vimg_vm *vm, size_t i)
{
	return i < vimg_vm_snapshot_count(vm) ? &vm->snaps[i].pub : NULL;
}

const struct vimg_vm_snapshot *vimg_vm_snapshot_find(const struct vimg_vm *vm,
						     const char *name_or_uid,
						     struct vimg_error *err)
{
	const struct vimg_vm_snapshot *hit = NULL;
	unsigned matches = 0;
	char *end;
	unsigned long uid;

	if (!vm_valid(vm) || !name_or_uid) {
		vimg_error_set(err, VIMG_EINVAL, "vimg_vm_snapshot_find: invalid arguments");
		return NULL;
	}
	for (size_t i = 0; i < vm->n_snaps; i++)
		if (vm->snaps[i].pub.name && !strcmp(vm->snaps[i].pub.name, name_or_uid)) {
			hit = &vm->snaps[i].pub;
			matches++;
		}
	if (matches > 1) {
		vimg_error_set(err, VIMG_EINVAL,
			       "%u snapshots are named \"%s\"; name one by its uid", matches,
			       name_or_uid);
		return NULL;
	}
	if (!hit) {
		const struct vm_snapshot *byuid = NULL;

		uid = strtoul(name_or_uid, &end, 10);
		if (*name_or_uid && !*end && uid <= UINT32_MAX)
			byuid = vm_snapshot_by_uid((struct vimg_vm *)vm, (unsigned)uid);
		hit = byuid ? &byuid->pub : NULL;
	}
	if (!hit)
		vimg_error_set(err, VIMG_ENOENT, "%s: no snapshot \"%s\"", vm->path, name_or_uid);
	return hit;
}
