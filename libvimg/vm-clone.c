/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Clone a VM from a template: a full clone copies the chosen state's disks
 * through the copy engine (to another format or subformat if asked); a
 * linked clone makes deltas whose parents are the template's files, named
 * relative to the new folder. Either way the clone gets a new identity
 * (BIOS and location UUIDs, no vc.uuid, new generated MACs, fresh disk CIDs
 * and ddb.uuid from the disk writer, displayName) and consistently renamed
 * files; logs, locks, saved state and (unless kept) snapshots stay behind.
 * The template is only read: its files keep their bytes and mtimes.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vm.h"

/* The file the chosen state uses for disk i (a snapshot's, or the current). */
static const char *state_file(const struct vimg_vm *vm, const struct vimg_vm_snapshot *s,
			      size_t i)
{
	if (!s)
		return vm->disks[i].file;
	for (size_t d = 0; d < s->n_disks; d++)
		if (!strcasecmp(s->disks[d].node, vm->disks[i].node))
			return s->disks[d].file;
	return NULL;
}

int vm_make_dir(const char *dir, struct vimg_error *err)
{
	struct stat st;

	if (mkdir(dir, 0755) == 0)
		return 0;
	if (errno != EEXIST || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return vimg_error_set_errno(err, errno, "%s", dir);
	if (rmdir(dir) == 0 && mkdir(dir, 0755) == 0)
		return 0; /* it was empty */
	return vimg_error_set(err, VIMG_EINVAL, "%s: exists and is not empty", dir);
}

int vm_copy_file(const char *from, const char *to, struct vimg_error *err)
{
	char *buf;
	size_t len;
	int rc = file_read_all(from, 64u << 20, "clone", &buf, &len, err);

	if (rc)
		return rc;
	rc = file_replace(to, buf, len, err);
	free(buf);
	return rc;
}

static const char *disk_ext(const char *format)
{
	return !format || !strcmp(format, "vmdk") ? "vmdk" : format;
}

/* "N.vmdk" for the first disk, "N_1.vmdk", ... after it, as VMware names them. */
char *vm_disk_name(const char *n, unsigned k, bool linked, const char *ext)
{
	char *r;
	int rc;

	if (k)
		rc = asprintf(&r, "%s_%u%s.%s", n, k, linked ? "-000001" : "", ext);
	else
		rc = asprintf(&r, "%s%s.%s", n, linked ? "-000001" : "", ext);
	return rc < 0 ? NULL : r;
}

static int clone_disk(struct vimg_vm *src, struct vimg_vm *dst, size_t i, const char *from,
		      const char *to_name, const struct vimg_vm_clone_opts *o,
		      struct vimg_error *err)
{
	char *from_path = NULL, *to_path = NULL, *hint = NULL;
	struct vimg_image *img = NULL;
	int rc;

	rc = vm_resolve(src, from, &from_path, err);
	if (rc)
		return rc;
	if (asprintf(&to_path, "%s/%s", dst->dir, to_name) < 0) {
		to_path = NULL;
		rc = vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	} else if (o->linked) {
		hint = path_relative(dst->dir, from_path);
		rc = hint ? vimg_image_create(to_path, "vmdk", 0, NULL, hint, "vmdk",
					      VIMG_CREATE_ALLOW_ESCAPE, err)
			  : vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	} else {
		struct vimg_convert_opts co = {
			.format = o->format ? o->format : "vmdk",
			.options = o->options,
			.progress = o->progress,
			.progress_opaque = o->progress_opaque,
		};

		rc = vimg_image_open(from_path, NULL,
				     src->flags & VIMG_VM_ALLOW_ESCAPE ? VIMG_OPEN_ALLOW_ESCAPE : 0,
				     &img, err);
		if (!rc)
			rc = vimg_convert(img, to_path, &co, err);
		vimg_image_close(img, NULL);
	}
	if (!rc)
		rc = vm_set_str((char **)&dst->disks[i].file, to_name, err);
	dst->disk_dirty[i] = true;
	free(from_path);
	free(to_path);
	free(hint);
	return rc ? vimg_error_prefix(err, "disk %s (%s)", dst->disks[i].node, from) : 0;
}

/* Media named relative to the template's folder would not be found from the
 * clone's: name them by absolute path. */
static int repoint_media(struct vimg_vm *src, struct vimg_vm *dst, size_t i,
			 struct vimg_warnings **w, struct vimg_error *err)
{
	const char *f = dst->disks[i].file;
	char *p;
	struct stat st;
	int rc = 0;

	if (!f || f[0] == '/' || vm_resolve(src, f, &p, NULL))
		return 0;
	if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
		rc = vm_set_str((char **)&dst->disks[i].file, p, err);
		dst->disk_dirty[i] = true;
		warnings_add(w, dst->disks[i].node, "media \"%s\" stays in the template's folder; "
			     "the clone names it by absolute path", f);
	}
	free(p);
	return rc;
}

