#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Every man page must be clean under mandoc -Tlint -W warning.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"

command -v mandoc >/dev/null 2>&1 || skip "mandoc not available"

n=0
for page in "$VIMG_SRCDIR"/man/*.[1-9]; do
	[ -f "$page" ] || continue
	out=$(mandoc -Tlint -W warning "$page" 2>&1) || true
	if [ -n "$out" ]; then
		echo "$out" >&2
		fail "mandoc lint: $page"
	fi
	n=$((n + 1))
done
[ "$n" -gt 0 ] || fail "no man pages found under $VIMG_SRCDIR/man"
echo "PASS: $n man pages lint-clean"
