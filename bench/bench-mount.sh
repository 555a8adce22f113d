#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Read speed through vimgmount against the other FUSE views of disk images:
# qemu-storage-daemon's FUSE export (qcow2, vmdk, vpc drivers) and libyal's
# qcowmount / vmdkmount / vhdimount, on the same images in one run.
#
#   sequential: dd of the whole disk with 1 MiB blocks; before each run the
#               page cache is dropped (root: /proc/sys/vm/drop_caches) and the
#               image file read once, so the host file is cached and the FUSE
#               file is not: the numbers measure the FUSE path and the driver.
#   random:     4 KiB reads at random offsets for $BENCH_SECONDS seconds with
#               $BENCH_JOBS jobs (fio, O_DIRECT where the mount allows it, else
#               after dropping caches; without fio a python reader).
#
# Not part of make check. Usage: bench/bench-mount.sh [SIZE_MIB]   (default 512)
# Env: VIMG_BUILDDIR (default ./build), BENCH_SECONDS (10), BENCH_JOBS (4).
set -eu

size_mib=${1:-512}
top=$(cd "$(dirname "$0")/.." && pwd)
builddir=${VIMG_BUILDDIR:-$top/build}
vimgmount=$builddir/fuse/vimgmount
seconds=${BENCH_SECONDS:-10}
jobs=${BENCH_JOBS:-4}
[ -x "$vimgmount" ] || { echo "bench-mount: build vimgmount first ($vimgmount)" >&2; exit 1; }
command -v qemu-img >/dev/null || { echo "bench-mount: qemu-img needed" >&2; exit 1; }

t=$(mktemp -d "${TMPDIR:-/tmp}/bench-mount.XXXXXX")
mounts=""
cleanup() {
	for m in $mounts; do
		fusermount3 -u -z "$m" 2>/dev/null || fusermount -u -z "$m" 2>/dev/null ||
			umount -l "$m" 2>/dev/null || true
	done
	[ -z "${qsd_pid:-}" ] || kill "$qsd_pid" 2>/dev/null || true
	sleep 0.5
	rm -rf "$t"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

drop_caches() {
	sync
	if [ -w /proc/sys/vm/drop_caches ]; then
		echo 3 >/proc/sys/vm/drop_caches
	fi
}

# ---- the images: half random data, a quarter zeros written, a quarter unallocated
echo "bench-mount: making ${size_mib} MiB images in $t"
python3 - "$t/src.raw" "$size_mib" <<'PY'
import os, sys
path, mib = sys.argv[1], int(sys.argv[2])
with open(path, "wb") as f:
    f.truncate(mib << 20)
    for i in range(mib):
        if i % 4 in (0, 1):
            f.seek(i << 20)
            f.write(os.urandom(1 << 20))
        elif i % 4 == 2:
            f.seek(i << 20)
            f.write(bytes(1 << 20))
PY
qemu-img convert -f raw -O qcow2 "$t/src.raw" "$t/img.qcow2"
qemu-img convert -f raw -O vmdk -o subformat=monolithicSparse "$t/src.raw" "$t/img.vmdk"
qemu-img convert -f raw -O vpc -o subformat=dynamic,force_size=on "$t/src.raw" "$t/img.vhd"
rm -f "$t/src.raw"

# wait_for FILE: until it exists and is not empty (max 20 s)
wait_for() {
	i=0
	while ! [ -s "$1" ]; do
		i=$((i + 1))
		[ "$i" -lt 400 ] || return 1
		sleep 0.05
	done
}

seq_read() { # FILE IMAGE -> MB/s
	drop_caches
	cat "$2" >/dev/null
	dd if="$1" of=/dev/null bs=1M 2>&1 | awk '/copied/ {
		for (i = 1; i <= NF; i++) if ($i == "copied,") s = $(i + 1);
		printf "%.0f", $1 / s / 1e6 }'
}

