#!/bin/sh
# vimg nvram and inspect of firmware-variable files: what the generator
# (fixtures/gen/nvram-gen.py) put into an EFI VM's and a BIOS VM's .nvram is
# listed back (sections, every variable, boot entries with efibootmgr's
# device-path text, Secure Boot state with certificate subjects); the
# real-world corpus reads as its origin says and its broken files are
# refused; hostile files fail within a second naming nvram and an offset;
# malformed values are rendered, not trusted; the export to OVMF is a
# function of its input, holds the non-volatile variables, equals Debian's
# empty OVMF_VARS_4M.fd when there are none, and keeps a template's layout.
# Nothing read is ever written.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"
requires python3 --version
tmpdir
cd "$TMPD"
python3 "$VIMG_SRCDIR/fixtures/gen/nvram-gen.py" gen || fail "nvram-gen.py"
sums=$(sha256sum gen/*.nvram)

# compare EXPECTED ACTUAL: the generator's facts against vimg's JSON.
compare() {
	python3 - "$1" "$2" <<'EOF' || fail "$2 differs from $1"
import json, sys
want, got = (json.load(open(p)) for p in sys.argv[1:3])
def check(cond, what):
    if not cond:
        sys.exit("mismatch: %s" % what)
check(got["format"] == want["format"], "format")
check([(s["name"], s["subname"], s["size"]) for s in got["sections"]] ==
      [(s["name"], s["subname"], s["size"]) for s in want["sections"]], "sections")
keys = ("name", "guid", "attributes", "size", "sha256")
check([{k: v[k] for k in keys} for v in got["variables"]] == want["variables"],
      "variables: %s" % [v["name"] for v in got["variables"]])
gb, wb = got["boot"], want["boot"]
for k in ("order", "timeout"):
    check(gb.get(k) == wb.get(k), "boot " + k)
check([{k: e[k] for k in ("name", "active", "description", "device-path")}
       for e in gb["entries"]] == wb["entries"], "boot entries: %s" % gb["entries"])
gs, ws = got["secure-boot"], want["secure-boot"]
check(gs.get("SecureBoot") == ws.get("SecureBoot") and gs["mode"] == ws["mode"], "mode")
for db in ("PK", "KEK", "db", "dbx"):
    check(gs[db]["set"] == ws[db]["set"], db + " set")
    entries = gs[db].get("entries", [])
    if "subjects" in ws[db]:
        check([e.get("subject") for e in entries] == ws[db]["subjects"], db + " subjects")
    if "hashes" in ws[db]:
        check([e.get("hash") for e in entries] == ws[db]["hashes"], db + " hashes")
EOF
}

# ---- what the generator wrote reads back ------------------------------------------
for f in efi bios; do
	"$VIMG" nvram list --output=json gen/$f.nvram >list.json || fail "nvram list $f"
	compare gen/$f.expected.json list.json
	"$VIMG" inspect --output=json gen/$f.nvram >inspect.json || fail "inspect $f"
	compare gen/$f.expected.json inspect.json
	"$VIMG" nvram list gen/$f.nvram >list.txt || fail "nvram list $f (text)"
done
"$VIMG" nvram list gen/efi.nvram >list.txt
grep -q 'subject: CN=vimg fixture PK' list.txt || fail "text: PK subject"
grep -q 'File(\\EFI\\debian\\shimx64.efi)' list.txt || fail "text: file path"

# ---- the corpus: vm-config's files ------------------------------------------------------
if c=$(corpus_dir) && [ -f "$c/nvram/vm-config/basic-1.nvram" ]; then
	v="$c/nvram/vm-config"
	"$VIMG" inspect --output=json "$v/basic-1.nvram" >basic.json || fail "basic-1"
	got=$(json_get basic.json "';'.join('%s/%s:%d' % (s['name'], s['subname'], s['size']) for s in d['sections'])")
	[ "$got" = "KEY1/SUB1:0;KEY2/SUB2:4;EFI_/NV:256" ] || fail "basic-1 sections: $got"
	got=$(json_get basic.json "';'.join('%s %s 0x%x %s' % (x['name'], x['guid'], x['attributes'], x['data']) for x in d['variables'])")
	want="PROP1 4ce8598d-d539-8043-b6cb-760ea666552e 0x42 560041004c00550045003100"
	want="$want;HELLOWORLD 311eef73-98c3-924c-b094-2a973fb1d3a8 0x51 570045004c0043004f004d004500"
	[ "$got" = "$want" ] || fail "basic-1 variables: $got"
	for i in 1 2 3 4; do
		expect_status 1 "$VIMG" nvram list "$v/fail-$i.nvram"
		grep -q "nvram: .*offset" err || fail "fail-$i: $(cat err)"
	done
else
	echo "corpus absent: vm-config's .nvram files not checked"
fi

# ---- hostile files: refused fast; odd values: rendered ----------------------------------
for f in gen/bad-*.nvram; do
	start=$(date +%s%N)
	expect_status 1 timeout 10 "$VIMG" inspect "$f"
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	grep -q "nvram: .*offset 0x" err || fail "$f: $(cat err)"
	limit=1000
	unsanitized || limit=5000
	[ "$ms" -lt "$limit" ] || fail "$f took $ms ms"
done
# Memory stays bounded: the largest hostile file (12 MB of a million
# sections) costs no more than the file itself and a little more.
if unsanitized && [ -x /usr/bin/time ]; then
	/usr/bin/time -f %M -o rss "$VIMG" inspect gen/bad-sections-million.nvram 2>/dev/null || true
	kib=$(tail -n 1 rss)
	[ "$kib" -lt 65536 ] || fail "a million sections took $kib KiB"
fi
"$VIMG" nvram list gen/odd-values.nvram >odd.txt || fail "odd values"
grep -q 'device path: <malformed at 0>' odd.txt || fail "looping device path"
grep -q 'malformed: description or device path past the end' odd.txt || fail "path past end"
grep -q 'subject: <not a valid certificate>' odd.txt || fail "bad certificate"
grep -q 'malformed: signature list runs past the end' odd.txt || fail "bad signature list"

# ---- export to OVMF -----------------------------------------------------------------------
"$VIMG" nvram export --to ovmf gen/efi.nvram a.fd 2>warn || fail "export"
grep -q 'warning: SecureBoot: volatile' warn || fail "volatile variable not reported: $(cat warn)"
"$VIMG" nvram export --to ovmf --output=json gen/efi.nvram b.fd >export.json || fail "export 2"
cmp a.fd b.fd || fail "two exports of one input differ"
[ "$(json_get export.json "d['warnings'][0]['key']")" = SecureBoot ] || fail "json warnings"
[ "$(stat -c %s a.fd)" = 540672 ] || fail "store size $(stat -c %s a.fd)"
"$VIMG" nvram list --output=json a.fd >a.json || fail "list the export"
python3 - gen/efi.expected.json a.json <<'EOF' || fail "exported variables differ"
import json, sys
want, got = (json.load(open(p)) for p in sys.argv[1:3])
nv = [(v["name"], v["guid"], v["attributes"], v["sha256"]) for v in want["variables"]
      if v["attributes"] & 1]
have = [(v["name"], v["guid"], v["attributes"], v["sha256"]) for v in got["variables"]]
if have != nv or got["format"] != "edk2":
    sys.exit("%s\n!=\n%s" % (have, nv))
EOF
"$VIMG" nvram export --to ovmf a.fd c.fd || fail "export an edk2 store"
cmp a.fd c.fd || fail "edk2 store to edk2 store is not the identity"
if [ -f /usr/share/OVMF/OVMF_VARS_4M.fd ]; then
	"$VIMG" nvram export --to ovmf gen/bios.nvram empty.fd || fail "export no variables"
	cmp empty.fd /usr/share/OVMF/OVMF_VARS_4M.fd || fail "empty store differs from Debian's"
fi
if [ -f /usr/share/OVMF/OVMF_VARS_4M.ms.fd ]; then
	t=/usr/share/OVMF/OVMF_VARS_4M.ms.fd
	"$VIMG" nvram export --to ovmf --template $t gen/efi.nvram t.fd || fail "template"
	[ "$(stat -c %s t.fd)" = "$(stat -c %s $t)" ] || fail "template size"
	"$VIMG" nvram list --output=json t.fd >t.json
	[ "$(json_get t.json "d['secure-boot']['PK']['entries'][0]['subject']")" = \
	  "CN=vimg fixture PK" ] || fail "template: PK not replaced"
	[ "$(json_get t.json "len([v for v in d['variables'] if v['name'] == 'certdb'])")" = 1 ] ||
		fail "template: its own variables lost"
fi
expect_status 2 "$VIMG" nvram export gen/efi.nvram x.fd
expect_status 2 "$VIMG" nvram frobnicate gen/efi.nvram
expect_status 1 "$VIMG" nvram export --to ovmf --template gen/efi.nvram gen/efi.nvram x.fd
grep -q 'edk2 store' err || fail "bad template: $(cat err)"

[ "$(sha256sum gen/*.nvram)" = "$sums" ] || fail "a read-only command wrote to its input"
echo "PASS: nvram"
