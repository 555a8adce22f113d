/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The VMware codecs: every real .vmx (the shared corpus) and .vmsd
 * (fixtures/vmware) loaded and saved unchanged is byte-identical; a changed
 * field changes one line; the model reads what the files say; malformed
 * snapshot trees are refused with a clear error.
 */
#include "config.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testlib.h"
#include "vm.h"

static char *slurp(const char *path, size_t *len)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	char *buf;

	ck_assert_vimg_ok(file_read_all(path, 64u << 20, "test", &buf, len, &err), &err);
	return buf;
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static unsigned lines_differing(const char *a, const char *b)
{
	unsigned n = 0;

	while (*a || *b) {
		size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");

		n += la != lb || memcmp(a, b, la);
		a += la + (a[la] == '\n');
		b += lb + (b[lb] == '\n');
	}
	return n;
}

/* Copy src into the temporary folder as name, load it, save it, compare. */
static void round_trip(const char *src, const char *name)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	const char *copy = test_path(name);
	struct vimg_vm *vm;
	char *orig, *again;
	size_t n1, n2;

	orig = slurp(src, &n1);
	put(copy, orig);
	ck_assert_msg(vimg_vm_open(copy, NULL, 0, &vm, &err) == 0, "%s: %s", src, err.msg);
	/* Saving with nothing changed must write the same bytes. */
	ck_assert_vimg_ok(vimg_vm_save(vm, &err), &err);
	again = slurp(copy, &n2);
	ck_assert_msg(n1 == n2 && !memcmp(orig, again, n1), "%s does not round-trip", src);
	free(again);
	/* One field changed: one line changes (or one is added). */
	ck_assert_vimg_ok(vm_set_str(&vm->name, "renamed by vimg", &err), &err);
	vm->dirty |= VM_DIRTY_NAME;
	ck_assert_vimg_ok(vimg_vm_save(vm, &err), &err);
	again = slurp(copy, &n2);
	ck_assert_msg(lines_differing(orig, again) == 1 ||
			      (!strstr(orig, "displayName") && n2 > n1),
		      "%s: renaming changed %u lines", src, lines_differing(orig, again));
	free(again);
	free(orig);
	vimg_vm_close(vm);
}

START_TEST(corpus_vmx_round_trip)
{
	const char *corpus = getenv("VIMG_CORPUS");
	static const char *const dirs[] = { "libvirt-vmx2xmldata", "virt-v2v", "vm-config",
					    "dissect-hypervisor" };
	unsigned done = 0;
	char dir[1024];

	if (!corpus || access(corpus, R_OK) != 0) {
		fprintf(stderr, "note: no corpus at %s; only inline files\n", corpus ? corpus : "-");
		return;
	}
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		DIR *d;
		struct dirent *e;

		snprintf(dir, sizeof(dir), "%s/vmx/%s", corpus, dirs[i]);
		if (!(d = opendir(dir)))
			continue;
		while ((e = readdir(d))) {
			char path[2048];
			size_t l = strlen(e->d_name);

			if (l < 5 || strcmp(e->d_name + l - 4, ".vmx") || !strncmp(e->d_name, "fail-", 5))
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			round_trip(path, "rt.vmx");
			done++;
		}
		closedir(d);
	}
	ck_assert_uint_gt(done, 30);
}
END_TEST

START_TEST(real_vmsd_round_trip)
{
	static const char *const files[] = { "vmware/xo-example.vmsd", "vmware/kb-vps.vmsd" };
	struct vimg_error err = VIMG_ERROR_INIT;

	for (size_t i = 0; i < 2; i++) {
		char *orig, *again;
		size_t n1, n2;
		struct vimg_vm *vm;

		orig = slurp(test_fixture(files[i]), &n1);
		put(test_path("v.vmsd"), orig);
		put(test_path("v.vmx"), "displayName = \"v\"\n");
		ck_assert_vimg_ok(vimg_vm_open(test_path("v.vmx"), NULL, 0, &vm, &err), &err);
		ck_assert_uint_eq(vimg_vm_snapshot_count(vm), i == 0 ? 4 : 1);
		ck_assert_uint_eq(vimg_vm_snapshot_current(vm), i == 0 ? 4 : 2);
		ck_assert_vimg_ok(vimg_vm_save(vm, &err), &err);
		again = slurp(test_path("v.vmsd"), &n2);
		ck_assert_msg(n1 == n2 && !memcmp(orig, again, n1), "%s changed", files[i]);
		free(again);
		if (i == 0) {
			const struct vimg_vm_snapshot *s = vimg_vm_snapshot_find(vm, "SECOND", &err);

			ck_assert_ptr_nonnull(s);
			ck_assert_uint_eq(s->uid, 2);
			ck_assert_uint_eq(s->parent_uid, 1);
			ck_assert_str_eq(s->description, "small");
			ck_assert_str_eq(s->disks[0].file, "test flo_0-000001.vmdk");
			/* createTimeHigh/Low are the halves of microseconds since 1970. */
			ck_assert_int_eq(s->create_time_us,
					 (int64_t)388801 * 4294967296 + (uint32_t)-814770620);
			/* Rewriting the tree keeps unknown per-snapshot keys and reads
			 * back the same. */
			vm->dirty |= VM_DIRTY_SNAPSHOTS;
			ck_assert_vimg_ok(vimg_vm_save(vm, &err), &err);
			vimg_vm_close(vm);
			ck_assert_vimg_ok(vimg_vm_open(test_path("v.vmx"), NULL, 0, &vm, &err), &err);
			s = vimg_vm_snapshot_find(vm, "third", &err);
			ck_assert_ptr_nonnull(s);
			ck_assert_uint_eq(s->parent_uid, 2);
			again = slurp(test_path("v.vmsd"), &n2);
			ck_assert_ptr_nonnull(strstr(again, "snapshot2.type = \"1\""));
			ck_assert_ptr_nonnull(strstr(again, "snapshot1.createTimeLow = \"-814770620\""));
			free(again);
		}
		free(orig);
		vimg_vm_close(vm);
	}
}
END_TEST

