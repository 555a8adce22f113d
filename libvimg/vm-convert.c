/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Whole-VM conversion: a copy of the source's model is moved to the target
 * hypervisor (disks converted through the copy engine, media named by
 * absolute path, EFI variables exported as the target's firmware keeps
 * them, disks and NICs moved to what the guest has drivers for), then the
 * target's codec writes its configuration. Every change, and everything the
 * target cannot hold, is a warning: nothing is dropped without a word. The
 * source is only read.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "efivar.h"
#include "ova.h"
#include "vm.h"
#include "vmmap.h"

/* How a target keeps an EFI VM's variables. */
enum nvram_kind {
	NVRAM_NONE,		/* in a place vimg cannot write (Hyper-V's VMGS) */
	NVRAM_EDK2,		/* an OVMF store beside the configuration */
	NVRAM_VMWARE,		/* VMware's .nvram */
};

/* How the files are handed over: as they are, with a manifest, in an OVA. */
enum package_kind { PACKAGE_NONE, PACKAGE_MANIFEST, PACKAGE_OVA };

/* What each target takes, beside its codec: the disk format it runs and
 * its create options, the extension of its configuration, how it keeps EFI
 * variables, whether it is VMware itself (which keeps VMware's own keys). */
static const struct target {
	const char *name, *codec, *disk_format, *disk_options, *ext;
	enum nvram_kind nvram;
	bool vmware;
	bool moves_devices;	/* to inbox buses and NIC models */
	enum package_kind package;
} targets[] = {
	{ "libvirt", "libvirt", "qcow2", NULL, ".xml", NVRAM_EDK2, false, true, PACKAGE_NONE },
	{ "vmx", "vmx", "vmdk", NULL, ".vmx", NVRAM_VMWARE, true, false, PACKAGE_NONE },
	{ "hyperv", "hyperv", "vhdx", NULL, ".ps1", NVRAM_NONE, false, false, PACKAGE_NONE },
	/* VirtualBox's .nvram is its own: an EFI VM starts with empty variables. */
	{ "virtualbox", "vbox", "vdi", NULL, ".vbox", NVRAM_NONE, false, false, PACKAGE_NONE },
	/* Azure takes fixed VHDs whose size is a whole number of MiB. */
	{ "azure", "azure", "vhd", "subformat=fixed,force_size=on", ".azure.sh", NVRAM_NONE, false,
	  false, PACKAGE_NONE },
	/* OVF packages carry streamOptimized VMDKs, the only disks every
	 * importer takes, and VMware's .nvram. */
	{ "ovf", "ovf", "vmdk", "subformat=streamOptimized", ".ovf", NVRAM_VMWARE, true, false,
	  PACKAGE_MANIFEST },
	{ "ova", "ovf", "vmdk", "subformat=streamOptimized", ".ova", NVRAM_VMWARE, true, false,
	  PACKAGE_OVA },
};

static const struct target *target_by_name(const char *name)
{
	for (size_t i = 0; name && i < sizeof(targets) / sizeof(targets[0]); i++)
		if (!strcmp(targets[i].name, name))
			return &targets[i];
	return NULL;
}

static const char *disk_ext(const char *format)
{
	return !strcmp(format, "vpc") ? "vhd" : format;
}

/* A controller of this type and bus in dst, added if absent; its id. */
static const char *ensure_controller(struct vimg_vm *vm, enum vimg_controller_type type,
				     const char *name, struct vimg_error *err)
{
	char id[16];

	for (size_t i = 0; i < vm->n_ctrls; i++)
		if (vm->ctrls[i].type == type && vm->ctrls[i].bus == 0)
			return vm->ctrls[i].id;
	snprintf(id, sizeof(id), "%s0", name);
	if (vm_grow((void **)&vm->ctrls, vm->n_ctrls, sizeof(*vm->ctrls), "convert", err))
		return NULL;
	vm->ctrls[vm->n_ctrls] = (struct vimg_vm_controller){ .type = type, .id = strdup(id) };
	if (!vm->ctrls[vm->n_ctrls].id) {
		vimg_error_set(err, VIMG_ENOMEM, "out of memory");
		return NULL;
	}
	return vm->ctrls[vm->n_ctrls++].id;
}

