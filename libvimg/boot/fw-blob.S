/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The built firmware (fw.bin, from libvimg/boot/fw/*.S), embedded read-only. */
	.section .rodata
	.balign 16
	.globl	boot_fw_blob
	.hidden	boot_fw_blob
	.type	boot_fw_blob, @object
boot_fw_blob:
	.incbin	"fw.bin"
	.globl	boot_fw_blob_end
	.hidden	boot_fw_blob_end
boot_fw_blob_end:
	.section .note.GNU-stack, "", @progbits
