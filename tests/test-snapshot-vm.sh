#!/bin/sh
# VMware snapshots on a bundle: create, revert, delete (first, middle, last,
# one with two children, a leaf) and consolidate leave every other
# snapshot's view and the current state reading the same (checked by reading
# every view before and after), the chains pass qemu-img, the files a
# merge frees are gone, and a VM that looks running is refused.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"
tmpdir
make_bundles "$TMPD/fix"
cd "$TMPD"

fresh() { # fresh NAME: a new copy of fixture NAME in ./NAME
	rm -rf "$1"
	cp -a "fix/$1" "$1"
}
chains_ok() { # chains_ok DIR: every disk passes qemu-img check and opens its chain
	for f in "$1"/*.vmdk; do
		case "$f" in *-flat.vmdk) continue ;; esac
		qemu-img check -q "$f" >/dev/null 2>&1 || fail "qemu-img check $f"
		qemu-img info --backing-chain "$f" >/dev/null 2>&1 || fail "chain of $f"
	done
}
# expect_views BEFORE AFTER DROPPED: AFTER equals BEFORE without snapshot DROPPED.
expect_views() {
	grep -v "^$3 " "$1" >"$1.want" || true
	cmp -s "$1.want" "$2" || { diff "$1.want" "$2" >&2; fail "views changed ($3)"; }
}

# ---- delete: first, middle and last of a chain over two disks -----------------
for s in one two three; do
	fresh chain
	vm_views chain >before
	n=$(ls chain/*.vmdk | wc -l)
	"$VIMG" snapshot -d "$s" chain || fail "delete $s"
	vm_views chain >after
	expect_views before after "$s"
	chains_ok chain
	[ "$(ls chain/*.vmdk | wc -l)" = $((n - 2)) ] || fail "delete $s left $(ls chain)"
	"$VIMG" snapshot -l chain | grep -q " $s (uid" && fail "$s still listed"
done

# ---- delete with two children, and a leaf, on the branch ---------------------
for s in one two; do
	fresh branch
	vm_views branch >before
	"$VIMG" snapshot -d "$s" branch || fail "delete $s"
	vm_views branch >after
	expect_views before after "$s"
	chains_ok branch
	[ "$(ls branch/*.vmdk | wc -l)" = 3 ] || fail "delete $s left $(ls branch)"
	# Deleting the root moves its two children up: they are roots now.
	"$VIMG" snapshot -l --output=json branch >tree.json
	roots=$(json_get tree.json "len([s for s in d['snapshots'] if 'parent' not in s])")
	[ "$s" != one ] || [ "$roots" = 2 ] || fail "children of a deleted root: $roots roots"
done

# ---- create, then revert to it and to an older one ---------------------------
fresh chain
vm_views chain >before
"$VIMG" snapshot -c four --description "made by vimg" chain || fail "create"
vm_views chain >after
cur=$(grep '^@current' before | sed 's/^@current/four/')
{ cat before; echo "$cur"; } | sort >want
cmp -s want after || { diff want after >&2; fail "create changed a view"; }
grep -q 'chain-000004.vmdk' chain/chain.vmx || fail "current disk not a new delta"
grep -q 'snapshot3.displayName = "four"' chain/chain.vmsd || fail "vmsd entry"
chains_ok chain
# New data in the current state, then back to "four" and to "one".
qemu-io -f vmdk -c 'write -P 0x55 5M 1M' chain/chain-000004.vmdk >/dev/null
"$VIMG" snapshot -a four chain || fail "revert four"
vm_views chain >rev
grep '^@current' rev | sed 's/^@current/four/' >cur4
grep '^four ' rev | cmp -s - cur4 || fail "revert: current is not four's view"
[ -e chain/chain-000004.vmdk ] && fail "revert kept the discarded delta"
grep -v '^@current' after | cmp -s - "$(grep -v '^@current' rev >r2; echo r2)" ||
	fail "revert changed a snapshot's view"
"$VIMG" snapshot -a one chain || fail "revert one"
vm_views chain >rev1
[ "$(grep '^@current scsi0:0' rev1 | cut -d' ' -f3)" = \
  "$(grep '^one scsi0:0' rev1 | cut -d' ' -f3)" ] || fail "revert one: wrong view"
[ "$(json_get "$("$VIMG" snapshot -l --output=json chain >t.json; echo t.json)" "d['current']")" = 1 ] ||
	fail "revert one: current uid"
chains_ok chain

# ---- consolidate a link that nothing names ---------------------------------
fresh chain
qemu-img create -q -f vmdk -b chain-000003.vmdk -F vmdk chain/extra.vmdk
qemu-io -f vmdk -c 'write -P 0x66 6M 1M' chain/extra.vmdk >/dev/null
"$VIMG" config chain/chain.vmx --set scsi0:0.fileName=extra.vmdk >/dev/null 2>&1 ||
	sed -i 's/^scsi0:0.fileName = .*/scsi0:0.fileName = "extra.vmdk"/' chain/chain.vmx
vm_views chain >before
"$VIMG" snapshot --consolidate chain >out || fail "consolidate"
grep -q '^1 redundant link collapsed' out || fail "consolidate: $(cat out)"
vm_views chain >after
cmp -s before after || { diff before after >&2; fail "consolidate changed a view"; }
[ -e chain/extra.vmdk ] && fail "consolidate kept the collapsed link"
chains_ok chain

# ---- a VM that looks running is refused, unless --force ---------------------
fresh chain
mkdir chain/chain.vmx.lck
expect_status 1 "$VIMG" snapshot -c x chain
grep -q 'may be running' err || fail "lock message: $(cat err)"
expect_status 0 "$VIMG" snapshot -c x --force chain
rmdir chain/chain.vmx.lck
expect_status 1 "$VIMG" snapshot -d nonesuch chain
grep -q 'no snapshot "nonesuch"' err || fail "unknown snapshot: $(cat err)"
echo PASS
