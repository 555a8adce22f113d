#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# vhdx against peers: images qemu-img writes (dynamic/fixed, 1 MiB and 32 MiB
# blocks) read back identical in vimg; images vimg writes pass `qemu-img
# check`, compare identical in qemu-img and open in libyal's vhdiinfo; a
# 4096-byte-sector image (qemu cannot make or read one) is checked by
# vhdiinfo; a pending log reads right read-only with the file untouched and is
# replayed read-write; a differencing chain reads as the merged disk.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"

requires qemu-img --version
requires qemu-io --version
tmpdir
cd "$TMPD"

qemu-img create -q -f raw src.raw 70M
qemu-io -f raw -c "write -P 0x11 0 8k" -c "write -P 0x22 33M 1M" -c "write -P 0x33 69M 4k" \
	-c "write -P 0x44 1000k 3k" src.raw >/dev/null

for bs in 1M 32M; do
	for sub in dynamic fixed; do
		qemu-img convert -f raw -O vhdx -o subformat=$sub,block_size=$bs,log_size=1M \
			src.raw q.vhdx
		expect_status 0 "$VIMG" compare q.vhdx src.raw
		"$VIMG" check q.vhdx >/dev/null || fail "vimg check of qemu's $sub/$bs"
		"$VIMG" convert -O vhdx -o subformat=$sub,block_size=$bs src.raw v.vhdx
		peer_check v.vhdx
		qemu-img compare -q -f vhdx -F raw v.vhdx src.raw || fail "qemu-img compare $sub/$bs"
		if command -v vhdiinfo >/dev/null; then
			vhdiinfo v.vhdx >/dev/null || fail "vhdiinfo $sub/$bs"
		fi
		rm -f q.vhdx v.vhdx
	done
done

# Fixed images are fully allocated on the host.
"$VIMG" create -q -f vhdx -o subformat=fixed f.vhdx 100M >/dev/null 2>&1 ||
	"$VIMG" create -f vhdx -o subformat=fixed f.vhdx 100M >/dev/null
blocks=$(stat -c %b f.vhdx)
size=$(stat -c %s f.vhdx)
[ $((blocks * 512)) -ge "$size" ] || fail "fixed vhdx is sparse"

# 4096-byte logical sectors: vimg round trip, libyal reads the geometry.
"$VIMG" convert -O vhdx -o logical_sector_size=4096,block_size=1M src.raw l4k.vhdx
expect_status 0 "$VIMG" compare l4k.vhdx src.raw
"$VIMG" check l4k.vhdx >/dev/null || fail "vimg check l4k"
if command -v vhdiinfo >/dev/null; then
	vhdiinfo l4k.vhdx | grep -q "Bytes per sector.*4096" || fail "vhdiinfo: not 4096-byte sectors"
fi

# Pending log: read-only leaves every byte, read-write replays.
VIMG_VHDX_TEST_STOP_AFTER_LOG=1 "$VIMG" convert -O vhdx -o block_size=1M src.raw pend.vhdx \
	2>/dev/null && fail "the test hook did not stop the write"
sha256_unchanged pend.vhdx "$VIMG" compare pend.vhdx src.raw
expect_status 0 "$VIMG" compare pend.vhdx src.raw
sha256_unchanged pend.vhdx "$VIMG" info pend.vhdx
qemu-img info pend.vhdx >/dev/null 2>&1 && fail "qemu-img opened a pending log read-only?"
"$VIMG" check -r all pend.vhdx >/dev/null 2>&1 || true
peer_check pend.vhdx
qemu-img compare -q -f vhdx -F raw pend.vhdx src.raw || fail "replayed image differs"

# Differencing: a child reads as its parent.
"$VIMG" convert -O vhdx src.raw base.vhdx
"$VIMG" create -f vhdx -b base.vhdx child.vhdx >/dev/null
expect_status 0 "$VIMG" compare child.vhdx src.raw
if command -v vhdiinfo >/dev/null; then
	vhdiinfo child.vhdx | grep -q "Differential" || fail "vhdiinfo: child not differencing"
fi
mv base.vhdx base.keep
"$VIMG" create -f vhdx base.vhdx 70M >/dev/null
expect_status 1 "$VIMG" convert -O raw child.vhdx out.raw
grep -q "parent_linkage .* does not match the parent's data write GUID" "$TMPD/err" ||
	fail "no GUID mismatch message: $(cat "$TMPD/err")"
echo ok
