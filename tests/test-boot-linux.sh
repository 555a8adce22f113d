#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Direct kernel boot (Linux boot protocol) of the tiny real-mode kernel
# fixtures/boot/tiny-linux.S: it must see the command line, the initrd
# (address and size) and the E820 map the launcher gave it; also under qemu
# (-kernel) as a cross-check of the same payload.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"
. "$VIMG_SRCDIR/tests/boot-functions.sh"

require_kvm
require_as
tmpdir
cd "$TMPD"

LINK=0 payload tiny-linux tiny.bin
head -c 12345 /dev/zero | tr '\0' 'i' >initrd.img
truncate -s 1M disk.img

boot_unchanged disk.img 0 --kernel tiny.bin --initrd initrd.img --append "root=/dev/vda1 x=y"
grep -q "^TINY cmdline=root=/dev/vda1 x=y" out || { cat out; fail "cmdline"; }
# 512 MiB of RAM: the initrd sits at the top, page aligned.
grep -q "^TINY initrd=1fffc000 size=00003039 loader=000000ff" out || fail "initrd: $(grep initrd= out)"
grep -q "^TINY E820 0000000000100000 000000001ff00000 1" out || fail "E820"
grep -q "^stage: kernel" out || fail "stage"

boot_unchanged disk.img 0 -m 64M --kernel tiny.bin --append ""
grep -q "^TINY initrd=00000000 size=00000000" out || fail "no initrd"
grep -q "^TINY E820 0000000000100000 0000000003f00000 1" out || fail "E820 64M"

# Errors: not a kernel, an initrd that does not fit.
expect_status 2 "$VIMG" boot --engine=kvm --kernel initrd.img disk.img
grep -q "not a Linux kernel" err || fail "bad kernel: $(cat err)"
truncate -s 100M big.img
expect_status 2 "$VIMG" boot --engine=kvm -m 64M --kernel tiny.bin --initrd big.img disk.img
grep -q "does not fit" err || fail "big initrd: $(cat err)"

if command -v qemu-system-x86_64 >/dev/null 2>&1; then
	boot_unchanged disk.img 0 --engine=qemu --kernel tiny.bin --initrd initrd.img \
		--append "x=y" --expect "TINY done" --timeout 60
	grep -q "^TINY cmdline=x=y" out || fail "qemu: cmdline"
fi
echo "PASS"
