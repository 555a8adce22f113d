/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CRC-32C (Castagnoli, reflected polynomial 0x82f63b78), the checksum of the
 * VHDX headers, region tables, metadata-free log entries (MS-VHDX 2.2.2,
 * 2.2.3, 2.3.1). Table-driven; the table is built once, thread-safely.
 */
#ifndef VIMG_CRC32C_H
#define VIMG_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/*
 * Continue a CRC-32C over buf[0..len). Start with crc = 0; the pre- and
 * post-inversion are handled inside, so crc32c(crc32c(0, a, n), b, m) equals
 * the CRC of a followed by b. Thread-safe, never fails.
 */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

#endif
