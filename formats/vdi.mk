# vdi driver (formats/vdi*.c): VirtualBox static, dynamic and differencing
# images; the parent link in vdi-parent.c, resize in vdi-resize.c.
noinst_HEADERS += formats/vdi.h

libvimg_libvimg_internal_la_SOURCES += \
	formats/vdi.c \
	formats/vdi-parent.c \
	formats/vdi-resize.c
