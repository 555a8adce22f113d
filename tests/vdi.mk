# vdi driver tests: Check unit test (round trips, fixtures, malformed headers,
# mutations) and a shell test against qemu-img.
if HAVE_CHECK
check_PROGRAMS += tests/check-vdi
TESTS += tests/check-vdi
tests_check_vdi_LDADD = libvimg/libvimg-internal.la $(TESTLIB)
endif
TESTS += tests/test-vdi-interop.sh tests/test-vdi-differencing.sh
EXTRA_DIST += tests/test-vdi-interop.sh tests/test-vdi-differencing.sh tests/fuzz/fuzz-vdi.c fixtures/vdi/make-fixtures.sh \
	fixtures/vdi/dynamic-qemu.vdi.gz fixtures/vdi/static-qemu.vdi.gz
