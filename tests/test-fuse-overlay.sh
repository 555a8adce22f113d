#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# vimgmount --overlay FILE: writes (to the disk and to a partition file) land
# in a qcow2 overlay over the image, the image stays byte-identical, and
# qemu-img compare finds the overlay identical to the expected content. An
# existing overlay is reused; one over another image is refused. SIGTERM and
# SIGINT unmount cleanly with the overlay flushed.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"
. "$VIMG_SRCDIR/tests/fuse-functions.sh"
requires qemu-img --version
tmpdir
fuse_requires

fixture_copy "$VIMG_FIXTURES/fs/mbr-fs.qcow2.gz" "$TMPD/a.qcow2"
before=$(sha256sum <"$TMPD/a.qcow2")
"$VIMG" convert -O raw "$TMPD/a.qcow2" "$TMPD/expect.raw"

# pwrite FILE OFFSET SEED LEN: deterministic bytes, through the mount
pwrite_at() {
	python3 - "$@" <<'PY'
import hashlib, os, sys
path, off, seed, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
data = (hashlib.sha256(seed.encode()).digest() * (n // 32 + 1))[:n]
fd = os.open(path, os.O_WRONLY)
assert os.pwrite(fd, data, off) == n
os.fsync(fd)
os.close(fd)
PY
}

# write to the overlay through disk (unaligned) and disk.p5 (at its offset in expect.raw)
fuse_mount "$TMPD/mnt" --overlay "$TMPD/ov.qcow2" "$TMPD/a.qcow2" || { cat "$TMPD/fuse-err" >&2; fail "mount"; }
[ -f "$TMPD/ov.qcow2" ] || fail "overlay not created"
[ "$(json_get "$TMPD/mnt/info.json" "d['mode']")" = overlay ] || fail "info.json mode"
[ "$(stat -c %a "$TMPD/mnt/disk")" = 644 ] || fail "disk mode"
p5=$(json_get "$TMPD/mnt/info.json" "d['disks'][0]['partitions'][1]['start']")
pwrite_at "$TMPD/mnt/disk" 1000 one 70000
pwrite_at "$TMPD/expect.raw" 1000 one 70000
pwrite_at "$TMPD/mnt/disk.p5" 4096 two 65536
pwrite_at "$TMPD/expect.raw" $((p5 + 4096)) two 65536
# a partition file never grows: writing past its end has no space
python3 - "$TMPD/mnt/disk.p1" <<'PY' || fail "write past the end of a partition"
import errno, os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
try:
    os.pwrite(fd, b"x", os.fstat(fd).st_size)
except OSError as e:
    assert e.errno == errno.ENOSPC, e
else:
    sys.exit(1)
PY
cmp -s "$TMPD/mnt/disk" "$TMPD/expect.raw" || fail "mounted disk does not show the writes"
fuse_umount "$TMPD/mnt"

[ "$(sha256sum <"$TMPD/a.qcow2")" = "$before" ] || fail "image modified"
peer_check "$TMPD/ov.qcow2"
qemu-img compare -q "$TMPD/ov.qcow2" "$TMPD/expect.raw" || fail "qemu-img compare: overlay differs"

# the existing overlay is reused; SIGTERM unmounts with the new write flushed
fuse_mount "$TMPD/mnt" --overlay "$TMPD/ov.qcow2" "$TMPD/a.qcow2" || { cat "$TMPD/fuse-err" >&2; fail "remount"; }
cmp -s "$TMPD/mnt/disk" "$TMPD/expect.raw" || fail "reused overlay lost the writes"
pwrite_at "$TMPD/mnt/disk" 3000000 three 100000
pwrite_at "$TMPD/expect.raw" 3000000 three 100000
kill -TERM "$FUSE_PID"
fuse_wait_exit
! grep -q " $TMPD/mnt fuse" /proc/mounts || fail "still mounted after SIGTERM"
peer_check "$TMPD/ov.qcow2"
qemu-img compare -q "$TMPD/ov.qcow2" "$TMPD/expect.raw" || fail "overlay differs after SIGTERM"

# SIGINT too, with a write left unsynced (flush on close only)
fuse_mount "$TMPD/mnt" --overlay "$TMPD/ov.qcow2" "$TMPD/a.qcow2" || fail "remount 2"
printf 'written before SIGINT' | dd of="$TMPD/mnt/disk" bs=1 seek=2000000 conv=notrunc status=none
printf 'written before SIGINT' | dd of="$TMPD/expect.raw" bs=1 seek=2000000 conv=notrunc status=none
kill -INT "$FUSE_PID"
fuse_wait_exit
peer_check "$TMPD/ov.qcow2"
qemu-img compare -q "$TMPD/ov.qcow2" "$TMPD/expect.raw" || fail "overlay differs after SIGINT"
[ "$(sha256sum <"$TMPD/a.qcow2")" = "$before" ] || fail "image modified"

# an overlay over another image is refused, and nothing is mounted
qemu-img create -q -f qcow2 "$TMPD/other.qcow2" 4M
qemu-img create -q -f qcow2 -F qcow2 -b "$TMPD/other.qcow2" "$TMPD/ov2.qcow2"
expect_status 1 "$VIMGMOUNT" --overlay "$TMPD/ov2.qcow2" "$TMPD/a.qcow2" "$TMPD/mnt"
grep -q "not $TMPD/a.qcow2" "$TMPD/err" || fail "wrong-backing message: $(cat "$TMPD/err")"
# --overlay with a mount that fails leaves no new overlay behind
expect_status 1 "$VIMGMOUNT" --overlay "$TMPD/ov3.qcow2" "$TMPD/a.qcow2" "$TMPD/nonesuch"
[ ! -e "$TMPD/ov3.qcow2" ] || fail "overlay left behind by a failed mount"
