/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * VMware snapshots on a bundle: create, revert, delete and consolidate,
 * working on the disk chains the way VMware does (doc/architecture.md,
 * "Snapshots of a bundle").
 *
 * A snapshot owns, for each disk, the file that was current when it was
 * taken; that file is read-only from then on and the running state goes on
 * in a new delta over it. So every view (each snapshot's and the current
 * state's) is the chain below one file, and an operation is correct when it
 * leaves every other view's chain reading the same:
 * - delete S, for each of S's files F that nothing else names:
 *   no child: F goes; one child C: C's data is written into F, whatever
 *   named C names F, and C goes; several children: F's own data is written
 *   into each child where the child holds nothing, the children are
 *   relinked to F's parent, and F goes;
 * - consolidate: a chain link that no snapshot or disk names and that has
 *   one child is collapsed the same way;
 * - revert S: the current deltas go (unless a snapshot owns them) and fresh
 *   ones are made over S's files.
 * Data is moved by the copy engine; deltas are relinked with
 * vimg_image_change_backing, which also refreshes the parentCID of children
 * whose parent was written. The configuration is saved before any file is
 * deleted, so an interrupted operation leaves whole chains behind.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vm.h"

/* One file of the disk chains: its canonical path and its parent's. */
struct node {
	char *path, *parent;
};

struct graph {
	struct node *v;
	size_t n;
	char **doomed;		/* files to delete once the configuration is saved */
	size_t n_doomed;
};

static void graph_free(struct graph *g)
{
	for (size_t i = 0; i < g->n; i++) {
		free(g->v[i].path);
		free(g->v[i].parent);
	}
	for (size_t i = 0; i < g->n_doomed; i++)
		free(g->doomed[i]);
	free(g->v);
	free(g->doomed);
	memset(g, 0, sizeof(*g));
}

static char *canonical(const char *path)
{
	char buf[PATH_MAX];

	return realpath(path, buf) ? strdup(buf) : strdup(path);
}

static struct node *graph_find(struct graph *g, const char *path)
{
	for (size_t i = 0; path && i < g->n; i++)
		if (!strcmp(g->v[i].path, path))
			return &g->v[i];
	return NULL;
}

static int graph_add(struct graph *g, const char *path, const char *parent,
		     struct vimg_error *err)
{
	struct node *nv;

	if (graph_find(g, path))
		return 0;
	if (g->n % 16 == 0) {
		nv = realloc(g->v, (g->n + 16) * sizeof(*nv));
		if (!nv)
			return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
		g->v = nv;
	}
	g->v[g->n].path = strdup(path);
	g->v[g->n].parent = parent ? strdup(parent) : NULL;
	if (!g->v[g->n].path || (parent && !g->v[g->n].parent))
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	g->n++;
	return 0;
}

static unsigned open_flags(const struct vimg_vm *vm)
{
	return vm->flags & VIMG_VM_ALLOW_ESCAPE ? VIMG_OPEN_ALLOW_ESCAPE : 0;
}

/* Add the chain below the file `name` (as the VM names it). */
static int graph_walk(struct vimg_vm *vm, struct graph *g, const char *name,
		      struct vimg_error *err)
{
	struct vimg_image *img;
	char *path;
	int rc;

	rc = vm_resolve(vm, name, &path, err);
	if (rc)
		return rc;
	rc = vimg_image_open(path, NULL, open_flags(vm), &img, err);
	free(path);
	if (rc)
		return vimg_error_prefix(err, "disk \"%s\"", name);
	for (struct vimg_image *l = img; l && !rc; l = vimg_image_backing(l)) {
		struct vimg_image *b = vimg_image_backing(l);
		char *p = canonical(vimg_image_filename(l)), *pp = b ? canonical(vimg_image_filename(b))
								 : NULL;

		rc = !p || (b && !pp) ? vimg_error_set(err, VIMG_ENOMEM, "out of memory")
				      : graph_add(g, p, pp, err);
		free(p);
		free(pp);
	}
	vimg_image_close(img, NULL);
	return rc;
}

static bool is_disk(const struct vimg_vm_disk *d)
{
	return d->kind == VIMG_DEV_DISK && d->file;
}

static int graph_build(struct vimg_vm *vm, struct graph *g, struct vimg_error *err)
{
	int rc = 0;

	for (size_t i = 0; !rc && i < vm->n_disks; i++)
		if (is_disk(&vm->disks[i]))
			rc = graph_walk(vm, g, vm->disks[i].file, err);
	for (size_t i = 0; !rc && i < vm->n_snaps; i++)
		for (size_t d = 0; !rc && d < vm->snaps[i].pub.n_disks; d++)
			rc = graph_walk(vm, g, vm->snaps[i].pub.disks[d].file, err);
	return rc;
}

/* Canonical path of a name the VM uses (NULL on failure). */
static char *vm_canonical(const struct vimg_vm *vm, const char *name)
{
	char *p, *c;

	if (vm_resolve(vm, name, &p, NULL))
		return NULL;
	c = canonical(p);
	free(p);
	return c;
}

/* How the VM names a canonical path: relative to its folder when inside it. */
static char *vm_name_of(const struct vimg_vm *vm, const char *path)
{
	char *dir = canonical(vm->dir);
	size_t n = dir ? strlen(dir) : 0;
	char *r;

	if (dir && !strncmp(path, dir, n) && path[n] == '/')
		r = strdup(path + n + 1);
	else
		r = strdup(path);
	free(dir);
	return r;
}

static bool inside_vm(const struct vimg_vm *vm, const char *path)
{
	char *dir = canonical(vm->dir);
	size_t n = dir ? strlen(dir) : 0;
	bool in = dir && !strncmp(path, dir, n) && path[n] == '/';

	free(dir);
	return in;
}

/* Whether the configuration or a snapshot other than `except` names path. */
static bool named(const struct vimg_vm *vm, const char *path, unsigned except_uid)
{
	bool hit = false;

	for (size_t i = 0; !hit && i < vm->n_disks; i++)
		if (is_disk(&vm->disks[i])) {
			char *c = vm_canonical(vm, vm->disks[i].file);

			hit = c && !strcmp(c, path);
			free(c);
		}
	for (size_t i = 0; !hit && i < vm->n_snaps; i++) {
		if (vm->snaps[i].pub.uid == except_uid)
			continue;
		for (size_t d = 0; !hit && d < vm->snaps[i].pub.n_disks; d++) {
			char *c = vm_canonical(vm, vm->snaps[i].pub.disks[d].file);

			hit = c && !strcmp(c, path);
			free(c);
		}
	}
	return hit;
}

static size_t children(const struct graph *g, const char *path, const char **out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < g->n; i++)
		if (g->v[i].parent && !strcmp(g->v[i].parent, path)) {
			if (n < max)
				out[n] = g->v[i].path;
			n++;
		}
	return n;
}

