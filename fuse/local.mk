# vimgmount: the FUSE driver (included from Makefile.am when fuse3 is found).
bin_PROGRAMS += fuse/vimgmount
fuse_vimgmount_SOURCES = fuse/vimgmount.c fuse/fs.c fuse/tree.c fuse/fuse.h
fuse_vimgmount_CFLAGS = $(AM_CFLAGS) $(FUSE3_CFLAGS)
fuse_vimgmount_LDADD = libvimg/libvimg.la $(FUSE3_LIBS) $(PTHREAD_LIBS)
