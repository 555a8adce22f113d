#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Build every libFuzzer harness in tests/fuzz/ with clang (ASan + UBSan) in
# BUILDDIR (default build-fuzz/) and run each for SECONDS (default 60), seeded
# from its format's fixtures. Crashers are left in BUILDDIR/crash-<harness>/;
# each one found should become a regression test. Not part of make check.
# The launcher (libvimg/boot) is left out: no harness feeds it.
# Usage: scripts/fuzz.sh [SECONDS] [HARNESS...]   e.g. scripts/fuzz.sh 300 qcow2
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-60}
[ $# -gt 0 ] && shift
dir=${BUILDDIR:-$top/build-fuzz}
command -v clang >/dev/null || { echo "fuzz: clang is not installed" >&2; exit 1; }
mkdir -p "$dir"
cd "$dir"
[ -f "$top/configure" ] || (cd "$top" && ./autogen.sh)
if [ ! -f Makefile ]; then
	"$top/configure" CC=clang --disable-fuse --disable-boot \
		CFLAGS='-g -O1 -fsanitize=fuzzer-no-link,address,undefined' >/dev/null
fi
make -j2 libvimg/libvimg-internal.la >/dev/null
harnesses=${*:-$(cd "$top/tests/fuzz" && ls fuzz-*.c | sed 's/^fuzz-//; s/\.c$//')}
status=0
for h in $harnesses; do
	clang -g -O1 -fsanitize=fuzzer,address,undefined -I"$top/libvimg" -I. \
		"$top/tests/fuzz/fuzz-$h.c" libvimg/.libs/libvimg-internal.a \
		-lz -lzstd -lcrypto -lxml2 -lpthread -o "fuzz-$h"
	rm -rf "corpus-$h" && mkdir -p "corpus-$h" "crash-$h"
	for f in "$top/fixtures/$h"/*; do
		case "$f" in
		*.gz) gzip -dc "$f" >"corpus-$h/$(basename "$f" .gz)" ;;
		*.xz) xz -dc "$f" >"corpus-$h/$(basename "$f" .xz)" ;;
		*.sh|*.py) ;;
		*) [ -f "$f" ] && cp "$f" "corpus-$h/" ;;
		esac
	done
	# The bundle codecs are seeded with real configurations.
	if [ "$h" = vmx ] || [ "$h" = vmsd ] || [ "$h" = vmxf ] || [ "$h" = kvtext ]; then
		cp "$top"/fixtures/vmware/*.vmsd "corpus-$h/"
		for f in "${VIMG_CORPUS:-}"/vmx/*/*.vmx; do
			[ -f "$f" ] && cp "$f" "corpus-$h/"
		done
	fi
	# The real files are all UTF-8: seed the iconv paths with small documents
	# in other encodings, and the VMDK dialect with text descriptors.
	if [ "$h" = kvtext ]; then
		cp "$top"/fixtures/vmdk/cowd.vmdk "$top"/fixtures/vmdk/se.vmdk "corpus-$h/"
		for e in windows-1252:'Caf\351' Shift_JIS:'C:\\\203\134' GB18030:'\201\060\201\060' \
			Big5:'\244\244' EUC-KR:'\260\241' EUC-JP:'\244\242'; do
			printf '.encoding = "%s"\ndisplayName = "%s"\nx = "a|22b"\n' \
				"${e%%:*}" "$(printf "${e#*:}")" >"corpus-$h/enc-${e%%:*}.vmx"
			printf '# Disk DescriptorFile\nencoding="%s"\nRW 8 FLAT "%s" 0\n' \
				"${e%%:*}" "$(printf "${e#*:}")" >"corpus-$h/enc-${e%%:*}.vmdk"
		done
	fi
	# Firmware variables: the generator's files, the corpus and OVMF's stores.
	if [ "$h" = nvram ]; then
		python3 "$top/fixtures/gen/nvram-gen.py" "gen-$h" >/dev/null
		cp "gen-$h"/efi.nvram "gen-$h"/bios.nvram "gen-$h"/odd-values.nvram "corpus-$h/"
		for f in "${VIMG_CORPUS:-}"/nvram/*/*.nvram /usr/share/OVMF/OVMF_VARS*.fd; do
			[ -f "$f" ] && cp "$f" "corpus-$h/"
		done
	fi
	# Domains: libvirt's own (the corpus) and what vimg writes for the bundles.
	if [ "$h" = libvirt ]; then
		for f in "${VIMG_CORPUS:-}"/libvirt/*/*.xml; do
			[ -f "$f" ] && cp "$f" "corpus-$h/"
		done
		if [ -x cli/vimg ] || make -j2 cli/vimg >/dev/null 2>&1; then
			rm -rf "gen-$h" && sh "$top/fixtures/make-bundles.sh" "gen-$h/b" >/dev/null 2>&1 &&
				for vm in ws-bios esx-efi; do
					cli/vimg convert --to libvirt "gen-$h/b/$vm" "gen-$h/$vm" >/dev/null 2>&1 &&
						cp "gen-$h/$vm/$vm.xml" "corpus-$h/"
				done
		fi
	fi
	# Machines: VirtualBox's own (the corpus) and what vimg writes.
	if [ "$h" = vbox ]; then
		for f in "${VIMG_CORPUS:-}"/vbox/*/*.vbox; do
			[ -f "$f" ] && cp "$f" "corpus-$h/"
		done
		if [ -x cli/vimg ] || make -j2 cli/vimg >/dev/null 2>&1; then
			rm -rf "gen-$h" && sh "$top/fixtures/make-bundles.sh" "gen-$h/b" >/dev/null 2>&1 &&
				for vm in ws-bios esx-efi chain; do
					cli/vimg convert --to virtualbox "gen-$h/b/$vm" "gen-$h/$vm" \
						>/dev/null 2>&1 && cp "gen-$h/$vm/$vm.vbox" "corpus-$h/"
				done
		fi
	fi
	if [ "$h" = hyperv ]; then
		for f in "${VIMG_CORPUS:-}"/hyperv/*/*.xml; do
			[ -f "$f" ] && cp "$f" "corpus-$h/"
		done
	fi
	# OVF descriptors: the corpus's real ones; OVAs: what vimg writes.
	if [ "$h" = ovf ]; then
		for f in "${VIMG_CORPUS:-}"/ovf/*/*.ovf; do
			[ -f "$f" ] && cp "$f" "corpus-$h/"
		done
	fi
	if [ "$h" = ovf ] || [ "$h" = tar ]; then
		if [ -x cli/vimg ] || make -j2 cli/vimg >/dev/null 2>&1; then
			rm -rf "gen-$h" && sh "$top/fixtures/make-bundles.sh" "gen-$h/b" >/dev/null 2>&1 &&
				for vm in ws-bios esx-efi; do
					cli/vimg convert --to ova "gen-$h/b/$vm" "gen-$h/$vm" >/dev/null 2>&1 &&
						if [ "$h" = tar ]; then
							cp "gen-$h/$vm/$vm.ova" "corpus-$h/"
						else
							tar xf "gen-$h/$vm/$vm.ova" -C "corpus-$h" "$vm.ovf"
						fi
				done
		fi
	fi
	# The generators' packages and domain, as ovftool, VirtualBox and libvirt
	# write them, and the hostile packages (the disks need qemu-img).
	if [ "$h" = ovf ] || [ "$h" = tar ]; then
		rm -rf "gen-$h-pkg"
		if python3 "$top/fixtures/gen/ovf-gen.py" "gen-$h-pkg" >/dev/null 2>&1; then
			if [ "$h" = tar ]; then
				cp "gen-$h-pkg"/*.ova "gen-$h-pkg"/hostile/*.ova "corpus-$h/"
			else
				for x in vmware vbox; do
					tar xf "gen-$h-pkg/$x.ova" -C "corpus-$h" "gen-$x.ovf"
				done
				cp "gen-$h-pkg"/ovf2/*.ovf "gen-$h-pkg"/hostile/laughs.ovf \
					"gen-$h-pkg"/hostile/xxe.ovf "gen-$h-pkg"/hostile/*/*.ovf "corpus-$h/"
			fi
		fi
	fi
	if [ "$h" = libvirt ]; then
		rm -rf "gen-$h-dom"
		python3 "$top/fixtures/gen/libvirt-gen.py" "gen-$h-dom" >/dev/null 2>&1 &&
			cp "gen-$h-dom/gen-libvirt.xml" "corpus-$h/"
	fi
	# Hyper-V's binary configurations, runtime state and VM registry, and
	# the generator's files (the hostile ones too).
	if [ "$h" = vmcx ]; then
		for f in "${VIMG_CORPUS:-}"/hyperv/*/*.vmcx "${VIMG_CORPUS:-}"/hyperv/*/*.VMRS; do
			[ -f "$f" ] && cp "$f" "corpus-$h/"
		done
		rm -rf "gen-$h"
		python3 "$top/fixtures/gen/vmcx-gen.py" "gen-$h" >/dev/null
		cp "gen-$h"/*.vmcx "corpus-$h/"
	fi
	# LUKS: the header area of an encrypted qcow2 qemu-img writes.
	if [ "$h" = luks ] && command -v qemu-img >/dev/null; then
		rm -f "gen-$h.qcow2"
		qemu-img create -q --object secret,id=s,data=x -f qcow2 \
			-o encrypt.format=luks,encrypt.key-secret=s,encrypt.iter-time=10 \
			"gen-$h.qcow2" 1M
		python3 - "gen-$h.qcow2" "corpus-$h/qemu-luks" <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read()
pos = struct.unpack('>I', d[100:104])[0]
while pos + 8 <= 65536:
    t, n = struct.unpack('>II', d[pos:pos + 8])
    if t == 0x0537be77:
        off, ln = struct.unpack('>QQ', d[pos + 8:pos + 24])
        open(sys.argv[2], 'wb').write(d[off:off + ln])
        break
    if t == 0:
        break
    pos += 8 + (n + 7) // 8 * 8
PY
	fi
	# A VHDX keeps its metadata and BAT past the first MiB: seeds need room.
	case $h in
	luks) max_len=2097152 ;;
	vhdx) max_len=8388608 ;;
	nvram | tar) max_len=1048576 ;;
	*) max_len=262144 ;;
	esac
	echo "fuzz: $h for $secs s"
	if ! "./fuzz-$h" -max_total_time="$secs" -max_len=$max_len -timeout=10 \
		-rss_limit_mb=2048 -artifact_prefix="crash-$h/" "corpus-$h" \
		>"fuzz-$h.log" 2>&1; then
		echo "fuzz: $h FOUND A PROBLEM: $(ls "crash-$h")" >&2
		tail -30 "fuzz-$h.log" >&2
		status=1
	fi
	grep -E '^#[0-9]+.*(DONE|pulse)' "fuzz-$h.log" | tail -n 1
done
exit $status
