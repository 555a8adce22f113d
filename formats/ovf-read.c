/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * OVF 1.0 and 2.0 descriptors read into the VM model, from a .ovf beside
 * its files or from inside an OVA (whose disks are then read in place).
 * Elements are matched by local name, so the prefixes writers choose do not
 * matter; OVF 2.0's StorageItem and EthernetPortItem are Items too. The
 * first VirtualSystem is the VM. What the model has no field for is kept as
 * an "ovf.*" note (vmw:ExtraConfig keys as the .vmx keys they are), so a
 * conversion names it.
 *
 * An archive is refused when a member is unsafe (tar.c), when a member is
 * neither the descriptor, its manifest, its certificate nor a file the
 * References list, or when a member's size is not the one listed.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>

#include "vmmap.h"
#include "xmlvm.h"

#define DESCRIPTOR_MAX_BYTES (32u << 20)
#define MAX_FILES 1024

struct ovf_ref {
	char *id, *href, *compression;
	uint64_t size;
	bool has_size;
};

struct ovf_disk {
	char *id, *file_ref;
};

struct ovf_ctx {
	struct vimg_vm *vm;
	const char *path;
	struct ovf_ref *refs;
	size_t n_refs;
	struct ovf_disk *disks;
	size_t n_disks;
	/* Controllers by InstanceID, to hang disks on. */
	struct {
		char *instance;
		size_t ctrl;
	} *ids;
	size_t n_ids;
	uint32_t buses[8];	/* bus numbers taken, per controller type */
	struct vimg_error *err;
};

static int note(struct ovf_ctx *c, const char *key, const char *value)
{
	return vm_add_extra(&c->vm->extra, &c->vm->n_extra, key, value ? value : "", c->err);
}

static int bad(struct ovf_ctx *c, const xmlNode *n, const char *what)
{
	return vimg_error_set(c->err, VIMG_ECORRUPT, "ovf: %s: %s (line %ld)", c->path, what,
			      n ? (long)xmlGetLineNo(n) : 0L);
}

/* "byte * 2^20", "MegaBytes", "KiloBytes"...: bytes per unit, 0 if unknown. */
static uint64_t units_bytes(const char *u)
{
	static const struct {
		const char *name;
		uint64_t bytes;
	} named_units[] = {
		{ "byte", 1 },		   { "bytes", 1 },	     { "KiloBytes", 1ull << 10 },
		{ "MegaBytes", 1ull << 20 }, { "GigaBytes", 1ull << 30 }, { "TeraBytes", 1ull << 40 },
	};
	unsigned base, exp;
	char tail;

	if (!u || !*u)
		return 1;
	for (size_t i = 0; i < sizeof(named_units) / sizeof(named_units[0]); i++)
		if (!strcasecmp(u, named_units[i].name))
			return named_units[i].bytes;
	if (sscanf(u, "byte * %u^%u%c", &base, &exp, &tail) == 2 &&
	    ((base == 2 && exp <= 50) || (base == 10 && exp <= 15))) {
		uint64_t v = 1;

		while (exp--)
			v *= base;
		return v;
	}
	return 0;
}

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (!s || *s == '-' || !*s)
		return false;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return !errno && !*end;
}

static bool href_leaves(const char *href)
{
	if (*href == '/' || *href == '\\')
		return true;
	for (const char *p = href; *p; p += strcspn(p, "/\\"), p += !!*p)
		if (p[0] == '.' && p[1] == '.' && (!p[2] || p[2] == '/' || p[2] == '\\'))
			return true;
	return false;
}

