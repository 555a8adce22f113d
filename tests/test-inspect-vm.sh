#!/bin/sh
# vimg inspect: the fixture bundles show their model, chains and file roles
# with no problem; damage is reported (missing files, a broken delta chain
# naming the link and the CID mismatch, an absent snapshot disk, a lock, a
# mistyped key); malformed configurations fail fast with a clear error; it
# never writes. The model agrees with virt-v2v's view of real .vmx files.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"
tmpdir
make_bundles "$TMPD/fix"
cd "$TMPD"
cp -a fix b

inspect() { # inspect VM: JSON into i.json
	"$VIMG" inspect --output=json "$1" >i.json || fail "inspect $1"
}
problems() {
	json_get i.json "'\n'.join(p['where'] + ': ' + p['what'] for p in d['problems'])"
}

# ---- the fixtures ----------------------------------------------------------------
for vm in ws-bios esx-efi chain branch; do
	sums=$(cd b/$vm && sha256sum * | sha256sum)
	inspect b/$vm
	[ -z "$(problems)" ] || fail "$vm: $(problems)"
	"$VIMG" inspect b/$vm >text || fail "inspect $vm (text)"
	grep -q '^0 problems found' text || fail "$vm: text summary"
	[ "$(cd b/$vm && sha256sum * | sha256sum)" = "$sums" ] || fail "inspect wrote to $vm"
done
inspect b/esx-efi
[ "$(json_get i.json "d['vm']['firmware']")" = efi ] || fail firmware
[ "$(json_get i.json "d['vm']['secure-boot']")" = True ] || fail secure-boot
[ "$(json_get i.json "[c['model'] for c in d['vm']['controllers'] if c['id'] == 'scsi0'][0]")" = pvscsi ] ||
	fail controller
[ "$(json_get i.json "d['vm']['devices'][1]['mode']")" = independent-persistent ] || fail mode
[ "$(json_get i.json "d['vm']['nics'][0]['mac-type']")" = static ] || fail mac-type
[ "$(json_get i.json "{f['name']: f['role'] for f in d['files']}['esx-efi_1-flat.vmdk']")" = extent ] ||
	fail "flat extent role"
inspect b/chain
[ "$(json_get i.json "len(d['snapshots'])")" = 3 ] || fail "snapshot count"
[ "$(json_get i.json "len(d['vm']['devices'][0]['chain'])")" = 4 ] || fail "chain length"
roles=$(json_get i.json "' '.join(sorted(set(f['role'] for f in d['files'])))")
[ "$roles" = "config delta disk nvram snapshot tree" ] || fail "roles: $roles"

# ---- damage is reported -----------------------------------------------------------
rm b/branch/branch-000001.vmdk
inspect b/branch
problems | grep -q 'snapshot "two" disk scsi0:0: file "branch-000001.vmdk" is missing' ||
	fail "absent snapshot disk: $(problems)"
# A delta whose parentCID no longer matches its parent.
python3 - b/chain/chain-000002.vmdk <<'PY'
import re, sys
p = sys.argv[1]
b = open(p, 'rb').read()
m = re.search(rb'parentCID=([0-9a-f]+)', b)
new = b'%0*x' % (len(m.group(1)), int(m.group(1), 16) ^ 1)
open(p, 'r+b').write(b[:m.start(1)] + new + b[m.end(1):])
PY
inspect b/chain
problems | grep -q 'scsi0:0: broken delta chain: .*parentCID .* does not match' ||
	fail "broken chain: $(problems)"
rm b/ws-bios/ws-bios.nvram
mkdir b/ws-bios/ws-bios.vmx.lck
printf 'memsise = "1024"\nscsi0:0.fileNmae = "x.vmdk"\n' >>b/ws-bios/ws-bios.vmx
inspect b/ws-bios
for want in 'nvram: file "ws-bios.nvram" is missing' 'ws-bios.vmx.lck: lock exists' \
	'memsise: unknown key; did you mean "memsize"' \
	'scsi0:0.fileNmae: unknown key; did you mean "scsi#:#.fileName"'; do
	problems | grep -qF "$want" || fail "missing problem '$want': $(problems)"
done

# ---- malformed configurations: a clear error, fast ---------------------------------
mkdir bad
cp -a fix/branch bad/cycle
sed -i 's/^snapshot0.uid = "1"/snapshot0.uid = "1"\nsnapshot0.parent = "3"/' bad/cycle/branch.vmsd
expect_status 1 timeout 5 "$VIMG" inspect bad/cycle
grep -q 'vmsd: snapshot .*parents form a cycle' err || fail "cycle: $(cat err)"
printf '.encoding = "KOI8-R"\n' >bad/enc.vmx
expect_status 1 timeout 5 "$VIMG" inspect bad/enc.vmx
grep -q 'unsupported encoding "KOI8-R"' err || fail "encoding: $(cat err)"
python3 -c 'import sys; sys.stdout.write("a = \"" + "x" * (17 << 20) + "\"\n")' >bad/big.vmx
expect_status 1 timeout 5 "$VIMG" inspect bad/big.vmx
grep -q 'larger than' err || fail "big file: $(cat err)"
python3 -c 'import sys; sys.stdout.write("".join("k%d = \"v\"\n" % i for i in range(1000001)))' >bad/keys.vmx
start=$(date +%s%N)
expect_status 1 timeout 5 "$VIMG" inspect bad/keys.vmx
grep -q 'more than 1000000 lines' err || fail "a million keys: $(cat err)"
[ $(( ($(date +%s%N) - start) / 1000000 )) -lt 1000 ] || fail "a million keys took over a second"
printf 'snapshot9999999.uid = "1"\n' >bad/slot.vmsd
cp fix/branch/branch.vmx bad/slot.vmx
expect_status 1 timeout 5 "$VIMG" inspect bad/slot.vmx
grep -q 'more than 4096 snapshots' err || fail "slot bound: $(cat err)"

# ---- real configurations agree with virt-v2v's reading ------------------------------
corpus=$(corpus_dir 2>/dev/null || true)
if [ -n "$corpus" ] && [ -d "$corpus/vmx/virt-v2v" ]; then
	for x in "$corpus"/vmx/virt-v2v/*.vmx; do
		inspect "$x"
		python3 - i.json "${x%.vmx}.expected" <<'PY' || fail "$x disagrees with virt-v2v"
import json, re, sys
d = json.load(open(sys.argv[1]))['vm']
exp = open(sys.argv[2]).read()
def field(name):
    m = re.search(r'^\s*' + re.escape(name) + r': ?(.*)$', exp, re.M)
    return m.group(1).strip() if m else None
assert d['name'] == field('source name'), (d['name'], field('source name'))
assert d['memory-mb'] * 1048576 == int(field('memory').split()[0])
assert d['cpus'] == int(field('nr vCPUs'))
fw = {'uefi': 'efi', 'bios': 'bios'}.get(field('firmware'), 'bios')
assert d['firmware'] == fw, (d['firmware'], field('firmware'))
disks = re.findall(r'^\t\d+ \[(\w+)\]', exp, re.M)
mine = [x['node'].rstrip('0123456789:') for x in d['devices'] if x['kind'] == 'disk']
assert len(disks) == len(mine), (disks, mine)
macs = re.findall(r'mac: ([0-9a-f:]{17})', exp)
assert sorted(macs) == sorted(n['mac'] for n in d['nics'] if n.get('mac')), macs
PY
	done
else
	echo "note: no corpus, virt-v2v comparison skipped"
fi
echo PASS
