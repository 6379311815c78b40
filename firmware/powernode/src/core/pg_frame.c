#include "pg_frame.h"

#include <string.h>

#include "pg_crc16.h"

static void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static uint16_t get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* Header + body + CRC around a body already written at raw + PG_HEADER_LEN. */
static size_t finish(const pg_header *h, uint8_t type, size_t body_len, uint8_t *raw)
{
    raw[0] = PG_PROTO_VERSION;
    raw[1] = type;
    memcpy(raw + 2, h->node_id, 6);
    put_u16(raw + 8, h->boot_id);
    put_u32(raw + 10, h->seq);
    size_t n = PG_HEADER_LEN + body_len;
    put_u16(raw + n, pg_crc16(raw, n));
    return n + PG_CRC_LEN;
}

static bool fits(size_t body_len, size_t cap)
{
    return PG_HEADER_LEN + body_len + PG_CRC_LEN <= cap;
}

static void put_reading(uint8_t *b, const pg_reading *r)
{
    put_u32(b + 0, r->uptime_ms);
    put_u16(b + 4, r->window_ms);
    put_u32(b + 6, r->irms_ma);
    put_u16(b + 10, r->vrms_dv);
    put_u32(b + 12, (uint32_t)r->power_dw);
    put_u64(b + 16, r->energy_mwh);
    b[24] = r->flags;
}

size_t pg_frame_reading(const pg_header *h, const pg_reading *r, uint8_t *raw, size_t cap)
{
    if (!fits(PG_READING_BODY_LEN, cap)) {
        return 0;
    }
    put_reading(raw + PG_HEADER_LEN, r);
    return finish(h, PG_TYPE_READING, PG_READING_BODY_LEN, raw);
}

size_t pg_frame_reading_bidir(const pg_header *h, const pg_reading *r, uint8_t *raw, size_t cap)
{
    if (!fits(PG_READING_BIDIR_BODY_LEN, cap)) {
        return 0;
    }
    uint8_t *b = raw + PG_HEADER_LEN;
    put_reading(b, r);
    put_u64(b + PG_READING_BODY_LEN, r->export_mwh);
    put_u16(b + PG_READING_BODY_LEN + 8, r->pf_milli);
    return finish(h, PG_TYPE_READING_BIDIR, PG_READING_BIDIR_BODY_LEN, raw);
}

/* Length of the longest prefix of `text` (at most `max` bytes) that does not split a UTF-8
 * character. */
static size_t utf8_prefix(const char *text, size_t max)
{
    size_t n = strlen(text);
    if (n <= max) {
        return n;
    }
    n = max;
    while (n > 0 && ((uint8_t)text[n] & 0xC0) == 0x80) {
        n--;
    }
    return n;
}

size_t pg_frame_hello(const pg_header *h, const pg_hello *hello, uint8_t *raw, size_t cap)
{
    const char *name = hello->name ? hello->name : "";
    size_t name_len = utf8_prefix(name, PG_NAME_MAX);
    if (!fits(PG_HELLO_FIXED_LEN + name_len, cap)) {
        return 0;
    }
    uint8_t *b = raw + PG_HEADER_LEN;
    b[0] = hello->fw_major;
    b[1] = hello->fw_minor;
    b[2] = hello->sensor_amps;
    put_u16(b + 3, hello->sample_rate_hz);
    b[5] = hello->mains_hz;
    put_u16(b + 6, hello->mv_per_a_x10);
    memcpy(b + PG_HELLO_FIXED_LEN, name, name_len);
    return finish(h, PG_TYPE_HELLO, PG_HELLO_FIXED_LEN + name_len, raw);
}

size_t pg_frame_log(const pg_header *h, uint8_t level, const char *text, uint8_t *raw, size_t cap)
{
    size_t text_len = utf8_prefix(text, PG_LOG_TEXT_MAX);
    if (!fits(1 + text_len, cap)) {
        return 0;
    }
    raw[PG_HEADER_LEN] = level;
    memcpy(raw + PG_HEADER_LEN + 1, text, text_len);
    return finish(h, PG_TYPE_LOG, 1 + text_len, raw);
}

size_t pg_frame_config(const pg_header *h, const char *line, uint8_t *raw, size_t cap)
{
    size_t len = strlen(line);
    if (len < 1 || len > PG_CONFIG_LINE_MAX || !fits(len, cap)) {
        return 0;
    }
    memcpy(raw + PG_HEADER_LEN, line, len);
    return finish(h, PG_TYPE_CONFIG, len, raw);
}

