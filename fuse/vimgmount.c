/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vimgmount: show a disk image as raw files through FUSE (vimgmount(1)).
 * Options, opening the image in the chosen mode (read-only, --rw, --overlay,
 * --snapshot), and the mount lifecycle: everything that can fail is done
 * before the mount so errors reach the terminal; after the loop ends
 * (SIGINT, SIGTERM, SIGHUP or fusermount3 -u) the destroy callback flushes
 * and closes the images, and a flush failure is the exit status.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuse/fuse.h"

static const char usage[] =
	"Usage: vimgmount [options] IMAGE MOUNTPOINT\n"
	"       vimgmount [options] BUNDLE|FILE.vmx MOUNTPOINT\n"
	"\n"
	"Show the virtual disk of IMAGE under MOUNTPOINT as the raw file \"disk\",\n"
	"one file per partition (\"disk.p1\", ...) and \"info.json\".\n"
	"Read-only unless --rw or --overlay is given.\n"
	"\n"
	"A VMware VM (its folder or .vmx) is shown read-only: one folder per disk\n"
	"(\"scsi0-0/disk\", its partitions beside it), each snapshot's disks under\n"
	"\"snapshots/NAME/\", \"nvram/\" (one file per UEFI variable, NAME-GUID),\n"
	"\"vm.json\" (the VM as vimg inspect describes it) and \"info.json\".\n"
	"\n"
	"  -F, --format=FMT     image format (default: probe); also -f FMT\n"
	"  --rw                 write through to the image\n"
	"  --overlay=FILE       send writes to the qcow2 overlay FILE (created\n"
	"                       with IMAGE as its backing file when missing)\n"
	"  --snapshot=NAME      show the internal snapshot NAME (read-only)\n"
	"  --allow-escape       allow backing files outside the image's directory\n"
	"  -o allow_other       let other users see the mount\n"
	"  -o ro                read-only (the default)\n"
	"  -f, --foreground     stay in the foreground\n"
	"  -d, --debug          FUSE debug output (implies -f)\n"
	"  -h, --help           show this help\n"
	"  -V, --version        show the version\n";

enum { OPT_RW = 256, OPT_OVERLAY, OPT_SNAPSHOT, OPT_ALLOW_ESCAPE };

struct mount_opts {
	const char *format;
	char *image;		/* absolute */
	char *mountpoint;
	char *overlay;		/* absolute, or NULL */
	const char *snapshot;
	bool rw, ro_asked, foreground, debug, allow_other, allow_escape;
};

static void die_usage(const char *msg)
{
	fprintf(stderr, "vimgmount: %s\nTry 'vimgmount --help'.\n", msg);
	exit(2);
}

/* An absolute path for p, without resolving symlinks (the daemon chdirs to /). */
static char *absolute(const char *p)
{
	char cwd[PATH_MAX], *s;

	if (p[0] == '/')
		return strdup(p);
	if (!getcwd(cwd, sizeof(cwd)) || asprintf(&s, "%s/%s", cwd, p) < 0)
		return NULL;
	return s;
}

static void parse_o(struct mount_opts *o, char *list)
{
	for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (strcmp(tok, "allow_other") == 0)
			o->allow_other = true;
		else if (strcmp(tok, "ro") == 0)
			o->ro_asked = true;
		else {
			fprintf(stderr, "vimgmount: unsupported -o option '%s' "
					"(allow_other and ro are)\n", tok);
			exit(2);
		}
	}
}

/*
 * `-f` is FUSE's foreground flag; as in the vimg commands it may also name the
 * format, which it does only when followed by a registered format name and
 * then IMAGE and MOUNTPOINT. Rewrite that form to -F.
 */
static void rewrite_dash_f(int argc, char **argv)
{
	static char dash_F[] = "-F";

	for (int i = 1; i + 3 < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return;
		if (strcmp(argv[i], "-f") == 0 && vimg_format_description(argv[i + 1]))
			argv[i] = dash_F;
	}
}

