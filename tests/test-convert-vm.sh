#!/bin/sh
# vimg convert --to libvirt: each fixture VMware bundle becomes a libvirt
# domain that virt-xml-validate accepts, with the model carried over (name,
# UUID, memory, CPUs and topology, firmware with the OVMF code and the VM's
# own variable store, disks with the current state's contents as qemu-img
# compare sees them and clean under qemu-img check, MACs), every change
# reported as a warning (disks moved off pvscsi, vmxnet3 to e1000, what
# libvirt cannot hold), and the bundle untouched. The mapping table's
# libosinfo ids exist in Debian's osinfo-db.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"
requires python3 --version
tmpdir
make_bundles "$TMPD/b"
cd "$TMPD"

for vm in ws-bios esx-efi chain branch; do
	before=$(sums b/$vm)
	"$VIMG" convert --to libvirt --output=json b/$vm out-$vm >conv.json || fail "convert $vm"
	[ "$(json_get conv.json "d['converted']")" = True ] || fail "$vm: json"
	xml=out-$vm/$vm.xml
	[ -f "$xml" ] || fail "$vm: no $xml"
	if command -v virt-xml-validate >/dev/null 2>&1; then
		virt-xml-validate "$xml" domain >/dev/null || fail "$vm: virt-xml-validate"
	fi
	"$VIMG" inspect --output=json b/$vm >src.json
	python3 - src.json "$xml" conv.json <<'EOF' || fail "$vm: the domain differs from the model"
import json, sys, uuid
import xml.etree.ElementTree as ET
src = json.load(open(sys.argv[1]))["vm"]
dom = ET.parse(sys.argv[2]).getroot()
warn = [w["key"] + ": " + w["reason"] for w in json.load(open(sys.argv[3]))["warnings"]]
def check(cond, what):
    if not cond:
        sys.exit("%s\nwarnings:\n%s" % (what, "\n".join(warn)))
check(dom.get("type") == "kvm", "type")
check(dom.findtext("name") == src["name"], "name")
u = src["uuid.bios"].replace(" ", "").replace("-", "")
check(dom.findtext("uuid") == str(uuid.UUID(u)), "uuid")
mem = dom.find("memory")
check(mem.get("unit") == "KiB" and int(mem.text) == src["memory-mb"] * 1024, "memory")
check(int(dom.findtext("vcpu")) == src["cpus"], "vcpu")
topo = dom.find("cpu/topology")
if src["cores-per-socket"] > 1:
    check(topo is not None and int(topo.get("cores")) == src["cores-per-socket"], "cores")
loader = dom.find("os/loader")
if src["firmware"] == "efi":
    check(loader is not None and loader.get("type") == "pflash", "EFI loader")
    check((loader.get("secure") == "yes") == src["secure-boot"], "secure boot")
    check(loader.text.endswith("secboot.fd") == src["secure-boot"], "secure boot code")
    check(dom.find("os/nvram").text.endswith("_VARS.fd"), "nvram")
else:
    check(loader is None, "BIOS VM with a loader")
disks = [d for d in src["devices"] if d["kind"] == "disk" and d.get("file")]
got = dom.findall("devices/disk[@device='disk']")
check(len(got) == len(disks), "disk count")
for g in got:
    check(g.find("target").get("bus") == "sata", "bus")
    check(g.find("driver").get("type") == "qcow2", "disk format")
macs = [n["mac"] for n in src["nics"] if n.get("mac")]
check([i.find("mac").get("address") for i in dom.findall("devices/interface")] == macs, "MACs")
for i in dom.findall("devices/interface"):
    check(i.find("model").get("type") == "e1000", "NIC model")
for n in src["nics"]:
    if n.get("model") not in (None, "e1000"):
        check(any(w.startswith("ethernet%d: NIC model" % n["index"]) for w in warn), "NIC warning")
for c in src["controllers"]:
    if c["type"] == "scsi" and any(d["node"].startswith(c["id"] + ":") for d in disks):
        check(any(" moves to sata0:" in w for w in warn), "no warning for the moved disks")
EOF
	# Each disk holds what the current state shows.
	python3 - src.json "$xml" b/$vm <<'EOF' >pairs || fail "$vm: disk pairs"
