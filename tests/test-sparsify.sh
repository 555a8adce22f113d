#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# vimg sparsify in place: qemu-img reads the same disk before and after and
# calls the image clean; zero-filled data written by qemu-io comes back to
# the host (qcow2, raw); an overlay's zeroed clusters do not uncover its
# backing file; --dry-run changes no byte; formats that cannot mark zeros
# say so and are left alone.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"

requires qemu-img --version
requires qemu-io --version
requires python3 --version
tmpdir
cd "$TMPD"

# zeroed FMT NAME [CREATE_OPTS]: 16 MiB with 8 MiB of written zeros and
# 1 MiB of data, every byte of it in the file (no sparse copy).
zeroed() {
	qemu-img create -q -f "$1" ${3:+-o "$3"} "$2" 16M
	qemu-io -f "$1" -c "write -P 0 0 8M" -c "write -P 0x5a 8M 1M" "$2" >/dev/null
}
kib() { du -k "$1" | cut -f1; }

for case in qcow2: qcow2:compat=0.10 qcow2:cluster_size=4k raw: vmdk: vhdx:; do
	fmt=${case%%:*} opts=${case#*:}
	img=s-$fmt${opts:+-$opts}
	zeroed "$fmt" "$img" "$opts"
	qemu-img convert -f "$fmt" -O raw "$img" "$img.raw"
	before=$(sha256sum "$img")
	expect_status 0 "$VIMG" sparsify --dry-run --output=json "$img"
	[ "$(sha256sum "$img")" = "$before" ] || fail "$img: --dry-run wrote"
	[ "$(json_get out "d['zero-bytes'] >= 8 << 20")" = True ] || fail "$img: dry run found $(cat out)"
	k0=$(kib "$img")
	expect_status 0 "$VIMG" sparsify --output=json "$img"
	qemu-img compare -f "$fmt" -F raw "$img" "$img.raw" >/dev/null || fail "$img: the disk changed"
	rc=0
	qemu-img check -f "$fmt" "$img" >check.out 2>&1 || rc=$?
	[ $rc = 0 ] || [ $rc = 63 ] || { cat check.out; fail "$img: qemu-img check exited $rc"; }
	got=$(json_get out "d['reclaimed-bytes']")
	case $fmt in
	qcow2 | raw)
		[ "$got" -ge $((7 << 20)) ] || fail "$img: only $got bytes given back"
		[ $(($(kib "$img") + 7168)) -le "$k0" ] || fail "$img: $(kib "$img") KiB from $k0"
		;;
	esac
	echo "ok: $img: $got bytes back"
done

# An overlay: zeros made zero, not unallocated (the backing shows through
# where the overlay held zeros otherwise).
truncate -s 16M base.raw
write_pattern base.raw 0 16 base
qemu-img convert -O qcow2 base.raw base.qcow2
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 over.qcow2
qemu-io -c "write -P 0 2M 4M" over.qcow2 >/dev/null
qemu-img convert -O raw over.qcow2 over.raw
expect_status 0 "$VIMG" sparsify over.qcow2
qemu-img compare over.qcow2 over.raw >/dev/null || fail "overlay: the backing shows through"
peer_check over.qcow2

# Formats that cannot: an error, no byte changed.
for fmt in vpc vdi; do
	zeroed "$fmt" "n.$fmt"
	before=$(sha256sum "n.$fmt")
	expect_status 1 "$VIMG" sparsify "n.$fmt"
	grep -q "not supported" err || fail "$fmt: $(cat err)"
	[ "$(sha256sum "n.$fmt")" = "$before" ] || fail "$fmt: a refused sparsify wrote"
done
echo "PASS"
