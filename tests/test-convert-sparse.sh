#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The copy engine's cost follows the data, not the virtual size: a 1 TiB raw
# disk holding 64 MiB (64 scattered 1 MiB chunks) converts to qcow2 and back
# with outputs qemu-img finds identical, a qcow2 under 80 MiB, and a peak RSS
# under 64 MiB (not measured in sanitizer builds).
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"

requires qemu-img --version
tmpdir
cd "$TMPD"

truncate -s 1T big.raw 2>/dev/null || skip "cannot make a 1 TiB sparse file here"
head -c 64M /dev/urandom >chunks || fail "no random data"
# Chunk i lands at i * 16 GiB + i * 3 MiB + 512 KiB: spread over the whole
# disk and not aligned to clusters.
i=0
while [ $i -lt 64 ]; do
	off_k=$((i * 16 * 1024 * 1024 + i * 3 * 1024 + 512))
	dd if=chunks of=big.raw bs=1K count=1024 skip=$((i * 1024)) seek=$off_k \
		conv=notrunc 2>/dev/null || fail "writing chunk $i"
	i=$((i + 1))
done
rm -f chunks
[ "$(du -k big.raw | cut -f1)" -lt 100000 ] || skip "file system does not keep holes"

timed() {
	if command -v /usr/bin/time >/dev/null 2>&1 && [ -x /usr/bin/time ]; then
		/usr/bin/time -f %M -o rss.txt "$@"
	else
		echo 0 >rss.txt
		"$@"
	fi
}

check_rss() {
	rss=$(tail -n 1 rss.txt)
	echo "peak RSS of $1: ${rss} KiB"
	if unsanitized && [ "$rss" -ge 65536 ]; then
		fail "$1 used ${rss} KiB (limit 65536)"
	fi
}

start=$(date +%s)
timed "$VIMG" convert -O qcow2 big.raw big.qcow2 || fail "convert raw -> qcow2"
check_rss "convert raw -> qcow2"
size=$(stat -c %s big.qcow2)
alloc=$(($(du -k big.qcow2 | cut -f1) * 1024))
echo "qcow2: file size $size, allocated $alloc"
[ "$size" -lt $((80 * 1024 * 1024)) ] || fail "qcow2 file is $size bytes"
[ "$alloc" -lt $((80 * 1024 * 1024)) ] || fail "qcow2 occupies $alloc bytes"
peer_check big.qcow2
qemu-img compare big.raw big.qcow2 >/dev/null || fail "qemu-img compare raw qcow2"
"$VIMG" compare big.raw big.qcow2 >/dev/null || fail "vimg compare raw qcow2"

timed "$VIMG" convert -O raw big.qcow2 back.raw || fail "convert qcow2 -> raw"
check_rss "convert qcow2 -> raw"
[ "$(stat -c %s back.raw)" = 1099511627776 ] || fail "raw output size"
[ "$(du -k back.raw | cut -f1)" -lt 100000 ] || fail "raw output not sparse"
qemu-img compare big.raw back.raw >/dev/null || fail "qemu-img compare raw back"
echo "PASS in $(($(date +%s) - start)) s"
