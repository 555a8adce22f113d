#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# vimg convert: raw <-> qcow2 checked by qemu-img compare and check, -S 0
# allocating everything, -c compressing, -B making an overlay that holds only
# the difference, -p progress, -m/-W, and usage errors.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"

requires qemu-img --version
requires python3 --version
tmpdir
cd "$TMPD"

# 32 MiB with patterned data at 1 MiB and 20 MiB, a written zero MiB at
# 10 MiB (zero detection) and holes elsewhere.
truncate -s 32M disk.raw
write_pattern disk.raw 1 2 a
write_pattern disk.raw 20 1 b
dd if=/dev/zero of=disk.raw bs=1M seek=10 count=1 conv=notrunc 2>/dev/null

# raw -> qcow2 -> raw
expect_status 0 "$VIMG" convert -O qcow2 disk.raw disk.qcow2
[ ! -s out ] || fail "convert printed: $(cat out)"
peer_check disk.qcow2
qemu-img compare disk.raw disk.qcow2 >/dev/null || fail "raw -> qcow2 differs"
expect_status 0 "$VIMG" compare disk.raw disk.qcow2
expect_status 0 "$VIMG" convert -f qcow2 -O raw disk.qcow2 back.raw
cmp disk.raw back.raw || fail "qcow2 -> raw differs"
[ "$(stat -c %s back.raw)" = 33554432 ] || fail "raw size"
# Sparse: 3 MiB of data, so well under 8 MiB allocated for either.
[ "$(du -k back.raw | cut -f1)" -lt 8192 ] || fail "raw output not sparse"
[ "$(du -k disk.qcow2 | cut -f1)" -lt 8192 ] || fail "qcow2 output not sparse"
# The written zeros were not stored as data.
qemu-img map --output=json disk.qcow2 >map.json
python3 - map.json <<'PY' || fail "zero MiB at 10 MiB stored as data"
import json, sys
for e in json.load(open(sys.argv[1])):
    if e['data'] and e['start'] < 11 << 20 and e['start'] + e['length'] > 10 << 20:
        sys.exit(1)
PY

# -S 0: everything written.
expect_status 0 "$VIMG" convert -S 0 -O raw disk.qcow2 full.raw
cmp disk.raw full.raw || fail "-S 0 content"
[ "$(du -k full.raw | cut -f1)" -ge 32768 ] || fail "-S 0 output is sparse: $(du -k full.raw)"

# -c: compressed clusters that qemu-img reads back.
truncate -s 16M text.raw
python3 -c 'import sys; open("text.raw","r+b").write(b"compressible vimg data\n" * 300000)'
expect_status 0 "$VIMG" convert -c -O qcow2 text.raw text-c.qcow2
expect_status 0 "$VIMG" convert -O qcow2 text.raw text.qcow2
peer_check text-c.qcow2
qemu-img compare text.raw text-c.qcow2 >/dev/null || fail "-c content"
qemu-img check --output=json text-c.qcow2 >chk.json
[ "$(json_get chk.json "d.get('compressed-clusters', 0)")" -gt 0 ] || fail "-c compressed nothing"
[ "$(stat -c %s text-c.qcow2)" -lt "$(stat -c %s text.qcow2)" ] || fail "-c output not smaller"
expect_status 1 "$VIMG" convert -c -O raw text.raw x.raw
grep -q 'does not support compression' err || fail "-c raw message: $(cat err)"

# -B: the new image backs onto base.qcow2 and holds only what differs.
cp disk.raw changed.raw
write_pattern changed.raw 5 1 c
expect_status 0 "$VIMG" convert -O qcow2 -B disk.qcow2 -F qcow2 changed.raw delta.qcow2
qemu-img info --output=json delta.qcow2 >q.json
[ "$(json_get q.json "d['backing-filename']")" = disk.qcow2 ] || fail "-B backing name"
peer_check delta.qcow2
qemu-img compare changed.raw delta.qcow2 >/dev/null || fail "-B content"
# An overlay whose chain equals the source: -B base keeps only the top layer.
qemu-img create -q -f qcow2 -b disk.qcow2 -F qcow2 ov.qcow2
if command -v qemu-io >/dev/null 2>&1; then
	qemu-io -c 'write -P 0x77 3M 64k' ov.qcow2 >/dev/null
	expect_status 0 "$VIMG" convert -O qcow2 -B disk.qcow2 -F qcow2 ov.qcow2 ov2.qcow2
	qemu-img compare ov.qcow2 ov2.qcow2 >/dev/null || fail "-B overlay content"
	[ "$(du -k ov2.qcow2 | cut -f1)" -lt 1024 ] || fail "-B copied the backing data"
fi

# -p shows progress on stderr and ends at 100%; -q stays quiet.
expect_status 0 "$VIMG" convert -p -O qcow2 disk.raw p.qcow2
grep -q '100.00/100%' err || fail "-p output: $(cat err)"
expect_status 0 "$VIMG" convert -p -q -O qcow2 disk.raw q.qcow2
[ ! -s err ] || fail "-q -p printed: $(cat err)"

# Threads and out-of-order writes change nothing in the result.
expect_status 0 "$VIMG" convert -m 1 -O qcow2 disk.raw m1.qcow2
expect_status 0 "$VIMG" convert -m 4 -W -O qcow2 disk.raw m4.qcow2
for f in m1.qcow2 m4.qcow2; do
	peer_check "$f"
	qemu-img compare disk.raw "$f" >/dev/null || fail "$f differs"
done

# -W asks for unordered writes; a stream target is still written in order.
"$VIMG" convert -W -m 4 -O vmdk -o subformat=streamOptimized disk.raw w.vmdk ||
	fail "convert -W to streamOptimized"
qemu-img compare disk.raw w.vmdk >/dev/null || fail "-W streamOptimized differs"

# Usage and image errors.
expect_status 2 "$VIMG" convert -O no-such-format disk.raw x.img
expect_status 2 "$VIMG" convert -O qcow2 disk.raw
expect_status 2 "$VIMG" convert -S -5 -O qcow2 disk.raw x.qcow2
expect_status 2 "$VIMG" convert -F qcow2 -O qcow2 disk.raw x.qcow2
expect_status 1 "$VIMG" convert -O qcow2 missing.raw x.qcow2
grep -q '^vimg convert: ' err || fail "missing source message"
expect_status 0 "$VIMG" convert -O qcow2 -o help
grep -q 'cluster_size' out || fail "convert -o help"
echo PASS