int vm_new_identity(struct vimg_vm *vm, const char *name, bool new_macs,
		    struct vimg_error *err)
{
	uint8_t u[16], mac[6];
	char text[48];
	int rc;

	id_vmware_uuid_random(u);
	id_vmware_uuid_format(u, text);
	rc = vm_set_str(&vm->uuid_bios, text, err);
	id_vmware_uuid_random(u);
	id_vmware_uuid_format(u, text);
	rc = rc ? rc : vm_set_str(&vm->uuid_location, text, err);
	rc = rc ? rc : vm_set_str(&vm->vc_uuid, NULL, err);
	rc = rc ? rc : vm_set_str(&vm->name, name, err);
	vm->dirty |= VM_DIRTY_UUID_BIOS | VM_DIRTY_UUID_LOCATION | VM_DIRTY_VC_UUID | VM_DIRTY_NAME;
	for (size_t i = 0; !rc && i < vm->n_nics; i++) {
		struct vimg_vm_nic *n = &vm->nics[i];

		if (n->mac_type == VIMG_MAC_STATIC && !new_macs)
			continue;
		if (n->mac_type == VIMG_MAC_STATIC) {
			/* VMware's manual range: 00:50:56:00:00:00-00:50:56:3f:ff:ff. */
			mac[0] = 0x00, mac[1] = 0x50, mac[2] = 0x56;
			id_random_bytes(mac + 3, 3);
			mac[3] &= 0x3f;
		} else {
			id_mac_vmware_generated(mac);
		}
		id_mac_format(mac, text);
		rc = vm_set_str((char **)&n->mac, text, err);
		vm->nic_dirty[i] = true;
	}
	if (!rc && vm->vmxf_id) {
		/* The .vmxf's VM id is the same kind of identity. */
		id_vmware_uuid_random(u);
		u[0] = 0x52;
		u[1] = 0x0c;
		id_vmware_uuid_format(u, text);
		rc = vm_set_str(&vm->vmxf_id, text, err);
	}
	return rc;
}

/* Point dst at its new home: NEWDIR/N.vmx, N.vmsd, N.nvram, N.vmxf. */
static int retarget(struct vimg_vm *src, struct vimg_vm *dst, const char *dir, const char *n,
		    struct vimg_error *err)
{
	char *p;
	int rc = 0;

	free(dst->path);
	free(dst->dir);
	free(dst->base);
	free(dst->vmsd_path);
	dst->dir = strdup(dir);
	dst->base = strdup(n);
	if (asprintf(&dst->path, "%s/%s.vmx", dir, n) < 0)
		dst->path = NULL;
	if (asprintf(&dst->vmsd_path, "%s/%s.vmsd", dir, n) < 0)
		dst->vmsd_path = NULL;
	if (!dst->dir || !dst->base || !dst->path || !dst->vmsd_path)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	if (src->nvram && vm_resolve(src, src->nvram, &p, NULL) == 0) {
		char *to, *name;

		if (asprintf(&name, "%s.nvram", n) >= 0 && asprintf(&to, "%s/%s", dir, name) >= 0) {
			if (access(p, R_OK) == 0)
				rc = vm_copy_file(p, to, err);
			rc = rc ? rc : vm_set_str(&dst->nvram, name, err);
			dst->dirty |= VM_DIRTY_NVRAM;
			free(to);
		}
		free(name);
		free(p);
	}
	if (!rc && dst->vmxf) {
		char *name;

		if (asprintf(&name, "%s.vmxf", n) < 0)
			return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
		rc = vm_set_str(&dst->vmxf, name, err);
		free(name);
		dst->dirty |= VM_DIRTY_VMXF;
	}
	/* A clone starts powered off, without the template's saved state. */
	if (!rc && dst->suspend) {
		rc = vm_set_str(&dst->suspend, NULL, err);
		dst->dirty |= VM_DIRTY_SUSPEND;
	}
	return rc;
}