/* Disks and CD-ROMs onto one controller the guest boots from. */
static int move_disks(struct vimg_vm *vm, const char *bus, struct vimg_warnings **w,
		      struct vimg_error *err)
{
	static const struct {
		const char *name;
		enum vimg_controller_type type;
	} buses[] = { { "sata", VIMG_CTRL_SATA }, { "ide", VIMG_CTRL_IDE },
		      { "scsi", VIMG_CTRL_SCSI }, { "virtio", VIMG_CTRL_VIRTIO } };
	enum vimg_controller_type type = VIMG_CTRL_SATA;
	const char *id, *name = "sata";
	unsigned unit = 0;

	for (size_t i = 0; bus && i < sizeof(buses) / sizeof(buses[0]); i++)
		if (!strcmp(buses[i].name, bus))
			type = buses[i].type, name = buses[i].name;
	if (!(id = ensure_controller(vm, type, name, err)))
		return -1;
	for (size_t i = 0; i < vm->n_disks; i++) {
		struct vimg_vm_disk *d = &vm->disks[i];
		const struct vimg_vm_controller *c = vm_controller_of(vm, d);
		char node[32];

		if (d->kind == VIMG_DEV_FLOPPY)
			continue;
		if (type == VIMG_CTRL_VIRTIO && d->kind == VIMG_DEV_CDROM) {
			warnings_add(w, d->node, "a CD-ROM cannot be virtio: it stays where it was");
			continue;
		}
		snprintf(node, sizeof(node), "%s:%u", id, unit);
		if (!c || c->type != type)
			warnings_add(w, d->node, "moves to %s%s%s%s: %s", node,
				     c ? " (from " : "", c ? (c->model ? c->model : c->id) : "",
				     c ? ")" : "",
				     bus ? "as asked" : "the guest boots from it without new drivers");
		if (vm_set_str((char **)&d->node, node, err) ||
		    vm_set_str((char **)&d->controller, id, err))
			return -1;
		d->unit = unit++;
	}
	return 0;
}

static int move_nics(struct vimg_vm *vm, const char *model, struct vimg_warnings **w,
		     struct vimg_error *err)
{
	for (size_t i = 0; i < vm->n_nics; i++) {
		struct vimg_vm_nic *n = &vm->nics[i];
		const struct vmmap_nic *m = vmmap_nic_by_vmx(n->model);
		const char *to = model ? model : m && m->inbox ? NULL : "e1000";
		char key[32];

		if (!to || (n->model && !strcasecmp(n->model, to)))
			continue;
		snprintf(key, sizeof(key), "ethernet%u", n->index);
		warnings_add(w, key, "NIC model %s becomes %s%s", n->model ? n->model : "(default)",
			     to, model ? "" : ": every guest has drivers for it");
		if (vm_set_str((char **)&n->model, to, err))
			return -1;
	}
	return 0;
}

/* One progress display for every disk: each reports its own bytes, the
 * caller's callback sees their sum out of all the disks' size, from one
 * thread at a time. */
struct vm_progress {
	pthread_mutex_t lock;
	const struct vimg_vm_convert_opts *o;
	uint64_t total;
	struct progress_slot {
		struct vm_progress *all;
		uint64_t done;
	} *slot;			/* by disk index */
};

static void disk_progress(void *opaque, uint64_t done, uint64_t total)
{
	struct progress_slot *s = opaque;
	struct vm_progress *p = s->all;
	uint64_t sum = 0;

	(void)total;
	pthread_mutex_lock(&p->lock);
	s->done = done;
	for (struct progress_slot *x = p->slot; x && x->all; x++)
		sum += x->done;
	p->o->progress(p->o->progress_opaque, sum, p->total);
	pthread_mutex_unlock(&p->lock);
}