static void parse_args(int argc, char **argv, struct mount_opts *o)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'F' },
		{ "rw", no_argument, NULL, OPT_RW },
		{ "overlay", required_argument, NULL, OPT_OVERLAY },
		{ "snapshot", required_argument, NULL, OPT_SNAPSHOT },
		{ "allow-escape", no_argument, NULL, OPT_ALLOW_ESCAPE },
		{ "foreground", no_argument, NULL, 'f' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	rewrite_dash_f(argc, argv);
	while ((c = getopt_long(argc, argv, "F:fdo:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'F':
			o->format = optarg;
			break;
		case 'f':
			o->foreground = true;
			break;
		case 'd':
			o->debug = o->foreground = true;
			break;
		case 'o':
			parse_o(o, optarg);
			break;
		case OPT_RW:
			o->rw = true;
			break;
		case OPT_OVERLAY:
			if (!(o->overlay = absolute(optarg)))
				die_usage("out of memory");
			break;
		case OPT_SNAPSHOT:
			o->snapshot = optarg;
			break;
		case OPT_ALLOW_ESCAPE:
			o->allow_escape = true;
			break;
		case 'h':
			fputs(usage, stdout);
			exit(0);
		case 'V':
			printf("vimgmount %s\n", PACKAGE_VERSION);
			exit(0);
		default:
			die_usage("bad option");
		}
	}
	if (argc - optind != 2)
		die_usage("expected IMAGE and MOUNTPOINT");
	if (o->rw + (o->overlay != NULL) + (o->snapshot != NULL) > 1)
		die_usage("--rw, --overlay and --snapshot exclude each other");
	if (o->ro_asked && (o->rw || o->overlay))
		die_usage("-o ro contradicts --rw and --overlay");
	if (o->format && !vimg_format_description(o->format))
		die_usage("unknown format (see 'vimg formats')");
	o->image = absolute(argv[optind]);
	o->mountpoint = absolute(argv[optind + 1]);
	if (!o->image || !o->mountpoint)
		die_usage("out of memory");
}

/* ---- opening ------------------------------------------------------------ */

struct opened {
	struct tree_disk disk;		/* an image's one disk */
	struct tree_disk *disks;	/* a bundle's */
	size_t ndisks;
	char **names;			/* the bundle disks' names */
	struct vimg_image **close_order;
	size_t nclose, cap;
	bool overlay_created;
	struct vimg_vm *vm;		/* a bundle */
	struct vimg_nvram *nvram;
	struct shown_state {
		char *name;		/* "memory.raw", "snapshots/NAME/memory.raw" */
		struct vimg_vmstate *st;
	} *states;
	size_t nstates;
};

/* Show the guest memory of the saved state `file` as NAME, when it has any:
 * a powered-off snapshot's state has none and shows nothing. A state that
 * cannot be read is a warning: the disks are still worth showing. */
static int bundle_state(struct opened *op, const char *dir, const char *file,
			struct vimg_error *err)
{
	struct vimg_error serr = VIMG_ERROR_INIT;
	struct vimg_vmstate *st = NULL, *meta;
	struct shown_state *ns;
	char *path, *name = NULL;

	if (vimg_vm_resolve(op->vm, file, &path, &serr) == 0 &&
	    vimg_vmstate_open(path, NULL, 0, &st, &serr) < 0) {
		struct vimg_error merr = VIMG_ERROR_INIT;

		if (vimg_vmstate_open(path, NULL, VIMG_VMSTATE_METADATA_ONLY, &meta, &merr) == 0 &&
		    serr.code == VIMG_ENOENT) {
			vimg_vmstate_close(meta);
			free(path);
			return 0;
		}
		vimg_vmstate_close(meta);
	}
	free(path);
	if (!st) {
		fprintf(stderr, "vimgmount: warning: saved state %s: %s\n", file, serr.msg);
		return 0;
	}
	ns = asprintf(&name, "%smemory.raw", dir) < 0 ? NULL
		: realloc(op->states, (op->nstates + 1) * sizeof(*ns));
	if (!ns) {
		free(name);
		vimg_vmstate_close(st);
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	}
	op->states = ns;
	ns[op->nstates++] = (struct shown_state){ name, st };
	return 0;
}

/* Remember img, to be closed at unmount in the order given. */
static int keep(struct opened *op, struct vimg_image *img, struct vimg_error *err)
{
	if (op->nclose == op->cap) {
		size_t cap = op->cap ? 2 * op->cap : 4;
		struct vimg_image **p = realloc(op->close_order, cap * sizeof(*p));

		if (!p) {
			vimg_image_close(img, NULL);
			return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
		}
		op->close_order = p;
		op->cap = cap;
	}
	op->close_order[op->nclose++] = img;
	return 0;
}

/* The overlay FILE must already be a qcow2 over IMAGE when it exists. */
static int overlay_check(struct vimg_image *ov, const struct mount_opts *o,
			 struct vimg_error *err)
{
	const char *bp = vimg_image_backing_path(ov);
	char a[PATH_MAX], b[PATH_MAX];

	if (!bp || !realpath(bp, a) || !realpath(o->image, b) || strcmp(a, b) != 0)
		return vimg_error_set(err, VIMG_EBACKING,
				      "overlay %s: its backing file is %s, not %s", o->overlay,
				      bp ? bp : "(none)", o->image);
	return 0;
}

static int open_overlay(const struct mount_opts *o, const char *format, struct opened *op,
			struct vimg_error *err)
{
	unsigned flags = VIMG_OPEN_RDWR | VIMG_OPEN_ALLOW_ESCAPE;
	struct vimg_image *ov;
	struct stat sb;
	int rc;

	if (stat(o->overlay, &sb) != 0) {
		rc = vimg_image_create(o->overlay, "qcow2", 0, NULL, o->image, format,
				       VIMG_CREATE_ALLOW_ESCAPE, err);
		if (rc < 0)
			return vimg_error_prefix(err, "creating overlay %s", o->overlay);
		op->overlay_created = true;
	}
	rc = vimg_image_open(o->overlay, "qcow2", flags, &ov, err);
	if (rc < 0)
		return vimg_error_prefix(err, "opening overlay %s", o->overlay);
	rc = overlay_check(ov, o, err);
	if (rc < 0) {
		vimg_image_close(ov, NULL);
		return rc;
	}
	op->disk.img = ov;
	op->disk.image = vimg_image_backing(ov);
	op->disk.overlay = o->overlay;
	return keep(op, ov, err);
}

static int open_disk(const struct mount_opts *o, struct opened *op, struct vimg_error *err)
{
	unsigned flags = o->allow_escape ? VIMG_OPEN_ALLOW_ESCAPE : 0;
	struct vimg_image *img;
	char *format;
	int rc;

	op->disk.name = "disk";
	/* Opened read-only first: probing tells the format, whose features decide --rw. */
	rc = vimg_image_open(o->image, o->format, flags, &img, err);
	if (rc < 0)
		return rc;
	if (o->snapshot) {
		struct vimg_image *view;
		rc = vimg_image_snapshot_open(img, o->snapshot, &view, err);
		if (rc < 0) {
			vimg_image_close(img, NULL);
			return rc;
		}
		op->disk.img = view;
		op->disk.image = img;
		op->disk.snapshot = o->snapshot;
		if (keep(op, view, err)) {
			vimg_image_close(img, NULL);
			return -1;
		}
		return keep(op, img, err);
	}
	if (!o->rw && !o->overlay) {
		op->disk.img = op->disk.image = img;
		return keep(op, img, err);
	}
	format = strdup(vimg_image_format(img));
	vimg_image_close(img, NULL);
	if (!format)
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	if (o->overlay) {
		rc = open_overlay(o, format, op, err);
	} else if (!(vimg_format_features(format) & VIMG_FEAT_WRITE)) {
		rc = vimg_error_set(err, VIMG_EUNSUPPORTED,
				    "%s: the %s driver cannot write: use --overlay", o->image,
				    format);
	} else {
		rc = vimg_image_open(o->image, format, flags | VIMG_OPEN_RDWR, &img, err);
		if (rc == 0) {
			op->disk.img = op->disk.image = img;
			rc = keep(op, img, err);
		}
	}
	free(format);
	return rc;
}

/* ---- VM bundles ----------------------------------------------------------- */

static bool is_bundle(const char *path)
{
	struct stat sb;
	size_t l = strlen(path);

	return (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) ||
	       (l > 4 && (!strcasecmp(path + l - 4, ".vmx") || !strcasecmp(path + l - 4, ".ova") ||
			  !strcasecmp(path + l - 4, ".ovf"))) ||
	       (l > 5 && !strcasecmp(path + l - 5, ".vmtx"));
}

/* s as one path component: '/' and ':' become '-', and "", "." and ".."
 * (which would not be one) get a leading '_'. */
static char *component(const char *s)
{
	char *c;

	if (asprintf(&c, "%s%s", !*s || !strcmp(s, ".") || !strcmp(s, "..") ? "_" : "", s) < 0)
		return NULL;
	for (char *p = c; *p; p++)
		if (*p == '/' || *p == ':')
			*p = '-';
	return c;
}

/* Open the disk `file` of the VM, shown as DIR/NODE/disk. */
static int bundle_disk(struct opened *op, const struct mount_opts *o, const char *dir,
		       const char *node, const char *file, struct vimg_error *err)
{
	struct vimg_image *img;
	struct tree_disk *nd;
	char *comp, *name = NULL, **nn;
	int rc;

	rc = vimg_vm_disk_open(op->vm, file, o->allow_escape ? VIMG_OPEN_ALLOW_ESCAPE : 0, &img, err);
	if (rc < 0)
		return vimg_error_prefix(err, "%s", node);
	if (keep(op, img, err))
		return -1;
	comp = component(node);
	if (!comp || asprintf(&name, "%s%s/disk", dir, comp) < 0)
		name = NULL;
	free(comp);
	nd = name ? realloc(op->disks, (op->ndisks + 1) * sizeof(*nd)) : NULL;
	if (nd)
		op->disks = nd;
	nn = nd ? realloc(op->names, (op->ndisks + 1) * sizeof(*nn)) : NULL;
	if (!nn) {
		free(name);
		return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	}
	op->names = nn;
	op->disks[op->ndisks] = (struct tree_disk){ .name = name, .img = img, .image = img };
	op->names[op->ndisks++] = name;
	return 0;
}

/* The folder of snapshot s: snapshots/NAME/, or snapshots/NAME-UID/ when an
 * earlier snapshot has that name. */
static char *snapshot_dir(const struct vimg_vm *vm, size_t i)
{
	const struct vimg_vm_snapshot *s = vimg_vm_snapshot_get(vm, i);
	char *comp = component(s->name ? s->name : ""), *dir = NULL;
	bool taken = false;

	for (size_t k = 0; comp && k < i && !taken; k++) {
		char *other = component(vimg_vm_snapshot_get(vm, k)->name ?
					vimg_vm_snapshot_get(vm, k)->name : "");

		taken = !other || !strcmp(other, comp);
		free(other);
	}
	if (comp && (taken ? asprintf(&dir, "snapshots/%s-%u/", comp, s->uid)
			   : asprintf(&dir, "snapshots/%s/", comp)) < 0)
		dir = NULL;
	free(comp);
	return dir;
}

/* Every disk of the current state and of each snapshot, read-only. */
static int open_bundle(const struct mount_opts *o, struct opened *op, struct vimg_error *err)
{
	struct vimg_error nerr = VIMG_ERROR_INIT;

	if (o->rw || o->overlay || o->snapshot || o->format)
		return vimg_error_set(err, VIMG_EINVAL,
				      "%s is a VM: it is mounted read-only with every disk and "
				      "snapshot shown (--rw, --overlay, --snapshot and -F apply "
				      "to disk images)", o->image);
	if (vimg_vm_open(o->image, NULL, o->allow_escape ? VIMG_VM_ALLOW_ESCAPE : 0, &op->vm, err))
		return -1;
	for (size_t i = 0; i < vimg_vm_disk_count(op->vm); i++) {
		const struct vimg_vm_disk *d = vimg_vm_disk_get(op->vm, i);

		if (d->kind == VIMG_DEV_DISK && d->file &&
		    bundle_disk(op, o, "", d->node, d->file, err))
			return -1;
	}
	for (size_t i = 0; i < vimg_vm_snapshot_count(op->vm); i++) {
		const struct vimg_vm_snapshot *s = vimg_vm_snapshot_get(op->vm, i);
		char *dir = snapshot_dir(op->vm, i);

		if (!dir)
			return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
		for (size_t k = 0; k < s->n_disks; k++)
			if (bundle_disk(op, o, dir, s->disks[k].node, s->disks[k].file, err)) {
				free(dir);
				return vimg_error_prefix(err, "snapshot \"%s\"", s->name);
			}
		free(dir);
	}
	/* A VM whose nvram cannot be read still shows its disks. */
	if (vimg_vm_nvram(op->vm) && vimg_vm_nvram_open(op->vm, &op->nvram, &nerr))
		fprintf(stderr, "vimgmount: warning: nvram: %s\n", nerr.msg);
	if (vimg_vm_suspend_state(op->vm) &&
	    bundle_state(op, "", vimg_vm_suspend_state(op->vm), err))
		return -1;
	for (size_t i = 0; i < vimg_vm_snapshot_count(op->vm); i++) {
		const struct vimg_vm_snapshot *s = vimg_vm_snapshot_get(op->vm, i);
		char *dir;
		int rc;

		if (!s->state_file)
			continue;
		if (!(dir = snapshot_dir(op->vm, i)))
			return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
		rc = bundle_state(op, dir, s->state_file, err);
		free(dir);
		if (rc)
			return -1;
	}
	return 0;
}

/* vm.json, the saved states' memory.raw, and nvram/NAME-GUID for each variable. */
static int bundle_files(struct tree *t, struct opened *op, struct vimg_error *err)
{
	if (tree_add_vm_json(t, "vm.json", op->vm, err))
		return -1;
	for (size_t i = 0; i < op->nstates; i++)
		if (tree_add_memory(t, op->states[i].name, op->states[i].st) < 0)
			return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
	for (size_t i = 0; i < vimg_nvram_var_count(op->nvram); i++) {
		struct vimg_efi_var v;
		char *comp, *name = NULL;
		char guid[37];
		const uint8_t *g;

		vimg_nvram_var(op->nvram, i, &v);
		g = v.guid;
		snprintf(guid, sizeof(guid),
			 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
			 g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[8], g[9], g[10], g[11],
			 g[12], g[13], g[14], g[15]);
		comp = component(v.name);
		if (!comp || asprintf(&name, "nvram/%s-%s", comp, guid) < 0 ||
		    tree_add_data(t, name, v.data, v.size, NULL) < 0) {
			free(comp);
			free(name);
			return vimg_error_set(err, VIMG_ENOMEM, "out of memory");
		}
		free(comp);
		free(name);
	}
	return 0;
}

/* ---- mounting ----------------------------------------------------------- */

static int add_opt(char **optstr, const char *opt)
{
	return fuse_opt_add_opt_escaped(optstr, opt);
}

static int build_args(struct fuse_args *args, const struct mount_opts *o, bool writable,
		      const char *argv0)
{
	char *optstr = NULL, *fsname = NULL;
	char max_read[32];
	int rc = 0;

	snprintf(max_read, sizeof(max_read), "max_read=%u", FS_MAX_IO);
	if (asprintf(&fsname, "fsname=%s", o->image) < 0)
		return -1;
	rc |= fuse_opt_add_arg(args, argv0);
	if (o->debug)
		rc |= fuse_opt_add_arg(args, "-d");
	rc |= add_opt(&optstr, fsname);
	rc |= add_opt(&optstr, "subtype=vimg");
	rc |= add_opt(&optstr, max_read);
	if (!writable)
		rc |= add_opt(&optstr, "ro");
	if (o->allow_other) {
		rc |= add_opt(&optstr, "allow_other");
		rc |= add_opt(&optstr, "default_permissions");
	}
	rc |= fuse_opt_add_arg(args, "-o");
	rc |= fuse_opt_add_arg(args, optstr);
	free(optstr);
	free(fsname);
	return rc ? -1 : 0;
}

static void close_images(struct fs_state *st)
{
	/* The destroy callback did it when the session started; else do it here. */
	if (st->nclose)
		fs_ops.destroy(st);
}

static int run(const struct mount_opts *o, struct fs_state *st, const char *argv0, bool *mounted)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse *f = NULL;
	int rc = 1;

	if (build_args(&args, o, st->writable, argv0) < 0) {
		fprintf(stderr, "vimgmount: out of memory\n");
		goto out;
	}
	f = fuse_new(&args, &fs_ops, sizeof(fs_ops), st);
	if (!f)
		goto out;
	if (fuse_mount(f, o->mountpoint) != 0)
		goto out;
	*mounted = true;
	if (fuse_set_signal_handlers(fuse_get_session(f)) != 0)
		goto unmount;
	if (fuse_daemonize(o->foreground) != 0)
		goto signals;
	/* The loop returns the signal number after SIGTERM/SIGINT: a clean end too. */
	rc = fuse_loop_mt(f, 0) < 0 ? 1 : 0;
signals:
	fuse_remove_signal_handlers(fuse_get_session(f));
unmount:
	fuse_unmount(f);
out:
	if (f)
		fuse_destroy(f);
	fuse_opt_free_args(&args);
	return rc;
}

