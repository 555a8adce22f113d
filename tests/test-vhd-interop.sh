#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# vhd against peers: images qemu-img writes ("vpc" dynamic and fixed) read
# back identical in vimg; images vimg writes compare identical in qemu-img and
# open in libyal's vhdiinfo; a fixed VHD probes as vhd (qemu-img guesses
# raw); the Azure mode gives a 1 MiB-multiple size with a valid footer on a
# sparse file; a differencing child reads as its parent, and a wrong parent
# UUID is a clear error.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"

requires qemu-img --version
requires qemu-io --version
tmpdir
cd "$TMPD"

qemu-img create -q -f raw src.raw 70M
qemu-io -f raw -c "write -P 0x11 0 8k" -c "write -P 0x22 33M 1M" -c "write -P 0x33 69M 4k" \
	-c "write -P 0x44 1000k 3k" src.raw >/dev/null

for sub in dynamic fixed; do
	qemu-img convert -f raw -O vpc -o subformat=$sub src.raw q.vhd
	expect_status 0 "$VIMG" compare q.vhd src.raw
	"$VIMG" info q.vhd | grep -q "file format: vhd" || fail "qemu's $sub vhd not probed as vhd"
	"$VIMG" check q.vhd >/dev/null || fail "vimg check of qemu's $sub"
	"$VIMG" convert -O vhd -o subformat=$sub src.raw v.vhd
	qemu-img compare -q -f vpc -F raw v.vhd src.raw || fail "qemu-img compare $sub"
	if command -v vhdiinfo >/dev/null; then
		vhdiinfo v.vhd >/dev/null || fail "vhdiinfo $sub"
	fi
	rm -f q.vhd v.vhd
done

# Azure: 30 GiB + 1 byte becomes 30 GiB + 1 MiB; sparse; footer valid for qemu too.
"$VIMG" create -f vhd -o subformat=fixed,force_size=on az.vhd 32212254721 >/dev/null
[ "$(stat -c %s az.vhd)" = $((32212254720 + 1048576 + 512)) ] || fail "azure file size"
[ "$(stat -c %b az.vhd)" -lt 2048 ] || fail "azure image not sparse"
"$VIMG" info --output=json az.vhd >az.json
[ "$(json_get az.json "d['virtual-size']")" = $((32212254720 + 1048576)) ] || fail "azure size"
qemu-img info -f vpc az.vhd | grep -q "(32213303296 bytes)" || fail "qemu-img disagrees on size"

# Differencing.
"$VIMG" convert -O vhd src.raw base.vhd
"$VIMG" create -f vhd -b base.vhd child.vhd >/dev/null
expect_status 0 "$VIMG" compare child.vhd src.raw
if command -v vhdiinfo >/dev/null; then
	vhdiinfo child.vhd | grep -q "Parent filename.*base.vhd" || fail "vhdiinfo: parent name"
fi
mv base.vhd base.keep
"$VIMG" create -f vhd base.vhd 70M >/dev/null
expect_status 1 "$VIMG" convert -O raw child.vhd out.raw
grep -q "parent UUID .* does not match the parent's UUID" "$TMPD/err" ||
	fail "no UUID mismatch message: $(cat "$TMPD/err")"
echo ok
