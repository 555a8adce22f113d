# vhd driver tests: Check unit test (round trips, differencing, Azure sizing,
# fixtures, malformed structures, mutations) and shell tests against qemu-img
# ("vpc") and libyal's vhdiinfo.
if HAVE_CHECK
check_PROGRAMS += tests/check-vhd
TESTS += tests/check-vhd
tests_check_vhd_LDADD = libvimg/libvimg-internal.la $(TESTLIB)
endif
TESTS += tests/test-vhd-interop.sh tests/test-vhd-corrupt.sh
EXTRA_DIST += tests/test-vhd-interop.sh tests/test-vhd-corrupt.sh tests/fuzz/fuzz-vhd.c \
	fixtures/vhd/make-fixtures.sh fixtures/vhd/dynamic-qemu.vhd.gz fixtures/vhd/fixed-qemu.vhd.gz
