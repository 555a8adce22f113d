#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Install the Debian packages listed in debian-packages.txt that are missing.
# Runs as root directly, or through sudo when available; does nothing (and
# needs no privileges) when everything is already installed.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
list="$top/debian-packages.txt"

missing=""
for pkg in $(sed -e 's/#.*//' "$list"); do
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	case "$status" in
	*"install ok installed"*) ;;
	*) missing="$missing $pkg" ;;
	esac
done

if [ -z "$missing" ]; then
	echo "deps: all packages from debian-packages.txt are installed"
	exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
	as_root=""
elif command -v sudo >/dev/null 2>&1; then
	as_root="sudo"
else
	echo "deps: missing packages:$missing" >&2
	echo "deps: not root and no sudo; install them and run again" >&2
	exit 1
fi

echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$as_root env DEBIAN_FRONTEND=noninteractive apt-get update
# shellcheck disable=SC2086
$as_root env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y --no-install-recommends $missing
