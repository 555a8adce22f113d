/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vimg inspect: everything about a VM bundle from its metadata alone. The
 * model, every file in the folder with its role, each disk chain (formats,
 * sizes, allocation), the snapshot tree, and the problems found: missing
 * files, broken delta chains (which link, and why), snapshot disks that are
 * absent, locks, keys that look mistyped. Disks are opened read-only and only
 * their headers and tables are read, so the cost does not grow with their
 * size, and nothing is ever written.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vm.h"

#define MAX_FILES 4096

struct finding {
	char *where, *what;
};

struct inspect {
	struct vimg_vm *vm;
	const struct vimg_emit *em;
	char **used;		/* canonical paths of files the VM uses, with roles */
	const char **used_role;
	size_t n_used;
	struct finding *problems, *notes;
	size_t n_problems, n_notes;
	bool oom;
};

static void add_finding(struct inspect *in, bool problem, const char *where, const char *fmt,
			...) __attribute__((format(printf, 4, 5)));

static void add_finding(struct inspect *in, bool problem, const char *where, const char *fmt,
			...)
{
	struct finding **v = problem ? &in->problems : &in->notes, *nv;
	size_t *n = problem ? &in->n_problems : &in->n_notes;
	va_list ap;
	char *what;

	va_start(ap, fmt);
	if (vasprintf(&what, fmt, ap) < 0)
		what = NULL;
	va_end(ap);
	nv = what ? realloc(*v, (*n + 1) * sizeof(**v)) : NULL;
	if (!nv) {
		free(what);
		in->oom = true;
		return;
	}
	*v = nv;
	nv[*n].what = what;
	nv[*n].where = strdup(where);
	(*n)++;
}

static char *canon(const char *path)
{
	char buf[PATH_MAX];

	return strdup(realpath(path, buf) ? buf : path);
}

/* Record that the VM uses path in `role` (the first role recorded wins). */
static void use(struct inspect *in, const char *path, const char *role)
{
	char *c = canon(path), **nu;
	const char **nr;

	if (!c) {
		in->oom = true;
		return;
	}
	for (size_t i = 0; i < in->n_used; i++)
		if (!strcmp(in->used[i], c)) {
			free(c);
			return;
		}
	nu = realloc(in->used, (in->n_used + 1) * sizeof(*nu));
	nr = nu ? realloc(in->used_role, (in->n_used + 1) * sizeof(*nr)) : NULL;
	if (nu)
		in->used = nu;
	if (!nu || !nr) {
		free(c);
		in->oom = true;
		return;
	}
	in->used_role = nr;
	in->used[in->n_used] = c;
	in->used_role[in->n_used++] = role;
}

static const char *used_role(const struct inspect *in, const char *path)
{
	char *c = canon(path);
	const char *role = NULL;

	for (size_t i = 0; c && i < in->n_used && !role; i++)
		if (!strcmp(in->used[i], c))
			role = in->used_role[i];
	free(c);
	return role;
}

/* ---- disk chains ------------------------------------------------------------ */

static int extent_cb(void *opaque, const char *path)
{
	use(opaque, path, "extent");
	return 0;
}

static bool inside(const struct vimg_vm *vm, const char *path)
{
	char *d = canon(vm->dir), *p = canon(path);
	size_t n = d ? strlen(d) : 0;
	bool in = d && p && !strncmp(p, d, n) && p[n] == '/';

	free(d);
	free(p);
	return in;
}

