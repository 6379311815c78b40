/* Serial frames of wire protocol v1 (docs/PROTOCOL.md): encoding what the node sends and
 * parsing what it receives. Pure: buffers in, buffers out. */
#ifndef PG_FRAME_H
#define PG_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pg_cobs.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PG_PROTO_VERSION 1
#define PG_TYPE_READING 0x01
#define PG_TYPE_HELLO 0x02
#define PG_TYPE_LOG 0x03
#define PG_TYPE_READING_BIDIR 0x04
#define PG_TYPE_CONFIG 0x10

#define PG_HEADER_LEN 14
#define PG_CRC_LEN 2
#define PG_READING_BODY_LEN 25
#define PG_READING_BIDIR_BODY_LEN 35
#define PG_HELLO_FIXED_LEN 8
#define PG_NAME_MAX 32
#define PG_LOG_TEXT_MAX 200
#define PG_CONFIG_LINE_MAX 64
#define PG_MAX_RAW 256
/* COBS of the longest raw frame plus the 0x00 delimiter. */
#define PG_MAX_WIRE (PG_COBS_MAX_ENCODED(PG_MAX_RAW) + 1)

#define PG_FLAG_SATURATED 0x01
#define PG_FLAG_UNCALIBRATED 0x02
#define PG_FLAG_NOMINAL_VOLTAGE 0x04
#define PG_FLAG_RESTORED 0x08

#define PG_LOG_DEBUG 0
#define PG_LOG_INFO 1
#define PG_LOG_WARNING 2
#define PG_LOG_ERROR 3

typedef struct {
    uint8_t node_id[6]; /* base MAC, in the order it is printed */
    uint16_t boot_id;
    uint32_t seq;
} pg_header;

typedef struct {
    uint32_t uptime_ms;
    uint16_t window_ms;
    uint32_t irms_ma;
    uint16_t vrms_dv;
    int32_t power_dw;
    uint64_t energy_mwh;
    uint8_t flags;
    uint64_t export_mwh; /* READING_BIDIR only */
    uint16_t pf_milli;   /* READING_BIDIR only */
} pg_reading;

typedef struct {
    uint8_t fw_major;
    uint8_t fw_minor;
    uint8_t sensor_amps;
    uint16_t sample_rate_hz;
    uint8_t mains_hz;
    uint16_t mv_per_a_x10;
    const char *name; /* NUL-terminated UTF-8, at most 32 bytes are sent */
} pg_hello;

/* Each encoder writes the raw frame (header, body, CRC) and returns its length, or 0 when
 * `cap` is too small. */
size_t pg_frame_reading(const pg_header *h, const pg_reading *r, uint8_t *raw, size_t cap);
/* READING's 25 bytes followed by export_mwh and pf_milli: a node that measures voltage. */
size_t pg_frame_reading_bidir(const pg_header *h, const pg_reading *r, uint8_t *raw, size_t cap);
size_t pg_frame_hello(const pg_header *h, const pg_hello *hello, uint8_t *raw, size_t cap);
/* Text longer than 200 bytes is cut at a UTF-8 character boundary. */
size_t pg_frame_log(const pg_header *h, uint8_t level, const char *text, uint8_t *raw, size_t cap);
/* Gateway -> node; the node never sends it, but tests and tools build CONFIG frames with it. */
size_t pg_frame_config(const pg_header *h, const char *line, uint8_t *raw, size_t cap);

/* COBS(raw) followed by 0x00, ready for the port; returns its length or 0 when `cap` is too small. */
size_t pg_frame_to_wire(const uint8_t *raw, size_t len, uint8_t *wire, size_t cap);

/* Why a received chunk is not a frame; the names match the gateway's rejection reasons. */
typedef enum {
    PG_FRAME_OK = 0,
    PG_FRAME_COBS,
    PG_FRAME_TOO_LONG,
    PG_FRAME_SHORT,
    PG_FRAME_CRC,
    PG_FRAME_VERSION,
    PG_FRAME_UNKNOWN_TYPE,
    PG_FRAME_LENGTH,
    PG_FRAME_MORE /* pg_rx_feed only: no complete chunk yet */
} pg_frame_status;

const char *pg_frame_status_name(pg_frame_status status);

typedef struct {
    pg_header h;
    uint8_t type;
    const uint8_t *body; /* points into the parsed buffer */
    size_t body_len;
} pg_frame_view;

/* Check a raw (COBS-decoded) frame: length, CRC, version, type and its body length. */
pg_frame_status pg_frame_parse(const uint8_t *raw, size_t len, pg_frame_view *out);

/* Byte-stream receiver: resynchronises at every 0x00, drops runs longer than a frame. */
typedef struct {
    uint8_t wire[PG_MAX_WIRE];
    size_t wire_len;
    bool overflow;
    uint8_t raw[PG_MAX_RAW];
} pg_rx;

void pg_rx_init(pg_rx *rx);
/* Feed one byte. Returns PG_FRAME_MORE until a delimiter ends a non-empty chunk, then the
 * chunk's status; on PG_FRAME_OK `*frame` points into `rx` until the next call. */
pg_frame_status pg_rx_feed(pg_rx *rx, uint8_t byte, pg_frame_view *frame);

#ifdef __cplusplus
}
#endif

#endif