static int read_references(struct ovf_ctx *c, const xmlNode *refs)
{
	for (const xmlNode *f = refs ? refs->children : NULL; f; f = f->next) {
		struct ovf_ref *r;
		char *size;

		if (!xmlvm_named(f, "File"))
			continue;
		if (c->n_refs >= MAX_FILES)
			return bad(c, f, "more than 1024 files");
		r = realloc(c->refs, (c->n_refs + 1) * sizeof(*r));
		if (!r)
			return vimg_error_set(c->err, VIMG_ENOMEM, "out of memory");
		c->refs = r;
		r = &c->refs[c->n_refs++];
		*r = (struct ovf_ref){ .id = xmlvm_attr(f, "id"), .href = xmlvm_attr(f, "href"),
				       .compression = xmlvm_attr(f, "compression") };
		size = xmlvm_attr(f, "size");
		r->has_size = size && parse_u64(size, &r->size);
		xmlFree(size);
		if (!r->id || !r->href || !*r->href)
			return bad(c, f, "a File without ovf:id or ovf:href");
		if (strstr(r->href, "://"))
			return bad(c, f, "a File with a URL for ovf:href (only files of the "
				       "package are read)");
		/* DSP0243 5.1: an href is relative to the descriptor, inside the
		 * package (subfolders are, as virt-v2v's test-i-ova-subfolders
		 * shows); "/..." and ".." leave it. */
		if (href_leaves(r->href))
			return bad(c, f, "a File whose ovf:href leaves the package");
	}
	return 0;
}

static const struct ovf_ref *ref_by_id(const struct ovf_ctx *c, const char *id)
{
	for (size_t i = 0; id && i < c->n_refs; i++)
		if (!strcmp(c->refs[i].id, id))
			return &c->refs[i];
	return NULL;
}

static int read_disk_section(struct ovf_ctx *c, const xmlNode *sec)
{
	for (const xmlNode *d = sec ? sec->children : NULL; d; d = d->next) {
		struct ovf_disk *nd;
		char *parent;

		if (!xmlvm_named(d, "Disk"))
			continue;
		if (c->n_disks >= MAX_FILES)
			return bad(c, d, "more than 1024 disks");
		nd = realloc(c->disks, (c->n_disks + 1) * sizeof(*nd));
		if (!nd)
			return vimg_error_set(c->err, VIMG_ENOMEM, "out of memory");
		c->disks = nd;
		nd = &c->disks[c->n_disks++];
		*nd = (struct ovf_disk){ .id = xmlvm_attr(d, "diskId"), .file_ref = xmlvm_attr(d, "fileRef") };
		if (!nd->id)
			return bad(c, d, "a Disk without ovf:diskId");
		if ((parent = xmlvm_attr(d, "parentRef"))) {
			int rc = note(c, "ovf.disk.parentRef", nd->id);

			xmlFree(parent);
			if (rc)
				return rc;
		}
	}
	return 0;
}

/* The file a disk Item's HostResource names: "ovf:/disk/ID" or "ovf:/file/ID";
 * *blank when it names a Disk without a file (one the importer creates). */
static const struct ovf_ref *host_resource(struct ovf_ctx *c, const char *hr, bool *blank)
{
	*blank = false;
	if (!hr)
		return NULL;
	if (!strncmp(hr, "ovf:/file/", 10))
		return ref_by_id(c, hr + 10);
	if (!strncmp(hr, "ovf:/disk/", 10) || !strncmp(hr, "/disk/", 6)) {
		const char *id = strrchr(hr, '/') + 1;

		for (size_t i = 0; i < c->n_disks; i++)
			if (!strcmp(c->disks[i].id, id)) {
				*blank = !c->disks[i].file_ref || !*c->disks[i].file_ref;
				return ref_by_id(c, c->disks[i].file_ref);
			}
	}
	return NULL;
}

/* The rasd:/epasd:/sasd: field called name of an Item. */
static char *field(const xmlNode *item, const char *name)
{
	return xmlvm_text(xmlvm_child(item, name));
}

