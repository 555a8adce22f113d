#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Bad guest behaviour ends or errors cleanly (fixtures/boot/bad-guest.S):
# int 13h with a buffer outside RAM or in the firmware, sectors past the end
# of disk or outside the geometry (error codes to the guest), unknown ports
# (ignored), a reset loop (ends the run), a jump outside RAM (a KVM internal
# error reported with CS:IP and registers), a wrapping hypercall frame.
# The launcher never crashes and the image never changes.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"
. "$VIMG_SRCDIR/tests/boot-functions.sh"

require_kvm
require_as
tmpdir
cd "$TMPD"

for m in 1 2 3 4 5; do
	payload bad-guest b$m.bin MODE=$m
	truncate -s 4M b$m.img
	dd if=b$m.bin of=b$m.img conv=notrunc status=none
done

# 1: error codes to the guest, then a normal exit.
boot_unchanged b1.img 0 --timeout 20
grep -q "BUF=01 ROM=01 END=04 CHS=04 PORTS=ok" out || { cat out; fail "bad disk requests"; }
"$VIMG" convert -O qcow2 b1.img b1q.qcow2
boot_unchanged b1q.qcow2 0 --timeout 20
grep -q "END=04" out || fail "qcow2: sectors past the end"

# 2: reset loop through the keyboard controller.
boot_unchanged b2.img 1 --timeout 20
grep -q "ended: reset loop: 4 resets" out || { cat out; fail "reset loop"; }
[ "$(grep -c resetting out)" -ge 4 ] || fail "the guest was not rebooted"

# 3: triple fault. Hardware KVM reports SHUTDOWN (a reset loop); KVM's
# emulator cannot deliver the fault and reports an internal error.
if kvm_emulated; then
	boot_unchanged b3.img 2 --timeout 20
	grep -q "KVM internal error" err || fail "triple fault (emulated): $(cat err)"
else
	boot_unchanged b3.img 1 --timeout 20
	grep -q "reset loop.*triple fault" out || fail "triple fault: $(grep ended: out)"
fi

# 4: KVM internal error: exit 2, one error line naming CS:IP and registers.
boot_unchanged b4.img 2 --timeout 20
grep -q "KVM internal error.*CS:IP 0008:fe000000.*EAX=fe000000" err || fail "internal error: $(cat err)"
grep -q "ended: KVM internal error" out || fail "internal error report"
boot_unchanged b4.img 2 --timeout 20 --output=json
[ "$(json_get out "d['passed']")" = False ] || fail "json passed"
json_get out "d['error']" | grep -q "CS:IP" || fail "json error"

# 5: the hypercall frame wraps the stack segment: the run ends, no crash.
boot_unchanged b5.img 1 --timeout 20
grep -q "ended: bad firmware call: frame wraps" out || fail "wrapping frame: $(grep ended: out)"
! grep -q "still here" out || fail "the guest went on after a bad firmware call"

# A disk with no boot signature, and a timeout.
truncate -s 1M blank.img
boot_unchanged blank.img 1 --timeout 20
grep -q "ended: no bootable disk" out || fail "no boot signature: $(grep ended: out)"
printf '\353\376' | dd of=loop.img conv=notrunc status=none
truncate -s 1M loop.img
printf '\125\252' | dd of=loop.img bs=1 seek=510 conv=notrunc status=none
boot_unchanged loop.img 1 --timeout 1
grep -q "ended: timeout" out || fail "timeout: $(grep ended: out)"
echo "PASS"