rand_read() { # FILE IMAGE -> IOPS
	drop_caches
	cat "$2" >/dev/null
	if command -v fio >/dev/null 2>&1; then
		for direct in 1 0; do
			out=$(fio --name=r --filename="$1" --rw=randread --bs=4k --direct=$direct \
				--ioengine=psync --numjobs="$jobs" --runtime="$seconds" --time_based \
				--group_reporting --readonly --invalidate=1 --output-format=terse \
				--terse-version=3 2>/dev/null) || continue
			printf '%s' "$out" | awk -F';' '{ printf "%.0f", $8 }'
			[ $direct = 1 ] || printf '(cached)'
			return
		done
	fi
	python3 - "$1" "$seconds" <<'PY'
import os, random, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
size = os.fstat(fd).st_size // 4096
n, end = 0, time.time() + float(sys.argv[2])
while time.time() < end:
    os.pread(fd, 4096, random.randrange(size) * 4096)
    n += 1
print(int(n / float(sys.argv[2])), end="")
PY
}

# measure NAME FILE IMAGE: print one line, remember the numbers
measure() {
	s=$(seq_read "$2" "$3")
	r=$(rand_read "$2" "$3")
	printf '  %-22s %10s %14s\n' "$1" "$s" "$r"
	last_seq=$s
	last_rand=${r%(*}
}

ratio() { # A B -> A/B
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "-" }'
}

results=""
for fmt in qcow2 vmdk vhd; do
	img="$t/img.$fmt"
	case $fmt in
	qcow2) qdrv=qcow2 yal=qcowmount yalfile=qcow1 ;;
	vmdk) qdrv=vmdk yal=vmdkmount yalfile=vmdk1 ;;
	vhd) qdrv=vpc yal=vhdimount yalfile=vhdi1 ;;
	esac
	echo
	echo "$fmt ($size_mib MiB):"
	printf '  %-22s %10s %14s\n' tool "seq MB/s" "rand 4k IOPS"

	mkdir "$t/vm-$fmt"
	"$vimgmount" "$img" "$t/vm-$fmt"
	mounts="$mounts $t/vm-$fmt"
	measure vimgmount "$t/vm-$fmt/disk" "$img"
	v_seq=$last_seq v_rand=$last_rand
	fusermount3 -u "$t/vm-$fmt"

	q_seq=- q_rand=-
	if command -v qemu-storage-daemon >/dev/null 2>&1; then
		: >"$t/qsd-$fmt"
		qemu-storage-daemon \
			--blockdev driver=file,node-name=file,filename="$img" \
			--blockdev driver=$qdrv,node-name=fmt,file=file \
			--export type=fuse,id=exp,node-name=fmt,mountpoint="$t/qsd-$fmt",writable=off \
			2>"$t/qsd-$fmt.err" &
		qsd_pid=$!
		mounts="$mounts $t/qsd-$fmt"
		if wait_for "$t/qsd-$fmt"; then
			measure qemu-storage-daemon "$t/qsd-$fmt" "$img"
			q_seq=$last_seq q_rand=$last_rand
		else
			echo "  qemu-storage-daemon: failed: $(head -n 1 "$t/qsd-$fmt.err")"
		fi
		kill "$qsd_pid" 2>/dev/null || true
		wait "$qsd_pid" 2>/dev/null || true
		qsd_pid=""
	fi

	y_seq=- y_rand=-
	if command -v "$yal" >/dev/null 2>&1; then
		mkdir "$t/yal-$fmt"
		if "$yal" "$img" "$t/yal-$fmt" >"$t/yal-$fmt.err" 2>&1 &&
			wait_for "$t/yal-$fmt/$yalfile"; then
			mounts="$mounts $t/yal-$fmt"
			measure "$yal" "$t/yal-$fmt/$yalfile" "$img"
			y_seq=$last_seq y_rand=$last_rand
			fusermount3 -u "$t/yal-$fmt" 2>/dev/null || fusermount -u "$t/yal-$fmt" 2>/dev/null ||
				umount "$t/yal-$fmt"
		else
			echo "  $yal: failed: $(head -n 1 "$t/yal-$fmt.err")"
		fi
	fi
	results="$results
  $fmt: vimgmount/qsd seq $(ratio "$v_seq" "$q_seq") rand $(ratio "$v_rand" "$q_rand"); vimgmount/$yal seq $(ratio "$v_seq" "$y_seq") rand $(ratio "$v_rand" "$y_rand")"
done

echo
echo "ratios (> 1: vimgmount faster):$results"
[ -w /proc/sys/vm/drop_caches ] || echo "note: not root, caches were not dropped"
