#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# vimg info: human lines as qemu-img prints them, JSON that parses and agrees
# with qemu-img info --output=json, --backing-chain, and string escaping.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"

requires qemu-img --version
requires python3 --version
tmpdir
cd "$TMPD"

truncate -s 64M disk.raw
write_pattern disk.raw 1 2 info
qemu-img convert -f raw -O qcow2 disk.raw base.qcow2
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 top.qcow2

# Human output of a raw image.
expect_status 0 "$VIMG" info disk.raw
grep -qx 'image: disk.raw' out || fail "image line: $(cat out)"
grep -qx 'file format: raw' out || fail "raw format line"
grep -qx 'virtual size: 64 MiB (67108864 bytes)' out || fail "raw virtual size line"
grep -q '^disk size: ' out || fail "disk size line"
! grep -q '^cluster_size' out || fail "raw has no cluster size"

# Human output of a qcow2 overlay.
expect_status 0 "$VIMG" info top.qcow2
grep -qx 'file format: qcow2' out || fail "qcow2 format line"
grep -qx 'virtual size: 64 MiB (67108864 bytes)' out || fail "qcow2 virtual size"
grep -qx 'cluster_size: 65536' out || fail "cluster_size line"
grep -q '^backing file: base.qcow2' out || fail "backing file line"
grep -qx 'backing file format: qcow2' out || fail "backing file format line"
grep -qx 'Format specific information:' out || fail "format specific heading"
grep -q '^    compat: ' out || fail "compat line: $(cat out)"

# JSON agrees with qemu-img on the shared keys.
for img in disk.raw base.qcow2 top.qcow2; do
	"$VIMG" info --output=json "$img" >v.json || fail "info --output=json $img"
	qemu-img info --output=json "$img" >q.json
	python3 - v.json q.json <<'PY' || fail "info json of $img differs from qemu-img"
import json, sys
v = json.load(open(sys.argv[1])); q = json.load(open(sys.argv[2]))
keys = ['filename', 'format', 'virtual-size', 'cluster-size', 'backing-filename',
        'backing-filename-format']
bad = [(k, v.get(k), q.get(k)) for k in keys if v.get(k) != q.get(k)]
if 'format-specific' in q and q['format-specific'].get('data'):
    fv, fq = v.get('format-specific', {}), q['format-specific']
    if fv.get('type') != fq['type']:
        bad.append(('format-specific.type', fv.get('type'), fq['type']))
    for k in ('compat', 'refcount-bits', 'lazy-refcounts', 'corrupt'):
        if k in fq['data'] and k in fv.get('data', {}) and fv['data'][k] != fq['data'][k]:
            bad.append(('format-specific.data.' + k, fv['data'][k], fq['data'][k]))
if not isinstance(v.get('actual-size'), int):
    bad.append(('actual-size', v.get('actual-size'), 'an integer'))
for b in bad:
    print('mismatch %s: vimg %r, qemu-img %r' % b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
done

# --backing-chain: a JSON array, top first; human output shows both images.
"$VIMG" info --backing-chain --output=json top.qcow2 >chain.json
n=$(json_get chain.json "len(d)")
[ "$n" = 2 ] || fail "backing chain has $n entries"
json_get chain.json "d[1]['filename']" | grep -q 'base.qcow2$' || fail "chain[1] filename"
expect_status 0 "$VIMG" info --backing-chain top.qcow2
[ "$(grep -c '^image: ' out)" -eq 2 ] || fail "human backing chain: $(cat out)"

# Strings are escaped: a file name with a quote, a backslash and a tab.
weird=$(printf 'we"ird\\na\tme.raw')
truncate -s 1M "$weird"
"$VIMG" info --output=json "$weird" >w.json || fail "info on a weird name"
python3 -c 'import json,sys; d=json.load(open("w.json")); sys.exit(d["filename"] != sys.argv[1])' \
	"$weird" || fail "filename not escaped properly: $(cat w.json)"

# Never modifies the image, even without the backing file.
sha256_unchanged top.qcow2 "$VIMG" info --output=json top.qcow2
mv base.qcow2 moved.qcow2
expect_status 0 "$VIMG" info top.qcow2
grep -q '^backing file: base.qcow2' out || fail "info without the backing file"
expect_status 1 "$VIMG" info --backing-chain top.qcow2
echo PASS
