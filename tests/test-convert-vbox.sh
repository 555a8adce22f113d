#!/bin/sh
# vimg convert --to virtualbox: each fixture VMware bundle becomes a .vbox in
# VirtualBox 7's settings format with the model carried over (machine UUID
# from uuid.bios, name, OSType, CPUs, memory, EFI firmware, MACs in
# VirtualBox's 12-digit form, adapter types, controllers), VDI disks holding
# the current state (qemu-img compare and check), each registered under the
# UUID its own header carries (read here from the file, offset 0x188, not
# through vimg), attachments naming registered media only, and what
# VirtualBox cannot hold reported. With -O vmdk the registry names each
# VMDK's ddb.uuid.image. The bundle is left untouched.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"
requires python3 --version
tmpdir
make_bundles "$TMPD/b"
cd "$TMPD"

for vm in ws-bios esx-efi chain branch; do
	before=$(sums b/$vm)
	"$VIMG" convert --to virtualbox --output=json b/$vm vb-$vm >conv.json ||
		fail "convert $vm: $(cat conv.json)"
	[ "$(json_get conv.json "d['converted']")" = True ] || fail "$vm: json"
	[ -f vb-$vm/$vm.vbox ] || fail "$vm: no vb-$vm/$vm.vbox"
	"$VIMG" inspect --output=json b/$vm >src.json
	python3 - src.json vb-$vm/$vm.vbox conv.json b/$vm <<'EOF' >pairs || fail "$vm: the .vbox differs from the model"
import json, os, sys, uuid
import xml.etree.ElementTree as ET
src = json.load(open(sys.argv[1]))["vm"]
root = ET.parse(sys.argv[2]).getroot()
warn = [w["key"] + ": " + w["reason"] for w in json.load(open(sys.argv[3]))["warnings"]]
NS = "{http://www.virtualbox.org/}"
def check(cond, what):
    if not cond:
        sys.exit("%s\nwarnings:\n%s" % (what, "\n".join(warn)))
def find(e, path):
    return e.find("/".join(NS + p for p in path.split("/")))
def findall(e, path):
    return e.findall("/".join(NS + p for p in path.split("/")))
check(root.tag == NS + "VirtualBox" and root.get("version") == "1.19-linux", "root")
m = find(root, "Machine")
u = src["uuid.bios"].replace(" ", "").replace("-", "")
check(m.get("uuid") == "{%s}" % uuid.UUID(u), "machine uuid " + m.get("uuid"))
check(m.get("name") == src["name"], "name")
ostype = {"ubuntu-64": "Ubuntu_64", "rhel9-64": "RedHat9_64", "other-64": "Other_64"}
check(m.get("OSType") == ostype[src["guest-os"]], "OSType " + m.get("OSType"))
hw = find(m, "Hardware")
check(int(find(hw, "CPU").get("count")) == src["cpus"], "CPU count")
check(int(find(hw, "Memory").get("RAMSize")) == src["memory-mb"], "RAMSize")
fw = find(hw, "Firmware")
check((fw is not None and fw.get("type") == "EFI") == (src["firmware"] == "efi"), "firmware")
if src["firmware"] == "efi":
    check(any(w.startswith("nvram: ") for w in warn), "the EFI variables' loss is not reported")
if src["cores-per-socket"] > 1:
    check(any(w.startswith("cpuid.coresPerSocket: ") for w in warn), "topology not reported")
ad = findall(hw, "Network/Adapter")
check(len(ad) == len(src["nics"]), "adapter count")
types = {"e1000": "82540EM", "e1000e": "82545EM", "vmxnet3": "virtio", "vlance": "Am79C973"}
for a, n in zip(ad, src["nics"]):
    check(a.get("MACAddress") == n["mac"].replace(":", "").upper(), "MAC " + a.get("MACAddress"))
    check(a.get("type") == types[n["model"]], "adapter type " + a.get("type"))
    if n["model"] == "vmxnet3":
        check(any(w.startswith("ethernet%d: NIC model" % n["index"]) for w in warn), "NIC warning")
reg = {h.get("uuid"): h for h in findall(m, "MediaRegistry/HardDisks/HardDisk")}
disks = [d for d in src["devices"] if d["kind"] == "disk" and d.get("file")]
check(len(reg) == len(disks), "registry size %d" % len(reg))
att = [a for a in findall(hw, "StorageControllers/StorageController/AttachedDevice")
       if a.get("type") == "HardDisk"]
check(len(att) == len(disks), "attached disks")
for a, d in zip(att, disks):
    h = reg.get(find(a, "Image").get("uuid"))
    check(h is not None, "an attachment names no registered medium")
    check(h.get("format") == "VDI" and not os.path.isabs(h.get("location")), "location")
    path = os.path.join(os.path.dirname(sys.argv[2]), h.get("location"))
    with open(path, "rb") as f:
        head = f.read(0x198)
    check(head[0x40:0x44] == b"\x7f\x10\xda\xbe", "not a VDI: " + path)
    check(h.get("uuid") == "{%s}" % uuid.UUID(bytes_le=head[0x188:0x198]),
          "registry %s, VDI header %s" % (h.get("uuid"), uuid.UUID(bytes_le=head[0x188:0x198])))
    check((h.get("type") == "Writethrough") == (d.get("mode") == "independent-persistent"),
          "medium type")
    print(os.path.join(sys.argv[4], d["file"]), path)
