#!/bin/sh
# vimg convert --to hyperv and --to azure. Hyper-V: VHDX disks holding the
# current state (qemu-img compare, qemu-img check) and a PowerShell script
# making the VM with New-VM: generation 1 with its boot disk on IDE for a
# BIOS VM, generation 2 on SCSI with Secure Boot for the EFI one, memory,
# processors and static MACs from the model. Azure: fixed VHDs of whole MiB
# that qemu reads as vpc, a script (valid sh) uploading them and creating
# the VM with the right generation, and warnings for what Azure decides
# itself. PowerShell and the az CLI are not run here: their input is
# checked line by line.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"
requires python3 --version
tmpdir
make_bundles "$TMPD/b"
cd "$TMPD"

for vm in ws-bios esx-efi; do
	"$VIMG" inspect --output=json b/$vm >src.json
	"$VIMG" convert --to hyperv --output=json b/$vm hv-$vm >hv.json || fail "$vm to hyperv"
	"$VIMG" convert --to azure --output=json b/$vm az-$vm >az.json || fail "$vm to azure"
	python3 - src.json hv-$vm/$vm.ps1 az-$vm/$vm.azure.sh hv.json az.json <<'PY' ||
import json, re, sys
src = json.load(open(sys.argv[1]))["vm"]
ps, az = open(sys.argv[2]).read(), open(sys.argv[3]).read()
warn = [w["key"] + ": " + w["reason"] for p in sys.argv[4:6] for w in json.load(open(p))["warnings"]]
def check(cond, what):
    if not cond:
        sys.exit(what)
efi = src["firmware"] == "efi"
check(re.search(r"New-VM -Name '%s' -Generation %d -MemoryStartupBytes %dMB" %
                (src["name"], 2 if efi else 1, src["memory-mb"]), ps), "New-VM line")
check("Set-VMProcessor -VM $vm -Count %d" % src["cpus"] in ps, "processors")
disks = [d for d in src["devices"] if d["kind"] == "disk" and d.get("file")]
hd = re.findall(r"Add-VMHardDiskDrive -VM \$vm -ControllerType (\w+) .*'([^']+\.vhdx)'", ps)
check(len(hd) == len(disks), "disks %s" % hd)
check(hd[0][0] == ("SCSI" if efi else "IDE"), "boot disk controller")
if efi:
    check(("-EnableSecureBoot On" in ps) == src["secure-boot"], "secure boot")
for n in src["nics"]:
    check("-StaticMacAddress '%s'" % n["mac"].replace(":", "").upper() in ps, "MAC " + n["mac"])
check("generation=%s" % ("V2" if efi else "V1") in az, "Azure generation")
check(re.search(r"upload \"\$name-os\" '%s\.vhd'" % src["name"], az), "OS disk upload")
check(any(w.startswith("ethernet: Azure assigns") for w in warn), "MAC warning")
check(any(w.startswith("nvram: hyperv") for w in warn) or not efi, "nvram warning")
PY
		fail "$vm: the scripts differ from the model"
	sh -n az-$vm/$vm.azure.sh || fail "$vm: the Azure script is not valid sh"
	for d in hv-$vm/*.vhdx; do
		peer_check "$d"
	done
	for d in az-$vm/*.vhd; do
		[ $(( ($(stat -c %s "$d") - 512) % 1048576 )) = 0 ] || fail "$d: not whole MiB"
	done
	# The disks hold the current state.
	python3 - src.json b/$vm hv-$vm az-$vm <<'PY' >pairs
import json, os, sys
src = json.load(open(sys.argv[1]))["vm"]
disks = [d for d in src["devices"] if d["kind"] == "disk" and d.get("file")]
for k, d in enumerate(disks):
    base = src["name"] + ("_%d" % k if k else "")
    print(os.path.join(sys.argv[2], d["file"]), os.path.join(sys.argv[3], base + ".vhdx"),
          os.path.join(sys.argv[4], base + ".vhd"))
PY
	[ -s pairs ] || fail "$vm: no disks"
	while read -r from vhdx vhd; do
		qemu-img compare -q "$from" "$vhdx" || fail "$vhdx differs from $from"
		qemu-img compare -q -F vpc "$from" "$vhd" || fail "$vhd differs from $from"
		qemu-img info -f vpc --output=json "$vhd" | grep -q '"format": "vpc"' ||
			fail "$vhd: qemu does not read it as a VHD"
	done <pairs
done
echo "PASS: VMware bundles to Hyper-V and Azure"