static int doom(struct graph *g, const char *path, struct vimg_error *err)
{
	char **nd = realloc(g->doomed, (g->n_doomed + 1) * sizeof(*nd));

	if (!nd)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	g->doomed = nd;
	if (!(g->doomed[g->n_doomed] = strdup(path)))
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	g->n_doomed++;
	return 0;
}

static int unlink_cb(void *opaque, const char *path)
{
	(void)opaque;
	if (unlink(path) != 0 && errno != ENOENT)
		vimg_log(1, "cannot remove %s: %s", path, strerror(errno));
	return 0;
}

/* Remove each doomed disk with its extents; failures are only logged: the
 * VM is already consistent without them. */
static void remove_doomed(struct graph *g)
{
	for (size_t i = 0; i < g->n_doomed; i++) {
		struct vimg_image *img;

		if (vimg_image_open(g->doomed[i], NULL, VIMG_OPEN_NO_BACKING |
					      VIMG_OPEN_ALLOW_ESCAPE, &img, NULL) == 0) {
			vimg_image_files(img, unlink_cb, NULL, NULL);
			vimg_image_close(img, NULL);
		}
		unlink_cb(NULL, g->doomed[i]);
	}
}

/* Repoint every name of `from` (disks, snapshots) to `to`. */
static int rename_refs(struct vimg_vm *vm, const char *from, const char *to,
		       struct vimg_error *err)
{
	char *name = vm_name_of(vm, to);
	int rc = name ? 0 : vimg_error_set(err, VIMG_ENOMEM, "out of memory");