for c in findall(hw, "StorageControllers/StorageController"):
    check(c.get("type") in ("AHCI", "PIIX4", "LsiLogic", "LsiLogicSas", "BusLogic", "NVMe",
                            "VirtioSCSI"), "controller type " + c.get("type"))
EOF
	same_disks pairs "$vm"
	[ "$(sums b/$vm)" = "$before" ] || fail "$vm: converting changed the bundle"
done

# -O vmdk: the registry names the UUID VirtualBox finds in each descriptor.
"$VIMG" convert --to virtualbox -O vmdk b/chain vmdk-chain >/dev/null 2>&1 || fail "-O vmdk"
python3 - vmdk-chain/chain.vbox <<'EOF' || fail "-O vmdk: the UUIDs differ from ddb.uuid.image"
import os, re, sys
import xml.etree.ElementTree as ET
NS = "{http://www.virtualbox.org/}"
disks = ET.parse(sys.argv[1]).getroot().findall(
    "%sMachine/%sMediaRegistry/%sHardDisks/%sHardDisk" % (NS, NS, NS, NS))
if len(disks) != 2:
    sys.exit("%d disks" % len(disks))
for h in disks:
    head = open(os.path.join(os.path.dirname(sys.argv[1]), h.get("location")), "rb").read(65536)
    m = re.search(rb'ddb\.uuid\.image = "([0-9a-f-]{36})"', head)
    if h.get("format") != "VMDK" or not m or h.get("uuid") != "{%s}" % m.group(1).decode():
        sys.exit("%s: %s" % (h.get("location"), m and m.group(1)))
EOF
qemu-img compare -q b/chain/chain-000003.vmdk vmdk-chain/chain.vmdk || fail "-O vmdk: contents"

# A .vbox vimg wrote reads back into the same model (the whole round trip
# through VMware is in test-convert-roundtrip.sh).
"$VIMG" inspect --output=json vb-esx-efi/esx-efi.vbox >back.json || fail "inspect the .vbox"
[ "$(json_get back.json "(d['vm']['firmware'], d['vm']['cpus'], len(d['problems']))")" = \
	"('efi', 2, 0)" ] || fail "the .vbox reads back otherwise: $(cat back.json)"
# Bad files get one clear error naming the format: not XML, another root,
# media nested past the bound, entities that would expand to 100 MB.
printf '<VirtualBox xmlns="http://www.virtualbox.org/" version="1.19"><Machine' >bad.vbox
expect_status 1 "$VIMG" inspect bad.vbox
grep -q 'vbox: .*bad.vbox is not well-formed XML' err || fail "truncated: $(cat err)"
printf '<VirtualBox xmlns="urn:other" version="1.19"><Machine name="x"/></VirtualBox>\n' >bad.vbox
expect_status 1 "$VIMG" inspect bad.vbox
python3 - <<'EOF2'
n = 230
open("deep.vbox", "w").write(
    '<VirtualBox xmlns="http://www.virtualbox.org/" version="1.19-linux">'
    '<Machine uuid="{00000000-0000-4000-8000-000000000001}" name="d" OSType="Other">'
    '<MediaRegistry><HardDisks>' +
    ''.join('<HardDisk uuid="{00000000-0000-4000-8000-%012d}" location="d%d.vdi" format="VDI">'
            % (i, i) for i in range(n)) + '</HardDisk>' * n +
    '</HardDisks></MediaRegistry><Hardware><Memory RAMSize="64"/></Hardware></Machine>'
    '</VirtualBox>\n')
ents, prev = '<!ENTITY a "aaaaaaaaaa">', "a"
for e in "bcdefgh":  # &h; would be 10^8 characters
    ents, prev = ents + '<!ENTITY %s "%s">' % (e, ("&%s;" % prev) * 10), e
open("ent.vbox", "w").write(
    '<?xml version="1.0"?><!DOCTYPE VirtualBox [' + ents + ']>'
    '<VirtualBox xmlns="http://www.virtualbox.org/" version="1.19-linux">'
    '<Machine uuid="{00000000-0000-4000-8000-000000000001}" name="x" OSType="Other">'
    '<Description>&h;</Description><Hardware><Memory RAMSize="64"/></Hardware></Machine>'
    '</VirtualBox>\n')
EOF2
expect_status 1 "$VIMG" inspect deep.vbox
grep -q 'vbox: <MediaRegistry>: differencing images nest deeper than 200' err ||
	fail "deep media tree: $(cat err)"
expect_status 1 "$VIMG" inspect ent.vbox
grep -q 'vbox: .*ent.vbox is not well-formed XML' err || fail "entity expansion: $(cat err)"
echo "PASS: VMware bundles to VirtualBox"