/* Emit the chain below `name` as a list of layers, noting what is wrong. */
static void emit_chain(struct inspect *in, const char *where, const char *name)
{
	const struct vimg_emit *em = in->em;
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_image *img = NULL;
	char *path = NULL;
	struct stat st;

	em->begin(em->opaque, "chain", true);
	/* Parents may lie elsewhere (linked clones): read them, say so. */
	if (in->vm->archive ? vimg_vm_disk_open(in->vm, name, VIMG_OPEN_ALLOW_ESCAPE, &img, &err) == 0
			    : path_resolve(in->vm->dir, name, true, &path, &err) == 0 &&
				      vimg_image_open(path, NULL, VIMG_OPEN_ALLOW_ESCAPE, &img, &err) == 0) {
		for (struct vimg_image *l = img; l; l = vimg_image_backing(l)) {
			int64_t alloc = vimg_image_disk_size(l, NULL);

			em->begin(em->opaque, NULL, false);
			em->str(em->opaque, "file", vimg_image_filename(l));
			em->str(em->opaque, "format", vimg_image_format(l));
			em->u64(em->opaque, "virtual-size", vimg_image_virtual_size(l));
			if (alloc >= 0)
				em->u64(em->opaque, "allocated", (uint64_t)alloc);
			vimg_image_info(l, em, NULL);
			em->end(em->opaque);
			use(in, vimg_image_filename(l), vimg_image_backing(l) ? "delta" : "disk");
			vimg_image_files(l, extent_cb, in, NULL);
			if (!inside(in->vm, vimg_image_filename(l)))
				add_finding(in, false, where, "\"%s\" lies outside the VM's folder "
					    "(shared: a linked clone's template?)",
					    vimg_image_filename(l));
		}
	} else if (path && stat(path, &st) != 0) {
		add_finding(in, true, where, "file \"%s\" is missing", name);
	} else if (err.code == VIMG_EBACKING) {
		add_finding(in, true, where, "broken delta chain: %s", err.msg);
	} else {
		add_finding(in, true, where, "cannot open \"%s\": %s", name, err.msg);
	}
	vimg_image_close(img, NULL);
	free(path);
	em->end(em->opaque);
}

/* ---- the model ------------------------------------------------------------------ */

static const char *const kind_names[] = {
	[VIMG_DEV_DISK] = "disk", [VIMG_DEV_CDROM] = "cdrom", [VIMG_DEV_FLOPPY] = "floppy"
};
static const char *const mac_names[] = {
	[VIMG_MAC_GENERATED] = "generated", [VIMG_MAC_STATIC] = "static", [VIMG_MAC_VPX] = "vpx"
};
static const char *const ctrl_names[] = {
	[VIMG_CTRL_IDE] = "ide", [VIMG_CTRL_SCSI] = "scsi", [VIMG_CTRL_SATA] = "sata",
	[VIMG_CTRL_NVME] = "nvme", [VIMG_CTRL_VIRTIO] = "virtio"
};

static void opt_str(const struct vimg_emit *em, const char *key, const char *v)
{
	if (v)
		em->str(em->opaque, key, v);
}

static void named_file(struct inspect *in, const char *where, const char *name,
		       const char *role)
{
	char *p;
	struct stat st;

	if (!name || !*name)
		return;
	/* In an archive, a member (the loader made sure it is one). */
	if (in->vm->archive) {
		if (!tar_find(in->vm->members, in->vm->n_members, name))
			add_finding(in, true, where, "member \"%s\" is missing", name);
		return;
	}
	if (vm_resolve(in->vm, name, &p, NULL))
		return;
	if (stat(p, &st) != 0)
		add_finding(in, true, where, "file \"%s\" is missing", name);
	else
		use(in, p, role);
	free(p);
}

