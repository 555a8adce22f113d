# vimg boot tests: Check unit tests of the launcher's pieces, shell tests
# that boot the payloads in fixtures/boot/ (assembled at test time), boot
# loaders (SYSLINUX, GRUB) and Linux under both engines. Each skips (77)
# with its reason when /dev/kvm, qemu or a tool is missing.
# The longest, GRUB under the emulated KVM (minutes), is listed first in
# tests/local.mk so that make check -j2 runs everything else beside it.
BOOT_SLOW_TESTS = tests/test-boot-grub.sh tests/test-boot-syslinux.sh
BOOT_TESTS = \
	tests/test-boot-cli.sh \
	tests/test-boot-payloads.sh \
	tests/test-boot-bad-guest.sh \
	tests/test-boot-linux.sh \
	tests/test-boot-virtio-root.sh \
	tests/test-boot-vm.sh
TESTS += $(BOOT_TESTS)
if HAVE_BOOT
if HAVE_CHECK
check_PROGRAMS += tests/check-boot
TESTS += tests/check-boot
tests_check_boot_LDADD = libvimg/libvimg-internal.la $(TESTLIB)
endif
endif
EXTRA_DIST += $(BOOT_SLOW_TESTS) $(BOOT_TESTS) tests/boot-functions.sh tests/boot-images.sh tests/boot-get-kernel.sh \
	fixtures/boot/common.inc \
	fixtures/boot/lba-sum.S \
	fixtures/boot/chs-e820.S \
	fixtures/boot/bad-guest.S \
	fixtures/boot/tiny-linux.S \
	fixtures/boot/virtio-sum.S \
	bench/bench-boot.sh
