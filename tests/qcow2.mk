# qcow2 driver tests: Check unit test (round trips, fixtures, mutations) and
# shell tests against qemu-img (interop both ways, corruption table).
if HAVE_CHECK
check_PROGRAMS += tests/check-qcow2
TESTS += tests/check-qcow2
tests_check_qcow2_LDADD = libvimg/libvimg-internal.la $(TESTLIB)
endif
TESTS += tests/test-qcow2-interop.sh tests/test-qcow2-corrupt.sh tests/test-qcow2-compressed-size.sh
EXTRA_DIST += tests/test-qcow2-interop.sh tests/test-qcow2-corrupt.sh tests/test-qcow2-compressed-size.sh \
	tests/fuzz/fuzz-qcow2.c tests/fuzz/fuzz-luks.c fixtures/make-fixtures.sh fixtures/SHA256SUMS \
	fixtures/qcow2/v2.qcow2.gz fixtures/qcow2/v3-compressed.qcow2.gz \
	fixtures/qcow2/extl2.qcow2.gz fixtures/qcow2/snapshot.qcow2.gz