size_t pg_frame_to_wire(const uint8_t *raw, size_t len, uint8_t *wire, size_t cap)
{
    if (cap < 2) {
        return 0;
    }
    size_t n = pg_cobs_encode(raw, len, wire, cap - 1);
    if (n == 0) {
        return 0;
    }
    wire[n] = 0x00;
    return n + 1;
}

const char *pg_frame_status_name(pg_frame_status status)
{
    static const char *const names[] = {
        [PG_FRAME_OK] = "ok",
        [PG_FRAME_COBS] = "cobs",
        [PG_FRAME_TOO_LONG] = "too_long",
        [PG_FRAME_SHORT] = "short",
        [PG_FRAME_CRC] = "crc",
        [PG_FRAME_VERSION] = "version",
        [PG_FRAME_UNKNOWN_TYPE] = "unknown_type",
        [PG_FRAME_LENGTH] = "length",
        [PG_FRAME_MORE] = "more",
    };
    if ((unsigned)status >= sizeof names / sizeof names[0]) {
        return "?";
    }
    return names[status];
}

/* Allowed body lengths per type, the same table the gateway decodes with. */
static const struct {
    uint8_t type;
    uint16_t min_body;
    uint16_t max_body;
} BODY_LIMITS[] = {
    {PG_TYPE_READING, PG_READING_BODY_LEN, PG_READING_BODY_LEN},
    {PG_TYPE_HELLO, PG_HELLO_FIXED_LEN, PG_HELLO_FIXED_LEN + PG_NAME_MAX},
    {PG_TYPE_LOG, 1, 1 + PG_LOG_TEXT_MAX},
    {PG_TYPE_READING_BIDIR, PG_READING_BIDIR_BODY_LEN, PG_READING_BIDIR_BODY_LEN},
    {PG_TYPE_CONFIG, 1, PG_CONFIG_LINE_MAX},
};

pg_frame_status pg_frame_parse(const uint8_t *raw, size_t len, pg_frame_view *out)
{
    if (len > PG_MAX_RAW) {
        return PG_FRAME_TOO_LONG;
    }
    if (len < PG_HEADER_LEN + PG_CRC_LEN) {
        return PG_FRAME_SHORT;
    }
    if (pg_crc16(raw, len - PG_CRC_LEN) != get_u16(raw + len - PG_CRC_LEN)) {
        return PG_FRAME_CRC;
    }
    if (raw[0] != PG_PROTO_VERSION) {
        return PG_FRAME_VERSION;
    }
    size_t body_len = len - PG_HEADER_LEN - PG_CRC_LEN;
    for (size_t i = 0; i < sizeof BODY_LIMITS / sizeof BODY_LIMITS[0]; i++) {
        if (BODY_LIMITS[i].type != raw[1]) {
            continue;
        }
        if (body_len < BODY_LIMITS[i].min_body || body_len > BODY_LIMITS[i].max_body) {
            return PG_FRAME_LENGTH;
        }
        out->type = raw[1];
        memcpy(out->h.node_id, raw + 2, 6);
        out->h.boot_id = get_u16(raw + 8);
        out->h.seq = get_u32(raw + 10);
        out->body = raw + PG_HEADER_LEN;
        out->body_len = body_len;
        return PG_FRAME_OK;
    }
    return PG_FRAME_UNKNOWN_TYPE;
}

void pg_rx_init(pg_rx *rx)
{
    rx->wire_len = 0;
    rx->overflow = false;
}

pg_frame_status pg_rx_feed(pg_rx *rx, uint8_t byte, pg_frame_view *frame)
{
    if (byte != 0x00) {
        if (rx->wire_len < sizeof rx->wire) {
            rx->wire[rx->wire_len++] = byte;
        } else {
            rx->overflow = true;
        }
        return PG_FRAME_MORE;
    }
    size_t n = rx->wire_len;
    bool overflow = rx->overflow;
    pg_rx_init(rx);
    if (overflow) {
        return PG_FRAME_TOO_LONG;
    }
    if (n == 0) {
        return PG_FRAME_MORE; /* back-to-back delimiters are idle fill */
    }
    long raw_len = pg_cobs_decode(rx->wire, n, rx->raw, sizeof rx->raw);
    if (raw_len < 0) {
        /* Either not COBS or longer than any frame; the gateway calls both "cobs" unless the
         * encoded run itself is too long, which `overflow` caught above. */
        return PG_FRAME_COBS;
    }
    return pg_frame_parse(rx->raw, (size_t)raw_len, frame);
}
