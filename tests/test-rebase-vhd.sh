#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# vimg rebase and amend backing_file= on differencing VHD and VHDX: a safe
# rebase onto another base keeps the disk; the parent as libvhdi reads it
# (vhdiinfo: the VHD parent UUID and name, the VHDX parent linkage); a
# moved parent found again with rebase -u or amend, a different disk
# refused by amend; rebase -b "" leaves a dynamic disk qemu-img reads the
# same (qemu reads no differencing VHD chain and no differencing VHDX); a
# locator longer than its old space (VHD: moved to the end, the footer
# still last); a VHDX whose metadata region cannot hold the new locator
# refused with the file untouched; a partially present VHDX block made
# whole with zeros behind its clear bits.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"

requires qemu-img --version
requires qemu-io --version
requires python3 --version
requires vhdiinfo -V
tmpdir
cd "$TMPD"

# 16 MiB and a whole VHD geometry (482/4/17), so raw, vhd and vhdx sizes agree.
S=16781312
truncate -s $S a.raw b.raw
write_pattern a.raw 0 4 base-a
write_pattern b.raw 2 6 base-b
qemu-img create -q -f qcow2 -b a.raw -F raw top.qcow2 $S
qemu-io -c "write -P 0x11 6M 1M" -c "write -P 0x22 1M 64k" -c "write -P 0x33 10M 512" \
	top.qcow2 >/dev/null
qemu-img convert -O raw top.qcow2 before.raw

info_key() { "$VIMG" info --output=json "$1" | json_get /dev/stdin "$2"; }
same_as_before() {
	"$VIMG" convert -O raw "$1" now.raw
	cmp -s now.raw before.raw || fail "$2: the disk changed"
}
# A long parent name: the VHD locator outgrows its 512-byte space.
LONG=d-$(printf 'y%.0s' $(seq 1 200))/e-$(printf 'z%.0s' $(seq 1 200))
mkdir -p "$LONG" moved

for fmt in vhd vhdx; do
	"$VIMG" convert -O $fmt a.raw base.$fmt
	"$VIMG" convert -O $fmt b.raw base2.$fmt
	"$VIMG" convert -O $fmt -B base.$fmt top.qcow2 child.$fmt
	same_as_before child.$fmt "$fmt: convert -B"
	cp child.$fmt child0.$fmt
	if [ $fmt = vhd ]; then
		id() { info_key "$1" "d['format-specific']['data']['uuid']"; }
		link() { info_key "$1" "d['format-specific']['data']['parent-uuid']"; }
		q=vpc
	else
		id() { info_key "$1" "d['format-specific']['data']['data-write-guid'].strip('{}')"; }
		link() { info_key "$1" "d['format-specific']['data']['parent-linkage'].strip('{}')"; }
		q=vhdx
	fi
	vhdi_parent() { vhdiinfo "$1" | sed -n 's/.*Parent identifier[^:]*: //p'; }

	# ---- safe rebase onto a base with other content: the disk stays ------------------
	expect_status 0 "$VIMG" rebase -b base2.$fmt child.$fmt
	same_as_before child.$fmt "$fmt rebase"
	[ "$(info_key child.$fmt "d['backing-filename']")" = ./base2.$fmt ] || fail "$fmt: backing"
	[ "$(link child.$fmt)" = "$(id base2.$fmt)" ] || fail "$fmt: link $(link child.$fmt)"
	[ "$(vhdi_parent child.$fmt)" = "$(id base2.$fmt)" ] ||
		fail "$fmt: vhdiinfo parent $(vhdi_parent child.$fmt), want $(id base2.$fmt)"
	[ $fmt = vhdx ] || vhdiinfo child.vhd | grep -q "Parent filename.*: base2.vhd$" ||
		fail "vhd: vhdiinfo parent name: $(vhdiinfo child.vhd)"
	expect_status 0 "$VIMG" check child.$fmt
	echo "ok: $fmt: rebase onto another base"

	# ---- the parent moves: the chain is broken, rebase -u or amend mend it -----------
	mv base2.$fmt "$LONG/base2.$fmt"
	expect_status 1 "$VIMG" convert -O raw child.$fmt now.raw
	expect_status 0 "$VIMG" rebase -u -b "$LONG/base2.$fmt" child.$fmt
	same_as_before child.$fmt "$fmt rebase -u (long name)"
	expect_status 0 "$VIMG" check child.$fmt
	python3 -c "import sys; d = open(sys.argv[1], 'rb').read()
