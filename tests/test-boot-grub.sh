#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# GRUB disks laid out as grub-install does (tests/boot-images.sh: boot.img,
# a small core.img, modules and grub.cfg on an ext2 partition made with
# mke2fs -d: no loop mount). No image may change.
#  - kvm engine, the tiny boot protocol kernel (fixtures/boot/tiny-linux.S):
#    GRUB starts it through the Linux 32-bit boot protocol (no real-mode
#    setup code runs); its 32-bit entry prints the command line, initrd and
#    E820 map GRUB gave it;
#  - kvm engine, the Debian kernel on raw, qcow2, vmdk and vhdx copies:
#    --until kernel, the stage found by the launcher (the vCPU runs inside the
#    kernel a loader-prepared boot_params describes). Under KVM's emulator
#    (kvm_pvm) each run takes about two minutes of CPU, nearly all of it in
#    GRUB's own code: it copies every byte of the kernel three times with a
#    byte-wise memmove, then relocates 64 MiB. The sanitizer run boots the raw
#    and qcow2 copies only;
#  - qemu engine, raw and qcow2 copies, the Debian kernel and a busybox
#    initramfs: the initramfs marker (user space).
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
	boot_bg kvm-tiny tiny.img --engine=kvm --expect "TINY done" --timeout 400
else
	echo "kvm engine, tiny kernel skipped: no /dev/kvm or no GNU as/ld"
fi

if [ $have_kernel = yes ]; then
	make_initramfs initrd.img VIMG-INITRAMFS-OK
	make_grub_disk grub.img "$KERNEL" initrd.img "console=ttyS0 panic=-1"
	"$VIMG" convert -O qcow2 grub.img grub.qcow2
	kvm_copies=""
	if [ $have_kvm = yes ]; then
		kvm_copies="grub.img grub.qcow2"
		if unsanitized; then
			"$VIMG" convert -O vmdk grub.img grub.vmdk
			"$VIMG" convert -O vhdx grub.img grub.vhdx
			kvm_copies="$kvm_copies grub.vmdk grub.vhdx"
		fi
		# Two at a time: they share the CPUs with the rest of make check.
		n=0
		for img in $kvm_copies; do
			boot_bg "kvm-$img" "$img" --engine=kvm --until kernel --timeout 900
			n=$((n + 1))
			[ $((n % 2)) = 1 ] || wait
		done
	else
		echo "kvm engine, Debian kernel skipped: no /dev/kvm"
	fi
	if [ $have_qemu = yes ]; then
		for img in grub.img grub.qcow2; do
			boot_unchanged "$img" 0 --engine=qemu --expect VIMG-INITRAMFS-OK --timeout 120
			grep -q "^stage: userspace" out || fail "qemu $img: stage: $(grep stage: out)"
		done
	fi
	wait
	for img in $kvm_copies; do
		check_kernel_bg "kvm-$img"
		grep -q "Booting .linux" "kvm-$img.out" || fail "$img: GRUB did not boot its menu entry"
	done
	if [ $hw_kvm = yes ]; then
		boot_unchanged grub.img 0 --engine=kvm --expect VIMG-INITRAMFS-OK --timeout 60
	fi
else
	echo "no Linux kernel: the Debian-kernel GRUB boots are skipped (see tests/boot-get-kernel.sh)"
fi

if [ $have_kvm = yes ] && [ $have_as = yes ]; then
	wait
	check_kernel_bg kvm-tiny
	o=kvm-tiny.out
	grep -q "GRUB" "$o" || fail "tiny: no GRUB banner"
	grep -q "TINY cmdline=.*console=ttyS0 vimg-test=1" "$o" || { cat "$o"; fail "tiny: cmdline"; }
	grep -q "TINY initrd=[0-9a-f]* size=00001388 loader=000000[0-9a-f][0-9a-f]" "$o" ||
		{ cat "$o"; fail "tiny: initrd"; }
	grep -q "TINY E820 0000000000100000 " "$o" || { cat "$o"; fail "tiny: E820"; }
fi
echo "PASS"