static void emit_hardware(struct inspect *in)
{
	const struct vimg_emit *em = in->em;
	struct vimg_vm *vm = in->vm;

	opt_str(em, "name", vm->name);
	em->str(em->opaque, "config", vm->path);
	opt_str(em, "guest-os", vm->guest_os);
	em->str(em->opaque, "firmware", vm->firmware == VIMG_FIRMWARE_EFI ? "efi" : "bios");
	em->boolean(em->opaque, "secure-boot", vm->secure_boot);
	if (vm->hw_version)
		em->u64(em->opaque, "hw-version", vm->hw_version);
	em->u64(em->opaque, "cpus", vm->cpus);
	em->u64(em->opaque, "cores-per-socket", vm->cores_per_socket);
	em->u64(em->opaque, "memory-mb", vm->memory_mb);
	opt_str(em, "uuid.bios", vm->uuid_bios);
	opt_str(em, "uuid.location", vm->uuid_location);
	opt_str(em, "vc.uuid", vm->vc_uuid);
	opt_str(em, "nvram", vm->nvram);
	opt_str(em, "suspend-state", vm->suspend);
	opt_str(em, "annotation", vm->annotation);
	em->begin(em->opaque, "controllers", true);
	for (size_t i = 0; i < vm->n_ctrls; i++) {
		em->begin(em->opaque, NULL, false);
		em->str(em->opaque, "id", vm->ctrls[i].id);
		em->str(em->opaque, "type", ctrl_names[vm->ctrls[i].type]);
		opt_str(em, "model", vm->ctrls[i].model);
		em->end(em->opaque);
	}
	em->end(em->opaque);
	em->begin(em->opaque, "devices", true);
	for (size_t i = 0; i < vm->n_disks; i++) {
		const struct vimg_vm_disk *d = &vm->disks[i];

		em->begin(em->opaque, NULL, false);
		em->str(em->opaque, "node", d->node);
		em->str(em->opaque, "kind", kind_names[d->kind]);
		opt_str(em, "file", d->file);
		opt_str(em, "device-type", d->device_type);
		opt_str(em, "mode", d->mode);
		em->boolean(em->opaque, "start-connected", d->start_connected);
		if (d->kind == VIMG_DEV_DISK && d->file)
			emit_chain(in, d->node, d->file);
		else if (d->file && d->start_connected && d->device_type &&
			 !strcasecmp(d->device_type, "cdrom-image"))
			named_file(in, d->node, d->file, "media");
		em->end(em->opaque);
	}
	em->end(em->opaque);
	em->begin(em->opaque, "nics", true);
	for (size_t i = 0; i < vm->n_nics; i++) {
		const struct vimg_vm_nic *n = &vm->nics[i];

		em->begin(em->opaque, NULL, false);
		em->u64(em->opaque, "index", n->index);
		opt_str(em, "model", n->model);
		em->str(em->opaque, "mac-type", mac_names[n->mac_type]);
		opt_str(em, "mac", n->mac);
		opt_str(em, "connection", n->connection);
		opt_str(em, "network", n->network);
		em->boolean(em->opaque, "start-connected", n->start_connected);
		em->end(em->opaque);
	}
	em->end(em->opaque);
	em->begin(em->opaque, "ports", true);
	for (size_t i = 0; i < vm->n_ports; i++) {
		em->begin(em->opaque, NULL, false);
		em->str(em->opaque, "kind",
			vm->ports[i].kind == VIMG_PORT_SERIAL ? "serial" : "parallel");
		em->u64(em->opaque, "index", vm->ports[i].index);
		opt_str(em, "type", vm->ports[i].type);
		opt_str(em, "target", vm->ports[i].target);
		em->end(em->opaque);
	}
	em->end(em->opaque);
	em->boolean(em->opaque, "usb", vm->usb);
	em->boolean(em->opaque, "sound", vm->sound);
	opt_str(em, "sound-model", vm->sound_model);
	if (vm->vram)
		em->u64(em->opaque, "video-vram", vm->vram);
	em->u64(em->opaque, "extra-keys", vm->n_extra);
}

static void emit_snapshots(struct inspect *in)
{
	const struct vimg_emit *em = in->em;
	struct vimg_vm *vm = in->vm;

	em->begin(em->opaque, "snapshots", true);
	for (size_t i = 0; i < vm->n_snaps; i++) {
		const struct vimg_vm_snapshot *s = &vm->snaps[i].pub;
		char where[96];

		snprintf(where, sizeof(where), "snapshot \"%.64s\"", s->name ? s->name : "");
		em->begin(em->opaque, NULL, false);
		em->u64(em->opaque, "uid", s->uid);
		if (s->parent_uid)
			em->u64(em->opaque, "parent", s->parent_uid);
		opt_str(em, "name", s->name);
		em->boolean(em->opaque, "current", vm->snap_current == s->uid);
		opt_str(em, "state-file", s->state_file);
		named_file(in, where, s->state_file, "snapshot state");
		em->begin(em->opaque, "disks", true);
		for (size_t d = 0; d < s->n_disks; d++) {
			char w2[160];

			snprintf(w2, sizeof(w2), "%s disk %s", where, s->disks[d].node);
			em->begin(em->opaque, NULL, false);
			em->str(em->opaque, "node", s->disks[d].node);
			em->str(em->opaque, "file", s->disks[d].file);
			emit_chain(in, w2, s->disks[d].file);
			em->end(em->opaque);
		}
		em->end(em->opaque);
		em->end(em->opaque);
	}
	em->end(em->opaque);
}

/* ---- firmware variables --------------------------------------------------------- */

