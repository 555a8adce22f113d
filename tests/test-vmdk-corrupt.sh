#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Malformed descriptors and sparse headers: `vimg info` exits 1 with one
# clear error line naming the problem (and no sanitizer report in ASan runs).
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"
tmpdir
cd "$TMPD"

# expect_error FILE SUBSTRING
expect_error() {
	expect_status 1 "$VIMG" info "$1"
	[ "$(wc -l <"$TMPD/err")" -eq 1 ] || fail "$1: more than one error line"
	grep -q "$2" "$TMPD/err" || fail "$1: error lacks \"$2\": $(cat "$TMPD/err")"
	if grep -q 'Sanitizer' "$TMPD/err"; then fail "$1: sanitizer report"; fi
}

# patch FILE OFFSET FORMAT VALUE: pack one little-endian value.
patch() {
	python3 - "$@" <<'PY'
import struct, sys
path, off, fmt, val = sys.argv[1], int(sys.argv[2], 0), sys.argv[3], int(sys.argv[4], 0)
d = bytearray(open(path, 'rb').read())
if off < 0:
    off = struct.unpack_from('<Q', d, 56)[0] * 512  # first grain directory entry
struct.pack_into('<' + fmt, d, off, val)
open(path, 'wb').write(d)
PY
}

expect_status 0 "$VIMG" create -f vmdk good.vmdk 8M
cp good.vmdk grain0.vmdk && patch grain0.vmdk 20 Q 0
expect_error grain0.vmdk "grain size 0 sectors"
cp good.vmdk grain3.vmdk && patch grain3.vmdk 20 Q 3
expect_error grain3.vmdk "grain size 3 sectors is not a power of two"
cp good.vmdk gt.vmdk && patch gt.vmdk -1 I 0x7fffff00
expect_error gt.vmdk "grain table 0: offset beyond end of file (offset 0xfffffe0000)"
cp good.vmdk gd.vmdk && patch gd.vmdk 56 Q 0x100000
expect_error gd.vmdk "grain directory beyond end of file"
cp good.vmdk cap.vmdk && patch cap.vmdk 12 Q 0x7fffffffffffffff
expect_error cap.vmdk "capacity"
cp good.vmdk gtes.vmdk && patch gtes.vmdk 44 I 0
expect_error gtes.vmdk "grain table entries"
cp good.vmdk nl.vmdk && patch nl.vmdk 75 B 0x0a
expect_error nl.vmdk "newline detection"
cp good.vmdk stream.vmdk && patch stream.vmdk 56 Q 0xffffffffffffffff
expect_error stream.vmdk "footer"

mkdir -p a/b etc
echo secret >etc/passwd
printf '# Disk DescriptorFile\nversion=1\nCID=1\nparentCID=ffffffff\ncreateType="monolithicFlat"\nRW 8 FLAT "../../etc/passwd" 0\n' >a/b/esc.vmdk
expect_error a/b/esc.vmdk "path policy"
printf '# Disk DescriptorFile\nversion=1\nCID=1\nRW 8 SPARSE "/etc/passwd"\n' >abs.vmdk
expect_error abs.vmdk "path policy"
python3 -c '
import sys
with open("many.vmdk", "w") as f:
    f.write("# Disk DescriptorFile\nversion=1\nCID=1\ncreateType=\"twoGbMaxExtentSparse\"\n")
    for i in range(70000):
        f.write("RW 4194304 SPARSE \"x-s%05d.vmdk\"\n" % i)
'
expect_error many.vmdk "more than 65536 extents"
printf '# Disk DescriptorFile\nversion=1\nCID=1\nRW 1000000000000000000 FLAT "x" 0\n' >huge.vmdk
expect_error huge.vmdk "makes the disk too large"
printf '# Disk DescriptorFile\nversion=1\nCID=1\ncreateType="monolithicFlat"\n' >none.vmdk
expect_error none.vmdk "no extents"
printf '# Disk DescriptorFile\nversion=1\nCID=1\nRW 8 FLAT "missing-flat.vmdk" 0\n' >missing.vmdk
expect_error missing.vmdk "missing-flat.vmdk"
exit 0
