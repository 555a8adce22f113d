# Tests: Check unit tests per module, shell tests per command aspect.
# Fragments: tests/core.mk (core), tests/qcow2.mk (qcow2), tests/cli.mk (CLI).
AM_TESTS_ENVIRONMENT = \
	VIMG_FIXTURES='$(abs_top_srcdir)/fixtures'; export VIMG_FIXTURES; \
	VIMG_CORPUS="$${VIMG_CORPUS:-$(abs_top_srcdir)/../shared/corpus}"; export VIMG_CORPUS; \
	VIMG_SRCDIR='$(abs_top_srcdir)'; export VIMG_SRCDIR; \
	VIMG_BUILDDIR='$(abs_top_builddir)'; export VIMG_BUILDDIR; \
	VIMG='$(abs_top_builddir)/cli/vimg'; export VIMG;
TEST_EXTENSIONS = .sh
SH_LOG_COMPILER = $(SHELL)
EXTRA_DIST += tests/functions.sh

if HAVE_CHECK
check_LTLIBRARIES = tests/libtestlib.la
tests_libtestlib_la_SOURCES = tests/testlib.c tests/testlib.h
tests_libtestlib_la_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_libtestlib_la_LIBADD = libvimg/libvimg.la $(CHECK_LIBS)
TESTLIB = tests/libtestlib.la $(CHECK_LIBS)
endif

# Slowest first: make check -j2 starts tests in this order.
TESTS += $(BOOT_SLOW_TESTS)
include tests/core.mk
include tests/qcow2.mk
include tests/cli.mk
include tests/vmdk.mk
include tests/fuse.mk
include tests/vhdx.mk
include tests/vhd.mk
include tests/vdi.mk
include tests/boot.mk
