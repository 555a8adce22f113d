#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# LUKS-encrypted qcow2 written by qemu-img reads back in vimg with the same
# secret, byte for byte what qemu-img decrypts, for qemu's default cipher
# (aes-256-xts-plain64, sha256) and the other modes qemu writes; the secret
# by --secret-file, --object secret,data= and ,file=; a wrong secret and a
# missing one are clear errors; vimg info shows the encryption as qemu-img
# info does; nothing is written to the image. Writing encrypted images is
# not done yet (refused).
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"

requires qemu-img --version
requires qemu-io --version
requires python3 --version
tmpdir
cd "$TMPD"

printf 'correct horse' >secret.txt
OBJ="secret,id=s0,file=$TMPD/secret.txt"

# luks_image NAME [ENCRYPT OPTS]: 8 MiB, data written by qemu-io. qemu's
# PBKDF2 benchmark fails now and then ("Unable to get accurate CPU usage")
# when a short run rounds to 0 ms of thread time: that alone is retried.
luks_image() {
	for try in 1 2 3 4 5; do
		rc=0
		qemu-img create -q --object "$OBJ" -f qcow2 \
			-o "encrypt.format=luks,encrypt.key-secret=s0,encrypt.iter-time=10${2:+,$2}" \
			"$1" 8M 2>create.err || rc=$?
		[ $rc = 0 ] && break
		grep -q "Unable to get accurate CPU usage" create.err && [ $try -lt 5 ] ||
			{ cat create.err; fail "qemu-img create $1 exited $rc"; }
	done
	qemu-io --object "$OBJ" --image-opts "driver=qcow2,file.filename=$1,encrypt.key-secret=s0" \
		-c "write -P 0x42 1M 64k" -c "write -P 0x17 3M 1000" -c "write -P 0x99 7M 1M" \
		>/dev/null
	qemu-img convert --object "$OBJ" --image-opts \
		"driver=qcow2,file.filename=$1,encrypt.key-secret=s0" -O raw "$1.qemu.raw"
}
encrypt_info() {
	python3 -c '
import json, sys
d = json.load(sys.stdin)["format-specific"]["data"]["encrypt"]
print(sorted((k, v) for k, v in d.items() if k != "slots"),
      [(s["active"], s.get("iters"), s.get("stripes")) for s in d["slots"]])'
}

for mode in "" "encrypt.cipher-alg=aes-128" "encrypt.hash-alg=sha512" \
	"encrypt.cipher-mode=cbc,encrypt.ivgen-alg=essiv,encrypt.ivgen-hash-alg=sha256" \
	"encrypt.cipher-alg=aes-128,encrypt.cipher-mode=cbc,encrypt.ivgen-alg=plain,encrypt.hash-alg=sha1"; do
	img=e$(printf '%s' "$mode" | cksum | cut -d' ' -f1).qcow2
	luks_image "$img" "$mode"
	before=$(sha256sum "$img")
	expect_status 0 "$VIMG" convert --secret-file secret.txt -O raw "$img" "$img.vimg.raw"
	cmp -s "$img.vimg.raw" "$img.qemu.raw" || fail "${mode:-default}: not what qemu-img decrypts"
	expect_status 0 "$VIMG" info --output=json "$img"
	vi=$(encrypt_info <out)
	qi=$(qemu-img info --output=json "$img" | encrypt_info)
	[ "$vi" = "$qi" ] || fail "${mode:-default}: info $vi, qemu-img: $qi"
	[ "$(sha256sum "$img")" = "$before" ] || fail "${mode:-default}: reading wrote"
	echo "ok: ${mode:-default}"
done

img=e.qcow2
luks_image $img
# The secret by --object, as qemu-img takes it.
expect_status 0 "$VIMG" compare --object "secret,id=x,data=correct horse" -F raw $img $img.qemu.raw
expect_status 0 "$VIMG" compare --object="$OBJ" -F raw $img $img.qemu.raw
# Wrong and missing secrets.
printf 'correct horse\n' >wrong.txt
expect_status 1 "$VIMG" convert --secret-file wrong.txt -O raw $img x.raw
grep -q "no key slot opens with the secret given" err || fail "wrong secret: $(cat err)"
expect_status 1 "$VIMG" convert -O raw $img x.raw
grep -q "encrypted: give its secret" err || fail "no secret: $(cat err)"
expect_status 2 "$VIMG" info --secret-file "$TMPD/none.txt" $img
expect_status 2 "$VIMG" info --object secret,id=x $img
# Writing is refused, the image unchanged.
before=$(sha256sum $img)
expect_status 1 "$VIMG" resize --secret-file secret.txt $img +1M
grep -q "encrypted (LUKS) image is not supported" err || fail "write: $(cat err)"
[ "$(sha256sum $img)" = "$before" ] || fail "a refused write changed the image"
echo "PASS"