import json, os, sys
import xml.etree.ElementTree as ET
src = json.load(open(sys.argv[1]))["vm"]
dom = ET.parse(sys.argv[2]).getroot()
disks = [d for d in src["devices"] if d["kind"] == "disk" and d.get("file")]
for d, g in zip(disks, dom.findall("devices/disk[@device='disk']")):
    print(os.path.join(sys.argv[3], d["file"]), g.find("source").get("file"))
EOF
	same_disks pairs "$vm"
	[ "$(sums b/$vm)" = "$before" ] || fail "$vm: converting changed the bundle"
done

# virt-v2v reads the domains as vimg wrote them, on SATA.
for vm in ws-bios esx-efi; do
	"$VIMG" inspect --output=json b/$vm >src.json
	v2v_sees src.json libvirtxml out-$vm/$vm.xml
	case $? in
	0) grep -q '\[sata\]' v2v.txt || fail "virt-v2v: $vm's disks are not on SATA" ;;
	2) echo "virt-v2v or nbdkit absent: virt-v2v's reading not checked"; break ;;
	*) fail "virt-v2v $vm" ;;
	esac
done

# The EFI VM's variables are in its OVMF store.
"$VIMG" nvram list --output=json b/esx-efi/esx-efi.nvram >src-nv.json
"$VIMG" nvram list --output=json out-esx-efi/esx-efi_VARS.fd >dst-nv.json
python3 - src-nv.json dst-nv.json <<'EOF' || fail "the OVMF store lacks the VM's variables"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
nv = lambda d: [(v["name"], v["guid"], v["sha256"]) for v in d["variables"] if v["attributes"] & 1]
if nv(a) != nv(b) or b["secure-boot"]["mode"] != "user":
    sys.exit("%s\n!=\n%s" % (nv(a), nv(b)))
EOF

# Options: virtio bus and NIC model, a new identity.
"$VIMG" convert --to libvirt --bus virtio --nic-model virtio --new-identity b/chain opt >/dev/null 2>&1 ||
	fail "convert with options"
grep -q "bus=\"virtio\"" opt/chain.xml || fail "--bus virtio"
grep -q "<model type=\"virtio\"/>" opt/chain.xml || fail "--nic-model"
! grep -q "$(python3 -c "
import uuid; print(uuid.UUID('564d2b6c1a7e31c49d0e775a11223344'))")" opt/chain.xml || fail "--new-identity kept the UUID"
command -v virt-xml-validate >/dev/null 2>&1 && { virt-xml-validate opt/chain.xml domain >/dev/null || fail "options: validate"; }

# Refusals: an unknown target, an output folder that is not empty.
expect_status 1 "$VIMG" convert --to parallels b/chain x
grep -q 'not supported' err || fail "unknown target: $(cat err)"
expect_status 1 "$VIMG" convert --to libvirt b/chain out-chain
grep -q 'not empty' err || fail "non-empty OUTDIR: $(cat err)"
expect_status 2 "$VIMG" convert --to libvirt --bus floppy b/chain y

# The libosinfo ids of the mapping table are osinfo-db's.
if [ -d /usr/share/osinfo/os ]; then
	for id in $(grep -o '"http://[^"]*"' "$VIMG_SRCDIR/libvimg/map-guestos.c" | tr -d '"' | sort -u); do
		grep -rqF "<os id=\"$id\">" /usr/share/osinfo/os || fail "osinfo-db has no $id"
	done
fi
# vimg-vm-mapping(7) lists every row of the guest OS table.
python3 - "$VIMG_SRCDIR/libvimg/map-guestos.c" "$VIMG_SRCDIR/man/vimg-vm-mapping.7" <<'PY' ||
import re, sys
rows = re.findall(r'\{\s*"([^"]+)",\s*"([^"]+)",\s*(\d+),\s*(?:"(?:http://)?([^"]*)"|NULL),\s*"([^"]+)"',
                  open(sys.argv[1]).read())
page = open(sys.argv[2]).read()
missing = [r[0] for r in rows
           if ".It %s Ta %s Ta %s Ta %s Ta %s" % (r[0], r[1], r[2], r[3] or "\\(em", r[4]) not in page]
if not rows or missing:
    sys.exit("vimg-vm-mapping.7 lacks %s" % (missing or "every row"))
PY
	fail "the mapping page and the table differ"
echo "PASS: VMware bundles to libvirt"
