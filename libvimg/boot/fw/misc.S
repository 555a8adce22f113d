/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * int 11h, 12h from the BDA; int 16h keyboard and int 1Ah clock through the
 * VMM (a key wait is a hypercall that rewinds the caller to its INT while
 * no key is scripted, so timers and timeouts keep running); the IRQ 0 timer
 * handler (BDA tick count, int 1Ch chain) and EOI-only handlers for the
 * other IRQs.
 */
#include "fw.h"
#include "macros.h"

	.code16
	.text

	.globl	default_iret
default_iret:
	iret

	.globl	int11_handler
int11_handler:
	push	%ds
	xor	%ax, %ax
	mov	%ax, %ds
	mov	0x410, %ax
	pop	%ds
	iret

	.globl	int12_handler
int12_handler:
	push	%ds
	xor	%ax, %ax
	mov	%ax, %ds
	mov	0x413, %ax
	pop	%ds
	iret

	SERVICE int16_handler, HC_INT16
	SERVICE int1a_handler, HC_INT1A

	.globl	irq0_timer
irq0_timer:
	push	%ds
	push	%ax
	xor	%ax, %ax
	mov	%ax, %ds
	incl	0x46C
	cmpl	$0x1800B0, 0x46C
	jb	1f
	movl	$0, 0x46C
	movb	$1, 0x470
1:	int	$0x1C
	mov	$0x20, %al
	out	%al, $0x20
	pop	%ax
	pop	%ds
	iret

	.globl	irq_master
irq_master:
	push	%ax
	mov	$0x20, %al
	out	%al, $0x20
	pop	%ax
	iret

	.globl	irq_slave
irq_slave:
	push	%ax
	mov	$0x20, %al
	out	%al, $0xA0
	out	%al, $0x20
	pop	%ax
	iret
