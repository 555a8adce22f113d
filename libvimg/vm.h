/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The VM model as the core and the bundle codecs see it (vimg.h has the
 * public view). The public device structs are stored as they are, their
 * strings owned by the model. Codecs fill the model through these fields;
 * changes made after loading set dirty bits, so a codec writing back to the
 * file it read rewrites only what changed (doc/architecture.md, "VM bundles").
 */
#ifndef VIMG_VM_H
#define VIMG_VM_H

#include "internal.h"
#include "kvtext.h"
#include "tar.h"

/* Scalar fields changed since load. */
#define VM_DIRTY_NAME		(1u << 0)
#define VM_DIRTY_UUID_BIOS	(1u << 1)
#define VM_DIRTY_UUID_LOCATION	(1u << 2)
#define VM_DIRTY_VC_UUID	(1u << 3)
#define VM_DIRTY_NVRAM		(1u << 4)
#define VM_DIRTY_VMXF		(1u << 5)
#define VM_DIRTY_SNAPSHOTS	(1u << 6)
#define VM_DIRTY_SUSPEND	(1u << 7)

/* Bounds on what a configuration may claim. */
#define VM_MAX_DEVICES 1024
#define VM_MAX_SNAPSHOTS 4096
#define VM_MAX_SNAPSHOT_DISKS 256

struct vm_kv {
	char *key, *value;
};

struct vm_snapshot {
	struct vimg_vm_snapshot pub;	/* strings and disks owned here */
	struct vm_kv *extra;		/* other snapshotN.* keys, suffix after "snapshotN." */
	size_t n_extra;
};

struct vimg_vm {
	unsigned magic, flags;
	char *path, *dir, *base;	/* config file, its folder, its name without extension */
	char *origin;			/* the file it was read from (path moves with a clone) */
	const struct vimg_codec *codec;
	unsigned dirty;

	char *name, *guest_os, *annotation, *uuid_bios, *uuid_location, *vc_uuid;
	char *nvram, *suspend, *vmxf, *sound_model;
	enum vimg_firmware firmware;
	bool secure_boot, usb, usb_ehci, usb_xhci, sound, video;
	unsigned hw_version, cpus, cores_per_socket;
	uint64_t memory_mb, vram;

	struct vimg_vm_controller *ctrls;
	size_t n_ctrls;
	struct vimg_vm_disk *disks;
	bool *disk_dirty;		/* file changed */
	size_t n_disks;
	struct vimg_vm_nic *nics;
	bool *nic_dirty;		/* MAC changed */
	size_t n_nics;
	struct vimg_vm_port *ports;
	size_t n_ports;
	struct vm_kv *extra;
	size_t n_extra;

	struct vm_snapshot *snaps;
	size_t n_snaps;
	unsigned snap_current, snap_last_uid;
	char *vmsd_path;		/* where the tree is kept (may not exist yet) */

	/* The documents the VM was read from, kept for lossless saves. */
	struct kvtext *vmx_doc, *vmsd_doc;
	char *vmxf_text;
	size_t vmxf_len;
	char *vmxf_id;			/* VMId in the .vmxf */

	/* A VM read from an archive (an OVA): its disks are members of it, read
	 * in place (vimg_vm_disk_open). */
	char *archive;
	struct tar_member *members;
	size_t n_members;
};

/* ---- the codec contract (one table, registry.c) -------------------------- */

struct vimg_codec {
	const char *name;
	const char *description;
	const char *const *extensions;	/* hints for probing by name */
	/* Keys the format defines, '#' for any number (NULL-terminated, may be
	 * NULL): inspect tells a mistyped key from an unknown one with it. */
	const char *const *known_keys;
	/* 0..100 from the head of the file; no I/O. Required. */
	int (*probe)(const struct vimg_probe *p);
	/* Read path into vm: each codec adds what its file holds. NULL: the
	 * codec only writes (probing still names the format in the error). */
	int (*load)(struct vimg_vm *vm, const char *path, struct vimg_error *err);
	/* Write vm's part held by this codec to path; what the format cannot
	 * hold goes to *w. NULL: the codec only reads. */
	int (*save)(struct vimg_vm *vm, const char *path, struct vimg_warnings **w,
		    struct vimg_error *err);
};

extern const struct vimg_codec vimg_codec_vmx;
extern const struct vimg_codec vimg_codec_vmsd;
extern const struct vimg_codec vimg_codec_vmxf;
extern const struct vimg_codec vimg_codec_libvirt;
extern const struct vimg_codec vimg_codec_hyperv;
extern const struct vimg_codec vimg_codec_azure;
extern const struct vimg_codec vimg_codec_hyperv_xml;
extern const struct vimg_codec vimg_codec_ovf;

/* ---- OVF packages (formats/ovf.c, ovf-read.c, libvimg/ova.c) -------------- */

#define OVF_NOT_A_DISK SIZE_MAX
#define OVF_VMDK_STREAM "http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"

/* A file of the package, as References and the DiskSection name it. */
struct ovf_file {
	const char *href;
	uint64_t size;		/* bytes of the file */
	size_t disk;		/* index in vm->disks, or OVF_NOT_A_DISK (the nvram) */
	uint64_t capacity;	/* a disk's virtual size */
};

/* The descriptor for vm and its files (OVF 1.0, or 2.0), malloc'd and
 * NUL-terminated. */
