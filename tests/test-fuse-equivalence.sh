#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# vimgmount shows every fixture image as the same bytes as `vimg convert -O
# raw`, and mounting, reading everything and unmounting leaves the image file
# (and its siblings: extents, backing files) untouched. Compressed fixtures are
# expanded beside their siblings first; images vimg cannot convert (a
# descriptor whose extents are not there) are skipped with a note.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"
. "$VIMG_SRCDIR/tests/fuse-functions.sh"
tmpdir
fuse_requires

# Copy every fixture directory, decompressed, so relative siblings resolve.
mkdir "$TMPD/in"
(cd "$VIMG_FIXTURES" && find . -type f) | while read -r rel; do
	case "$rel" in
	./gen/*|*.sh|*.c|*.S|*.py|*.md|*.txt|*.out|*/SHA256SUMS|./SHA256SUMS) continue ;;
	esac
	dst="$TMPD/in/${rel%.gz}"
	dst="${dst%.xz}"
	mkdir -p "$(dirname "$dst")"
	fixture_copy "$VIMG_FIXTURES/$rel" "$dst" || rm -f "$dst"
done
find "$TMPD/in" -type f | sort >"$TMPD/list"
[ -s "$TMPD/list" ] || skip "no fixtures"

sums() {
	find "$TMPD/in" -type f | sort | xargs sha256sum
}

checked=0
while read -r img; do
	name=${img#"$TMPD/in/"}
	if ! "$VIMG" convert -O raw "$img" "$TMPD/ref.raw" >/dev/null 2>"$TMPD/conv-err"; then
		echo "note: $name: not convertible, skipped: $(head -n 1 "$TMPD/conv-err")"
		continue
	fi
	before=$(sums)
	fuse_mount "$TMPD/mnt" "$img" || { cat "$TMPD/fuse-err" >&2; fail "mount $name"; }
	want=$(sha256sum <"$TMPD/ref.raw")
	got=$(sha256sum <"$TMPD/mnt/disk")
	[ "$got" = "$want" ] || fail "$name: mounted disk differs from vimg convert -O raw"
	# the size the directory shows is the virtual size
	[ "$(stat -c %s "$TMPD/mnt/disk")" = "$(stat -c %s "$TMPD/ref.raw")" ] ||
		fail "$name: disk size"
	# every partition file is the matching window of the disk
	for p in "$TMPD"/mnt/disk.p*; do
		[ -e "$p" ] || continue
		f=${p##*/}
		start=$(json_get "$TMPD/mnt/info.json" \
			"[p['start'] for p in d['disks'][0]['partitions'] if p['file'] == '$f'][0]")
		len=$(stat -c %s "$p")
		python3 -c 'import sys
a = open(sys.argv[1], "rb"); a.seek(int(sys.argv[3]))
sys.exit(a.read(int(sys.argv[4])) != open(sys.argv[2], "rb").read())' \
			"$TMPD/ref.raw" "$p" "$start" "$len" || fail "$name: $f differs"
	done
	fuse_umount "$TMPD/mnt"
	[ "$(sums)" = "$before" ] || fail "$name: files changed by mount, read and unmount"
	checked=$((checked + 1))
	rm -f "$TMPD/ref.raw"
done <"$TMPD/list"
[ "$checked" -gt 0 ] || skip "no fixture could be converted"
echo "checked $checked images"
