/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Constants shared by the firmware (.S, through the C preprocessor) and the
 * VMM (C): the hypercall port and service numbers, the frame layout the
 * firmware stubs push before a hypercall, and fixed guest addresses.
 * Only #defines: this file is read by the assembler too.
 */
#ifndef VIMG_BOOT_FW_H
#define VIMG_BOOT_FW_H

/* Firmware image: linked at offset 0 of segment FW_SEG, at most 64 KiB. */
#define FW_SEG		0xF000
#define FW_BASE		0xF0000
#define FW_SIZE_MAX	0x10000

/* The one private port: `out %al, $FW_HC_PORT` with AL = service. */
#define FW_HC_PORT	0xE0
/* Test payloads: a byte written here ends the run with that exit code. */
#define FW_DEBUG_EXIT_PORT 0x501

/* Hypercall services (AL at the OUT). */
#define HC_POST		0x01	/* POST done: firmware stage reached */
#define HC_INT10	0x10
#define HC_INT13	0x13
#define HC_INT15	0x15
#define HC_INT16	0x16
#define HC_INT18	0x18	/* no bootable device */
#define HC_INT19	0x19	/* boot: load the boot sector or the kernel */
#define HC_INT1A	0x1A

/*
 * The hypercall frame at SS:SP when the OUT executes: `pushal; push %ds;
 * push %es` under the interrupt's own IP, CS, FLAGS. The VMM reads and
 * rewrites it; the stub pops it and IRETs, so results (including CF and ZF
 * in the saved FLAGS) reach the caller without touching vCPU registers.
 */
#define FR_ES		0
#define FR_DS		2
#define FR_EDI		4
#define FR_ESI		8
#define FR_EBP		12
#define FR_ESP		16
#define FR_EBX		20
#define FR_EDX		24
#define FR_ECX		28
#define FR_EAX		32
#define FR_IP		36
#define FR_CS		38
#define FR_FLAGS	40
#define FR_SIZE		42

/* Guest memory map below 1 MiB. */
#define EBDA_SEG	0x9FC0	/* 1 KiB extended BIOS data area */
#define EBDA_BASE	0x9FC00
#define BASE_MEM_KB	639
#define POST_STACK	0x7C00	/* SS:SP = 0:7C00 during POST and at boot */
#define BOOT_ADDR	0x7C00

#endif