	for (size_t i = 0; !rc && i < vm->n_disks; i++) {
		char *c = is_disk(&vm->disks[i]) ? vm_canonical(vm, vm->disks[i].file) : NULL;

		if (c && !strcmp(c, from)) {
			rc = vm_set_str((char **)&vm->disks[i].file, name, err);
			vm->disk_dirty[i] = true;
		}
		free(c);
	}
	for (size_t i = 0; !rc && i < vm->n_snaps; i++)
		for (size_t d = 0; !rc && d < vm->snaps[i].pub.n_disks; d++) {
			struct vimg_vm_snapshot_disk *sd =
				(struct vimg_vm_snapshot_disk *)&vm->snaps[i].pub.disks[d];
			char *c = vm_canonical(vm, sd->file);

			if (c && !strcmp(c, from))
				rc = vm_set_str((char **)&sd->file, name, err);
			free(c);
		}
	vm->dirty |= VM_DIRTY_SNAPSHOTS;
	free(name);
	return rc;
}

/* Name of `target` as a delta in dir(child) must record it. */
static char *link_name(const char *child, const char *target)
{
	char *dir = path_dirname(child);
	size_t n = dir ? strlen(dir) : 0;
	char *r = dir && !strncmp(target, dir, n) && target[n] == '/' ? strdup(target + n + 1)
								       : strdup(target);

	free(dir);
	return r;
}

/* Point child at parent (NULL: none) and fix the graph. */
static int relink(struct graph *g, const char *child, const char *parent,
		  struct vimg_error *err)
{
	struct vimg_image *img;
	struct node *n = graph_find(g, child);
	char *name = parent ? link_name(child, parent) : NULL;
	int rc;

	if (parent && !name)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	rc = vimg_image_open(child, NULL, VIMG_OPEN_RDWR | VIMG_OPEN_ALLOW_ESCAPE |
					  VIMG_OPEN_NO_BACKING, &img, err);
	if (!rc) {
		rc = vimg_image_change_backing(img, name, parent ? "vmdk" : NULL, err);
		rc = vimg_image_close(img, rc ? NULL : err) ?: rc;
	}
	free(name);
	if (rc)
		return vimg_error_prefix(err, "relinking %s", child);
	if (n) {
		free(n->parent);
		n->parent = parent ? strdup(parent) : NULL;
	}
	return 0;
}

/* After `path` was written its CID changed: refresh its children's links. */
static int relink_children(struct graph *g, const char *path, struct vimg_error *err)
{
	int rc = 0;

	for (size_t i = 0; !rc && i < g->n; i++)
		if (g->v[i].parent && !strcmp(g->v[i].parent, path))
			rc = relink(g, g->v[i].path, path, err);
	return rc;
}

static int copy_layer(const char *src_path, const char *dst_path, bool into_child,
		      bool parentless, const struct vimg_vm_snapshot_opts *o,
		      struct vimg_error *err)
{
	struct vimg_copy_opts co = {
		.keep_dst_data = into_child,
		.dst_reads_zero = parentless,
		.progress = o ? o->progress : NULL,
		.progress_opaque = o ? o->progress_opaque : NULL,
	};
	struct vimg_image *src, *dst;
	int rc;

