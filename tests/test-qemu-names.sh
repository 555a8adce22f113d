#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# qemu-img's habits: its format names (vpc for vhd) in -f, -O, -F and
# create; info and formats showing them; a backing format recorded in the
# spelling qemu reads; -o size=, backing_file=, backing_fmt= and vmdk's
# compat6 in create.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"

requires qemu-img --version
requires python3 --version
tmpdir
cd "$TMPD"

truncate -s 8M disk.raw
write_pattern disk.raw 1 2 names

# -O vpc writes what qemu-img calls vpc, with the same contents.
expect_status 0 "$VIMG" convert -O vpc disk.raw disk.vhd
[ "$(qemu-img info --output=json disk.vhd | json_get /dev/stdin "d['format']")" = vpc ] ||
	fail "qemu-img does not see vpc"
qemu-img compare -f raw -F vpc disk.raw disk.vhd >/dev/null || fail "-O vpc contents"

# -f vpc, and info naming both.
expect_status 0 "$VIMG" info -f vpc disk.vhd
grep -qx 'file format: vhd (qemu-img: vpc)' out || fail "info: $(grep 'file format' out)"
expect_status 0 "$VIMG" info --output=json disk.vhd
[ "$(json_get out "d['format'], d['qemu-format']")" = "('vhd', 'vpc')" ] || fail "info JSON"
expect_status 0 "$VIMG" info --output=json disk.raw
[ "$(json_get out "d['qemu-format']")" = raw ] || fail "info JSON of raw"
expect_status 0 "$VIMG" compare -f raw -F vpc disk.raw disk.vhd
expect_status 0 "$VIMG" convert -f vpc -O raw disk.vhd back.raw
qemu-img compare -f raw -F raw disk.raw back.raw >/dev/null || fail "-f vpc contents"

# create -f vpc, and qemu-img's create options.
expect_status 0 "$VIMG" create -f vpc -o subformat=fixed fixed.vhd 4M
grep -q "fmt=vpc size=4194304" out || fail "create -f vpc: $(cat out)"
# qemu probes a fixed VHD (a footer only) as raw: named, it agrees on the size.
q=$(qemu-img info -f vpc --output=json fixed.vhd | json_get /dev/stdin "d['virtual-size']")
v=$("$VIMG" info --output=json fixed.vhd | json_get /dev/stdin "d['virtual-size']")
[ "$q" = "$v" ] || fail "create -f vpc: qemu-img sees $q bytes, vimg $v"
expect_status 0 "$VIMG" create -f vpc -o help
grep -q '^  subformat=' out || fail "-o help for vpc"

# formats lists qemu's name.
expect_status 0 "$VIMG" formats --output=json
got=$(json_get out "' '.join('%s=%s' % (f['name'], f['qemu-name']) for f in d)")
[ "$got" = "qcow2=qcow2 vhdx=vhdx vdi=vdi vmdk=vmdk vhd=vpc raw=raw" ] || fail "formats: $got"
expect_status 0 "$VIMG" formats
grep -q 'qemu-img calls it vpc' out || fail "formats text"

# A qcow2 over a VHD: the backing format is written as qemu reads it, and
# qemu-img's own such image (backing format "vpc") reads in vimg.
expect_status 0 "$VIMG" create -f qcow2 -b disk.vhd probed.qcow2
expect_status 0 "$VIMG" create -f qcow2 -b disk.vhd -F vhd named.qcow2
for img in probed.qcow2 named.qcow2; do
	f=$(qemu-img info --output=json "$img" | json_get /dev/stdin "d['backing-filename-format']")
	[ "$f" = vpc ] || fail "$img: backing format '$f'"
	qemu-img compare -F raw "$img" disk.raw >/dev/null || fail "$img: qemu-img cannot read it"
done
qemu-img create -q -f qcow2 -b disk.vhd -F vpc qemu.qcow2
expect_status 0 "$VIMG" compare -F raw qemu.qcow2 disk.raw

# -o size=, backing_file=, backing_fmt=; -b and SIZE win over them.
expect_status 0 "$VIMG" create -f qcow2 -o size=2M,cluster_size=4k sized.qcow2
[ "$(qemu-img info --output=json sized.qcow2 |
	json_get /dev/stdin "d['virtual-size'], d['cluster-size']")" = "(2097152, 4096)" ] ||
	fail "-o size="
expect_status 0 "$VIMG" create -f qcow2 -o size=2M sized2.qcow2 3M
[ "$(qemu-img info --output=json sized2.qcow2 | json_get /dev/stdin "d['virtual-size']")" = \
	3145728 ] || fail "SIZE does not win over -o size="
expect_status 0 "$VIMG" create -f qcow2 -o backing_file=disk.vhd,backing_fmt=vpc child.qcow2
[ "$(qemu-img info --output=json child.qcow2 |
	json_get /dev/stdin "d['backing-filename'], d['backing-filename-format']")" = \
	"('disk.vhd', 'vpc')" ] || fail "-o backing_file="
qemu-img compare -F raw child.qcow2 disk.raw >/dev/null || fail "-o backing_file= contents"
expect_status 2 "$VIMG" create -f qcow2 -o size=huge bad.qcow2
grep -q "invalid size 'huge'" err || fail "-o size=huge: $(cat err)"

# vmdk's compat6 as qemu-img writes it.
expect_status 0 "$VIMG" create -f vmdk -o compat6=on c6.vmdk 1M
qemu-img create -q -f vmdk -o compat6=on q6.vmdk 1M
[ "$(grep -a virtualHWVersion c6.vmdk)" = "$(grep -a virtualHWVersion q6.vmdk)" ] ||
	fail "compat6: $(grep -a virtualHWVersion c6.vmdk)"
expect_status 1 "$VIMG" create -f vmdk -o compat6=on,hwversion=7 c7.vmdk 1M
grep -q "compat6 and hwversion" err || fail "compat6 with hwversion: $(cat err)"
echo "PASS"
