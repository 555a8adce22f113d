/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * int 10h video services. The VMM implements them on the VGA text buffer at
 * 0xB8000 and the BDA cursor (teletype output is mirrored to the console
 * capture until the guest drives the UART itself).
 */
#include "fw.h"
#include "macros.h"

	.code16
	.text
	SERVICE int10_handler, HC_INT10
