#!/bin/sh
# The OVMF store vimg nvram export writes is the one the firmware boots
# with: Debian's Secure Boot OVMF under qemu-system-x86_64 (TCG: the check
# is about the firmware, not speed), given the store exported from the
# generator's EFI .nvram, must try the VM's two boot entries by their
# descriptions and device paths, and refuse to start its own unsigned UEFI
# shell because Secure Boot is on (the store's PK/KEK/db enrolled). A store
# the firmware ignored or reinitialised would have neither. Afterwards the
# firmware's writes have left the VM's keys and entries in place.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"
requires python3 --version
requires qemu-system-x86_64 --version
code=/usr/share/OVMF/OVMF_CODE_4M.secboot.fd
[ -f "$code" ] || skip "Debian's ovmf ($code) is not installed"
tmpdir
cd "$TMPD"
python3 "$VIMG_SRCDIR/fixtures/gen/nvram-gen.py" gen >/dev/null || fail "nvram-gen.py"
"$VIMG" nvram export --to ovmf gen/efi.nvram vars.fd 2>/dev/null || fail "export"

qemu-system-x86_64 -machine q35,smm=on,accel=tcg -m 256 \
	-global driver=cfi.pflash01,property=secure,value=on \
	-drive if=pflash,format=raw,unit=0,readonly=on,file=$code \
	-drive if=pflash,format=raw,unit=1,file=vars.fd \
	-display none -monitor none -serial file:console.log -net none \
	-no-reboot >qemu.out 2>&1 &
qpid=$!
cleanup_fn kill -9 $qpid
# The firmware reaches its boot manager in about 30 s here under TCG.
done=""
for _ in $(seq 1 240); do
	if grep -q 'Security Violation\|No bootable option' console.log 2>/dev/null; then
		done=1
		break
	fi
	kill -0 $qpid 2>/dev/null || break
	sleep 1
done
kill $qpid 2>/dev/null || true
wait $qpid 2>/dev/null || true
tr -d '\033' <console.log | tr '\r' '\n' >console.txt
[ -n "$done" ] || { tail -20 console.txt >&2; cat qemu.out >&2; fail "OVMF did not reach its boot manager"; }

grep -q 'failed to load Boot0001 "vimg fixture network" from PciRoot(0x0)/Pci(0x3,0x0)/MAC(525400123456,0x1)' console.txt ||
	{ grep BdsDxe console.txt >&2; fail "Boot0001 not tried"; }
grep -q 'failed to load Boot0000 "vimg fixture disk" from PciRoot(0x0)/Pci(0x1F,0x2)/Sata(0x0,0xFFFF,0x0)/HD(1,GPT,9E1A2B3C-4D5E-4F60-8172-8394A5B6C7D8,0x800,0x100000)/\\EFI\\debian\\shimx64.efi' console.txt ||
	{ grep BdsDxe console.txt >&2; fail "Boot0000 not tried"; }
# BootOrder is 0001,0000: the firmware tries them in that order.
order=$(grep -o 'failed to load Boot000[01]' console.txt | head -2 | tr '\n' ' ')
[ "$order" = "failed to load Boot0001 failed to load Boot0000 " ] || fail "boot order: $order"
grep -q 'failed to start Boot[0-9A-F]* "EFI Internal Shell".*Security Violation' console.txt ||
	{ grep BdsDxe console.txt >&2; fail "Secure Boot is not enforced"; }

"$VIMG" nvram list --output=json vars.fd >after.json || fail "list the store after boot"
[ "$(json_get after.json "d['secure-boot']['PK']['entries'][0]['subject']")" = "CN=vimg fixture PK" ] ||
	fail "PK lost after boot"
[ "$(json_get after.json "d['boot']['entries'][0]['description']")" = "vimg fixture disk" ] ||
	fail "boot entries lost after boot"
echo "PASS: OVMF booted with the exported store (boot entries tried, Secure Boot enforced)"