assert sys.argv[2] != 'vhd' or d[-512:-504] == b'conectix', 'footer not last'" child.$fmt $fmt ||
		fail "$fmt: the footer is not last"
	mv "$LONG/base2.$fmt" moved/base2.$fmt
	expect_status 0 "$VIMG" amend -o backing_file=moved/base2.$fmt,backing_fmt=$fmt child.$fmt
	same_as_before child.$fmt "$fmt amend"
	[ "$(vhdi_parent child.$fmt)" = "$(id moved/base2.$fmt)" ] || fail "$fmt: amend: link"
	# amend never relinks to another disk, nor changes a create option.
	sum=$(sha256sum child.$fmt)
	expect_status 1 "$VIMG" amend -o backing_file=base.$fmt child.$fmt
	grep -q "use vimg rebase" err || fail "$fmt amend other disk: $(cat err)"
	expect_status 1 "$VIMG" amend -o subformat=fixed child.$fmt
	grep -q "subformat cannot be amended" err || fail "$fmt amend subformat: $(cat err)"
	# A parent of another format, or another size, is refused.
	"$VIMG" convert -O qcow2 a.raw aq.qcow2
	expect_status 1 "$VIMG" rebase -u -b aq.qcow2 child.$fmt
	grep -q "must be a $fmt image, not qcow2" err || fail "$fmt: qcow2 parent: $(cat err)"
	"$VIMG" create -q -f $fmt small.$fmt 8M
	expect_status 1 "$VIMG" rebase -u -b small.$fmt child.$fmt
	grep -q "its parent's" err || fail "$fmt: smaller parent: $(cat err)"
	expect_status 1 "$VIMG" rebase -u -b small.$fmt base.$fmt
	grep -q "no parent to change" err || fail "$fmt: dynamic disk: $(cat err)"
	[ "$(sha256sum child.$fmt)" = "$sum" ] || fail "$fmt: a refused change wrote"
	echo "ok: $fmt: moved parent, amend, refusals"

	# ---- rebase -b "": a dynamic disk with the same content --------------------------
	expect_status 0 "$VIMG" rebase -b "" child.$fmt
	same_as_before child.$fmt "$fmt rebase -b ''"
	[ "$(info_key child.$fmt "d['format-specific']['data']['subformat']")" = dynamic ] ||
		fail "$fmt: not dynamic"
	[ "$(info_key child.$fmt "d.get('backing-filename')")" = None ] || fail "$fmt: backing left"
	vhdiinfo child.$fmt | grep -q "Disk type.*: Dynamic" || fail "$fmt: vhdiinfo type"
	qemu-img compare -f $q -F raw child.$fmt before.raw >/dev/null ||
		fail "$fmt: qemu-img reads the standalone disk differently"
	expect_status 0 "$VIMG" check child.$fmt
	echo "ok: $fmt: rebase -b ''"
done

# ---- VHDX: a metadata region with no room for a longer locator -----------------------
# A user item (not required: readers skip it) fills the region after the locator.
cp child0.vhdx full.vhdx
python3 - full.vhdx <<'EOF'
import struct, sys, uuid
f = open(sys.argv[1], 'r+b')
f.seek(192 * 1024)
rt = f.read(64 * 1024)
meta = uuid.UUID('8B7CA206-4790-4B9A-B8FE-575F050F886E').bytes_le
for i in range(struct.unpack_from('<I', rt, 8)[0]):
    e = 16 + 32 * i
    if rt[e:e + 16] == meta:
        off, length = struct.unpack_from('<QI', rt, e + 16)
