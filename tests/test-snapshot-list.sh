#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# vimg snapshot -l prints qemu-img snapshot -l's table line for line, JSON
# that parses, nothing for an image without snapshots; info shows the table;
# -c/-d/-a are refused as not supported yet.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"

requires qemu-img --version
requires python3 --version
tmpdir
cd "$TMPD"

qemu-img create -q -f qcow2 snap.qcow2 16M
expect_status 0 "$VIMG" snapshot -l snap.qcow2
[ ! -s out ] || fail "output for an image without snapshots: $(cat out)"

qemu-img snapshot -c first snap.qcow2
qemu-img snapshot -c "second one" snap.qcow2
expect_status 0 "$VIMG" snapshot -l snap.qcow2
qemu-img snapshot -l snap.qcow2 >q.txt
cmp out q.txt || { diff out q.txt >&2 || true; fail "snapshot table differs from qemu-img"; }

"$VIMG" snapshot -l --output=json snap.qcow2 >v.json || fail "snapshot -l --output=json"
[ "$(json_get v.json "[s['name'] for s in d]")" = "['first', 'second one']" ] ||
	fail "json names: $(cat v.json)"
qemu-img info --output=json snap.qcow2 >q.json
python3 - v.json q.json <<'PY' || fail "snapshot json differs from qemu-img info"
import json, sys
v = json.load(open(sys.argv[1])); q = json.load(open(sys.argv[2]))['snapshots']
keys = ('id', 'name', 'vm-state-size', 'date-sec', 'date-nsec', 'vm-clock-sec', 'vm-clock-nsec')
sys.exit(0 if [{k: s[k] for k in keys} for s in v] == [{k: s[k] for k in keys} for s in q] else 1)
PY

# info shows the same table, and the JSON snapshots array.
expect_status 0 "$VIMG" info snap.qcow2
grep -qx 'Snapshot list:' out || fail "info lacks the snapshot list"
grep -q '^2 *second one ' out || fail "info snapshot line: $(cat out)"
"$VIMG" info --output=json snap.qcow2 >i.json
[ "$(json_get i.json "len(d['snapshots'])")" = 2 ] || fail "info json snapshots"

sha256_unchanged snap.qcow2 "$VIMG" snapshot -l snap.qcow2
# Two operations at once are a usage error (test-snapshot-qemu.sh covers -c/-a/-d).
expect_status 2 "$VIMG" snapshot -l -d first snap.qcow2
expect_status 2 "$VIMG" snapshot snap.qcow2
expect_status 1 "$VIMG" snapshot -l missing.qcow2
echo PASS
