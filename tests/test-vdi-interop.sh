#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# vdi against qemu-img: images qemu-img writes (dynamic, static) read back
# identical in vimg; images vimg writes pass `qemu-img check` and compare
# identical in qemu-img; a malformed header is one clear error line.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"

requires qemu-img --version
requires qemu-io --version
tmpdir
cd "$TMPD"

qemu-img create -q -f raw src.raw 70M
qemu-io -f raw -c "write -P 0x11 0 8k" -c "write -P 0x22 33M 1M" -c "write -P 0x33 69M 4k" \
	-c "write -P 0x44 1000k 3k" src.raw >/dev/null

for st in off on; do
	qemu-img convert -f raw -O vdi -o static=$st src.raw q.vdi
	expect_status 0 "$VIMG" compare q.vdi src.raw
	"$VIMG" check q.vdi >/dev/null || fail "vimg check of qemu's static=$st"
	"$VIMG" convert -O vdi -o static=$st src.raw v.vdi
	peer_check v.vdi
	qemu-img compare -q -f vdi -F raw v.vdi src.raw || fail "qemu-img compare static=$st"
	rm -f q.vdi v.vdi
done

"$VIMG" convert -O vdi src.raw bad.vdi
printf '\377\377\377\177' | dd of=bad.vdi bs=1 seek=$((0x200 + 4)) conv=notrunc 2>/dev/null
expect_status 1 "$VIMG" info bad.vdi
[ "$(wc -l <"$TMPD/err")" -eq 1 ] || fail "more than one error line"
grep -q "vdi: block map entry 1 points past end of file" "$TMPD/err" || fail "$(cat "$TMPD/err")"
echo ok
