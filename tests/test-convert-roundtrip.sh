#!/bin/sh
# VMware -> libvirt -> VMware and VMware -> VirtualBox -> VMware: each
# fixture bundle comes back with its model unchanged (name, BIOS UUID, guest
# OS, firmware and Secure Boot, CPUs, cores, memory, disks and their
# contents, NICs and their MACs), except what the conversion reported: disk
# buses and NIC models it moved (each named in a warning), settings the
# middle hypervisor has no place for (VirtualBox: the CPU topology, Secure
# Boot, the EFI variables: a warning too). Through libvirt the EFI VM's
# non-volatile variables come back (name, GUID, SHA-256 of the data) in the
# .nvram written from the OVMF store. The .vmx written afresh opens in vimg
# and in qemu-img's
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
	same_model a.json c.json w1.json w2.json >pairs || fail "$vm: the model changed"
	if [ "$(json_get a.json "d['vm']['firmware']")" = efi ] && [ $hv = virtualbox ]; then
		grep -q '"key": *"nvram"' w1.json w2.json ||
			fail "$vm: the lost EFI variables are not reported"
	elif [ "$(json_get a.json "d['vm']['firmware']")" = efi ]; then
		! grep -q '"key": *"nvram"' w1.json w2.json || fail "$vm: $(cat w1.json w2.json)"
		[ "$(json_get c.json "d['vm']['nvram']")" = $vm.nvram ] || fail "$vm: no nvram"
		src_nv=$(json_get a.json "d['vm']['nvram']")
		"$VIMG" nvram list --output=json "b/$vm/$src_nv" >nv1.json
		"$VIMG" nvram list --output=json back-$vm/$vm.nvram >nv2.json ||
			fail "$vm: the .nvram written does not read"
		python3 - nv1.json nv2.json <<'EOF' || fail "$vm: the variables did not come back"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
nv = lambda d: [(v["name"], v["guid"], v["sha256"]) for v in d["variables"] if v["attributes"] & 1]
if not nv(a) or nv(a) != nv(b) or b["format"] != "vmware":
    sys.exit("%s\n!=\n%s" % (nv(a), nv(b)))
EOF
	fi
	while read -r from to; do
		qemu-img compare -q "b/$vm/$from" "back-$vm/$to" || fail "$vm: $to differs from $from"
	done <pairs
	[ -s pairs ] || fail "$vm: no disks"
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
