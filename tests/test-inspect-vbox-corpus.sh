#!/bin/sh
# .vbox files VirtualBox 7.2 and libvirt wrote (the corpus, shared/corpus
# SOURCES.md section 7) read into the model with the values their sources
# state: GOAD-DC01's UUID, name, current disk (a differencing child deep in
# the medium tree) and its two snapshots, each with the disk it left; the
# old innotek namespace of settings 1.12; an EFI machine. The disks are not
# in the corpus: with empty stand-ins made beside a copy, the conversion to
# VMware reports what it does not carry (the snapshots, the disk
# encryption's key properties).
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"
requires python3 --version
c=$(corpus_dir) && [ -d "$c/vbox" ] || skip "the corpus (VIMG_CORPUS) is absent"
tmpdir
cd "$TMPD"
d=$c/vbox/dissect-hypervisor
l=$c/vbox/libvirt-vboxsnapshotxmldata

"$VIMG" inspect --output=json "$d/GOAD-DC01.vbox" >goad.json || fail "GOAD-DC01.vbox"
python3 - goad.json <<'EOF' || fail "GOAD-DC01.vbox reads otherwise"
import json, sys
d = json.load(open(sys.argv[1]))
vm = d["vm"]
def check(cond, what):
    if not cond:
        sys.exit(what)
check(vm["name"] == "GOAD-DC01", "name")
check(vm["uuid.bios"] == "a6 27 79 50 3d 1b 45 d3-b2 fd dc 1f 38 50 27 e1", vm["uuid.bios"])
check(vm["guest-os"] == "windows9srv-64", "OSType Windows2016_64: " + str(vm.get("guest-os")))
check((vm["firmware"], vm["cpus"], vm["memory-mb"]) == ("bios", 2, 3000), "hardware")
disks = [(x["node"], x.get("file")) for x in vm["devices"] if x["kind"] == "disk"]
check(disks == [("ide0:0", "Snapshots/{e6800503-8273-4f16-b584-c7ba2c1df698}.vmdk")],
      "current disk %s" % disks)
check([(n["mac"], n["model"], n.get("connection")) for n in vm["nics"]] ==
      [("08:00:27:7a:a2:fc", "e1000", "nat"), ("08:00:27:8c:c8:21", "e1000", "hostonly")],
      "NICs %s" % vm["nics"])
s = d["snapshots"]
check([(x["name"], x.get("parent"), x["current"]) for x in s] ==
      [("push_1766163705_7292", None, False), ("push_1766170151_8843", s[0]["uid"], True)],
      "snapshot tree %s" % s)
check([x["disks"][0]["file"] for x in s] ==
      ["WindowsServer2019-disk001.vmdk",
       "Snapshots/{3c72ec80-dc73-4448-a63e-97970cdd87e5}.vmdk"], "snapshot disks")
EOF

"$VIMG" inspect --output=json "$d/encrypted.vbox" >enc.json || fail "encrypted.vbox"
[ "$(json_get enc.json "(d['vm']['name'], d['vm']['firmware'], d['vm']['guest-os'],
	[x.get('file') for x in d['vm']['devices']])")" = \
	"('encrypted test', 'efi', 'windows11-64', ['Snapshots/{742e6d0f-8896-4aa6-97f4-e05d70e73029}.vdi', None, 'encrypted test_1.vdi'])" ] ||
	fail "encrypted.vbox reads otherwise: $(cat enc.json)"

for f in "$l"/2disks-nosnap.vbox "$l"/2disks-1snap.vbox; do
	"$VIMG" inspect --output=json "$f" >lv.json || fail "$f"
	[ "$(json_get lv.json "(d['vm']['memory-mb'], len([x for x in d['vm']['devices']
		if x['kind'] == 'disk']), len(d['snapshots']), d['vm']['nics'][0]['mac'])")" = \
		"(192, 2, $(case $f in *nosnap*) echo 0 ;; *) echo 1 ;; esac), '08:00:27:2a:58:9d')" ] ||
		fail "$f reads otherwise: $(cat lv.json)"
done

# With stand-ins for the disks, converting says what it leaves behind.
mkdir -p goad/Snapshots enc/Snapshots
cp "$d/GOAD-DC01.vbox" goad/
qemu-img create -q -f vmdk "goad/Snapshots/{e6800503-8273-4f16-b584-c7ba2c1df698}.vmdk" 1M ||
	fail "stand-in disk"
"$VIMG" convert --to vmware --output=json goad/GOAD-DC01.vbox goad-vmx >w.json ||
	fail "GOAD-DC01 to VMware: $(cat w.json)"
grep -q '"2 snapshots are not carried' w.json || fail "the snapshots are not reported"
cp "$d/encrypted.vbox" enc/
qemu-img create -q -f vdi "enc/Snapshots/{742e6d0f-8896-4aa6-97f4-e05d70e73029}.vdi" 1M &&
	qemu-img create -q -f vdi "enc/encrypted test_1.vdi" 1M || fail "stand-in disks"
"$VIMG" convert --to vmware --output=json enc/encrypted.vbox enc-vmx >w.json ||
	fail "encrypted to VMware: $(cat w.json)"
grep -q 'vbox.MediaRegistry.Property' w.json || fail "the encryption is not reported: $(cat w.json)"
echo "PASS: VirtualBox's own .vbox files"
