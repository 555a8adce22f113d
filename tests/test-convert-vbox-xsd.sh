#!/bin/sh
# The .vbox files vimg writes are valid under VirtualBox's own settings
# schema, src/VBox/Main/xml/VirtualBox-settings.xsd in the VirtualBox
# sources. The schema is not part of vimg (GPL-3.0, VirtualBox's): name it
# with VIMG_VBOX_XSD, or the test is skipped.
. "${VIMG_SRCDIR:-$(dirname "$0")/..}/tests/functions.sh"
[ -n "${VIMG_VBOX_XSD:-}" ] ||
	skip "VIMG_VBOX_XSD is unset: name VirtualBox's VirtualBox-settings.xsd to validate against"
[ -f "$VIMG_VBOX_XSD" ] || skip "VIMG_VBOX_XSD names no file: $VIMG_VBOX_XSD"
requires xmllint --version
tmpdir
make_bundles "$TMPD/b"
cd "$TMPD"

for vm in ws-bios esx-efi chain branch; do
	"$VIMG" convert --to virtualbox b/$vm vb-$vm >/dev/null 2>&1 || fail "convert $vm"
	xmllint --noout --nonet --schema "$VIMG_VBOX_XSD" vb-$vm/$vm.vbox 2>err ||
		fail "$vm: $(cat err)"
done
"$VIMG" convert --to virtualbox -O vmdk b/esx-efi vmdk >/dev/null 2>&1 || fail "-O vmdk"
xmllint --noout --nonet --schema "$VIMG_VBOX_XSD" vmdk/esx-efi.vbox 2>err || fail "-O vmdk: $(cat err)"
# The check can fail: a controller type the schema does not know.
sed 's/type="LsiLogicSas"/type="VirtIO"/' vmdk/esx-efi.vbox >bad.vbox
! xmllint --noout --nonet --schema "$VIMG_VBOX_XSD" bad.vbox 2>/dev/null ||
	fail "the schema accepts what it should not: is $VIMG_VBOX_XSD VirtualBox's?"
echo "PASS: .vbox files valid under $VIMG_VBOX_XSD"
