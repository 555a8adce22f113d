/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * VMware .vmx (and .vmtx templates): the VM configuration, a dictionary of
 * `key = "value"` lines (man vimg-vmx(5) lists what vimg understands).
 *
 * Loading reads the file through kvtext and fills the model: the keys it has
 * fields for are typed, every other key stays verbatim in the model's extra
 * list, and the document itself is kept so that saving rewrites only the keys
 * whose model fields changed (dirty bits), leaving every other byte as read.
 * A device whose `.present` is not TRUE is not in the model; its keys are
 * extra keys like any other.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "vm.h"

static bool vmx_bool(const char *v)
{
	return v && (!strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcmp(v, "1"));
}

static int vmx_uint(const char *key, const char *v, uint64_t max, uint64_t *out,
		    struct vimg_error *err)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(v, &end, 10);
	if (!isdigit((unsigned char)*v) || *end || errno || n > max)
		return vimg_error_set(err, VIMG_ECORRUPT,
				      "vmx: %s: \"%.32s\" is not a number up to %llu", key, v,
				      (unsigned long long)max);
	*out = n;
	return 0;
}

/* ---- key names ------------------------------------------------------------------ */

static const char *const bus_names[] = {
	[VIMG_CTRL_IDE] = "ide", [VIMG_CTRL_SCSI] = "scsi", [VIMG_CTRL_SATA] = "sata",
	[VIMG_CTRL_NVME] = "nvme",
};

/* "scsi0" -> type and bus; length of the prefix matched, 0 if none. */
static size_t parse_controller(const char *k, enum vimg_controller_type *type, unsigned *bus)
{
	for (int t = VIMG_CTRL_IDE; t <= VIMG_CTRL_NVME; t++) {
		size_t n = strlen(bus_names[t]), d = 0;
		unsigned b = 0;

		if (strncasecmp(k, bus_names[t], n))
			continue;
		while (isdigit((unsigned char)k[n + d]) && d < 3)
			b = b * 10 + (unsigned)(k[n + d++] - '0');
		if (!d)
			continue;
		*type = (enum vimg_controller_type)t;
		*bus = b;
		return n + d;
	}
	return 0;
}

/* Split "<prefix><N>.<attr>" for a fixed prefix ("ethernet", "serial"). */
static bool parse_indexed(const char *k, const char *prefix, unsigned *idx, const char **attr)
{
	size_t n = strlen(prefix), d = 0;
	unsigned v = 0;

	if (strncasecmp(k, prefix, n))
		return false;
	while (isdigit((unsigned char)k[n + d]) && d < 4)
		v = v * 10 + (unsigned)(k[n + d++] - '0');
	if (!d || k[n + d] != '.')
		return false;
	*idx = v;
	*attr = k + n + d + 1;
	return true;
}

/* "scsi0:1.fileName" -> node "scsi0:1", attr "fileName". */
static bool parse_node(const char *k, enum vimg_controller_type *type, unsigned *bus,
		       unsigned *unit, size_t *node_len, const char **attr)
{
	size_t n = parse_controller(k, type, bus), d = 0;
	unsigned u = 0;

	if (!n || k[n] != ':')
		return false;
	while (isdigit((unsigned char)k[n + 1 + d]) && d < 3)
		u = u * 10 + (unsigned)(k[n + 1 + d++] - '0');
	if (!d || k[n + 1 + d] != '.')
		return false;
	*unit = u;
	*node_len = n + 1 + d;
	*attr = k + *node_len + 1;
	return true;
}

/* ---- building the model -------------------------------------------------------- */

struct scalar {
	const char *key;
	size_t off;	/* of a char * field in struct vimg_vm */
};

#define S(k, f) { k, offsetof(struct vimg_vm, f) }
static const struct scalar scalars[] = {
	S("displayName", name),		S("guestOS", guest_os),
	S("annotation", annotation),	S("uuid.bios", uuid_bios),
	S("uuid.location", uuid_location), S("vc.uuid", vc_uuid),
	S("nvram", nvram),		S("checkpoint.vmState", suspend),
	S("extendedConfigFile", vmxf),	S("sound.virtualDev", sound_model),
};
#undef S

