#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# qcow2 corruption table: each row damages a copy of a qemu-img-made image.
# `vimg info` (when the damage is in the header) and a full read
# (`vimg convert -O raw`) must exit 1 with exactly one error line naming the
# structure, and no sanitizer report.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"

requires qemu-img --version
requires python3 --version
tmpdir
cd "$TMPD"

python3 - <<'EOF'
with open('src.raw', 'wb') as f:
    f.truncate(16 << 20)
    f.seek(1 << 20)
    f.write(b'compressible ' * 100000)
    f.seek(9 << 20)
    f.write(bytes(range(256)) * 4096)
EOF
qemu-img convert -c -O qcow2 src.raw good.qcow2
"$VIMG" convert -O raw good.qcow2 good.raw || fail "reading the intact image"

# patch FILE PYTHON: run PYTHON with f open read/write, helpers be32/be64/put.
patch() {
	python3 - "$1" "$2" <<'EOF'
import struct, sys
f = open(sys.argv[1], 'r+b')
def be32(off): f.seek(off); return struct.unpack('>I', f.read(4))[0]
def be64(off): f.seek(off); return struct.unpack('>Q', f.read(8))[0]
def put(off, fmt, v): f.seek(off); f.write(struct.pack(fmt, v))
exec(sys.argv[2])
EOF
}

# row NAME INFO_TOO PATTERN PYTHON
row() {
	name=$1 info_too=$2 pattern=$3
	cp good.qcow2 "$name.qcow2"
	patch "$name.qcow2" "$4"
	cmds="convert"
	[ "$info_too" = yes ] && cmds="info convert"
	for cmd in $cmds; do
		if [ "$cmd" = info ]; then
			expect_status 1 "$VIMG" info "$name.qcow2"
		else
			expect_status 1 "$VIMG" convert -O raw "$name.qcow2" "$name.raw"
		fi
		lines=$(wc -l <"$TMPD/err")
		[ "$lines" -eq 1 ] || { cat "$TMPD/err" >&2; fail "$name/$cmd: $lines error lines"; }
		grep -q "$pattern" "$TMPD/err" || { cat "$TMPD/err" >&2; fail "$name/$cmd: no \"$pattern\""; }
		if grep -Eq "Sanitizer|runtime error" "$TMPD/err"; then
			fail "$name/$cmd: sanitizer report"
		fi
	done
	echo "ok: $name"
}

row truncated yes "qcow2: L1 table: beyond end of file" "f.truncate(2 * 65536)"
row l1-offset-beyond-eof yes "qcow2: L1 table: beyond end of file" "put(40, '>Q', 1 << 40)"
row l1-size-2g yes "qcow2: L1 size 2147483648 exceeds limit" "put(36, '>I', 1 << 31)"
row l1-unaligned yes "qcow2: L1 table: offset not cluster-aligned" "put(40, '>Q', be64(40) + 8)"
row refcount-table-over-header yes "qcow2: refcount table: overlaps the header" "put(48, '>Q', 0)"
row cluster-bits yes "qcow2: header: cluster_bits 30" "put(20, '>I', 30)"
row unknown-incompat yes "qcow2: unsupported incompatible feature bit 9" \
	"put(72, '>Q', be64(72) | (1 << 9))"
row luks yes "qcow2: LUKS encryption without a crypto header extension" "put(32, '>I', 2)"
row aes yes "legacy AES encryption (method 1) is not supported" "put(32, '>I', 1)"
row l2-beyond-eof no "qcow2: L1 entry 0: L2 table offset" \
	"put(be64(40), '>Q', (1 << 63) | (1 << 40))"
# First compressed L2 entry: move its host offset far beyond the end of file.
row compressed-beyond-eof no "compressed cluster descriptor beyond end of file" "
l2 = be64(be64(40)) & 0x00fffffffffffe00
for i in range(8192):
    e = be64(l2 + 8 * i)
    if e & (1 << 62):
        put(l2 + 8 * i, '>Q', (e & ~((1 << 46) - 1)) | (1 << 40))
        break
else:
    raise SystemExit('no compressed cluster')
"

# A backing file name that leaves the image's directory.
mkdir sub
qemu-img create -q -f qcow2 -u -b ../x.raw -F raw sub/esc.qcow2 16M
expect_status 1 "$VIMG" convert -O raw sub/esc.qcow2 esc.raw
[ "$(wc -l <"$TMPD/err")" -eq 1 ] || fail "backing escape: not one error line"
grep -q "x.raw" "$TMPD/err" || fail "backing escape: message does not name the file"
echo "ok: backing-escape"
