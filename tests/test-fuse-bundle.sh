#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# vimgmount of a VMware VM (folder or .vmx): one folder per disk, each
# snapshot's disks under snapshots/NAME/, each equal to vimg convert -O raw
# of the file that state names; nvram/ holds each UEFI variable's data as
# vimg nvram list reports it; memory.raw (and a snapshot's) is the saved
# state's guest memory as vimg memdump writes it; vm.json is vimg inspect's
# model; it is read-only, options that would write are refused, and every
# file of the bundle is byte-identical afterwards.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"
. "$VIMG_SRCDIR/tests/fuse-functions.sh"
tmpdir
fuse_requires
make_bundles "$TMPD/b"
cd "$TMPD"

# views VM MNT: "LABEL NODE SHA256" from the mount, as vm_views gives them.
views() {
	python3 - "$2" <<'EOF'
import hashlib, os, sys
mnt = sys.argv[1]
def digest(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()
lines = []
for root, dirs, files in os.walk(mnt):
    if "disk" in files:
        rel = os.path.relpath(root, mnt).split(os.sep)
        node = rel[-1].replace("-", ":", 1)
        label = rel[1] if rel[0] == "snapshots" else "@current"
        lines.append("%s %s %s" % (label, node, digest(os.path.join(root, "disk"))))
print("\n".join(sorted(lines)))
EOF
}

for vm in chain branch esx-efi; do
	before=$(sums b/$vm)
	want=$(vm_views b/$vm)
	fuse_mount mnt b/$vm || { cat fuse-err >&2; fail "mount $vm"; }
	got=$(views b/$vm mnt)
	[ "$got" = "$want" ] || { echo "want:
$want
got:
$got" >&2; fail "$vm: a disk folder differs from vimg convert of its state"; }
	[ "$(json_get mnt/vm.json "d['vm']['name']")" = "$vm" ] || fail "$vm: vm.json"
	[ "$(json_get mnt/vm.json "len(d['problems'])")" = 0 ] || fail "$vm: vm.json problems"
	[ "$(json_get mnt/info.json "d['mode']")" = ro ] || fail "$vm: info.json mode"
	[ "$(stat -c %a mnt/scsi0-0/disk)" = 444 ] || fail "$vm: disk mode"
	if (echo x >mnt/scsi0-0/disk) 2>/dev/null; then fail "$vm: wrote to a disk"; fi
	fuse_umount mnt
	[ "$(sums b/$vm)" = "$before" ] || fail "$vm: the bundle changed"
done

# nvram/: every variable, NAME-GUID, its data.
fuse_mount mnt b/esx-efi/esx-efi.vmx || { cat fuse-err >&2; fail "mount by .vmx"; }
"$VIMG" nvram list --output=json b/esx-efi/esx-efi.nvram >nv.json
python3 - nv.json mnt/nvram <<'EOF' || fail "nvram/ differs from vimg nvram list"
import hashlib, json, os, sys
d = json.load(open(sys.argv[1]))
want = sorted("%s-%s %s" % (v["name"], v["guid"], v["sha256"]) for v in d["variables"])
got = sorted("%s %s" % (f, hashlib.sha256(open(os.path.join(sys.argv[2], f), "rb").read()).hexdigest())
             for f in os.listdir(sys.argv[2]))
if want != got or len(want) < 9:
    sys.exit("%s\n!=\n%s" % (want, got))
EOF
[ "$(ls mnt | tr '\n' ' ')" = "info.json nvram scsi0-0 scsi0-1 vm.json " ] ||
	fail "top level: $(ls mnt | tr '\n' ' ')"
fuse_umount mnt

mkdir -p mnt2
# A suspended VM with a snapshot that kept its memory in a .vmem: the
# generator's states (fixtures/gen/vmss-gen.py).
python3 "$VIMG_SRCDIR/fixtures/gen/vmss-gen.py" gen st >/dev/null || fail "vmss-gen.py"
cp -a b/chain s
cp st/embedded.vmss s/chain.vmss
cp st/split.vmsn s/chain-Snapshot2.vmsn
cp st/split.vmem s/chain-Snapshot2.vmem
"$VIMG" config s/chain.vmx --set checkpoint.vmState=chain.vmss >/dev/null
slot=$("$VIMG" config --output=json s/chain.vmsd | python3 -c '
import json, sys
d = json.load(sys.stdin)
print([k["key"].split(".")[0] for k in d["keys"]
       if k["key"].endswith(".displayName") and k["value"] == "two"][0])')
"$VIMG" config s/chain.vmsd --set "$slot.filename=chain-Snapshot2.vmsn" >/dev/null
"$VIMG" memdump s/chain.vmss now.raw >/dev/null || fail "memdump of the suspend state"
"$VIMG" memdump s/chain-Snapshot2.vmsn two.raw >/dev/null || fail "memdump of the snapshot state"
before=$(sums s)
fuse_mount mnt s || { cat fuse-err >&2; fail "mount the suspended VM"; }
cmp mnt/memory.raw now.raw || fail "memory.raw differs from vimg memdump"
[ "$(stat -c %s mnt/snapshots/two/memory.raw)" = "$(stat -c %s two.raw)" ] ||
	fail "snapshot memory.raw size"
# The snapshot's memory has a region at 4 GiB: compare the regions, and a
# page of each hole, not the 4 GiB.
python3 - st/split.json mnt/snapshots/two/memory.raw two.raw <<'PY' || fail "snapshot memory.raw"
import json, sys
m = json.load(open(sys.argv[1]))
a, b = open(sys.argv[2], "rb"), open(sys.argv[3], "rb")
def same(off, n):
    a.seek(off); b.seek(off)
    return a.read(n) == b.read(n)
for r in m["regions"]:
    if not same(r["gpa"], r["len"]):
        sys.exit("region at %#x differs" % r["gpa"])
for e in [r["gpa"] + r["len"] for r in m["regions"]]:
    if e < m["memory_size"] and not same(e, 4096):
        sys.exit("hole at %#x differs" % e)
PY
[ ! -e mnt/snapshots/one/memory.raw ] || fail "memory for a snapshot without a state"
[ "$(json_get mnt/vm.json "d['saved-state']['memory']['regions-count']")" = 3 ] ||
	fail "vm.json: saved state"
fuse_umount mnt
[ "$(sums s)" = "$before" ] || fail "the suspended VM's files changed"

# An OVA is mounted in place: its disks and nvram read inside the archive.
"$VIMG" convert --to ova b/esx-efi ova >/dev/null 2>&1 || fail "convert esx-efi to ova"
before=$(sha256sum ova/esx-efi.ova)
fuse_mount mnt ova/esx-efi.ova || { cat fuse-err >&2; fail "mount the OVA"; }
"$VIMG" convert -O raw b/esx-efi/esx-efi.vmdk ova-disk.raw || fail "source disk"
cmp mnt/scsi0-0/disk ova-disk.raw || fail "the OVA's disk reads otherwise through vimgmount"
[ -e mnt/nvram/BootOrder-8be4df61-93ca-11d2-aa0d-00e098032b8c ] || fail "the OVA's nvram"
fuse_umount mnt
[ "$(sha256sum ova/esx-efi.ova)" = "$before" ] || fail "mounting changed the OVA"

expect_status 1 "$VIMGMOUNT" -f --rw b/chain mnt2
grep -q 'is a VM: it is mounted read-only' err || fail "--rw on a bundle: $(cat err)"
echo "PASS: VM bundles through vimgmount"