static int grow(void **arr, size_t n, size_t elem, struct vimg_error *err)
{
	return vm_grow(arr, n, elem, "vmx", err);
}

static int add_controller(struct vimg_vm *vm, enum vimg_controller_type type, unsigned bus,
			  struct vimg_error *err)
{
	char id[16];
	int rc;

	for (size_t i = 0; i < vm->n_ctrls; i++)
		if (vm->ctrls[i].type == type && vm->ctrls[i].bus == bus)
			return 0;
	rc = grow((void **)&vm->ctrls, vm->n_ctrls, sizeof(*vm->ctrls), err);
	if (rc)
		return rc;
	snprintf(id, sizeof(id), "%s%u", bus_names[type], bus);
	vm->ctrls[vm->n_ctrls] = (struct vimg_vm_controller){ .type = type, .bus = bus,
							       .id = strdup(id) };
	if (!vm->ctrls[vm->n_ctrls].id)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	vm->n_ctrls++;
	return 0;
}

/* Controllers and device nodes that are present, in the order they appear. */
static int collect_present(struct vimg_vm *vm, const struct kvtext *kv, struct vimg_error *err)
{
	enum vimg_controller_type type;
	unsigned bus, unit, idx;
	const char *attr;
	size_t nl;
	int rc = 0;

	/* IDE controllers exist unless switched off. */
	for (unsigned b = 0; b < 2 && !rc; b++) {
		char k[16];

		snprintf(k, sizeof(k), "ide%u.present", b);
		if (!kv_get(kv, k) || vmx_bool(kv_get(kv, k)))
			rc = add_controller(vm, VIMG_CTRL_IDE, b, err);
	}
	for (size_t i = 0; i < kv_lines(kv) && !rc; i++) {
		const char *k = kv_line_key(kv, i);

		if (kv_line_kind(kv, i) != KV_LINE_PAIR || kv_find(kv, k) != (long)i)
			continue;
		if (parse_node(k, &type, &bus, &unit, &nl, &attr)) {
			if (strcasecmp(attr, "present") || !vmx_bool(kv_line_value(kv, i)))
				continue;
			rc = add_controller(vm, type, bus, err);
			if (rc)
				break;
			rc = grow((void **)&vm->disks, vm->n_disks, sizeof(*vm->disks), err);
			if (rc)
				break;
			vm->disks[vm->n_disks].unit = unit;
			vm->disks[vm->n_disks].node = strndup(k, nl);
			vm->disks[vm->n_disks].controller = strndup(k, strcspn(k, ":"));
			vm->disks[vm->n_disks].kind = VIMG_DEV_DISK;
			vm->disks[vm->n_disks].start_connected = true;
			if (!vm->disks[vm->n_disks].node || !vm->disks[vm->n_disks].controller)
				return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
			vm->n_disks++;
		} else if (parse_controller(k, &type, &bus) &&
			   !strcasecmp(k + parse_controller(k, &type, &bus), ".present") &&
			   type != VIMG_CTRL_IDE && vmx_bool(kv_line_value(kv, i))) {
			rc = add_controller(vm, type, bus, err);
		} else if (parse_indexed(k, "ethernet", &idx, &attr) &&
			   !strcasecmp(attr, "present") && vmx_bool(kv_line_value(kv, i))) {
			rc = grow((void **)&vm->nics, vm->n_nics, sizeof(*vm->nics), err);
			if (!rc)
				vm->nics[vm->n_nics++] = (struct vimg_vm_nic){
					.index = idx, .start_connected = true
				};
		} else if (parse_indexed(k, "floppy", &idx, &attr) &&
			   !strcasecmp(attr, "present") && vmx_bool(kv_line_value(kv, i))) {
			char id[16];

			rc = grow((void **)&vm->disks, vm->n_disks, sizeof(*vm->disks), err);
			if (rc)
				break;
			snprintf(id, sizeof(id), "floppy%u", idx);
			vm->disks[vm->n_disks] = (struct vimg_vm_disk){
				.node = strdup(id), .unit = idx, .kind = VIMG_DEV_FLOPPY,
				.start_connected = true,
			};
			if (!vm->disks[vm->n_disks++].node)
				return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
		} else if ((parse_indexed(k, "serial", &idx, &attr) ||
			    parse_indexed(k, "parallel", &idx, &attr)) &&
			   !strcasecmp(attr, "present") && vmx_bool(kv_line_value(kv, i))) {
			rc = grow((void **)&vm->ports, vm->n_ports, sizeof(*vm->ports), err);
			if (!rc)
				vm->ports[vm->n_ports++] = (struct vimg_vm_port){
					.kind = tolower((unsigned char)k[0]) == 's'
							? VIMG_PORT_SERIAL
							: VIMG_PORT_PARALLEL,
					.index = idx, .start_connected = true,
				};
		}
	}
	return rc;
}

