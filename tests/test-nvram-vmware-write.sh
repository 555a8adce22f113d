#!/bin/sh
# vimg nvram export --to vmware: the .nvram written holds every non-volatile
# variable of the generator's EFI .nvram and of Debian's OVMF stores (the
# Microsoft-keys one too), as vimg and an independent reader here (the
# layout VMware's files and vm-config's corpus file show: MRVN version 1,
# EFI_/NV of 256 KiB, VMWNVRAM with its size, packed entries, names with
# their terminator, 0xff after the store, the 40 bytes of an authenticated
# variable an EFI_VARIABLE_AUTHENTICATION_2 header with its timestamp) read
# it; ovmf -> vmware -> ovmf gives the bytes ovmf -> ovmf gives; two runs
# give the same bytes; a template keeps its sections byte for byte; no
# variables, empty data, and a variable that just fits are written, one byte
# more is an error naming it, with nothing written.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"
requires python3 --version
tmpdir
cd "$TMPD"
python3 "$VIMG_SRCDIR/fixtures/gen/nvram-gen.py" gen || fail "nvram-gen.py"
cat >nv.py <<'EOF'
import hashlib, json, struct, sys, uuid
PKCS7 = uuid.UUID("4aafd29d-68df-49ee-8aa9-347d375665a7").bytes_le
def store(entries):
    body = b"".join(uuid.UUID(g).bytes_le + struct.pack("<III", a, len(n) + len(d), len(n)) + n + d
                    for g, a, n, d in entries)
    return b"VMWNVRAM" + struct.pack("<II", 0, 16 + len(body)) + body
def container(sections):
    return b"MRVN\1\0\0\0" + b"".join(n + struct.pack("<I", len(d)) + d for n, d in sections)
def name(s):
    return s.encode("utf-16-le") + b"\0\0"
G = "3d5a9c1e-7b2f-4e8a-b6c4-0f1e2d3c4b5a"
def make(kind, out):
    if kind == "empty-data":
        e = [(G, 7, name("Empty"), b""), (G, 0x27, name("EmptyAuth"), bytes(40))]
    elif kind.startswith("huge-"):
        # Data that leaves the 256 KiB store exactly full, plus the extra bytes.
        n = name("Huge")
        e = [(G, 7, n, b"\x5a" * (0x40000 - 16 - 28 - len(n) + int(kind[5:])))]
    elif kind == "two-stores":
        e = [(G, 7, name("A"), b"a")]
    elif kind == "small":
        e = [(G, 7, name("Small"), b"tiny"),
             ("4ce8598d-d539-8043-b6cb-760ea666552e", 7, name("PROP1"), b"new value"),
             ("4ce8598d-d539-8043-b6cb-760ea666552e", 6, name("HELLOWORLD"), b"volatile")]
    s = store(e)
    secs = [(b"EFI_NV\0\0", s + b"\xff" * 16)]
    if kind == "two-stores":
        secs *= 2
    open(out, "wb").write(container(secs))
