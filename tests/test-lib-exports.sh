#!/bin/sh
# libvimg.so must export the vimg_* API and nothing else (drivers, helpers
# and vimg_drv_* tables stay hidden).
lib=$(ls "$VIMG_BUILDDIR"/libvimg/.libs/libvimg.so.* 2>/dev/null | head -n 1)
if [ -z "$lib" ]; then
	echo "SKIP: no shared libvimg built"; exit 77
fi
command -v nm >/dev/null || { echo "SKIP: nm not available"; exit 77; }
syms=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBR]$/ {print $3}')
bad=$(printf '%s\n' "$syms" | grep -v '^vimg_' | grep -v '^VIMG_0$' || true)
hidden=$(printf '%s\n' "$syms" | grep -E '^vimg_(drv_|alloc_table|read_below|log$)' || true)
count=$(printf '%s\n' "$syms" | grep -c '^vimg_')
echo "exports: $count vimg_* symbols"
[ -z "$bad" ] || { echo "FAIL: unexpected exports:"; echo "$bad"; exit 1; }
[ -z "$hidden" ] || { echo "FAIL: internal symbols exported:"; echo "$hidden"; exit 1; }
[ "$count" -ge 30 ] || { echo "FAIL: only $count exports"; exit 1; }
soname=$(objdump -p "$lib" 2>/dev/null | awk '/SONAME/ {print $2}')
[ "$soname" = "libvimg.so.0" ] || { echo "FAIL: soname '$soname'"; exit 1; }
