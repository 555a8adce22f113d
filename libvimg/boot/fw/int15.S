/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* int 15h system services: E820, E801, 88h, A20 (24xxh), 87h, 86h, C0h. */
#include "fw.h"
#include "macros.h"

	.code16
	.text
	SERVICE int15_handler, HC_INT15
