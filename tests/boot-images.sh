# SPDX-License-Identifier: LGPL-2.1-or-later
# Test images for vimg boot, built without loop mounts or root: a Linux
# kernel (from linux-image-amd64, extracted with dpkg-deb -x), a busybox
# initramfs, and SYSLINUX / GRUB disks. Sourced by tests/test-boot-*.sh
# after functions.sh and boot-functions.sh.

# find_kernel [optional]: set KERNEL (a bzImage) and KMODS (its
# /lib/modules/VERSION, may be empty); skip when none is found (return 1
# with "optional"). Looked for in $VIMG_TEST_KERNEL,
# $VIMG_BUILDDIR/tests/boot-kernel (tests/boot-get-kernel.sh extracts the
# Debian package there) and /boot.
find_kernel() {
	KERNEL=""
	for k in ${VIMG_TEST_KERNEL:-} "$VIMG_BUILDDIR"/tests/boot-kernel/boot/vmlinuz-* /boot/vmlinuz-*; do
		if [ -n "$k" ] && [ -r "$k" ]; then
			KERNEL=$k
			break
		fi
	done
	if [ -z "$KERNEL" ]; then
		[ "${1:-}" = optional ] && return 1
		skip "no Linux kernel (run tests/boot-get-kernel.sh or set VIMG_TEST_KERNEL)"
	fi
	_ver=$(basename "$KERNEL" | sed 's/^vmlinuz-//')
	KMODS=$(dirname "$KERNEL")/../lib/modules/$_ver
	[ -d "$KMODS" ] || KMODS=/lib/modules/$_ver
	[ -d "$KMODS" ] || KMODS=""
}

# busybox_path: a static busybox, or skip.
busybox_path() {
	for b in /bin/busybox /usr/bin/busybox; do
		if [ -x "$b" ] && ! ldd "$b" >/dev/null 2>&1; then
			echo "$b"
			return 0
		fi
	done
	return 1
}

# modules_for LIST: the .ko files for the named modules and their
# dependencies, in load order (from each module's own "depends=" field, so no
# modules.dep is needed: a package extracted with dpkg-deb -x has none).
modules_for() {
	python3 - "$KMODS" "$@" <<'PYEOF'
import lzma, os, re, sys
base, want = sys.argv[1], sys.argv[2:]
paths = {}
for root, _, files in os.walk(os.path.join(base, 'kernel')):
    for f in files:
        if '.ko' in f:
            paths[f.split('.ko')[0].replace('-', '_')] = os.path.join(root, f)
def depends(path):
    data = open(path, 'rb').read()
    if path.endswith('.xz'):
        data = lzma.decompress(data)
    m = re.search(rb'\0depends=([^\0]*)\0', data)
    return [d.decode() for d in m.group(1).split(b',') if d] if m else []
order, seen = [], set()
def add(name):
    name = name.replace('-', '_')
    if name in seen or name not in paths:
        return
    seen.add(name)
    for d in depends(paths[name]):
        add(d)
    order.append(paths[name])
for w in want:
    add(w)
print('\n'.join(order))
PYEOF
}

# make_initramfs OUT MARKER [virtio-root]: a busybox initramfs whose /init
# prints MARKER on the console and powers off; with virtio-root it loads the
# virtio-blk and ext4 modules, mounts /dev/vda1 and switches to it (whose
# /sbin/init prints its own marker, see make_rootfs).
make_initramfs() {
	_out=$1
	_marker=$2
	_mode=${3:-}
	_bb=$(busybox_path) || skip "busybox-static not available"
	requires cpio --version
	_d=$TMPD/initramfs.d
	rm -rf "$_d"
	mkdir -p "$_d/bin" "$_d/proc" "$_d/sys" "$_d/dev" "$_d/newroot" "$_d/lib/modules"
	cp "$_bb" "$_d/bin/busybox"
	ln -s busybox "$_d/bin/sh"
	if [ "$_mode" = virtio-root ]; then
		[ -n "$KMODS" ] || skip "no kernel modules next to $KERNEL"
		for m in $(modules_for crc32c_generic virtio_pci virtio_blk ext4); do
			case "$m" in
			*.xz) xz -dc "$m" >"$_d/lib/modules/$(basename "$m" .xz)" ;;
			*.zst) zstd -qdc "$m" >"$_d/lib/modules/$(basename "$m" .zst)" ;;
			*) cp "$m" "$_d/lib/modules/" ;;
			esac
			basename "$m" | sed 's/\.\(xz\|zst\)$//' >>"$_d/lib/modules/order"
		done
	fi
	cat >"$_d/init" <<INITEOF
#!/bin/sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t devtmpfs dev /dev
echo "$_marker"
if [ "$_mode" = virtio-root ]; then
	for m in \$(/bin/busybox cat /lib/modules/order); do
		/bin/busybox insmod /lib/modules/\$m
	done
	for i in 1 2 3 4 5 6 7 8 9 10; do
		[ -b /dev/vda1 ] && break
		/bin/busybox sleep 1
	done
	/bin/busybox mount -t ext4 -o ro /dev/vda1 /newroot || echo "VIMG-ROOT-MOUNT-FAILED"
	exec /bin/busybox switch_root /newroot /sbin/init
fi
/bin/busybox poweroff -f
INITEOF
	chmod +x "$_d/init"
	(cd "$_d" && find . | cpio -o -H newc --quiet) | gzip -1 >"$_out"
}

