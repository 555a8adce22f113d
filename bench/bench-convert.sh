#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Benchmark vimg convert against qemu-img convert on the same data in the
# same run: a 1 TiB sparse raw disk holding 64 MiB of random data in 64
# scattered 1 MiB chunks, converted raw -> qcow2, raw -> compressed qcow2
# (on a 4 GiB disk with the same amount of half-compressible data), and
# qcow2 -> raw. Prints wall time, the vimg/qemu-img ratio and the peak RSS
# of each, and verifies every output with qemu-img compare.
# Usage: [REPEAT=5] bench/bench-convert.sh [VIMG]   (default: build/cli/vimg)
# Not part of make check.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
vimg=${1:-$top/build/cli/vimg}
repeat=${REPEAT:-5}
[ -x "$vimg" ] || { echo "bench: $vimg not built (scripts/build.sh)" >&2; exit 1; }
command -v qemu-img >/dev/null || { echo "bench: qemu-img missing" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time missing (package time)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/vimg-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

# fill FILE SIZE STRIDE_KIB KIND: 64 chunks of 1 MiB, chunk i at i*STRIDE.
fill() {
	truncate -s "$2" "$1"
	case "$4" in
	random) head -c 64M /dev/urandom >chunks ;;
	half)   # half random, half zeros-and-text: compresses about 2:1
		python3 -c '
import os, sys
with open("chunks", "wb") as f:
    for i in range(64 * 16):
        f.write(os.urandom(32768) + ((b"vimg bench %d\n" % i) * 4096)[:32768])
' ;;
	esac
	i=0
	while [ $i -lt 64 ]; do
		dd if=chunks of="$1" bs=1K count=1024 skip=$((i * 1024)) \
			seek=$((i * $3 + 512)) conv=notrunc 2>/dev/null
		i=$((i + 1))
	done
	rm -f chunks
}

# measure LABEL CMD...: run REPEAT times under /usr/bin/time -v (removing the
# output, the last argument, before each run); prints the median wall time and
# the largest peak RSS, and sets last_secs.
measure() {
	label=$1
	shift
	for _last; do :; done
	: >walls
	rss=0
	i=0
	while [ $i -lt "$repeat" ]; do
		rm -f "$_last"
		sync
		/usr/bin/time -v -o time.txt "$@" >/dev/null
		wall=$(sed -n 's/.*Elapsed (wall clock) time.*: //p' time.txt)
		r=$(sed -n 's/.*Maximum resident set size (kbytes): //p' time.txt)
		[ "$r" -gt "$rss" ] && rss=$r
		# h:mm:ss or m:ss.ss -> seconds
		echo "$wall" | awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }' >>walls
		i=$((i + 1))
	done
	secs=$(sort -n walls | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
	printf '  %-20s wall %8.2f s (median of %d)   peak RSS %8d KiB\n' "$label" "$secs" \
		"$repeat" "$rss"
	last_secs=$secs
}

# bench NAME SRC DST_VIMG DST_QEMU ARGS...: time both tools in both cache modes
# (writeback: the output is synced before exit, vimg's default; unsafe: never
# synced, qemu-img convert's default), compare outputs.
bench() {
	name=$1 src=$2 dv=$3 dq=$4
	shift 4
	echo "$name"
	for cache in writeback unsafe; do
		measure "vimg -t $cache" "$vimg" convert -t "$cache" "$@" "$src" "$dv"
		tv=$last_secs
		measure "qemu-img -t $cache" qemu-img convert -t "$cache" "$@" "$src" "$dq"
		tq=$last_secs
		awk -v a="$tv" -v b="$tq" -v c="$cache" 'BEGIN { if (b > 0) printf "  ratio vimg/qemu-img (-t %s): %.2f\n", c, a / b; else print "  ratio: n/a" }'
	done
	qemu-img compare "$src" "$dv" >/dev/null || { echo "  vimg output differs!" >&2; exit 1; }
	qemu-img compare "$src" "$dq" >/dev/null || { echo "  qemu-img output differs!" >&2; exit 1; }
	printf '  sizes: vimg %s, qemu-img %s (allocated KiB)\n' \
		"$(du -k "$dv" | cut -f1)" "$(du -k "$dq" | cut -f1)"
	echo "  outputs verified with qemu-img compare"
}

echo "vimg: $("$vimg" --version)    qemu-img: $(qemu-img --version | head -n 1)"
echo "preparing a 1 TiB sparse raw disk with 64 MiB of random data"
fill big.raw 1T $((16 * 1024 * 1024)) random
bench "raw -> qcow2 (1 TiB virtual, 64 MiB data)" big.raw v.qcow2 q.qcow2 -O qcow2
bench "qcow2 -> raw (1 TiB virtual, 64 MiB data)" v.qcow2 v.raw q.raw -f qcow2 -O raw
rm -f big.raw v.raw q.raw q.qcow2

echo "preparing a 4 GiB sparse raw disk with 64 MiB of half-compressible data"
fill small.raw 4G $((64 * 1024)) half
bench "raw -> compressed qcow2 (-c)" small.raw vc.qcow2 qc.qcow2 -c -O qcow2
echo "bench done"
