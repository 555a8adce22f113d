#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# vimg rebase and vimg commit against qemu-img doing the same jobs: the
# guest's disk before and after (qemu-img compare), qemu-img check clean,
# the backing pointer as qemu reads it; -u, -b "" and -b BASE; VMDK delta
# chains and differencing VHD/VHDX committed; a base smaller than the top
# grown first.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"

requires qemu-img --version
requires qemu-io --version
requires python3 --version
tmpdir
cd "$TMPD"

truncate -s 16M a.raw b.raw
write_pattern a.raw 0 4 base-a
write_pattern b.raw 2 2 base-b
qemu-img convert -O qcow2 a.raw base1.qcow2
qemu-img convert -O qcow2 b.raw base2.qcow2

# new_top NAME: a qcow2 over base1 with data of its own at 6 MiB and 1 MiB.
new_top() {
	qemu-img create -q -f qcow2 -b base1.qcow2 -F qcow2 "$1"
	qemu-io -c "write -P 0x11 6M 1M" -c "write -P 0x22 1M 64k" "$1" >/dev/null
}
backing_of() { qemu-img info --output=json "$1" | json_get /dev/stdin "d.get('backing-filename')"; }

# ---- rebase, safe: the disk stays, as after qemu-img rebase ----------------------------
new_top top.qcow2
qemu-img convert -O raw top.qcow2 before.raw
cp top.qcow2 qtop.qcow2
expect_status 0 "$VIMG" rebase -b base2.qcow2 -F qcow2 top.qcow2
qemu-img rebase -b base2.qcow2 -F qcow2 qtop.qcow2
peer_check top.qcow2
[ "$(backing_of top.qcow2)" = base2.qcow2 ] || fail "rebase: backing $(backing_of top.qcow2)"
qemu-img compare top.qcow2 before.raw >/dev/null || fail "rebase changed the disk"
qemu-img compare top.qcow2 qtop.qcow2 >/dev/null || fail "rebase: not what qemu-img rebase gives"

# -b "": the image holds the whole disk afterwards.
expect_status 0 "$VIMG" rebase -b "" top.qcow2
[ "$(backing_of top.qcow2)" = None ] || fail "rebase -b '': backing $(backing_of top.qcow2)"
peer_check top.qcow2
qemu-img compare top.qcow2 before.raw >/dev/null || fail "rebase -b '' changed the disk"

# -u: only the pointer, as qemu-img rebase -u (the old base may be gone).
new_top u.qcow2
cp u.qcow2 qu.qcow2
mv base1.qcow2 gone.qcow2
expect_status 0 "$VIMG" rebase -u -b base2.qcow2 -F qcow2 u.qcow2
qemu-img rebase -u -b base2.qcow2 -F qcow2 qu.qcow2
mv gone.qcow2 base1.qcow2
cmp -s u.qcow2 qu.qcow2 || qemu-img compare u.qcow2 qu.qcow2 >/dev/null ||
	fail "rebase -u: not what qemu-img rebase -u gives"
[ "$(backing_of u.qcow2)" = base2.qcow2 ] || fail "rebase -u: backing"

# A name that cannot be opened, or a format with no backing pointer to change.
before=$(sha256sum top.qcow2)
expect_status 1 "$VIMG" rebase -b missing.qcow2 top.qcow2
[ "$(sha256sum top.qcow2)" = "$before" ] || fail "a failed rebase changed the image"
cp a.raw d.raw
expect_status 1 "$VIMG" rebase -b "" d.raw
grep -q "not supported" err || fail "raw rebase: $(cat err)"

# ---- a VMDK delta chain ------------------------------------------------------------------
"$VIMG" convert -O vmdk a.raw vbase1.vmdk
"$VIMG" convert -O vmdk b.raw vbase2.vmdk
"$VIMG" create -q -f vmdk -b vbase1.vmdk vtop.vmdk
qemu-io -f vmdk -c "write -P 0x33 5M 512k" vtop.vmdk >/dev/null
qemu-img convert -O raw vtop.vmdk vbefore.raw
expect_status 0 "$VIMG" rebase -b vbase2.vmdk vtop.vmdk
peer_check vtop.vmdk
qemu-img info vtop.vmdk | grep -q "backing file: vbase2.vmdk" || fail "vmdk rebase: backing"
qemu-img compare vtop.vmdk vbefore.raw >/dev/null || fail "vmdk rebase changed the disk"

