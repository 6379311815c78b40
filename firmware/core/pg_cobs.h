/* Consistent Overhead Byte Stuffing: removes every 0x00 from a frame so 0x00 can delimit frames. */
#ifndef PG_COBS_H
#define PG_COBS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Worst-case encoded size of `len` input bytes (without the 0x00 delimiter). */
#define PG_COBS_MAX_ENCODED(len) ((len) + (len) / 254 + 1)

/* Encode `len` bytes into `out`; returns the encoded length, or 0 when `cap` is too small.
 * Byte-for-byte the same as Python's `cobs.cobs.encode` (no trailing block after a full
 * 254-byte run at the end of the input). */
size_t pg_cobs_encode(const uint8_t *in, size_t len, uint8_t *out, size_t cap);

/* Decode `len` encoded bytes (no delimiter) into `out`; returns the decoded length, or -1 when
 * the input is not valid COBS (a 0x00 inside, a block running past the end) or `cap` is too
 * small. */
long pg_cobs_decode(const uint8_t *in, size_t len, uint8_t *out, size_t cap);

#ifdef __cplusplus
}
#endif

#endif
