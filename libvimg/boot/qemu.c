/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The qemu engine: qemu-system-x86_64 reads the image file itself (formats
 * qemu reads: raw, qcow2, vmdk, vhdx, vpc, vdi) with snapshot=on, as a
 * virtio disk, serial console on a pipe, no display, no reboot. Stages come
 * from console patterns only (watch.c). The child is killed (by its pid)
 * when the run is done or out of time.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "boot.h"
#include "internal.h"

#define QEMU "qemu-system-x86_64"

static bool in_path(const char *name);

static const char *qemu_format(const char *fmt)
{
	static const char *const map[][2] = {
		{ "raw", "raw" }, { "qcow2", "qcow2" }, { "vmdk", "vmdk" },
		{ "vhdx", "vhdx" }, { "vhd", "vpc" },    { "vdi", "vdi" },
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(fmt, map[i][0]) == 0)
			return map[i][1];
	return NULL;
}

bool qemu_installed(void)
{
	return in_path(QEMU);
}

static bool in_path(const char *name)
{
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/bin:/bin";
	char buf[4096];
	while (*path) {
		size_t n = strcspn(path, ":");
		if (n && n + strlen(name) + 2 < sizeof(buf)) {
			snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, path, name);
			if (access(buf, X_OK) == 0)
				return true;
		}
		path += n;
		if (*path == ':')
			path++;
	}
	return false;
}

/* A private copy of the variable store src in a new temporary file. */
static int uefi_vars_copy(const char *src, char path[64], struct vimg_error *err)
{
	char buf[65536];
	ssize_t n;
	int in = open(src, O_RDONLY | O_CLOEXEC), out;

	if (in < 0)
		return vimg_error_set_errno(err, errno, "boot: UEFI variables %s", src);
	snprintf(path, 64, "/tmp/vimg-vars.XXXXXX");
	out = mkostemp(path, O_CLOEXEC);
	if (out < 0) {
		close(in);
		return vimg_error_set_errno(err, errno, "boot: temporary variable store");
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			n = -1;
			break;
		}
	close(in);
	if (close(out) < 0 || n < 0) {
		unlink(path);
		return vimg_error_set_errno(err, errno, "boot: copying %s", src);
	}
	return 0;
}

static void uefi_vars_drop(const char *path)
{
	if (path[0])
		unlink(path);
}

