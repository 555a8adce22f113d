# libvimg/boot: the mini KVM launcher (VMM, devices, firmware).
# The firmware (fw/*.S, 16-bit GNU as) is preprocessed, assembled with
# $(BOOT_AS) --32, linked by fw/fw.ld into a flat 64 KiB fw.bin, embedded by
# fw-blob.S (.incbin, found through -I of the build directory), and its
# symbol offsets go to the generated fw-offsets.h (nm → header).
BOOT_FW_SRCS = \
	libvimg/boot/fw/entry.S \
	libvimg/boot/fw/int10.S \
	libvimg/boot/fw/int13.S \
	libvimg/boot/fw/int15.S \
	libvimg/boot/fw/misc.S
BOOT_FW_DEPS = $(BOOT_FW_SRCS) libvimg/boot/fw/fw.h libvimg/boot/fw/macros.h \
	libvimg/boot/fw/fw.ld libvimg/boot/gen-fw-offsets.sh
EXTRA_DIST += $(BOOT_FW_DEPS) libvimg/boot/boot-stub.c libvimg/boot/fw-blob.S
noinst_HEADERS += libvimg/boot/boot.h
# The generated fw-offsets.h and fw.bin live in the build directory.
libvimg_libvimg_internal_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_builddir)/libvimg/boot
libvimg_libvimg_internal_la_CCASFLAGS = $(AM_CCASFLAGS) -I$(top_builddir)/libvimg/boot

if HAVE_BOOT
libvimg_libvimg_internal_la_SOURCES += \
	libvimg/boot/vmm.c \
	libvimg/boot/vcpu.c \
	libvimg/boot/kernel-entry.c \
	libvimg/boot/iotrap.c \
	libvimg/boot/serial8250.c \
	libvimg/boot/rtc.c \
	libvimg/boot/i8042.c \
	libvimg/boot/pci.c \
	libvimg/boot/virtio-blk.c \
	libvimg/boot/linux.c \
	libvimg/boot/bios.c \
	libvimg/boot/biosdisk.c \
	libvimg/boot/overlay.c \
	libvimg/boot/watch.c \
	libvimg/boot/qemu.c \
	libvimg/boot/fw-blob.S
nodist_libvimg_libvimg_internal_la_SOURCES = libvimg/boot/fw-offsets.h
BUILT_SOURCES = libvimg/boot/fw.bin libvimg/boot/fw-offsets.h
CLEANFILES += libvimg/boot/fw.bin libvimg/boot/fw.elf libvimg/boot/fw-offsets.h \
	libvimg/boot/fw-*.s libvimg/boot/fw-*.o

libvimg/boot/fw.elf: $(BOOT_FW_DEPS)
	$(AM_V_GEN)set -e; $(MKDIR_P) libvimg/boot; objs=; \
	for f in $(BOOT_FW_SRCS); do \
		b=`basename $$f .S`; \
		$(CC) -E -P -x assembler-with-cpp -I$(srcdir)/libvimg/boot/fw \
			$(srcdir)/$$f > libvimg/boot/fw-$$b.s; \
		$(BOOT_AS) --32 -o libvimg/boot/fw-$$b.o libvimg/boot/fw-$$b.s; \
		objs="$$objs libvimg/boot/fw-$$b.o"; \
	done; \
	$(BOOT_LD) -m elf_i386 -T $(srcdir)/libvimg/boot/fw/fw.ld -o $@ $$objs

libvimg/boot/fw.bin: libvimg/boot/fw.elf
	$(AM_V_GEN)$(BOOT_OBJCOPY) -O binary libvimg/boot/fw.elf $@

libvimg/boot/fw-offsets.h: libvimg/boot/fw.elf
	$(AM_V_GEN)$(SHELL) $(srcdir)/libvimg/boot/gen-fw-offsets.sh $(BOOT_NM) \
		libvimg/boot/fw.elf > $@.tmp && mv $@.tmp $@
else
libvimg_libvimg_internal_la_SOURCES += libvimg/boot/boot-stub.c
endif