static int add_controller(struct ovf_ctx *c, const xmlNode *item, unsigned type,
			  const char *subtype)
{
	const struct vmmap_controller *m = vmmap_controller_by_ovf(type, subtype);
	static const char *const names[] = { "", "ide", "scsi", "sata", "nvme", "virtio" };
	char *instance = field(item, "InstanceID"), *addr, id[16];
	struct vimg_vm *vm = c->vm;
	unsigned bus = 0;
	uint64_t a;
	void *ni;
	int rc;

	if (!m || m->type <= 0 || m->type >= 6) {
		xmlFree(instance);
		return bad(c, item, "an unknown controller type");
	}
	/* rasd:Address is the bus number (ovftool writes "IDE 1", Address 1,
	 * before "IDE 0", Address 0: xp-multinic.ovf); without one, or when it
	 * is taken, the lowest free bus. */
	addr = field(item, "Address");
	if (addr && parse_u64(addr, &a) && a < 32 && !(c->buses[m->type] & (1u << a)))
		bus = (unsigned)a;
	else
		while (bus < 32 && (c->buses[m->type] & (1u << bus)))
			bus++;
	xmlFree(addr);
	if (bus >= 32) {
		xmlFree(instance);
		return bad(c, item, "more than 32 controllers of one type");
	}
	c->buses[m->type] |= 1u << bus;
	snprintf(id, sizeof(id), "%s%u", names[m->type], bus);
	if ((rc = vm_grow((void **)&vm->ctrls, vm->n_ctrls, sizeof(*vm->ctrls), "ovf", c->err))) {
		xmlFree(instance);
		return rc;
	}
	vm->ctrls[vm->n_ctrls] = (struct vimg_vm_controller){
		.type = m->type, .bus = bus, .id = strdup(id),
		.model = m->model ? strdup(m->model) : NULL,
	};
	ni = realloc(c->ids, (c->n_ids + 1) * sizeof(*c->ids));
	if (!ni || !vm->ctrls[vm->n_ctrls].id || !instance) {
		free(ni);
		xmlFree(instance);
		vm->n_ctrls++;
		return ni && instance ? vimg_error_set(c->err, VIMG_ENOMEM, "out of memory")
				      : bad(c, item, "a controller without InstanceID");
	}
	c->ids = ni;
	c->ids[c->n_ids].instance = instance;
	c->ids[c->n_ids++].ctrl = vm->n_ctrls++;
	if (subtype && m->type == VIMG_CTRL_SCSI && m->ovf_subtype &&
	    strcasecmp(subtype, m->ovf_subtype) && strcasecmp(subtype, m->model))
		return note(c, "ovf.controller.subtype", subtype);
	return 0;
}

static int add_drive(struct ovf_ctx *c, const xmlNode *item, enum vimg_device_kind kind)
{
	struct vimg_vm *vm = c->vm;
	char *parent = field(item, "Parent"), *addr = field(item, "AddressOnParent");
	char *hr = field(item, "HostResource"), node[48];
	bool blank = false;
	const struct ovf_ref *ref = kind == VIMG_DEV_DISK ? host_resource(c, hr, &blank) : NULL;
	const struct vimg_vm_controller *ctl = NULL;
	uint64_t unit = 0;
	int rc = 0;

	for (size_t i = 0; parent && i < c->n_ids; i++)
		if (!strcmp(c->ids[i].instance, parent))
			ctl = &vm->ctrls[c->ids[i].ctrl];
	/* A disk the importer creates empty has no place in the model. */
	if (kind == VIMG_DEV_DISK && (blank || !hr)) {
		rc = note(c, "ovf.disk.blank", hr ? hr : "a disk without HostResource");
		goto out;
	}
	if (addr && (!parse_u64(addr, &unit) || unit > 255))
		rc = bad(c, item, "AddressOnParent is not a unit number");
	else if (kind == VIMG_DEV_DISK && !ref)
		rc = bad(c, item, "a disk whose HostResource names no file");
	else if (kind != VIMG_DEV_FLOPPY && !ctl)
		rc = bad(c, item, "a drive whose Parent is no controller");
	if (!rc && ref && ref->compression && strcasecmp(ref->compression, "identity"))
		rc = note(c, "ovf.file.compression", ref->href);
	if (!rc)
		rc = vm_grow((void **)&vm->disks, vm->n_disks, sizeof(*vm->disks), "ovf", c->err);
	if (rc)
		goto out;
	if (kind == VIMG_DEV_FLOPPY)
		snprintf(node, sizeof(node), "floppy%u", (unsigned)vm->n_disks);
	else
		snprintf(node, sizeof(node), "%s:%u", ctl->id, (unsigned)unit);
	vm->disks[vm->n_disks] = (struct vimg_vm_disk){
		.kind = kind, .unit = (unsigned)unit, .start_connected = true,
		.node = strdup(node), .controller = ctl ? strdup(ctl->id) : NULL,
		.file = ref ? strdup(ref->href) : NULL,
		.device_type = kind == VIMG_DEV_CDROM ? strdup("cdrom-image") : NULL,
	};
	if (!vm->disks[vm->n_disks].node || (ref && !vm->disks[vm->n_disks].file))
		rc = vimg_error_set(c->err, VIMG_ENOMEM, "out of memory");
	vm->n_disks++;
out:
	xmlFree(parent);
	xmlFree(addr);
	xmlFree(hr);
	return rc;
}

