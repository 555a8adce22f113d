#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Extract Debian's linux-image-amd64 kernel (and its modules) for the vimg
# boot tests, without installing it: apt-get download + dpkg-deb -x into
# DESTDIR (default: tests/boot-kernel under the current directory, where
# the tests look when run from the build directory).
set -e
dest=${1:-tests/boot-kernel}
if ls "$dest"/boot/vmlinuz-* >/dev/null 2>&1; then
	echo "kernel already in $dest"
	exit 0
fi
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}')
[ -n "$pkg" ] || { echo "linux-image-amd64: no dependency found (apt-get update?)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download "$pkg" >/dev/null)
mkdir -p "$dest"
dpkg-deb -x "$tmp"/*.deb "$dest"
ls "$dest"/boot/vmlinuz-*