/* Slots for every disk of src that is converted, with their sizes summed. */
static int progress_init(struct vm_progress *p, struct vimg_vm *src,
			 const struct vimg_vm_convert_opts *o, struct vimg_error *err)
{
	*p = (struct vm_progress){ .o = o };
	if (!(p->slot = calloc(src->n_disks + 1, sizeof(*p->slot))))
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	pthread_mutex_init(&p->lock, NULL);
	for (size_t i = 0; i < src->n_disks; i++) {
		struct vimg_image *img;

		p->slot[i].all = p;
		if (src->disks[i].kind != VIMG_DEV_DISK || !src->disks[i].file ||
		    vimg_vm_disk_open(src, src->disks[i].file, 0, &img, NULL))
			continue;
		p->total += vimg_image_virtual_size(img);
		vimg_image_close(img, NULL);
	}
	return 0;
}

static void progress_fini(struct vm_progress *p)
{
	if (p->slot)
		pthread_mutex_destroy(&p->lock);
	free(p->slot);
}

/* Disk i of src converted to dst->dir/to_name, or into the OVA being
 * packed at its next member. */
static int convert_disk(struct vimg_vm *src, struct vimg_vm *dst, size_t i, const char *to_name,
			const char *format, const char *options, struct vm_progress *prog,
			struct ova_pack *ova, struct vimg_error *err)
{
	struct vimg_convert_opts co = {
		.format = format,
		.options = options,
		.progress = prog && prog->o->progress ? disk_progress : NULL,
		.progress_opaque = prog ? &prog->slot[i] : NULL,
	};
	struct vimg_image *img = NULL;
	char *to = NULL;
	int rc = vimg_vm_disk_open(src, src->disks[i].file, 0, &img, err);

	if (!rc && asprintf(&to, "%s/%s", dst->dir, to_name) < 0) {
		to = NULL;
		rc = vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	}
	if (!rc && ova)
		rc = file_window_begin(to, dst->path, ova_pack_data_offset(ova), UINT64_MAX, err);
	if (!rc)
		rc = vimg_convert(img, to, &co, err);
	file_window_end();
	vimg_image_close(img, NULL);
	if (!rc && ova)
		rc = ova_pack_member_done(ova, to_name, err);
	if (!rc)
		rc = vm_set_str((char **)&dst->disks[i].file, to_name, err);
	dst->disk_dirty[i] = true;
	free(to);
	return rc ? vimg_error_prefix(err, "disk %s (%s)", src->disks[i].node, src->disks[i].file)
		  : 0;
}

/* Media stay where they are, named by absolute path; missing ones are
 * disconnected. */
static int keep_media(struct vimg_vm *src, struct vimg_vm *dst, size_t i,
		      struct vimg_warnings **w, struct vimg_error *err)
{
	struct vimg_vm_disk *d = &dst->disks[i];
	char *p = NULL;
	struct stat st;
	int rc = 0;

	if (!d->file || !*d->file)
		return 0;
	if (vm_resolve(src, d->file, &p, NULL) == 0 && stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
		char real[PATH_MAX];

		rc = vm_set_str((char **)&d->file, realpath(p, real) ? real : p, err);
		dst->disk_dirty[i] = true;
	} else {
		warnings_add(w, d->node, "media \"%s\" is not a file here (a host device or "
			     "missing): the drive is left empty", d->file);
		rc = vm_set_str((char **)&d->file, NULL, err);
		dst->disk_dirty[i] = true;
	}
	free(p);
	return rc;
}