	rc = vimg_image_open(src_path, NULL, VIMG_OPEN_ALLOW_ESCAPE, &src, err);
	if (rc)
		return rc;
	rc = vimg_image_open(dst_path, NULL, VIMG_OPEN_RDWR | VIMG_OPEN_ALLOW_ESCAPE, &dst, err);
	if (rc) {
		vimg_image_close(src, NULL);
		return rc;
	}
	co.base = vimg_image_backing(src);
	rc = vimg_image_copy(src, dst, &co, err);
	rc = vimg_image_close(dst, rc ? NULL : err) ?: rc;
	vimg_image_close(src, NULL);
	return rc ? vimg_error_prefix(err, "merging %s into %s", src_path, dst_path) : 0;
}

/* The one child's data goes into f; the child goes. */
static int collapse_child(struct vimg_vm *vm, struct graph *g, const char *f, const char *c,
			  const struct vimg_vm_snapshot_opts *o, struct vimg_error *err)
{
	char *child = strdup(c);
	int rc = child ? 0 : vimg_error_set(err, VIMG_ENOMEM, "out of memory");

	if (!rc)
		rc = copy_layer(child, f, false, false, o, err);
	/* Whatever stood on the child now stands on f (whose CID changed). */
	for (size_t i = 0; !rc && i < g->n; i++)
		if (g->v[i].parent && !strcmp(g->v[i].parent, child))
			rc = relink(g, g->v[i].path, f, err);
	if (!rc)
		rc = relink_children(g, f, err);
	if (!rc)
		rc = rename_refs(vm, child, f, err);
	if (!rc) {
		struct node *n = graph_find(g, child);

		rc = doom(g, child, err);
		if (n) {
			free(n->parent); /* out of the graph: nothing is its child now */
			n->parent = NULL;
			n->path[0] = 0;
		}
	}
	free(child);
	return rc;
}

/* f's data goes into each child that lacks it; the children skip f. */
static int push_into_children(struct graph *g, const char *f,
			      const struct vimg_vm_snapshot_opts *o, struct vimg_error *err)
{
	struct node *fn = graph_find(g, f);
	char *parent = fn && fn->parent ? strdup(fn->parent) : NULL;
	int rc = 0;

	for (size_t i = 0; !rc && i < g->n; i++) {
		if (!g->v[i].parent || strcmp(g->v[i].parent, f))
			continue;
		rc = copy_layer(f, g->v[i].path, true, !parent, o, err);
		if (!rc)
			rc = relink(g, g->v[i].path, parent, err);
		if (!rc)
			rc = relink_children(g, g->v[i].path, err);
	}
	if (!rc)
		rc = doom(g, f, err);
	free(parent);
	return rc;
}

/* ---- guards ------------------------------------------------------------------ */

int vm_check_stopped(const struct vimg_vm *vm, unsigned flags, struct vimg_error *err)
{
	DIR *d;
	struct dirent *e;
	char found[NAME_MAX + 1] = "", vmem[NAME_MAX + 1] = "";
	bool vmss = false;

	if (flags & VIMG_VM_FORCE)
		return 0;
	if (vm->suspend && *vm->suspend)
		return vimg_error_set(err, VIMG_EBUSY,
				      "%s: the VM is suspended (checkpoint.vmState = \"%s\"); "
				      "use --force to go ahead anyway", vm->path, vm->suspend);
	d = opendir(vm->dir);
	if (!d)
		return vimg_error_set_errno(err, errno, "%s", vm->dir);
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);

		if (l > 4 && !strcasecmp(e->d_name + l - 4, ".lck") && !*found)
			snprintf(found, sizeof(found), "%s", e->d_name);
		if (l > 5 && !strcasecmp(e->d_name + l - 5, ".vmem"))
			snprintf(vmem, sizeof(vmem), "%s", e->d_name);
		if (l > 5 && !strcasecmp(e->d_name + l - 5, ".vmss"))
			vmss = true;
	}
	closedir(d);
	if (*found)
		return vimg_error_set(err, VIMG_EBUSY,
				      "%s: lock \"%s\" exists: the VM may be running; use --force "
				      "if it is not", vm->dir, found);
	if (*vmem && !vmss)
		return vimg_error_set(err, VIMG_EBUSY,
				      "%s: \"%s\" exists without a .vmss: the VM may be running; "
				      "use --force if it is not", vm->dir, vmem);
	return 0;
}

