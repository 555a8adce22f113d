#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# vimg boot under KVM with the project's payloads, on raw, qcow2, vmdk
# (sparse and streamOptimized), vhdx, vhd and vdi copies of one disk:
#  (1) lba-sum.S: second stage and a checksum read through int 13h AH=42h;
#  (2) chs-e820.S: CHS reads (AH=02h/08h), the E820 map and the BDA;
#  (3) virtio-sum.S: the same checksum as (1) read through the legacy
#      virtio-blk device (PCI config mechanism #1, a polled virtqueue).
# The checksums printed by the guest must equal the disk content's (computed
# here with python3), and no image may change.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"
. "$VIMG_SRCDIR/tests/boot-functions.sh"

require_kvm
require_as
requires python3 -c 1
tmpdir
cd "$TMPD"

payload lba-sum p1.bin
payload chs-e820 p2.bin
payload virtio-sum p3.bin
make_disk p1.img 8 p1.bin
make_disk p2.img 8 p2.bin
make_disk p3.img 8 p3.bin
sum1=$(disk_sum p1.img 64 512)
sum2=$(disk_sum p2.img 64 128)

for img in $(format_copies p1.img); do
	boot_unchanged "$img" 0 --timeout 30
	grep -q "^SUM=$sum1" out || { cat out; fail "$img: checksum, want $sum1"; }
	grep -q "ended: debug exit 0" out || fail "$img: $(grep ended: out)"
	grep -q "^stage: loader" out || fail "$img: stage"
done

for img in $(format_copies p2.img); do
	boot_unchanged "$img" 0 --timeout 30 --output=json --serial serial.txt
	grep -q "^CHS=$sum2" serial.txt || { cat serial.txt; fail "$img: CHS checksum, want $sum2"; }
	grep -q "^GEOM=00000010/0000003f" serial.txt || fail "$img: geometry"
	grep -q "^E820 0000000000000000 000000000009fc00 1" serial.txt || fail "$img: E820 low"
	grep -q "^E820 0000000000100000 000000001ff00000 1" serial.txt || fail "$img: E820 high"
	grep -q "^MEM=0000027f INT12=0000027f DISKS=00000001" serial.txt || fail "$img: BDA"
	[ "$(json_get out "d['passed']")" = True ] || fail "$img: json passed"
	[ "$(json_get out "d['exit-code']")" = 0 ] || fail "$img: json exit code"
done

# (VHD rounds the size up to its CHS geometry: 8 MiB + 4 sectors.)
for img in $(format_copies p3.img); do
	boot_unchanged "$img" 0 --timeout 30
	grep -q "^VIRTIO cap=0000400[0-9a-f]" out || { cat out; fail "$img: virtio capacity"; }
	grep -q "^VIRTIO SUM=$sum1" out || { cat out; fail "$img: virtio checksum, want $sum1"; }
done

# -m changes the E820 map.
boot_unchanged p2.img 0 -m 64M --serial serial.txt
grep -q "^E820 0000000000100000 0000000003f00000 1" serial.txt || fail "-m 64M: E820"
echo "PASS"