static int carry_nvram(struct vimg_vm *src, struct vimg_vm *dst, const struct target *t,
		       const char *n, struct vimg_warnings **w, struct vimg_error *err)
{
	struct vimg_nvram *nv;
	char *name = NULL, *to = NULL;
	int rc;

	dst->dirty |= VM_DIRTY_NVRAM;
	if (src->firmware != VIMG_FIRMWARE_EFI) {
		if (src->nvram)
			warnings_add(w, "nvram", "a BIOS VM's nvram (CMOS settings) is not carried");
		return vm_set_str(&dst->nvram, NULL, err);
	}
	if (t->nvram == NVRAM_NONE) {
		warnings_add(w, "nvram", "%s keeps UEFI variables where vimg cannot write them: "
			     "the VM starts with its firmware's defaults (no boot entries, and "
			     "the Secure Boot keys of its template)", t->name);
		return vm_set_str(&dst->nvram, NULL, err);
	}
	if (!src->nvram || vimg_vm_nvram_open(src, &nv, NULL)) {
		warnings_add(w, "nvram", "no readable nvram: the firmware starts with empty "
			     "variables (no boot entries, no Secure Boot keys)");
		return vm_set_str(&dst->nvram, NULL, err);
	}
	if (asprintf(&name, t->nvram == NVRAM_EDK2 ? "%s_VARS.fd" : "%s.nvram", n) < 0 ||
	    asprintf(&to, "%s/%s", dst->dir, name) < 0) {
		rc = vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	} else if (t->nvram == NVRAM_EDK2) {
		rc = vimg_nvram_export_ovmf(nv, to, NULL, w, err);
	} else if (strcmp(vimg_nvram_format(nv), "vmware")) {
		rc = vimg_nvram_export_vmware(nv, to, NULL, w, err);
	} else {
		/* VMware's own file is copied: its other sections are its firmware's. */
		char *from, *buf = NULL;
		size_t len;

		rc = vm_member(src, src->nvram, &from, err);
		if (!rc)
			rc = file_read_all(from, 64u << 20, "nvram", &buf, &len, err);
		file_window_end();
		if (!rc)
			rc = file_replace(to, buf, len, err);
		free(buf);
		free(from);
	}
	if (!rc)
		rc = vm_set_str(&dst->nvram, name, err);
	vimg_nvram_close(nv);
	free(name);
	free(to);
	return rc ? vimg_error_prefix(err, "nvram") : 0;
}

/* What the target has no place for, said once per kind. */
static void report_dropped(struct vimg_vm *src, const struct target *t,
			   struct vimg_warnings **w)
{
	if (src->n_snaps)
		warnings_add(w, "snapshots", "%zu snapshot%s not carried: the current state is "
			     "converted", src->n_snaps, src->n_snaps == 1 ? " is" : "s are");
	if (src->suspend)
		warnings_add(w, "checkpoint.vmState", "the saved state is not carried: the VM "
			     "boots as after a power loss");
	/* Keys of the .vmx format itself are no settings of the VM; VMware
	 * targets keep the other .vmx keys, not other readers' notes. */
	size_t n = 0;
	char list[256] = "";

	for (size_t i = 0, o = 0; i < src->n_extra; i++) {
		const char *k = src->extra[i].key;

		if (k[0] == '.' || !strcasecmp(k, "config.version") ||
		    (t->vmware && !vm_extra_is_note(k)))
			continue;
		if (n++ < 8)
			o += (size_t)snprintf(list + o, o < sizeof(list) ? sizeof(list) - o : 0,
					      "%s%s", n > 1 ? ", " : "", k);
	}
	if (n)
		warnings_add(w, "extra keys", "%zu %s setting%s with no %s equivalent %s not "
			     "carried: %s%s", n, src->codec->name, n == 1 ? "" : "s", t->name,
			     n == 1 ? "is" : "are", list, n > 8 ? ", ..." : "");
	if (t->vmware)
		return;
	if (src->hw_version)
		warnings_add(w, "virtualHW.version", "VMware's hardware version %u has no "
			     "meaning for %s", src->hw_version, t->name);
	if (src->vc_uuid)
		warnings_add(w, "vc.uuid", "vCenter's instance UUID is not carried");
	if (src->vram)
		warnings_add(w, "svga.vramSize", "the video RAM size is not carried");
	if (src->vmxf)
		warnings_add(w, "extendedConfigFile", "the .vmxf is not carried");
}

/*
 * Every disk of the current state converted beside the configuration,
 * several at once where the machine has the cores (each conversion runs
 * its own copy workers too), behind one progress display. The first
 * failing disk's error is the one returned.
 */
struct disk_pool {
	pthread_mutex_t lock;
	struct vimg_vm *src, *dst;
	const char *format, *options;
	struct vm_progress *prog;
	struct disk_job {
		size_t i;
		char *to;
		int rc;
		struct vimg_error err;
	} *jobs;
	size_t n, next;
};

