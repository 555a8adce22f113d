#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# vhd corruption table: each row damages a copy of a vimg-made dynamic image;
# `vimg info` must exit 1 with one error line naming the structure, and no
# sanitizer report.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"

requires python3 --version
tmpdir
cd "$TMPD"

"$VIMG" create -f vhd good.vhd 8M >/dev/null
"$VIMG" info good.vhd >/dev/null || fail "the intact image"

# row NAME PATTERN PYTHON: f is the open file; put(off, fmt, value); end = file size;
# fix(off, len, sumoff) recomputes a VHD checksum.
row() {
	cp good.vhd "$1.vhd"
	python3 - "$1.vhd" "$3" <<'PY'
import os, struct, sys
f = open(sys.argv[1], 'r+b')
end = os.path.getsize(sys.argv[1])
def put(off, fmt, v): f.seek(off); f.write(struct.pack(fmt, v))
def fix(off, n, so):
    f.seek(off); b = bytearray(f.read(n)); b[so:so + 4] = b'\0\0\0\0'
    put(off + so, '>I', ~sum(b) & 0xffffffff)
exec(sys.argv[2])
PY
	expect_status 1 "$VIMG" info "$1.vhd"
	lines=$(wc -l <"$TMPD/err")
	[ "$lines" -eq 1 ] || { cat "$TMPD/err" >&2; fail "$1: $lines error lines"; }
	grep -q "$2" "$TMPD/err" || { cat "$TMPD/err" >&2; fail "$1: no \"$2\""; }
	if grep -Eq "Sanitizer|runtime error" "$TMPD/err"; then
		fail "$1: sanitizer report"
	fi
	echo "ok: $1"
}

row footer-sum "vhd: footer: checksum" "put(40, '>I', 7); put(end - 512 + 40, '>I', 7)"
row disk-type "vhd: footer: disk type 9" \
	"put(60, '>I', 9); fix(0, 512, 64); put(end - 512 + 60, '>I', 9); fix(end - 512, 512, 64)"
row dyn-cookie "vhd: dynamic header: no \"cxsparse\" cookie (offset 0x200)" "put(512, '>Q', 0)"
row dyn-sum "vhd: dynamic header: checksum" "put(512 + 28, '>I', 1)"
row block-size "vhd: dynamic header: block size 3000" "put(512 + 32, '>I', 3000); fix(512, 1024, 36)"
row bat-eof "vhd: BAT entry 1 points past end of file (offset 0x20000000)" \
	"put(1536 + 4, '>I', 0x100000)"
row few-entries "vhd: dynamic header: 1 BAT entries are too few" \
	"put(512 + 28, '>I', 1); fix(512, 1024, 36)"
