/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer harness for Hyper-V's binary configuration reader (.vmcx); fuzz-xmlvm.h says
 * what is exercised. Build and run with scripts/fuzz.sh.
 */
#include "config.h"

#include "fuzz-xmlvm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_config_vm(data, size, "hyperv-vmcx", "f.vmcx");
}
