# vmdk driver (formats/vmdk*.c): descriptor, hosted sparse, stream, COWD,
# seSparse, creation and check.
noinst_HEADERS += formats/vmdk.h

libvimg_libvimg_internal_la_SOURCES += \
	formats/vmdk.c \
	formats/vmdk-descriptor.c \
	formats/vmdk-sparse.c \
	formats/vmdk-stream.c \
	formats/vmdk-cowd.c \
	formats/vmdk-sesparse.c \
	formats/vmdk-create.c \
	formats/vmdk-resize.c \
	formats/vmdk-check.c
