#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Global options, help for every command, exit codes of usage errors, and
# `vimg formats` (human and JSON).
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"

tmpdir
cd "$TMPD"

expect_status 0 "$VIMG" --version
grep -q '^vimg [0-9]' out || fail "--version output: $(cat out)"

expect_status 0 "$VIMG" --help
cp out help.txt
for cmd in info create convert compare check map snapshot formats inspect clone config; do
	grep -q "^  $cmd " help.txt || fail "--help does not list $cmd"
	expect_status 0 "$VIMG" "$cmd" --help
	grep -q "^Usage: vimg $cmd" out || fail "$cmd --help: $(head -n 1 out)"
	expect_status 0 "$VIMG" help "$cmd"
	grep -q "^Usage: vimg $cmd" out || fail "help $cmd"
	expect_status 0 "$VIMG" "$cmd" -h
done

# Usage errors exit 2 with one "vimg <cmd>:" line and a hint.
expect_status 2 "$VIMG"
expect_status 2 "$VIMG" no-such-command
grep -q "unknown command 'no-such-command'" err || fail "unknown command message"
expect_status 2 "$VIMG" --no-such-option
expect_status 2 "$VIMG" help no-such-command
expect_status 2 "$VIMG" info
grep -q '^vimg info: ' err || fail "info without IMAGE: $(cat err)"
grep -q "Try 'vimg info --help'" err || fail "no --help hint"
expect_status 2 "$VIMG" info --bogus x
expect_status 2 "$VIMG" info --output=xml x
expect_status 2 "$VIMG" info -f no-such-format x
grep -q "unknown format 'no-such-format'" err || fail "unknown format message"
expect_status 2 "$VIMG" convert -m 0 a b
expect_status 2 "$VIMG" convert -m 17 a b
expect_status 2 "$VIMG" convert onlyone
expect_status 2 "$VIMG" map
expect_status 2 "$VIMG" check -r sometimes x
expect_status 2 "$VIMG" snapshot x
expect_status 2 "$VIMG" snapshot -c snap -a snap x
expect_status 2 "$VIMG" inspect
expect_status 2 "$VIMG" clone only-one
expect_status 2 "$VIMG" config

# Image errors exit 1 with exactly one message line.
expect_status 1 "$VIMG" info does-not-exist.img
[ "$(wc -l <err)" -eq 1 ] || fail "more than one error line: $(cat err)"
grep -q '^vimg info: .*does-not-exist.img' err || fail "error message: $(cat err)"

# formats: raw and qcow2 are registered, JSON parses.
expect_status 0 "$VIMG" formats
grep -q '^raw ' out || fail "formats lacks raw"
grep -q '^qcow2 ' out || fail "formats lacks qcow2"
if command -v python3 >/dev/null 2>&1; then
	"$VIMG" formats --output=json >f.json
	names=$(json_get f.json "' '.join(x['name'] for x in d)")
	case " $names " in
	*" raw "*) ;;
	*) fail "formats json: $names" ;;
	esac
fi
echo PASS
