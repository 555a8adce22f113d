#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# vhdx corruption table: each row damages a copy of a vimg-made image;
# `vimg info` must exit 1 with exactly one error line naming the structure,
# and no sanitizer report.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"

requires python3 --version
tmpdir
cd "$TMPD"

"$VIMG" create -f vhdx -o block_size=1M good.vhdx 8M >/dev/null
"$VIMG" info good.vhdx >/dev/null || fail "the intact image"

# row NAME PATTERN PYTHON: f is the open file; put(off, fmt, value);
# fixhdr(off) recomputes the CRC-32C of the 4 KiB header at off.
row() {
	cp good.vhdx "$1.vhdx"
	python3 - "$1.vhdx" "$3" <<'PY'
import struct, sys
f = open(sys.argv[1], 'r+b')
def put(off, fmt, v): f.seek(off); f.write(struct.pack(fmt, v))
def crc32c(data):
    c = 0xffffffff
    for b in data:
        c ^= b
        for _ in range(8):
            c = (c >> 1) ^ (0x82f63b78 if c & 1 else 0)
    return c ^ 0xffffffff
def fixhdr(off):
    f.seek(off); h = bytearray(f.read(4096)); h[4:8] = b'\0\0\0\0'
    put(off + 4, '<I', crc32c(h))
exec(sys.argv[2])
PY
	expect_status 1 "$VIMG" info "$1.vhdx"
	lines=$(wc -l <"$TMPD/err")
	[ "$lines" -eq 1 ] || { cat "$TMPD/err" >&2; fail "$1: $lines error lines"; }
	grep -q "$2" "$TMPD/err" || { cat "$TMPD/err" >&2; fail "$1: no \"$2\""; }
	if grep -Eq "Sanitizer|runtime error" "$TMPD/err"; then
		fail "$1: sanitizer report"
	fi
	echo "ok: $1"
}

row headers "vhdx: header: no valid header" "put(0x10004, '<I', 1); put(0x20004, '<I', 1)"
row log-offset "vhdx: header: log (offset 0x123" \
	"put(0x10000 + 72, '<Q', 0x123); fixhdr(0x10000); put(0x20000 + 72, '<Q', 0x123); fixhdr(0x20000)"
row regions "vhdx: region table: no valid region table" "put(0x30010, '<I', 7); put(0x40010, '<I', 7)"
row meta-sig "vhdx: metadata table: bad signature" "put(0x200000, '<Q', 0)"
row block-size "vhdx: file parameters: block size" "put(0x210000, '<I', 3 << 20)"
row bat-eof "vhdx: BAT entry 2 points past end of file (offset 0x40000000)" \
	"put(0x300010, '<Q', (1 << 30) | 6)"
row bat-state "vhdx: BAT entry 0 has invalid state 4" "put(0x300000, '<Q', 4)"
row truncated "vhdx: region table" "f.truncate(0x280000)"
