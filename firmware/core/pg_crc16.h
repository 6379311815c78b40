/* CRC-16/CCITT-FALSE, the checksum that ends every serial frame (docs/PROTOCOL.md). */
#ifndef PG_CRC16_H
#define PG_CRC16_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Poly 0x1021, init 0xFFFF, no reflection, xorout 0; check("123456789") == 0x29B1. */
uint16_t pg_crc16(const uint8_t *data, size_t len);

#ifdef __cplusplus
}
#endif

#endif
