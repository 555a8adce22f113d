#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# vimg check: the clean report, JSON agreeing with qemu-img check, a leaked
# cluster and a corrupted refcount made by editing the refcount block
# (exit 3 and 2 as qemu-img), repair with -r leaks / -r all verified by
# qemu-img check, read-only without -r, and 63 for a format without checker.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"

requires qemu-img --version
requires python3 --version
tmpdir
cd "$TMPD"

truncate -s 64M disk.raw
write_pattern disk.raw 2 3 chk
qemu-img convert -f raw -O qcow2 disk.raw clean.qcow2

# Clean image.
expect_status 0 "$VIMG" check clean.qcow2
grep -qx 'No errors were found on the image.' out || fail "clean: $(cat out)"
grep -q '^[0-9]*/[0-9]* = [0-9.]*% allocated, [0-9.]*% fragmented, [0-9.]*% compressed clusters$' out ||
	fail "statistics line: $(cat out)"
grep -q '^Image end offset: [0-9]*$' out || fail "end offset line"
"$VIMG" check --output=json clean.qcow2 >v.json || fail "check --output=json"
qemu-img check --output=json clean.qcow2 >q.json
python3 - v.json q.json <<'PY' || fail "check json differs from qemu-img"
import json, sys
v = json.load(open(sys.argv[1])); q = json.load(open(sys.argv[2]))
bad = [k for k in ('corruptions', 'leaks', 'check-errors', 'allocated-clusters',
                   'total-clusters', 'image-end-offset')
       if k in q and v.get(k) != q[k]]
for k in bad:
    print('%s: vimg %r, qemu-img %r' % (k, v.get(k), q[k]), file=sys.stderr)
sys.exit(1 if bad else 0)
PY

# set_refcount IMAGE CLUSTER VALUE: edit the first refcount block in place
# (qcow2 spec: refcount table offset at header byte 48; refcount order at
# byte 96 for version 3, 16-bit refcounts otherwise).
set_refcount() {
	python3 - "$@" <<'PY'
import struct, sys
path, cluster, value = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(path, 'r+b') as f:
    h = f.read(104)
    version = struct.unpack('>I', h[4:8])[0]
    cluster_bits = struct.unpack('>I', h[20:24])[0]
    rt_off = struct.unpack('>Q', h[48:56])[0]
    order = struct.unpack('>I', h[96:100])[0] if version >= 3 else 4
    assert order == 4, 'test expects 16-bit refcounts'
    f.seek(rt_off)
    rb_off = struct.unpack('>Q', f.read(8))[0]
    assert cluster < (1 << cluster_bits) // 2
    f.seek(rb_off + 2 * cluster)
    f.write(struct.pack('>H', value))
PY
}

# A leak: one more cluster at the end of the file, counted but unused.
cp clean.qcow2 leak.qcow2
size=$(stat -c %s leak.qcow2)
cl=$((size / 65536))
truncate -s $(((cl + 1) * 65536)) leak.qcow2
set_refcount leak.qcow2 "$cl" 1
set +e
qemu-img check leak.qcow2 >/dev/null 2>&1
[ $? -eq 3 ] || fail "qemu-img does not see the leak (test setup)"
set -e
sha256_unchanged leak.qcow2 "$VIMG" check leak.qcow2
expect_status 3 "$VIMG" check leak.qcow2
grep -q '^Leaked ' out || fail "no Leaked line: $(cat out)"
grep -q '^1 leaked clusters were found on the image.$' out || fail "leak summary: $(cat out)"
"$VIMG" check --output=json leak.qcow2 >v.json || [ $? -eq 3 ] || fail "json check of leak"
[ "$(json_get v.json "d['leaks']")" = 1 ] || fail "json leaks"
expect_status 0 "$VIMG" check -r leaks leak.qcow2
grep -q 'Repairing\|repaired' out || fail "-r leaks output: $(cat out)"
peer_check leak.qcow2
qemu-img compare disk.raw leak.qcow2 >/dev/null || fail "repair changed the contents"

# A corruption: a data cluster (found through qemu-img map) gets refcount 0.
cp clean.qcow2 corrupt.qcow2
off=$(qemu-img map --output=json corrupt.qcow2 | python3 -c '
import json, sys
print(next(e["offset"] for e in json.load(sys.stdin) if e["data"] and "offset" in e))')
set_refcount corrupt.qcow2 $((off / 65536)) 0
set +e
qemu-img check corrupt.qcow2 >/dev/null 2>&1
[ $? -eq 2 ] || fail "qemu-img does not see the corruption (test setup)"
set -e
expect_status 2 "$VIMG" check corrupt.qcow2
grep -q '^ERROR ' out || fail "no ERROR line: $(cat out)"
grep -q 'errors were found on the image.$' out || fail "corruption summary: $(cat out)"
expect_status 0 "$VIMG" check -r all corrupt.qcow2
peer_check corrupt.qcow2
qemu-img compare disk.raw corrupt.qcow2 >/dev/null || fail "repair changed the contents"

# raw has no checker: 63 as qemu-img.
expect_status 63 "$VIMG" check disk.raw
grep -q '^vimg check: ' err || fail "raw check message: $(cat err)"
expect_status 1 "$VIMG" check missing.qcow2
echo PASS
