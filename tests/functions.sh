# SPDX-License-Identifier: LGPL-2.1-or-later
# Shared helpers for the shell tests (tests/test-<cmd>-<aspect>.sh), sourced
# with ". "$VIMG_SRCDIR/tests/functions.sh"" (or relative to the test).
# The test environment (tests/local.mk) exports $VIMG (the built cli/vimg),
# $VIMG_FIXTURES, $VIMG_SRCDIR and $VIMG_BUILDDIR. Exit 77 means "skipped"
# to automake's harness; every skip prints its reason.

set -e
set -u

: "${VIMG:?VIMG is not set: run through make check}"
: "${VIMG_SRCDIR:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${VIMG_FIXTURES:=$VIMG_SRCDIR/fixtures}"

# Commands to run on exit, newest first (cleanup_fn adds one).
_cleanup_cmds=""

_run_cleanups() {
	_rc=$?
	set +e
	eval "$_cleanup_cmds"
	exit $_rc
}
trap _run_cleanups EXIT
trap 'exit 130' INT TERM

# cleanup_fn CMD [ARGS...]: run CMD when the test exits, however it exits.
cleanup_fn() {
	_q=""
	for _a in "$@"; do
		_q="$_q '$(printf '%s' "$_a" | sed "s/'/'\\\\''/g")'"
	done
	_cleanup_cmds="$_q; $_cleanup_cmds"
}

# fail MSG: print "FAIL: MSG" and exit 1.
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# skip MSG: print "SKIP: MSG" and exit 77.
skip() {
	echo "SKIP: $*"
	exit 77
}

# requires CMD [ARGS...]: run it quietly; skip the test when it fails.
requires() {
	if ! "$@" >/dev/null 2>&1; then
		skip "$1 not available"
	fi
}

# unsanitized: true unless this is a sanitizer build (scripts/test.sh exports
# VIMG_SANITIZED=1 for its ASan/UBSan run); memory measurements use it.
unsanitized() {
	[ -z "${VIMG_SANITIZED:-}" ]
}

# tmpdir: make a temporary directory, removed at exit, and set $TMPD to it.
# (Not "d=$(tmpdir)": the trap would fire when the subshell ends.)
tmpdir() {
	TMPD=$(mktemp -d "${TMPDIR:-/tmp}/vimg-test.XXXXXX")
	cleanup_fn rm -rf "$TMPD"
}

# same_disks FILE WHAT: each line of FILE names a disk and its conversion;
# qemu-img must see the same contents, and the conversion pass its check.
same_disks() {
	[ -s "$1" ] || fail "$2: no disk to compare"
	while read -r _from _to; do
		qemu-img compare -q "$_from" "$_to" || fail "$2: $_to differs from $_from"
		peer_check "$_to"
	done <"$1"
}

# sums DIR: the SHA-256 of every file below DIR, sorted: compare it before and
# after a command to see that the folder was left untouched.
sums() { (cd "$1" && find . -type f -exec sha256sum {} + | sort); }

# sha256_unchanged FILE CMD [ARGS...]: run CMD (its status is ignored) and fail
# if FILE's SHA-256 or size changed.
sha256_unchanged() {
	_f=$1
	shift
	_before=$(sha256sum <"$_f")
	"$@" >/dev/null 2>&1 || true
	_after=$(sha256sum <"$_f")
	[ "$_before" = "$_after" ] || fail "$* modified $_f"
}

# peer_check IMAGE: qemu-img check must report no errors and no leaks.
peer_check() {
	if ! _out=$(qemu-img check "$1" 2>&1); then
		echo "$_out" >&2
		fail "qemu-img check $1"
	fi
}

