#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The demo: install dependencies, build, then walk through vimg's commands on
# a small disk in a temporary directory, printing each command before it
# runs, and cross-check with qemu-img. Ends with "demo OK"; any failure stops
# it with a non-zero exit.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/deps.sh"
"$top/scripts/build.sh" build

vimg="$top/build/cli/vimg"
work=$(mktemp -d "${TMPDIR:-/tmp}/vimg-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

run() {
	echo
	echo "\$ $*"
	"$@"
}

echo
echo "=== demo in $work"
# A sparse 64 MiB raw disk with three MiB-sized patterns and a hole between.
run truncate -s 64M disk.raw
python3 - disk.raw <<'PY'
import sys
with open(sys.argv[1], 'r+b') as f:
    for mib, byte in ((0, 0x5a), (7, 0xa5), (40, 0x3c)):
        f.seek(mib << 20)
        f.write(bytes((byte + i) & 0xff for i in range(256)) * 4096 * 2)
PY

run "$vimg" --version
run "$vimg" formats
run "$vimg" info disk.raw
run "$vimg" convert -p -O qcow2 disk.raw disk.qcow2
run "$vimg" convert -c -O qcow2 disk.raw disk-compressed.qcow2
run "$vimg" info disk.qcow2
run "$vimg" info --output=json disk-compressed.qcow2
run "$vimg" map disk.qcow2
run "$vimg" map --output=json disk.qcow2
run "$vimg" compare disk.raw disk.qcow2
run "$vimg" compare disk.raw disk-compressed.qcow2
run "$vimg" check disk.qcow2
run "$vimg" check disk-compressed.qcow2
run "$vimg" create -f qcow2 -b disk.qcow2 -F qcow2 overlay.qcow2
run "$vimg" info --backing-chain overlay.qcow2
run "$vimg" convert -O raw disk-compressed.qcow2 back.raw
run "$vimg" compare disk.raw back.raw
run cmp disk.raw back.raw

echo
echo "=== the same disk for VMware, Hyper-V, Azure and VirtualBox"
run "$vimg" convert -O vmdk -o subformat=streamOptimized disk.qcow2 disk-esxi.vmdk
run "$vimg" info disk-esxi.vmdk
run "$vimg" convert -O vhdx disk-esxi.vmdk disk.vhdx
run "$vimg" convert -O vhd -o subformat=fixed,force_size=on disk.vhdx disk-azure.vhd
run "$vimg" convert -O vdi disk-azure.vhd disk.vdi
for f in disk-esxi.vmdk disk.vhdx disk-azure.vhd disk.vdi; do
	run "$vimg" compare disk.raw "$f"
	run "$vimg" check "$f"
done

mount_tool="$top/build/fuse/vimgmount"
if [ -x "$mount_tool" ] && [ -e /dev/fuse ] && command -v fusermount3 >/dev/null 2>&1; then
	echo
	echo "=== the VMware copy mounted read-only with vimgmount"
	mkdir mnt
	run "$mount_tool" disk-esxi.vmdk mnt
	run ls -l mnt
	run cmp disk.raw mnt/disk
	run fusermount3 -u mnt
else
	echo
	echo "=== (vimgmount skipped: no FUSE here)"
fi

if command -v qemu-img >/dev/null 2>&1; then
	echo
	echo "=== cross-check with qemu-img"
	run qemu-img check disk.qcow2
	run qemu-img check disk-compressed.qcow2
	run qemu-img compare disk.raw disk.qcow2
	run qemu-img compare disk.raw disk-compressed.qcow2
	run qemu-img compare disk.raw overlay.qcow2
	run qemu-img compare disk.raw disk-esxi.vmdk
	run qemu-img compare disk.raw disk.vhdx
	run qemu-img compare -f raw -F vpc disk.raw disk-azure.vhd
	run qemu-img compare disk.raw disk.vdi
fi

if command -v qemu-img >/dev/null 2>&1 && command -v qemu-io >/dev/null 2>&1; then
	echo
	echo "=== a VMware VM: inspect, snapshot, clone"
	run sh "$top/fixtures/make-bundles.sh" vms
	run "$vimg" inspect vms/chain
	run "$vimg" snapshot -l vms/chain
	run "$vimg" snapshot -d two vms/chain
	run "$vimg" snapshot -c after-demo vms/chain
	run "$vimg" clone --linked vms/esx-efi vms/esx-clone
	run "$vimg" inspect --output=json vms/esx-clone

	echo
	echo "=== the EFI VM to KVM: its disks, boot entries and Secure Boot keys"
	run "$vimg" nvram list vms/esx-efi
	run "$vimg" convert --to libvirt -p vms/esx-efi kvm
	run ls -l kvm
	if command -v virt-xml-validate >/dev/null 2>&1; then
		run virt-xml-validate kvm/esx-efi.xml domain
	fi
	run qemu-img compare vms/esx-efi/esx-efi.vmdk kvm/esx-efi.qcow2
	run qemu-img check kvm/esx-efi.qcow2
	run "$vimg" nvram list kvm/esx-efi_VARS.fd
	run "$vimg" convert --to vmware kvm/esx-efi.xml back
	run "$vimg" inspect back

	echo
	echo "=== the same VM as an OVA: ovf, manifest, then streamOptimized disks"
	run "$vimg" convert --to ova -p vms/esx-efi ova
	run tar tvf ova/esx-efi.ova
	mkdir -p ova-check
	run tar xf ova/esx-efi.ova -C ova-check
	sed -E 's/^SHA256\((.*)\)= (.*)$/\2  \1/' ova-check/esx-efi.mf >ova-check/SHA256SUMS
	(cd ova-check && run sha256sum -c SHA256SUMS)
	run qemu-img check ova-check/esx-efi.vmdk
	run qemu-img compare vms/esx-efi/esx-efi.vmdk ova-check/esx-efi.vmdk
	if command -v virt-v2v >/dev/null 2>&1 && command -v nbdkit >/dev/null 2>&1; then
		run env LIBGUESTFS_BACKEND=direct virt-v2v -i ova ova/esx-efi.ova --print-source
	fi
	# Read in place: the OVA's disks are never extracted.
	run "$vimg" convert --to libvirt ova/esx-efi.ova kvm-from-ova
	run qemu-img compare vms/esx-efi/esx-efi.vmdk kvm-from-ova/esx-efi.qcow2

	if command -v qemu-system-x86_64 >/dev/null 2>&1 && [ -f /usr/share/OVMF/OVMF_CODE_4M.secboot.fd ]; then
		echo
		echo "=== boot-check: OVMF with the VM's own variables tries its boot entries"
		run "$vimg" boot --engine=qemu --timeout=120 \
			--expect='failed to load Boot0000 "vimg fixture disk"' kvm/esx-efi.xml
		run "$vimg" boot --engine=qemu --timeout=120 \
			--expect='failed to load Boot0000 "vimg fixture disk"' ova/esx-efi.ova
	fi
fi

echo
echo "demo OK"