START_TEST(model_fields)
{
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_vm *vm;
	const struct vimg_vm_disk *d;
	const struct vimg_vm_nic *n;

	put(test_path("m.vmx"),
	    ".encoding = \"windows-1252\"\n"
	    "displayName = \"Caf\xe9\"\nfirmware = \"efi\"\nuefi.secureBoot.enabled = \"TRUE\"\n"
	    "numvcpus = \"4\"\ncpuid.coresPerSocket = \"2\"\nmemsize = \"4096\"\n"
	    "scsi0.present = \"TRUE\"\nscsi0.virtualDev = \"pvscsi\"\n"
	    "scsi0:0.present = \"TRUE\"\nscsi0:0.fileName = \"a.vmdk\"\n"
	    "scsi0:0.mode = \"independent-nonpersistent\"\nscsi0:0.redo = \"\"\n"
	    "scsi0:1.present = \"FALSE\"\nscsi0:1.fileName = \"gone.vmdk\"\n"
	    "sata0.present = \"TRUE\"\nsata0:1.present = \"TRUE\"\n"
	    "sata0:1.deviceType = \"cdrom-image\"\nsata0:1.fileName = \"x.iso\"\n"
	    "ethernet0.present = \"TRUE\"\nethernet0.virtualDev = \"vmxnet3\"\n"
	    "ethernet0.address = \"00:50:56:01:02:03\"\n"
	    "ethernet0.generatedAddress = \"00:0c:29:00:00:01\"\n"
	    "serial0.present = \"TRUE\"\nserial0.fileType = \"pipe\"\n"
	    "serial0.fileName = \"\\\\.\\pipe\\com1\"\n");
	ck_assert_vimg_ok(vimg_vm_open(test_path("m.vmx"), NULL, 0, &vm, &err), &err);
	ck_assert_str_eq(vimg_vm_name(vm), "Caf\xc3\xa9");
	ck_assert_int_eq(vimg_vm_firmware(vm), VIMG_FIRMWARE_EFI);
	ck_assert(vimg_vm_secure_boot(vm));
	ck_assert_uint_eq(vimg_vm_cpus(vm), 4);
	ck_assert_uint_eq(vimg_vm_cores_per_socket(vm), 2);
	ck_assert_uint_eq(vimg_vm_memory_mb(vm), 4096);
	ck_assert_uint_eq(vimg_vm_disk_count(vm), 2);
	d = vimg_vm_disk_get(vm, 0);
	ck_assert_str_eq(d->node, "scsi0:0");
	ck_assert_str_eq(d->mode, "independent-nonpersistent");
	ck_assert_int_eq(vimg_vm_disk_get(vm, 1)->kind, VIMG_DEV_CDROM);
	n = vimg_vm_nic_get(vm, 0);
	/* Without addressType, an address key makes the MAC static. */
	ck_assert_int_eq(n->mac_type, VIMG_MAC_STATIC);
	ck_assert_str_eq(n->mac, "00:50:56:01:02:03");
	ck_assert_str_eq(vimg_vm_port_get(vm, 0)->target, "\\\\.\\pipe\\com1");
	/* Untyped keys stay verbatim in order: the absent disk's keys, and the
	 * generated MAC a static address overrides, among them. */
	ck_assert_uint_eq(vimg_vm_extra_count(vm), 5);
	ck_assert_str_eq(vimg_vm_extra_key(vm, 1), "scsi0:0.redo");
	ck_assert_str_eq(vimg_vm_extra_key(vm, 3), "scsi0:1.fileName");
	ck_assert_str_eq(vimg_vm_extra_key(vm, 4), "ethernet0.generatedAddress");
	vimg_vm_close(vm);
}
END_TEST

