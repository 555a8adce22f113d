#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Root file system over virtio-blk: the Debian kernel boots directly with a
# busybox initramfs that loads virtio_pci, virtio_blk and ext4, mounts
# /dev/vda1 (an ext4 partition made with mke2fs -d) and switches root to it;
# its /sbin/init prints a marker. qemu engine on a qcow2 copy; kvm
# engine only with hardware KVM (KVM's emulator cannot run Linux past its
# setup code). No image may change.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"
. "$VIMG_SRCDIR/tests/boot-functions.sh"
. "$VIMG_SRCDIR/tests/boot-images.sh"

requires python3 -c 1
requires mke2fs -V
tmpdir
cd "$TMPD"
find_kernel
[ -n "$KMODS" ] || skip "no modules for $KERNEL"

make_initramfs initrd.img VIMG-INITRAMFS-OK virtio-root
make_rootfs root.ext4 24 VIMG-ROOT-OK
truncate -s 32M disk.img
dd if=root.ext4 of=disk.img bs=1M seek=1 conv=notrunc status=none
mbr_partition disk.img 2048 $((24 * 2048)) 0x83
"$VIMG" convert -O qcow2 disk.img disk.qcow2

ran=0
if command -v qemu-system-x86_64 >/dev/null 2>&1; then
	for img in disk.qcow2; do
		boot_unchanged "$img" 0 --engine=qemu --kernel "$KERNEL" --initrd initrd.img \
			--append "console=ttyS0 panic=-1" --expect VIMG-ROOT-OK --timeout 120
		grep -q "vda: vda1" out || fail "qemu $img: no virtio disk"
	done
	ran=1
fi
if [ -r /dev/kvm ] && ! kvm_emulated; then
	boot_unchanged disk.img 0 --engine=kvm --kernel "$KERNEL" --initrd initrd.img \
		--append "console=ttyS0 panic=-1" --expect VIMG-ROOT-OK --timeout 60
	ran=1
elif [ $ran = 1 ]; then
	echo "kvm engine skipped: KVM is emulated (kvm_pvm), Linux cannot run past its setup code"
fi
[ $ran = 1 ] || skip "no qemu-system-x86_64 and no hardware KVM"
echo "PASS"