int qemu_run(struct vimg_image *img, const struct vimg_boot_opts *o, struct vimg_boot_result *r,
	     bool kvm_hw, struct vimg_error *err)
{
	snprintf(r->stage_source, sizeof(r->stage_source), "console patterns only (qemu engine)");
	if (!in_path(QEMU))
		return vimg_error_set(err, VIMG_EUNSUPPORTED, "boot: %s not found", QEMU);
	const char *fmt = qemu_format(vimg_image_format(img));
	if (!fmt)
		return vimg_error_set(err, VIMG_EUNSUPPORTED,
				      "boot: qemu cannot read %s images; convert to qcow2 first",
				      vimg_image_format(img));

	struct watch w;
	int rc = watch_init(&w, o, err);
	if (rc < 0)
		return rc;
	w.loader_banners = true;
	watch_stage(&w, VIMG_BOOT_FIRMWARE);

	char drive[8192], mem[32];
	const char *file = vimg_image_filename(img), *host;
	uint64_t base, limit;
	if (o->overlay && image_host_window(img, &base, &limit)) {
		watch_free(&w);
		return vimg_error_set(err, VIMG_EUNSUPPORTED, "boot: an overlay on a disk inside an "
				      "archive is not supported: boot without one, or convert first");
	} else if (o->overlay) {
		/* Guest writes go to a new qcow2 file backed by the image. */
		struct vimg_image *ov;
		rc = overlay_open(img, o->overlay, &ov, err);
		if (rc < 0) {
			watch_free(&w);
			return rc;
		}
		vimg_image_close(ov, NULL);
		rc = snprintf(drive, sizeof(drive), "file=%s,format=qcow2,if=virtio", o->overlay);
	} else if ((host = image_host_window(img, &base, &limit))) {
		/* A disk inside an archive: qemu reads the same byte range. */
		rc = snprintf(drive, sizeof(drive),
			      "driver=%s,if=virtio,snapshot=on,file.driver=raw,file.offset=%llu,"
			      "file.size=%llu,file.file.driver=file,file.file.filename=%s",
			      fmt, (unsigned long long)base, (unsigned long long)limit, host);
		file = host;
	} else {
		rc = snprintf(drive, sizeof(drive), "file=%s,format=%s,if=virtio,snapshot=on", file, fmt);
	}
	if (rc < 0 || (size_t)rc >= sizeof(drive) || strchr(file, ',')) {
		watch_free(&w);
		return vimg_error_set(err, VIMG_EINVAL, "boot: image path unusable for qemu: %s", file);
	}
	snprintf(mem, sizeof(mem), "%llu", (unsigned long long)(o->mem >> 20));

	/* The firmware writes its variables: give it a copy. */
	char vars[64] = "", code[8192], flash[8192 + 64];
	if (o->uefi_code) {
		rc = uefi_vars_copy(o->uefi_vars, vars, err);
		if (rc < 0) {
			watch_free(&w);
			return rc;
		}
		snprintf(code, sizeof(code), "if=pflash,format=raw,unit=0,readonly=on,file=%s",
			 o->uefi_code);
		snprintf(flash, sizeof(flash), "if=pflash,format=raw,unit=1,file=%s", vars);
	}

	const char *argv[48];
	int a = 0;
	argv[a++] = QEMU;
	argv[a++] = "-nodefaults";
	argv[a++] = "-no-user-config";
	argv[a++] = "-display";
	argv[a++] = "none";
	argv[a++] = "-vga";
	argv[a++] = "std";
	argv[a++] = "-no-reboot";
	argv[a++] = "-monitor";
	argv[a++] = "none";
	argv[a++] = "-serial";
	argv[a++] = "stdio";
	argv[a++] = "-m";
	argv[a++] = mem;
	argv[a++] = "-accel";
	argv[a++] = kvm_hw ? "kvm" : "tcg";
	if (kvm_hw) {
		argv[a++] = "-cpu";
		argv[a++] = "host";
	}
	if (o->uefi_code) {
		argv[a++] = "-machine";
		argv[a++] = o->secure_boot ? "q35,smm=on" : "q35";
		if (o->secure_boot) {
			argv[a++] = "-global";
			argv[a++] = "driver=cfi.pflash01,property=secure,value=on";
		}
		argv[a++] = "-drive";
		argv[a++] = code;
		argv[a++] = "-drive";
		argv[a++] = flash;
	}
	argv[a++] = "-drive";
	argv[a++] = drive;
	if (o->kernel) {
		argv[a++] = "-kernel";
		argv[a++] = o->kernel;
		if (o->initrd) {
			argv[a++] = "-initrd";
			argv[a++] = o->initrd;
		}
		if (o->append) {
			argv[a++] = "-append";
			argv[a++] = o->append;
		}
	}
	argv[a] = NULL;

	int out[2], errp[2];
	if (pipe2(out, O_CLOEXEC) < 0) {
		watch_free(&w);
		uefi_vars_drop(vars);
		return vimg_error_set_errno(err, errno, "boot: pipe");
	}
	if (pipe2(errp, O_CLOEXEC) < 0) {
		close(out[0]);
		close(out[1]);
		watch_free(&w);
		uefi_vars_drop(vars);
		return vimg_error_set_errno(err, errno, "boot: pipe");
	}
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(out[0]); close(out[1]); close(errp[0]); close(errp[1]);
		watch_free(&w);
		uefi_vars_drop(vars);
		return vimg_error_set_errno(err, e, "boot: fork");
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull >= 0)
			dup2(devnull, 0);
		dup2(out[1], 1);
		dup2(errp[1], 2);
		execvp(QEMU, (char *const *)argv);
		_exit(127);
	}
	close(out[1]);
	close(errp[1]);

	char tail[1024] = "";
	size_t tail_len = 0;
	bool out_open = true, err_open = true, exited = false;
	int status = 0;
	char reason[160] = "";
	while (out_open || err_open) {
		watch_scan(&w);
		if (watch_done(&w)) {
			snprintf(reason, sizeof(reason), w.expect_matched ? "expected output seen"
									  : "stage %s reached",
				 vimg_boot_stage_name(w.stage));
			break;
		}
		if (watch_timed_out(&w)) {
			snprintf(reason, sizeof(reason), "timeout");
			break;
		}
		struct pollfd pfd[2] = { { out_open ? out[0] : -1, POLLIN, 0 },
					 { err_open ? errp[0] : -1, POLLIN, 0 } };
		int n = poll(pfd, 2, 100);
		if (n < 0 && errno != EINTR)
			break;
		char buf[4096];
		if (out_open && (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t got = read(out[0], buf, sizeof(buf));
			if (got > 0)
				watch_console(&w, buf, (size_t)got);
			else if (got == 0 || errno != EINTR)
				out_open = false;
		}
		if (err_open && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t got = read(errp[0], buf, sizeof(buf));
			if (got > 0) {
				for (ssize_t i = 0; i < got; i++) {
					if (tail_len + 1 >= sizeof(tail)) {
						memmove(tail, tail + 512, tail_len - 512);
						tail_len -= 512;
					}
					tail[tail_len++] = buf[i];
				}
				tail[tail_len] = 0;
			} else if (got == 0 || errno != EINTR) {
				err_open = false;
			}
		}
	}
	if (!out_open && !err_open) {
		waitpid(pid, &status, 0);
		exited = true;
	}
	if (!exited) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	close(out[0]);
	close(errp[0]);
	watch_scan(&w);
	rc = 0;
	bool powered_off = false;
	if (!reason[0]) {
		if (exited && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			powered_off = true;
			snprintf(reason, sizeof(reason), "guest power off or reset (qemu exited)");
			if (w.has_expect || w.until > 0) /* a last look at the output */
				watch_scan(&w);
		} else {
			/* Strip the trailing newline of qemu's message. */
			while (tail_len && (tail[tail_len - 1] == '\n' || tail[tail_len - 1] == '\r'))
				tail[--tail_len] = 0;
			const char *last = strrchr(tail, '\n');
			last = last ? last + 1 : tail;
			snprintf(reason, sizeof(reason), "qemu failed (status %d)%s%s",
				 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
				 *last ? ": " : "", last);
			if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
				rc = vimg_error_set(err, VIMG_EUNSUPPORTED, "boot: cannot run %s", QEMU);
			else if (w.stage <= VIMG_BOOT_FIRMWARE && !w.len)
				rc = vimg_error_set(err, VIMG_EIO, "boot: %s", reason);
		}
	}
	boot_finish_result(r, &w, reason, -1, powered_off);
	watch_free(&w);
	uefi_vars_drop(vars);
	return rc;
}