/* The .nvram decoded (boot entries, Secure Boot keys), when it can be read;
 * one that cannot is a problem: the VM would boot without its variables. */
static void emit_nvram(struct inspect *in)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_nvram *nv;
	char *p;
	struct stat st;

	if (!in->vm->nvram || !*in->vm->nvram || vm_resolve(in->vm, in->vm->nvram, &p, NULL))
		return;
	if (stat(p, &st) == 0 && vimg_nvram_open(p, 0, &nv, &err) == 0) {
		in->em->begin(in->em->opaque, "nvram", false);
		vimg_nvram_info(nv, in->em, NULL);
		in->em->end(in->em->opaque);
		vimg_nvram_close(nv);
	} else if (err.code) {
		add_finding(in, true, "nvram", "%s", err.msg);
	}
	free(p);
}

/* The saved state (checkpoint.vmState) described: registers and memory
 * regions. One that cannot be read is a problem: resuming would fail. */
static void emit_saved_state(struct inspect *in)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_vmstate *st;
	char *p;
	struct stat sb;

	if (!in->vm->suspend || !*in->vm->suspend ||
	    vm_resolve(in->vm, in->vm->suspend, &p, NULL))
		return;
	if (stat(p, &sb) == 0 && vimg_vmstate_open(p, NULL, 0, &st, &err) == 0) {
		in->em->begin(in->em->opaque, "saved-state", false);
		vimg_vmstate_info(st, in->em, NULL);
		in->em->end(in->em->opaque);
		vimg_vmstate_close(st);
	} else if (err.code) {
		add_finding(in, true, "checkpoint.vmState", "%s", err.msg);
	}
	free(p);
}

/* ---- the folder ------------------------------------------------------------------ */

static const char *role_by_name(const char *n, bool dir)
{
	static const struct {
		const char *suffix, *role;
	} roles[] = {
		{ ".vmx", "config" },	 { ".vmtx", "config" },	     { ".vmxf", "extra config" },
		{ ".vmsd", "snapshot tree" }, { ".vmsn", "snapshot state" }, { ".nvram", "nvram" },
		{ ".vmss", "suspend state" }, { ".vmem", "memory" },	     { ".log", "log" },
		{ ".lck", "lock" },	 { ".vswp", "swap" },	     { ".vmdk", "unused disk" },
		{ ".hlog", "log" },	 { ".scoreboard", "log" },
	};
	size_t l = strlen(n);

	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
		size_t s = strlen(roles[i].suffix);

		if (l > s && !strcasecmp(n + l - s, roles[i].suffix))
			return roles[i].role;
	}
	return dir ? "folder" : "unknown";
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void emit_files(struct inspect *in)
{
	const struct vimg_emit *em = in->em;
	DIR *d = opendir(in->vm->dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0;

	em->begin(em->opaque, "files", true);
	while (d && (e = readdir(d)) && n < MAX_FILES) {
		char **nn;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		nn = realloc(names, (n + 1) * sizeof(*nn));
		if (!nn || !(nn[n] = strdup(e->d_name))) {
			names = nn ? nn : names;
			in->oom = true;
			break;
		}
		names = nn;
		n++;
	}
	if (d)
		closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		char *p;
		struct stat st;
		const char *role;

		if (asprintf(&p, "%s/%s", in->vm->dir, names[i]) < 0)
			continue;
		if (stat(p, &st) != 0)
			st.st_size = 0, st.st_mode = 0;
		role = used_role(in, p);
		if (!role)
			role = role_by_name(names[i], S_ISDIR(st.st_mode));
		if (!strcmp(role, "lock"))
			add_finding(in, true, names[i], "lock exists: the VM may be running");
		if (!strcmp(role, "unused disk"))
			add_finding(in, false, names[i],
				    "not used by the VM or any of its snapshots");
		em->begin(em->opaque, NULL, false);
		em->str(em->opaque, "name", names[i]);
		em->str(em->opaque, "role", role);
		if (S_ISREG(st.st_mode))
			em->u64(em->opaque, "size", (uint64_t)st.st_size);
		em->end(em->opaque);
		free(p);
		free(names[i]);
	}
	free(names);
	em->end(em->opaque);
}

/* ---- keys that look mistyped -------------------------------------------------- */

