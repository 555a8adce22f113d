#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# vimg resize on each format that resizes, every result checked by peers:
# qemu-img check clean (where qemu has a checker), qemu-img and libyal's
# readers see the new size, the old data reads back unchanged, qemu-io can
# write into the grown part and vimg reads it back; shrinking over data is
# refused (the file unchanged) unless --shrink; the command line is
# qemu-img's (+SIZE, -SIZE, --shrink, --preallocation).
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"

requires qemu-img --version
requires qemu-io --version
requires python3 --version
tmpdir
cd "$TMPD"

MIB=1048576
truncate -s 64M src.raw
write_pattern src.raw 0 1 head
write_pattern src.raw 20 2 middle
write_pattern src.raw 63 1 tail

# qemu_size IMG FMT: the virtual size qemu-img reads.
qemu_size() { qemu-img info -f "$2" --output=json "$1" | json_get /dev/stdin "d['virtual-size']"; }
vimg_size() { "$VIMG" info --output=json "$1" | json_get /dev/stdin "d['virtual-size']"; }

# libyal_size IMG FMT: the size libyal's reader for FMT reports; empty
# when it has none or it is not installed.
libyal_size() {
	case $2 in
	vmdk) tool=vmdkinfo ;;
	vpc | vhdx) tool=vhdiinfo ;;
	qcow2) tool=qcowinfo ;;
	*) return 0 ;;
	esac
	command -v $tool >/dev/null || return 0
	$tool "$1" | sed -n 's/.*size[^(]*(\([0-9]*\) bytes).*/\1/p' | head -n 1
}

# peers_agree IMG QFMT WANT: every peer opens IMG at WANT bytes.
peers_agree() {
	q=$(qemu_size "$1" "$2")
	[ "$q" = "$3" ] || fail "$1: qemu-img sees $q bytes, want $3"
	y=$(libyal_size "$1" "$2")
	[ -z "$y" ] || [ "$y" = "$3" ] || fail "$1: libyal sees $y bytes, want $3"
	# 63: qemu has no checker for the format (vpc).
	rc=0
	qemu-img check -f "$2" "$1" >check.out 2>&1 || rc=$?
	[ $rc = 0 ] || [ $rc = 63 ] || { cat check.out; fail "$1: qemu-img check exited $rc"; }
}

# same_prefix IMG QFMT RAW LEN: the first LEN bytes of IMG are RAW's (at
# most RAW's length: a VHD rounds its size up to its geometry).
same_prefix() {
	qemu-img convert -f "$2" -O raw "$1" prefix.raw
	n=$(stat -c %s "$3")
	[ "$4" -lt "$n" ] && n=$4
	cmp -n "$n" prefix.raw "$3" || fail "$1: the first $n bytes changed"
	rm -f prefix.raw
}

# resize_format FMT QFMT [CREATE_OPTS [allocated]]: the whole round on one
# format. "allocated": the layout maps every byte as data (flat, fixed), so
# even a cut of zeros needs --shrink.
resize_format() {
	fmt=$1 qfmt=$2 opts=${3:-} allocated=${4:+--shrink}
	img=r-$fmt${opts:+-$(echo "$opts" | tr ',=' '--')}
	echo "== $fmt $opts"
	"$VIMG" convert -O "$fmt" ${opts:+-o "$opts"} src.raw "$img" ||
		fail "$fmt: convert"
	size0=$(vimg_size "$img")

	# Grow by 64 MiB: old data kept, the new part zero and writable.
	expect_status 0 "$VIMG" resize "$img" +64M
	grep -q "Image resized." out || fail "$fmt grow: $(cat out)"
	size1=$(vimg_size "$img")
	[ "$size1" -ge $((size0 + 64 * MIB)) ] || fail "$fmt grow: $size1 bytes"
	peers_agree "$img" "$qfmt" "$size1"
	same_prefix "$img" "$qfmt" src.raw "$size0"
	qemu-io -f "$qfmt" -c "read -P 0 $((size0 + MIB)) 1M" "$img" | grep -q "read 1048576" ||
		fail "$fmt grow: the new part does not read as zeros"
	qemu-io -f "$qfmt" -c "write -P 0x5a $((size0 + 8 * MIB)) 1M" "$img" >/dev/null ||
		fail "$fmt grow: qemu-io cannot write the new part"
	"$VIMG" convert -O raw "$img" grown.raw
	python3 -c "
import sys
f = open('grown.raw', 'rb'); f.seek($size0 + 8 * $MIB)
sys.exit(f.read($MIB) != b'\x5a' * $MIB)" || fail "$fmt grow: qemu's write not read back"

	# Shrink over data: refused without --shrink, the file unchanged.
	before=$(sha256sum "$img"*)
	expect_status 1 "$VIMG" resize "$img" 16M
	grep -q "would cut data at offset" err || fail "$fmt shrink: $(cat err)"
	[ "$(sha256sum "$img"*)" = "$before" ] || fail "$fmt: a refused shrink changed a file"

	# Shrink with --shrink to 16 MiB.
	expect_status 0 "$VIMG" resize --shrink "$img" 16M
	size2=$(vimg_size "$img")
	peers_agree "$img" "$qfmt" "$size2"
	[ "$size2" -ge $((16 * MIB)) ] && [ "$size2" -lt $((17 * MIB)) ] ||
		fail "$fmt shrink: $size2 bytes"
	same_prefix "$img" "$qfmt" src.raw $((16 * MIB))

	# Back up by -SIZE and +SIZE, nothing cut: no --shrink needed.
	expect_status 0 "$VIMG" resize "$img" +8M
	expect_status 0 "$VIMG" resize $allocated "$img" -4M
	size3=$(vimg_size "$img")
	peers_agree "$img" "$qfmt" "$size3"
	same_prefix "$img" "$qfmt" src.raw $((16 * MIB))
	rm -f grown.raw
}