# make_rootfs OUT SIZE_MIB MARKER: an ext4 image (mke2fs -d) whose
# /sbin/init prints MARKER and powers off.
make_rootfs() {
	_out=$1
	_d=$TMPD/rootfs.d
	rm -rf "$_d"
	mkdir -p "$_d/bin" "$_d/sbin" "$_d/proc" "$_d/dev"
	cp "$(busybox_path)" "$_d/bin/busybox"
	ln -s busybox "$_d/bin/sh"
	printf '#!/bin/sh\necho "%s"\n/bin/busybox poweroff -f\n' "$3" >"$_d/sbin/init"
	chmod +x "$_d/sbin/init"
	mke2fs -q -F -t ext4 -d "$_d" "$_out" "$2M" || fail "mke2fs -d"
}

# mbr_partition DISK START_SECTOR SECTORS TYPE: write one bootable primary
# partition entry and the boot signature (keeps the boot code).
mbr_partition() {
	python3 - "$@" <<'PYEOF'
import struct, sys
path, start, count, ptype = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4], 0)
with open(path, 'r+b') as f:
    f.seek(446)
    f.write(struct.pack('<B3sB3sII', 0x80, b'\xfe\xff\xff', ptype, b'\xfe\xff\xff', start, count))
    f.seek(510)
    f.write(b'\x55\xaa')
PYEOF
}

# make_syslinux_disk OUT KERNEL INITRD APPEND: a 64 MiB raw disk, SYSLINUX's
# mbr.bin, one FAT16 partition at 1 MiB holding SYSLINUX, the kernel and the
# initrd (mtools, syslinux --offset: no loop mount).
make_syslinux_disk() {
	_out=$1
	requires syslinux --version
	requires mcopy --version
	requires mkfs.vfat --help
	_mbr=""
	for m in /usr/lib/syslinux/mbr/mbr.bin /usr/lib/SYSLINUX/mbr.bin /usr/share/syslinux/mbr.bin; do
		[ -r "$m" ] && _mbr=$m && break
	done
	[ -n "$_mbr" ] || skip "SYSLINUX mbr.bin not found"
	_fat=$TMPD/fat.img
	rm -f "$_fat"
	mkfs.vfat -C -F 16 -n VIMGBOOT -h 2048 "$_fat" $((63 * 1024)) >/dev/null || fail "mkfs.vfat"
	cat >"$TMPD/syslinux.cfg" <<CFGEOF
SERIAL 0 115200
DEFAULT linux
PROMPT 0
TIMEOUT 0
LABEL linux
  KERNEL /vmlinuz
  INITRD /initrd.img
  APPEND $4
CFGEOF
	MTOOLS_SKIP_CHECK=1 mcopy -i "$_fat" "$2" ::/vmlinuz || fail "mcopy kernel"
	MTOOLS_SKIP_CHECK=1 mcopy -i "$_fat" "$3" ::/initrd.img || fail "mcopy initrd"
	MTOOLS_SKIP_CHECK=1 mcopy -i "$_fat" "$TMPD/syslinux.cfg" ::/syslinux.cfg || fail "mcopy cfg"
	truncate -s 64M "$_out"
	dd if="$_fat" of="$_out" bs=1M seek=1 conv=notrunc status=none
	syslinux --offset $((2048 * 512)) --install "$_out" || fail "syslinux --install"
	dd if="$_mbr" of="$_out" bs=440 count=1 conv=notrunc status=none
	mbr_partition "$_out" 2048 $((63 * 2048)) 0x06
	rm -f "$_fat"
}

# make_grub_disk OUT KERNEL INITRD APPEND: a 48 MiB raw disk laid out as
# grub-install does: GRUB's boot.img in the MBR, a small core.img (biosdisk,
# part_msdos, ext2) in the gap before the first partition, and an ext2
# partition at 1 MiB (mke2fs -d, 4 KiB blocks) holding /boot/grub/i386-pc/
# (every module, loaded on demand), grub.cfg (serial console, one menu
# entry), the kernel and the initrd. Under KVM's emulator the small core
# matters: GRUB's LZMA decompressor takes ~30 s for a core.img that embeds
# normal.mod and linux.mod, ~5 s for this one.
make_grub_disk() {
	_out=$1
	requires grub-mkimage --version
	requires mke2fs -V
	_gdir=""
	for g in /usr/lib/grub/i386-pc /usr/share/grub/i386-pc; do
		[ -r "$g/boot.img" ] && _gdir=$g && break
	done
	[ -n "$_gdir" ] || skip "GRUB i386-pc modules (grub-pc-bin) not found"
	_fs=$TMPD/grubfs.d
	rm -rf "$_fs"
	mkdir -p "$_fs/boot/grub/i386-pc"
	cp "$2" "$_fs/boot/vmlinuz"
	cp "$3" "$_fs/boot/initrd.img"
	cp "$_gdir"/*.mod "$_gdir"/*.lst "$_fs/boot/grub/i386-pc/"
	cat >"$_fs/boot/grub/grub.cfg" <<CFGEOF
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set timeout=0
menuentry linux {
  linux /boot/vmlinuz $4
  initrd /boot/initrd.img
}
CFGEOF
	grub-mkimage -d "$_gdir" -O i386-pc -o "$TMPD/core.img" \
		-p '(hd0,msdos1)/boot/grub' biosdisk part_msdos ext2 || fail "grub-mkimage"
	mke2fs -q -F -t ext2 -b 4096 -d "$_fs" "$TMPD/grub.ext2" 40M || fail "mke2fs -d"
	truncate -s 48M "$_out"
	dd if="$TMPD/grub.ext2" of="$_out" bs=1M seek=1 conv=notrunc status=none
	dd if="$_gdir/boot.img" of="$_out" bs=440 count=1 conv=notrunc status=none
	dd if="$TMPD/core.img" of="$_out" bs=512 seek=1 conv=notrunc status=none
	mbr_partition "$_out" 2048 $((40 * 2048)) 0x83
	rm -rf "$_fs" "$TMPD/grub.ext2" "$TMPD/core.img"
}
