#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# A GRUB disk (boot.img + grub-mkimage core.img with dd, an ext2 partition
# made with mke2fs -d: no loop mount) with the Debian kernel and a busybox
# initramfs: the qemu engine boots raw and qcow2 copies to the
# initramfs marker; the kvm engine runs it with hardware KVM only (under
# KVM's emulator, GRUB's protected-mode start-up does not get to the kernel
# within a minute). No image may change.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"
. "$VIMG_SRCDIR/tests/boot-functions.sh"
. "$VIMG_SRCDIR/tests/boot-images.sh"

requires python3 -c 1
tmpdir
cd "$TMPD"
have_qemu=yes
command -v qemu-system-x86_64 >/dev/null 2>&1 || have_qemu=no
hw_kvm=no
if [ -r /dev/kvm ] && [ -w /dev/kvm ] && ! kvm_emulated; then hw_kvm=yes; fi
[ $have_qemu = yes ] || [ $hw_kvm = yes ] ||
	skip "no qemu-system-x86_64, and KVM is missing or emulated (GRUB needs hardware KVM)"
find_kernel
make_initramfs initrd.img VIMG-INITRAMFS-OK
make_grub_disk grub.img "$KERNEL" initrd.img "console=ttyS0 panic=-1"
"$VIMG" convert -O qcow2 grub.img grub.qcow2

if [ $have_qemu = yes ]; then
	for img in grub.img grub.qcow2; do
		boot_unchanged "$img" 0 --engine=qemu --expect VIMG-INITRAMFS-OK --timeout 120
		grep -q "^stage: userspace" out || fail "qemu $img: stage: $(grep stage: out)"
	done
fi
if [ $hw_kvm = yes ]; then
	for img in grub.img grub.qcow2; do
		boot_unchanged "$img" 0 --engine=kvm --until kernel --timeout 60
	done
else
	echo "kvm engine skipped: KVM is missing or emulated (kvm_pvm)"
fi
echo "PASS"