int main(int argc, char **argv)
{
	struct mount_opts o = { 0 };
	struct vimg_error err = VIMG_ERROR_INIT;
	struct opened op = { 0 };
	struct fs_state st = { .uid = getuid(), .gid = getgid() };
	const char *mode;
	struct stat sb;
	bool mounted = false, bundle;
	char *mnt_real = NULL;
	int rc;

	parse_args(argc, argv, &o);
	rc = 1;
	if (stat(o.mountpoint, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		fprintf(stderr, "vimgmount: %s: not a directory\n", o.mountpoint);
		goto out;
	}
	if (stat(o.image, &sb) != 0) {
		fprintf(stderr, "vimgmount: %s: %s\n", o.image, strerror(errno));
		goto out;
	}
	st.atime = sb.st_atim;
	st.mtime = sb.st_mtim;
	st.ctime = sb.st_ctim;
	bundle = is_bundle(o.image);
	if ((bundle ? open_bundle(&o, &op, &err) : open_disk(&o, &op, &err)) < 0) {
		fprintf(stderr, "vimgmount: %s\n", err.msg);
		st.close_order = op.close_order;
		st.nclose = op.nclose;
		close_images(&st);
		goto out;
	}
	st.close_order = op.close_order;
	st.nclose = op.nclose;
	st.writable = o.rw || o.overlay;
	st.mountpoint = mnt_real = realpath(o.mountpoint, NULL);
	mode = o.overlay ? "overlay" : o.rw ? "rw" : "ro";
	if (tree_build(&st.tree, bundle ? op.disks : &op.disk, bundle ? op.ndisks : 1, mode,
		       &err) < 0 ||
	    (bundle && bundle_files(&st.tree, &op, &err) < 0)) {
		fprintf(stderr, "vimgmount: %s\n", err.msg);
		close_images(&st);
		rc = 1;
		goto out;
	}
	for (size_t i = 0; i < st.tree.nwarnings; i++)
		fprintf(stderr, "vimgmount: warning: %s\n", st.tree.warnings[i]);

	rc = run(&o, &st, argv[0], &mounted);
	close_images(&st);
	if (st.close_rc < 0) {
		fprintf(stderr, "vimgmount: closing: %s\n", st.close_msg);
		rc = 1;
	}
	tree_free(&st.tree);
out:
	/* A new overlay is useless when the mount failed at once: remove it. */
	if (rc != 0 && op.overlay_created && !mounted)
		unlink(o.overlay);
	for (size_t i = 0; i < op.ndisks; i++)
		free(op.names[i]);
	free(op.names);
	free(op.disks);
	free(op.close_order);
	for (size_t i = 0; i < op.nstates; i++) {
		free(op.states[i].name);
		vimg_vmstate_close(op.states[i].st);
	}
	free(op.states);
	vimg_nvram_close(op.nvram);
	vimg_vm_close(op.vm);
	free(mnt_real);
	free(o.image);
	free(o.mountpoint);
	free(o.overlay);
	return rc;
}