static int add_nic(struct ovf_ctx *c, const xmlNode *item, const char *subtype)
{
	struct vimg_vm *vm = c->vm;
	const struct vmmap_nic *m = vmmap_nic_by_ovf(subtype);
	char *mac = field(item, "Address"), *net = field(item, "Connection");
	char *autoalloc = field(item, "AutomaticAllocation");
	enum vimg_mac_type type = VIMG_MAC_GENERATED;
	int rc;

	for (const xmlNode *k = item->children; k; k = k->next) {
		char *key = xmlvm_named(k, "Config") ? xmlvm_attr(k, "key") : NULL;
		char *value = key ? xmlvm_attr(k, "value") : NULL;

		if (key && value && !strcmp(key, "addressType") && !strcasecmp(value, "Manual"))
			type = VIMG_MAC_STATIC;
		xmlFree(key);
		xmlFree(value);
	}
	/* A MAC without VMware's word for it is one the writer chose to keep. */
	if (mac && !xmlvm_child(item, "Config"))
		type = VIMG_MAC_STATIC;
	rc = vm_grow((void **)&vm->nics, vm->n_nics, sizeof(*vm->nics), "ovf", c->err);
	if (!rc) {
		vm->nics[vm->n_nics] = (struct vimg_vm_nic){
			.index = (unsigned)vm->n_nics, .mac_type = mac ? type : 0,
			.mac = mac && *mac ? strdup(mac) : NULL,
			.model = strdup(m ? m->vmx : "e1000"),
			.network = net && *net ? strdup(net) : NULL,
			.start_connected = !autoalloc || strcasecmp(autoalloc, "false"),
		};
		vm->n_nics++;
		if (!m && subtype)
			rc = note(c, "ovf.nic.subtype", subtype);
	}
	xmlFree(mac);
	xmlFree(net);
	xmlFree(autoalloc);
	return rc;
}

static int read_quantity(struct ovf_ctx *c, const xmlNode *item, unsigned type)
{
	char *q = field(item, "VirtualQuantity"), *u = field(item, "AllocationUnits");
	const xmlNode *cps = xmlvm_child(item, "CoresPerSocket");
	uint64_t v = 0, scale = units_bytes(u);
	int rc = 0;

	if (!parse_u64(q, &v) || !v || v > (1ull << 40))
		rc = bad(c, item, type == 3 ? "a CPU count that is not a number"
					   : "a memory size that is not a number");
	else if (type == 3)
		c->vm->cpus = v > 4096 ? 4096 : (unsigned)v;
	else if (!scale || (type == 4 && v > (1ull << 50) / (u ? scale : 1u << 20)))
		rc = bad(c, item, "memory in unknown AllocationUnits");
	else
		c->vm->memory_mb = v * (u ? scale : 1u << 20) >> 20;
	if (!rc && cps) {
		char *t = xmlvm_text(cps);
		uint64_t n;

		if (parse_u64(t, &n) && n > 0 && n <= 4096)
			c->vm->cores_per_socket = (unsigned)n;
		xmlFree(t);
	}
	xmlFree(q);
	xmlFree(u);
	return rc;
}

static bool is_item(const xmlNode *n)
{
	return xmlvm_named(n, "Item") || xmlvm_named(n, "StorageItem") || xmlvm_named(n, "EthernetPortItem");
}

