#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# GRUB disks (boot.img + grub-mkimage core.img with dd, an ext2 partition
# made with mke2fs -d: no loop mount). No image may change.
#  - kvm engine, raw, qcow2, vmdk and vhdx copies: GRUB loads the tiny boot
#    protocol kernel (fixtures/boot/tiny-linux.S) through the Linux 32-bit boot
#    protocol (no real-mode setup code runs); its 32-bit entry prints the
#    command line, initrd and E820 map GRUB gave it. The kernel stage comes
#    from the launcher's 32-bit entry detection. Under KVM's emulator
#    (kvm_pvm) each run takes about 45 s of CPU (the four share the CPUs).
#  - qemu engine, raw and qcow2 copies, the Debian kernel and a busybox
#    initramfs: the initramfs marker (user space);
#  - kvm engine, the Debian kernel: --until kernel, with hardware KVM only
#    (under KVM's emulator the kernel's decompressor does not get to
#    "Linux version" in useful time).
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"
. "$VIMG_SRCDIR/tests/boot-functions.sh"
. "$VIMG_SRCDIR/tests/boot-images.sh"

requires python3 -c 1
tmpdir
cd "$TMPD"
have_qemu=yes
command -v qemu-system-x86_64 >/dev/null 2>&1 || have_qemu=no
have_kvm=yes
[ -r /dev/kvm ] && [ -w /dev/kvm ] || have_kvm=no
hw_kvm=no
if [ $have_kvm = yes ] && ! kvm_emulated; then hw_kvm=yes; fi
have_kernel=yes
find_kernel optional || have_kernel=no
[ $have_qemu = yes ] || [ $have_kvm = yes ] || skip "neither /dev/kvm nor qemu-system-x86_64"

# check_kernel_bg NAME: check_bg, and the kernel stage was reached.
check_kernel_bg() {
	check_bg "$1" 0
	grep -q "^stage: kernel" "$1.out" || { cat "$1.out"; fail "$1: stage: $(grep stage: "$1.out")"; }
}

have_as=yes
command -v as >/dev/null 2>&1 && command -v ld >/dev/null 2>&1 || have_as=no
if [ $have_kvm = yes ] && [ $have_as = yes ]; then
	LINK=0 payload tiny-linux tiny.bin
	head -c 5000 /dev/zero | tr '\0' 'r' >tiny-initrd.img
	make_grub_disk tiny.img tiny.bin tiny-initrd.img "console=ttyS0 vimg-test=1"
	"$VIMG" convert -O qcow2 tiny.img tiny.qcow2
	"$VIMG" convert -O vmdk tiny.img tiny.vmdk
	"$VIMG" convert -O vhdx tiny.img tiny.vhdx
	# The raw copy runs the tiny kernel to its end (its output checked),
	# the converted copies stop at the kernel stage.
	boot_bg kvm-tiny-raw tiny.img --engine=kvm --expect "TINY done" --timeout 400
	for c in qcow2 vmdk vhdx; do
		boot_bg kvm-tiny-$c tiny.$c --engine=kvm --until kernel --timeout 400
	done
	wait
	for c in raw qcow2 vmdk vhdx; do
		check_kernel_bg kvm-tiny-$c
	done
	o=kvm-tiny-raw.out
	grep -q "GRUB" "$o" || fail "raw: no GRUB banner"
	grep -q "TINY cmdline=.*console=ttyS0 vimg-test=1" "$o" || { cat "$o"; fail "raw: cmdline"; }
	grep -q "TINY initrd=[0-9a-f]* size=00001388 loader=000000[0-9a-f][0-9a-f]" "$o" ||
		{ cat "$o"; fail "raw: initrd"; }
	grep -q "TINY E820 0000000000100000 " "$o" || { cat "$o"; fail "raw: E820"; }
	for c in qcow2 vmdk vhdx; do
		grep -q "GRUB" kvm-tiny-$c.out || fail "$c: no GRUB banner"
	done
else
	echo "kvm engine, tiny kernel skipped: no /dev/kvm or no GNU as/ld"
fi

if [ $have_kernel = yes ] && { [ $have_qemu = yes ] || [ $hw_kvm = yes ]; }; then
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
		echo "kvm engine, Debian kernel skipped: KVM is missing or emulated (kvm_pvm)"
	fi
elif [ $have_kernel = no ]; then
	echo "no Linux kernel: the Debian-kernel GRUB boots are skipped (see tests/boot-get-kernel.sh)"
fi
echo "PASS"
