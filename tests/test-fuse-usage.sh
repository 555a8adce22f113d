#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# vimgmount's command line: help, version, usage errors (exit 2) and open
# errors (exit 1, with the library's message) happen before any mount, so
# this test needs no FUSE.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"
. "$VIMG_SRCDIR/tests/fuse-functions.sh"
tmpdir
mkdir "$TMPD/mnt"

expect_status 0 "$VIMGMOUNT" --help
grep -q "Usage: vimgmount" "$TMPD/out" || fail "--help"
expect_status 0 "$VIMGMOUNT" -V
grep -q "^vimgmount " "$TMPD/out" || fail "-V"
expect_status 2 "$VIMGMOUNT"
expect_status 2 "$VIMGMOUNT" only-one-arg
expect_status 2 "$VIMGMOUNT" --nonesuch a b
expect_status 2 "$VIMGMOUNT" -o nonesuch a "$TMPD/mnt"
grep -q "unsupported -o option 'nonesuch'" "$TMPD/err" || fail "-o message: $(cat "$TMPD/err")"
expect_status 2 "$VIMGMOUNT" --format=nonesuch a "$TMPD/mnt"

expect_status 1 "$VIMGMOUNT" "$TMPD/missing.qcow2" "$TMPD/mnt"
grep -q "missing.qcow2" "$TMPD/err" || fail "missing image message: $(cat "$TMPD/err")"
truncate -s 1M "$TMPD/x.raw"
expect_status 1 "$VIMGMOUNT" "$TMPD/x.raw" "$TMPD/no-such-dir"
grep -q "not a directory" "$TMPD/err" || fail "mount point message"
# a corrupt image: the library's message, nothing mounted
printf 'QFI\373\0\0\0\3' >"$TMPD/bad.qcow2"
truncate -s 4k "$TMPD/bad.qcow2"
expect_status 1 "$VIMGMOUNT" "$TMPD/bad.qcow2" "$TMPD/mnt"
grep -q "^vimgmount: .*qcow2" "$TMPD/err" || fail "corrupt image message: $(cat "$TMPD/err")"
# -f followed by a format name, IMAGE and MOUNTPOINT names the format
expect_status 1 "$VIMGMOUNT" -f qcow2 "$TMPD/x.raw" "$TMPD/mnt"
grep -q "qcow2" "$TMPD/err" || fail "-f FMT: $(cat "$TMPD/err")"
# and the escape policy applies to backing files
mkdir "$TMPD/sub"
"$VIMG" create -f raw "$TMPD/base.raw" 1M >/dev/null
"$VIMG" create -f qcow2 -b ../base.raw -F raw --allow-escape "$TMPD/sub/top.qcow2" >/dev/null 2>&1 ||
	qemu-img create -q -f qcow2 -b ../base.raw -F raw "$TMPD/sub/top.qcow2"
expect_status 1 "$VIMGMOUNT" "$TMPD/sub/top.qcow2" "$TMPD/mnt"
grep -qi "escape\|outside\|denied\|refused" "$TMPD/err" || fail "escape message: $(cat "$TMPD/err")"