/* Controllers first, so drives can name them whatever the order. */
static int read_items(struct ovf_ctx *c, const xmlNode *vhs, bool controllers)
{
	int rc = 0;

	for (const xmlNode *it = vhs->children; it && !rc; it = it->next) {
		char *rt, *st;
		uint64_t type = 0;

		if (!is_item(it))
			continue;
		rt = field(it, "ResourceType");
		st = field(it, "ResourceSubType");
		if (!parse_u64(rt, &type))
			rc = bad(c, it, "an Item without a ResourceType");
		else if (controllers && (type == 5 || type == 6 || type == 20))
			rc = add_controller(c, it, (unsigned)type, st);
		else if (controllers)
			;
		else if (type == 3 || type == 4)
			rc = read_quantity(c, it, (unsigned)type);
		else if (type == 17 || type == 31)
			rc = add_drive(c, it, VIMG_DEV_DISK);
		else if (type == 15 || type == 16)
			rc = add_drive(c, it, VIMG_DEV_CDROM);
		else if (type == 14)
			rc = add_drive(c, it, VIMG_DEV_FLOPPY);
		else if (type == 10)
			rc = add_nic(c, it, st);
		else if (type == 23)
			c->vm->usb = true, c->vm->usb_xhci |= st && strstr(st, "xhci"),
			c->vm->usb_ehci |= !st || !strstr(st, "xhci");
		else if (type == 35)
			c->vm->sound = true;
		else if (type == 24)
			c->vm->video = true;
		else if (type != 5 && type != 6 && type != 20 && type != 1) {
			char what[64];

			snprintf(what, sizeof(what), "ResourceType %llu%s%s", (unsigned long long)type,
				 st ? " " : "", st ? st : "");
			rc = note(c, "ovf.item", what);
		}
		xmlFree(rt);
		xmlFree(st);
	}
	return rc;
}

/* vmw:Config (vSphere's settings) and vmw:ExtraConfig (.vmx keys). */
static int read_vmware_config(struct ovf_ctx *c, const xmlNode *vhs)
{
	int rc = 0;

	for (const xmlNode *k = vhs->children; k && !rc; k = k->next) {
		bool extra = xmlvm_named(k, "ExtraConfig");
		char *key, *value;

		if (!extra && !xmlvm_named(k, "Config"))
			continue;
		key = xmlvm_attr(k, "key");
		value = xmlvm_attr(k, "value");
		if (!key || !value)
			rc = bad(c, k, "vmw:Config without vmw:key and vmw:value");
		else if (!strcmp(key, "firmware"))
			c->vm->firmware = !strcasecmp(value, "efi") ? VIMG_FIRMWARE_EFI
								    : VIMG_FIRMWARE_BIOS;
		else if (!strcmp(key, "bootOptions.efiSecureBootEnabled") ||
			 !strcmp(key, "uefi.secureBoot.enabled"))
			c->vm->secure_boot = !strcasecmp(value, "true");
		else if (!strcmp(key, "nvram") && !strncmp(value, "ovf:/file/", 10)) {
			const struct ovf_ref *r = ref_by_id(c, value + 10);

			rc = r ? vm_set_str(&c->vm->nvram, r->href, c->err)
			       : bad(c, k, "nvram names no File");
		} else if (extra) {
			rc = vm_add_extra(&c->vm->extra, &c->vm->n_extra, key, value, c->err);
		} else {
			char *k2;

			if (asprintf(&k2, "ovf.config.%s", key) < 0)
				rc = vimg_error_set(c->err, VIMG_ENOMEM, "out of memory");
			else
				rc = note(c, k2, value), free(k2);
		}
		xmlFree(key);
		xmlFree(value);
	}
	return rc;
}