f.seek(off)
t = bytearray(f.read(64 * 1024))
n = struct.unpack_from('<H', t, 10)[0]
end = max(struct.unpack_from('<II', t, 32 + 32 * i + 16)[0] +
          struct.unpack_from('<II', t, 32 + 32 * i + 16)[1] for i in range(n))
e = 32 + 32 * n
t[e:e + 16] = uuid.uuid4().bytes_le
struct.pack_into('<III', t, e + 16, end, length - end, 1)
struct.pack_into('<H', t, 10, n + 1)
f.seek(off)
f.write(t)
EOF
same_as_before full.vhdx "hostile vhdx"
sum=$(sha256sum full.vhdx)
cp base.vhdx "$LONG/base.vhdx"
expect_status 1 "$VIMG" rebase -u -b "$LONG/base.vhdx" full.vhdx
grep -q "does not fit in the .*-byte region" err || fail "full metadata region: $(cat err)"
[ "$(sha256sum full.vhdx)" = "$sum" ] || fail "full metadata region: the file changed"
echo "ok: vhdx: no room for the locator"

# ---- VHDX: a partially present block (as Hyper-V writes them) made whole -------------
# Block 0 keeps only 1M..1M+64k (the sector bitmap says so); the rest of its
# data, a copy of the parent, must read as zeros once the parent is gone.
cp child0.vhdx part.vhdx
python3 - part.vhdx <<'EOF'
import os, struct, sys, uuid
f = open(sys.argv[1], 'r+b')
f.seek(192 * 1024)
rt = f.read(64 * 1024)
batg = uuid.UUID('2DC27766-F623-4200-9D64-115E9BFD4A08').bytes_le
for i in range(struct.unpack_from('<I', rt, 8)[0]):
    e = 16 + 32 * i
    if rt[e:e + 16] == batg:
        bat = struct.unpack_from('<Q', rt, e + 16)[0]
f.seek(bat)
b0 = struct.unpack('<Q', f.read(8))[0]
assert b0 & 7 == 6, 'block 0 not fully present'
end = (os.fstat(f.fileno()).st_size + (1 << 20) - 1) >> 20 << 20
bm = bytearray(1 << 20)
for s in range(2048, 2048 + 128):
    bm[s // 8] |= 1 << (s % 8)
f.seek(end)
f.write(bm)
f.seek(bat)
f.write(struct.pack('<Q', (b0 & ~7) | 7))
f.seek(bat + 8 * 2048)                  # chunk ratio 2048: 512-byte sectors, 2 MiB blocks
f.write(struct.pack('<Q', end | 6))
EOF
same_as_before part.vhdx "partial block"
# Without its parent the disk is what the child's own layer holds, zeros elsewhere.
"$VIMG" map --output=json part.vhdx >part.map
python3 - before.raw part.map want.raw <<'EOF2'
import json, sys
d = open(sys.argv[1], 'rb').read()
w = bytearray(len(d))
for e in json.load(open(sys.argv[2])):
    if e['depth'] == 0 and e['data']:
        w[e['start']:e['start'] + e['length']] = d[e['start']:e['start'] + e['length']]
assert w[0:1 << 20] == bytes(1 << 20), 'block 0 is not partial'
open(sys.argv[3], 'wb').write(w)
EOF2
expect_status 0 "$VIMG" rebase -u -b "" part.vhdx
expect_status 0 "$VIMG" check part.vhdx
"$VIMG" convert -O raw part.vhdx now.raw
cmp -s now.raw want.raw || fail "partial block: not zeros behind the clear bits"
qemu-img compare -f vhdx -F raw part.vhdx want.raw >/dev/null ||
	fail "partial block: qemu-img reads otherwise"
echo "ok: vhdx: partial block made whole"
echo "PASS"
