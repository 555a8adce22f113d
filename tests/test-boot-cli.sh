#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# vimg boot's command line: usage errors exit 2, --output=json, --until,
# --expect, --screen, --overlay (a new qcow2 file backed by the image, the
# image itself unchanged), and the man page.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"
. "$VIMG_SRCDIR/tests/boot-functions.sh"

tmpdir
cd "$TMPD"

expect_status 0 "$VIMG" boot --help
grep -q "^Usage: vimg boot" out || fail "boot --help"
expect_status 2 "$VIMG" boot
expect_status 2 "$VIMG" boot --engine=bochs x.img
expect_status 2 "$VIMG" boot --until=bios x.img
expect_status 2 "$VIMG" boot --timer=maybe x.img
expect_status 2 "$VIMG" boot --timeout=-1 x.img
expect_status 2 "$VIMG" boot -m 1k x.img
expect_status 2 "$VIMG" boot --initrd=x x.img
grep -q "need --kernel" err || fail "--initrd without --kernel"
expect_status 2 "$VIMG" boot does-not-exist.img
[ -f "$VIMG_SRCDIR/man/vimg-boot.1" ] || fail "no man page"

require_kvm
require_as
payload lba-sum p1.bin
make_disk p1.img 8 p1.bin
sum=$(disk_sum p1.img 64 512)

boot_unchanged p1.img 0 --until loader --output=json
[ "$(json_get out "d['stage']")" = loader ] || fail "json stage"
[ "$(json_get out "d['exit-reason']")" = "stage loader reached" ] || fail "until loader"
[ "$(json_get out "d['engine']")" = kvm ] || fail "json engine"
if kvm_emulated; then
	[ "$(json_get out "d['emulated']")" = "emulated (kvm_pvm)" ] || fail "emulated not reported"
fi
boot_unchanged p1.img 0 --expect "SUM=$sum" --screen
grep -q "ended: expected output seen" out || fail "--expect"
grep -q "^| SUM=$sum" out || fail "--screen: $(cat out)"
boot_unchanged p1.img 1 --expect "NEVER" --timeout 3
boot_unchanged p1.img 0 --serial console.txt
grep -q "SUM=$sum" console.txt || fail "--serial"
! grep -q "SUM=" out || fail "console on stdout with --serial"

# --overlay: guest writes land in a new qcow2 backed by the image.
boot_unchanged p1.img 0 --overlay ov.qcow2
"$VIMG" info ov.qcow2 | grep -q "backing file:" || fail "overlay has no backing file"
"$VIMG" compare p1.img ov.qcow2 >/dev/null || fail "overlay differs from the image"
echo "PASS"
