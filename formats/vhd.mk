# vhd driver (formats/vhd*.c): Microsoft VHD (qemu "vpc") fixed, dynamic,
# differencing; creation in vhd-create.c,
# resize in vhd-resize.c, a new parent (rebase, amend) in vhd-backing.c.
noinst_HEADERS += formats/vhd.h

libvimg_libvimg_internal_la_SOURCES += \
	formats/vhd.c \
	formats/vhd-create.c \
	formats/vhd-resize.c \
	formats/vhd-backing.c
