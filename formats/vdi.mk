# vdi driver (formats/vdi*.c): VirtualBox static and dynamic images; resize
# in vdi-resize.c.
noinst_HEADERS += formats/vdi.h

libvimg_libvimg_internal_la_SOURCES += \
	formats/vdi.c \
	formats/vdi-resize.c
