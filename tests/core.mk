# Core unit tests (Check) and core-level shell tests.
if HAVE_CHECK
CORE_CHECKS = tests/check-error tests/check-path tests/check-opts tests/check-registry \
	tests/check-io tests/check-chain tests/check-copy tests/check-kvtext \
	tests/check-vmx tests/check-vmss tests/check-vmcx
check_PROGRAMS += $(CORE_CHECKS)
TESTS += $(CORE_CHECKS)
tests_check_error_LDADD = libvimg/libvimg-internal.la $(TESTLIB)
tests_check_path_LDADD = libvimg/libvimg-internal.la $(TESTLIB)
tests_check_opts_LDADD = libvimg/libvimg-internal.la $(TESTLIB)
tests_check_registry_LDADD = libvimg/libvimg-internal.la $(TESTLIB)
tests_check_io_LDADD = libvimg/libvimg-internal.la $(TESTLIB)
tests_check_chain_LDADD = libvimg/libvimg-internal.la $(TESTLIB)
tests_check_copy_LDADD = libvimg/libvimg-internal.la $(TESTLIB)
tests_check_kvtext_LDADD = libvimg/libvimg-internal.la $(TESTLIB)
tests_check_vmx_LDADD = libvimg/libvimg-internal.la $(TESTLIB)
tests_check_vmss_LDADD = libvimg/libvimg-internal.la $(TESTLIB)
tests_check_vmcx_LDADD = libvimg/libvimg-internal.la $(TESTLIB)
tests_check_vmcx_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/formats
endif
TESTS += tests/test-lib-exports.sh tests/test-fixtures-sums.sh
EXTRA_DIST += tests/test-lib-exports.sh tests/test-fixtures-sums.sh tests/fuzz/fuzz-kvtext.c \
	tests/fuzz/fuzz-vmx.c tests/fuzz/fuzz-vmsd.c tests/fuzz/fuzz-vmxf.c tests/fuzz/fuzz-bundle.h \
	fixtures/make-bundles.sh tests/fuzz/fuzz-vmss.c tests/fuzz/fuzz-libvirt.c tests/fuzz/fuzz-hyperv.c tests/fuzz/fuzz-ovf.c tests/fuzz/fuzz-tar.c tests/fuzz/fuzz-vbox.c tests/fuzz/fuzz-vmcx.c tests/fuzz/fuzz-xmlvm.h fixtures/vmss/make-seeds.sh \
	fixtures/vmss/magic-bed0bed0.vmss.xz fixtures/vmss/magic-bad1bad1.vmss.xz \
	fixtures/vmss/split.vmsn.xz
