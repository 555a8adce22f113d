#!/bin/sh
# vimg config on generated malformed or oversized files: each is refused with
# exit 1 and one line naming the file, the line where there is one, and the
# problem, quickly (every run is capped by timeout 10 and the refusals must
# take under a second); what is large but within the limits (a 10 MiB value,
# 999,999 keys) still loads, and is timed.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"
requires python3 --version
requires timeout --version
tmpdir
cd "$TMPD"

# now_ms: milliseconds since the epoch.
now_ms() {
	date +%s%3N
}

# refused FILE MESSAGE: vimg config FILE exits 1, printing nothing on stdout
# and exactly one line "vimg config: FILE: ...MESSAGE..." on stderr, within a
# second (not timed in sanitizer builds).
refused() {
	_t0=$(now_ms)
	expect_status 1 timeout 10 "$VIMG" config "$1"
	_ms=$(($(now_ms) - _t0))
	[ "$(wc -l <err)" = 1 ] || fail "$1: more than one line: $(cat err)"
	grep -qF "vimg config: $1: " err || fail "$1: message does not name the file: $(cat err)"
	grep -qF "$2" err || fail "$1: expected '$2' in: $(cat err)"
	if unsanitized && [ "$_ms" -ge 1000 ]; then
		fail "$1: took $_ms ms"
	fi
	[ ! -s out ] || fail "$1: printed a listing"
	echo "refused in $_ms ms: $(cat err)"
}

printf '.encoding = "KOI8-ZZ"\nmemsize = "1024"\n' >enc.vmx
refused enc.vmx 'unsupported encoding "KOI8-ZZ"'

printf 'displayName = "ok"\nannotation = "caf\351"\n' >utf8.vmx
refused utf8.vmx 'line 2: not valid UTF-8 (and no encoding is named)'

printf '.encoding = "UTF-8"\nmemsize = "1024\nguestOS = "other"\n' >quote.vmx
refused quote.vmx 'line 2: unterminated quoted value'

printf 'memsize = "1024"\n\nnumvcpus "2"\n' >equals.vmx
refused equals.vmx 'line 3: expected '\''='\'' after the key'

printf 'a = "1"\nb = "2\000"\n' >nul.vmx
refused nul.vmx 'line 2: NUL byte'

python3 - <<'EOF'
big = b'x' * (10 << 20)
with open('line10m.vmx', 'wb') as f:
    f.write(b'.encoding = "UTF-8"\nannotation = "' + big + b'"\nguestOS = "other"\n')
with open('size17m.vmx', 'wb') as f:
    f.write(b'annotation = "' + b'x' * (17 << 20) + b'"\n')
# 10 MiB on one line, its quote never closed.
with open('open10m.vmx', 'wb') as f:
    f.write(b'annotation = "' + big + b'\n')
# Short lines, so that the line limit and not the size limit is what counts.
with open('keys1m.vmx', 'w') as f:
    f.write(''.join(f'k{i}=1\n' for i in range(1000001)))
with open('keys999k.vmx', 'w') as f:
    f.write(''.join(f'k{i} = "{i % 10}"\n' for i in range(999999)))
EOF

refused size17m.vmx 'larger than 16777216 bytes'
refused open10m.vmx 'line 1: unterminated quoted value'
refused keys1m.vmx 'more than 1000000 lines'

# Within the limits: a well-formed 10 MiB value parses and reads back.
t0=$(now_ms)
timeout 10 "$VIMG" config line10m.vmx --get annotation --get guestOS >got ||
	fail "10 MiB value refused"
echo "10 MiB value: --get in $(($(now_ms) - t0)) ms"
[ "$(sed -n 2p got)" = other ] || fail "value after the 10 MiB line"
[ "$(head -n 1 got | wc -c)" = $(((10 << 20) + 1)) ] || fail "10 MiB value length"

# 999,999 keys: listed, read and edited within a few seconds.
t0=$(now_ms)
timeout 10 "$VIMG" config keys999k.vmx >list || fail "999,999 keys refused"
ms=$(($(now_ms) - t0))
echo "999,999 keys: listing in $ms ms"
[ "$(wc -l <list)" = 999999 ] || fail "listing of 999,999 keys"
if unsanitized && [ "$ms" -ge 5000 ]; then
	fail "listing 999,999 keys took $ms ms"
fi
cp keys999k.vmx orig.vmx
t0=$(now_ms)
[ "$(timeout 10 "$VIMG" config keys999k.vmx --set k500000=w --get k500000 --get k999998)" = "w
8" ] || fail "edit of a 999,999-key file"
echo "999,999 keys: --set and --get in $(($(now_ms) - t0)) ms"
[ "$(diff orig.vmx keys999k.vmx)" = '500001c500001
< k500000 = "0"
---
> k500000 = "w"' ] || fail "the edit changed more than its line"
echo "PASS"
