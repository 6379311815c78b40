#include "pg_cobs.h"

size_t pg_cobs_encode(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
    if (cap < 1) {
        return 0;
    }
    size_t code_at = 0; /* where the current block's length byte goes */
    size_t o = 1;
    uint8_t code = 1;
    for (size_t i = 0; i < len; i++) {
        if (in[i] == 0) {
            out[code_at] = code;
            code_at = o++;
            code = 1;
        } else {
            if (o >= cap) {
                return 0;
            }
            out[o++] = in[i];
            code++;
            /* A full block carries no implied zero; open the next one only if input remains. */
            if (code == 0xFF && i + 1 < len) {
                out[code_at] = code;
                code_at = o++;
                code = 1;
            }
        }
        if (o > cap) {
            return 0;
        }
    }
    out[code_at] = code;
    return o;
}

long pg_cobs_decode(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
    size_t i = 0;
    size_t o = 0;
    while (i < len) {
        uint8_t code = in[i++];
        if (code == 0) {
            return -1;
        }
        if (i + (size_t)(code - 1) > len) {
            return -1;
        }
        for (uint8_t k = 1; k < code; k++) {
            if (in[i] == 0 || o >= cap) {
                return -1;
            }
            out[o++] = in[i++];
        }
        if (code != 0xFF && i < len) {
            if (o >= cap) {
                return -1;
            }
            out[o++] = 0;
        }
    }
    return (long)o;
}