static struct vimg_vm_disk *disk_by_node(struct vimg_vm *vm, const char *k, size_t nl)
{
	for (size_t i = 0; i < vm->n_disks; i++)
		if (strlen(vm->disks[i].node) == nl && !strncasecmp(vm->disks[i].node, k, nl))
			return &vm->disks[i];
	return NULL;
}

static bool set_owned(const char **field, const char *v, bool *oom)
{
	char *c = strdup(v);

	if (!c) {
		*oom = true;
		return true;
	}
	free((char *)*field);
	*field = c;
	return true;
}

/* Typed attribute of a present disk, CD-ROM or floppy; false if not typed. */
static bool disk_attr(struct vimg_vm_disk *d, const char *attr, const char *v, bool *oom)
{
	if (!strcasecmp(attr, "fileName"))
		return set_owned(&d->file, v, oom);
	if (!strcasecmp(attr, "deviceType") || (d->kind == VIMG_DEV_FLOPPY &&
						 !strcasecmp(attr, "fileType")))
		return set_owned(&d->device_type, v, oom);
	if (!strcasecmp(attr, "mode"))
		return set_owned(&d->mode, v, oom);
	if (!strcasecmp(attr, "startConnected")) {
		d->start_connected = vmx_bool(v);
		return true;
	}
	return !strcasecmp(attr, "present");
}

static struct vimg_vm_nic *nic_by_index(struct vimg_vm *vm, unsigned idx)
{
	for (size_t i = 0; i < vm->n_nics; i++)
		if (vm->nics[i].index == idx)
			return &vm->nics[i];
	return NULL;
}

static bool nic_attr(struct vimg_vm_nic *n, const char *attr, const char *v, bool *oom)
{
	if (!strcasecmp(attr, "virtualDev"))
		return set_owned(&n->model, v, oom);
	if (!strcasecmp(attr, "addressType")) {
		n->mac_type = !strcasecmp(v, "static") ? VIMG_MAC_STATIC
			      : !strcasecmp(v, "vpx")  ? VIMG_MAC_VPX
						       : VIMG_MAC_GENERATED;
		return true;
	}
	if (!strcasecmp(attr, "generatedAddress") || !strcasecmp(attr, "address")) {
		/* Which one counts depends on addressType: settled in finish_nics. */
		return false;
	}
	if (!strcasecmp(attr, "connectionType"))
		return set_owned(&n->connection, v, oom);
	if (!strcasecmp(attr, "networkName") || !strcasecmp(attr, "vnet"))
		return set_owned(&n->network, v, oom);
	if (!strcasecmp(attr, "startConnected")) {
		n->start_connected = vmx_bool(v);
		return true;
	}
	return !strcasecmp(attr, "present");
}

static struct vimg_vm_port *port_by(struct vimg_vm *vm, enum vimg_port_kind kind, unsigned idx)
{
	for (size_t i = 0; i < vm->n_ports; i++)
		if (vm->ports[i].kind == kind && vm->ports[i].index == idx)
			return &vm->ports[i];
	return NULL;
}

