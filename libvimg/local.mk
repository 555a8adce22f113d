# libvimg: every object goes into a convenience library (so unit tests can reach
# internal functions), which libvimg.la wraps with the exported API only.
noinst_LTLIBRARIES = libvimg/libvimg-internal.la
lib_LTLIBRARIES += libvimg/libvimg.la
include_HEADERS += libvimg/vimg.h
noinst_HEADERS += libvimg/driver.h libvimg/internal.h libvimg/checked.h libvimg/endian.h \
	libvimg/crc32c.h libvimg/kvtext.h libvimg/vm.h libvimg/efivar.h libvimg/vmmap.h \
	libvimg/tar.h libvimg/ova.h

libvimg_libvimg_internal_la_SOURCES = \
	libvimg/error.c \
	libvimg/alloc.c \
	libvimg/file.c \
	libvimg/path.c \
	libvimg/opts.c \
	libvimg/registry.c \
	libvimg/image.c \
	libvimg/overlay-mem.c \
	libvimg/io.c \
	libvimg/chain.c \
	libvimg/resize.c \
	libvimg/rebase.c \
	libvimg/sparsify.c \
	libvimg/amend.c \
	libvimg/luks.c \
	libvimg/luks.h \
	libvimg/file-sim.c \
	libvimg/file-sim.h \
	libvimg/measure.c \
	libvimg/copy.c \
	libvimg/compare.c \
	libvimg/utf16.c \
	libvimg/partition.c \
	libvimg/identity.c \
	libvimg/kvtext.c \
	libvimg/config.c \
	libvimg/warnings.c \
	libvimg/vm.c \
	libvimg/vm-snapshot.c \
	libvimg/vm-clone.c \
	libvimg/vm-inspect.c \
	libvimg/vm-convert.c \
	libvimg/tar.c \
	libvimg/ova.c \
	libvimg/vm-boot.c \
	libvimg/map-guestos.c \
	libvimg/map-devices.c \
	libvimg/efivar.c \
	libvimg/efivar-decode.c \
	libvimg/nvram.c \
	libvimg/crc32c.c
libvimg_libvimg_internal_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden \
	$(ZLIB_CFLAGS) $(ZSTD_CFLAGS) $(CRYPTO_CFLAGS) $(LIBXML2_CFLAGS)
libvimg_libvimg_internal_la_LIBADD = $(ZLIB_LIBS) $(ZSTD_LIBS) $(CRYPTO_LIBS) $(LIBXML2_LIBS) $(PTHREAD_LIBS)

libvimg_libvimg_la_SOURCES =
libvimg_libvimg_la_LIBADD = libvimg/libvimg-internal.la
libvimg_libvimg_la_LDFLAGS = -version-info $(LIBVIMG_LT_VERSION) -no-undefined \
	-Wl,--version-script=$(top_srcdir)/libvimg/libvimg.sym
EXTRA_DIST += libvimg/libvimg.sym libvimg.pc.in

include libvimg/boot/local.mk
