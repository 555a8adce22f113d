/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer harness for the vhdx driver: headers, region tables, metadata, parent locator, BAT
 * and log replay, which stays in memory on a read-only open.
 * See fuzz-common.h for what is exercised; build and run with scripts/fuzz.sh.
 */
#include "config.h"

#include "fuzz-common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_one_memfd(data, size, "vhdx");
}
