# vhdx driver tests: Check unit test (round trips, fixtures, pending log,
# differencing, malformed structures, mutations) and shell tests against
# qemu-img and libyal's vhdiinfo.
if HAVE_CHECK
check_PROGRAMS += tests/check-vhdx
TESTS += tests/check-vhdx
tests_check_vhdx_LDADD = libvimg/libvimg-internal.la $(TESTLIB)
endif
TESTS += tests/test-vhdx-interop.sh tests/test-vhdx-corrupt.sh
EXTRA_DIST += tests/test-vhdx-interop.sh tests/test-vhdx-corrupt.sh tests/fuzz/fuzz-vhdx.c \
	fixtures/vhdx/make-fixtures.sh fixtures/vhdx/dynamic-qemu.vhdx.gz \
	fixtures/vhdx/fixed-qemu.vhdx.gz fixtures/vhdx/pending-log.vhdx.gz