static void *disk_worker(void *arg)
{
	struct disk_pool *p = arg;

	for (;;) {
		struct disk_job *j;

		pthread_mutex_lock(&p->lock);
		j = p->next < p->n ? &p->jobs[p->next++] : NULL;
		pthread_mutex_unlock(&p->lock);
		if (!j)
			return NULL;
		j->rc = convert_disk(p->src, p->dst, j->i, j->to, p->format, p->options, p->prog,
				     NULL, &j->err);
	}
}

#define MAX_PARALLEL_DISKS 4

static int convert_disks(struct vimg_vm *src, struct vimg_vm *dst, const char *n,
			 const char *format, const char *options,
			 const struct vimg_vm_convert_opts *o, struct vimg_error *err)
{
	struct disk_pool p = { .src = src, .dst = dst, .format = format, .options = options };
	struct vm_progress prog;
	pthread_t th[MAX_PARALLEL_DISKS];
	size_t started = 0, want;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned k = 0;
	int rc = progress_init(&prog, src, o, err);

	if (rc)
		return rc;
	p.prog = &prog;
	p.jobs = calloc(dst->n_disks + 1, sizeof(*p.jobs));
	if (!p.jobs) {
		progress_fini(&prog);
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	}
	for (size_t i = 0; !rc && i < dst->n_disks; i++) {
		if (dst->disks[i].kind != VIMG_DEV_DISK || !dst->disks[i].file)
			continue;
		p.jobs[p.n] = (struct disk_job){ .i = i, .err = VIMG_ERROR_INIT,
						 .to = vm_disk_name(n, k++, false, disk_ext(format)) };
		if (!p.jobs[p.n++].to)
			rc = vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	}
	want = p.n < (size_t)(cpus > 1 ? cpus : 1) ? p.n : (size_t)(cpus > 1 ? cpus : 1);
	if (want > MAX_PARALLEL_DISKS)
		want = MAX_PARALLEL_DISKS;
	pthread_mutex_init(&p.lock, NULL);
	/* The calling thread is one of the workers. */
	while (!rc && started + 1 < want && !pthread_create(&th[started], NULL, disk_worker, &p))
		started++;
	if (!rc)
		disk_worker(&p);
	for (size_t i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&p.lock);
	for (size_t j = 0; j < p.n; j++) {
		if (!rc && p.jobs[j].rc) {
			if (err)
				*err = p.jobs[j].err;
			rc = p.jobs[j].rc;
		}
		free(p.jobs[j].to);
	}
	free(p.jobs);
	progress_fini(&prog);
	return rc;
}

/*
 * The OVA: room for the descriptor (as long as it can be once the disks'
 * sizes are known: it is rendered first with the largest sizes) and the
 * manifest, then each disk converted into the archive, the nvram, and the
 * descriptor and manifest written last into their room.
 */
static int convert_to_ova(struct vimg_vm *src, struct vimg_vm *dst, const char *n,
			  const char *format, const char *options,
			  const struct vimg_vm_convert_opts *o, struct vimg_warnings **w,
			  struct vimg_error *err)
{
	const char *algo = o->manifest ? o->manifest : "sha256";
	struct ova_pack ova = { 0 };
	struct vm_progress prog = { 0 };
	struct ovf_file *files = calloc(dst->n_disks + 1, sizeof(*files));
	char **names = calloc(dst->n_disks + 1, sizeof(*names));
	char *ovf_name = NULL, *text = NULL, *nvram_path = NULL;
	size_t nf = 0, room = 0, len, mf;
	unsigned k = 0;
	int rc = 0;

