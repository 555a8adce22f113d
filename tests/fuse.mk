# vimgmount tests: the partition-table unit test (library side) and the FUSE
# shell tests (they compute VIMGMOUNT as $VIMG_BUILDDIR/fuse/vimgmount and
# skip with 77 when FUSE mounting is not possible here).
if HAVE_CHECK
check_PROGRAMS += tests/check-partition
TESTS += tests/check-partition
tests_check_partition_LDADD = libvimg/libvimg-internal.la $(TESTLIB)
endif
FUSE_TESTS = tests/test-fuse-usage.sh tests/test-fuse-equivalence.sh \
	tests/test-fuse-filesystems.sh tests/test-fuse-readonly.sh tests/test-fuse-overlay.sh \
	tests/test-fuse-rw.sh tests/test-fuse-bundle.sh
if HAVE_FUSE
TESTS += $(FUSE_TESTS)
endif
EXTRA_DIST += $(FUSE_TESTS) tests/fuse-functions.sh fixtures/fs/make-fixtures.sh \
	fixtures/fs/mbr-fs.qcow2.gz fixtures/fs/gpt-fs.vmdk.gz bench/bench-mount.sh
