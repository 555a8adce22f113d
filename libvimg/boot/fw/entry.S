/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Firmware entry: POST (IVT, BDA, EBDA, PIC, PIT), then int 19h boots.
 * The VMM starts the vCPU at FW_SEG:fw_start in real mode; the reset vector
 * at F000:FFF0 jumps there too. Everything needing data or policy (disk,
 * memory map, video, keys, clock) is served by the VMM through the
 * hypercall port (fw.h), so this code stays small.
 */
#include "fw.h"
#include "macros.h"

	.code16
	.text

	.globl	fw_start
fw_start:
	cli
	cld
	xor	%ax, %ax
	mov	%ax, %ss
	mov	$POST_STACK, %sp
	mov	%ax, %ds
	mov	%ax, %es

	/* Clear the IVT, the BDA and 0x500-0x5FF. */
	xor	%di, %di
	mov	$0x300, %cx
	rep stosw

	/* Every vector points at an IRET first. */
	xor	%di, %di
	mov	$256, %cx
1:	movw	$default_iret, %ax
	stosw
	movw	$FW_SEG, %ax
	stosw
	loop	1b

	/* Hardware interrupts: IRQ 0-7 at 08h, IRQ 8-15 at 70h. */
	mov	$(0x08 * 4), %di
	mov	$8, %cx
1:	movw	$irq_master, (%di)
	add	$4, %di
	loop	1b
	mov	$(0x70 * 4), %di
	mov	$8, %cx
1:	movw	$irq_slave, (%di)
	add	$4, %di
	loop	1b

	/* Services, from vec_table: pairs of (vector, handler offset). */
	mov	$vec_table, %si
2:	mov	%cs:(%si), %bx
	cmp	$0xFFFF, %bx
	je	3f
	mov	%cs:2(%si), %ax
	shl	$2, %bx
	mov	%ax, (%bx)
	add	$4, %si
	jmp	2b
3:
	/* BIOS data area. */
	movw	$0x3F8, 0x400		/* COM1 */
	movw	$0x0220, 0x410		/* equipment: 80x25 colour, one serial port */
	movw	$BASE_MEM_KB, 0x413
	movw	$EBDA_SEG, 0x40E
	movb	$0x03, 0x449		/* video mode 3 */
	movw	$80, 0x44A		/* columns */
	movw	$0x1000, 0x44C		/* page size */
	movw	$0x3D4, 0x463		/* CRTC base */
	movb	$24, 0x484		/* rows - 1 */
	movw	$16, 0x485		/* character height */
	movb	$1, 0x475		/* hard disks */
	movw	$0x001E, 0x41A		/* keyboard buffer head */
	movw	$0x001E, 0x41C		/* keyboard buffer tail */
	movw	$0x001E, 0x480		/* keyboard buffer start */
	movw	$0x003E, 0x482		/* keyboard buffer end */
	push	%ds
	mov	$EBDA_SEG, %ax
	mov	%ax, %ds
	movw	$1, 0			/* EBDA size in KiB */
	pop	%ds

	/* 8259 PICs: vectors 08h and 70h, cascade on IRQ 2, all masked but 2. */
	mov	$0x11, %al
	out	%al, $0x20
	out	%al, $0xA0
	mov	$0x08, %al
	out	%al, $0x21
	mov	$0x70, %al
	out	%al, $0xA1
	mov	$0x04, %al
	out	%al, $0x21
	mov	$0x02, %al
	out	%al, $0xA1
	mov	$0x01, %al
	out	%al, $0x21
	out	%al, $0xA1
	mov	$0xFB, %al
	out	%al, $0x21
	mov	$0xFF, %al
	out	%al, $0xA1

	/* PIT channel 0: rate generator at 18.2 Hz (divisor 65536). */
	mov	$0x34, %al
	out	%al, $0x43
	xor	%al, %al
	out	%al, $0x40
	out	%al, $0x40

	/* POST done. The VMM answers EAX bit 0: run the timer interrupt. */
	HYPERCALL HC_POST
	test	$1, %al
	jz	4f
	mov	$0xFA, %al
	out	%al, $0x21
	sti
4:
	int	$0x19
	int	$0x18
5:	cli
	hlt
	jmp	5b

vec_table:
	.word	0x08, irq0_timer
	.word	0x10, int10_handler
	.word	0x11, int11_handler
	.word	0x12, int12_handler
	.word	0x13, int13_handler
	.word	0x15, int15_handler
	.word	0x16, int16_handler
	.word	0x18, int18_handler
	.word	0x19, int19_handler
	.word	0x1A, int1a_handler
	.word	0xFFFF, 0

/*
 * int 19h: the VMM loads the boot sector (or a kernel for direct boot) and
 * answers EAX = 0 with the entry CS:IP in BX:CX, SS = DS = ES = SI,
 * SP = DI, DL = drive, EBP bit 0 = enable interrupts; EAX != 0: nothing
 * bootable.
 */
	.globl	int19_handler
int19_handler:
	HYPERCALL HC_INT19
	test	%eax, %eax
	jnz	1f
	cli
	mov	%si, %ss
	mov	%di, %sp
	mov	%si, %ds
	mov	%si, %es
	push	%bx
	push	%cx
	test	$1, %bp
	jz	2f
	sti
2:	xor	%eax, %eax
	xor	%ebx, %ebx
	xor	%ecx, %ecx
	xor	%esi, %esi
	xor	%edi, %edi
	xor	%ebp, %ebp
	lret
1:	int	$0x18
	iret

/* int 18h: no bootable device; the VMM ends the run. */
	.globl	int18_handler
int18_handler:
	HYPERCALL HC_INT18
1:	cli
	hlt
	jmp	1b

	/* Reset vector, BIOS date and model byte at the top of the segment. */
	.section .reset, "ax"
	.globl	reset_vector
reset_vector:
	ljmp	$FW_SEG, $fw_start
	.ascii	"01/01/25"
	.byte	0
	.byte	0xFC
	.byte	0