resize_format raw raw

# vhd (qemu "vpc"): sized by CHS as vimg create does, or with force_size by
# the size rounded to 1 MiB.
resize_format vhd vpc
resize_format vhd vpc subformat=fixed allocated
resize_format vhd vpc force_size=on
resize_format vhd vpc subformat=fixed,force_size=on allocated

# A small dynamic VHD grown to 200 GiB: its BAT (one sector, the first data
# block right after it) moves to the end of the file; the data stays.
"$VIMG" convert -O vhd src.raw bat.vhd
expect_status 0 "$VIMG" resize bat.vhd 200G
peers_agree bat.vhd vpc $((200 * 1024 * MIB))
qemu-img compare -f raw -F vpc src.raw bat.vhd >/dev/null || fail "vhd BAT move: data changed"
"$VIMG" compare src.raw bat.vhd >/dev/null || fail "vhd BAT move: vimg reads other data"
qemu-io -f vpc -c "write -P 0x63 199G 1M" bat.vhd >/dev/null || fail "vhd BAT move: qemu-io"
"$VIMG" convert -O raw bat.vhd bat.raw
python3 -c "
import sys
f = open('bat.raw', 'rb'); f.seek(199 << 30)
sys.exit(f.read(1 << 20) != b'\x63' * (1 << 20))" || fail "vhd BAT move: not read back"
rm -f bat.raw
"$VIMG" check bat.vhd >/dev/null || fail "vhd BAT move: vimg check"

# A fixed VHD takes falloc (the grown part reserved), never metadata; a
# dynamic one takes no preallocation.
"$VIMG" create -q -f vhd -o subformat=fixed,force_size=on fx.vhd 8M
expect_status 0 "$VIMG" resize --preallocation=falloc fx.vhd 24M
[ "$(du -k fx.vhd | cut -f1)" -ge 16384 ] || fail "vhd falloc: $(du -k fx.vhd)"
peers_agree fx.vhd vpc $((24 * MIB))
expect_status 1 "$VIMG" resize --preallocation=metadata fx.vhd 32M
grep -q "no metadata" err || fail "vhd metadata: $(cat err)"
expect_status 1 "$VIMG" resize --preallocation=falloc r-vhd +1M
grep -q "preallocation is not supported for a dynamic disk" err || fail "vhd dynamic falloc: $(cat err)"

# vdi: dynamic and static (VBoxManage refuses static; vimg allocates the
# new blocks).
resize_format vdi vdi
resize_format vdi vdi static=on allocated

# qemu-img puts a VDI's data right after its block map: grown to 100 GiB
# the first data block moves to the end, the map where it was.
qemu-img create -q -f vdi q.vdi 64M
qemu-io -f vdi -c "write -P 0x11 0 3M" -c "write -P 0x22 20M 1M" -c "write -P 0x33 63M 1M" \
	q.vdi >/dev/null