START_TEST(vmxf_edited_in_place)
{
	static const char vmxf[] =
		"<?xml version=\"1.0\"?>\n<Foundry>\n<VM>\n"
		"<VMId type=\"string\">52 0c 6b 44 4a 3f 1d 6e-8d 61 2b 3c 4d 5e 6f 70</VMId>\n"
		"<ClientMetaData>\n<clientMetaDataAttributes/>\n<HistoryEventList/>"
		"</ClientMetaData>\n<vmxPathName type=\"string\">x.vmx</vmxPathName></VM></Foundry>\n";
	struct vimg_error err = VIMG_ERROR_INIT;
	struct vimg_vm *vm;
	char *text;
	size_t n;

	put(test_path("x.vmx"), "displayName = \"x\"\nextendedConfigFile = \"x.vmxf\"\n");
	put(test_path("x.vmxf"), vmxf);
	ck_assert_vimg_ok(vimg_vm_open(test_path("x.vmx"), NULL, 0, &vm, &err), &err);
	ck_assert_str_eq(vm->vmxf_id, "52 0c 6b 44 4a 3f 1d 6e-8d 61 2b 3c 4d 5e 6f 70");
	/* Written again unchanged: the same bytes. */
	vm->dirty |= VM_DIRTY_VMXF;
	ck_assert_vimg_ok(vimg_vm_save(vm, &err), &err);
	text = slurp(test_path("x.vmxf"), &n);
	ck_assert_str_eq(text, vmxf);
	free(text);
	/* A new id changes that element only. */
	ck_assert_vimg_ok(vm_set_str(&vm->vmxf_id, "52 00 00 00 00 00 00 00-00 00 00 00 00 00 00 01",
				     &err), &err);
	vm->dirty |= VM_DIRTY_VMXF;
	ck_assert_vimg_ok(vimg_vm_save(vm, &err), &err);
	text = slurp(test_path("x.vmxf"), &n);
	ck_assert_uint_eq(n, sizeof(vmxf) - 1);
	ck_assert_ptr_nonnull(strstr(text, ">52 00 00 00 00 00 00 00-00 00 00 00 00 00 00 01</VMId>"));
	free(text);
	vimg_vm_close(vm);
}
END_TEST

START_TEST(bad_trees)
{
	static const struct {
		const char *vmsd, *msg;
	} rows[] = {
		{ "snapshot0.uid = \"1\"\nsnapshot0.parent = \"2\"\n"
		  "snapshot1.uid = \"2\"\nsnapshot1.parent = \"1\"\n", "parents form a cycle" },
		{ "snapshot0.uid = \"1\"\nsnapshot0.parent = \"1\"\n", "parents form a cycle" },
		{ "snapshot0.uid = \"1\"\nsnapshot0.parent = \"9\"\n", "parent uid 9 does not exist" },
		{ "snapshot0.uid = \"1\"\nsnapshot1.uid = \"1\"\n", "uid 1 used twice" },
		{ "snapshot0.uid = \"1\"\nsnapshot.current = \"5\"\n", "names uid 5" },
		{ "snapshot0.uid = \"x\"\n", "is not a valid number" },
		{ "snapshot0.uid = \"1\"\nsnapshot0.disk300.node = \"a\"\n", "more than 256 disks" },
		{ "snapshot0.uid = \"1\"\nsnapshot0.disk0.node = \"scsi0:0\"\n",
		  "needs both fileName and node" },
	};

	put(test_path("t.vmx"), "displayName = \"t\"\n");
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct vimg_error err = VIMG_ERROR_INIT;
		struct vimg_vm *vm;

		put(test_path("t.vmsd"), rows[i].vmsd);
		ck_assert_int_eq(vimg_vm_open(test_path("t.vmx"), NULL, 0, &vm, &err),
				 VIMG_ECORRUPT);
		ck_assert_msg(strstr(err.msg, rows[i].msg), "row %zu: %s", i, err.msg);
	}
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("vmx");
	TCase *tc = tcase_create("vmx");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, corpus_vmx_round_trip);
	tcase_add_test(tc, real_vmsd_round_trip);
	tcase_add_test(tc, model_fields);
	tcase_add_test(tc, vmxf_edited_in_place);
	tcase_add_test(tc, bad_trees);
	suite_add_tcase(s, tc);
	return s;
}
