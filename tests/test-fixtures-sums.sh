#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The committed fixtures match fixtures/SHA256SUMS: no test or tool has
# changed one in place, and the list was refreshed with the fixtures.
. "$VIMG_SRCDIR/tests/functions.sh"
requires sha256sum --version
cd "$VIMG_FIXTURES"
n=$(wc -l <SHA256SUMS)
[ "$n" -gt 0 ] || fail "fixtures/SHA256SUMS is empty"
sha256sum --quiet -c SHA256SUMS || fail "fixtures differ from fixtures/SHA256SUMS"
echo "$n fixtures match their checksums"
