# vdi driver (formats/vdi.c): VirtualBox static and dynamic images.
libvimg_libvimg_internal_la_SOURCES += formats/vdi.c
