/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Assembler macros shared by the firmware files (included after fw.h). */
#ifndef VIMG_BOOT_FW_MACROS_H
#define VIMG_BOOT_FW_MACROS_H

/*
 * HYPERCALL svc: push the register frame (see fw.h), hand it to the VMM
 * through FW_HC_PORT and pop the (possibly rewritten) registers back.
 */
.macro HYPERCALL svc
	pushal
	push	%ds
	push	%es
	mov	$\svc, %al
	out	%al, $FW_HC_PORT
	pop	%es
	pop	%ds
	popal
.endm

/* SERVICE name, svc: an interrupt handler served entirely by the VMM. */
.macro SERVICE name, svc
	.globl	\name
\name:
	HYPERCALL \svc
	iret
.endm

#endif
