#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# vimg dd against qemu-img dd (the same image contents and size; skip with
# count as dd and qemu-img's manual mean it, where qemu-img dd differs);
# vimg bench's report as qemu-img bench prints it, and its writes checked
# by qemu-io.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"

requires qemu-img --version
requires qemu-io --version
requires python3 --version
tmpdir
cd "$TMPD"

truncate -s 8M in.raw
write_pattern in.raw 1 2 dd
qemu-img convert -O qcow2 in.raw in.qcow2

# The whole disk, and a skip without count: qemu-img dd's result.
for args in "bs=64k" "bs=1M skip=3" "bs=4k count=100"; do
	for fmt in raw qcow2 vmdk; do
		rm -f v.$fmt q.$fmt
		expect_status 0 "$VIMG" dd -O "$fmt" $args if=in.qcow2 of=v.$fmt
		qemu-img dd -O "$fmt" $args if=in.qcow2 of=q.$fmt
		qemu-img compare v.$fmt q.$fmt >/dev/null || fail "dd $args -O $fmt: not qemu-img's"
		[ "$(qemu-img info --output=json v.$fmt | json_get /dev/stdin "d['virtual-size']")" = \
			"$(qemu-img info --output=json q.$fmt | json_get /dev/stdin "d['virtual-size']")" ] ||
			fail "dd $args -O $fmt: another size than qemu-img's"
	done
done

# skip and count together: count blocks after the skipped ones.
expect_status 0 "$VIMG" dd bs=64k skip=16 count=40 if=in.qcow2 of=part.raw
python3 -c "
import sys
d = open('in.raw', 'rb').read()[16 * 65536:56 * 65536]
sys.exit(open('part.raw', 'rb').read() != d)" || fail "dd skip= count="
expect_status 1 "$VIMG" dd bs=1M skip=9 if=in.qcow2 of=far.raw
grep -q "cannot skip" err || fail "skip past the end: $(cat err)"
expect_status 2 "$VIMG" dd bs=1M if=in.qcow2
expect_status 2 "$VIMG" dd bs=1M conv=notrunc if=in.qcow2 of=x.raw

# bench: qemu-img's report; writes land where and as asked.
expect_status 0 "$VIMG" bench -c 5000 in.qcow2
grep -qx "Sending 5000 read requests, 4096 bytes each, 64 in parallel (starting at offset 0, step size 4096)" out ||
	fail "bench report: $(cat out)"
grep -q "^Run completed in [0-9.]* seconds.$" out || fail "bench time: $(cat out)"
cp in.qcow2 w.qcow2
expect_status 0 "$VIMG" bench -w -c 32 -s 64k -S 128k -o 1M --pattern=165 --flush-interval=8 w.qcow2
peer_check w.qcow2
qemu-io -c "read -P 165 1M 64k" -c "read -P 165 5M 64k" w.qcow2 | grep -c "^read 65536" |
	grep -qx 2 || fail "bench -w: the pattern is not where asked"
# The step leaves the 64 KiB after each request as it was.
qemu-io -c "read -v 1088k 16" w.qcow2 | grep -q "a5 a5 a5 a5" && fail "bench -w: the step was not kept"
expect_status 0 "$VIMG" bench --output=json -c 100 -d 4 in.qcow2
[ "$(json_get out "d['requests'], d['threads'], d['mode']")" = "(100, 4, 'read')" ] ||
	fail "bench JSON: $(cat out)"
expect_status 2 "$VIMG" bench -t none in.qcow2
expect_status 2 "$VIMG" bench -n in.qcow2
echo "PASS"
