#!/bin/sh
# vimg convert --to ovf|ova, and OVF/OVA sources. Each fixture VMware bundle
# becomes an OVF folder and an OVA whose members come in the order ovf, mf,
# disks (GNU tar lists them), each of the size References gives; the
# manifest verifies with sha256sum -c (sha1sum, sha512sum with --manifest)
# once rewritten to its syntax; the disks are streamOptimized VMDKs that
# qemu-img checks clean and compares equal to the source's current state,
# read by qemu-img in place inside the OVA (a raw offset). virt-v2v -i ova
# sees the memory, CPUs, firmware, disks and MACs vimg wrote. The OVA comes
# back to VMware with the model unchanged except what was reported, its
# disks read in place (no extracted copy appears), and the bundle is never
# changed. Unsafe and tampered OVAs are refused, writing nothing.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"
requires python3 --version
requires tar --version
tmpdir
make_bundles "$TMPD/b"
cd "$TMPD"

# check_manifest DIR MF TOOL ALGO: the manifest verifies with TOOL.
check_manifest() {
	sed -E "s/^$4\((.*)\)= ([0-9a-f]+)\$/\2  \1/" "$2" >"$1/sums.txt"
	[ "$(wc -l <"$1/sums.txt")" -ge 2 ] || fail "$2: too few lines"
	(cd "$1" && $3 -c --quiet sums.txt) || fail "$2 does not verify with $3"
	rm -f "$1/sums.txt"
}

for vm in ws-bios esx-efi chain; do
	before=$(sums b/$vm)
	"$VIMG" convert --to ova --output=json b/$vm ova-$vm >w1.json || fail "$vm to ova"
	ova=ova-$vm/$vm.ova
	[ "$(ls ova-$vm)" = "$vm.ova" ] || fail "$vm: more than the OVA in its folder: $(ls ova-$vm)"
	tar tf "$ova" >members || fail "$vm: GNU tar cannot list $ova"
	[ "$(sed -n 1p members)" = "$vm.ovf" ] && [ "$(sed -n 2p members)" = "$vm.mf" ] ||
		fail "$vm: members out of order: $(cat members)"
	mkdir x-$vm
	tar xf "$ova" -C x-$vm || fail "$vm: GNU tar cannot extract $ova"
	check_manifest x-$vm x-$vm/$vm.mf sha256sum SHA256
	python3 - x-$vm/$vm.ovf x-$vm <<'EOF' || fail "$vm: References"
import os, sys
import xml.etree.ElementTree as ET
ns = {"o": "http://schemas.dmtf.org/ovf/envelope/1"}
root = ET.parse(sys.argv[1]).getroot()
files = root.findall("o:References/o:File", ns)
O = "{http://schemas.dmtf.org/ovf/envelope/1}"
listed = sorted(f.get(O + "href") for f in files)
present = sorted(n for n in os.listdir(sys.argv[2]) if not n.endswith((".ovf", ".mf")))
if listed != present:
    sys.exit("References %s, archive %s" % (listed, present))
for f in files:
    size = os.path.getsize(os.path.join(sys.argv[2], f.get(O + "href")))
    if int(f.get(O + "size")) != size:
        sys.exit("%s: %s bytes listed, %d in the archive" % (f.get(O + "href"), f.get(O + "size"), size))
for d in root.findall("o:DiskSection/o:Disk", ns):
    if not d.get(O + "format").endswith("#streamOptimized") or not d.get(O + "capacityAllocationUnits"):
        sys.exit("disk format or units")
EOF
	"$VIMG" inspect --output=json b/$vm >a.json
	# The disks inside the OVA, read in place by qemu-img.
	python3 - "$ova" a.json <<'EOF' >inplace || fail "$vm: offsets"
import json, sys, tarfile
src = json.load(open(sys.argv[2]))["vm"]
disks = [d for d in src["devices"] if d["kind"] == "disk" and d.get("file")]
vmdks = [m for m in tarfile.open(sys.argv[1]).getmembers() if m.name.endswith(".vmdk")]
if len(vmdks) != len(disks):
    sys.exit("%d disks in the OVA, %d in the VM" % (len(vmdks), len(disks)))
for d, m in zip(disks, vmdks):
    spec = {"driver": "vmdk", "file": {"driver": "raw", "offset": m.offset_data, "size": m.size,
                                       "file": {"driver": "file", "filename": sys.argv[1]}}}
    print(d["file"], "json:" + json.dumps(spec, separators=(",", ":")))
