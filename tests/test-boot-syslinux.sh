#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# SYSLINUX disks (mtools + syslinux --offset, no loop mount):
#  - kvm engine, raw/qcow2/vmdk/vhdx copies: SYSLINUX loads the tiny boot
#    protocol kernel (fixtures/boot/tiny-linux.S) and an initrd, which prints
#    the command line and initrd SYSLINUX gave it (kernel stage);
#  - kvm engine, raw/qcow2/vmdk/vhdx copies, the Debian kernel: --until
#    kernel (about 14 s of CPU each under KVM's emulator);
#  - qemu engine, raw, the Debian kernel and a busybox initramfs:
#    the initramfs marker (user space).
# No image may change.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"
. "$VIMG_SRCDIR/tests/boot-functions.sh"
. "$VIMG_SRCDIR/tests/boot-images.sh"

require_as
requires python3 -c 1
tmpdir
cd "$TMPD"

have_kvm=yes
[ -r /dev/kvm ] && [ -w /dev/kvm ] || have_kvm=no
have_qemu=yes
command -v qemu-system-x86_64 >/dev/null 2>&1 || have_qemu=no
[ $have_kvm = yes ] || [ $have_qemu = yes ] || skip "neither /dev/kvm nor qemu-system-x86_64"

LINK=0 payload tiny-linux tiny.bin
head -c 5000 /dev/zero | tr '\0' 'r' >tiny-initrd.img
make_syslinux_disk tiny.img tiny.bin tiny-initrd.img "console=ttyS0 vimg-test=1"

have_kernel=yes
find_kernel optional || have_kernel=no
if [ $have_kernel = yes ]; then
	make_initramfs initrd.img VIMG-INITRAMFS-OK
	make_syslinux_disk linux.img "$KERNEL" initrd.img "console=ttyS0 panic=-1"
else
	echo "no Linux kernel: only the tiny kernel is booted (see tests/boot-get-kernel.sh)"
fi

if [ $have_kvm = yes ]; then
	"$VIMG" convert -O qcow2 tiny.img tiny.qcow2
	"$VIMG" convert -O vmdk tiny.img tiny.vmdk
	"$VIMG" convert -O vhdx tiny.img tiny.vhdx
	# SYSLINUX's start-up costs ~10 s of CPU under KVM's emulator: there the
	# vmdk copy is left to test-boot-payloads.sh's int 13h checks.
	copies="tiny.img tiny.qcow2 tiny.vmdk tiny.vhdx"
	for img in $copies; do
		boot_bg "kvm-$img" "$img" --engine=kvm --expect "TINY done" --timeout 60
	done
	wait
	linux_copies=""
	if [ $have_kernel = yes ]; then
		"$VIMG" convert -O qcow2 linux.img linux.qcow2
		"$VIMG" convert -O vmdk linux.img linux.vmdk
		"$VIMG" convert -O vhdx linux.img linux.vhdx
		linux_copies="linux.img linux.qcow2 linux.vmdk linux.vhdx"
		for img in $linux_copies; do
			boot_bg "kvm-$img" "$img" --engine=kvm --until kernel --timeout 120
		done
		wait
	fi
	for img in $copies; do
		o=kvm-$img.out
		check_bg "kvm-$img" 0
		grep -q "^SYSLINUX " "$o" || fail "$img: no SYSLINUX banner"
		grep -q "TINY cmdline=.*console=ttyS0 vimg-test=1" "$o" || { cat "$o"; fail "$img: cmdline"; }
		grep -q "TINY initrd=[0-9a-f]* size=00001388" "$o" || fail "$img: initrd"
		grep -q "^stage: kernel" "$o" || fail "$img: stage: $(grep stage: "$o")"
	done
	for img in $linux_copies; do
		o=kvm-$img.out
		check_bg "kvm-$img" 0
		grep -q "Loading /vmlinuz" "$o" || fail "kvm $img: SYSLINUX did not load the kernel"
		grep -q "^stage: kernel" "$o" || fail "kvm $img: stage: $(grep stage: "$o")"
	done
	if [ $have_kernel = yes ] && ! kvm_emulated; then
		boot_unchanged linux.img 0 --engine=kvm --expect VIMG-INITRAMFS-OK --timeout 60
	fi
fi
if [ $have_qemu = yes ] && [ $have_kernel = yes ]; then
	for img in linux.img; do
		boot_unchanged "$img" 0 --engine=qemu --expect VIMG-INITRAMFS-OK --timeout 120
		grep -q "^stage: userspace" out || fail "qemu $img: stage: $(grep stage: out)"
		grep -q "^  loader  *[0-9]" out || fail "qemu $img: loader stage"
	done
fi
echo "PASS"
