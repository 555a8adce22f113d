#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# vimg boot of a VM: the EFI fixture bundle boots on the qemu engine with
# Debian's Secure Boot OVMF and its own UEFI variables (the firmware tries
# its boot entries by their descriptions), and so do the libvirt domain
# vimg convert made of it (the variables carried in its OVMF store) and its
# OVA, booted in place. A
# firmware that ignored the variables would try neither entry. Nothing of
# either VM is written.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"
requires qemu-system-x86_64 --version
[ -f /usr/share/OVMF/OVMF_CODE_4M.secboot.fd ] || skip "Debian's ovmf is not installed"
tmpdir
make_bundles "$TMPD/b"
cd "$TMPD"

# BootOrder is 0001,0000: the disk entry is the second one tried.
expect='failed to load Boot0000 "vimg fixture disk"'
before=$(sums b/esx-efi)
"$VIMG" boot --engine=qemu --timeout=120 --expect="$expect" --serial=con1.txt \
	--output=json b/esx-efi >r1.json
rc=$?
[ "$rc" = 0 ] || { tail -5 con1.txt >&2; fail "the VMware VM did not boot with its variables ($rc)"; }
[ "$(json_get r1.json "d['engine']")" = qemu ] || fail "engine"
grep -q 'failed to load Boot0001 "vimg fixture network"' con1.txt || fail "Boot0001 not tried"
[ "$(sums b/esx-efi)" = "$before" ] || fail "booting changed the bundle"

"$VIMG" convert --to libvirt b/esx-efi kvm 2>/dev/null || fail "convert"
before=$(sums kvm)
"$VIMG" boot --timeout=120 --expect="$expect" --serial=con2.txt kvm/esx-efi.xml >/dev/null ||
	{ tail -5 con2.txt >&2; fail "the libvirt VM did not boot with the carried variables"; }
[ "$(sums kvm)" = "$before" ] || fail "booting changed the converted VM"

# An OVA boots in place: its disk and variables read inside the archive.
"$VIMG" convert --to ova b/esx-efi ova 2>/dev/null || fail "convert to ova"
before=$(sums ova)
"$VIMG" boot --timeout=120 --expect="$expect" --serial=con3.txt ova/esx-efi.ova >/dev/null ||
	{ tail -5 con3.txt >&2; fail "the OVA did not boot with its variables"; }
[ "$(sums ova)" = "$before" ] || fail "booting changed the OVA"
[ "$(ls ova)" = esx-efi.ova ] || fail "booting the OVA extracted something"

expect_status 2 "$VIMG" boot --engine=kvm b/esx-efi
grep -q 'UEFI needs the qemu engine' err || fail "kvm engine for an EFI VM: $(cat err)"
echo "PASS: EFI VMs boot with their own variables"
