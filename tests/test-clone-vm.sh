#!/bin/sh
# vimg clone: full and linked clones of fixture templates (and of a
# snapshot's state) share no UUID or generated MAC with the template, read
# identical to the chosen state, open in vimg inspect with no problem, pass
# qemu-img (which follows a linked clone's chain into the template), and
# leave the template's files byte-identical with the same mtimes.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"
tmpdir
make_bundles "$TMPD/fix"
cd "$TMPD"
cp -a fix/ws-bios ws
cp -a fix/chain chain

stamp() { # stamp DIR: sha256, size and mtime of every file below DIR
	find "$1" -type f | sort | while read -r f; do
		printf '%s %s\n' "$(sha256sum <"$f" | cut -c1-64)" "$(stat -c '%s %Y' "$f")"
	done
}
get() { # get VMX KEY
	"$VIMG" inspect --output=json "$1" >g.json
	json_get g.json "$2"
}
no_problems() {
	"$VIMG" inspect --output=json "$1" >p.json || fail "inspect $1"
	[ "$(json_get p.json "len(d['problems'])")" = 0 ] ||
		fail "inspect $1: $(json_get p.json "d['problems']")"
}
# Make the template's mtimes old, so a rewrite would show.
find ws chain -type f -exec touch -d '2020-01-01 00:00:00' {} +
stamp ws >ws.before
stamp chain >chain.before

# ---- full and linked clones of the current state ------------------------------
"$VIMG" clone ws full >out || fail "full clone"
"$VIMG" clone --linked --name=lnk ws linked >out || fail "linked clone"
for c in full/full.vmx linked/lnk.vmx; do
	no_problems "$c"
	for k in uuid.bios uuid.location; do
		[ "$(get "$c" "d['vm']['$k']")" != "$(get ws "d['vm']['$k']")" ] ||
			fail "$c shares $k with the template"
	done
	[ "$(get "$c" "d['vm']['nics'][0]['mac']")" != "$(get ws "d['vm']['nics'][0]['mac']")" ] ||
		fail "$c shares the generated MAC"
	get "$c" "d['vm']['nics'][0]['mac']" | grep -q '^00:0c:29:' || fail "$c: MAC range"
done
[ "$(get full/full.vmx "d['vm']['name']")" = full ] || fail "displayName"
[ -f full/full.vmdk ] && [ -f full/full.nvram ] && [ -f full/full.vmxf ] || fail "names: $(ls full)"
cmp -s ws/ws-bios.nvram full/full.nvram || fail "nvram not copied"
grep -q '<vmxPathName type="string">full.vmx</vmxPathName>' full/full.vmxf || fail "vmxf path"
grep -q '52 0c 6b 44 4a 3f 1d 6e' full/full.vmxf && fail "vmxf VMId kept"
qemu-img compare ws/ws-bios.vmdk full/full.vmdk >/dev/null || fail "full clone differs"
qemu-img compare ws/ws-bios.vmdk linked/lnk-000001.vmdk >/dev/null || fail "linked clone differs"
peer_check full/full.vmdk
peer_check linked/lnk-000001.vmdk
qemu-img info --backing-chain linked/lnk-000001.vmdk >chain.txt
grep -q 'ws/ws-bios.vmdk' chain.txt || fail "qemu-img does not follow the linked clone"
# Fresh content IDs: the clone's CID is not the template's.
tcid=$(qemu-img info --output=json ws/ws-bios.vmdk | python3 -c 'import json,sys; print(json.load(sys.stdin)["format-specific"]["data"]["cid"])')
ccid=$(qemu-img info --output=json full/full.vmdk | python3 -c 'import json,sys; print(json.load(sys.stdin)["format-specific"]["data"]["cid"])')
[ "$tcid" != "$ccid" ] || fail "full clone kept the CID"
# Writing to the linked clone leaves the template alone.
qemu-io -f vmdk -c 'write -P 0x77 2M 1M' linked/lnk-000001.vmdk >/dev/null

# ---- a snapshot's state, two disks, another subformat -------------------------
"$VIMG" clone --snapshot=two -o subformat=streamOptimized chain snap2 >/dev/null ||
	fail "clone --snapshot"
no_problems snap2
qemu-img compare chain/chain-000001.vmdk snap2/snap2.vmdk >/dev/null || fail "disk 0 != two"
qemu-img compare chain/chain_1-000001.vmdk snap2/snap2_1.vmdk >/dev/null || fail "disk 1 != two"
qemu-img info snap2/snap2.vmdk | grep -q streamOptimized || fail "subformat"
[ -e snap2/snap2.vmsd ] && fail "snapshots copied"
[ "$(get snap2 "d['vm']['nics'][1]['mac']")" = 00:50:56:00:00:02 ] || fail "static MAC changed"
"$VIMG" clone --linked --new-macs chain lchain >/dev/null || fail "clone --new-macs"
[ "$(get lchain "d['vm']['nics'][1]['mac']")" != 00:50:56:00:00:02 ] || fail "--new-macs"
qemu-img compare chain/chain-000003.vmdk lchain/lchain-000001.vmdk >/dev/null ||
	fail "linked clone of a delta chain differs"
no_problems lchain

# ---- errors ------------------------------------------------------------------
expect_status 1 "$VIMG" clone ws full
grep -q 'not empty' err || fail "existing folder: $(cat err)"
expect_status 1 "$VIMG" clone --keep-snapshots chain keep
grep -q 'not supported' err || fail "--keep-snapshots: $(cat err)"
expect_status 1 "$VIMG" clone --snapshot=nonesuch chain x
expect_status 2 "$VIMG" clone ws

# ---- the templates are untouched ---------------------------------------------
stamp ws | cmp -s ws.before - || fail "the template ws changed"
stamp chain | cmp -s chain.before - || fail "the template chain changed"
echo PASS