def read(path):
    b = open(path, "rb").read()
    assert b[:8] == b"MRVN\1\0\0\0", "container header"
    off, secs, vars = 8, [], []
    while off < len(b):
        n, l = b[off:off + 8], struct.unpack_from("<I", b, off + 8)[0]
        d = b[off + 12:off + 12 + l]
        assert len(d) == l, "section past the end"
        secs.append({"name": n.hex(), "size": l, "sha256": hashlib.sha256(d).hexdigest()})
        if n == b"EFI_NV\0\0":
            assert d[:12] == b"VMWNVRAM\0\0\0\0", "store header"
            size = struct.unpack_from("<I", d, 12)[0]
            assert set(d[size:]) <= {0xff}, "not erased after the store"
            p = 16
            while p < size:
                g = str(uuid.UUID(bytes_le=d[p:p + 16]))
                a, e, nl = struct.unpack_from("<III", d, p + 16)
                nm, data = d[p + 28:p + 28 + nl], d[p + 28 + nl:p + 28 + e]
                assert nm[-2:] == b"\0\0" and b"\0\0" not in nm[:-2:2], "name terminator"
                meta = ""
                if a & 0x20:
                    assert data[16:40] == struct.pack("<IHH", 24, 0x200, 0xef1) + PKCS7, "auth"
                    meta, data = data[:16].hex(), data[40:]
                vars.append({"name": nm[:-2].decode("utf-16-le"), "guid": g, "attributes": a,
                             "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                             "timestamp": meta})
                p += 28 + e
            assert p == size, "store size"
        off += 12 + l
    return {"sections": secs, "variables": vars}
if sys.argv[1] == "make":
    make(sys.argv[2], sys.argv[3])
elif sys.argv[1] == "read":
    json.dump(read(sys.argv[2]), open(sys.argv[3], "w"))
else:
    # same A B [template]: B's variables are A's non-volatile ones (after the
    # template's own that A has not), by vimg's list and by this reader.
    keys = ("name", "guid", "attributes", "size", "sha256")
    a, b = (json.load(open(p)) for p in sys.argv[2:4])
    t = json.load(open(sys.argv[4]))["variables"] if len(sys.argv) > 4 else []
    pick = lambda v: tuple(v[k] for k in keys)
    want = [pick(v) for v in t if (v["name"], v["guid"]) not in
            [(x["name"], x["guid"]) for x in a["variables"]]]
    want += [pick(v) for v in a["variables"] if v["attributes"] & 1]
    got = [pick(v) for v in b["variables"]]
    if got != want:
        sys.exit("%s\n!=\n%s" % (got, want))
EOF

# vimg's list and the reader above agree with the source on the variables.
exported() { # SRC OUT [TEMPLATE]
	"$VIMG" nvram list --output=json "$1" >src.json || fail "list $1"
	"$VIMG" nvram list --output=json "$2" >out.json || fail "list $2"
	python3 nv.py read "$2" own.json || fail "read $2"
	[ "$(json_get out.json "d['format']")" = vmware ] || fail "$2: not VMware's"
	_t=""
	[ -n "${3:-}" ] && { "$VIMG" nvram list --output=json "$3" >tmpl.json; _t=tmpl.json; }
	python3 nv.py same src.json out.json $_t || fail "$2: vimg's list differs from $1's"
	python3 nv.py same src.json own.json $_t || fail "$2: the layout read here differs"
}

# ---- the generator's EFI VM and Debian's OVMF stores ---------------------------------
"$VIMG" nvram export --to vmware gen/efi.nvram a.nvram 2>warn || fail "export"
grep -q 'warning: SecureBoot: volatile' warn || fail "volatile variable: $(cat warn)"
[ "$(stat -c %s a.nvram)" = 262164 ] || fail "size $(stat -c %s a.nvram)"
exported gen/efi.nvram a.nvram
[ "$(json_get own.json "[s['size'] for s in d['sections']]")" = "[262144]" ] || fail "sections"
"$VIMG" nvram list a.nvram | grep -q 'subject: CN=vimg fixture PK' || fail "PK subject"
"$VIMG" nvram export --to vmware --output=json gen/efi.nvram b.nvram >x.json || fail "export 2"
cmp a.nvram b.nvram || fail "two exports of one input differ"
[ "$(json_get x.json "d['format']")" = vmware ] || fail "json format"
"$VIMG" nvram export --to vmware a.nvram c.nvram 2>/dev/null || fail "export VMware's own"
cmp a.nvram c.nvram || fail "vmware -> vmware is not the identity"
for f in /usr/share/OVMF/OVMF_VARS_4M.ms.fd /usr/share/OVMF/OVMF_VARS_4M.fd; do
	[ -f $f ] || continue
	"$VIMG" nvram export --to vmware $f o.nvram 2>/dev/null || fail "export $f"
	exported $f o.nvram
	"$VIMG" nvram export --to ovmf o.nvram back.fd 2>/dev/null || fail "$f: back to ovmf"
	"$VIMG" nvram export --to ovmf $f direct.fd 2>/dev/null || fail "$f: to ovmf"
	cmp back.fd direct.fd || fail "$f: ovmf -> vmware -> ovmf differs from ovmf -> ovmf"
	"$VIMG" nvram list --output=json back.fd >back.json
	python3 nv.py same src.json back.json || fail "$f: variables after the round trip"
	case $f in *.ms.fd)
		ts="[v['name'] for v in d['variables'] if v['timestamp'].strip('0')]"
		[ "$(json_get own.json "$ts")" = "['db', 'dbx', 'KEK', 'PK']" ] ||
			fail "$f: the keys' timestamps are not kept"
		[ "$(json_get out.json "d['secure-boot']['mode']")" = user ] || fail "$f: SB mode"
		[ "$(json_get out.json "len(d['secure-boot']['db']['entries'])")" -ge 2 ] ||
			fail "$f: db entries"
	esac
done

# ---- templates ------------------------------------------------------------------------
python3 nv.py make small small.nvram
"$VIMG" nvram export --to vmware --template gen/bios.nvram gen/efi.nvram tb.nvram 2>/dev/null ||
	fail "template: a BIOS VM's"
exported gen/efi.nvram tb.nvram
python3 nv.py read gen/bios.nvram bios.json
[ "$(json_get own.json "d['sections'][:2]")" = "$(json_get bios.json "d['sections']")" ] ||
	fail "template: the BIOS VM's sections were not kept"
if c=$(corpus_dir) && [ -f "$c/nvram/vm-config/basic-1.nvram" ]; then
	t="$c/nvram/vm-config/basic-1.nvram"
	"$VIMG" nvram export --to vmware --template "$t" small.nvram tc.nvram || fail "basic-1"
	[ "$(stat -c %s tc.nvram)" = 304 ] || fail "template: size $(stat -c %s tc.nvram)"
	cmp -n 60 "$t" tc.nvram || fail "template: sections before the store changed"
	exported small.nvram tc.nvram "$t"
	# A volatile HELLOWORLD in the source is not written, so it replaces nothing.
	[ "$(json_get out.json "[v['name'] for v in d['variables']]")" = \
	  "['HELLOWORLD', 'Small', 'PROP1']" ] || fail "template: $(cat out.json)"
	[ "$(json_get out.json "d['variables'][2]['size']")" = 9 ] || fail "template: PROP1 kept"
	expect_status 1 "$VIMG" nvram export --to vmware --template "$t" gen/efi.nvram x.nvram
	grep -q 'nvram: EFI variable .* does not fit' err || fail "template too small: $(cat err)"
	[ ! -e x.nvram ] || fail "a failed export wrote its output"
else
	echo "corpus absent: vm-config's .nvram not used as a template"
fi
python3 nv.py make two-stores two.nvram
expect_status 1 "$VIMG" nvram export --to vmware --template two.nvram gen/efi.nvram x.nvram
grep -q 'EFI_/NV sections at offsets 0x8 and 0x' err || fail "two stores: $(cat err)"
expect_status 1 "$VIMG" nvram export --to vmware --template missing.nvram gen/efi.nvram x.nvram
if [ -f /usr/share/OVMF/OVMF_VARS_4M.fd ]; then
	t=/usr/share/OVMF/OVMF_VARS_4M.fd
	expect_status 1 "$VIMG" nvram export --to vmware --template $t gen/efi.nvram x.nvram
	grep -q 'no "MRVN" magic' err || fail "edk2 template: $(cat err)"
fi

# ---- edges: nothing, empty data, the store's limit ------------------------------------------
"$VIMG" nvram export --to vmware gen/bios.nvram none.nvram || fail "no variables"
exported gen/bios.nvram none.nvram
[ "$(json_get own.json "len(d['variables'])")" = 0 ] || fail "no variables: some written"
python3 nv.py make empty-data e.nvram
"$VIMG" nvram export --to vmware e.nvram e2.nvram || fail "empty data"
exported e.nvram e2.nvram
[ "$(json_get own.json "[v['size'] for v in d['variables']]")" = "[0, 0]" ] || fail "empty data"
python3 nv.py make huge-0 h0.nvram
python3 nv.py make huge-1 h1.nvram
"$VIMG" nvram export --to vmware h0.nvram h0-out.nvram || fail "a variable that just fits"
exported h0.nvram h0-out.nvram
expect_status 1 "$VIMG" nvram export --to vmware h1.nvram h1-out.nvram
grep -q 'nvram: EFI variable Huge (262091 bytes of data) does not fit: 262128 bytes' err ||
	fail "too large: $(cat err)"
[ ! -e h1-out.nvram ] || fail "a failed export wrote its output"
echo "PASS: nvram export --to vmware"