	if (!files || !names || asprintf(&ovf_name, "%s.ovf", n) < 0) {
		ovf_name = NULL;
		rc = vimg_error_set(err, VIMG_ENOMEM, "out of memory");
		goto out;
	}
	if (!ova_algo_valid(algo)) {
		rc = vimg_error_set(err, VIMG_EINVAL, "ova: unknown manifest digest \"%s\"", algo);
		goto out;
	}
	mf = ova_manifest_line_len(algo, ovf_name);
	for (size_t i = 0; !rc && i < dst->n_disks; i++) {
		struct vimg_image *img;

		if (dst->disks[i].kind != VIMG_DEV_DISK || !dst->disks[i].file)
			continue;
		if (!(names[i] = vm_disk_name(n, k++, false, disk_ext(format)))) {
			rc = vimg_error_set(err, VIMG_ENOMEM, "out of memory");
			break;
		}
		if ((rc = vimg_vm_disk_open(src, src->disks[i].file, 0, &img, err)))
			break;
		files[nf++] = (struct ovf_file){ .href = names[i], .size = UINT64_MAX, .disk = i,
						 .capacity = vimg_image_virtual_size(img) };
		vimg_image_close(img, NULL);
		mf += ova_manifest_line_len(algo, names[i]);
		rc = vm_set_str((char **)&dst->disks[i].file, names[i], err);
	}
	if (!rc && dst->nvram) {
		struct stat st;

		rc = vm_resolve(dst, dst->nvram, &nvram_path, err);
		if (!rc && stat(nvram_path, &st) < 0)
			rc = vimg_error_set_errno(err, errno, "%s", nvram_path);
		if (!rc) {
			files[nf++] = (struct ovf_file){ .href = dst->nvram, .size = (uint64_t)st.st_size,
							 .disk = OVF_NOT_A_DISK };
			mf += ova_manifest_line_len(algo, dst->nvram);
		}
	}
	if (!rc)
		rc = ovf_render(dst, files, nf, o->ovf_version, &text, &room, NULL, err);
	free(text);
	text = NULL;
	if (!rc)
		rc = progress_init(&prog, src, o, err);
	if (!rc)
		rc = ova_pack_begin(&ova, dst->path,
				    TAR_BLOCK + tar_round(room) + TAR_BLOCK + tar_round(mf), algo,
				    false, err);
	for (size_t i = 0, f = 0; !rc && i < dst->n_disks; i++) {
		if (!names[i])
			continue;
		rc = convert_disk(src, dst, i, names[i], format, options, &prog, &ova, err);
		if (!rc)
			files[f++].size = ova_pack_size(&ova, names[i]);
	}
	if (!rc && nvram_path) {
		rc = ova_pack_add_file(&ova, dst->nvram, nvram_path, err);
		/* It is in the archive now; the folder keeps only the OVA. */
		if (!rc)
			unlink(nvram_path);
	}
	if (!rc)
		rc = ovf_render(dst, files, nf, o->ovf_version, &text, &len, w, err);
	if (!rc)
		rc = ova_pack_finish(&ova, ovf_name, text, len, room, err);
out:
	progress_fini(&prog);
	ova_pack_end(&ova);
	for (size_t i = 0; names && i < dst->n_disks; i++)
		free(names[i]);
	free(names);
	free(files);
	free(text);
	free(ovf_name);
	free(nvram_path);
	return rc;
}

/* Remove the files written into dir (empty before), and dir if made. */
static void empty_dir(const char *dir, bool made)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char *p;

		if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
			continue;
		if (asprintf(&p, "%s/%s", dir, e->d_name) >= 0) {
			unlink(p);
			free(p);
		}
	}
	if (d)
		closedir(d);
	if (made)
		rmdir(dir);
}

int vimg_vm_convert(struct vimg_vm *src, const char *outdir, const struct vimg_vm_convert_opts *o,
		    struct vimg_warnings **w, struct vimg_error *err)
{
	const struct target *t;
	const char *format, *options;
	struct vimg_vm *dst = NULL;
	char real[PATH_MAX], *n = NULL;
	bool made = false, taken = false;
	int rc;