# ---- commit: the base receives the top, as after qemu-img commit -------------------------
new_top c.qcow2
qemu-img convert -O raw c.qcow2 cbefore.raw
cp base1.qcow2 qbase.qcow2
qemu-img create -q -f qcow2 -b qbase.qcow2 -F qcow2 qc.qcow2
qemu-io -c "write -P 0x11 6M 1M" -c "write -P 0x22 1M 64k" qc.qcow2 >/dev/null
cp c.qcow2 ckeep.qcow2
expect_status 0 "$VIMG" commit c.qcow2
grep -qx "Image committed." out || fail "commit: $(cat out)"
qemu-img commit qc.qcow2 >/dev/null
peer_check base1.qcow2
qemu-img compare base1.qcow2 cbefore.raw >/dev/null || fail "commit: the base is not the top"
qemu-img compare base1.qcow2 qbase.qcow2 >/dev/null || fail "commit: not what qemu-img gives"
# The top is emptied, as qemu-img empties it: it holds nothing, reads the base.
peer_check c.qcow2
qemu-img compare c.qcow2 cbefore.raw >/dev/null || fail "commit changed the top's disk"
# top_data IMG: how many bytes of IMG's own layer qemu-img maps as data.
top_data() {
	qemu-img map --output=json "$1" | python3 -c "
import json, sys
print(sum(e['length'] for e in json.load(sys.stdin) if e['depth'] == 0 and e['data']))"
}
[ "$(top_data c.qcow2)" = 0 ] || fail "commit: the top holds $(top_data c.qcow2) bytes"
[ "$(top_data qc.qcow2)" = 0 ] || fail "qemu-img commit: the top is not empty"
[ "$(stat -c %s c.qcow2)" -lt 1048576 ] || fail "commit: the top's file is $(stat -c %s c.qcow2)"
# -d keeps the top (qemu-img commit -d), and so does a deeper -b.
cp ckeep.qcow2 cd.qcow2
expect_status 0 "$VIMG" commit -d cd.qcow2
[ "$(top_data cd.qcow2)" = "$(top_data ckeep.qcow2)" ] && [ "$(top_data cd.qcow2)" != 0 ] ||
	fail "commit -d: the top changed"

# -b BASE: a three-image chain committed into its bottom.
qemu-img convert -O qcow2 a.raw low.qcow2
qemu-img create -q -f qcow2 -b low.qcow2 -F qcow2 mid.qcow2
qemu-io -c "write -P 0x44 8M 1M" mid.qcow2 >/dev/null
qemu-img create -q -f qcow2 -b mid.qcow2 -F qcow2 high.qcow2
qemu-io -c "write -P 0x55 8M 64k" high.qcow2 >/dev/null
qemu-img convert -O raw high.qcow2 hbefore.raw
expect_status 1 "$VIMG" commit -b base2.qcow2 high.qcow2
grep -q "not in the backing chain" err || fail "commit -b elsewhere: $(cat err)"
expect_status 0 "$VIMG" commit -b low.qcow2 high.qcow2
peer_check low.qcow2
qemu-img compare low.qcow2 hbefore.raw >/dev/null || fail "commit -b: the bottom is not the top"
qemu-img compare high.qcow2 hbefore.raw >/dev/null || fail "commit -b changed the top's disk"
[ "$(top_data high.qcow2)" != 0 ] || fail "commit -b: the top was emptied"

# Differencing VHD and VHDX, and a delta VMDK, written by vimg convert -B
# (qemu's vpc driver writes a differencing VHD as if it were dynamic and
# overwrites its parent locators; it reads no differencing VHDX).
cp a.raw changed.raw
write_pattern changed.raw 3 1 changed
write_pattern changed.raw 12 1 changed-too
for f in vhd:vpc vhdx:vhdx vmdk:vmdk; do
	fmt=${f%%:*} q=${f#*:}
	"$VIMG" convert -O "$fmt" a.raw "cb.$fmt"
	"$VIMG" convert -O "$fmt" -B "cb.$fmt" changed.raw "ct.$fmt"
	"$VIMG" convert -O raw "ct.$fmt" "ct-$fmt.raw"
	qemu-img compare -F raw "ct-$fmt.raw" changed.raw >/dev/null || fail "$fmt: convert -B"
	expect_status 0 "$VIMG" commit "ct.$fmt"
	grep -q "cannot be emptied: 'ct.$fmt' is kept as it is" err || fail "$fmt commit: $(cat err)"
	qemu-img check -f "$q" "cb.$fmt" >/dev/null 2>&1 || [ $? = 63 ] || fail "$fmt: base check"
	qemu-img compare -f "$q" -F raw "cb.$fmt" "ct-$fmt.raw" >/dev/null ||
		fail "$fmt commit: the base is not the top"
done

# A raw base smaller than its qcow2 top is grown first.
truncate -s 4M small.raw
write_pattern small.raw 0 1 small
qemu-img create -q -f qcow2 -b small.raw -F raw big.qcow2 8M
qemu-io -c "write -P 0x12 6M 1M" big.qcow2 >/dev/null
qemu-img convert -O raw big.qcow2 bbefore.raw
expect_status 0 "$VIMG" commit big.qcow2
[ "$(stat -c %s small.raw)" = 8388608 ] || fail "commit: base not grown ($(stat -c %s small.raw))"
cmp -s small.raw bbefore.raw || fail "commit into a grown raw base"
echo "PASS"
