#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# vimg create: raw and qcow2 images qemu-img accepts, create options,
# backing files with -b/-F/-u, -o help, -q, and clear errors for bad input.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"

requires qemu-img --version
requires python3 --version
tmpdir
cd "$TMPD"

# raw
expect_status 0 "$VIMG" create -f raw disk.raw 3M
grep -qx "Formatting 'disk.raw', fmt=raw size=3145728" out || fail "raw: $(cat out)"
[ "$(stat -c %s disk.raw)" = 3145728 ] || fail "raw size"

# qcow2, default options; qemu-img must find it clean.
expect_status 0 "$VIMG" create -f qcow2 base.qcow2 64M
grep -q "^Formatting 'base.qcow2', fmt=qcow2 size=67108864" out || fail "qcow2: $(cat out)"
qemu-img info --output=json base.qcow2 >q.json
[ "$(json_get q.json "d['format']")" = qcow2 ] || fail "qemu-img format"
[ "$(json_get q.json "d['virtual-size']")" = 67108864 ] || fail "qemu-img virtual size"
peer_check base.qcow2

# -o help lists the format's options; cluster_size must work.
expect_status 0 "$VIMG" create -f qcow2 -o help
grep -q '^Supported options for qcow2:' out || fail "-o help heading"
grep -q 'cluster_size=' out || fail "-o help lacks cluster_size: $(cat out)"
expect_status 0 "$VIMG" create -f qcow2 -o '?'
expect_status 0 "$VIMG" create -f qcow2 -o cluster_size=4k small.qcow2 1G
qemu-img info --output=json small.qcow2 >q.json
[ "$(json_get q.json "d['cluster-size']")" = 4096 ] || fail "cluster_size=4k"
peer_check small.qcow2
# Several -o accumulate.
expect_status 0 "$VIMG" create -f qcow2 -o cluster_size=128k -o compat=1.1 multi.qcow2 1G
qemu-img info --output=json multi.qcow2 >q.json
[ "$(json_get q.json "d['cluster-size']")" = 131072 ] || fail "two -o"
peer_check multi.qcow2

# Backing file: size taken from it when SIZE is left out.
expect_status 0 "$VIMG" create -f qcow2 -b base.qcow2 -F qcow2 top.qcow2
grep -q "^Formatting 'top.qcow2', fmt=qcow2 size=67108864 backing_file=base.qcow2 backing_fmt=qcow2" out ||
	fail "overlay: $(cat out)"
qemu-img info --output=json top.qcow2 >q.json
[ "$(json_get q.json "d['backing-filename']")" = base.qcow2 ] || fail "backing-filename"
[ "$(json_get q.json "d['backing-filename-format']")" = qcow2 ] || fail "backing format"
[ "$(json_get q.json "d['virtual-size']")" = 67108864 ] || fail "size from backing"
peer_check top.qcow2
qemu-img compare base.qcow2 top.qcow2 >/dev/null || fail "overlay differs from base"

# -u: the backing file need not exist, but SIZE is required.
expect_status 0 "$VIMG" create -q -f qcow2 -u -b missing.qcow2 -F qcow2 unsafe.qcow2 1M
[ ! -s out ] || fail "-q printed: $(cat out)"
expect_status 2 "$VIMG" create -f qcow2 -u -b missing.qcow2 -F qcow2 unsafe2.qcow2
# Without -u a missing backing file is an error.
expect_status 1 "$VIMG" create -f qcow2 -b missing.qcow2 -F qcow2 bad.qcow2
grep -q '^vimg create: ' err || fail "missing backing message: $(cat err)"

# Bad input: one clear line on stderr, exit 1 (rejected by the library)
# or 2 (command line).
expect_status 1 "$VIMG" create -f qcow2 -o no_such_option=1 x.qcow2 1M
grep -q '^vimg create: .*no_such_option' err || fail "unknown option message: $(cat err)"
expect_status 1 "$VIMG" create -f qcow2 -o cluster_size=3000 x.qcow2 1M
grep -q '^vimg create: ' err || fail "bad cluster size message: $(cat err)"
expect_status 2 "$VIMG" create -f no-such-format x.img 1M
expect_status 2 "$VIMG" create -f qcow2 x.qcow2 12Q
grep -q "invalid size '12Q'" err || fail "bad size message: $(cat err)"
expect_status 2 "$VIMG" create -f qcow2 x.qcow2 -- -1
expect_status 2 "$VIMG" create -f qcow2 x.qcow2
expect_status 2 "$VIMG" create -f qcow2 -F qcow2 x.qcow2 1M
echo PASS