static bool port_attr(struct vimg_vm_port *p, const char *attr, const char *v, bool *oom)
{
	if (!strcasecmp(attr, "fileType"))
		return set_owned(&p->type, v, oom);
	if (!strcasecmp(attr, "fileName"))
		return set_owned(&p->target, v, oom);
	if (!strcasecmp(attr, "startConnected")) {
		p->start_connected = vmx_bool(v);
		return true;
	}
	return !strcasecmp(attr, "present");
}

/* Numeric and boolean top-level keys; true if k is one of them. */
static int scalar_number(struct vimg_vm *vm, const char *k, const char *v, bool *typed,
			 struct vimg_error *err)
{
	uint64_t n;
	int rc = 0;

	*typed = true;
	if (!strcasecmp(k, "numvcpus") && !(rc = vmx_uint(k, v, 4096, &n, err)))
		vm->cpus = (unsigned)n;
	else if (!strcasecmp(k, "cpuid.coresPerSocket") && !(rc = vmx_uint(k, v, 4096, &n, err)))
		vm->cores_per_socket = (unsigned)n;
	else if (!strcasecmp(k, "memsize") && !(rc = vmx_uint(k, v, 1u << 30, &n, err)))
		vm->memory_mb = n;
	else if (!strcasecmp(k, "virtualHW.version") && !(rc = vmx_uint(k, v, 1000, &n, err)))
		vm->hw_version = (unsigned)n;
	else if (!strcasecmp(k, "svga.vramSize") && !(rc = vmx_uint(k, v, UINT32_MAX, &n, err)))
		vm->vram = n;
	else if (!strcasecmp(k, "firmware"))
		vm->firmware = !strcasecmp(v, "efi") ? VIMG_FIRMWARE_EFI : VIMG_FIRMWARE_BIOS;
	else if (!strcasecmp(k, "uefi.secureBoot.enabled"))
		vm->secure_boot = vmx_bool(v);
	else if (!strcasecmp(k, "usb.present"))
		vm->usb = vmx_bool(v);
	else if (!strcasecmp(k, "ehci.present"))
		vm->usb_ehci = vmx_bool(v);
	else if (!strcasecmp(k, "usb_xhci.present"))
		vm->usb_xhci = vmx_bool(v);
	else if (!strcasecmp(k, "sound.present"))
		vm->sound = vmx_bool(v);
	else if (!strcasecmp(k, "svga.present"))
		vm->video = vmx_bool(v);
	else
		*typed = false;
	return rc;
}

/* Whether key k (line i, the effective one) lands in a typed field. */
static int type_key(struct vimg_vm *vm, const char *k, const char *v, bool *typed,
		    struct vimg_error *err)
{
	enum vimg_controller_type type;
	unsigned bus, unit, idx;
	const char *attr;
	size_t nl;
	bool oom = false;
	struct vimg_vm_disk *d;
	struct vimg_vm_nic *nic;
	struct vimg_vm_port *p;
	int rc;

	for (size_t s = 0; s < sizeof(scalars) / sizeof(scalars[0]); s++)
		if (!strcasecmp(k, scalars[s].key)) {
			*typed = true;
			return vm_set_str((char **)((char *)vm + scalars[s].off), v, err);
		}
	rc = scalar_number(vm, k, v, typed, err);
	if (rc || *typed)
		return rc;
	if (parse_node(k, &type, &bus, &unit, &nl, &attr) && (d = disk_by_node(vm, k, nl)))
		*typed = disk_attr(d, attr, v, &oom);
	else if (parse_indexed(k, "floppy", &idx, &attr) && (d = disk_by_node(vm, k, strlen(k) -
								   strlen(attr) - 1)))
		*typed = disk_attr(d, attr, v, &oom);
	else if (parse_indexed(k, "ethernet", &idx, &attr) && (nic = nic_by_index(vm, idx)))
		*typed = nic_attr(nic, attr, v, &oom);
	else if (parse_indexed(k, "serial", &idx, &attr) &&
		 (p = port_by(vm, VIMG_PORT_SERIAL, idx)))
		*typed = port_attr(p, attr, v, &oom);
	else if (parse_indexed(k, "parallel", &idx, &attr) &&
		 (p = port_by(vm, VIMG_PORT_PARALLEL, idx)))
		*typed = port_attr(p, attr, v, &oom);
	else if (parse_controller(k, &type, &bus) && type == VIMG_CTRL_SCSI &&
		 !strcasecmp(k + parse_controller(k, &type, &bus), ".virtualDev")) {
		for (size_t i = 0; i < vm->n_ctrls; i++)
			if (vm->ctrls[i].type == type && vm->ctrls[i].bus == bus)
				*typed = set_owned(&vm->ctrls[i].model, v, &oom);
	} else if (parse_controller(k, &type, &bus) &&
		   !strcasecmp(k + parse_controller(k, &type, &bus), ".present")) {
		for (size_t i = 0; i < vm->n_ctrls; i++)
			if (vm->ctrls[i].type == type && vm->ctrls[i].bus == bus)
				*typed = true;
	}
	return oom ? vimg_error_set(err, VIMG_ENOMEM, "out of memory") : 0;
}

