# vmdk driver tests: Check unit test (descriptor, round trips, stream
# checklist, delta links, fixtures, malformed images, mutations) and shell
# tests against qemu-img and libyal's vmdkinfo.
if HAVE_CHECK
check_PROGRAMS += tests/check-vmdk
TESTS += tests/check-vmdk
tests_check_vmdk_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/formats
tests_check_vmdk_LDADD = libvimg/libvimg-internal.la $(TESTLIB)
endif
TESTS += tests/test-vmdk-interop.sh tests/test-vmdk-chain.sh tests/test-vmdk-corrupt.sh \
	tests/test-vmdk-split.sh
EXTRA_DIST += tests/test-vmdk-interop.sh tests/test-vmdk-chain.sh tests/test-vmdk-corrupt.sh \
	tests/test-vmdk-split.sh tests/fuzz/fuzz-vmdk.c fixtures/vmdk/make-fixtures.sh \
	fixtures/gen/vmdk-gen.py fixtures/vmdk/stream-qemu.vmdk.gz \
	fixtures/vmdk/sparse-zeroed.vmdk.gz fixtures/vmdk/cowd.vmdk fixtures/vmdk/cowd-delta.vmdk \
	fixtures/vmdk/se.vmdk fixtures/vmdk/se-sesparse.vmdk