static int read_system(struct ovf_ctx *c, const xmlNode *vs)
{
	const xmlNode *os = xmlvm_child(vs, "OperatingSystemSection");
	const xmlNode *vhs = xmlvm_child(vs, "VirtualHardwareSection");
	const xmlNode *sys = xmlvm_child(vhs, "System");
	char *name = xmlvm_text(xmlvm_child(vs, "Name")), *id = xmlvm_attr(vs, "id");
	char *ann = xmlvm_text(xmlvm_child(xmlvm_child(vs, "AnnotationSection"), "Annotation"));
	char *os_type = xmlvm_attr(os, "osType"), *os_id = xmlvm_attr(os, "id");
	char *vst = xmlvm_text(xmlvm_child(sys, "VirtualSystemType"));
	const struct vmmap_guest_os *g = vmmap_guest_os_by_vsphere(os_type);
	uint64_t n;
	unsigned hw;
	int rc = vm_set_str(&c->vm->name, name && *name ? name : id, c->err);

	if (!g && parse_u64(os_id, &n) && n < 1000)
		g = vmmap_guest_os_by_ovf((unsigned)n);
	if (!rc && ann && *ann)
		rc = vm_set_str(&c->vm->annotation, ann, c->err);
	if (!rc && g)
		rc = vm_set_str(&c->vm->guest_os, g->vmx, c->err);
	else if (!rc && (os_type || os_id))
		rc = note(c, "ovf.guestOS", os_type ? os_type : os_id);
	/* "vmx-13", or a list of them ("vmx-07 vmx-10"): the first. */
	if (vst && sscanf(vst, "vmx-%u", &hw) == 1 && hw < 100)
		c->vm->hw_version = hw;
	else if (!rc && vst)
		rc = note(c, "ovf.VirtualSystemType", vst);
	if (!rc && !vhs)
		rc = bad(c, vs, "a VirtualSystem without VirtualHardwareSection");
	if (!rc)
		rc = read_items(c, vhs, true);
	if (!rc)
		rc = read_items(c, vhs, false);
	if (!rc)
		rc = read_vmware_config(c, vhs);
	if (!rc && xmlvm_child(vs, "Machine"))
		rc = note(c, "ovf.vbox.Machine", "VirtualBox's own settings inside the OVF");
	xmlFree(name);
	xmlFree(id);
	xmlFree(ann);
	xmlFree(os_type);
	xmlFree(os_id);
	xmlFree(vst);
	return rc;
}

/* The first VirtualSystem, also inside (nested) collections. */
static const xmlNode *first_system(const xmlNode *n, unsigned depth, unsigned *count)
{
	const xmlNode *found = NULL;

	for (const xmlNode *c = n->children; c && depth < 8; c = c->next) {
		if (xmlvm_named(c, "VirtualSystem")) {
			if (!found)
				found = c;
			++*count;
		} else if (xmlvm_named(c, "VirtualSystemCollection")) {
			const xmlNode *f = first_system(c, depth + 1, count);

			if (!found)
				found = f;
		}
	}
	return found;
}

/* Every member of the archive must be the descriptor, its manifest or
 * certificate, or a file References lists with the size it lists. */
static int check_members(struct ovf_ctx *c, const char *ovf_member)
{
	struct vimg_vm *vm = c->vm;

	for (size_t i = 0; i < vm->n_members; i++) {
		const struct tar_member *m = &vm->members[i];
		const char *dot = strrchr(m->name, '.');
		const struct ovf_ref *r = NULL;

		if (!strcmp(m->name, ovf_member) ||
		    (dot && (!strcasecmp(dot, ".mf") || !strcasecmp(dot, ".cert"))))
			continue;
		for (size_t j = 0; j < c->n_refs && !r; j++)
			if (!strcmp(c->refs[j].href, m->name))
				r = &c->refs[j];
		if (!r)
			return vimg_error_set(c->err, VIMG_ECORRUPT, "ova: %s: member \"%s\" is not "
					      "in the descriptor's References", c->path, m->name);
		if (r->has_size && r->size != m->size)
			return vimg_error_set(c->err, VIMG_ECORRUPT, "ova: %s: member \"%s\" has "
					      "%llu bytes, References say %llu", c->path, m->name,
					      (unsigned long long)m->size,
					      (unsigned long long)r->size);
	}
	for (size_t j = 0; j < c->n_refs; j++)
		if (!tar_find(vm->members, vm->n_members, c->refs[j].href))
			return vimg_error_set(c->err, VIMG_ECORRUPT, "ova: %s: \"%s\" is in "
					      "References but not in the archive", c->path,
					      c->refs[j].href);
	return 0;
}

