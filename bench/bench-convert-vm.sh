#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Benchmark whole-VM conversion against qemu-img on the same disks in the
# same run: a VMware VM with a 2 TiB-virtual sparse VMDK holding 128 MiB
# (two 64 MiB runs, one at 1 TiB) and a 1 GiB VMDK full of 200 MiB of
# random data. vimg convert --to libvirt is timed against qemu-img convert
# -O qcow2 of each disk in turn, and --to ova against qemu-img convert -O
# vmdk -o subformat=streamOptimized of each disk (which leaves qemu-img the
# tar and the hashes to spare), and the OVA back to libvirt (vimg verifying
# the manifest and reading the disks in place) against qemu-img convert of
# the same two members read in place (raw offsets into the OVA). Both tools
# use their default cache mode.
# Prints medians of REPEAT runs, the vimg/qemu-img ratio, peak RSS, and
# verifies every vimg disk with qemu-img compare.
# Usage: [REPEAT=3] bench/bench-convert-vm.sh [VIMG]   (default: build/cli/vimg)
# Not part of make check.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
vimg=${1:-$top/build/cli/vimg}
repeat=${REPEAT:-3}
[ -x "$vimg" ] || { echo "bench: $vimg not built (scripts/build.sh)" >&2; exit 1; }
for t in qemu-img qemu-io python3; do
	command -v $t >/dev/null || { echo "bench: $t missing" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time missing (package time)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/vimg-bench-vm.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

mkdir vm
qemu-img create -q -f vmdk vm/big.vmdk 2T
qemu-io -c "write -P 7 0 64M" -c "write -P 9 1T 64M" vm/big.vmdk >/dev/null
head -c 200M /dev/urandom >r.bin
qemu-img convert -q -f raw -O vmdk r.bin vm/data.vmdk
rm r.bin
cat >vm/vm.vmx <<'EOF'
.encoding = "UTF-8"
config.version = "8"
virtualHW.version = "19"
displayName = "bench"
guestOS = "ubuntu-64"
memsize = "2048"
numvcpus = "2"
scsi0.present = "TRUE"
scsi0.virtualDev = "lsilogic"
scsi0:0.present = "TRUE"
scsi0:0.fileName = "big.vmdk"
scsi0:1.present = "TRUE"
scsi0:1.fileName = "data.vmdk"
EOF

# timed LABEL CMD...: append "LABEL seconds kib" to times.
timed() {
	label=$1
	shift
	/usr/bin/time -f "$label %e %M" -a -o times "$@" >/dev/null 2>&1
}

i=0
while [ $i -lt "$repeat" ]; do
	rm -rf lv ova q
	mkdir q
	timed vimg-libvirt "$vimg" convert --to libvirt vm/vm.vmx lv
	timed qemu-qcow2 sh -c 'qemu-img convert -O qcow2 vm/big.vmdk q/0.qcow2 &&
		qemu-img convert -O qcow2 vm/data.vmdk q/1.qcow2'
	rm -rf q && mkdir q
	timed vimg-ova "$vimg" convert --to ova vm/vm.vmx ova
	timed qemu-stream sh -c 'qemu-img convert -O vmdk -o subformat=streamOptimized vm/big.vmdk q/0.vmdk &&
		qemu-img convert -O vmdk -o subformat=streamOptimized vm/data.vmdk q/1.vmdk'
	[ -f members ] || python3 - ova/bench.ova >members <<'EOF'
import json, sys, tarfile
for m in tarfile.open(sys.argv[1]).getmembers():
    if m.name.endswith(".vmdk"):
        print("json:" + json.dumps({"driver": "vmdk", "file": {"driver": "raw", "offset": m.offset_data,
              "size": m.size, "file": {"driver": "file", "filename": sys.argv[1]}}}, separators=(",", ":")))
EOF
	rm -rf lv2 q && mkdir q
	timed vimg-from-ova "$vimg" convert --to libvirt ova/bench.ova lv2
	timed qemu-from-ova sh -c 'n=0; while read -r spec; do
		qemu-img convert -O qcow2 "$spec" q/$n.qcow2 || exit 1; n=$((n + 1)); done <members'
	i=$((i + 1))
done
qemu-img compare -q vm/big.vmdk lv2/bench.qcow2
qemu-img compare -q vm/data.vmdk lv2/bench_1.qcow2
qemu-img compare -q vm/big.vmdk lv/bench.qcow2
qemu-img compare -q vm/data.vmdk lv/bench_1.qcow2
mkdir x && tar xf ova/bench.ova -C x
qemu-img compare -q vm/big.vmdk x/bench.vmdk
qemu-img compare -q vm/data.vmdk x/bench_1.vmdk

python3 - times <<'EOF'
import statistics, sys
t = {}
for line in open(sys.argv[1]):
    label, secs, kib = line.split()
    t.setdefault(label, []).append((float(secs), int(kib)))
med = lambda l: statistics.median(s for s, _ in l)
rss = lambda l: max(k for _, k in l) // 1024
print("%-34s %9s %9s %7s %9s %9s" % ("job", "vimg s", "qemu s", "ratio", "vimg MiB", "qemu MiB"))
for job, a, b in (("VM -> libvirt (qcow2 disks)", "vimg-libvirt", "qemu-qcow2"),
                  ("VM -> OVA (streamOptimized)", "vimg-ova", "qemu-stream"),
                  ("OVA -> libvirt, in place", "vimg-from-ova", "qemu-from-ova")):
    print("%-34s %9.2f %9.2f %7.2f %9d %9d" % (job, med(t[a]), med(t[b]), med(t[a]) / med(t[b]),
                                              rss(t[a]), rss(t[b])))
print("ratio < 1: vimg is faster; 328 MiB of data on 2 TiB + 1 GiB virtual")
EOF
