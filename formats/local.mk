# Format drivers, linked into libvimg.la. One block per format.
noinst_HEADERS += formats/qcow2.h formats/xmlvm.h formats/hyperv-config.h

libvimg_libvimg_internal_la_SOURCES += \
	formats/raw.c

# qcow2 (formats/qcow2*.c)
libvimg_libvimg_internal_la_SOURCES += \
	formats/qcow2.c \
	formats/qcow2-cluster.c \
	formats/qcow2-refcount.c \
	formats/qcow2-compress.c \
	formats/qcow2-snapshot.c \
	formats/qcow2-snapshot-write.c \
	formats/qcow2-create.c \
	formats/qcow2-backing.c \
	formats/qcow2-resize.c \
	formats/qcow2-amend.c \
	formats/qcow2-crypto.c \
	formats/qcow2-check.c
include formats/vmdk.mk
include formats/vhdx.mk
include formats/vhd.mk
include formats/vdi.mk

# VMware bundle codecs: configuration, snapshot tree, extra configuration
libvimg_libvimg_internal_la_SOURCES += \
	formats/vmx.c \
	formats/vmx-write.c \
	formats/vmsd.c \
	formats/vmxf.c \
	formats/xmlvm.c \
	formats/libvirt.c \
	formats/libvirt-read.c \
	formats/hyperv.c \
	formats/hyperv-config.c \
	formats/hyperv-xml.c \
	formats/ovf.c \
	formats/ovf-read.c \
	formats/vbox.c \
	formats/vbox-read.c \
	formats/hyperv-vmcx.c \
	formats/azure.c

# Firmware variables: VMware's .nvram container, edk2's variable store
libvimg_libvimg_internal_la_SOURCES += \
	formats/nvram-vmware.c \
	formats/nvram-edk2.c

# VMware saved state: .vmss/.vmsn checkpoints and .vmem memory (read-only),
# guest memory written out as raw or ELF by vimg_memdump
noinst_HEADERS += formats/vmss.h
libvimg_libvimg_internal_la_SOURCES += \
	formats/vmss.c \
	formats/vmss-cpu.c \
	formats/vmss-info.c \
	formats/vmss-dump.c