/* The descriptor's bytes: the file, or the first .ovf member of an OVA. */
static int read_descriptor(struct vimg_vm *vm, const char *path, char **buf, size_t *len,
			   const char **member, struct vimg_error *err)
{
	struct vimg_file *f;
	uint8_t magic[8] = { 0 };
	const struct tar_member *m = NULL;
	int rc = file_open(path, 0, &f, err);

	*member = NULL;
	if (rc)
		return rc;
	rc = file_pread_zeroed(f, magic, sizeof(magic), 257, err);
	file_close(f);
	if (rc)
		return rc;
	if (memcmp(magic, "ustar", 5))
		return file_read_all(path, DESCRIPTOR_MAX_BYTES, "ovf", buf, len, err);
	if ((rc = tar_list(path, &vm->members, &vm->n_members, err)))
		return rc;
	if (!(vm->archive = strdup(path)))
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	for (size_t i = 0; i < vm->n_members && !m; i++) {
		const char *dot = strrchr(vm->members[i].name, '.');

		if (dot && !strcasecmp(dot, ".ovf"))
			m = &vm->members[i];
	}
	if (!m)
		return vimg_error_set(err, VIMG_EFORMAT, "ova: %s holds no .ovf descriptor", path);
	for (size_t i = 0; i < vm->n_members; i++) {
		const char *dot = strrchr(vm->members[i].name, '.');

		if (&vm->members[i] != m && dot && !strcasecmp(dot, ".ovf"))
			return vimg_error_set(err, VIMG_EUNSUPPORTED, "ova: %s holds more than one "
					      "descriptor (\"%s\", \"%s\")", path, m->name,
					      vm->members[i].name);
	}
	if (m->size > DESCRIPTOR_MAX_BYTES)
		return vimg_error_set(err, VIMG_ECORRUPT, "ova: descriptor \"%s\" is larger than "
				      "%u bytes", m->name, DESCRIPTOR_MAX_BYTES);
	if (!(*buf = malloc(m->size + 1)))
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	if (!(rc = file_open(path, 0, &f, err))) {
		rc = file_pread_full(f, *buf, m->size, m->offset, err);
		file_close(f);
	}
	(*buf)[m->size] = 0;
	*len = m->size;
	*member = m->name;
	if (rc) {
		free(*buf);
		*buf = NULL;
	}
	return rc;
}

int ovf_load(struct vimg_vm *vm, const char *path, struct vimg_error *err)
{
	struct ovf_ctx c = { .vm = vm, .path = path, .err = err };
	const char *member;
	const xmlNode *env, *vs;
	unsigned systems = 0;
	xmlDoc *doc = NULL;
	char *buf = NULL;
	size_t len = 0;
	int rc = read_descriptor(vm, path, &buf, &len, &member, err);

	if (rc)
		goto out;
	if (len > INT32_MAX) {
		rc = vimg_error_set(err, VIMG_ECORRUPT, "ovf: descriptor too large");
		goto out;
	}
	/* No network, no entity substitution, no DTD loading. */
	doc = xmlReadMemory(buf, (int)len, member ? member : path, NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	env = doc ? xmlDocGetRootElement(doc) : NULL;
	if (!env || !xmlvm_named(env, "Envelope")) {
		rc = vimg_error_set(err, VIMG_EFORMAT, "ovf: %s is not an OVF descriptor%s", path,
				    doc ? "" : " (not well-formed XML)");
		goto out;
	}
	rc = read_references(&c, xmlvm_child(env, "References"));
	if (!rc)
		rc = read_disk_section(&c, xmlvm_child(env, "DiskSection"));
	if (!rc && !(vs = first_system(env, 0, &systems)))
		rc = bad(&c, env, "no VirtualSystem");
	if (!rc && systems > 1) {
		char n[32];

		snprintf(n, sizeof(n), "%u", systems - 1);
		rc = note(&c, "ovf.VirtualSystem.others", n);
	}
	if (!rc)
		rc = read_system(&c, vs);
	if (!rc && vm->archive)
		rc = check_members(&c, member);
	if (!rc)
		rc = vm_loaded(vm, err);
out:
	for (size_t i = 0; i < c.n_refs; i++) {
		xmlFree(c.refs[i].id);
		xmlFree(c.refs[i].href);
		xmlFree(c.refs[i].compression);
	}
	for (size_t i = 0; i < c.n_disks; i++) {
		xmlFree(c.disks[i].id);
		xmlFree(c.disks[i].file_ref);
	}
	for (size_t i = 0; i < c.n_ids; i++)
		xmlFree(c.ids[i].instance);
	free(c.refs);
	free(c.disks);
	free(c.ids);
	xmlFreeDoc(doc);
	free(buf);
	return rc;
}
