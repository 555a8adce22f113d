#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Read-only commands never change a byte: every fixture (recursively; .xz and
# .gz fixtures decompressed to a temporary copy first) and a few images made
# here keep their SHA-256 through info, map, check, snapshot -l, compare and
# being the source of convert.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"

tmpdir
mkdir "$TMPD/in" "$TMPD/out"

# Images made here, so the test means something even without fixtures.
if command -v qemu-img >/dev/null 2>&1; then
	truncate -s 8M "$TMPD/in/made.raw"
	printf 'vimg' | dd of="$TMPD/in/made.raw" bs=1 seek=1048576 conv=notrunc 2>/dev/null
	qemu-img convert -f raw -O qcow2 "$TMPD/in/made.raw" "$TMPD/in/made.qcow2"
	qemu-img create -q -f qcow2 -b made.qcow2 -F qcow2 "$TMPD/in/overlay.qcow2"
	qemu-img convert -c -f raw -O qcow2 "$TMPD/in/made.raw" "$TMPD/in/compressed.qcow2"
fi

# Decompressed copies of compressed fixtures.
if [ -d "$VIMG_FIXTURES" ]; then
	find "$VIMG_FIXTURES" -type f \( -name '*.xz' -o -name '*.gz' \) | while read -r f; do
		base=$(basename "$f")
		case "$f" in
		*.xz) command -v xz >/dev/null 2>&1 && xz -dc "$f" >"$TMPD/in/${base%.xz}" ;;
		*.gz) gzip -dc "$f" >"$TMPD/in/${base%.gz}" ;;
		esac
	done
fi

list="$TMPD/files"
{
	find "$TMPD/in" -type f
	if [ -d "$VIMG_FIXTURES" ]; then
		find "$VIMG_FIXTURES" -type f ! -name '*.xz' ! -name '*.gz' ! -name '*.sh' \
			! -name '*.c' ! -name '*.S' ! -name 'SHA256SUMS' ! -name '*.md' \
			! -name '*.txt' ! -name '*.out'
	fi
} | sort >"$list"
[ -s "$list" ] || skip "no images: qemu-img missing and no fixtures"

# Every file is hashed before and after all commands ran over all files, so
# a command that writes to a backing file or sibling is caught too.
sums_before=$(while read -r f; do sha256sum "$f"; done <"$list")

n=0
while read -r f; do
	n=$((n + 1))
	for args in "info" "info --output=json" "info --backing-chain" \
		    "info --backing-chain --output=json" "map" "map --output=json" \
		    "check" "check --output=json" "snapshot -l"; do
		# shellcheck disable=SC2086
		sha256_unchanged "$f" "$VIMG" $args "$f"
	done
	sha256_unchanged "$f" "$VIMG" compare "$f" "$f"
	sha256_unchanged "$f" "$VIMG" convert -O qcow2 "$f" "$TMPD/out/c.qcow2"
	sha256_unchanged "$f" "$VIMG" convert -O raw "$f" "$TMPD/out/c.raw"
	rm -f "$TMPD/out/c.qcow2" "$TMPD/out/c.raw"
done <"$list"

sums_after=$(while read -r f; do sha256sum "$f"; done <"$list")
[ "$sums_before" = "$sums_after" ] || fail "some file changed"
echo "PASS: $n files unchanged"
