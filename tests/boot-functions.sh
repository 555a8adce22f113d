# SPDX-License-Identifier: LGPL-2.1-or-later
# Helpers for the vimg boot tests (tests/test-boot-*.sh), sourced after
# functions.sh. Payloads are assembled at test time from fixtures/boot/*.S.

BOOT_FIXTURES=$VIMG_SRCDIR/fixtures/boot

# require_kvm: skip unless /dev/kvm can be opened and the launcher is built.
require_kvm() {
	[ -e /dev/kvm ] || skip "no /dev/kvm"
	[ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "/dev/kvm not accessible"
	"$VIMG" boot --help >/dev/null 2>&1 || skip "vimg boot not built"
}

# kvm_emulated: true when /dev/kvm is KVM's instruction emulator (kvm_pvm).
kvm_emulated() {
	[ -d /sys/module/kvm_pvm ] || { [ ! -d /sys/module/kvm_intel ] && [ ! -d /sys/module/kvm_amd ]; }
}

# require_as: skip unless GNU as and ld can build 16-bit payloads.
require_as() {
	command -v as >/dev/null 2>&1 || skip "GNU as not available"
	command -v ld >/dev/null 2>&1 || skip "GNU ld not available"
}

# payload NAME OUT [DEFSYM...]: assemble fixtures/boot/NAME.S to a flat
# binary at 0x7C00 (or at 0 with LINK=0).
payload() {
	_name=$1
	_out=$2
	shift 2
	_defs=""
	for _d in "$@"; do _defs="$_defs --defsym $_d"; done
	# shellcheck disable=SC2086
	as --32 $_defs -I"$BOOT_FIXTURES" -o "$_out.o" "$BOOT_FIXTURES/$_name.S" ||
		fail "as $_name.S"
	ld -m elf_i386 -Ttext "${LINK:-0x7c00}" -e _start --oformat binary -o "$_out" "$_out.o" ||
		fail "ld $_name"
	rm -f "$_out.o"
}

# make_disk FILE SIZE_MIB PAYLOAD: a raw disk with PAYLOAD at sector 0 and a
# deterministic pattern in every third group of 16 sectors from sector 64 to
# 2047 (the rest zero, so converted copies are sparse there).
make_disk() {
	python3 - "$@" <<'PYEOF'
import hashlib, sys
path, mib, payload = sys.argv[1], int(sys.argv[2]), sys.argv[3]
img = bytearray(mib << 20)
p = open(payload, 'rb').read()
img[0:len(p)] = p
for s in range(64, 2048):
    if (s // 16) % 3 != 1:
        img[s * 512:(s + 1) * 512] = b''.join(
            hashlib.sha256(f'{s}:{k}'.encode()).digest() for k in range(16))
open(path, 'wb').write(img)
PYEOF
}

# disk_sum FILE FIRST COUNT: 32-bit sum of the little-endian words of
# sectors FIRST..FIRST+COUNT-1 of a raw disk, as 8 hex digits.
disk_sum() {
	python3 - "$@" <<'PYEOF'
import struct, sys
path, first, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(path, 'rb') as f:
    f.seek(first * 512)
    data = f.read(count * 512)
print('%08x' % (sum(struct.unpack('<%dI' % (len(data) // 4), data)) & 0xffffffff))
PYEOF
}

# format_copies RAW: convert RAW to every format vimg boot is tested on; prints
# the file names (raw first).
format_copies() {
	_raw=$1
	_b=${_raw%.img}
	echo "$_raw"
	"$VIMG" convert -O qcow2 "$_raw" "$_b.qcow2" && echo "$_b.qcow2"
	"$VIMG" convert -O vmdk "$_raw" "$_b.vmdk" && echo "$_b.vmdk"
	"$VIMG" convert -O vmdk -o subformat=streamOptimized "$_raw" "$_b-stream.vmdk" &&
		echo "$_b-stream.vmdk"
	"$VIMG" convert -O vhdx "$_raw" "$_b.vhdx" && echo "$_b.vhdx"
	"$VIMG" convert -O vhd "$_raw" "$_b.vhd" && echo "$_b.vhd"
	"$VIMG" convert -O vdi "$_raw" "$_b.vdi" && echo "$_b.vdi"
}

# boot_unchanged FILE WANT_STATUS ARGS...: run `vimg boot ARGS... FILE`, fail
# unless it exits WANT_STATUS and FILE (and its extents) keep their SHA-256.
# The engine is kvm unless ARGS name one (auto would pick qemu on an
# emulated KVM). Output in $TMPD/out and $TMPD/err.
boot_unchanged() {
	_img=$1
	_want=$2
	shift 2
	case " $* " in
	*" --engine"*) ;;
	*) set -- --engine=kvm "$@" ;;
	esac
	_sum_before=$(cat "${_img%.*}"* 2>/dev/null | sha256sum)
	expect_status "$_want" "$VIMG" boot "$@" "$_img"
	_sum_after=$(cat "${_img%.*}"* 2>/dev/null | sha256sum)
	[ "$_sum_before" = "$_sum_after" ] || fail "vimg boot modified $_img"
}

# Every boot test needs the launcher (configure --disable-boot builds a stub).
if [ -n "${VIMG_BUILDDIR:-}" ] && [ ! -f "$VIMG_BUILDDIR/libvimg/boot/fw.bin" ]; then
	skip "vimg boot was built without the launcher (--disable-boot or no x86-64 Linux)"
fi

# boot_bg NAME IMG ARGS...: vimg boot in the background (KVM's emulator is
# slow, so runs share the CPUs); results in NAME.out/.err/.rc, IMG's
# checksum in NAME.sum. Wait for them, then check_bg each.
boot_bg() {
	_n=$1
	_i=$2
	shift 2
	sha256sum "$_i" >"$_n.sum"
	("$VIMG" boot "$@" "$_i" >"$_n.out" 2>"$_n.err"; echo $? >"$_n.rc") &
}

# check_bg NAME WANT_STATUS: the background run exited WANT_STATUS and left
# its image unchanged.
check_bg() {
	[ "$(cat "$1.rc")" = "$2" ] || { cat "$1.out" "$1.err"; fail "$1: exit $(cat "$1.rc"), want $2"; }
	sha256sum -c --quiet "$1.sum" || fail "$1: image modified"
}
