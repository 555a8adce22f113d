/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The error object (doc/architecture.md): set once so the first,
 * deepest cause wins; callers prefix context on the way up. Nothing here
 * allocates, so out-of-memory can still be reported. Also the log hook.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "driver.h"

const char *vimg_strerror(int code)
{
	switch (code) {
	case 0: return "success";
	case VIMG_EINVAL: return "invalid argument";
	case VIMG_ENOMEM: return "out of memory";
	case VIMG_EIO: return "input/output error";
	case VIMG_ENOENT: return "no such file";
	case VIMG_EACCES: return "permission denied";
	case VIMG_EROFS: return "image is read-only";
	case VIMG_ENOSPC: return "no space left";
	case VIMG_EBUSY: return "image is locked";
	case VIMG_EFORMAT: return "unknown or wrong format";
	case VIMG_ECORRUPT: return "image is corrupt";
	case VIMG_EUNSUPPORTED: return "not supported";
	case VIMG_ERANGE: return "request beyond the end of the disk";
	case VIMG_EBACKING: return "backing chain broken";
	default: return "unknown error";
	}
}

static int errno_to_code(int e)
{
	switch (e) {
	case ENOMEM: return VIMG_ENOMEM;
	case ENOENT: case ENOTDIR: return VIMG_ENOENT;
	case EACCES: case EPERM: return VIMG_EACCES;
	case EROFS: return VIMG_EROFS;
	case ENOSPC: case EDQUOT: case EFBIG: return VIMG_ENOSPC;
	case EBUSY: case EWOULDBLOCK: return VIMG_EBUSY;
	case EINVAL: return VIMG_EINVAL;
	case EOPNOTSUPP: return VIMG_EUNSUPPORTED;
	default: return VIMG_EIO;
	}
}

__attribute__((format(printf, 4, 0)))
static int error_vset(struct vimg_error *err, int code, int errnum, const char *fmt, va_list ap)
{
	size_t n;

	if (!err || err->code)
		return code;
	err->code = code;
	err->sys_errno = errnum;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	if (errnum) {
		n = strlen(err->msg);
		snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", strerror(errnum));
	}
	return code;
}

int vimg_error_set(struct vimg_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	error_vset(err, code, 0, fmt, ap);
	va_end(ap);
	return code;
}

int vimg_error_set_errno(struct vimg_error *err, int errnum, const char *fmt, ...)
{
	int code = errno_to_code(errnum);
	va_list ap;

	va_start(ap, fmt);
	error_vset(err, code, errnum, fmt, ap);
	va_end(ap);
	return code;
}

int vimg_error_prefix(struct vimg_error *err, const char *fmt, ...)
{
	char old[VIMG_ERROR_MSG_MAX];
	size_t n;
	va_list ap;

	if (!err)
		return 0;
	if (!err->code)
		return 0;
	memcpy(old, err->msg, sizeof(old));
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	n = strlen(err->msg);
	if (n + 2 < sizeof(err->msg)) {
		memcpy(err->msg + n, ": ", 3);
		n += 2;
		/* Truncation of the old message is intended: the buffer is fixed. */
		memcpy(err->msg + n, old, strnlen(old, sizeof(err->msg) - n - 1));
		err->msg[n + strnlen(old, sizeof(err->msg) - n - 1)] = 0;
	}
	return err->code;
}

void vimg_error_clear(struct vimg_error *err)
{
	if (err)
		memset(err, 0, sizeof(*err));
}

static void (*log_fn)(void *opaque, int level, const char *msg);
static void *log_opaque;
static int log_level;

void vimg_set_log(void (*fn)(void *opaque, int level, const char *msg), void *opaque, int level)
{
	log_fn = fn;
	log_opaque = opaque;
	log_level = level;
}

void vimg_log(int level, const char *fmt, ...)
{
	char msg[VIMG_ERROR_MSG_MAX];
	va_list ap;

	if (!log_fn || level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_fn(log_opaque, level, msg);
}
