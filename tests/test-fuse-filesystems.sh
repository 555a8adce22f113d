#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Partition files of vimgmount hold real filesystems: the MBR fixture (primary
# ext2 + FAT in a logical partition, qcow2) and the GPT fixture (ext2 + FAT,
# vmdk) of fixtures/fs. The partition layout matches what sfdisk reads from
# the mounted disk, the files read back with debugfs and mtools (no root
# needed), and, when root may loop-mount, through `mount -o loop,ro` too.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"
. "$VIMG_SRCDIR/tests/fuse-functions.sh"
requires debugfs -V
requires mtype -V
requires sfdisk --version
tmpdir
fuse_requires

seq 1 3000 >"$TMPD/numbers.txt"
can_loop=no
if [ "$(id -u)" = 0 ] && command -v losetup >/dev/null 2>&1; then
	can_loop=yes
fi

loop_umount_quiet() {
	umount -l "$1" 2>/dev/null || true
}

# check_fs PARTFILE FSNAME: the two known files read back right.
check_fs() {
	case "$2" in
	ext2)
		debugfs -R "cat /hello.txt" "$1" 2>/dev/null >"$TMPD/hello"
		debugfs -R "cat /numbers.txt" "$1" 2>/dev/null >"$TMPD/numbers"
		;;
	fat)
		mtype -i "$1" ::hello.txt >"$TMPD/hello"
		mtype -i "$1" ::numbers.txt >"$TMPD/numbers"
		;;
	esac
	[ "$(cat "$TMPD/hello")" = "hello from $2" ] || fail "$1: hello.txt reads '$(cat "$TMPD/hello")'"
	cmp -s "$TMPD/numbers" "$TMPD/numbers.txt" || fail "$1: numbers.txt differs"
	[ "$can_loop" = yes ] || return 0
	mkdir -p "$TMPD/fs"
	if mount -o loop,ro "$1" "$TMPD/fs" 2>"$TMPD/mount-err"; then
		cleanup_fn loop_umount_quiet "$TMPD/fs"
		[ "$(cat "$TMPD/fs/hello.txt")" = "hello from $2" ] || fail "$1: mounted hello.txt"
		cmp -s "$TMPD/fs/numbers.txt" "$TMPD/numbers.txt" || fail "$1: mounted numbers.txt"
		umount "$TMPD/fs"
		echo "mount -o loop,ro $(basename "$1") ($2): ok"
	else
		echo "note: mount -o loop,ro of $2 not possible here: $(head -n 1 "$TMPD/mount-err")"
	fi
}

# check_layout: each partition file's start and size agree with sfdisk's view of disk.
check_layout() {
	sfdisk --json "$TMPD/mnt/disk" >"$TMPD/sfdisk.json"
	python3 - "$TMPD/sfdisk.json" "$TMPD/mnt/info.json" "$TMPD/mnt" <<'PY' || fail "layout differs from sfdisk"
import json, os, sys
sf = json.load(open(sys.argv[1]))["partitiontable"]
info = json.load(open(sys.argv[2]))["disks"][0]
want = {}
for p in sf["partitions"]:
    if sf["label"] == "dos" and p["type"] in ("5", "f", "85"):
        continue  # extended partitions are walked, not shown
    n = int(p["node"].rsplit("disk", 1)[1])
    want["disk%d" % n] = (p["start"] * 512, p["size"] * 512)
got = {p["file"].replace(".p", ""): (p["start"], p["length"]) for p in info["partitions"]}
assert info["partition-table"] == {"dos": "mbr", "gpt": "gpt"}[sf["label"]], info
assert got == want, (got, want)
for p in info["partitions"]:
    assert os.path.getsize(os.path.join(sys.argv[3], p["file"])) == p["length"]
PY
}

for fx in mbr-fs.qcow2 gpt-fs.vmdk; do
	fixture_copy "$VIMG_FIXTURES/fs/$fx.gz" "$TMPD/$fx"
	fuse_mount "$TMPD/mnt" "$TMPD/$fx" || { cat "$TMPD/fuse-err" >&2; fail "mount $fx"; }
	check_layout
	case $fx in
	mbr-*)
		[ "$(json_get "$TMPD/mnt/info.json" "d['disks'][0]['partitions'][1]['type']")" = 0x0c ] ||
			fail "mbr: logical partition type"
		check_fs "$TMPD/mnt/disk.p1" ext2
		check_fs "$TMPD/mnt/disk.p5" fat
		;;
	gpt-*)
		[ "$(json_get "$TMPD/mnt/info.json" "d['disks'][0]['partitions'][1]['name']")" = esp ] ||
			fail "gpt: partition name"
		check_fs "$TMPD/mnt/disk.p1" ext2
		check_fs "$TMPD/mnt/disk.p2" fat
		;;
	esac
	fuse_umount "$TMPD/mnt"
done