/* Settle what depends on several keys: MACs by address type, CD-ROMs. */
static int finish_devices(struct vimg_vm *vm, const struct kvtext *kv, struct vimg_error *err)
{
	for (size_t i = 0; i < vm->n_nics; i++) {
		struct vimg_vm_nic *n = &vm->nics[i];
		char k[48];
		const char *mac;

		if (!n->mac_type) {
			snprintf(k, sizeof(k), "ethernet%u.address", n->index);
			n->mac_type = kv_get(kv, k) ? VIMG_MAC_STATIC : VIMG_MAC_GENERATED;
		}
		snprintf(k, sizeof(k), "ethernet%u.%s", n->index,
			 n->mac_type == VIMG_MAC_STATIC ? "address" : "generatedAddress");
		mac = kv_get(kv, k);
		if (mac && !(n->mac = strdup(mac)))
			return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < vm->n_disks; i++) {
		struct vimg_vm_disk *d = &vm->disks[i];
		size_t l = d->file ? strlen(d->file) : 0;

		if (d->kind == VIMG_DEV_FLOPPY)
			continue;
		if ((d->device_type && strcasestr(d->device_type, "cdrom")) ||
		    (l > 4 && !strcasecmp(d->file + l - 4, ".iso")))
			d->kind = VIMG_DEV_CDROM;
	}
	vm->disk_dirty = calloc(vm->n_disks + 1, sizeof(bool));
	vm->nic_dirty = calloc(vm->n_nics + 1, sizeof(bool));
	if (!vm->disk_dirty || !vm->nic_dirty)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	return 0;
}

/* Keys a device's MAC lives in are typed once settled; keep the rest extra. */
static bool is_mac_key(struct vimg_vm *vm, const char *k)
{
	unsigned idx;
	const char *attr;
	struct vimg_vm_nic *n;

	if (!parse_indexed(k, "ethernet", &idx, &attr) || !(n = nic_by_index(vm, idx)))
		return false;
	return !strcasecmp(attr, n->mac_type == VIMG_MAC_STATIC ? "address" : "generatedAddress");
}

