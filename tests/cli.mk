# Shell tests of the vimg command (tests/test-<cmd>-<aspect>.sh), most
# cross-checked with qemu-img; each skips (77) when a peer tool is missing.
CLI_TESTS = \
	tests/test-cli-usage.sh \
	tests/test-man-lint.sh \
	tests/test-info-output.sh \
	tests/test-qemu-names.sh \
	tests/test-info-readonly.sh \
	tests/test-create-options.sh \
	tests/test-resize.sh \
	tests/test-measure.sh \
	tests/test-rebase-commit.sh \
	tests/test-rebase-vhd.sh \
	tests/test-sparsify.sh \
	tests/test-amend.sh \
	tests/test-dd-bench.sh \
	tests/test-luks.sh \
	tests/test-convert-formats.sh \
	tests/test-convert-sparse.sh \
	tests/test-compare-exit.sh \
	tests/test-check-report.sh \
	tests/test-map-qemu.sh \
	tests/test-cli-escape.sh \
	tests/test-snapshot-list.sh \
	tests/test-snapshot-qemu.sh \
	tests/test-snapshot-vm.sh \
	tests/test-clone-vm.sh \
	tests/test-inspect-vm.sh \
	tests/test-config-roundtrip.sh \
	tests/test-config-malformed.sh \
	tests/test-nvram.sh \
	tests/test-nvram-ovmf.sh \
	tests/test-nvram-vmware-write.sh \
	tests/test-memdump.sh \
	tests/test-convert-vm.sh \
	tests/test-convert-roundtrip.sh \
	tests/test-convert-hyperv-azure.sh \
	tests/test-convert-hyperv-xml.sh \
	tests/test-convert-ovf.sh \
	tests/test-import-generated.sh \
	tests/test-convert-vbox.sh \
	tests/test-inspect-vbox-corpus.sh \
	tests/test-convert-vbox-xsd.sh \
	tests/test-convert-hyperv-vmcx.sh
TESTS += $(CLI_TESTS)
EXTRA_DIST += $(CLI_TESTS) fixtures/gen/vmss-gen.py fixtures/gen/nvram-gen.py \
	fixtures/gen/vmcx-gen.py fixtures/gen/ovf-gen.py fixtures/gen/libvirt-gen.py \
	fixtures/nvram/make-certs.sh fixtures/nvram/pk.der fixtures/nvram/kek.der \
	fixtures/nvram/db.der tests/fuzz/fuzz-nvram.c \
	bench/bench-convert.sh bench/bench-convert-vm.sh
