#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Build vimg out of tree: scripts/build.sh [BUILDDIR] [configure args...]
# Runs ./autogen.sh when configure is missing or older than its inputs,
# configures BUILDDIR (default build/) once, then runs make -j2 there.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
builddir=${1:-build}
if [ $# -gt 0 ]; then
	shift
fi
case "$builddir" in
/*) ;;
*) builddir="$top/$builddir" ;;
esac

cd "$top"
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt configure ]; then
	echo "build: ./autogen.sh"
	./autogen.sh
fi

if [ -f "$top/config.status" ] && [ "$builddir" != "$top" ]; then
	echo "build: $top is configured in place; run 'make distclean' there first" >&2
	echo "build: (an in-tree configure blocks out-of-tree builds)" >&2
	exit 1
fi

mkdir -p "$builddir"
cd "$builddir"
# Reconfigure when asked for different arguments than last time.
want="$*"
if [ ! -f Makefile ] || [ "$(cat .configure-args 2>/dev/null || true)" != "$want" ]; then
	echo "build: configure $want (in $builddir)"
	"$top/configure" "$@"
	printf '%s' "$want" >.configure-args
fi
echo "build: make -j2 (in $builddir)"
make -j2
