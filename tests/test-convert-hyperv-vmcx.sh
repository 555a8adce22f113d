#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Hyper-V's binary configurations (.vmcx) read into the model. The
# generator's VMs (fixtures/gen/vmcx-gen.py), with real disks beside them,
# inspect as described (and as their XML twins do) and convert to libvirt
# end to end: name, processors, memory, firmware and Secure Boot, disks
# holding what the sources hold, NICs with their MACs. Of the replicated structures the newest valid copy
# is read; hostile files are refused naming the structure and its offset;
# a runtime state tree is no configuration. The corpus (Hyper-V's own
# files) reads as dissect's tests say, and a corpus VM converts once its
# disk is laid out as an export. Nothing is written to any input.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"
requires python3 --version
requires qemu-img --version
requires qemu-io --version
tmpdir
cd "$TMPD"
python3 "$VIMG_SRCDIR/fixtures/gen/vmcx-gen.py" gen >/dev/null || fail "vmcx-gen.py"

# check_model JSON EXPECTED: the model inspect reports is the one described.
check_model() {
	python3 - "$1" "$2" <<'PY' || fail "$1: the model is not the description's"
import json, sys
d, want = json.load(open(sys.argv[1]))["vm"], json.load(open(sys.argv[2]))
for k in ("name", "firmware", "secure-boot", "cpus", "memory-mb"):
    if d.get(k) != want[k]:
        sys.exit("%s: %r, not %r" % (k, d.get(k), want[k]))
if d.get("annotation") != want["annotation"]:
    sys.exit("annotation: %r" % d.get("annotation"))
got = [{k: x[k] for k in ("node", "kind", "file") if k in x} for x in d["devices"]]
if got != want["devices"]:
    sys.exit("devices: %s, not %s" % (got, want["devices"]))
nics = [{k: x[k] for k in ("mac", "mac-type") if k in x} for x in d["nics"]]
if nics != want["nics"]:
    sys.exit("nics: %s, not %s" % (nics, want["nics"]))
PY
}

# ---- the generator's VMs, converted with their disks ------------------------------
cd gen
qemu-img create -q -f vhdx gen1-disk0.vhdx 16M
qemu-io -f vhdx -c "write -P 0x51 1M 2M" gen1-disk0.vhdx >/dev/null
qemu-img create -q -f vhdx gen2-boot.vhdx 24M
qemu-io -f vhdx -c "write -P 0x52 0 1M" -c "write -P 0x53 20M 1M" gen2-boot.vhdx >/dev/null
qemu-img create -q -f qcow2 gen2-data.qcow2 8M
qemu-io -f qcow2 -c "write -P 0x54 4M 64k" gen2-data.qcow2 >/dev/null
cd ..
sha256sum gen/* >inputs.sum
for vm in gen1 gen2; do
	"$VIMG" inspect --output=json "gen/$vm.vmcx" >"$vm.json" || fail "inspect $vm"
	[ "$(json_get $vm.json "len(d['problems'])")" = 0 ] || fail "$vm: $(cat $vm.json)"
	check_model "$vm.json" "gen/$vm.expected.json"
	# The same settings as 2012 R2's XML: the same model.
	"$VIMG" inspect --output=json "gen/$vm.xml" >"$vm.xml.json" || fail "inspect $vm.xml"
	python3 - "$vm.json" "$vm.xml.json" <<'PY' || fail "$vm: the XML twin reads otherwise"
import json, sys
a, b = (json.load(open(f))["vm"] for f in sys.argv[1:])
a.pop("config"), b.pop("config")
if a != b:
    sys.exit("%s\n%s" % (a, b))
PY
	"$VIMG" convert --to libvirt "gen/$vm.vmcx" "kvm-$vm" 2>warn || fail "convert $vm"
	name=$(json_get "$vm.json" "d['vm']['name']")
	dom="kvm-$vm/$name.xml"
	[ -f "$dom" ] || fail "$vm: no domain $dom: $(ls "kvm-$vm")"
	if command -v virt-xml-validate >/dev/null 2>&1; then
		virt-xml-validate "$dom" domain >/dev/null || fail "validate $vm"
	fi
	# The domain read back: the same VM, each disk holding its source's data.
	"$VIMG" inspect --output=json "$dom" >"$vm.kvm.json" || fail "inspect the domain of $vm"
	python3 - "$vm.json" "$vm.kvm.json" "kvm-$vm" <<'PY' >pairs || fail "$vm: the domain differs"
import json, os, sys
a, b = (json.load(open(f))["vm"] for f in sys.argv[1:3])
for k in ("name", "firmware", "secure-boot", "cpus", "memory-mb"):
    if a[k] != b[k]:
        sys.exit("%s: %r became %r" % (k, a[k], b[k]))
if [n.get("mac") for n in a["nics"]] != [n.get("mac") for n in b["nics"]][:len(a["nics"])] \
        or len(a["nics"]) != len(b["nics"]):
    sys.exit("nics: %s became %s" % (a["nics"], b["nics"]))
da = [x for x in a["devices"] if x["kind"] == "disk"]
db = [x for x in b["devices"] if x["kind"] == "disk"]
if len(da) != len(db):
    sys.exit("disks: %s became %s" % (da, db))
for x, y in zip(da, db):
    print("gen/%s\t%s" % (x["file"], os.path.join(sys.argv[3], y["file"])))
PY
	while IFS='	' read -r src dst; do
		qemu-img compare -q "$src" "$dst" || fail "$vm: $dst differs from $src"
	done <pairs
done
grep -q 'secure="yes"' "kvm-gen2/$(json_get gen2.json "d['vm']['name']").xml" ||
	fail "gen2: Secure Boot lost"
grep -qi "00:15:5d:01:02:03" kvm-gen1/gen1.xml || fail "gen1: the static MAC lost"

# ---- replicated structures: the newest valid copy ---------------------------------
while IFS='	' read -r f name; do
	"$VIMG" inspect --output=json "gen/$f" >ok.json || fail "inspect $f"
	[ "$(json_get ok.json "d['vm']['name']")" = "$name" ] || fail "$f: not read as $name"
done <gen/ok.expected

# ---- hostile files: refused, naming the structure and offset ----------------------
while IFS='	' read -r f words; do
	expect_status 1 "$VIMG" inspect "gen/$f"
	grep -q "vmcx: .*0x" err || fail "$f: no offset named: $(cat err)"
	grep -qF "$words" err || fail "$f: expected \"$words\": $(cat err)"
	expect_status 1 "$VIMG" convert --to libvirt "gen/$f" "out-$f"
	grep -qF "$words" err || fail "convert $f: $(cat err)"
done <gen/bad.expected
expect_status 1 "$VIMG" inspect gen/state.vmcx
grep -q "not a VM configuration" err || fail "state.vmcx: $(cat err)"
# With its tables past what probing reads, the reader tells it.
expect_status 1 "$VIMG" inspect gen/state-big.vmcx
grep -q "vmcx: .*not a Hyper-V VM configuration.*runtime state" err ||
	fail "state-big.vmcx: $(cat err)"
sha256sum -c --quiet inputs.sum || fail "an input changed"

# ---- the corpus: Hyper-V's own files ------------------------------------------------
c=$(corpus_dir) && [ -f "$c/hyperv/dissect-hypervisor/test.vmcx" ] ||
	skip "the corpus's Hyper-V files are absent (the generator's passed)"
h=$c/hyperv
sha256sum "$h"/*/* >corpus.sum
corpus_vm() { # corpus_vm FILE NAME GEN DISK
	"$VIMG" inspect --output=json --allow-escape "$1" >c.json || fail "inspect $1"
	hyperv_vm_check c.json "$3" "$2" 1024 "/$4"
	# Hyper-V assigns a dynamic MAC when the VM first starts: none yet.
	[ "$(json_get c.json "'mac' in d['vm']['nics'][0]")" = False ] || fail "$1: a MAC"
	[ "$(json_get c.json "any(x['kind'] == 'cdrom' for x in d['vm']['devices'])")" = \
		"$([ "$3" = 1 ] && echo True || echo False)" ] || fail "$1: the DVD drive"
}
corpus_vm "$h/dissect-hypervisor/test.vmcx" "Other Location" 1 "Other Location.vhdx"
corpus_vm "$h/dissect-target/EC04F346-DB96-4700-AF5B-77B3C56C38BD.vmcx" \
	"Default Generation 1" 1 "Default Generation 1.vhdx"
