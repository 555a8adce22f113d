#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The path policy from the command line: a backing file named "../x", an
# absolute path or a symlink leading out of the image's directory is refused
# with one clear error (exit 1; 2 for compare), and --allow-escape opens it.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"

requires qemu-img --version
tmpdir
cd "$TMPD"

mkdir vm
truncate -s 4M base.raw
printf 'outside' | dd of=base.raw bs=1 seek=4096 conv=notrunc 2>/dev/null
qemu-img convert -f raw -O qcow2 base.raw base.qcow2
# Made by qemu-img with -u so that no policy is involved in making them.
qemu-img create -q -f qcow2 -u -b ../base.qcow2 -F qcow2 vm/dotdot.qcow2 4M
qemu-img create -q -f qcow2 -u -b "$TMPD/base.qcow2" -F qcow2 vm/absolute.qcow2 4M
ln -s ../base.qcow2 vm/link.qcow2
qemu-img create -q -f qcow2 -u -b link.qcow2 -F qcow2 vm/symlink.qcow2 4M
# Inside the directory is fine.
cp base.qcow2 vm/inside.qcow2
qemu-img create -q -f qcow2 -u -b inside.qcow2 -F qcow2 vm/ok.qcow2 4M

expect_status 0 "$VIMG" map vm/ok.qcow2
expect_status 0 "$VIMG" compare vm/ok.qcow2 base.raw

for img in vm/dotdot.qcow2 vm/absolute.qcow2 vm/symlink.qcow2; do
	for cmd in "map" "info --backing-chain" "convert -O raw"; do
		# shellcheck disable=SC2086
		set -- $cmd
		dst=""
		[ "$1" = convert ] && dst="$TMPD/out.raw"
		rm -f "$TMPD/out.raw"
		# shellcheck disable=SC2086
		expect_status 1 "$VIMG" "$@" "$img" $dst
		[ "$(wc -l <err)" -eq 1 ] || fail "$cmd $img: not one error line: $(cat err)"
		grep -q "^vimg $1: .*base.qcow2" err || grep -q "^vimg $1: .*link.qcow2" err ||
			fail "$cmd $img: error does not name the backing file: $(cat err)"
		# shellcheck disable=SC2086
		expect_status 0 "$VIMG" "$@" --allow-escape "$img" $dst
	done
	expect_status 2 "$VIMG" compare "$img" base.raw
	expect_status 0 "$VIMG" compare --allow-escape "$img" base.raw
	grep -qx 'Images are identical.' out || fail "compare --allow-escape $img"
done

# create -b refuses to record an escaping backing name, unless allowed.
expect_status 1 "$VIMG" create -f qcow2 -b ../base.qcow2 -F qcow2 vm/new.qcow2
grep -q '^vimg create: ' err || fail "create message: $(cat err)"
expect_status 0 "$VIMG" create -f qcow2 --allow-escape -b ../base.qcow2 -F qcow2 vm/new.qcow2
qemu-img compare vm/new.qcow2 base.raw >/dev/null || fail "escaped overlay content"
echo PASS
