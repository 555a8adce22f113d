#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# A 5 GiB twoGbMaxExtentSparse disk with data in every extent (and across
# extent boundaries) converts to qcow2 and back, identical, and qemu agrees.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"
requires qemu-io --version
requires qemu-img --version
tmpdir
cd "$TMPD"

expect_status 0 "$VIMG" create -f vmdk -o subformat=twoGbMaxExtentSparse d.vmdk 5G
[ -f d-s001.vmdk ] && [ -f d-s002.vmdk ] && [ -f d-s003.vmdk ] || fail "extent files missing"
for o in 0 2047M 3000M 4095M 5119M; do
	qemu-io -f vmdk -c "write -P 0x5a ${o} 1M" d.vmdk >/dev/null
done
expect_status 0 "$VIMG" convert -O qcow2 d.vmdk d.qcow2
expect_status 0 "$VIMG" convert -O vmdk -o subformat=twoGbMaxExtentSparse d.qcow2 back.vmdk
expect_status 0 "$VIMG" compare d.vmdk back.vmdk
qemu-img compare -q d.vmdk back.vmdk || fail "qemu-img compare"
qemu-img compare -q d.qcow2 back.vmdk || fail "qemu-img compare qcow2"
peer_check back.vmdk
expect_status 0 "$VIMG" check back.vmdk
exit 0
