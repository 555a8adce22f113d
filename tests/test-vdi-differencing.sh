#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Differencing VDI images: the parent found by UUID next to the child (and,
# with --allow-escape, in the directory above: VirtualBox's Snapshots/
# layout); free blocks read the parent, zero blocks read zeros; partial
# writes fill the block from the parent; rebase, rebase -u, rebase -b "" and
# commit. qemu cannot read a differencing VDI, so the children here are made
# two ways (a qemu-written dynamic VDI relinked byte by byte as VirtualBox
# links one, and vimg create -b) and every result is checked against raw
# files qemu-io wrote, or read by qemu-img once it stands alone.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"

requires qemu-img --version
requires qemu-io --version
requires python3 --version
tmpdir
cd "$TMPD"
MIB=1048576

# vdi_relink CHILD PARENT [ZERO_BLOCK]: make CHILD (a dynamic VDI) a
# differencing image of PARENT as VirtualBox writes one: type 4, uuid_link
# the parent's uuid_image, uuid_parent its modification UUID; optionally
# one map entry set to 0xfffffffe (a zero block).
vdi_relink() {
	python3 - "$@" <<'EOF'
import struct, sys
child, parent = sys.argv[1], sys.argv[2]
p = open(parent, 'rb').read(512)
with open(child, 'r+b') as f:
    h = bytearray(f.read(512))
    struct.pack_into('<I', h, 0x4c, 4)
    h[0x1a8:0x1b8] = p[0x188:0x198]
    h[0x1b8:0x1c8] = p[0x198:0x1a8]
    f.seek(0); f.write(h)
    if len(sys.argv) > 3:
        bmap = struct.unpack_from('<I', h, 0x154)[0]
        f.seek(bmap + 4 * int(sys.argv[3])); f.write(struct.pack('<I', 0xfffffffe))
EOF
}

# The parent: 16 MiB with data in blocks 0-2, 5 and 9.
qemu-img create -q -f vdi base.vdi 16M
qemu-io -f vdi -c "write -P 0x11 0 3M" -c "write -P 0x22 5M 1M" -c "write -P 0x23 9M 1M" \
	base.vdi >/dev/null
qemu-img convert -f vdi -O raw base.vdi base.raw

# ---- a child as VirtualBox links one ------------------------------------------------
# Its own data in blocks 1 and 7; block 9 a zero block; the rest free.
qemu-img create -q -f vdi vb.vdi 16M
qemu-io -f vdi -c "write -P 0x31 1M 1M" -c "write -P 0x37 7M 1M" vb.vdi >/dev/null
vdi_relink vb.vdi base.vdi 9
cp base.raw vb.raw
qemu-io -f raw -c "write -P 0x31 1M 1M" -c "write -P 0x37 7M 1M" -c "write -z 9M 1M" \
	vb.raw >/dev/null
before=$(sha256sum base.vdi vb.vdi)
"$VIMG" info vb.vdi >info.txt || fail "info of a differencing VDI"
grep -q "backing file: base.vdi" info.txt || fail "info: $(cat info.txt)"
grep -q "subformat: differencing" info.txt || fail "info: no subformat"
"$VIMG" info --output=json vb.vdi >info.json
[ "$(json_get info.json "d['format-specific']['data']['parent-uuid']")" = \
  "$(json_get /dev/stdin "d['format-specific']['data']['uuid']" <<EOF
$("$VIMG" info --output=json base.vdi)
EOF
)" ] || fail "info: parent-uuid is not the parent's uuid"
expect_status 0 "$VIMG" compare vb.vdi vb.raw
"$VIMG" convert -O raw vb.vdi out.raw
cmp out.raw vb.raw || fail "convert of a differencing VDI: other data"
"$VIMG" map --output=json vb.vdi >map.json
"$VIMG" check vb.vdi >/dev/null || fail "vimg check of a differencing VDI"
[ "$(sha256sum base.vdi vb.vdi)" = "$before" ] || fail "reading a differencing VDI changed it"
rm -f out.raw

# ---- vimg create -b, partial writes ------------------------------------------------
"$VIMG" create -q -f vdi -b base.vdi -F vdi own.vdi
[ "$(json_get /dev/stdin "d['virtual-size']" <<EOF
$("$VIMG" info --output=json own.vdi)
EOF
)" = $((16 * MIB)) ] || fail "create -b: not the parent's size"
# 4 KiB into free block 5 (the parent's data around it stays) and block 12.
"$VIMG" bench -q -w -c 2 -s 4k -S 7M -o $((5 * MIB + 8192)) --pattern=85 own.vdi
cp base.raw own.raw
qemu-io -f raw -c "write -P 85 $((5 * MIB + 8192)) 4k" -c "write -P 85 $((12 * MIB + 8192)) 4k" \
	own.raw >/dev/null
expect_status 0 "$VIMG" compare own.vdi own.raw
"$VIMG" check own.vdi >/dev/null || fail "vimg check after partial writes"

