#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# vmdk interop both ways: every subformat qemu-img writes reads back identical
# in vimg; every subformat vimg writes passes qemu-img check, qemu-img compare
# and libyal's vmdkinfo (when installed), and vimg's own check.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"
requires qemu-img --version
tmpdir

src=$TMPD/src.raw
qemu-img create -q -f raw "$src" 200M
write_pattern "$src" 0 1 a
write_pattern "$src" 70 2 b
write_pattern "$src" 199 1 c

for sf in monolithicSparse monolithicFlat twoGbMaxExtentSparse twoGbMaxExtentFlat \
	  streamOptimized; do
	mkdir "$TMPD/q-$sf"
	qemu-img convert -f raw -O vmdk -o subformat=$sf "$src" "$TMPD/q-$sf/d.vmdk"
	expect_status 0 "$VIMG" compare "$TMPD/q-$sf/d.vmdk" "$src"
	expect_status 0 "$VIMG" check "$TMPD/q-$sf/d.vmdk"
done

for sf in monolithicSparse monolithicFlat twoGbMaxExtentSparse twoGbMaxExtentFlat \
	  streamOptimized vmfs vmfsThin; do
	d=$TMPD/v-$sf
	mkdir "$d"
	expect_status 0 "$VIMG" convert -O vmdk -o subformat=$sf "$src" "$d/d.vmdk"
	expect_status 0 "$VIMG" compare "$d/d.vmdk" "$src"
	expect_status 0 "$VIMG" check "$d/d.vmdk"
	peer_check "$d/d.vmdk"
	qemu-img compare -q "$d/d.vmdk" "$src" || fail "qemu-img compare $sf"
	if command -v vmdkinfo >/dev/null 2>&1; then
		vmdkinfo "$d/d.vmdk" >"$TMPD/vmdkinfo.out" 2>&1 || {
			cat "$TMPD/vmdkinfo.out" >&2
			fail "vmdkinfo $sf"
		}
	fi
done

# zeroed_grain and adapter options survive qemu's reading.
expect_status 0 "$VIMG" create -f vmdk -o zeroed_grain=on,adapter_type=lsilogic,hwversion=14 \
	"$TMPD/zg.vmdk" 16M
qemu-io -f vmdk -c "write -P 0x42 0 1M" -c "write -z 64k 128k" "$TMPD/zg.vmdk" >/dev/null
qemu-img convert -O raw "$TMPD/zg.vmdk" "$TMPD/zg.raw"
expect_status 0 "$VIMG" compare "$TMPD/zg.vmdk" "$TMPD/zg.raw"
"$VIMG" info "$TMPD/zg.vmdk" | grep -q 'adapter type: lsilogic' || fail "adapter type"
"$VIMG" info "$TMPD/zg.vmdk" | grep -q 'hwversion: 14' || fail "hwversion"
peer_check "$TMPD/zg.vmdk"
exit 0