static int vmx_load(struct vimg_vm *vm, const char *path, struct vimg_error *err)
{
	struct kvtext *kv;
	struct stat st;
	int rc;

	rc = vm_read_dictionary(path, "vmx", &kv, err);
	if (rc)
		return rc;
	vm->vmx_doc = kv;
	vm->video = true;
	rc = collect_present(vm, kv, err);
	for (size_t i = 0; !rc && i < kv_lines(kv); i++) {
		const char *k = kv_line_key(kv, i), *v = kv_line_value(kv, i);
		bool typed = false;

		if (kv_line_kind(kv, i) != KV_LINE_PAIR)
			continue;
		rc = type_key(vm, k, v, &typed, err);
		if (!rc && !typed)
			rc = vm_add_extra(&vm->extra, &vm->n_extra, k, v, err);
	}
	if (!rc)
		rc = finish_devices(vm, kv, err);
	/* MAC keys were kept as extra until the address type was known. */
	for (size_t i = 0; !rc && i < vm->n_extra;) {
		if (is_mac_key(vm, vm->extra[i].key)) {
			free(vm->extra[i].key);
			free(vm->extra[i].value);
			memmove(vm->extra + i, vm->extra + i + 1,
				(--vm->n_extra - i) * sizeof(*vm->extra));
		} else {
			i++;
		}
	}
	if (rc)
		return vimg_error_prefix(err, "%s", path);
	/* The snapshot tree and the extra configuration live beside the .vmx. */
	if (asprintf(&vm->vmsd_path, "%s/%s.vmsd", vm->dir, vm->base) < 0) {
		vm->vmsd_path = NULL;
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	}
	if (stat(vm->vmsd_path, &st) == 0 &&
	    (rc = vimg_codec_vmsd.load(vm, vm->vmsd_path, err)))
		return rc;
	if (vm->vmxf) {
		char *p;

		if (vm_resolve(vm, vm->vmxf, &p, NULL) == 0) {
			if (stat(p, &st) == 0)
				rc = vimg_codec_vmxf.load(vm, p, err);
			free(p);
		}
	}
	return rc;
}

/* ---- saving -------------------------------------------------------------------- */

static int set_or_unset(struct kvtext *kv, const char *key, const char *v,
			struct vimg_error *err)
{
	if (!v) {
		kv_unset(kv, key);
		return 0;
	}
	return kv_set(kv, key, v, err);
}

static int apply_dirty(struct vimg_vm *vm, struct kvtext *kv, struct vimg_error *err)
{
	static const struct {
		unsigned bit;
		const char *key;
		size_t off;
	} fields[] = {
		{ VM_DIRTY_NAME, "displayName", offsetof(struct vimg_vm, name) },
		{ VM_DIRTY_UUID_BIOS, "uuid.bios", offsetof(struct vimg_vm, uuid_bios) },
		{ VM_DIRTY_UUID_LOCATION, "uuid.location", offsetof(struct vimg_vm, uuid_location) },
		{ VM_DIRTY_VC_UUID, "vc.uuid", offsetof(struct vimg_vm, vc_uuid) },
		{ VM_DIRTY_NVRAM, "nvram", offsetof(struct vimg_vm, nvram) },
		{ VM_DIRTY_VMXF, "extendedConfigFile", offsetof(struct vimg_vm, vmxf) },
		{ VM_DIRTY_SUSPEND, "checkpoint.vmState", offsetof(struct vimg_vm, suspend) },
	};
	char key[64];
	int rc = 0;

	for (size_t i = 0; !rc && i < sizeof(fields) / sizeof(fields[0]); i++)
		if (vm->dirty & fields[i].bit)
			rc = set_or_unset(kv, fields[i].key,
					  *(char **)((char *)vm + fields[i].off), err);
	for (size_t i = 0; !rc && i < vm->n_disks; i++)
		if (vm->disk_dirty[i]) {
			snprintf(key, sizeof(key), "%s.fileName", vm->disks[i].node);
			rc = set_or_unset(kv, key, vm->disks[i].file, err);
		}
	for (size_t i = 0; !rc && i < vm->n_nics; i++)
		if (vm->nic_dirty[i]) {
			snprintf(key, sizeof(key), "ethernet%u.%s", vm->nics[i].index,
				 vm->nics[i].mac_type == VIMG_MAC_STATIC ? "address"
									 : "generatedAddress");
			rc = set_or_unset(kv, key, vm->nics[i].mac, err);
		}
	return rc;
}

/* Host-local state that a copy elsewhere must not carry (VMware rebuilds it). */
static const char *const host_keys[] = {
	"sched.swap.derivedName", "migrate.hostLog", "migrate.hostLogState",
	"migrate.migrationId", "vmci0.id", "checkpoint.vmState.readOnly", NULL,
};

static int vmx_save(struct vimg_vm *vm, const char *path, struct vimg_warnings **w,
		    struct vimg_error *err)
{
	char *text;
	size_t len;
	int rc;

