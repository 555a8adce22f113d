#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Hyper-V's XML configurations (the corpus: a generation 1 and a generation
# 2 VM, as Hyper-V wrote them, UTF-16) read into the model: name, firmware
# and Secure Boot, memory, processors, the disk on IDE or SCSI, the DVD
# drive, the NIC. Laid out as Export-VM lays out an export ("Virtual
# Machines/" beside "Virtual Hard Disks/"), each converts to a libvirt
# domain virt-xml-validate accepts, its disk holding what the VHDX holds.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"
requires python3 --version
requires qemu-img --version
c=$(corpus_dir) && [ -d "$c/hyperv/dissect-target" ] || skip "the corpus's Hyper-V configurations are absent"
tmpdir
cd "$TMPD"

check_vm() { # check_vm XML GEN NAME
	"$VIMG" inspect --output=json --allow-escape "$1" >i.json || fail "inspect $1"
	hyperv_vm_check i.json "$2" "$3" 512 "Virtual Hard Disks/$3.vhdx"
}

for gen in 1 2; do
	case $gen in
	1) xml=B90AC31B-C6F8-479F-9B91-07B894A6A3F6.xml ;;
	2) xml=D351C151-DAC7-4042-B434-B72D522C1E4A.xml ;;
	esac
	name="Default Generation $gen"
	mkdir -p "exp$gen/Virtual Machines" "exp$gen/Virtual Hard Disks"
	cp "$c/hyperv/dissect-target/$xml" "exp$gen/Virtual Machines/"
	qemu-img create -q -f vhdx "exp$gen/Virtual Hard Disks/$name.vhdx" 16M
	qemu-io -f vhdx -c "write -P 0x5$gen 1M 2M" "exp$gen/Virtual Hard Disks/$name.vhdx" >/dev/null
	check_vm "exp$gen/Virtual Machines/$xml" $gen "$name"
	"$VIMG" convert --to libvirt --allow-escape "exp$gen/Virtual Machines/$xml" kvm$gen \
		2>warn || fail "convert generation $gen"
	if command -v virt-xml-validate >/dev/null 2>&1; then
		virt-xml-validate "kvm$gen/$name.xml" domain >/dev/null || fail "validate $gen"
	fi
	qemu-img compare -q "exp$gen/Virtual Hard Disks/$name.vhdx" "kvm$gen/$name.qcow2" ||
		fail "generation $gen: the disk differs"
	if [ $gen = 2 ]; then
		grep -q 'secure="yes"' "kvm$gen/$name.xml" || fail "Secure Boot lost"
	fi
done
# Without --allow-escape the export's disk (in ../) is refused, and said so;
# inspect reads it and notes where it lies.
expect_status 1 "$VIMG" convert --to libvirt "exp1/Virtual Machines/B90AC31B-C6F8-479F-9B91-07B894A6A3F6.xml" x
grep -q 'ide0:0.*outside' err || fail "convert without --allow-escape: $(cat err)"
"$VIMG" inspect "exp1/Virtual Machines/B90AC31B-C6F8-479F-9B91-07B894A6A3F6.xml" >o.txt
grep -q "lies outside the VM's folder" o.txt || fail "inspect without --allow-escape"
echo "PASS: Hyper-V XML configurations"
