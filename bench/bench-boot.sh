#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Time to each boot stage of a SYSLINUX disk and a GRUB disk (the same
# Debian kernel and busybox initramfs) under `vimg boot --engine=kvm` and
# `--engine=qemu`, one run each, as a table. Says when the kvm numbers come from an emulated KVM
# (kvm_pvm: KVM's instruction emulator, not VT-x/AMD-V).
# Usage: bench/bench-boot.sh [VIMG]   (run from the build directory)
set -eu
VIMG=${1:-${VIMG:-cli/vimg}}
VIMG=$(cd "$(dirname "$VIMG")" && pwd)/$(basename "$VIMG")
VIMG_SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
VIMG_BUILDDIR=${VIMG_BUILDDIR:-$(pwd)}
export VIMG VIMG_SRCDIR VIMG_BUILDDIR
. "$VIMG_SRCDIR/tests/functions.sh"
. "$VIMG_SRCDIR/tests/boot-functions.sh"
. "$VIMG_SRCDIR/tests/boot-images.sh"
tmpdir
cd "$TMPD"
find_kernel
make_initramfs initrd.img VIMG-INITRAMFS-OK
make_syslinux_disk syslinux.img "$KERNEL" initrd.img "console=ttyS0 panic=-1"
make_grub_disk grub.img "$KERNEL" initrd.img "console=ttyS0 panic=-1"

row() {
	# row LABEL JSON
	python3 - "$1" "$2" <<'PYEOF'
import json, sys
label, path = sys.argv[1], sys.argv[2]
try:
    d = json.load(open(path))
except Exception as e:
    print('%-36s (no result: %s)' % (label, e)); sys.exit()
ms = d['stage-ms']
cell = lambda k: '%8s' % (ms.get(k) if ms.get(k) is not None else '-')
kvm = 'hardware' if d['kvm-hardware'] else (d.get('emulated') or '-')
print('%-36s %s %s %s %s  %-8s %s' % (label, cell('firmware'), cell('loader'), cell('kernel'),
      cell('userspace'), d['stage'], kvm))
PYEOF
}

printf '%-36s %8s %8s %8s %8s  %-8s %s\n' "engine / goal (ms to stage)" firmware loader kernel userspace reached KVM
for disk in syslinux grub; do
	if [ -r /dev/kvm ]; then
		if kvm_emulated; then
			"$VIMG" boot --engine=kvm --until kernel --timeout 600 --output=json $disk.img \
				>kvm.json 2>/dev/null || true
			row "$disk: kvm --until kernel" kvm.json
		else
			"$VIMG" boot --engine=kvm --expect VIMG-INITRAMFS-OK --timeout 120 --output=json \
				$disk.img >kvm.json 2>/dev/null || true
			row "$disk: kvm --expect initramfs marker" kvm.json
		fi
	fi
	if command -v qemu-system-x86_64 >/dev/null 2>&1; then
		"$VIMG" boot --engine=qemu --expect VIMG-INITRAMFS-OK --timeout 180 --output=json \
			$disk.img >qemu.json 2>/dev/null || true
		row "$disk: qemu --expect marker" qemu.json
	fi
done
if kvm_emulated; then
	echo "note: /dev/kvm is emulated (kvm_pvm): the kvm engine's times are KVM's instruction"
	echo "emulator's (~1500x slower than VT-x/AMD-V), and qemu uses TCG, not KVM."
fi