# json_get FILE EXPR: print a value from a JSON file, EXPR applied to "d"
# (a python expression, e.g. "d['virtual-size']").
json_get() {
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# expect_status N CMD [ARGS...]: run CMD, fail unless it exits with status N.
# Its stdout and stderr are kept in $TMPD/out and $TMPD/err when tmpdir ran.
expect_status() {
	_want=$1
	shift
	_o=${TMPD:-/tmp}/out
	_e=${TMPD:-/tmp}/err
	set +e
	"$@" >"$_o" 2>"$_e"
	_got=$?
	set -e
	if [ "$_got" != "$_want" ]; then
		echo "--- stdout:" >&2
		cat "$_o" >&2
		echo "--- stderr:" >&2
		cat "$_e" >&2
		fail "$* exited $_got, expected $_want"
	fi
}

# filter_volatile: replace paths under $TMPD and timestamps in text output,
# for comparison with golden .out files.
filter_volatile() {
	sed -e "s|${TMPD:-/nonexistent}|TEST_DIR|g" \
	    -e 's/[0-9]\{4\}-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]/DATE/g'
}

# write_pattern FILE OFFSET_MIB LEN_MIB SEED: write LEN_MIB MiB of
# deterministic, incompressible-ish data at OFFSET_MIB into FILE (no truncation).
write_pattern() {
	python3 - "$@" <<'EOF'
import hashlib, sys
path, off, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
with open(path, 'r+b') as f:
    f.seek(off << 20)
    for i in range(n):
        block = b''.join(hashlib.sha256(f'{seed}:{i}:{k}'.encode()).digest()
                         for k in range(1 << 15))
        f.write(block)
EOF
}

# make_bundles DIR: build the VMware fixture bundles (fixtures/make-bundles.sh)
# in DIR; skips without qemu-img and qemu-io.
make_bundles() {
	requires qemu-img --version
	requires qemu-io --version
	sh "$VIMG_SRCDIR/fixtures/make-bundles.sh" "$1" || fail "make-bundles.sh"
}

# same_model A.json C.json WARN.json...: the VM of inspect output C is the
# VM of A (name, UUID, guest OS, firmware, Secure Boot, CPUs, cores, memory,
# disk count, MACs) except where a conversion's JSON WARN.json named the
# change (a key's own warning, a disk's "moves to", a NIC's "NIC model"),
# and C has no problem. Prints the disk pairs "A-file C-file", for
# qemu-img compare, relative to A's and C's folders.
same_model() {
	python3 - "$@" <<'EOF2'
import json, sys
a, c = (json.load(open(p))["vm"] for p in sys.argv[1:3])
back = json.load(open(sys.argv[2]))
ws = [w for p in sys.argv[3:] for w in json.load(open(p))["warnings"]]
warn = [w["key"] + ": " + w["reason"] for w in ws]
def check(cond, what):
    if not cond:
        sys.exit("%s\nwarnings:\n%s" % (what, "\n".join(warn)))
# What a hypervisor has no place for is named in a warning by the .vmx key.
alias = {"guest-os": "guestOS", "memory-mb": "memsize", "cpus": "numvcpus",
         "cores-per-socket": "cpuid.coresPerSocket", "secure-boot": "uefi.secureBoot.enabled"}
for k in ("name", "uuid.bios", "guest-os", "firmware", "secure-boot", "cpus",
          "cores-per-socket", "memory-mb"):
    check(a.get(k) == c.get(k) or any(w["key"] in (k, alias.get(k)) for w in ws),
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
      "MACs: %s != %s" % ([(n.get("mac"), n["mac-type"]) for n in na],
                          [(n.get("mac"), n["mac-type"]) for n in nc]))
for x, y in zip(na, nc):
    if x.get("model") != y.get("model"):
        check(any(w.startswith("ethernet%d: NIC model" % x["index"]) for w in warn),
              "unreported NIC model change")
for x, y in zip(da, dc):
    print(x["file"], y["file"])
EOF2
}

# v2v_sees JSON MODE INPUT [NAME]: virt-v2v -i MODE INPUT --print-source
# (no appliance needed; its output left in $TMPD/v2v.txt) shows the VM of
# JSON (inspect's output, or a generator's expected.json): its name (NAME,
# when given), memory, vCPUs, firmware, disk count and MACs. Returns 2 when
# virt-v2v or nbdkit is absent.
v2v_sees() {
	command -v virt-v2v >/dev/null 2>&1 && command -v nbdkit >/dev/null 2>&1 || return 2
	LIBGUESTFS_BACKEND=direct timeout 120 virt-v2v -i "$2" "$3" --print-source \
		>"$TMPD/v2v.txt" 2>&1 || { cat "$TMPD/v2v.txt" >&2; return 1; }
	python3 - "$1" "$TMPD/v2v.txt" ${4:+"$4"} <<'EOF2' || { cat "$TMPD/v2v.txt" >&2; return 1; }
import json, re, sys
src = json.load(open(sys.argv[1]))
src = src.get("vm", src)
t = open(sys.argv[2]).read()
def field(name):
    m = re.search(r"^\s*%s: (.*)$" % name, t, re.M)
    return m.group(1).strip() if m else None
def check(cond, what):
    if not cond:
        sys.exit("virt-v2v sees another VM: " + what)
if len(sys.argv) > 3:
    check(field("source name") == sys.argv[3], "name " + str(field("source name")))
check(field("memory") == "%d (bytes)" % (src["memory-mb"] << 20), "memory " + str(field("memory")))
check(field("nr vCPUs") == str(src["cpus"]), "vCPUs")
# A domain without a loader is BIOS to libvirt; virt-v2v calls it unknown.
check(field("firmware") in (("uefi",) if src["firmware"] == "efi" else ("bios", "unknown")),
      "firmware")
disks = [d for d in src["devices"] if d["kind"] == "disk" and d.get("file")]
got = re.findall(r"^\s*\d+ \[\w+\]$", t.split("removable media:")[0], re.M)
check(len(got) == len(disks), "disks: %d" % len(got))
macs = [n["mac"] for n in src["nics"] if n.get("mac")]
check(re.findall(r"mac: (\S+)", t) == macs, "MACs")
EOF2
}

# vm_views VM: one line "LABEL NODE SHA256" for each disk of each snapshot
# (LABEL its name) and of the current state (LABEL "@current"), sorted: what
# each view reads, as `vimg convert -O raw` gives it.
vm_views() {
	python3 - "$VIMG" "$1" <<'EOF2'
import hashlib, json, os, subprocess, sys, tempfile
vimg, vm = sys.argv[1], sys.argv[2]
d = json.loads(subprocess.run([vimg, 'snapshot', '-l', '--output=json', vm],
                              check=True, capture_output=True, text=True).stdout)
folder = os.path.dirname(d['vm'])
def view(f):
    with tempfile.TemporaryDirectory() as t:
        out = os.path.join(t, 'v.raw')
        subprocess.run([vimg, 'convert', '-O', 'raw', os.path.join(folder, f), out], check=True)
        return hashlib.sha256(open(out, 'rb').read()).hexdigest()
lines = [f"{s['name']} {k['node']} {view(k['file'])}" for s in d['snapshots'] for k in s['disks']]
lines += [f"@current {k['node']} {view(k['file'])}" for k in d['disks']]
print('\n'.join(sorted(lines)))
EOF2
}

# corpus_dir: print the shared real-world corpus folder ($VIMG_CORPUS, set by
# tests/local.mk), or fail when it is absent (callers skip with 77 or go on).
corpus_dir() {
	[ -n "${VIMG_CORPUS:-}" ] && [ -d "$VIMG_CORPUS" ] || return 1
	printf '%s\n' "$VIMG_CORPUS"
}

# hyperv_vm_check JSON GEN NAME MEMORY_MB DISK: inspect's JSON shows the
# corpus's Hyper-V VM: generation GEN's firmware (2: EFI with Secure Boot),
# NAME, MEMORY_MB and one processor, its one disk on IDE (1) or SCSI (2)
# with a file name ending in DISK, a DVD drive on generation 1, one NIC.
hyperv_vm_check() {
	python3 - "$@" <<'EOF2' || fail "$1: not the VM Hyper-V's configuration describes"
import json, sys
d = json.load(open(sys.argv[1]))["vm"]
gen, name, mem, disk = int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
def check(cond, what):
    if not cond:
        sys.exit("%s: %s" % (what, d))
check(d["name"] == name, "name")
check(d["firmware"] == ("efi" if gen == 2 else "bios"), "firmware")
check(d["secure-boot"] == (gen == 2), "secure boot")
check(d["memory-mb"] == mem and d["cpus"] == 1, "memory and processors")
disks = [x for x in d["devices"] if x["kind"] == "disk"]
check(len(disks) == 1 and disks[0]["node"] == ("scsi0:0" if gen == 2 else "ide0:0"), "disk")
check(disks[0]["file"].endswith(disk), "disk file")
check(gen == 2 or any(x["kind"] == "cdrom" for x in d["devices"]), "DVD drive")
check(len(d["nics"]) == 1, "NIC")
EOF2
}