/* ---- create and revert -------------------------------------------------------- */

/* The next free "<base>-NNNNNN.vmdk" in the VM's folder for disk `name`. */
static int next_delta(const struct vimg_vm *vm, const char *name, char **out,
		      struct vimg_error *err)
{
	const char *slash = strrchr(name, '/');
	char base[256], path[PATH_MAX + 300];
	size_t n;
	struct stat st;

	snprintf(base, sizeof(base), "%s", slash ? slash + 1 : name);
	n = strlen(base);
	if (n > 5 && !strcasecmp(base + n - 5, ".vmdk"))
		base[n -= 5] = 0;
	/* A delta of a delta continues the numbering of its base name. */
	if (n > 7 && base[n - 7] == '-' && strspn(base + n - 6, "0123456789") == 6)
		base[n - 7] = 0;
	for (unsigned i = 1; i < 1000000; i++) {
		snprintf(path, sizeof(path), "%s/%s-%06u.vmdk", vm->dir, base, i);
		if (stat(path, &st) != 0 && errno == ENOENT) {
			if (asprintf(out, "%s-%06u.vmdk", base, i) < 0)
				return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
			return 0;
		}
	}
	return vimg_error_set(err, VIMG_ENOSPC, "%s: no free delta name for %s", vm->dir, base);
}

/* A new delta over the disk `parent` (as the VM names it); *out its name. */
static int new_delta(const struct vimg_vm *vm, const char *parent, char **out,
		     struct vimg_error *err)
{
	char *path;
	int rc = next_delta(vm, parent, out, err);

	if (rc)
		return rc;
	if (asprintf(&path, "%s/%s", vm->dir, *out) < 0) {
		free(*out);
		*out = NULL;
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	}
	rc = vimg_image_create(path, "vmdk", 0, NULL, parent, "vmdk",
			       vm->flags & VIMG_VM_ALLOW_ESCAPE ? VIMG_CREATE_ALLOW_ESCAPE : 0, err);
	free(path);
	if (rc) {
		free(*out);
		*out = NULL;
		return vimg_error_prefix(err, "creating a delta over \"%s\"", parent);
	}
	return 0;
}