qemu-img convert -f vdi -O raw q.vdi q.raw
expect_status 0 "$VIMG" resize q.vdi 100G
peers_agree q.vdi vdi $((100 * 1024 * MIB))
qemu-img compare -f raw -F vdi q.raw q.vdi >/dev/null || fail "vdi relocation: data changed"
"$VIMG" check q.vdi >/dev/null || fail "vdi relocation: vimg check"
qemu-io -f vdi -c "write -P 0x44 99G 1M" q.vdi >/dev/null || fail "vdi relocation: qemu-io"
"$VIMG" convert -O raw q.vdi q2.raw
python3 -c "
import sys
f = open('q2.raw', 'rb'); f.seek(99 << 30)
sys.exit(f.read(1 << 20) != b'\x44' * (1 << 20))" || fail "vdi relocation: not read back"
rm -f q2.raw
# Shrunk, the blocks past the new count move into the holes below it.
expect_status 0 "$VIMG" resize --shrink q.vdi 16M
peers_agree q.vdi vdi $((16 * MIB))
same_prefix q.vdi vdi q.raw $((16 * MIB))

# vimg's own VDI (data 1 MiB aligned) grown to many GiB, and a full one.
"$VIMG" convert -O vdi src.raw v.vdi
expect_status 0 "$VIMG" resize v.vdi 300G
peers_agree v.vdi vdi $((300 * 1024 * MIB))
qemu-img compare -f raw -F vdi src.raw v.vdi >/dev/null || fail "vdi 300G: data changed"
qemu-img create -q -f vdi full.vdi 128M
qemu-io -f vdi -c "write -P 0x66 0 128M" full.vdi >/dev/null
before=$(sha256sum full.vdi)
expect_status 1 "$VIMG" resize full.vdi 1G
grep -q "vimg convert" err || fail "vdi full map: $(cat err)"
[ "$(sha256sum full.vdi)" = "$before" ] || fail "vdi full map: a refused resize changed it"
expect_status 1 "$VIMG" resize --preallocation=falloc v.vdi +1M
grep -q "preallocation is not supported for a dynamic image" err || fail "vdi falloc: $(cat err)"

# A differencing VHD cannot grow past its parent; it may shrink.
"$VIMG" create -q -f vhd -b r-vhd -F vhd child.vhd
before=$(sha256sum child.vhd)
expect_status 1 "$VIMG" resize child.vhd +1M
grep -q "grow the parent first" err || fail "vhd differencing: $(cat err)"
[ "$(sha256sum child.vhd)" = "$before" ] || fail "vhd differencing: a refused grow changed it"
expect_status 0 "$VIMG" resize --shrink child.vhd 8M
[ "$(vimg_size child.vhd)" -lt $((9 * MIB)) ] || fail "vhd differencing shrink: $(vimg_size child.vhd)"

# vmdk and vhdx: every subformat vimg writes, then what each refuses.
resize_format vmdk vmdk
resize_format vmdk vmdk subformat=twoGbMaxExtentSparse
resize_format vmdk vmdk subformat=monolithicFlat allocated
resize_format vmdk vmdk subformat=twoGbMaxExtentFlat allocated
resize_format vmdk vmdk zeroed_grain=on

# streamOptimized cannot grow in place: refused, the file unchanged.
"$VIMG" convert -O vmdk -o subformat=streamOptimized src.raw so.vmdk
before=$(sha256sum so.vmdk)
expect_status 1 "$VIMG" resize so.vmdk +64M
grep -q "subformat=streamOptimized" err || fail "streamOptimized: $(cat err)"
[ "$(sha256sum so.vmdk)" = "$before" ] || fail "streamOptimized: a refused resize changed it"

# A split sparse disk grown past a 2 GiB extent boundary gets a new extent.
"$VIMG" create -q -f vmdk -o subformat=twoGbMaxExtentSparse split.vmdk 2047M
qemu-io -f vmdk -c "write -P 0x61 2046M 1M" split.vmdk >/dev/null
expect_status 0 "$VIMG" resize split.vmdk 2049M
[ -f split-s002.vmdk ] || fail "split: no second extent: $(ls split*)"
grep -q '^RW 2048 SPARSE "split-s002.vmdk"' split.vmdk || fail "split: $(cat split.vmdk)"
peers_agree split.vmdk vmdk $((2049 * MIB))
qemu-io -f vmdk -c "write -P 0x62 2048M 1M" split.vmdk >/dev/null ||
	fail "split: qemu-io cannot write the new extent"
