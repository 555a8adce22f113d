#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# vimg memdump against saved states made by fixtures/gen/vmss-gen.py, which
# follows the published layout (crash, volatility3) on its own and checks
# dumps on its own: a raw dump is as large as the guest memory and every page
# of every region holds its guest-physical address, holes read as zeros; an
# ELF dump has one PT_LOAD per region (readelf) whose bytes equal the raw
# dump at p_paddr. Embedded memory, a .vmem, every header magic, a VM folder
# whose checkpoint.vmState names the state; the sources never change; broken
# states are refused quickly (exit 1, a message naming vmss and an offset).
. "$VIMG_SRCDIR/tests/functions.sh"
command -v python3 >/dev/null 2>&1 || skip "python3 not available"
command -v readelf >/dev/null 2>&1 || skip "readelf not available"
command -v timeout >/dev/null 2>&1 || skip "timeout not available"
tmpdir
gen="$VIMG_SRCDIR/fixtures/gen/vmss-gen.py"
python3 "$gen" gen "$TMPD/s" || fail "vmss-gen.py gen"
cd "$TMPD/s"
mkdir "$TMPD/dumps"
o=$TMPD/dumps

sums() {
	find . -type f ! -name '*.json' | LC_ALL=C sort | xargs sha256sum
}
before=$(sums)

# raw NAME SRC [OPTIONS...]: dump SRC as raw to $o/NAME.raw and check it.
raw() {
	_n=$1 _s=$2
	shift 2
	expect_status 0 "$VIMG" memdump "$@" "$_s" "$o/$_n.raw"
	python3 "$gen" check "$_n.json" "$o/$_n.raw" >/dev/null || fail "raw dump of $_s"
}

# elf NAME SRC: dump SRC as ELF; its LOADs are the manifest's regions, and
# each one's bytes are the raw dump's at p_paddr (needs raw NAME first).
elf() {
	_n=$1 _s=$2
	expect_status 0 "$VIMG" memdump --format elf "$_s" "$o/$_n.elf"
	readelf -hlW "$o/$_n.elf" >"$o/$_n.readelf" 2>"$o/$_n.readelf-err" ||
		fail "readelf $_n.elf"
	[ ! -s "$o/$_n.readelf-err" ] || { cat "$o/$_n.readelf-err" >&2; fail "readelf warns on $_n.elf"; }
	grep -q 'Type:.*CORE' "$o/$_n.readelf" || fail "$_n.elf is not ET_CORE"
	grep -q 'Machine:.*X86-64' "$o/$_n.readelf" || fail "$_n.elf is not EM_X86_64"
	awk '$1 == "LOAD" { print $2, $3, $4, $5, $6 }' "$o/$_n.readelf" >"$o/$_n.loads"
	python3 - "$_n.json" "$o/$_n.loads" <<'EOF' || fail "$_n.elf: LOADs differ from the regions"
import json, sys
m = json.load(open(sys.argv[1]))
loads = [[int(x, 16) for x in l.split()] for l in open(sys.argv[2])]
want = [(r['gpa'], r['len']) for r in m['regions']]
got = [(paddr, filesz) for off, vaddr, paddr, filesz, memsz in loads]
assert got == want, (got, want)
assert all(off % 4096 == 0 and vaddr == 0 and memsz == filesz for off, vaddr, _, filesz, memsz in loads)
EOF
	while read -r off vaddr paddr filesz memsz; do
		dd if="$o/$_n.elf" bs=4096 skip=$((off / 4096)) count=$((filesz / 4096)) \
			of="$o/seg" 2>/dev/null
		dd if="$o/$_n.raw" bs=4096 skip=$((paddr / 4096)) count=$((filesz / 4096)) \
			of="$o/want" 2>/dev/null
		cmp -s "$o/seg" "$o/want" || fail "$_n.elf: segment at $paddr differs from the raw dump"
	done <"$o/$_n.loads"
}