EOF
	while read -r from spec; do
		qemu-img compare -q "b/$vm/$from" "$spec" || fail "$vm: the OVA's disk differs from $from"
	done <inplace
	for d in x-$vm/*.vmdk; do
		qemu-img check -q "$d" || fail "$vm: qemu-img check $d"
		qemu-img info "$d" | grep -q "create type: streamOptimized" || fail "$d: not streamOptimized"
	done

	# ... and back to VMware, the disks read inside the OVA.
	"$VIMG" convert --to vmware --output=json "$ova" back-$vm >w2.json || fail "$vm back from ova"
	"$VIMG" inspect --output=json back-$vm >c.json || fail "$vm: inspect the result"
	same_model a.json c.json w1.json w2.json >pairs || fail "$vm: the model changed"
	while read -r from to; do
		qemu-img compare -q "b/$vm/$from" "back-$vm/$to" || fail "$vm: $to differs from $from"
	done <pairs
	[ -s pairs ] || fail "$vm: no disks"
	[ "$(ls ova-$vm)" = "$vm.ova" ] || fail "$vm: importing extracted something: $(ls ova-$vm)"
	if [ "$(json_get a.json "d['vm']['firmware']")" = efi ]; then
		cmp "b/$vm/$(json_get a.json "d['vm']['nvram']")" back-$vm/$vm.nvram ||
			fail "$vm: the nvram did not come through the OVA"
	fi
	[ "$(sums b/$vm)" = "$before" ] || fail "$vm: converting changed the bundle"
done

# An OVF folder, with each manifest digest, verified by the coreutils tool.
for algo in sha1 sha256 sha512; do
	"$VIMG" convert --to ovf --manifest=$algo b/esx-efi ovf-$algo 2>/dev/null || fail "ovf $algo"
	label=$(echo $algo | tr a-z A-Z)
	check_manifest ovf-$algo ovf-$algo/esx-efi.mf ${algo}sum "$label"
	"$VIMG" convert --to libvirt ovf-$algo/esx-efi.ovf lv-$algo 2>/dev/null ||
		fail "a $algo manifest does not verify in vimg"
done
for d in ovf-sha256/*.vmdk; do
	qemu-img check -q "$d" || fail "qemu-img check $d"
done
expect_status 2 "$VIMG" convert --to ovf --manifest=md5 b/esx-efi ovf-md5

# OVF 2.0: the same sections under the 2.0 envelope, read back alike.
"$VIMG" convert --to ova --ovf-version=2.0 --output=json b/esx-efi ova2 >w1.json || fail "ovf 2.0"
tar xOf ova2/esx-efi.ova esx-efi.ovf | grep -q 'xmlns="http://schemas.dmtf.org/ovf/envelope/2"' ||
	fail "not an OVF 2.0 envelope"
"$VIMG" convert --to vmware --output=json ova2/esx-efi.ova back2 >w2.json || fail "from ovf 2.0"
"$VIMG" inspect --output=json b/esx-efi >a.json
"$VIMG" inspect --output=json back2 >c.json
same_model a.json c.json w1.json w2.json >/dev/null || fail "OVF 2.0 changed the model"
expect_status 2 "$VIMG" convert --to ova --ovf-version=3.0 b/esx-efi ova3

# virt-v2v reads the OVA as vimg wrote it.
for vm in ws-bios esx-efi; do
	"$VIMG" inspect --output=json b/$vm >src.json
	v2v_sees src.json ova ova-$vm/$vm.ova $vm
	case $? in
	0) ;;
	2) echo "virt-v2v or nbdkit absent: virt-v2v's reading not checked"; break ;;
	*) fail "virt-v2v $vm" ;;
	esac
done

# Unsafe and tampered OVAs: each refused with a reason, nothing written.
python3 - ova-ws-bios/ws-bios.ova <<'EOF' || fail "making the hostile OVAs"
import io, sys, tarfile
src = tarfile.open(sys.argv[1])
members = [(m, src.extractfile(m).read()) for m in src.getmembers()]
def write(name, edit):
    with tarfile.open(name, "w", format=tarfile.USTAR_FORMAT) as t:
        for m, data in members:
            for m2, d2 in edit(m, data):
                t.addfile(m2, io.BytesIO(d2) if d2 is not None else None)
def rename(new):
    def edit(m, data):
        if m.name.endswith(".vmdk"):
            m = tarfile.TarInfo.frombuf(m.tobuf(tarfile.USTAR_FORMAT), "utf-8", "strict")
            m.name = new
        yield m, data
    return edit
write("dotdot.ova", lambda m, d: [(m, d)] + ([(tarfile.TarInfo("../evil"), b"")] if m.name.endswith(".mf") else []))
write("absolute.ova", lambda m, d: [(m, d)] + ([(tarfile.TarInfo("/tmp/evil"), b"")] if m.name.endswith(".mf") else []))
def link(m, d):
    yield m, d
    if m.name.endswith(".mf"):
        l = tarfile.TarInfo("link.vmdk"); l.type = tarfile.SYMTYPE; l.linkname = "/etc/passwd"
        yield l, None
write("symlink.ova", link)
def tamper(m, d):
    if m.name.endswith(".vmdk") and not tamper.done:
        d = d[:-600] + bytes([d[-600] ^ 1]) + d[-599:]
        tamper.done = True
    yield m, d
tamper.done = False
write("badhash.ova", tamper)
def unlisted(m, d):
    if m.name.endswith(".mf"):
        d = b"".join(l + b"\n" for l in d.splitlines() if b".vmdk" not in l)
        m.size = len(d)
    yield m, d
write("unlisted.ova", unlisted)
def extra(m, d):
    yield m, d
    if m.name.endswith(".vmdk"):
        e = tarfile.TarInfo("stowaway.bin"); e.size = 4
        yield e, b"evil"
write("extra.ova", extra)
def dup(m, d):
    yield m, d
    if m.name.endswith(".vmdk"):
        yield m, d
write("duplicate.ova", dup)
EOF
for bad in dotdot:unsafe absolute:unsafe symlink:links badhash:SHA256 unlisted:"not listed" \
	extra:"not in the descriptor" duplicate:duplicate; do
	name=${bad%%:*}
	expect_status 1 "$VIMG" convert --to libvirt $name.ova out-$name
	grep -q "${bad#*:}" err || fail "$name.ova: $(cat err)"
	[ ! -e out-$name ] || fail "$name.ova: a failed conversion left out-$name: $(ls out-$name)"
done
[ ! -e /tmp/evil ] && [ ! -e "$TMPD/../evil" ] || fail "something was written outside"

# Real-world descriptors (VMware, vCenter, VirtualBox, virt-v2v's tests)
# read into the model: CPUs and memory always, disks where they have Items.
if c=$(corpus_dir) && [ -d "$c/ovf" ]; then
	n=0
	for x in "$c"/ovf/*/*.ovf; do
		case "$x" in */open-vmdk/*) continue ;; esac
		"$VIMG" inspect --output=json "$x" >o.json 2>err || fail "$x: $(cat err)"
		[ "$(json_get o.json "d['vm']['memory-mb'] > 0 and d['vm']['cpus'] > 0")" = True ] ||
			fail "$x: memory or CPUs"
		n=$((n + 1))
	done
	# What SOURCES.md and virt-v2v's oracles say of some of them.
	o="$c/ovf/govmomi"
	"$VIMG" inspect --output=json "$o/ttylinux-pc_i486-16.1.ovf" >o.json
	[ "$(json_get o.json "(d['vm']['name'], d['vm']['firmware'], d['vm']['memory-mb'], d['vm']['cpus'])")" = \
		"('ttylinux-pc_i486-16.1', 'efi', 32, 1)" ] || fail "ttylinux: $(cat o.json)"
	"$VIMG" inspect --output=json "$c/ovf/virt-v2v/test-i-ova-two-disks.ovf" >o.json
	[ "$(json_get o.json "len([x for x in d['vm']['devices'] if x['kind'] == 'disk'])")" = 2 ] ||
		fail "two-disks: disk count"
	[ "$(json_get o.json "[x['model'] for x in d['vm']['nics']]")" = "['e1000']" ] ||
		fail "two-disks: NIC"
	"$VIMG" inspect --output=json "$o/newVM-with-nvram.ovf" >o.json
	[ "$(json_get o.json "d['vm']['nvram']")" = newVM-with-nvram-2.nvram ] || fail "nvram File"
	"$VIMG" inspect --output=json "$o/multi-core-vm.ovf" >o.json
	[ "$(json_get o.json "d['vm']['cores-per-socket'] > 1")" = True ] || fail "cores per socket"
	echo "$n real-world descriptors read"
	# The manifest of a real package (sha1sum --tag syntax) is read.
	mkdir tty && cp "$o"/ttylinux-pc_i486-16.1.ovf "$o"/ttylinux-pc_i486-16.1.mf tty/
	expect_status 1 "$VIMG" convert --to libvirt tty/ttylinux-pc_i486-16.1.ovf tty-out
	grep -q 'ttylinux-pc_i486-16.1-disk1.vmdk' err || fail "ttylinux: $(cat err)"
else
	echo "corpus absent: real-world descriptors not read"
fi
echo "PASS: OVF and OVA"