corpus_vm "$h/dissect-target/993F7B33-6057-4D1E-A1FE-A1A1D77BE974.vmcx" \
	"Default Generation 2" 2 "Default Generation 2.vhdx"
# The runtime state and the VM registry share the container: no configuration.
for f in dissect-hypervisor/test.VMRS dissect-target/child-data.vmcx; do
	expect_status 1 "$VIMG" inspect "$h/$f"
	grep -q "not a VM configuration" err || fail "$f: $(cat err)"
done
# Without its disk a corpus VM does not convert, and the error names it.
mkdir alone
cp "$h/dissect-target/EC04F346-DB96-4700-AF5B-77B3C56C38BD.vmcx" alone/
expect_status 1 "$VIMG" convert --to libvirt --allow-escape alone/EC04F346-DB96-4700-AF5B-77B3C56C38BD.vmcx x
grep -q "ide0:0.*Default Generation 1.vhdx.*No such file" err || fail "missing disk: $(cat err)"
# Laid out as Export-VM lays out an export, it converts.
mkdir -p "exp/Virtual Machines" "exp/Virtual Hard Disks"
cp "$h/dissect-target/993F7B33-6057-4D1E-A1FE-A1A1D77BE974.vmcx" "exp/Virtual Machines/"
qemu-img create -q -f vhdx "exp/Virtual Hard Disks/Default Generation 2.vhdx" 16M
qemu-io -f vhdx -c "write -P 0x62 3M 1M" "exp/Virtual Hard Disks/Default Generation 2.vhdx" >/dev/null
sha256sum exp/*/* alone/* >>inputs.sum
"$VIMG" convert --to libvirt --allow-escape \
	"exp/Virtual Machines/993F7B33-6057-4D1E-A1FE-A1A1D77BE974.vmcx" kvm-c 2>warn ||
	fail "convert the corpus's generation 2 VM"
qemu-img compare -q "exp/Virtual Hard Disks/Default Generation 2.vhdx" \
	"kvm-c/Default Generation 2.qcow2" || fail "the corpus VM's disk differs"
grep -q 'secure="yes"' "kvm-c/Default Generation 2.xml" || fail "corpus: Secure Boot lost"
sha256sum -c --quiet inputs.sum || fail "an input changed"
sha256sum -c --quiet corpus.sum || fail "a corpus file changed"
echo "PASS: Hyper-V .vmcx configurations"
