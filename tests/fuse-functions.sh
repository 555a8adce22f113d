# SPDX-License-Identifier: LGPL-2.1-or-later
# Helpers for the vimgmount tests (tests/test-fuse-*.sh), sourced after
# tests/functions.sh. $VIMGMOUNT is the built fuse/vimgmount. fuse_requires
# skips (77) when FUSE mounts cannot work here: no /dev/fuse, no fusermount3,
# or a trial mount is refused.

VIMGMOUNT="${VIMG_BUILDDIR:-$(cd "$(dirname "$0")/.." && pwd)}/fuse/vimgmount"
[ -x "$VIMGMOUNT" ] || skip "vimgmount not built (no fuse3?)"

# fuse_mount MNT VIMGMOUNT-ARGS...: mount in the foreground, in the background,
# and wait until the mount answers. Sets $FUSE_PID. Returns 1 (with the
# daemon's stderr in $TMPD/fuse-err) if vimgmount exited instead.
fuse_mount() {
	_mnt=$1
	shift
	mkdir -p "$_mnt"
	cleanup_fn fuse_umount_quiet "$_mnt"
	# A background job of a non-interactive shell starts with SIGINT ignored,
	# and libfuse keeps ignored signals ignored: restore it where env can.
	if env --default-signal=INT true 2>/dev/null; then
		env --default-signal=INT "$VIMGMOUNT" -f "$@" "$_mnt" 2>"$TMPD/fuse-err" &
	else
		"$VIMGMOUNT" -f "$@" "$_mnt" 2>"$TMPD/fuse-err" &
	fi
	FUSE_PID=$!
	_i=0
	while ! [ -e "$_mnt/info.json" ]; do
		if ! kill -0 "$FUSE_PID" 2>/dev/null; then
			wait "$FUSE_PID" || true
			return 1
		fi
		_i=$((_i + 1))
		[ "$_i" -lt 400 ] || fail "vimgmount $* did not come up in 20 s"
		sleep 0.05
	done
}

# fuse_umount MNT: unmount with fusermount3 -u and wait for the daemon; fails
# unless it exits 0 (its close/flush result).
fuse_umount() {
	fusermount3 -u "$1" || fail "fusermount3 -u $1"
	if ! wait "$FUSE_PID"; then
		cat "$TMPD/fuse-err" >&2
		fail "vimgmount exited with an error after unmounting $1"
	fi
}

# fuse_wait_exit: wait (at most 20 s) for the daemon to end by itself, e.g.
# after a signal; fails unless it exits 0.
fuse_wait_exit() {
	_i=0
	while kill -0 "$FUSE_PID" 2>/dev/null; do
		_i=$((_i + 1))
		[ "$_i" -lt 400 ] || fail "vimgmount (pid $FUSE_PID) did not exit"
		sleep 0.05
	done
	if ! wait "$FUSE_PID"; then
		cat "$TMPD/fuse-err" >&2
		fail "vimgmount exited with an error"
	fi
}

fuse_umount_quiet() {
	if grep -q " $1 fuse" /proc/mounts 2>/dev/null; then
		fusermount3 -u -z "$1" 2>/dev/null || umount -l "$1" 2>/dev/null || true
	fi
}

# fuse_requires: skip unless a trial mount of a small raw image works.
fuse_requires() {
	[ -c /dev/fuse ] || skip "/dev/fuse missing"
	command -v fusermount3 >/dev/null 2>&1 || skip "fusermount3 missing"
	: "${TMPD:?call tmpdir first}"
	truncate -s 1M "$TMPD/trial.raw"
	if ! fuse_mount "$TMPD/trial-mnt" -F raw "$TMPD/trial.raw"; then
		skip "FUSE mounting not permitted here: $(head -n 3 "$TMPD/fuse-err")"
	fi
	fuse_umount "$TMPD/trial-mnt"
	rm -f "$TMPD/trial.raw"
}

# fixture_copy SRC DST: copy a fixture, decompressing .gz/.xz; fails if it cannot.
fixture_copy() {
	case "$1" in
	*.gz) gzip -dc "$1" >"$2" ;;
	*.xz) xz -dc "$1" >"$2" ;;
	*) cp "$1" "$2" ;;
	esac
}
