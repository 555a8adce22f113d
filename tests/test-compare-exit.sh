#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# vimg compare: qemu-img compare's messages and exit codes: 0 identical, 1
# different (with the first differing offset), 2 error; size mismatches with
# and without -s; formats given with -f/-F.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"

requires qemu-img --version
tmpdir
cd "$TMPD"

truncate -s 16M a.raw
printf 'vimg compare test' | dd of=a.raw bs=1 seek=65536 conv=notrunc 2>/dev/null
qemu-img convert -f raw -O qcow2 a.raw a.qcow2

expect_status 0 "$VIMG" compare a.raw a.qcow2
grep -qx 'Images are identical.' out || fail "identical: $(cat out)"
expect_status 0 "$VIMG" compare -f raw -F qcow2 a.raw a.qcow2
expect_status 0 "$VIMG" compare -p a.qcow2 a.raw
grep -qx 'Images are identical.' out || fail "-p identical"

# One byte differs, away from any cluster boundary.
cp a.raw b.raw
printf 'X' | dd of=b.raw bs=1 seek=1234567 conv=notrunc 2>/dev/null
expect_status 1 "$VIMG" compare a.qcow2 b.raw
grep -qx 'Content mismatch at offset 1234567!' out || fail "mismatch: $(cat out)"
expect_status 1 "$VIMG" compare -q a.qcow2 b.raw
[ ! -s out ] || fail "-q printed: $(cat out)"
# qemu-img agrees that they differ.
set +e
qemu-img compare a.qcow2 b.raw >/dev/null 2>&1
[ $? -eq 1 ] || fail "qemu-img does not see the difference"
set -e

# A longer image whose tail reads as zeros: equal, unless -s.
cp a.raw long.raw
truncate -s 20M long.raw
expect_status 0 "$VIMG" compare a.qcow2 long.raw
grep -qx 'Warning: Image size mismatch!' out || fail "size warning: $(cat out)"
grep -qx 'Images are identical.' out || fail "zero tail identical"
expect_status 1 "$VIMG" compare -s a.qcow2 long.raw
grep -qx 'Strict mode: Image size mismatch!' out || fail "strict: $(cat out)"
# A non-zero byte in the tail differs at its offset.
printf 'T' | dd of=long.raw bs=1 seek=$((18 * 1024 * 1024 + 5)) conv=notrunc 2>/dev/null
expect_status 1 "$VIMG" compare a.qcow2 long.raw
grep -qx "Content mismatch at offset $((18 * 1024 * 1024 + 5))!" out ||
	fail "tail mismatch: $(cat out)"

# Errors exit 2.
expect_status 2 "$VIMG" compare a.raw missing.raw
grep -q '^vimg compare: ' err || fail "missing file message: $(cat err)"
expect_status 2 "$VIMG" compare -f qcow2 a.raw a.qcow2
expect_status 2 "$VIMG" compare a.raw
expect_status 2 "$VIMG" compare -f no-such-format a.raw a.qcow2
echo PASS