"$VIMG" convert -O raw split.vmdk split.raw
python3 -c "
import sys
f = open('split.raw', 'rb'); f.seek(2046 << 20); a = f.read(1 << 20)
f.seek(2048 << 20); b = f.read(1 << 20)
sys.exit(a != b'\x61' * (1 << 20) or b != b'\x62' * (1 << 20))" || fail "split: data not read back"
rm -f split.raw
expect_status 0 "$VIMG" resize --shrink split.vmdk 2047M
[ ! -f split-s002.vmdk ] || fail "split: the extent past the end was kept"
peers_agree split.vmdk vmdk $((2047 * MIB))

# A delta VMDK cannot grow past its parent.
"$VIMG" create -q -f vmdk -b r-vmdk -F vmdk child.vmdk
expect_status 1 "$VIMG" resize child.vmdk +1M
grep -q "grow the parent first" err || fail "vmdk delta: $(cat err)"

# (32 MiB blocks: the block holding 16 MiB is allocated past 20 MiB too.)
resize_format vhdx vhdx "" allocated
resize_format vhdx vhdx subformat=fixed allocated
resize_format vhdx vhdx block_size=1M

# Small blocks: 130 GiB needs more BAT entries than its 1 MiB region holds,
# so the BAT moves to the end of the file; the data stays.
"$VIMG" convert -O vhdx -o block_size=1M src.raw bat.vhdx
expect_status 0 "$VIMG" resize bat.vhdx 130G
peers_agree bat.vhdx vhdx $((130 * 1024 * MIB))
qemu-img compare -f raw -F vhdx src.raw bat.vhdx >/dev/null || fail "vhdx BAT move: data changed"
"$VIMG" compare src.raw bat.vhdx >/dev/null || fail "vhdx BAT move: vimg reads other data"
qemu-io -f vhdx -c "write -P 0x63 129G 1M" bat.vhdx >/dev/null || fail "vhdx BAT move: qemu-io"
"$VIMG" convert -O raw bat.vhdx bat.raw
python3 -c "
import sys
f = open('bat.raw', 'rb'); f.seek(129 << 30)
sys.exit(f.read(1 << 20) != b'\x63' * (1 << 20))" || fail "vhdx BAT move: not read back"
rm -f bat.raw

# A differencing vhdx cannot grow past its parent.
"$VIMG" create -q -f vhdx -b r-vhdx -F vhdx child.vhdx
expect_status 1 "$VIMG" resize child.vhdx +1M
grep -q "grow the parent first" err || fail "vhdx differencing: $(cat err)"

# qcow2: v3 and v2, small clusters (the L1 moves when it outgrows its
# cluster), extended L2, compressed clusters.
resize_format qcow2 qcow2
resize_format qcow2 qcow2 compat=0.10
resize_format qcow2 qcow2 cluster_size=4096
resize_format qcow2 qcow2 extended_l2=on
"$VIMG" convert -c -O qcow2 src.raw zc.qcow2
expect_status 0 "$VIMG" resize --shrink zc.qcow2 10M
peers_agree zc.qcow2 qcow2 $((10 * MIB))
same_prefix zc.qcow2 qcow2 src.raw $((10 * MIB))

# 512-byte clusters: 4 GiB needs an L1 of 1 MiB where 64 MiB needed 16 KiB,
# so it moves; qemu-img writes past the old end and the old data stays.
"$VIMG" convert -O qcow2 -o cluster_size=512 src.raw l1.qcow2
expect_status 0 "$VIMG" resize l1.qcow2 4G
peers_agree l1.qcow2 qcow2 $((4 * 1024 * MIB))
qemu-io -f qcow2 -c "write -P 0x64 3G 64k" l1.qcow2 >/dev/null || fail "qcow2 L1 move: qemu-io"
qemu-io -f qcow2 -c "read -P 0x64 3G 64k" l1.qcow2 | grep -q "read 65536" ||
	fail "qcow2 L1 move: qemu's write not read back"
expect_status 0 "$VIMG" resize --shrink l1.qcow2 64M
qemu-img compare -f raw -F qcow2 src.raw l1.qcow2 >/dev/null || fail "qcow2 L1 move: data changed"
peers_agree l1.qcow2 qcow2 $((64 * MIB))

# Shrunk, then grown again: the cut part reads as zeros, not as the old
# data (a partial cluster's tail) nor as the backing file's.
truncate -s 64M ones.raw
write_pattern ones.raw 0 64 base
"$VIMG" convert -O qcow2 ones.raw base.qcow2
"$VIMG" create -q -f qcow2 -b base.qcow2 -F qcow2 over.qcow2
qemu-io -f qcow2 -c "write -P 0x65 0 64M" over.qcow2 >/dev/null
expect_status 0 "$VIMG" resize --shrink over.qcow2 $((10 * MIB + 512))
expect_status 0 "$VIMG" resize over.qcow2 64M
qemu-io -f qcow2 -c "read -P 0x65 0 $((10 * MIB + 512))" over.qcow2 | grep -q "read " ||
	fail "qcow2 regrow: the kept part changed"
