#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# vmdk delta chains: a qemu-made parent with two levels of qemu-made deltas
# reads as the merged disk; a vimg-made delta works in qemu; a parent whose
# CID changed breaks the link with a clear error (exit 1... or 2 for compare).
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"
requires qemu-img --version
requires qemu-io --version
tmpdir
cd "$TMPD"

qemu-img create -q -f vmdk p.vmdk 64M
qemu-io -f vmdk -c "write -P 0x11 0 1M" -c "write -P 0x12 10M 64k" p.vmdk >/dev/null
qemu-img create -q -f vmdk -b p.vmdk -F vmdk c1.vmdk
qemu-io -f vmdk -c "write -P 0x21 512k 4k" -c "write -P 0x22 20M 100k" c1.vmdk >/dev/null
qemu-img create -q -f vmdk -b c1.vmdk -F vmdk c2.vmdk
qemu-io -f vmdk -c "write -P 0x31 100k 1k" -c "write -P 0x32 10M 512" c2.vmdk >/dev/null
qemu-img convert -O raw c2.vmdk ref.raw
expect_status 0 "$VIMG" compare c2.vmdk ref.raw
"$VIMG" info --backing-chain c2.vmdk >/dev/null || fail "info --backing-chain"

# A vimg-made third level, written by qemu, read by both.
expect_status 0 "$VIMG" create -f vmdk -b c2.vmdk -F vmdk c3.vmdk
qemu-io -f vmdk -c "write -P 0x41 0 3k" c3.vmdk >/dev/null
qemu-img convert -O raw c3.vmdk ref3.raw
expect_status 0 "$VIMG" compare c3.vmdk ref3.raw
peer_check c3.vmdk

# Flatten through vimg and compare with qemu's view.
expect_status 0 "$VIMG" convert -O vmdk c3.vmdk flat.vmdk
qemu-img compare -q flat.vmdk ref3.raw || fail "flattened chain differs"

# Break the link: the parent gets a new CID.
sha_before=$(sha256sum <c1.vmdk)
python3 - p.vmdk <<'PY'
import sys
p = sys.argv[1]
d = bytearray(open(p, 'rb').read())
# qemu writes the CID without zero padding: replace up to the end of the
# line and take any extra bytes from the NUL padding after the descriptor,
# so that nothing behind it moves.
i = d.index(b'\nCID=', 512) + 5
j = d.index(b'\n', i)
end = d.index(b'\0', j)
grow = 8 - (j - i)
assert d[end:end + grow] == b'\0' * grow
d[i:j] = b'deadbeef'
del d[end + grow:end + 2 * grow]
open(p, 'wb').write(d)
PY
expect_status 2 "$VIMG" compare c2.vmdk ref.raw
grep -q "parentCID 0x[0-9a-f]* does not match the parent's CID 0xdeadbeef" "$TMPD/err" ||
	fail "no clear parentCID error: $(cat "$TMPD/err")"
[ "$sha_before" = "$(sha256sum <c1.vmdk)" ] || fail "a read changed the middle layer"
exit 0