# Embedded memory, three regions with holes; ELF of the same.
raw embedded embedded.vmss
elf embedded embedded.vmss
# Memory in the .vmem, a region at 4 GiB: given as the state or as the .vmem.
raw split split.vmsn
elf split split.vmsn
raw split split.vmem
[ "$(du -k "$o/split.raw" | cut -f1)" -lt 16384 ] || fail "raw dump of split.vmsn is not sparse"
cp split.vmem "$o/other.vmem"
raw split split.vmsn --vmem "$o/other.vmem"
# No region table: the memory block is guest memory from 0.
raw flat flat.vmss
elf flat flat.vmss
# Every header magic (0xbed0bed0 with 32-bit block sizes).
for m in bed0bed0 bed2bed2 bed3bed3 bad1bad1 bad2bad2; do
	raw "magic-$m" "magic-$m.vmss"
done

# A VM folder and its .vmx: checkpoint.vmState = "x.vmss".
cp embedded.json bundle.json
raw bundle bundle
raw bundle bundle/x.vmx
mkdir "$o/nostate"
printf 'config.version = "8"\ndisplayName = "y"\n' >"$o/nostate/y.vmx"
expect_status 1 "$VIMG" memdump "$o/nostate" "$o/n.raw"
grep -q 'no saved state' "$TMPD/err" || fail "a VM without saved state: $(cat "$TMPD/err")"

# JSON says what was written; -p shows progress.
expect_status 0 "$VIMG" memdump -p --format elf --output=json embedded.vmss "$o/j.elf"
cp "$TMPD/out" "$o/j.json"
[ "$(json_get "$o/j.json" "d['format']")" = elf ] || fail "json format"
[ "$(json_get "$o/j.json" "d['bytes']")" = "$(wc -c <"$o/j.elf")" ] || fail "json bytes"
[ "$(json_get "$o/j.json" "len(d['regions'])")" = 3 ] || fail "json regions"
[ "$(json_get "$o/j.json" "d['embedded']")" = True ] || fail "json embedded"
grep -q '100.00/100%' "$TMPD/err" || fail "-p shows no progress"

# Refusals: --vmem for embedded memory, a non-regular target, the state's
# own files as the target, usage errors.
expect_status 1 "$VIMG" memdump --vmem split.vmem embedded.vmss "$o/x.raw"
grep -q 'vmss: .*holds its memory itself' "$TMPD/err" || fail "--vmem with embedded memory"
expect_status 1 "$VIMG" memdump embedded.vmss /dev/null
expect_status 1 "$VIMG" memdump split.vmsn split.vmem
expect_status 1 "$VIMG" memdump split.vmsn split.vmsn
expect_status 2 "$VIMG" memdump --format qcow2 split.vmsn "$o/x.raw"
expect_status 2 "$VIMG" memdump split.vmsn
expect_status 0 "$VIMG" memdump --help

# Broken states: refused with exit 1, a message naming vmss and an offset,
# within a second, whatever they claim.
for f in hostile/*.vmss hostile/*.vmsn; do
	t0=$(date +%s%N)
	expect_status 1 timeout 5 "$VIMG" memdump "$f" "$o/h.raw"
	t1=$(date +%s%N)
	grep -q 'vmss: .*offset' "$TMPD/err" || fail "$f: message lacks vmss and an offset: $(cat "$TMPD/err")"
	ms=$(((t1 - t0) / 1000000))
	if unsanitized && [ "$ms" -ge 1000 ]; then
		fail "$f took $ms ms to refuse"
	fi
	echo "refused $f in $ms ms: $(cat "$TMPD/err")"
done
expect_status 1 "$VIMG" memdump hostile/compressed.vmss "$o/h.raw"
grep -q 'compressed memory blocks are not supported' "$TMPD/err" || fail "compressed block"

[ "$before" = "$(sums)" ] || fail "a source file changed"
echo "PASS: memdump raw/elf of embedded, .vmem, flat, all magics, bundles; hostile inputs refused"
