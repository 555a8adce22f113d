#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# vimgmount is read-only by default: files are 0444, opening for writing
# fails with EROFS, info.json says "ro", the image is untouched. --snapshot
# shows an internal snapshot's content, read-only as well.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"
. "$VIMG_SRCDIR/tests/fuse-functions.sh"
tmpdir
fuse_requires

fixture_copy "$VIMG_FIXTURES/fs/mbr-fs.qcow2.gz" "$TMPD/a.qcow2"
before=$(sha256sum <"$TMPD/a.qcow2")
fuse_mount "$TMPD/mnt" "$TMPD/a.qcow2" || { cat "$TMPD/fuse-err" >&2; fail "mount"; }

[ "$(stat -c %a "$TMPD/mnt/disk")" = 444 ] || fail "disk mode $(stat -c %a "$TMPD/mnt/disk")"
[ "$(stat -c %a "$TMPD/mnt/disk.p1")" = 444 ] || fail "disk.p1 mode"
[ "$(stat -c %Y "$TMPD/mnt/disk")" = "$(stat -c %Y "$TMPD/a.qcow2")" ] || fail "mtime"
[ "$(json_get "$TMPD/mnt/info.json" "d['mode']")" = ro ] || fail "info.json mode"
[ "$(json_get "$TMPD/mnt/info.json" "d['disks'][0]['format']")" = qcow2 ] || fail "format"
ls "$TMPD/mnt" | sort | tr '\n' ' ' | grep -qx 'disk disk.p1 disk.p5 info.json ' ||
	fail "listing: $(ls "$TMPD/mnt")"
[ "$(stat -f -c %b "$TMPD/mnt")" -gt 0 ] || fail "statfs"

# Every write path fails with EROFS (the errno, not just any failure).
for f in disk disk.p1 info.json; do
	python3 - "$TMPD/mnt/$f" <<'PY' || fail "writing $f did not fail with EROFS"
import errno, os, sys
for flags in (os.O_WRONLY, os.O_RDWR, os.O_WRONLY | os.O_TRUNC):
    try:
        os.open(sys.argv[1], flags)
    except OSError as e:
        assert e.errno == errno.EROFS, e
    else:
        sys.exit(1)
PY
done
[ ! -e "$TMPD/mnt/nonesuch" ] || fail "a file that does not exist"
if touch "$TMPD/mnt/new" 2>/dev/null; then fail "created a file"; fi
fuse_umount "$TMPD/mnt"
[ "$(sha256sum <"$TMPD/a.qcow2")" = "$before" ] || fail "image changed"

# --snapshot: snapshot.qcow2's snap1 holds 0x11 at [0, 8 KiB), the active layer 0x44 at [0, 4 KiB).
fixture_copy "$VIMG_FIXTURES/qcow2/snapshot.qcow2.gz" "$TMPD/s.qcow2"
fuse_mount "$TMPD/mnt" --snapshot snap1 "$TMPD/s.qcow2" || { cat "$TMPD/fuse-err" >&2; fail "mount snapshot"; }
[ "$(od -An -tx1 -N1 "$TMPD/mnt/disk" | tr -d ' ')" = 11 ] || fail "snapshot content"
[ "$(json_get "$TMPD/mnt/info.json" "d['disks'][0]['snapshot']")" = snap1 ] || fail "snapshot in info.json"
fuse_umount "$TMPD/mnt"
fuse_mount "$TMPD/mnt" "$TMPD/s.qcow2" || fail "mount active"
[ "$(od -An -tx1 -N1 "$TMPD/mnt/disk" | tr -d ' ')" = 44 ] || fail "active content"
fuse_umount "$TMPD/mnt"
expect_status 1 "$VIMGMOUNT" --snapshot nonesuch "$TMPD/s.qcow2" "$TMPD/mnt"
grep -q nonesuch "$TMPD/err" || fail "unknown snapshot message: $(cat "$TMPD/err")"