int vimg_vm_clone(struct vimg_vm *src, const char *newdir, const struct vimg_vm_clone_opts *o,
		  struct vimg_warnings **w, struct vimg_error *err)
{
	static const struct vimg_vm_clone_opts defaults = { 0 };
	const struct vimg_vm_snapshot *snap = NULL;
	struct vimg_vm *dst = NULL;
	const char *slash;
	char *n = NULL;
	unsigned k = 0;
	int rc;

	if (!vm_valid(src) || !newdir)
		return vimg_error_set(err, VIMG_EINVAL, "vimg_vm_clone: invalid arguments");
	o = o ? o : &defaults;
	if (o->keep_snapshots)
		return vimg_error_set(err, VIMG_EUNSUPPORTED,
				      "clone: keeping the snapshot tree is not supported yet");
	if (o->linked && o->format && strcmp(o->format, "vmdk"))
		return vimg_error_set(err, VIMG_EINVAL,
				      "clone: a linked clone's deltas are vmdk; -O applies to full "
				      "clones");
	if (o->snapshot && !(snap = vimg_vm_snapshot_find(src, o->snapshot, err)))
		return err ? err->code : VIMG_ENOENT;
	/* A copy of the model to change; the template's stays as read. */
	rc = vimg_vm_open(src->path, src->codec->name, src->flags, &dst, err);
	if (rc)
		return rc;
	slash = strrchr(newdir, '/');
	n = strdup(o->name ? o->name : slash && slash[1] ? slash + 1 : newdir);
	if (!n || !*n || strchr(n, '/')) {
		rc = vimg_error_set(err, VIMG_EINVAL, "clone: a name without '/' is needed");
		goto out;
	}
	rc = vm_make_dir(newdir, err);
	if (!rc)
		rc = retarget(src, dst, newdir, n, err);
	for (size_t i = 0; !rc && i < dst->n_disks; i++) {
		const char *from = state_file(src, snap, i);
		char *to;

		if (dst->disks[i].kind != VIMG_DEV_DISK) {
			rc = repoint_media(src, dst, i, w, err);
			continue;
		}
		if (!dst->disks[i].file)
			continue;
		if (!from) {
			rc = vimg_error_set(err, VIMG_EUNSUPPORTED,
					    "disk %s did not exist when snapshot \"%s\" was taken",
					    dst->disks[i].node, snap->name);
			break;
		}
		to = vm_disk_name(n, k++, o->linked, disk_ext(o->linked ? NULL : o->format));
		rc = to ? clone_disk(src, dst, i, from, to, o, err)
			: vimg_error_set(err, VIMG_ENOMEM, "out of memory");
		free(to);
	}
	if (!rc && o->format && strcmp(o->format, "vmdk"))
		warnings_add(w, "disk format", "VMware opens only vmdk disks; the clone's disks "
			     "are %s", o->format);
	if (!rc)
		rc = vm_new_identity(dst, n, o->new_macs, err);
	if (!rc) {
		/* Snapshots stay with the template. */
		vm_snapshots_clear(dst);
		dst->snap_current = dst->snap_last_uid = 0;
		dst->dirty &= ~VM_DIRTY_SNAPSHOTS;
		rc = dst->codec->save(dst, dst->path, w, err);
	}
out:
	vimg_vm_close(dst);
	free(n);
	return rc ? vimg_error_prefix(err, "cloning %s", src->path) : 0;
}
