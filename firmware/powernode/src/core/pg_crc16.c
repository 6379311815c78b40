#include "pg_crc16.h"

/* Bitwise rather than table-driven: a frame is under 60 bytes once a second, and 512 bytes of
 * table would cost more flash than the loop costs time. */
uint16_t pg_crc16(const uint8_t *data, size_t len)
{
    uint16_t crc = 0xFFFF;
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint16_t)data[i] << 8;
        for (int bit = 0; bit < 8; bit++) {
            crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
        }
    }
    return crc;
}