	if (!vm->vmx_doc) {
		/* A VM from elsewhere: a document of its own (vmx-write.c). */
		if (!(vm->vmx_doc = calloc(1, sizeof(*vm->vmx_doc))))
			return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
		rc = vmx_render_new(vm, vm->vmx_doc, w, err);
	} else {
		rc = apply_dirty(vm, vm->vmx_doc, err);
	}
	/* Keys that describe where the VM ran do not move with it. */
	for (size_t i = 0; !rc && host_keys[i] && strcmp(path, vm->origin); i++)
		kv_unset(vm->vmx_doc, host_keys[i]);
	if (!rc)
		rc = kv_render(vm->vmx_doc, &text, &len, err);
	if (rc)
		return rc;
	/* The .vmx first: if the tree is not written after it, the disks it
	 * points at still form whole chains. */
	rc = file_replace(path, text, len, err);
	free(text);
	if (!rc && (vm->dirty & VM_DIRTY_SNAPSHOTS))
		rc = vimg_codec_vmsd.save(vm, vm->vmsd_path, w, err);
	if (!rc && (vm->dirty & VM_DIRTY_VMXF) && vm->vmxf && vm->vmxf_text) {
		char *p;

		rc = vm_resolve(vm, vm->vmxf, &p, err);
		if (!rc) {
			rc = vimg_codec_vmxf.save(vm, p, w, err);
			free(p);
		}
	}
	if (!rc) {
		memset(vm->disk_dirty, 0, vm->n_disks * sizeof(bool));
		memset(vm->nic_dirty, 0, vm->n_nics * sizeof(bool));
	}
	return rc;
}

/* ---- probe ----------------------------------------------------------------------- */

static int vmx_probe(const struct vimg_probe *p)
{
	static const char *const marks[] = { "config.version", "virtualHW.version",
					     "displayName", "guestOS", NULL };
	size_t l = p->name ? strlen(p->name) : 0;
	int score = 0;

	if (l > 4 && (!strcasecmp(p->name + l - 4, ".vmx") || !strcasecmp(p->name + l - 5, ".vmtx")))
		score = 60;
	for (size_t i = 0; marks[i] && p->head_len; i++)
		if (memmem(p->head, p->head_len, marks[i], strlen(marks[i])))
			score += 10;
	return score > 100 ? 100 : score;
}

/*
 * Keys VMware products write ('#' stands for any number), for telling a
 * mistyped key from an unknown one: the typed ones and those seen in real
 * configurations of ESX 3 to ESXi 8, Workstation, Fusion and GSX.
 */
