#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Install dependencies, then build and run every test twice: a normal build
# in build/ and an ASan/UBSan build in build-asan/, both with -Werror. The
# second run happens even if the first fails. Failing tests' log tails are
# printed, and the last line is "N passed, N failed, N skipped" over both
# runs (automake's meaning: PASS and XFAIL pass; FAIL, XPASS and ERROR fail).
# Exits non-zero if anything failed or if no test ran.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

"$top/scripts/deps.sh" || exit 1

passed=0
failed=0
skipped=0

# count BUILDDIR: add the automake summary of BUILDDIR/test-suite.log.
count() {
	log="$1/test-suite.log"
	if [ ! -f "$log" ]; then
		echo "test: no $log: make check did not get to run the tests" >&2
		failed=$((failed + 1))
		return
	fi
	get() { sed -n "s/^# $1: *\([0-9][0-9]*\).*/\1/p" "$log" | head -n 1; }
	p=$(get PASS); xf=$(get XFAIL); f=$(get FAIL); xp=$(get XPASS)
	e=$(get ERROR); s=$(get SKIP)
	passed=$((passed + ${p:-0} + ${xf:-0}))
	failed=$((failed + ${f:-0} + ${xp:-0} + ${e:-0}))
	skipped=$((skipped + ${s:-0}))
	echo "test: $1: PASS ${p:-0} XFAIL ${xf:-0} FAIL ${f:-0} XPASS ${xp:-0} ERROR ${e:-0} SKIP ${s:-0}"
}

# tails BUILDDIR: print the end of the log of every failed test.
tails() {
	find "$1" -name '*.trs' | sort | while read -r trs; do
		if grep -Eq '^:test-result: (FAIL|XPASS|ERROR)' "$trs"; then
			tlog="${trs%.trs}.log"
			echo "===== ${tlog#"$1"/} (last 40 lines) ====="
			tail -n 40 "$tlog" 2>/dev/null || true
		fi
	done
}

# run NAME BUILDDIR [configure args...]: build and make check in BUILDDIR.
run() {
	name=$1
	dir="$top/$2"
	shift 2
	echo "===== $name build ($dir) ====="
	rm -f "$dir/test-suite.log"
	if ! "$top/scripts/build.sh" "$dir" --enable-werror "$@"; then
		echo "test: $name build failed" >&2
		count "$dir"
		return
	fi
	echo "===== $name make check ====="
	make -C "$dir" -j2 check || echo "test: $name make check failed" >&2
	tails "$dir"
	count "$dir"
}

# The boot tests boot Debian's kernel: extract linux-image-amd64 once (never
# installed) and share it between both runs; without it they skip.
if [ -z "${VIMG_TEST_KERNEL:-}" ]; then
	if sh "$top/tests/boot-get-kernel.sh" "$top/build-kernel" >/dev/null 2>&1; then
		VIMG_TEST_KERNEL=$(ls "$top"/build-kernel/boot/vmlinuz-* | head -n 1)
		export VIMG_TEST_KERNEL
		echo "test: boot tests use $VIMG_TEST_KERNEL"
	else
		echo "test: no Debian kernel extracted; kernel boot tests will skip" >&2
	fi
fi

run normal build

ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
VIMG_SANITIZED=1
export ASAN_OPTIONS UBSAN_OPTIONS VIMG_SANITIZED
run sanitizers build-asan --enable-sanitizers

echo "$passed passed, $failed failed, $skipped skipped"
if [ "$failed" -ne 0 ] || [ $((passed + failed)) -eq 0 ]; then
	exit 1
fi
exit 0
