# vhdx driver (formats/vhdx*.c): headers, regions and metadata (vhdx.c), BAT
# and block states (vhdx-bat.c), log replay and write (vhdx-log.c), creation
# (vhdx-create.c), resize (vhdx-resize.c), a new parent (vhdx-backing.c).
noinst_HEADERS += formats/vhdx.h

libvimg_libvimg_internal_la_SOURCES += \
	formats/vhdx.c \
	formats/vhdx-bat.c \
	formats/vhdx-log.c \
	formats/vhdx-create.c \
	formats/vhdx-resize.c \
	formats/vhdx-backing.c