static const char *const vmx_known_keys[] = {
	"pciBridge#.present", "pciBridge#.pciSlotNumber", "pciBridge#.virtualDev",
	"pciBridge#.functions", "scsi#:#.present", "scsi#:#.fileName", "scsi#:#.deviceType",
	"scsi#:#.redo", "scsi#:#.mode", "scsi#:#.startConnected", "ethernet#.present",
	"ethernet#.addressType", "ethernet#.networkName", "ethernet#.generatedAddress",
	"ethernet#.virtualDev", "guestOS", "ethernet#.pciSlotNumber", "displayName",
	"config.version", "virtualHW.version", "scsi#.virtualDev", "scsi#.present", "uuid.bios",
	".encoding", "nvram", "uuid.location", "vmci#.present", "ide#:#.present",
	"tools.syncTime", "sched.swap.derivedName", "ide#:#.deviceType", "hpet#.present",
	"floppy#.present", "vmci#.id", "sched.cpu.units", "sched.cpu.min",
	"vmotion.checkpointFBSize", "vc.uuid", "toolScripts.beforeSuspend",
	"toolScripts.beforePowerOff", "toolScripts.afterResume", "toolScripts.afterPowerOn",
	"scsi#.pciSlotNumber", "cleanShutdown", "userCPUID.#", "tools.upgrade.policy",
	"sched.mem.shares", "sched.cpu.shares", "powerType.suspend", "ide#:#.fileName",
	"hostCPUID.#", "guestCPUID.#", "vmci#.pciSlotNumber", "softPowerOff", "powerType.reset",
	"powerType.powerOff", "ethernet#.uptCompatibility", "tools.remindInstall",
	"svga.vramSize", "svga.present", "scsi#.sasWWID", "memsize", "floppy#.startConnected",
	"floppy#.fileName", "floppy#.fileType", "virtualHW.productCompatibility",
	"sched.scsi#:#.throughputCap", "sched.scsi#:#.shares", "sched.mem.minSize",
	"sched.mem.min", "extendedConfigFile", "ethernet#.generatedAddressOffset", "numvcpus",
	"ide#:#.startConnected", "ide#:#.mode", "vmotion.checkpointSVGAPrimarySize",
	"monitor.phys_bits_used", "floppy#.clientDevice", "sata#:#.present", "sata#:#.fileName",
	"sata#:#.mode", "numa.autosize.cookie", "migrate.hostLog", "vm.createDate",
	"replay.supported", "replay.filename", "numa.autosize.vcpu.maxPerVirtualNode",
	"ide#:#.clientDevice", "svga.guestBackedPrimaryAware", "sched.cpu.latencySensitivity",
	"sata#:#.deviceType", "sata#.present", "sata#.pciSlotNumber", "powerType.powerOn",
	"migrate.encryptionMode", "vmotion.svga.mobMaxSize", "vmotion.svga.graphicsMemoryKB",
	"sched.cpu.affinity", "ethernet#.connectionType", "tools.guest.desktop.autolock",
	"scsi#.sharedBus", "sata#:#.startConnected", "viv.moid", "evcCompatibilityMode",
	"usb.present", "toolsInstallManager.updateCounter", "sound.present", "sound.virtualDev",
	"sound.fileName", "serial#.present", "ftcpt.ftEncryptionMode", "firmware",
	"ethernet#.address", "disk.EnableUUID", "chipset.onlineStandby",
	"RemoteDisplay.maxConnections", "vmxstats.filename", "vm.genid",
	"toolsInstallManager.lastInstallError", "sound.startConnected",
	"sched.nvme#:#.throughputCap", "sched.nvme#:#.shares", "sata#:#.clientDevice",
	"nvme#:#.redo", "nvme#:#.present", "nvme#:#.fileName", "nvme#:#.mode", "guestOSAltName",
	"guestOS.detailed.data", "guestInfo.detailed.data", "deploymentPlatform",
	"cpuid.coresPerSocket", "annotation", "MemAllowAutoScaleDown", "vm.genidX", "uuid.action",
	"usb_xhci:#.present", "usb_xhci:#.port", "usb_xhci:#.parent", "usb_xhci:#.deviceType",
	"usb_xhci.pciSlotNumber", "usb_xhci.present", "usb.vbluetooth.startConnected",
	"uefi.secureBoot.enabled", "sound.autodetect", "snapshot.action",
	"serial#.yieldOnMsrRead", "serial#.fileType", "serial#.fileName",
	"serial#.startConnected", "parallel#.present", "parallel#.fileType", "parallel#.fileName",
	"parallel#.startConnected", "sched.mem.minsize", "sched.cpu.max", "nvme#.present",
	"nvme#.pciSlotNumber", "ethernet#.wakeOnPcktRcv", "ethernet#.vnet", "ethernet#.pvnID",
	"ethernet#.allowGuestConnectionControl", "ethernet#.startConnected", "ehci.present",
	"cpuid.coresPerSocket.cookie", "chipset.motherboardLayout", "checkpoint.vmState",
	"ide#.present", NULL,
};

static const char *const vmx_ext[] = { "vmx", "vmtx", NULL };

const struct vimg_codec vimg_codec_vmx = {
	.name = "vmx",
	.description = "VMware VM configuration (.vmx)",
	.extensions = vmx_ext,
	.known_keys = vmx_known_keys,
	.probe = vmx_probe,
	.load = vmx_load,
	.save = vmx_save,
};
