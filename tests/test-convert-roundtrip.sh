#!/bin/sh
# VMware -> libvirt -> VMware and VMware -> VirtualBox -> VMware: each
# fixture bundle comes back with its model unchanged (name, BIOS UUID, guest
# OS, firmware and Secure Boot, CPUs, cores, memory, disks and their
# contents, NICs and their MACs), except what the conversion reported: disk
# buses and NIC models it moved (each named in a warning), settings the
# middle hypervisor has no place for (VirtualBox: the CPU topology, Secure
# Boot), and the EFI variables, which VMware's .nvram cannot take yet (a
# warning too). The .vmx written afresh opens in vimg and in qemu-img's
# view of its disks; vimg inspect finds no problem in it. libvirt domain XML
# as libvirt writes it (the corpus) reads into the model.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"
requires python3 --version
tmpdir
make_bundles "$TMPD/b"
cd "$TMPD"

# target:extension of its configuration
for t in libvirt:xml virtualbox:vbox; do
hv=${t%%:*}
for vm in ws-bios esx-efi chain branch; do
	"$VIMG" convert --to $hv --output=json b/$vm $hv-$vm >w1.json || fail "$vm to $hv"
	rm -rf back-$vm
	"$VIMG" convert --to vmware --output=json $hv-$vm/$vm.${t#*:} back-$vm >w2.json ||
		fail "$vm back to VMware from $hv"
	"$VIMG" inspect --output=json b/$vm >a.json
	"$VIMG" inspect --output=json back-$vm >c.json || fail "$vm: inspect the result"
	python3 - a.json c.json w1.json w2.json <<'EOF' || fail "$vm: the model changed"
import json, sys
a, c = (json.load(open(p))["vm"] for p in sys.argv[1:3])
back = json.load(open(sys.argv[2]))
warn = [w["key"] + ": " + w["reason"] for p in sys.argv[3:5] for w in json.load(open(p))["warnings"]]
def check(cond, what):
    if not cond:
        sys.exit("%s\nwarnings:\n%s" % (what, "\n".join(warn)))
# What a hypervisor has no place for is named in a warning by the .vmx key.
lost = {"cores-per-socket": "cpuid.coresPerSocket", "secure-boot": "uefi.secureBoot.enabled"}
for k in ("name", "uuid.bios", "guest-os", "firmware", "secure-boot", "cpus",
          "cores-per-socket", "memory-mb"):
    check(a.get(k) == c.get(k) or any(w.startswith(lost.get(k, "?") + ": ") for w in warn),
          "%s: %r != %r" % (k, a.get(k), c.get(k)))
check(not back["problems"], "problems: %s" % back["problems"])
da = [d for d in a["devices"] if d["kind"] == "disk" and d.get("file")]
dc = [d for d in c["devices"] if d["kind"] == "disk" and d.get("file")]
check(len(da) == len(dc), "disk count")
for x, y in zip(da, dc):
    if x["node"].split(":")[0] != y["node"].split(":")[0]:
        check(any(w.startswith(x["node"] + ": moves to") for w in warn), "unreported move " + x["node"])
na, nc = a["nics"], c["nics"]
check([(n.get("mac"), n["mac-type"]) for n in na] == [(n.get("mac"), n["mac-type"]) for n in nc],
      "MACs: %s != %s" % ([n.get("mac") for n in na], [n.get("mac") for n in nc]))
for x, y in zip(na, nc):
    if x.get("model") != y.get("model"):
        check(any(w.startswith("ethernet%d: NIC model" % x["index"]) for w in warn),
              "unreported NIC model change")
if a["firmware"] == "efi":
    check(any(w.startswith("nvram: ") for w in warn), "the lost EFI variables are not reported")
EOF
	python3 - a.json c.json b/$vm back-$vm <<'EOF' >pairs
import json, os, sys
a, c = (json.load(open(p))["vm"] for p in sys.argv[1:3])
da = [d for d in a["devices"] if d["kind"] == "disk" and d.get("file")]
dc = [d for d in c["devices"] if d["kind"] == "disk" and d.get("file")]
for x, y in zip(da, dc):
    print(os.path.join(sys.argv[3], x["file"]), os.path.join(sys.argv[4], y["file"]))
EOF
	[ -s pairs ] || fail "$vm: no disks"
	while read -r from to; do
		qemu-img compare -q "$from" "$to" || fail "$vm: $to differs from $from"
	done <pairs
done
done

# Domains as libvirt writes them read into the model.
if c=$(corpus_dir) && [ -d "$c/libvirt" ]; then
	for x in "$c"/libvirt/*/*.xml; do
		"$VIMG" inspect --output=json --allow-escape "$x" >l.json 2>err ||
			fail "$x: $(cat err)"
		[ "$(json_get l.json "d['vm']['memory-mb'] > 0 and d['vm']['cpus'] > 0")" = True ] ||
			fail "$x: memory or CPUs"
	done
else
	echo "corpus absent: libvirt's own domains not read"
fi
echo "PASS: VMware -> libvirt / VirtualBox -> VMware"
