#!/bin/sh
# vimg config on every real .vmx (the shared corpus) and .vmsd (fixtures):
# a new key set then unset gives back the original bytes; setting an existing
# key changes exactly one line and reads back; setting it back restores the
# file; a value with a quote and a newline is stored escaped as VMware does;
# reading never writes; the malformed corpus files fail naming the line.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"
corpus=$(corpus_dir) || skip "no real-world corpus (VIMG_CORPUS)"
tmpdir
cd "$TMPD"
n=0
for f in "$corpus"/vmx/*/*.vmx "$VIMG_FIXTURES"/vmware/*.vmsd; do
	case "$f" in */fail-*) continue ;; esac
	ext=${f##*.}
	cp "$f" "orig.$ext"
	cp "$f" "c.$ext"
	touch -d '2020-01-01' "c.$ext"
	"$VIMG" config "c.$ext" >/dev/null || fail "reading $f"
	"$VIMG" config --output=json "c.$ext" >keys.json || fail "json listing of $f"
	[ "$(stat -c %Y "c.$ext")" = "$(date -d 2020-01-01 +%s)" ] || fail "reading $f wrote it"
	"$VIMG" config "c.$ext" --set vimg.test.newkey=x || fail "set new key in $f"
	grep -q '^vimg.test.newkey = "x"' "c.$ext" || fail "new key line in $f"
	"$VIMG" config "c.$ext" --unset vimg.test.newkey || fail "unset in $f"
	cmp -s "orig.$ext" "c.$ext" || fail "set+unset of a new key changed $f"
	# The first key whose value is not "x": set it, one line changes.
	key=$(json_get keys.json "([k['key'] for k in d['keys'] if k['value'] != 'x' and k['key'] != '.encoding'] + [''])[0]")
	if [ -n "$key" ]; then
		old=$(json_get keys.json "[k['value'] for k in d['keys'] if k['key'] == '$key'][-1]")
		"$VIMG" config "c.$ext" --set "$key=x" >/dev/null || fail "set $key in $f"
		[ "$("$VIMG" config "c.$ext" --get "$key")" = x ] || fail "get $key in $f"
		changed=$(diff "orig.$ext" "c.$ext" | grep -c '^>' || true)
		[ "$changed" = 1 ] || fail "setting $key changed $changed lines of $f"
		"$VIMG" config "c.$ext" --set "$key=$old" || fail "set $key back in $f"
		cmp -s "orig.$ext" "c.$ext" || fail "setting $key back did not restore $f"
	fi
	n=$((n + 1))
done
[ "$n" -gt 30 ] || fail "only $n files tried"

# Escapes: a quote and a newline go in as |22 and |0A and come back out.
cp "$corpus/vmx/virt-v2v/test-i-vmx-2.vmx" e.vmx
"$VIMG" config e.vmx --set 'annotation=say "hi"
twice'
grep -q '^annotation = "say |22hi|22|0Atwice"' e.vmx || fail "escaping: $(grep annotation e.vmx)"
[ "$("$VIMG" config e.vmx --get annotation)" = 'say "hi"
twice' ] || fail "unescaping"

# Reading never writes: listing, JSON and --get (also a failing one) keep
# the bytes and the mtime.
touch -d '2020-01-01 12:00' e.vmx
before="$(sha256sum <e.vmx) $(stat -c %Y e.vmx)"
"$VIMG" config e.vmx >/dev/null
"$VIMG" config --output=json e.vmx >/dev/null
"$VIMG" config e.vmx --get annotation --get displayName >/dev/null
"$VIMG" config e.vmx --get annotation --get no.such.key --output=json >/dev/null 2>&1 || true
[ "$(sha256sum <e.vmx) $(stat -c %Y e.vmx)" = "$before" ] || fail "reading e.vmx wrote it"

# Refused edits leave the file as it was: bytes that are not UTF-8, a bad
# key, a change of .encoding (the other lines would be misread).
expect_status 1 "$VIMG" config e.vmx --set "annotation=$(printf 'x\377')"
grep -q 'the value of annotation is not valid UTF-8' err || fail "invalid UTF-8: $(cat err)"
expect_status 1 "$VIMG" config e.vmx --set memsize=1 --set .encoding=windows-1252
grep -q 'changing .encoding' err || fail ".encoding change: $(cat err)"
"$VIMG" config e.vmx --set .ENCODING=UTF-8 || fail "setting .encoding to itself"
[ "$(sha256sum <e.vmx) $(stat -c %Y e.vmx)" = "$before" ] || fail "a refused edit wrote e.vmx"
printf '.encoding = "windows-1252"\ndisplayName = "Caf\351"\n' >w.vmx
cp w.vmx w0.vmx
expect_status 1 "$VIMG" config w.vmx --unset .encoding
expect_status 1 "$VIMG" config w.vmx --set .encoding=UTF-8
[ "$("$VIMG" config w.vmx --get displayname)" = "Café" ] || fail "windows-1252 value"
"$VIMG" config w.vmx --set displayName=Noël
printf '.encoding = "windows-1252"\ndisplayName = "No\353l"\n' >want.vmx
cmp -s want.vmx w.vmx || fail "windows-1252 write: $(od -c w.vmx)"
"$VIMG" config w.vmx --set displayName=Café
cmp -s w0.vmx w.vmx || fail "windows-1252 round trip"

# Malformed files: exit 1, one message naming the file and the line.
for f in "$corpus"/vmx/vm-config/fail-*.vmx; do
	expect_status 1 "$VIMG" config "$f"
	grep -q "$(basename "$f"): vmx: line 1: " err || fail "$f: $(cat err)"
done
expect_status 1 "$VIMG" config --get no.such.key e.vmx
grep -q 'no key "no.such.key"' err || fail "missing key message"
expect_status 2 "$VIMG" config e.vmx --set novalue
expect_status 1 "$VIMG" config e.vmx --set 'bad key=1'
echo "PASS: $n files"
