#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# VM imports of packages as their products write them, made by generators
# independent of vimg (fixtures/gen/ovf-gen.py: ovftool's and VirtualBox's
# OVAs, an OVF 2.0 folder, hostile packages; fixtures/gen/libvirt-gen.py: a
# libvirt 9 domain). Each reads as its expected.json describes (name,
# firmware, Secure Boot, CPUs, cores, memory, controllers, disks on their
# nodes, NIC models and MACs, nvram), converts to libvirt and to VMware with
# disks holding what the generator wrote, and is left unchanged, nothing
# extracted. Hostile packages are refused, or read without expanding an
# entity or reading a file outside, as hostile.expected.json says.
# virt-v2v, where installed, reads ovftool's and VirtualBox's OVAs as
# described too.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"
requires python3 --version
requires qemu-img --version
requires qemu-io --version
tmpdir
cd "$TMPD"
python3 "$VIMG_SRCDIR/fixtures/gen/ovf-gen.py" ovf >/dev/null || fail "ovf-gen.py"
python3 "$VIMG_SRCDIR/fixtures/gen/libvirt-gen.py" lv >/dev/null || fail "libvirt-gen.py"
before=$(sums ovf; sums lv)

# check_model JSON EXPECTED: inspect's model is the one described.
check_model() {
	python3 - "$1" "$2" <<'PY' || fail "$1: the model is not the description's"
import json, sys
j, want = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
d = j["vm"]
def check(cond, what):
    if not cond:
        sys.exit(what)
check(not j["problems"], "problems: %s" % j["problems"])
for k in ("name", "firmware", "secure-boot", "cpus", "cores-per-socket", "memory-mb", "nvram"):
    check(d.get(k) == want[k], "%s: %r, not %r" % (k, d.get(k), want[k]))
ctl = sorted(({"id": c["id"], "type": c["type"], "model": c.get("model")}
              for c in d["controllers"]), key=lambda c: c["id"])
check(ctl == sorted(want["controllers"], key=lambda c: c["id"]), "controllers: %s" % ctl)
got = [{k: x[k] for k in ("node", "kind", "file") if k in x} for x in d["devices"]]
exp = [{k: x[k] for k in ("node", "kind", "file") if k in x} for x in want["devices"]]
check(got == exp, "devices: %s, not %s" % (got, exp))
nics = [{"model": n["model"], "mac": n.get("mac"), "mac-type": n["mac-type"]} for n in d["nics"]]
check(nics == want["nics"], "nics: %s, not %s" % (nics, want["nics"]))
PY
}

# converted EXPECTED C.json WARN.json SRCDIR OUTDIR: the conversion keeps
# what the description says, except what a warning names; prints "SOURCE
# CONVERTED" for each disk, for qemu-img compare.
converted() {
	python3 - "$@" <<'PY'
import json, os, sys
want, c = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
ws = json.load(open(sys.argv[3]))["warnings"]
srcdir, outdir = sys.argv[4], sys.argv[5]
d = c["vm"]
def check(cond, what):
    if not cond:
        sys.exit("%s\nwarnings: %s" % (what, ws))
check(not c["problems"], "problems: %s" % c["problems"])
for k in ("name", "firmware", "cpus", "memory-mb"):
    check(d.get(k) == want[k], "%s: %r, not %r" % (k, d.get(k), want[k]))
check(d["secure-boot"] == want["secure-boot"] or any(w["key"] in ("SecureBoot", "secure-boot")
                                                     for w in ws), "secure boot")
# NICs keep their order and MACs; a model changes only with a warning.
check([n.get("mac") for n in d["nics"]] == [n["mac"] for n in want["nics"]],
      "MACs: %s" % [n.get("mac") for n in d["nics"]])
for i, (x, y) in enumerate(zip(want["nics"], d["nics"])):
    check(x["model"] == y["model"] or any(w["key"] == "ethernet%d" % i and "NIC model" in
                                          w["reason"] for w in ws), "NIC %d model" % i)
src = [x for x in want["devices"] if x["kind"] == "disk"]
out = [x for x in d["devices"] if x["kind"] == "disk" and x.get("file")]
check(len(src) == len(out), "%d disks, not %d" % (len(out), len(src)))
check(sum(x["kind"] == "cdrom" for x in d["devices"]) ==
      sum(x["kind"] == "cdrom" for x in want["devices"]), "CD-ROM drives")
for x, y in zip(src, out):
    print(os.path.join(srcdir, x["source"]), os.path.join(outdir, y["file"]))
PY
}