	if (!vm_valid(src) || !outdir || !o)
		return vimg_error_set(err, VIMG_EINVAL, "vimg_vm_convert: invalid arguments");
	if (!(t = target_by_name(o->to)))
		return vimg_error_set(err, VIMG_EUNSUPPORTED,
				      "convert: the target \"%s\" is not supported (libvirt, "
				      "vmware, ovf, ova, hyperv, azure and virtualbox are)",
				      o->to ? o->to : "");
	format = o->disk_format ? o->disk_format : t->disk_format;
	/* The target's options go with its own format only. */
	options = o->disk_options ? o->disk_options : o->disk_format ? NULL : t->disk_options;
	if (!vimg_format_description(format))
		return vimg_error_set(err, VIMG_EINVAL, "convert: unknown disk format \"%s\"",
				      format);
	if (o->ovf_version > 2)
		return vimg_error_set(err, VIMG_EINVAL, "convert: OVF %u is not a version (1 or 2)",
				      o->ovf_version);
	rc = vimg_vm_open(src->path, src->codec->name, src->flags, &dst, err);
	if (rc)
		return rc;
	n = strdup(src->name && *src->name ? src->name : src->base);
	for (char *c = n; c && *c; c++)
		if (*c == '/')
			*c = '_';
	if (!n) {
		rc = vimg_error_set(err, VIMG_ENOMEM, "out of memory");
		goto out;
	}
	made = access(outdir, F_OK) != 0;
	rc = vm_make_dir(outdir, err);
	if (!rc && !realpath(outdir, real))
		rc = vimg_error_set_errno(err, errno, "%s", outdir);
	if (!rc)
		taken = true;
	if (rc)
		goto out;
	free(dst->dir);
	free(dst->base);
	free(dst->path);
	free(dst->vmsd_path);
	dst->vmsd_path = NULL;
	dst->dir = strdup(real);
	dst->base = strdup(n);
	if (asprintf(&dst->path, "%s/%s%s", real, n, t->ext) < 0)
		dst->path = NULL;
	if (!dst->dir || !dst->base || !dst->path) {
		rc = vimg_error_set(err, VIMG_ENOMEM, "out of memory");
		goto out;
	}
	/* The copy is written elsewhere: nothing of it lies in an archive. */
	free(dst->archive);
	dst->archive = NULL;
	tar_list_free(dst->members, dst->n_members);
	dst->members = NULL;
	dst->n_members = 0;
	report_dropped(src, t, w);
	if (src->codec == &vimg_codec_ovf)
		rc = ova_verify(src, src->path, err);
	/* The model first, then the disks: an OVA's descriptor must be sized
	 * before its disks are written behind it. */
	for (size_t i = 0; !rc && i < dst->n_disks; i++)
		if (dst->disks[i].kind != VIMG_DEV_DISK)
			rc = keep_media(src, dst, i, w, err);
	if (!rc)
		rc = carry_nvram(src, dst, t, n, w, err);
	if (!rc && t->moves_devices)
		rc = move_disks(dst, o->bus, w, err);
	if (!rc && t->moves_devices)
		rc = move_nics(dst, o->nic_model, w, err);
	if (!rc && o->new_identity)
		rc = vm_new_identity(dst, dst->name ? dst->name : n, false, err);
	if (!rc) {
		vm_snapshots_clear(dst);
		rc = vm_set_str(&dst->suspend, NULL, err);
		dst->dirty |= VM_DIRTY_SUSPEND;
	}
	if (!rc && t->package == PACKAGE_OVA) {
		rc = convert_to_ova(src, dst, n, format, options, o, w, err);
		goto out;
	}
	if (!rc)
		rc = convert_disks(src, dst, n, format, options, o, err);
	if (!rc) {
		dst->codec = registry_codec_by_name(t->codec);
		rc = t->package == PACKAGE_MANIFEST ? ovf_write(dst, dst->path, o->ovf_version, w, err)
						    : dst->codec->save(dst, dst->path, w, err);
	}
	if (!rc && t->package == PACKAGE_MANIFEST)
		rc = ova_write_manifest(dst, dst->path, o->manifest, err);
out:
	/* OUTDIR was empty: a failed conversion leaves it so, not half a VM. */
	if (rc && taken)
		empty_dir(real, made);
	vimg_vm_close(dst);
	free(n);
	return rc ? vimg_error_prefix(err, "converting %s to %s", src->path, o->to) : 0;
}
