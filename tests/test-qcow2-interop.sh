#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# qcow2 interoperability with qemu-img, both ways:
# - images qemu-img makes (cluster sizes 512 B..2 MiB, compat 0.10/1.1,
#   zlib/zstd compressed, extended L2, backing file) read back identical;
# - images vimg writes (same options, with and without -c) pass
#   `qemu-img check` and compare identical with qemu-img.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"

requires qemu-img --version
requires python3 --version
tmpdir
cd "$TMPD"

# A sparse source: random and repetitive extents at unaligned offsets.
python3 - <<'EOF'
import random
r = random.Random(7)
with open('src.raw', 'wb') as f:
    f.truncate((24 << 20) + 4096 + 512)
    for i in range(40):
        f.seek(r.randrange(0, 24 << 20))
        if i % 3 == 0:
            f.write(r.randbytes(r.randrange(1, 200000)))
        else:
            f.write((b'vimg qcow2 %d ' % i) * r.randrange(1, 20000))
    f.seek(0)
    f.write(r.randbytes(70000))
EOF
qemu-img create -q -f raw base.raw 24M
write_pattern base.raw 2 2 base

zstd=""
if qemu-img create -q -f qcow2 -o compression_type=zstd z.qcow2 1M 2>/dev/null; then
	zstd=yes
fi

same() { # same A B: vimg compare must say identical
	expect_status 0 "$VIMG" compare "$1" "$2"
}

n=0
for opts in "cluster_size=512" "cluster_size=65536" "cluster_size=2M" \
	"compat=0.10" "compat=1.1,lazy_refcounts=on" "extended_l2=on" \
	"extended_l2=on,cluster_size=2M" "refcount_bits=1" "refcount_bits=64,cluster_size=4k" \
	"compression_type=zstd"; do
	case $opts in *zstd*) [ -n "$zstd" ] || continue ;; esac
	for c in "" "-c"; do
		n=$((n + 1))
		# qemu-img writes, vimg reads.
		qemu-img convert $c -O qcow2 -o "$opts" src.raw q$n.qcow2
		same q$n.qcow2 src.raw
		expect_status 0 "$VIMG" info q$n.qcow2
		expect_status 0 "$VIMG" check q$n.qcow2
		# vimg writes, qemu-img checks and compares.
		"$VIMG" convert $c -O qcow2 -o "$opts" src.raw v$n.qcow2 ||
			fail "vimg convert $c -o $opts"
		peer_check v$n.qcow2
		qemu-img compare -q v$n.qcow2 src.raw || fail "qemu-img compare ($c $opts)"
		same v$n.qcow2 src.raw
		rm -f q$n.qcow2 v$n.qcow2
	done
done

# Backing file: the overlay holds only what differs.
qemu-img convert -O qcow2 base.raw base.qcow2
cp base.raw full.raw
write_pattern full.raw 10 1 top
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 top.qcow2
qemu-io -c "write -P 0x5a 10M 1M" top.qcow2 >/dev/null 2>&1 ||
	qemu-img rebase -q -u -b base.qcow2 -F qcow2 top.qcow2
qemu-img convert -O raw top.qcow2 top-expect.raw
same top.qcow2 top-expect.raw

# vimg makes an overlay through convert -B; qemu-img must agree.
"$VIMG" convert -O qcow2 -B base.qcow2 -F qcow2 full.raw ovl.qcow2 || fail "vimg convert -B"
peer_check ovl.qcow2
qemu-img compare -q ovl.qcow2 full.raw || fail "qemu-img compare overlay"
same ovl.qcow2 full.raw

# vimg create with a backing file, read through both tools.
"$VIMG" create -f qcow2 -b base.qcow2 -F qcow2 empty.qcow2 || fail "vimg create -b"
peer_check empty.qcow2
qemu-img compare -q empty.qcow2 base.raw || fail "qemu-img compare empty overlay"
same empty.qcow2 base.raw
[ "$(qemu-img info --output=json empty.qcow2 | json_get /dev/stdin "d['backing-filename-format']")" = qcow2 ] ||
	fail "backing format not recorded"

# Preallocation modes make images qemu-img accepts.
for p in metadata falloc full; do
	"$VIMG" create -f qcow2 -o preallocation=$p pre-$p.qcow2 5M || fail "create $p"
	peer_check pre-$p.qcow2
	qemu-img compare -q pre-$p.qcow2 "$(qemu-img create -q -f raw zero.raw 5M && echo zero.raw)" ||
		fail "preallocation=$p does not read as zeros"
done

# External data file, written by qemu-img, read by vimg.
qemu-img create -q -f qcow2 -o data_file=ext.data,data_file_raw=on ext.qcow2 24M
qemu-img dd -f raw -O qcow2 if=src.raw of=ext.qcow2 bs=1M 2>/dev/null ||
	qemu-img convert -n -f raw -O qcow2 src.raw ext.qcow2
same ext.qcow2 src.raw
echo "ok: $n option sets"
