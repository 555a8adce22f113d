/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer harness for the VMware .vmx codec; fuzz-bundle.h says what
 * is exercised. Build and run with scripts/fuzz.sh.
 */
#include "config.h"

#include "fuzz-bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_bundle(data, size, FUZZ_VMX);
}