for vm in vmware:ovf/vmware.ova vmware-sha1:ovf/vmware-sha1.ova vbox:ovf/vbox.ova \
	ovf2:ovf/ovf2/gen-ovf2.ovf libvirt:lv/gen-libvirt.xml; do
	label=${vm%%:*}
	src=${vm#*:}
	exp=${src%%/*}/$label.expected.json
	name=$(json_get "$exp" "d['name']")
	"$VIMG" inspect --output=json "$src" >$label.json || fail "inspect $src"
	check_model $label.json "$exp"
	for to in libvirt vmware; do
		out=$label-$to
		"$VIMG" convert --to $to --output=json "$src" $out >$out.w.json ||
			fail "$src to $to"
		if [ $to = libvirt ]; then conf=$out/$name.xml; else conf=$out/$name.vmx; fi
		"$VIMG" inspect --output=json "$conf" >$out.json || fail "inspect $conf"
		converted "$exp" $out.json $out.w.json "${src%%/*}" "$out" >pairs ||
			fail "$src to $to: not the VM described"
		[ -s pairs ] || fail "$src to $to: no disks"
		while read -r from to_disk; do
			qemu-img compare -q "$from" "$to_disk" ||
				fail "$src to $to: $to_disk does not hold what $from holds"
		done <pairs
	done
	# The firmware variables come through unchanged, and the .vmx keys
	# vmw:ExtraConfig carries land in the .vmx.
	if [ "$(json_get "$exp" "d.get('nvram-source') or ''")" ]; then
		cmp "ovf/$(json_get "$exp" "d['nvram-source']")" $label-vmware/$name.nvram ||
			fail "$src: the nvram did not come through"
	fi
	json_get "$exp" "'\n'.join('%s = \"%s\"' % kv for kv in d.get('extra-config', {}).items())" \
		>extra.txt
	while read -r line; do
		[ -z "$line" ] || grep -qxF "$line" $label-vmware/$name.vmx ||
			fail "$src: $line is not in the .vmx"
	done <extra.txt
done
[ "$(sums ovf; sums lv)" = "$before" ] || fail "an import changed or extracted something"

# Hostile packages: each refused with its reason and nothing written, or
# read without expanding entities or reading what it must not.
python3 -c 'import json, sys
for v in json.load(open(sys.argv[1])):
    print(v["file"], v["verdict"], v.get("name", "-"), "|".join(v.get("not", [])) or "-",
          v.get("words", "-"))' ovf/hostile.expected.json >hostile.list
[ "$(wc -l <hostile.list)" -ge 7 ] || fail "too few hostile packages"
n=0
while read -r file verdict hname nots words; do
	n=$((n + 1))
	set +e
	timeout 30 "$VIMG" convert --to libvirt "ovf/hostile/$file" h$n >out 2>err
	rc=$?
	set -e
	case $verdict in
	refuse)
		[ $rc = 1 ] || fail "$file: exit $rc, not refused"
		grep -qF "$words" err || fail "$file: $(cat err)"
		[ ! -e h$n ] || [ -z "$(ls h$n)" ] || fail "$file: wrote $(ls h$n)"
		;;
	safe)
		[ $rc = 0 ] || fail "$file: exit $rc: $(cat err)"
		timeout 30 "$VIMG" inspect --output=json "ovf/hostile/$file" >h$n.json 2>>err ||
			fail "$file: inspect: $(cat err)"
		[ "$hname" = - ] || [ "$(json_get h$n.json "d['vm']['name']")" = "$hname" ] ||
			fail "$file: not read as $hname"
		for x in $(echo "$nots" | tr '|' ' '); do
			[ "$x" = - ] || ! grep -rq "$x" out err h$n.json h$n 2>/dev/null ||
				fail "$file: \"$x\" in what vimg read"
		done
		;;
	*) fail "$file: verdict $verdict" ;;
	esac
done <hostile.list
[ "$(sums ovf; sums lv)" = "$before" ] || fail "a hostile package was changed"

# virt-v2v reads ovftool's and VirtualBox's OVAs as described: the
# generators against an independent reader.
# VirtualBox writes no <Name>: virt-v2v names the VM after the file.
for x in vmware:gen-vmware vbox:vbox; do
	v2v_sees ovf/${x%:*}.expected.json ova ovf/${x%:*}.ova ${x#*:}
	case $? in
	0) ;;
	2) echo "virt-v2v or nbdkit absent: the generator not checked against virt-v2v"; break ;;
	*) fail "virt-v2v sees another VM in ${x%:*}.ova" ;;
	esac
done
echo "PASS: generated packages import as described"
