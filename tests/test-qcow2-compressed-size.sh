#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Compressed qcow2 from vimg convert -c is packed as tightly as qemu-img's:
# compressed clusters share host clusters and may run on into the next one.
# The output must be clean, identical to the source, and at most 5% larger
# than qemu-img's for the same data and cluster size.
. "$VIMG_SRCDIR/tests/functions.sh"
requires qemu-img --version
tmpdir

# 32 MiB disk: pieces of compressible text with runs of zeros between them.
truncate -s 32M "$TMPD/src.raw"
python3 - "$TMPD/src.raw" <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    for i in range(40):
        f.seek(i * 800 * 1024 + 4096 * (i % 7))
        f.write(b"".join(b"vimg %06d %s\n" % (k, b"x" * (k % 50)) for k in range(i * 400, i * 400 + 2000)))
PY
for cs in 4k 64k 2M; do
	"$VIMG" convert -q -c -O qcow2 -o cluster_size=$cs "$TMPD/src.raw" "$TMPD/v.qcow2"
	qemu-img convert -c -O qcow2 -o cluster_size=$cs "$TMPD/src.raw" "$TMPD/q.qcow2"
	peer_check "$TMPD/v.qcow2"
	qemu-img compare -q "$TMPD/v.qcow2" "$TMPD/src.raw" || fail "cluster_size=$cs: content differs"
	v=$(stat -c %s "$TMPD/v.qcow2")
	q=$(stat -c %s "$TMPD/q.qcow2")
	echo "cluster_size=$cs: vimg $v bytes, qemu-img $q bytes"
	[ "$v" -le $((q + q / 20)) ] || fail "cluster_size=$cs: $v bytes is more than 5% over qemu-img's $q"
done