qemu-io -f qcow2 -c "read -P 0 $((10 * MIB + 512)) $((54 * MIB - 512))" over.qcow2 |
	grep -q "read " || fail "qcow2 regrow: the grown part is not zeros"
peers_agree over.qcow2 qcow2 $((64 * MIB))

# Growing past the backing file is what overlays on cloud images do.
expect_status 0 "$VIMG" resize over.qcow2 1G
peers_agree over.qcow2 qcow2 $((1024 * MIB))

# Internal snapshots keep their own size (v3); v2 is refused as qemu does.
"$VIMG" convert -O qcow2 src.raw sn.qcow2
"$VIMG" snapshot -c s1 sn.qcow2
expect_status 0 "$VIMG" resize sn.qcow2 +64M
expect_status 0 "$VIMG" resize --shrink sn.qcow2 16M
peers_agree sn.qcow2 qcow2 $((16 * MIB))
qemu-img snapshot -l sn.qcow2 | grep -q "s1" || fail "qcow2 snapshot lost"
# (qemu reverts to the size the snapshot recorded.)
qemu-img snapshot -a s1 sn.qcow2
peers_agree sn.qcow2 qcow2 $((64 * MIB))
qemu-img compare -f raw -F qcow2 src.raw sn.qcow2 >/dev/null ||
	fail "qcow2: the snapshot's content changed"
"$VIMG" convert -O qcow2 -o compat=0.10 src.raw sn2.qcow2
"$VIMG" snapshot -c s1 sn2.qcow2
expect_status 1 "$VIMG" resize sn2.qcow2 +64M
grep -q "v2 image with internal snapshots" err || fail "qcow2 v2 snapshot: $(cat err)"

# Preallocation of the grown part, each mode.
for mode in metadata falloc full; do
	"$VIMG" convert -O qcow2 src.raw pa-$mode.qcow2
	expect_status 0 "$VIMG" resize --preallocation=$mode pa-$mode.qcow2 128M
	peers_agree pa-$mode.qcow2 qcow2 $((128 * MIB))
	same_prefix pa-$mode.qcow2 qcow2 src.raw $((64 * MIB))
	qemu-img map -f qcow2 --output=json pa-$mode.qcow2 | python3 -c "
import json, sys
m = json.load(sys.stdin)
sys.exit(not all(e['data'] for e in m if e['start'] >= 64 << 20))" ||
		fail "qcow2 preallocation=$mode: the grown part is not allocated"
done
expect_status 1 "$VIMG" resize --shrink --preallocation=full pa-full.qcow2 16M
grep -q "preallocation cannot be used when shrinking" err || fail "qcow2: $(cat err)"

# raw: preallocation of the grown part, and the options checked.
truncate -s 1M p.raw
expect_status 0 "$VIMG" resize --preallocation=falloc p.raw 9M
[ "$(du -k p.raw | cut -f1)" -ge 8192 ] || fail "falloc: $(du -k p.raw)"
expect_status 0 "$VIMG" resize --preallocation=full p.raw 10M
[ "$(du -k p.raw | cut -f1)" -ge 9216 ] || fail "full: $(du -k p.raw)"
expect_status 1 "$VIMG" resize --preallocation=metadata p.raw 11M
grep -q "no metadata" err || fail "metadata on raw: $(cat err)"
expect_status 2 "$VIMG" resize --preallocation=some p.raw 11M
expect_status 2 "$VIMG" resize p.raw -20M
expect_status 2 "$VIMG" resize p.raw
expect_status 0 "$VIMG" resize --output=json -f raw p.raw 12M
[ "$(json_get out "d['old-size'], d['virtual-size']")" = "(10485760, 12582912)" ] ||
	fail "resize JSON: $(cat out)"

# Formats that cannot resize say so; read-only stays read-only.
for f in $(python3 -c "
import json, subprocess
d = json.loads(subprocess.check_output(['$VIMG', 'formats', '--output=json']))
print(' '.join(x['name'] for x in d if 'write' in x['features'] and 'resize' not in x['features']))"); do
	"$VIMG" create -f "$f" -q "no.$f" 1M
	expect_status 1 "$VIMG" resize "no.$f" 2M
	grep -q "resizing is not supported" err || fail "$f: $(cat err)"
done
echo "PASS"
