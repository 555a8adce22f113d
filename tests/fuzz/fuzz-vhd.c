/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer harness for the vhd driver: footer, dynamic header, BAT, parent locators, sector
 * bitmaps.
 * See fuzz-common.h for what is exercised; build and run with scripts/fuzz.sh.
 */
#include "config.h"

#include "fuzz-common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_one_memfd(data, size, "vhd");
}