/* Optimal string alignment distance, capped at 3. */
static unsigned distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned d[3][65];

	if (la > 64 || lb > 64 || (la > lb ? la - lb : lb - la) > 2)
		return 3;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned *cur = d[i % 3], *prev = d[(i - 1) % 3], *pp = d[(i + 1) % 3];

		cur[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned cost = tolower((unsigned char)a[i - 1]) !=
					tolower((unsigned char)b[j - 1]);
			unsigned v = prev[j] + 1;

			if (cur[j - 1] + 1 < v)
				v = cur[j - 1] + 1;
			if (prev[j - 1] + cost < v)
				v = prev[j - 1] + cost;
			if (i > 1 && j > 1 && tolower((unsigned char)a[i - 1]) ==
						      tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) == tolower((unsigned char)b[j - 1]) &&
			    pp[j - 2] + 1 < v)
				v = pp[j - 2] + 1;
			cur[j] = v;
		}
	}
	return d[la % 3][lb] > 3 ? 3 : d[la % 3][lb];
}

/* k with every run of digits replaced by '#', as the codec's table writes keys. */
static void normalise(const char *k, char *out, size_t n)
{
	size_t o = 0;

	for (; *k && o + 1 < n; k++) {
		if (isdigit((unsigned char)*k)) {
			while (isdigit((unsigned char)k[1]))
				k++;
			out[o++] = '#';
		} else {
			out[o++] = *k;
		}
	}
	out[o] = 0;
}

static void mistyped_keys(struct inspect *in)
{
	const char *const *known = in->vm->codec->known_keys;

	for (size_t i = 0; known && i < in->vm->n_extra; i++) {
		char k[96];
		const char *near = NULL;
		bool exact = false;

		normalise(in->vm->extra[i].key, k, sizeof(k));
		for (size_t j = 0; known[j] && !exact; j++) {
			unsigned d = distance(k, known[j]);

			exact = d == 0;
			if (!near && (d == 1 || (d == 2 && strlen(k) >= 14)))
				near = known[j];
		}
		if (!exact && near)
			add_finding(in, true, in->vm->extra[i].key,
				    "unknown key; did you mean \"%s\"?", near);
	}
}

/* ---- entry ------------------------------------------------------------------------ */

static void emit_findings(const struct vimg_emit *em, const char *key, struct finding *f,
			  size_t n)
{
	em->begin(em->opaque, key, true);
	for (size_t i = 0; i < n; i++) {
		em->begin(em->opaque, NULL, false);
		em->str(em->opaque, "where", f[i].where ? f[i].where : "");
		em->str(em->opaque, "what", f[i].what);
		em->end(em->opaque);
		free(f[i].where);
		free(f[i].what);
	}
	free(f);
	em->end(em->opaque);
}

int vimg_vm_inspect(struct vimg_vm *vm, const struct vimg_emit *em, unsigned *problems,
		    struct vimg_error *err)
{
	struct inspect in = { .vm = vm, .em = em };

	if (!vm_valid(vm) || !em)
		return vimg_error_set(err, VIMG_EINVAL, "vimg_vm_inspect: invalid arguments");
	use(&in, vm->path, "config");
	em->begin(em->opaque, "vm", false);
	emit_hardware(&in);
	em->end(em->opaque);
	emit_snapshots(&in);
	named_file(&in, "nvram", vm->nvram, "nvram");
	emit_nvram(&in);
	named_file(&in, "checkpoint.vmState", vm->suspend, "suspend state");
	emit_saved_state(&in);
	named_file(&in, "extendedConfigFile", vm->vmxf, "extra config");
	if (vm->vmsd_path && access(vm->vmsd_path, F_OK) == 0)
		use(&in, vm->vmsd_path, "snapshot tree");
	emit_files(&in);
	mistyped_keys(&in);
	if (problems)
		*problems = (unsigned)in.n_problems;
	emit_findings(em, "problems", in.problems, in.n_problems);
	emit_findings(em, "notes", in.notes, in.n_notes);
	for (size_t i = 0; i < in.n_used; i++)
		free(in.used[i]);
	free(in.used);
	free(in.used_role);
	return in.oom ? vimg_error_set(err, VIMG_ENOMEM, "out of memory") : 0;
}
