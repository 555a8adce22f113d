#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# vimg measure predicts, to the byte, what vimg convert writes: for every
# target format and its layouts, on a mixed disk (random, compressible,
# zero-filled and unallocated runs, scattered 4 KiB blocks), required size
# = the files the conversion leaves; fully allocated size = the files a
# conversion of a disk that is random everywhere leaves. qemu-img measure
# agrees on raw; --size, -S, -c and the JSON output as qemu-img's.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"

requires qemu-img --version
requires python3 --version
tmpdir
cd "$TMPD"
# measure's empty scratch directory goes here, so that the check at the end
# sees only this test's.
mkdir tmp
TMPDIR=$TMPD/tmp
export TMPDIR

python3 - <<'EOF'
import os, random
r = random.Random(7)
MIB = 1 << 20
with open('mixed.raw', 'wb') as f:
    f.truncate(24 * MIB)
    f.write(r.randbytes(4 * MIB))                        # random
    f.write((b'vimg measure compressible text. ' * 32768) * 4)  # compressible
    f.write(bytes(2 * MIB))                              # zeros, allocated
    f.seek(20 * MIB)                                     # 10-20 MiB: a hole
    for i in range(0, 4 * MIB, 8192):                    # every other 4 KiB
        f.write(r.randbytes(4096) + bytes(4096))
with open('full.raw', 'wb') as f:
    f.write(r.randbytes(24 * MIB))
EOF

# files_size DIR: bytes of the files in DIR (apparent sizes, as measured).
files_size() { find "$1" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'; }

# predict FMT [CONVERT ARGS]: measure against conversions of both disks.
predict() {
	fmt=$1
	shift
	"$VIMG" measure --output=json --target=disk -O "$fmt" "$@" mixed.raw >m.json ||
		fail "measure -O $fmt $*"
	for disk in mixed full; do
		rm -rf conv && mkdir conv
		"$VIMG" convert -O "$fmt" "$@" $disk.raw conv/disk || fail "convert -O $fmt $*"
		got=$(files_size conv)
		key=required
		[ $disk = full ] && key=fully-allocated
		want=$(json_get m.json "d['$key']")
		[ "$got" = "$want" ] || fail "-O $fmt $*: $key $want, the conversion of $disk wrote $got"
	done
	echo "ok: -O $fmt $* ($(json_get m.json "d['required']") / $want)"
}

predict raw
predict qcow2
predict qcow2 -o cluster_size=4k
predict qcow2 -o compat=0.10,refcount_bits=16
predict qcow2 -o extended_l2=on
predict qcow2 -o preallocation=metadata
predict qcow2 -c
predict qcow2 -S 64k
predict qcow2 -S 0
predict vmdk
predict vmdk -o subformat=streamOptimized
predict vmdk -o subformat=twoGbMaxExtentSparse
predict vmdk -o subformat=monolithicFlat
predict vmdk -o zeroed_grain=on
predict vpc
predict vpc -o subformat=fixed
predict vpc -o force_size=on
predict vhdx
predict vhdx -o subformat=fixed
predict vhdx -o block_size=1M
predict vdi
predict vdi -o static=on

# qemu-img measure agrees where its writer is ours in layout (raw).
[ "$(qemu-img measure --output=json -O raw mixed.raw)" = \
	"$("$VIMG" measure --output=json -O raw mixed.raw)" ] || fail "raw: qemu-img disagrees"

# Human output as qemu-img prints it, and --size.
expect_status 0 "$VIMG" measure -O qcow2 --size 1G
grep -q '^required size: [0-9]*$' out && grep -q '^fully allocated size: [0-9]*$' out ||
	fail "human output: $(cat out)"
"$VIMG" create -q -f qcow2 empty.qcow2 1G
[ "$(sed -n 's/^required size: //p' out)" = "$(stat -c %s empty.qcow2)" ] ||
	fail "--size 1G: not the size create writes"

# Usage errors, and the source is not written.
before=$(sha256sum mixed.raw)
expect_status 2 "$VIMG" measure -O qcow2
expect_status 2 "$VIMG" measure -O qcow2 --size 1G mixed.raw
expect_status 2 "$VIMG" measure -O nonesuch mixed.raw
[ "$(sha256sum mixed.raw)" = "$before" ] || fail "measure wrote to its source"
[ -z "$(ls tmp)" ] || fail "measure left $(ls tmp) behind"
echo "PASS"