int ovf_render(struct vimg_vm *vm, const struct ovf_file *files, size_t n_files, unsigned version,
	       char **out, size_t *len, struct vimg_warnings **w, struct vimg_error *err);
/* The descriptor of vm at path, for the files in its folder. */
int ovf_write(struct vimg_vm *vm, const char *path, unsigned version, struct vimg_warnings **w,
	      struct vimg_error *err);
/* The files of vm's disks and nvram as they lie in its folder. */
int ovf_files_of(struct vimg_vm *vm, struct ovf_file **out, size_t *n, struct vimg_error *err);
int ovf_load(struct vimg_vm *vm, const char *path, struct vimg_error *err);
/* libvimg/ova.c: a manifest beside an OVF (NAME.mf), and whole OVAs. */
int ova_write_manifest(struct vimg_vm *vm, const char *ovf_path, const char *algo,
		       struct vimg_error *err);
/* Check a package's manifest (NAME.mf beside the .ovf, or the .mf member of
 * the OVA): every file listed, every hash right; VIMG_ECORRUPT otherwise. A
 * package without manifest passes. */
int ova_verify(struct vimg_vm *vm, const char *ovf_path, struct vimg_error *err);
extern const struct vimg_codec vimg_codec_vbox;
extern const struct vimg_codec vimg_codec_hyperv_vmcx;
/* formats/vmx-write.c: a .vmx's keys for a VM read from elsewhere, into an
 * empty kv (parsed here). */
int vmx_render_new(struct vimg_vm *vm, struct kvtext *kv, struct vimg_warnings **w,
		   struct vimg_error *err);
/* formats/libvirt-read.c */
int libvirt_load(struct vimg_vm *vm, const char *path, struct vimg_error *err);
/* formats/vbox-read.c */
int vbox_load(struct vimg_vm *vm, const char *path, struct vimg_error *err);

const struct vimg_codec *registry_codec(size_t i);
const struct vimg_codec *registry_codec_by_name(const char *name);
/* The codec with the best probe score for path (VIMG_EFORMAT if none). */
int registry_codec_probe(const char *path, const struct vimg_codec **out,
			 struct vimg_error *err);

/* ---- model helpers (vm.c) ------------------------------------------------- */

bool vm_valid(const struct vimg_vm *vm);
/* What a reader does last: the per-disk and per-NIC dirty bits (ENOMEM only). */
int vm_loaded(struct vimg_vm *vm, struct vimg_error *err);
/* Replace *field with a copy of value (NULL clears); ENOMEM only. */
int vm_set_str(char **field, const char *value, struct vimg_error *err);
/* Whether an extra key is a reader's note on a setting it could not map
 * ("libvirt.disk", "ovf.item", ...) rather than a .vmx key. */
bool vm_extra_is_note(const char *key);
int vm_add_extra(struct vm_kv **v, size_t *n, const char *key, const char *value,
		 struct vimg_error *err);
/* Room for element n of *arr (grown 8 at a time, zeroed), at most
 * VM_MAX_DEVICES: past it VIMG_ECORRUPT "<fmt>: more than N devices". */
int vm_grow(void **arr, size_t n, size_t elem, const char *fmt, struct vimg_error *err);
/* Path of a file the VM names (relative to its folder), under its path
 * policy; malloc'd. */
int vm_resolve(const struct vimg_vm *vm, const char *name, char **out, struct vimg_error *err);
/* The path to open a file the VM names with: vm_resolve's, or for a VM
 * read from an archive ARCHIVE/NAME with a file window on the member begun
 * (the caller ends it with file_window_end once the file is open). */
int vm_member(const struct vimg_vm *vm, const char *name, char **path, struct vimg_error *err);
/* The controller a disk hangs off, or NULL (floppies, or a dangling id). */
const struct vimg_vm_controller *vm_controller_of(const struct vimg_vm *vm,
						  const struct vimg_vm_disk *d);
void vm_snapshots_clear(struct vimg_vm *vm);
void vm_snapshot_free(struct vm_snapshot *s);
/* VIMG_EBUSY naming why, when the VM looks running or suspended (a .lck, a
 * .vmem without .vmss, checkpoint.vmState), unless flags has VIMG_VM_FORCE. */
int vm_check_stopped(const struct vimg_vm *vm, unsigned flags, struct vimg_error *err);
/* Check uids, parents and that the tree has no cycle. */
int vm_snapshots_validate(const struct vimg_vm *vm, struct vimg_error *err);
struct vm_snapshot *vm_snapshot_by_uid(struct vimg_vm *vm, unsigned uid);
/* Shared by clone and convert (vm-clone.c). */
/* Make dir, or take it if it exists and is empty. */
int vm_make_dir(const char *dir, struct vimg_error *err);
/* Copy a small file (at most 64 MiB), atomically. */
int vm_copy_file(const char *from, const char *to, struct vimg_error *err);
/* "N.ext", "N_1.ext", ... (linked: "N-000001.ext"), as VMware names disks. */
char *vm_disk_name(const char *n, unsigned k, bool linked, const char *ext);
/* New BIOS and location UUIDs, no vc.uuid, the name, new generated MACs
 * (static ones too with new_macs), a new .vmxf id. */
int vm_new_identity(struct vimg_vm *vm, const char *name, bool new_macs,
		    struct vimg_error *err);
/* Load a VMware dictionary file into *kv (malloc'd), bounded like vimg_config. */
int vm_read_dictionary(const char *path, const char *what, struct kvtext **kv,
		       struct vimg_error *err);

#endif