int vimg_vm_snapshot_create(struct vimg_vm *vm, const char *name,
			    const struct vimg_vm_snapshot_opts *o, struct vimg_error *err)
{
	struct vm_snapshot *ns, s = { 0 };
	struct vimg_vm_snapshot_disk *disks;
	struct timespec ts;
	size_t nd = 0;
	int rc;

	if (!vm_valid(vm) || !name || !*name)
		return vimg_error_set(err, VIMG_EINVAL, "vimg_vm_snapshot_create: invalid arguments");
	rc = vm_check_stopped(vm, o ? o->flags : 0, err);
	if (rc)
		return rc;
	if (vm->n_snaps >= VM_MAX_SNAPSHOTS)
		return vimg_error_set(err, VIMG_ENOSPC, "%s: already %zu snapshots", vm->path,
				      vm->n_snaps);
	disks = calloc(vm->n_disks + 1, sizeof(*disks));
	ns = realloc(vm->snaps, (vm->n_snaps + 1) * sizeof(*vm->snaps));
	if (!disks || !ns) {
		free(disks);
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	}
	vm->snaps = ns;
	for (size_t i = 0; !rc && i < vm->n_disks; i++) {
		char *delta;

		if (!is_disk(&vm->disks[i]) ||
		    (vm->disks[i].mode && strstr(vm->disks[i].mode, "independent")))
			continue; /* independent disks are not part of snapshots */
		rc = new_delta(vm, vm->disks[i].file, &delta, err);
		if (rc)
			break;
		disks[nd].node = strdup(vm->disks[i].node);
		disks[nd].file = vm->disks[i].file; /* the snapshot keeps the current file */
		vm->disks[i].file = delta;
		vm->disk_dirty[i] = true;
		if (!disks[nd++].node)
			rc = vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	s.pub.uid = ++vm->snap_last_uid;
	s.pub.parent_uid = vm->snap_current;
	s.pub.name = strdup(name);
	s.pub.description = strdup(o && o->description ? o->description : "");
	s.pub.create_time_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	s.pub.disks = disks;
	s.pub.n_disks = nd;
	vm->snaps[vm->n_snaps++] = s;
	vm->snap_current = s.pub.uid;
	vm->dirty |= VM_DIRTY_SNAPSHOTS;
	if (!rc && (!s.pub.name || !s.pub.description))
		rc = vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	return rc ? rc : vimg_vm_save(vm, err);
}

int vimg_vm_snapshot_revert(struct vimg_vm *vm, const char *which,
			    const struct vimg_vm_snapshot_opts *o, struct vimg_error *err)
{
	const struct vimg_vm_snapshot *s;
	struct graph g = { 0 };
	int rc;

	if (!vm_valid(vm) || !which)
		return vimg_error_set(err, VIMG_EINVAL, "vimg_vm_snapshot_revert: invalid arguments");
	if (!(s = vimg_vm_snapshot_find(vm, which, err)))
		return err ? err->code : VIMG_ENOENT;
	rc = vm_check_stopped(vm, o ? o->flags : 0, err);
	if (!rc)
		rc = graph_build(vm, &g, err);
	for (size_t i = 0; !rc && i < vm->n_disks; i++) {
		const struct vimg_vm_snapshot_disk *sd = NULL;
		char *delta, *cur;

		if (!is_disk(&vm->disks[i]) ||
		    (vm->disks[i].mode && strstr(vm->disks[i].mode, "independent")))
			continue;
		for (size_t d = 0; d < s->n_disks; d++)
			if (!strcasecmp(s->disks[d].node, vm->disks[i].node))
				sd = &s->disks[d];
		if (!sd) {
			rc = vimg_error_set(err, VIMG_EUNSUPPORTED,
					    "disk %s did not exist when snapshot \"%s\" was taken",
					    vm->disks[i].node, s->name);
			break;
		}
		rc = new_delta(vm, sd->file, &delta, err);
		if (rc)
			break;
		/* The state being left is discarded, as VMware does, unless a
		 * snapshot owns the file or something stands on it. */
		cur = vm_canonical(vm, vm->disks[i].file);
		free((char *)vm->disks[i].file);
		vm->disks[i].file = delta;
		vm->disk_dirty[i] = true;
		if (cur && !named(vm, cur, 0) && !children(&g, cur, NULL, 0))
			rc = doom(&g, cur, err);
		free(cur);
	}
	if (!rc) {
		vm->snap_current = s->uid;
		vm->dirty |= VM_DIRTY_SNAPSHOTS;
		rc = vimg_vm_save(vm, err);
	}
	if (!rc)
		remove_doomed(&g);
	graph_free(&g);
	return rc;
}

/* ---- delete and consolidate ----------------------------------------------------- */

static void drop_snapshot(struct vimg_vm *vm, size_t idx)
{
	struct vm_snapshot victim = vm->snaps[idx];

	for (size_t i = 0; i < vm->n_snaps; i++)
		if (vm->snaps[i].pub.parent_uid == victim.pub.uid)
			vm->snaps[i].pub.parent_uid = victim.pub.parent_uid;
	if (vm->snap_current == victim.pub.uid)
		vm->snap_current = victim.pub.parent_uid;
	memmove(vm->snaps + idx, vm->snaps + idx + 1, (vm->n_snaps - idx - 1) * sizeof(*vm->snaps));
	vm->n_snaps--;
	vm_snapshot_free(&victim);
	vm->dirty |= VM_DIRTY_SNAPSHOTS;
}

int vimg_vm_snapshot_delete(struct vimg_vm *vm, const char *which,
			    const struct vimg_vm_snapshot_opts *o, struct vimg_error *err)
{
	const struct vimg_vm_snapshot *s;
	struct graph g = { 0 };
	size_t idx = 0;
	int rc;

	if (!vm_valid(vm) || !which)
		return vimg_error_set(err, VIMG_EINVAL, "vimg_vm_snapshot_delete: invalid arguments");
	if (!(s = vimg_vm_snapshot_find(vm, which, err)))
		return err ? err->code : VIMG_ENOENT;
	rc = vm_check_stopped(vm, o ? o->flags : 0, err);
	if (!rc)
		rc = graph_build(vm, &g, err);
	for (size_t d = 0; !rc && d < s->n_disks; d++) {
		char *f = vm_canonical(vm, s->disks[d].file);
		const char *kids[2];
		size_t k;

		if (!f) {
			rc = vimg_error_set(err, VIMG_ENOMEM, "out of memory");
			break;
		}
		if (named(vm, f, s->uid)) {
			free(f); /* another view still names it: nothing to merge */
			continue;
		}
		if (!inside_vm(vm, f) && !(vm->flags & VIMG_VM_ALLOW_ESCAPE)) {
			rc = vimg_error_set(err, VIMG_EACCES,
					    "%s lies outside the VM's folder: it may be shared, and "
					    "deleting the snapshot would change it", f);
			free(f);
			break;
		}
		k = children(&g, f, kids, 2);
		if (k == 0)
			rc = doom(&g, f, err);
		else if (k == 1)
			rc = collapse_child(vm, &g, f, kids[0], o, err);
		else
			rc = push_into_children(&g, f, o, err);
		free(f);
	}
	if (!rc) {
		while (vm->snaps[idx].pub.uid != s->uid)
			idx++;
		drop_snapshot(vm, idx);
		rc = vimg_vm_save(vm, err);
	}
	if (!rc)
		remove_doomed(&g);
	graph_free(&g);
	return rc;
}

int vimg_vm_consolidate(struct vimg_vm *vm, const struct vimg_vm_snapshot_opts *o,
			unsigned *collapsed, struct vimg_error *err)
{
	struct graph g = { 0 };
	unsigned n = 0;
	bool again = true;
	int rc;

	if (!vm_valid(vm))
		return vimg_error_set(err, VIMG_EINVAL, "vimg_vm_consolidate: invalid VM");
	rc = vm_check_stopped(vm, o ? o->flags : 0, err);
	if (!rc)
		rc = graph_build(vm, &g, err);
	while (!rc && again) {
		again = false;
		for (size_t i = 0; !rc && i < g.n; i++) {
			const char *kids[2];
			char *f;

			/* A parent outside the folder is shared (a linked clone's
			 * template): never written. */
			if (!g.v[i].path[0] || !inside_vm(vm, g.v[i].path) ||
			    named(vm, g.v[i].path, 0) || children(&g, g.v[i].path, kids, 2) != 1)
				continue;
			f = strdup(g.v[i].path);
			rc = f ? collapse_child(vm, &g, f, kids[0], o, err)
			       : vimg_error_set(err, VIMG_ENOMEM, "out of memory");
			free(f);
			n++;
			again = true;
		}
	}
	if (!rc && n)
		rc = vimg_vm_save(vm, err);
	if (!rc)
		remove_doomed(&g);
	graph_free(&g);
	if (collapsed)
		*collapsed = n;
	return rc;
}
