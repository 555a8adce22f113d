#!/bin/sh
# qcow2 internal snapshots made by vimg are listed and applied by qemu-img,
# and the reverse; deleting any of three keeps the others' views; names and
# ids are looked up as qemu-img does; qemu-img check and vimg check stay
# clean after every step, with compressed clusters and with 512-byte and
# 2 MiB clusters too.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"
requires qemu-img --version
requires qemu-io --version
tmpdir
cd "$TMPD"

clean() { # clean IMAGE: both checkers find nothing
	qemu-img check -q "$1" || fail "qemu-img check $1: $(qemu-img check "$1" 2>&1)"
	"$VIMG" check -q "$1" || fail "vimg check $1"
}
view() { # view IMAGE [SNAPSHOT]: sha256 of what it reads
	if [ $# -gt 1 ]; then
		qemu-img convert -l "snapshot.name=$2" -O raw "$1" v.raw
	else
		qemu-img convert -O raw "$1" v.raw
	fi
	sha256sum <v.raw | cut -c1-64
}
w() { # w IMAGE BYTE MIB
	qemu-io -c "write -P 0x$2 ${3}M 1M" "$1" >/dev/null
}

for opts in cluster_size=65536 cluster_size=512 cluster_size=2M compat=0.10; do
	rm -f a.qcow2
	qemu-img create -q -f qcow2 -o "$opts" a.qcow2 16M
	w a.qcow2 11 0
	"$VIMG" snapshot -c s1 a.qcow2 || fail "$opts: create s1"
	clean a.qcow2
	v1=$(view a.qcow2)
	w a.qcow2 22 0
	w a.qcow2 33 5
	"$VIMG" snapshot -c s2 a.qcow2 || fail "$opts: create s2"
	v2=$(view a.qcow2)
	w a.qcow2 44 9
	"$VIMG" snapshot -c s3 a.qcow2 || fail "$opts: create s3"
	v3=$(view a.qcow2)
	w a.qcow2 55 1
	cur=$(view a.qcow2)
	clean a.qcow2
	# qemu-img sees what vimg made.
	qemu-img snapshot -l a.qcow2 >list
	for s in s1 s2 s3; do grep -q " $s " list || fail "$opts: qemu-img does not list $s"; done
	[ "$(view a.qcow2 s1)" = "$v1" ] || fail "$opts: s1 view"
	[ "$(view a.qcow2 s2)" = "$v2" ] || fail "$opts: s2 view"
	# Delete the middle one: the others and the current state are intact.
	"$VIMG" snapshot -d s2 a.qcow2 || fail "$opts: delete s2"
	clean a.qcow2
	[ "$(view a.qcow2 s1)" = "$v1" ] || fail "$opts: s1 after deleting s2"
	[ "$(view a.qcow2 s3)" = "$v3" ] || fail "$opts: s3 after deleting s2"
	[ "$(view a.qcow2)" = "$cur" ] || fail "$opts: current after deleting s2"
	# qemu-img applies vimg's snapshot; vimg applies and deletes it back.
	cp a.qcow2 b.qcow2
	qemu-img snapshot -a s1 b.qcow2 || fail "$opts: qemu-img -a s1"
	[ "$(view b.qcow2)" = "$v1" ] || fail "$opts: qemu-img applied s1 wrong"
	"$VIMG" snapshot -a s3 a.qcow2 || fail "$opts: vimg -a s3"
	clean a.qcow2
	[ "$(view a.qcow2)" = "$v3" ] || fail "$opts: vimg applied s3 wrong"
	# Writing after an apply leaves the snapshot alone.
	w a.qcow2 66 3
	clean a.qcow2
	[ "$(view a.qcow2 s3)" = "$v3" ] || fail "$opts: s3 changed by a write"
	"$VIMG" snapshot -d s1 a.qcow2 && "$VIMG" snapshot -d s3 a.qcow2 || fail "$opts: delete"
	clean a.qcow2
	[ -z "$(qemu-img snapshot -l a.qcow2)" ] || fail "$opts: snapshots left"
done

# ---- the reverse: qemu-img's snapshots in vimg ------------------------------------
rm -f q.qcow2
qemu-img create -q -f qcow2 q.qcow2 16M
w q.qcow2 aa 2
qemu-img snapshot -c q1 q.qcow2
q1=$(view q.qcow2)
w q.qcow2 bb 2
qemu-img snapshot -c q2 q.qcow2
w q.qcow2 cc 4
"$VIMG" snapshot -l q.qcow2 >list
grep -q ' q1 ' list && grep -q ' q2 ' list || fail "vimg does not list qemu's snapshots"
"$VIMG" snapshot -a q1 q.qcow2 || fail "vimg -a q1"
clean q.qcow2
[ "$(view q.qcow2)" = "$q1" ] || fail "vimg applied qemu's q1 wrong"
"$VIMG" snapshot -d q2 q.qcow2 || fail "vimg -d q2"
clean q.qcow2
qemu-img snapshot -l q.qcow2 | grep -q ' q1 ' || fail "qemu-img lost q1"
qemu-img snapshot -l q.qcow2 | grep -q ' q2 ' && fail "q2 still listed"

# ---- compressed clusters are shared and released right --------------------------
qemu-img create -q -f raw r.raw 8M
qemu-io -f raw -c 'write -P 0x5a 0 4M' r.raw >/dev/null
qemu-img convert -c -O qcow2 r.raw c.qcow2
"$VIMG" snapshot -c base c.qcow2 || fail "snapshot of a compressed image"
w c.qcow2 77 1
clean c.qcow2
[ "$(view c.qcow2 base)" = "$(qemu-img convert -O raw r.raw v.raw; sha256sum <v.raw | cut -c1-64)" ] ||
	fail "compressed snapshot view"
"$VIMG" snapshot -d base c.qcow2 || fail "delete base"
clean c.qcow2

# ---- names and ids as qemu-img treats them ---------------------------------------
ids() { qemu-img snapshot -l "$1" | awk '$1 ~ /^[0-9]+$/ { print $1, $2, $NF }'; }
qemu-img create -q -f qcow2 n.qcow2 16M
w n.qcow2 11 0
"$VIMG" snapshot -c 2 n.qcow2 || fail "create \"2\""
w n.qcow2 22 0
# A name may repeat (qemu-img snapshot -c takes it too); each gets a new id.
"$VIMG" snapshot -c x n.qcow2 && "$VIMG" snapshot -c x n.qcow2 || fail "create x twice"
w n.qcow2 33 0
# id, tag and icount as qemu-img snapshot -c records them
[ "$(ids n.qcow2 | tr '\n' ,)" = "1 2 0,2 x 0,3 x 0," ] || fail "ids: $(ids n.qcow2)"
clean n.qcow2
# -a tries ids first, -d names first (qemu-img -d knows names only).
for op in -a -d; do
	cp n.qcow2 mine.qcow2 && cp n.qcow2 theirs.qcow2
	"$VIMG" snapshot $op 2 mine.qcow2 && qemu-img snapshot $op 2 theirs.qcow2 || fail "$op 2"
	[ "$(ids mine.qcow2)" = "$(ids theirs.qcow2)" ] || fail "$op 2: $(ids mine.qcow2)"
	[ "$(view mine.qcow2)" = "$(view theirs.qcow2)" ] || fail "$op 2: content"
	clean mine.qcow2
done
cp n.qcow2 theirs.qcow2
"$VIMG" snapshot -d x n.qcow2 && qemu-img snapshot -d x theirs.qcow2 || fail "-d x"
[ "$(ids n.qcow2)" = "$(ids theirs.qcow2)" ] || fail "-d x took another: $(ids n.qcow2)"

# ---- errors -----------------------------------------------------------------------
expect_status 1 "$VIMG" snapshot -a nonesuch q.qcow2
grep -q 'qcow2: snapshot "nonesuch" not found' err || fail "unknown: $(cat err)"
expect_status 1 "$VIMG" snapshot -d nonesuch q.qcow2
grep -q 'qcow2: snapshot "nonesuch" not found' err || fail "unknown -d: $(cat err)"
expect_status 1 "$VIMG" snapshot -c '' q.qcow2
cp q.qcow2 ro.qcow2
chmod 0444 ro.qcow2
if [ "$(id -u)" != 0 ]; then
	expect_status 1 "$VIMG" snapshot -c x ro.qcow2
fi
qemu-img create -q -f raw plain.img 1M
expect_status 1 "$VIMG" snapshot -c x -f raw plain.img
grep -q 'not supported' err || fail "raw: $(cat err)"
expect_status 2 "$VIMG" snapshot -c a -d b q.qcow2
echo PASS
