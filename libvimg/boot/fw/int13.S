/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * int 13h disk services: CHS (02h/03h/04h/08h/15h...) and the EDD extensions
 * (41h/42h/43h/44h/48h), all served by the VMM from libvimg through the
 * overlay (biosdisk.c), which validates every buffer and sector range.
 */
#include "fw.h"
#include "macros.h"

	.code16
	.text
	SERVICE int13_handler, HC_INT13
