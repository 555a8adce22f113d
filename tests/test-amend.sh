#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# vimg amend against qemu-img amend on qcow2: compat 0.10 -> 1.1 -> 0.10
# and lazy refcounts give the header qemu-img info reports after qemu-img
# amend does the same, the disk unchanged and qemu-img check clean; what
# cannot change (cluster_size, a downgrade over zero clusters) is refused
# with the file untouched; -o backing_file= moves the pointer.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"

requires qemu-img --version
requires qemu-io --version
requires python3 --version
tmpdir
cd "$TMPD"

spec() { qemu-img info --output=json "$1" | json_get /dev/stdin \
	"(d['format-specific']['data']['compat'], d['format-specific']['data'].get('lazy-refcounts'))"; }

qemu-img create -q -f qcow2 -o compat=0.10 v.qcow2 16M
qemu-io -c "write -P 7 1M 1M" -c "write -P 9 9M 64k" v.qcow2 >/dev/null
qemu-img convert -O raw v.qcow2 v.raw
cp v.qcow2 q.qcow2
for step in compat=1.1 lazy_refcounts=on lazy_refcounts=off compat=0.10 compat=1.1,lazy_refcounts=on; do
	expect_status 0 "$VIMG" amend -o "$step" v.qcow2
	qemu-img amend -o "$step" q.qcow2
	[ "$(spec v.qcow2)" = "$(spec q.qcow2)" ] || fail "$step: $(spec v.qcow2), qemu-img: $(spec q.qcow2)"
	peer_check v.qcow2
	qemu-img compare v.qcow2 v.raw >/dev/null || fail "$step: the disk changed"
	echo "ok: $step: $(spec v.qcow2)"
done

# Refused, the file untouched: a layout option, and a downgrade over a
# zero cluster (qemu-img converts those; vimg says to convert the image).
qemu-io -c "write -z 2M 64k" v.qcow2 >/dev/null
before=$(sha256sum v.qcow2)
expect_status 1 "$VIMG" amend -o cluster_size=4k v.qcow2
grep -q "cluster_size cannot be amended" err || fail "cluster_size: $(cat err)"
expect_status 1 "$VIMG" amend -o compat=0.10 v.qcow2
grep -q "zero clusters" err || fail "downgrade: $(cat err)"
expect_status 1 "$VIMG" amend -o nonesuch=1 v.qcow2
[ "$(sha256sum v.qcow2)" = "$before" ] || fail "a refused amend wrote"

# The backing pointer, as qemu-img amend -o backing_file= sets it.
qemu-img create -q -f qcow2 base.qcow2 16M
expect_status 0 "$VIMG" amend -o backing_file=base.qcow2,backing_fmt=qcow2 v.qcow2
[ "$(qemu-img info --output=json v.qcow2 |
	json_get /dev/stdin "d['backing-filename'], d['backing-filename-format']")" = \
	"('base.qcow2', 'qcow2')" ] || fail "backing_file="
peer_check v.qcow2

# Formats without amend say so.
"$VIMG" create -q -f vdi n.vdi 1M
expect_status 1 "$VIMG" amend -o static=on n.vdi
grep -q "amending is not supported" err || fail "vdi: $(cat err)"
echo "PASS"
