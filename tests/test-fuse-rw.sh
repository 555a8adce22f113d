#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# vimgmount --rw writes through to the image (a scratch copy): the write is
# seen by vimg convert and qemu-img after unmounting, and the qcow2 stays
# clean. Contradicting modes are usage errors.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"
. "$VIMG_SRCDIR/tests/fuse-functions.sh"
requires qemu-img --version
tmpdir
fuse_requires

fixture_copy "$VIMG_FIXTURES/fs/mbr-fs.qcow2.gz" "$TMPD/a.qcow2"
"$VIMG" convert -O raw "$TMPD/a.qcow2" "$TMPD/expect.raw"

fuse_mount "$TMPD/mnt" --rw "$TMPD/a.qcow2" || { cat "$TMPD/fuse-err" >&2; fail "mount --rw"; }
[ "$(json_get "$TMPD/mnt/info.json" "d['mode']")" = rw ] || fail "info.json mode"
[ "$(stat -c %a "$TMPD/mnt/disk.p1")" = 644 ] || fail "disk.p1 mode"
[ "$(stat -c %a "$TMPD/mnt/info.json")" = 444 ] || fail "info.json mode bits"
p1=$(json_get "$TMPD/mnt/info.json" "d['disks'][0]['partitions'][0]['start']")
# 1 MiB + 3 bytes of zeros over the ext2 superblock area, through the partition file
head -c 1048579 /dev/urandom >"$TMPD/data"
dd if="$TMPD/data" of="$TMPD/mnt/disk.p1" bs=64k seek=0 conv=notrunc,fsync status=none 2>"$TMPD/dd-err" &&
	fail "a write past the end of disk.p1 succeeded"
grep -q "No space left" "$TMPD/dd-err" || fail "dd past the end: $(cat "$TMPD/dd-err")"
dd if="$TMPD/data" of="$TMPD/expect.raw" bs=1 count=1048576 seek="$p1" conv=notrunc status=none \
	iflag=count_bytes oflag=seek_bytes
cmp -s "$TMPD/mnt/disk" "$TMPD/expect.raw" || fail "the mount does not show the write"
python3 -c 'import os, sys; f = os.open(sys.argv[1], os.O_RDWR); os.fsync(f)' "$TMPD/mnt/disk"
fuse_umount "$TMPD/mnt"

peer_check "$TMPD/a.qcow2"
qemu-img compare -q "$TMPD/a.qcow2" "$TMPD/expect.raw" || fail "the image does not hold the write"
"$VIMG" convert -O raw "$TMPD/a.qcow2" "$TMPD/after.raw"
cmp -s "$TMPD/after.raw" "$TMPD/expect.raw" || fail "vimg convert after --rw"

# options that contradict each other
expect_status 2 "$VIMGMOUNT" -o ro --rw "$TMPD/a.qcow2" "$TMPD/mnt"
expect_status 2 "$VIMGMOUNT" --rw --overlay "$TMPD/o.qcow2" "$TMPD/a.qcow2" "$TMPD/mnt"
expect_status 2 "$VIMGMOUNT" --rw --snapshot s "$TMPD/a.qcow2" "$TMPD/mnt"