# ---- rebase -------------------------------------------------------------------------
qemu-img create -q -f vdi base2.vdi 16M
qemu-io -f vdi -c "write -P 0x44 0 8M" base2.vdi >/dev/null
cp vb.vdi r.vdi
expect_status 0 "$VIMG" rebase -b base2.vdi -F vdi r.vdi
grep -q "backing file: base2.vdi" <<EOF || fail "rebase: not linked to base2.vdi"
$("$VIMG" info r.vdi)
EOF
expect_status 0 "$VIMG" compare r.vdi vb.raw
# -u: only the link; the disk is then base2's with the child's blocks.
cp own.vdi u.vdi
expect_status 0 "$VIMG" rebase -u -b base2.vdi u.vdi
qemu-img convert -f vdi -O raw base2.vdi u.raw
qemu-io -f raw -c "write -P 85 $((5 * MIB + 8192)) 4k" -c "write -P 85 $((12 * MIB + 8192)) 4k" \
	u.raw >/dev/null
# The blocks own.vdi holds are whole: the parent's data around the 4 KiB came along.
qemu-io -f raw -c "write -P 0x22 $((5 * MIB)) 8k" -c "write -P 0x22 $((5 * MIB + 12288)) 1012k" \
	u.raw >/dev/null
qemu-io -f raw -c "write -z $((12 * MIB)) 8k" -c "write -z $((12 * MIB + 12288)) 1012k" \
	u.raw >/dev/null
expect_status 0 "$VIMG" compare u.vdi u.raw
# -b "": standalone, a dynamic VDI qemu reads.
cp vb.vdi alone.vdi
expect_status 0 "$VIMG" rebase -b "" alone.vdi
qemu-img compare -q -f vdi -F raw alone.vdi vb.raw || fail "rebase -b '': qemu reads other data"
peer_check alone.vdi
# A parent of another format is refused, the child unchanged.
qemu-img create -q -f qcow2 q.qcow2 16M
sha256_unchanged r.vdi "$VIMG" rebase -u -b q.qcow2 -F qcow2 r.vdi
expect_status 1 "$VIMG" rebase -u -b q.qcow2 -F qcow2 r.vdi
grep -q "must be a vdi image" err || fail "rebase onto qcow2: $(cat err)"

# ---- commit ---------------------------------------------------------------------------
mkdir cm
cp base.vdi cm/base.vdi
cp vb.vdi cm/vb.vdi
expect_status 0 "$VIMG" commit cm/vb.vdi
qemu-img compare -q -f vdi -F raw cm/base.vdi vb.raw || fail "commit: qemu reads other data"
peer_check cm/base.vdi
[ "$(json_get /dev/stdin "d['format-specific']['data']['blocks-allocated']" <<EOF
$("$VIMG" info --output=json cm/vb.vdi)
EOF
)" = 0 ] || fail "commit: the child still holds blocks"
expect_status 0 "$VIMG" compare cm/vb.vdi vb.raw

# ---- where the parent is looked for ---------------------------------------------------
# VirtualBox: VM/base.vdi, VM/Snapshots/{uuid}.vdi.
mkdir -p VM/Snapshots
cp base.vdi VM/base.vdi
cp vb.vdi "VM/Snapshots/{0f0e0d0c-0000-4000-8000-000000000001}.vdi"
snap="VM/Snapshots/{0f0e0d0c-0000-4000-8000-000000000001}.vdi"
expect_status 2 "$VIMG" compare "$snap" vb.raw
grep -q -- "--allow-escape" err || fail "parent above, no escape: $(cat err)"
expect_status 0 "$VIMG" compare --allow-escape "$snap" vb.raw
# Two copies of the parent next to the child: ambiguous, unless one alone
# has the modification UUID the child recorded.
mkdir two
cp base.vdi two/a.vdi
cp base.vdi two/b.vdi
cp vb.vdi two/child.vdi
expect_status 1 "$VIMG" info --backing-chain two/child.vdi
grep -q "both have the parent's UUID" err || fail "ambiguous parent: $(cat err)"
python3 - two/b.vdi <<'EOF'
import sys
with open(sys.argv[1], 'r+b') as f:
    f.seek(0x198); f.write(bytes(16))
EOF
expect_status 0 "$VIMG" compare two/child.vdi vb.raw
# No parent: info still describes the image, reading is a clear error.
mkdir lone
cp vb.vdi lone/vb.vdi
expect_status 0 "$VIMG" info lone/vb.vdi
expect_status 1 "$VIMG" convert -O raw lone/vb.vdi lone/out.raw
grep -q "no .vdi file in .* has the parent's UUID" err || fail "no parent: $(cat err)"

# ---- hostile headers --------------------------------------------------------------------
cp vb.vdi nolink.vdi
python3 - nolink.vdi <<'EOF'
import sys
with open(sys.argv[1], 'r+b') as f:
    f.seek(0x1a8); f.write(bytes(16))
EOF
expect_status 1 "$VIMG" info nolink.vdi
grep -q "vdi: header: differencing image without a parent UUID" err || fail "type 4, no link: $(cat err)"
[ "$(wc -l <err)" -eq 1 ] || fail "more than one error line"
cp base.vdi link1.vdi
python3 - link1.vdi <<'EOF'
import sys
with open(sys.argv[1], 'r+b') as f:
    f.seek(0x1a8); f.write(b'\x01' * 16)
EOF
expect_status 1 "$VIMG" info link1.vdi
grep -q "only a differencing image has one" err || fail "type 1 with link: $(cat err)"
exit 0
