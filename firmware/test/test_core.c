/* Host unit tests of the portable core: protocol vectors, COBS/CRC, CONFIG parsing, the meter on
 * synthetic sine buffers, the persistence schedule, BTHome payloads and the node's behaviour.
 * Prints one line per test and ends with "N passed, M failed". */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_bthome.h"
#include "pg_cobs.h"
#include "pg_config.h"
#include "pg_crc16.h"
#include "pg_frame.h"
#include "pg_meter.h"
#include "pg_node.h"
#include "pg_persist.h"
#include "synth.h"
#include "vectors.h"

static int g_failures; /* checks failed in the current test */

static void check_at(int ok, const char *file, int line, const char *fmt, ...)
{
    if (ok) {
        return;
    }
    g_failures++;
    fprintf(stderr, "  FAIL %s:%d: ", file, line);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

#define CHECK(cond, ...) check_at((cond), __FILE__, __LINE__, __VA_ARGS__)
#define CHECK_MEM(a, b, n, what) CHECK(memcmp((a), (b), (n)) == 0, "%s differs", what)

static void parse_mac(const char *text, uint8_t mac[6])
{
    for (int i = 0; i < 6; i++) {
        mac[i] = (uint8_t)strtoul(text + 3 * i, NULL, 16);
    }
}

static void hex_to_bytes(const char *hex, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned b;
        sscanf(hex + 2 * i, "%2x", &b);
        out[i] = (uint8_t)b;
    }
}

/* ---------------------------------------------------------------- CRC, COBS, vectors */

static void test_crc_check_value(void)
{
    CHECK(pg_crc16((const uint8_t *)"123456789", 9) == 0x29B1, "check value");
}

static void test_cobs_edges_match_python(void)
{
    uint8_t in[300] = {0};
    uint8_t enc[320];
    uint8_t dec[320];
    /* cobs.encode(b"") == b"\x01" */
    CHECK(pg_cobs_encode(in, 0, enc, sizeof enc) == 1 && enc[0] == 0x01, "empty input");
    /* cobs.encode(b"\x01" * 254): one 0xFF block, no trailing block (255 bytes) */
    memset(in, 1, 254);
    size_t n = pg_cobs_encode(in, 254, enc, sizeof enc);
    CHECK(n == 255 && enc[0] == 0xFF, "254-byte run: %zu bytes", n);
    /* cobs.encode(b"\x01" * 254 + b"\x00") is 257 bytes ending 01 01 */
    in[254] = 0;
    n = pg_cobs_encode(in, 255, enc, sizeof enc);
    CHECK(n == 257 && enc[255] == 0x01 && enc[256] == 0x01, "254-byte run then zero: %zu bytes", n);
    long d = pg_cobs_decode(enc, n, dec, sizeof dec);
    CHECK(d == 255 && memcmp(dec, in, 255) == 0, "round trip of the run");
    /* all zeros and mixed content round-trip */
    for (size_t len = 0; len < 300; len += 7) {
        for (size_t i = 0; i < len; i++) {
            in[i] = (uint8_t)((i * 37) % 5 == 0 ? 0 : i);
        }
        n = pg_cobs_encode(in, len, enc, sizeof enc);
        CHECK(n > 0 && n <= PG_COBS_MAX_ENCODED(len) && memchr(enc, 0, n) == NULL, "encode len %zu", len);
        d = pg_cobs_decode(enc, n, dec, sizeof dec);
        CHECK(d == (long)len && memcmp(dec, in, len) == 0, "round trip len %zu", len);
    }
    /* too small an output buffer is refused, never overrun */
    memset(in, 0x55, 40);
    CHECK(pg_cobs_encode(in, 40, enc, 40) == 0, "cap too small");
    CHECK(pg_cobs_decode((const uint8_t *)"\x05\x41\x42\x43", 4, dec, sizeof dec) == -1, "block past the end");
    CHECK(pg_cobs_decode((const uint8_t *)"\x03\x41\x00", 3, dec, sizeof dec) == -1, "zero inside");
}

static void header_of(const vector_t *v, pg_header *h)
{
    parse_mac(v->node_id, h->node_id);
    h->boot_id = v->boot_id;
    h->seq = v->seq;
}

static void test_every_valid_vector_encodes_byte_for_byte(void)
{
    for (size_t i = 0; i < sizeof VALID / sizeof VALID[0]; i++) {
        const vector_t *v = &VALID[i];
        pg_header h;
        header_of(v, &h);
        uint8_t raw[PG_MAX_RAW];
        size_t n = 0;
        if (v->type == PG_TYPE_READING || v->type == PG_TYPE_READING_BIDIR) {
            pg_reading r = {v->uptime_ms, v->window_ms, v->irms_ma, v->vrms_dv, v->power_dw, v->energy_mwh, v->flags,
                            v->export_mwh, v->pf_milli};
            n = v->type == PG_TYPE_READING ? pg_frame_reading(&h, &r, raw, sizeof raw)
                                           : pg_frame_reading_bidir(&h, &r, raw, sizeof raw);
        } else if (v->type == PG_TYPE_HELLO) {
            pg_hello hello = {v->fw_major, v->fw_minor, v->sensor_amps, v->sample_rate_hz, v->mains_hz,
                              v->mv_per_a_x10, v->text};
            n = pg_frame_hello(&h, &hello, raw, sizeof raw);
        } else {
            n = pg_frame_log(&h, v->level, v->text, raw, sizeof raw);
        }
        CHECK(n == v->frame_len && memcmp(raw, v->frame, n) == 0, "%s: raw frame", v->name);
        uint8_t wire[PG_MAX_WIRE];
        size_t w = pg_frame_to_wire(raw, n, wire, sizeof wire);
        CHECK(w == v->wire_len && memcmp(wire, v->wire, w) == 0, "%s: wire bytes", v->name);
    }
}

static void test_every_valid_vector_parses(void)
{
    for (size_t i = 0; i < sizeof VALID / sizeof VALID[0]; i++) {
        const vector_t *v = &VALID[i];
        pg_rx rx;
        pg_rx_init(&rx);
        pg_frame_view f;
        pg_frame_status st = PG_FRAME_MORE;
        for (size_t k = 0; k < v->wire_len; k++) {
            st = pg_rx_feed(&rx, v->wire[k], &f);
            CHECK(k + 1 == v->wire_len || st == PG_FRAME_MORE, "%s: early status", v->name);
        }
        CHECK(st == PG_FRAME_OK, "%s: status %s", v->name, pg_frame_status_name(st));
        if (st == PG_FRAME_OK) {
            pg_header h;
            header_of(v, &h);
            CHECK(f.type == v->type && f.h.boot_id == h.boot_id && f.h.seq == h.seq &&
                      memcmp(f.h.node_id, h.node_id, 6) == 0,
                  "%s: header", v->name);
            CHECK(f.body_len == v->frame_len - PG_HEADER_LEN - PG_CRC_LEN, "%s: body length", v->name);
        }
    }
}

static pg_frame_status feed_all(pg_rx *rx, const uint8_t *wire, size_t n)
{
    pg_frame_view f;
    pg_frame_status st = PG_FRAME_MORE;
    for (size_t k = 0; k < n; k++) {
        st = pg_rx_feed(rx, wire[k], &f);
    }
    return st;
}

static void test_every_invalid_vector_is_rejected_for_its_reason(void)
{
    static const struct {
        const char *name;
        pg_frame_status reason;
    } expected[] = {
        {"crc_mismatch", PG_FRAME_CRC},           {"truncated", PG_FRAME_CRC},
        {"unknown_version", PG_FRAME_VERSION},    {"reading_wrong_length", PG_FRAME_LENGTH},
        {"cobs_garbage", PG_FRAME_COBS},          {"boot_rom_text", PG_FRAME_COBS},
        {"reading_bidir_wrong_length", PG_FRAME_LENGTH},
    };
    CHECK(sizeof INVALID / sizeof INVALID[0] == sizeof expected / sizeof expected[0], "vector count");
    for (size_t i = 0; i < sizeof INVALID / sizeof INVALID[0]; i++) {
        pg_frame_status want = PG_FRAME_OK;
        for (size_t k = 0; k < sizeof expected / sizeof expected[0]; k++) {
            if (strcmp(expected[k].name, INVALID[i].name) == 0) {
                want = expected[k].reason;
            }
        }
        pg_rx rx;
        pg_rx_init(&rx);
        pg_frame_status st = feed_all(&rx, INVALID[i].wire, INVALID[i].wire_len);
        CHECK(st == want, "%s: got %s want %s", INVALID[i].name, pg_frame_status_name(st),
              pg_frame_status_name(want));
    }
}

static void test_stream_vector_resynchronises(void)
{
    pg_rx rx;
    pg_rx_init(&rx);
    int frames = 0;
    int rejected = 0;
    for (size_t k = 0; k < sizeof V_stream_wire; k++) {
        pg_frame_view f;
        pg_frame_status st = pg_rx_feed(&rx, V_stream_wire[k], &f);
        frames += st == PG_FRAME_OK;
        rejected += st != PG_FRAME_OK && st != PG_FRAME_MORE;
    }
    CHECK(frames == V_STREAM_FRAMES && rejected == V_STREAM_REJECTED, "frames %d rejected %d", frames, rejected);
}

static void test_receiver_drops_a_run_longer_than_a_frame(void)
{
    pg_rx rx;
    pg_rx_init(&rx);
    uint8_t junk[600];
    memset(junk, 0x41, sizeof junk);
    CHECK(feed_all(&rx, junk, sizeof junk) == PG_FRAME_MORE, "no status before the delimiter");
    CHECK(feed_all(&rx, (const uint8_t *)"", 1) == PG_FRAME_TOO_LONG, "too long at the delimiter");
    /* and the next frame decodes */
    CHECK(feed_all(&rx, V_hello_wire, sizeof V_hello_wire) == PG_FRAME_OK, "resynchronised");
    CHECK(feed_all(&rx, (const uint8_t *)"\0\0\0", 3) == PG_FRAME_MORE, "idle delimiters");
}

static void test_text_is_cut_at_utf8_boundaries(void)
{
    pg_header h = {{1, 2, 3, 4, 5, 6}, 1, 0};
    char name[64];
    /* 31 ASCII bytes then a 2-byte character: 33 bytes, the character must go whole */
    memset(name, 'a', 31);
    strcpy(name + 31, "\xc3\xa9");
    pg_hello hello = {1, 0, 30, 4000, 50, 660, name};
    uint8_t raw[PG_MAX_RAW];
    size_t n = pg_frame_hello(&h, &hello, raw, sizeof raw);
    CHECK(n == PG_HEADER_LEN + PG_HELLO_FIXED_LEN + 31 + PG_CRC_LEN, "name cut to 31 bytes, got %zu", n);
    char text[300];
    memset(text, 'x', 199);
    strcpy(text + 199, "\xe2\x82\xb9 rupee");
    n = pg_frame_log(&h, 1, text, raw, sizeof raw);
    CHECK(n == PG_HEADER_LEN + 1 + 199 + PG_CRC_LEN, "log cut to 199 bytes, got %zu", n);
    pg_frame_view f;
    CHECK(pg_frame_parse(raw, n, &f) == PG_FRAME_OK && f.type == PG_TYPE_LOG, "cut log parses");
    CHECK(pg_frame_log(&h, 1, "hi", raw, 10) == 0, "short buffer refused");
}

/* ---------------------------------------------------------------- CONFIG */

static pg_config_status apply(pg_config *cfg, const char *line, char *msg)
{
    return pg_config_apply(cfg, (const uint8_t *)line, strlen(line), false, NULL, msg, 160);
}

static void test_config_applies_each_key(void)
{
    pg_config cfg;
    pg_config_defaults(&cfg, 30);
    CHECK(cfg.vnom_dv == 2300 && cfg.mv_per_a_x10 == 660 && cfg.pf_x100 == 100 && !cfg.calibrated, "defaults");
    char msg[160];
    CHECK(apply(&cfg, "name=kitchen-main", msg) == PG_CONFIG_APPLIED && strcmp(cfg.name, "kitchen-main") == 0, "name");
    CHECK(strcmp(msg, "applied name=kitchen-main") == 0, "message: %s", msg);
    CHECK(apply(&cfg, "name=रसोई", msg) == PG_CONFIG_APPLIED && strcmp(cfg.name, "रसोई") == 0, "UTF-8 name");
    CHECK(apply(&cfg, "name=", msg) == PG_CONFIG_APPLIED && cfg.name[0] == '\0', "empty name");
    CHECK(apply(&cfg, "vnom_dv=2400\n", msg) == PG_CONFIG_APPLIED && cfg.vnom_dv == 2400, "vnom with newline");
    CHECK(apply(&cfg, "mv_per_a_x10=672", msg) == PG_CONFIG_APPLIED && cfg.mv_per_a_x10 == 672 && cfg.calibrated,
          "sensitivity marks calibrated");
    CHECK(apply(&cfg, "pf_x100=85", msg) == PG_CONFIG_APPLIED && cfg.pf_x100 == 85, "power factor");
    CHECK(apply(&cfg, "zero=now", msg) == PG_CONFIG_ZERO_NOW, "zero=now is the caller's job");
    CHECK(apply(&cfg, "bindkey=231d39c1d7cc1ab1aee224cd096db932", msg) == PG_CONFIG_APPLIED && cfg.has_bindkey &&
              cfg.bindkey[0] == 0x23 && cfg.bindkey[15] == 0x32,
          "bind key");
    CHECK(strstr(msg, "231d") == NULL, "bind key not echoed: %s", msg);
    CHECK(apply(&cfg, "bindkey=none", msg) == PG_CONFIG_APPLIED && !cfg.has_bindkey, "bind key off");
}

static void test_config_rejects_bad_input_and_leaves_settings_alone(void)
{
    static const struct {
        const char *line;
        pg_config_status status;
        const char *in_msg;
    } bad[] = {
        {"", PG_CONFIG_BAD_SYNTAX, "key=value"},
        {"vnom_dv", PG_CONFIG_BAD_SYNTAX, "key=value"},
        {"=5", PG_CONFIG_BAD_SYNTAX, "key=value"},
        {"volts=230", PG_CONFIG_BAD_KEY, "accepted name, vnom_dv"},
        {"vnom_dv=", PG_CONFIG_BAD_VALUE, "900..2700"},
        {"vnom_dv=230.0", PG_CONFIG_BAD_VALUE, "900..2700"},
        {"vnom_dv=-2300", PG_CONFIG_BAD_VALUE, "900..2700"},
        {"vnom_dv=99999999", PG_CONFIG_BAD_VALUE, "900..2700"},
        {"vnom_dv=800", PG_CONFIG_BAD_VALUE, "vnom_dv=800"},
        {"vnom_dv= 2300", PG_CONFIG_BAD_VALUE, "integer"},
        {"mv_per_a_x10=0", PG_CONFIG_BAD_VALUE, "100..5000"},
        {"pf_x100=101", PG_CONFIG_BAD_VALUE, "1..100"},
        {"pf_x100=0", PG_CONFIG_BAD_VALUE, "1..100"},
        {"zero=yes", PG_CONFIG_BAD_VALUE, "zero=now"},
        {"name=abcdefghijklmnopqrstuvwxyz0123456", PG_CONFIG_BAD_VALUE, "0..32 bytes"},
        {"name=bad\x01", PG_CONFIG_BAD_SYNTAX, "UTF-8"},
        {"name=\xc3", PG_CONFIG_BAD_SYNTAX, "UTF-8"},
        {"name=\xc0\xaf", PG_CONFIG_BAD_SYNTAX, "UTF-8"},
        {"name=\xed\xa0\x80", PG_CONFIG_BAD_SYNTAX, "UTF-8"},
        {"bindkey=231d39c1d7cc1ab1aee224cd096db93", PG_CONFIG_BAD_VALUE, "32 hex"},
        {"bindkey=231d39c1d7cc1ab1aee224cd096db93g", PG_CONFIG_BAD_VALUE, "32 hex"},
        {"name=0123456789012345678901234567890123456789012345678901234567890", PG_CONFIG_BAD_SYNTAX, "1..64"},
    };
    pg_config cfg;
    pg_config_defaults(&cfg, 20);
    strcpy(cfg.name, "before");
    pg_config before = cfg;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char msg[160] = "";
        pg_config_status st = apply(&cfg, bad[i].line, msg);
        CHECK(st == bad[i].status, "'%s': status %d want %d", bad[i].line, st, bad[i].status);
        CHECK(strstr(msg, bad[i].in_msg) != NULL, "'%s': message '%s' lacks '%s'", bad[i].line, msg, bad[i].in_msg);
        CHECK(memcmp(&cfg, &before, sizeof cfg) == 0, "'%s' changed the settings", bad[i].line);
    }
    /* a message buffer too small is truncated, not overrun */
    char tiny[8];
    CHECK(pg_config_apply(&cfg, (const uint8_t *)"volts=1", 7, false, NULL, tiny, sizeof tiny) == PG_CONFIG_BAD_KEY &&
              strlen(tiny) == 7,
          "tiny message buffer");
}

/* A settings blob as firmware before the voltage channel wrote it to NVS: the bytes of its
 * pg_config (`git show main:firmware/powernode/src/core/pg_config.h`), laid out by hand at the
 * offsets the ESP32's compiler gave them, little-endian, padding bytes left as 0xAA. */
static void put_le(uint8_t *at, uint32_t v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        at[i] = (uint8_t)(v >> (8 * i));
    }
}

static void old_layout_blob(uint8_t blob[68])
{
    memset(blob, 0xAA, 68);
    memset(blob, 0, 33); /* name[33] at 0 */
    memcpy(blob, "रसोई-main", strlen("रसोई-main"));
    put_le(blob + 34, 2400, 2);                                      /* vnom_dv */
    put_le(blob + 36, 672, 2);                                       /* mv_per_a_x10 */
    blob[38] = 85;                                                   /* pf_x100 */
    blob[39] = 1;                                                    /* calibrated */
    put_le(blob + 40, 1650011, 4);                                   /* zero_uv */
    put_le(blob + 44, 2100, 4);                                      /* noise_uv */
    blob[48] = 1;                                                    /* has_bindkey */
    hex_to_bytes("231d39c1d7cc1ab1aee224cd096db932", blob + 49, 16); /* bindkey[16] */
}

static void test_settings_of_the_previous_layout_are_kept(void)
{
    uint8_t blob[68];
    old_layout_blob(blob);
    CHECK(sizeof(pg_config_v1) == sizeof blob, "pg_config_v1 is %zu bytes", sizeof(pg_config_v1));
    pg_config cfg;
    memset(&cfg, 0x55, sizeof cfg);
    CHECK(pg_config_load(&cfg, blob, sizeof blob, 30, 450) == PG_CONFIG_LAYOUT_V1, "layout");
    CHECK(strcmp(cfg.name, "रसोई-main") == 0, "name '%s'", cfg.name);
    CHECK(cfg.vnom_dv == 2400 && cfg.pf_x100 == 85, "vnom_dv %u pf_x100 %u", cfg.vnom_dv, cfg.pf_x100);
    CHECK(cfg.mv_per_a_x10 == 672 && cfg.calibrated, "calibration %u %d", cfg.mv_per_a_x10, cfg.calibrated);
    CHECK(cfg.zero_uv == 1650011 && cfg.noise_uv == 2100, "zero %ld noise %lu", (long)cfg.zero_uv,
          (unsigned long)cfg.noise_uv);
    uint8_t key[PG_BINDKEY_LEN];
    hex_to_bytes("231d39c1d7cc1ab1aee224cd096db932", key, sizeof key);
    CHECK(cfg.has_bindkey, "bind key on");
    CHECK_MEM(cfg.bindkey, key, sizeof key, "bind key");
    CHECK(cfg.v_uv_per_mv == PG_V_UV_PER_MV_DEFAULT && !cfg.v_calibrated && cfg.phase_cdeg == 450,
          "voltage fields at factory: %lu %d %d", (unsigned long)cfg.v_uv_per_mv, cfg.v_calibrated, cfg.phase_cdeg);

    /* the node boots from it exactly as from settings it stored itself */
    pg_node node;
    pg_node_boot boot = {.sensor_amps = 30, .meter = PG_METER_PARAMS_DEFAULT, .persist = PG_PERSIST_DEFAULT};
    boot.stored_config = &cfg;
    CHECK(pg_node_init(&node, &boot) == 0 && node.cfg.mv_per_a_x10 == 672 && node.cfg.zero_uv == 1650011,
          "node keeps the calibration");

    /* a flag byte other than 0 or 1 reads as set, without undefined behaviour */
    blob[39] = 0xFF;
    blob[48] = 0;
    CHECK(pg_config_load(&cfg, blob, sizeof blob, 30, 0) == PG_CONFIG_LAYOUT_V1 && cfg.calibrated &&
              !cfg.has_bindkey && cfg.phase_cdeg == 0,
          "flags %d %d phase %d", cfg.calibrated, cfg.has_bindkey, cfg.phase_cdeg);
    /* a name without its NUL is cut at PG_NAME_MAX */
    memset(blob, 'x', 33);
    CHECK(pg_config_load(&cfg, blob, sizeof blob, 30, 0) == PG_CONFIG_LAYOUT_V1 && strlen(cfg.name) == PG_NAME_MAX,
          "name of %zu bytes", strlen(cfg.name));
}

static void test_current_settings_round_trip(void)
{
    pg_config cfg;
    pg_config_defaults(&cfg, 20);
    char msg[160];
    static const char *const lines[] = {"name=geyser", "mv_per_a_x10=1012", "pf_x100=92", "vnom_dv=2350",
                                        "bindkey=231d39c1d7cc1ab1aee224cd096db932", "phase_cdeg=-125"};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        CHECK(pg_config_apply(&cfg, (const uint8_t *)lines[i], strlen(lines[i]), true, NULL, msg, sizeof msg) ==
                  PG_CONFIG_APPLIED,
              "%s: %s", lines[i], msg);
    }
    cfg.zero_uv = 1649800;
    cfg.noise_uv = 1900;
    cfg.v_uv_per_mv = 512345;
    cfg.v_calibrated = true;
    uint8_t blob[sizeof(pg_config)];
    memcpy(blob, &cfg, sizeof blob); /* what nvs_save_config stores */
    pg_config back;
    CHECK(pg_config_load(&back, blob, sizeof blob, 30, 450) == PG_CONFIG_LAYOUT_CURRENT, "layout");
    CHECK(memcmp(&back, &cfg, sizeof cfg) == 0, "round trip differs");
    CHECK(back.mv_per_a_x10 == 1012 && back.phase_cdeg == -125 && back.v_uv_per_mv == 512345 && back.v_calibrated,
          "fields");

    /* flag bytes other than 0 or 1 read as set */
    blob[offsetof(pg_config, v_calibrated)] = 0x80;
    blob[offsetof(pg_config, calibrated)] = 0x02;
    CHECK(pg_config_load(&back, blob, sizeof blob, 30, 450) == PG_CONFIG_LAYOUT_CURRENT && back.v_calibrated &&
              back.calibrated,
          "flags");
}

static void test_settings_of_an_unknown_length_give_factory_settings(void)
{
    pg_config factory;
    pg_config_defaults(&factory, 5);
    factory.phase_cdeg = 450;
    uint8_t blob[PG_CONFIG_BLOB_MAX + 1];
    memset(blob, 0x7E, sizeof blob);
    for (size_t len = 0; len <= sizeof blob; len++) {
        if (len == sizeof(pg_config) || len == sizeof(pg_config_v1)) {
            continue;
        }
        pg_config cfg;
        memset(&cfg, 0x55, sizeof cfg);
        CHECK(pg_config_load(&cfg, blob, len, 5, 450) == PG_CONFIG_LAYOUT_UNKNOWN, "%zu bytes: layout", len);
        CHECK(memcmp(&cfg, &factory, sizeof cfg) == 0, "%zu bytes: not the factory settings", len);
    }
    pg_config cfg;
    CHECK(pg_config_load(&cfg, NULL, 0, 5, 450) == PG_CONFIG_LAYOUT_UNKNOWN && memcmp(&cfg, &factory, sizeof cfg) == 0,
          "nothing stored");
}

/* ---------------------------------------------------------------- meter */

typedef struct {
    double irms_a;    /* measured */
    double power_w;
    bool saturated;
    uint64_t energy_mwh;
} run_result;

/* Run `windows` windows of the synthetic signal through a fresh meter; returns the last one. */
static run_result run_meter(pg_synth *s, pg_meter *m, const pg_config *cfg, int windows)
{
    static uint16_t buf[8192];
    pg_window w = {0};
    for (int k = 0; k < windows; k++) {
        while (!pg_meter_window_full(m)) {
            size_t want = m->window_samples - m->n;
            want = want > 997 ? 997 : want; /* odd chunks: feeding must not care */
            pg_synth_fill(s, buf, want);
            pg_meter_feed(m, buf, want);
        }
        pg_meter_finish(m, cfg, 0, &w);
    }
    return (run_result){w.irms_a, w.power_w, w.saturated, w.energy_mwh};
}

static double rel_err(double got, double want)
{
    return fabs(got - want) / want;
}

static void test_rms_of_a_clean_sine(void)
{
    static const double loads_a[] = {0.5, 1.0, 4.35, 10.0, 20.0};
    for (size_t i = 0; i < sizeof loads_a / sizeof loads_a[0]; i++) {
        pg_synth s;
        pg_synth_defaults(&s, 1);
        s.noise_mv = 0;
        s.irms_a = loads_a[i];
        pg_meter m;
        pg_meter_params p = PG_METER_PARAMS_DEFAULT;
        CHECK(pg_meter_init(&m, &p) == 0, "init");
        pg_config cfg;
        pg_config_defaults(&cfg, 30);
        run_result r = run_meter(&s, &m, &cfg, 3);
        /* 1 mV quantisation at the pin is 23 mA at the sensor: relative error falls with load */
        double tol = loads_a[i] < 1.0 ? 0.02 : 0.005;
        CHECK(rel_err(r.irms_a, loads_a[i]) < tol, "%.2f A read as %.4f A", loads_a[i], r.irms_a);
        CHECK(rel_err(r.power_w, loads_a[i] * 230.0) < tol, "power at %.2f A: %.2f W", loads_a[i], r.power_w);
        CHECK(!r.saturated, "%.2f A is inside the range", loads_a[i]);
    }
}

static void test_rms_ignores_dc_offset_and_tracks_drift(void)
{
    pg_synth s;
    pg_synth_defaults(&s, 2);
    s.noise_mv = 0;
    s.irms_a = 5.0;
    s.zero_error_mv = 45.0; /* the sensor's zero is 45 mV off Vcc/2 */
    pg_meter m;
    pg_meter_params p = PG_METER_PARAMS_DEFAULT;
    pg_meter_init(&m, &p);
    pg_meter_set_zero(&m, 2500.0 / 1.5, 0.0); /* seeded with the nominal zero: 30 mV off at the pin */
    pg_config cfg;
    pg_config_defaults(&cfg, 30);
    run_result first = run_meter(&s, &m, &cfg, 1);
    CHECK(first.irms_a > 5.0, "a wrong zero reads high at first: %.4f", first.irms_a);
    run_result later = run_meter(&s, &m, &cfg, 300);
    CHECK(rel_err(later.irms_a, 5.0) < 0.003, "after tracking: %.4f A", later.irms_a);
    CHECK(fabs(m.offset_mv - (2500.0 + 45.0) / 1.5) < 0.5, "zero converged to %.2f mV", m.offset_mv);
    /* the zero drifts by 10 mV (temperature): tracked, no lasting error */
    s.zero_error_mv = 55.0;
    later = run_meter(&s, &m, &cfg, 300);
    CHECK(rel_err(later.irms_a, 5.0) < 0.003, "after drift: %.4f A", later.irms_a);
}

static void test_rms_over_non_integer_cycle_counts(void)
{
    static const double freqs[] = {49.5, 49.73, 50.21, 50.5};
    for (size_t i = 0; i < sizeof freqs / sizeof freqs[0]; i++) {
        pg_synth s;
        pg_synth_defaults(&s, 3);
        s.noise_mv = 0;
        s.irms_a = 8.0;
        s.freq_hz = freqs[i];
        s.phase_rad = 0.7;
        pg_meter m;
        pg_meter_params p = PG_METER_PARAMS_DEFAULT;
        pg_meter_init(&m, &p);
        pg_config cfg;
        pg_config_defaults(&cfg, 30);
        double worst = 0;
        run_meter(&s, &m, &cfg, 40); /* let the zero settle */
        for (int k = 0; k < 20; k++) {
            run_result r = run_meter(&s, &m, &cfg, 1);
            double e = rel_err(r.irms_a, 8.0);
            worst = e > worst ? e : worst;
        }
        CHECK(worst < 0.003, "%.2f Hz: worst window error %.4f%%", freqs[i], worst * 100);
    }
    /* short windows (10 cycles) with a fractional cycle still stay within 1 % */
    pg_synth s;
    pg_synth_defaults(&s, 4);
    s.noise_mv = 0;
    s.irms_a = 3.0;
    s.freq_hz = 50.37;
    pg_meter m;
    pg_meter_params p = PG_METER_PARAMS_DEFAULT;
    p.cycles = 10;
    pg_meter_init(&m, &p);
    CHECK(m.window_samples == 800 && pg_meter_window_ms(&m) == 200, "10-cycle window");
    pg_config cfg;
    pg_config_defaults(&cfg, 30);
    run_meter(&s, &m, &cfg, 200);
    for (int k = 0; k < 20; k++) {
        run_result r = run_meter(&s, &m, &cfg, 1);
        CHECK(rel_err(r.irms_a, 3.0) < 0.01, "10 cycles at 50.37 Hz: %.4f A", r.irms_a);
    }
}

static void test_noise_is_taken_out_after_zero_now(void)
{
    pg_synth s;
    pg_synth_defaults(&s, 5);
    s.noise_mv = 4.0;
    pg_meter m;
    pg_meter_params p = PG_METER_PARAMS_DEFAULT;
    pg_meter_init(&m, &p);
    pg_config cfg;
    pg_config_defaults(&cfg, 30);
    run_result idle = run_meter(&s, &m, &cfg, 3);
    /* 4 mV at the pin = 6 mV at the sensor = 91 mA of phantom current = 21 W */
    CHECK(idle.irms_a > 0.07, "noise reads as current before zero=now: %.3f A", idle.irms_a);
    double mean;
    double rms;
    CHECK(pg_meter_last_window(&m, &mean, &rms), "last window");
    CHECK(fabs(rms - 4.0) < 0.3, "noise rms %.2f mV", rms);
    pg_meter_set_zero(&m, mean, rms);
    idle = run_meter(&s, &m, &cfg, 20);
    CHECK(idle.irms_a < 0.03, "idle after zero=now: %.3f A", idle.irms_a);
    s.irms_a = 2.0;
    run_result loaded = run_meter(&s, &m, &cfg, 3);
    CHECK(rel_err(loaded.irms_a, 2.0) < 0.01, "2 A under 4 mV noise: %.4f A", loaded.irms_a);
}

static void test_clipping_sets_the_saturation_flag(void)
{
    pg_synth s;
    pg_synth_defaults(&s, 6);
    s.irms_a = 30.0; /* 42.4 A peak: past the 30 A sensor and the ADC's 3.13 V */
    pg_meter m;
    pg_meter_params p = PG_METER_PARAMS_DEFAULT;
    pg_meter_init(&m, &p);
    pg_config cfg;
    pg_config_defaults(&cfg, 30);
    run_result r = run_meter(&s, &m, &cfg, 2);
    CHECK(r.saturated, "30 A rms on a 30 A sensor saturates");
    CHECK(r.irms_a < 30.0, "and reads low (%.2f A), which is why it is flagged", r.irms_a);
    s.irms_a = 12.0;
    r = run_meter(&s, &m, &cfg, 2);
    CHECK(!r.saturated && rel_err(r.irms_a, 12.0) < 0.01, "12 A clears it: %.3f A", r.irms_a);
    /* a 5 A sensor with 10 A through it: the sensor clamps at its rails */
    pg_synth_defaults(&s, 7);
    s.sens_mv_per_a = 185.0;
    s.irms_a = 10.0;
    pg_meter_init(&m, &p);
    pg_config_defaults(&cfg, 5);
    r = run_meter(&s, &m, &cfg, 2);
    CHECK(r.saturated, "10 A on a 5 A sensor saturates");
}

static void test_energy_carries_the_sub_mwh_remainder(void)
{
    pg_meter m;
    pg_meter_params p = PG_METER_PARAMS_DEFAULT;
    pg_meter_init(&m, &p);
    pg_config cfg;
    pg_config_defaults(&cfg, 30);
    pg_synth s;
    pg_synth_defaults(&s, 8);
    s.noise_mv = 0;
    /* Energy must equal the sum of the windows' power * time, floored to whole mWh, at all times. */
    s.irms_a = 0.5;
    double sum_uj = 0;
    uint16_t buf[4000];
    for (int k = 0; k < 3600; k++) {
        pg_synth_fill(&s, buf, 4000);
        pg_meter_feed(&m, buf, 4000);
        pg_window w;
        pg_meter_finish(&m, &cfg, 1000, &w);
        sum_uj += llround(w.power_w * 1000.0 * 1000.0);
        CHECK(w.energy_mwh == (uint64_t)(sum_uj / 3600000.0), "window %d: %llu mWh vs %.3f", k,
              (unsigned long long)w.energy_mwh, sum_uj / 3600000.0);
        if (g_failures) {
            break;
        }
    }
    CHECK(fabs(m.energy_mwh - 0.5 * 230.0 * 1000.0) < 0.01 * 0.5 * 230.0 * 1000.0, "one hour at 115 W: %llu mWh",
          (unsigned long long)m.energy_mwh);
    /* 230 W in 1 ms windows is 0.064 mWh a window: only the carried remainder makes it count */
    pg_meter_init(&m, &p);
    s.irms_a = 1.0;
    sum_uj = 0;
    for (int k = 0; k < 3600; k++) {
        pg_synth_fill(&s, buf, 4000);
        pg_meter_feed(&m, buf, 4000);
        pg_window w;
        pg_meter_finish(&m, &cfg, 1, &w);
        sum_uj += llround(w.power_w * 1000.0);
    }
    CHECK(m.energy_mwh == (uint64_t)(sum_uj / 3600000.0) && m.energy_mwh >= 228 && m.energy_mwh <= 232,
          "3.6 s at 230 W in 1 ms steps: %llu mWh", (unsigned long long)m.energy_mwh);
}

static void test_meter_rejects_impossible_parameters(void)
{
    pg_meter m;
    pg_meter_params p = PG_METER_PARAMS_DEFAULT;
    p.sample_rate_hz = 1000;
    CHECK(pg_meter_init(&m, &p) == -1, "below 2 kHz");
    p = (pg_meter_params)PG_METER_PARAMS_DEFAULT;
    p.cycles = 9;
    CHECK(pg_meter_init(&m, &p) == -1, "fewer than 10 cycles");
    p = (pg_meter_params)PG_METER_PARAMS_DEFAULT;
    p.sample_rate_hz = 4010;
    CHECK(pg_meter_init(&m, &p) == -1, "not a whole number of samples per cycle");
    p = (pg_meter_params)PG_METER_PARAMS_DEFAULT;
    p.mains_hz = 60;
    p.sample_rate_hz = 3960;
    p.cycles = 60;
    CHECK(pg_meter_init(&m, &p) == 0 && m.window_samples == 3960 && pg_meter_window_ms(&m) == 1000, "60 Hz");
}

/* ---------------------------------------------------------------- voltage channel */

#define PI_D 3.14159265358979323846

static void test_real_power_within_1pct_after_phase_calibration(void)
{
    static const double pfs[] = {1.0, 0.9, 0.8, 0.7, 0.6, 0.5};
    /* none; a fan's motor (20 % 3rd); an SMPS's peaky current (80/60/40 % of 3rd/5th/7th) */
    static const double harm[3][3] = {{0, 0, 0}, {-0.2, 0, 0}, {-0.8, 0.6, -0.4}};
    int cases = 0;
    for (int h = 0; h < 3; h++) {
        for (size_t k = 0; k < sizeof pfs / sizeof pfs[0]; k++) {
            for (int export = 0; export < 2; export++) {
                pg_synth s;
                pg_meter m;
                pg_config cfg;
                pg_synth_voltage_rig(&s, &m, &cfg, 20 + (uint64_t)k);
                pg_synth_calibrate(&s, &m, &cfg);
                double phase = -acos(pfs[k]) + (export ? PI_D : 0.0);
                pg_synth_load_result r = pg_synth_measure_load(&s, &m, &cfg, 4.0, phase, harm[h]);
                /* The goal is PF 0.5 to 1: the displacement PF 0.5 is 0.496 with the voltage's
                 * harmonics; an SMPS below a displacement PF of 0.8 falls under 0.48. */
                if (r.true_pf < 0.49) {
                    continue;
                }
                cases++;
                CHECK(fabs(r.worst_err) < 0.01, "harmonics %d, PF %.2f, %s: worst window %+.3f %%", h, r.true_pf,
                      export ? "export" : "import", 100 * r.worst_err);
                CHECK(fabs(r.meas_pf - r.true_pf) < 0.01, "PF %.3f read as %.3f", r.true_pf, r.meas_pf);
                CHECK(fabs(r.vrms_v - r.true_vrms_v) < 0.003 * r.true_vrms_v, "Vrms %.2f read as %.2f", r.true_vrms_v,
                      r.vrms_v);
            }
        }
    }
    CHECK(cases == 30, "cases from PF 0.5 to 1: %d", cases);
}

static void test_uncorrected_phase_shows_why_pcal_is_needed(void)
{
    pg_synth s;
    pg_meter m;
    pg_config cfg;
    CHECK(pg_synth_voltage_rig(&s, &m, &cfg, 40) == 0, "rig");
    static const double none[3] = {0, 0, 0};
    /* no correction at all: 7.5 degrees (skew + ZMPT101B) at PF 0.5 is ~-22 % */
    pg_synth_load_result r = pg_synth_measure_load(&s, &m, &cfg, 4.0, -acos(0.5), none);
    CHECK(r.mean_err < -0.15, "uncorrected at PF 0.5: %+.2f %%", 100 * r.mean_err);
    /* the skew alone corrected (the factory setting): the module's 3 degrees remain, ~-9 % */
    pg_meter_set_phase(&m, 450);
    r = pg_synth_measure_load(&s, &m, &cfg, 4.0, -acos(0.5), none);
    CHECK(r.mean_err < -0.07 && r.mean_err > -0.11, "skew only at PF 0.5: %+.2f %%", 100 * r.mean_err);
    pg_synth_calibrate(&s, &m, &cfg);
    CHECK(cfg.phase_cdeg > 740 && cfg.phase_cdeg < 760, "pcal finds 4.5 + 3 degrees: %d", cfg.phase_cdeg);
    r = pg_synth_measure_load(&s, &m, &cfg, 4.0, -acos(0.5), none);
    CHECK(fabs(r.mean_err) < 0.003, "calibrated at PF 0.5: %+.3f %%", 100 * r.mean_err);
}

static void test_phase_correction_both_ways_and_rates(void)
{
    /* A voltage that lags (read before the current) delays the current instead; 4 kHz and 8 kHz
     * put the correction at other whole-sample lags. */
    static const struct {
        uint16_t rate;
        double skew_us;
        double lead_deg;
    } rigs[] = {{2000, -600.0, 0.0}, {4000, 250.0, 2.0}, {8000, 500.0, 5.0}, {4000, -125.0, 1.0}};
    for (size_t i = 0; i < sizeof rigs / sizeof rigs[0]; i++) {
        pg_synth s;
        pg_meter m;
        pg_config cfg;
        pg_synth_voltage_rig(&s, &m, &cfg, 50 + i);
        s.sample_rate_hz = rigs[i].rate;
        s.skew_s = rigs[i].skew_us * 1e-6;
        s.zmpt_lead_deg = rigs[i].lead_deg;
        pg_meter_params p = m.p;
        p.sample_rate_hz = rigs[i].rate;
        pg_meter_init(&m, &p);
        pg_synth_calibrate(&s, &m, &cfg);
        double want = rigs[i].skew_us * 1e-6 * 50 * 360 + rigs[i].lead_deg;
        CHECK(fabs(cfg.phase_cdeg / 100.0 - want) < 0.1, "rig %zu: phase %.2f deg, want %.2f", i,
              cfg.phase_cdeg / 100.0, want);
        static const double fan[3] = {-0.1, 0, 0};
        pg_synth_load_result r = pg_synth_measure_load(&s, &m, &cfg, 3.0, -acos(0.6), fan);
        CHECK(fabs(r.worst_err) < 0.01, "rig %zu at PF 0.6: %+.3f %%", i, 100 * r.worst_err);
    }
}

static void test_import_and_export_count_separately(void)
{
    pg_synth s;
    pg_meter m;
    pg_config cfg;
    pg_synth_voltage_rig(&s, &m, &cfg, 60);
    pg_synth_calibrate(&s, &m, &cfg);
    pg_meter_set_energy(&m, 1000);
    pg_meter_set_export(&m, 500);
    double import_uj = 0;
    double export_uj = 0;
    for (int k = 0; k < 600; k++) {
        s.irms_a = 6.5;
        s.phase_rad = k < 300 ? -0.3 : PI_D; /* 5 min of a load, then 5 min of rooftop-solar export */
        pg_window w;
        pg_synth_window_iv(&s, &m, &cfg, &w);
        if (w.power_w > 0) {
            import_uj += llround(w.power_w * 1e6);
        } else {
            export_uj += llround(-w.power_w * 1e6);
        }
        CHECK(w.energy_mwh == 1000 + (uint64_t)(import_uj / 3.6e6), "window %d: import %llu", k,
              (unsigned long long)w.energy_mwh);
        CHECK(w.export_mwh == 500 + (uint64_t)(export_uj / 3.6e6), "window %d: export %llu", k,
              (unsigned long long)w.export_mwh);
        CHECK(k < 300 ? w.power_w > 1300 : w.power_w < -1450, "window %d: %.1f W", k, w.power_w);
        if (g_failures) {
            break;
        }
    }
    /* 1428 W x 300 s = 119 Wh imported; 1495 W x 300 s = 125 Wh exported */
    CHECK(m.energy_mwh > 1000 + 118000 && m.energy_mwh < 1000 + 120000, "import %llu",
          (unsigned long long)m.energy_mwh);
    CHECK(m.export_mwh > 500 + 124000 && m.export_mwh < 500 + 126000, "export %llu", (unsigned long long)m.export_mwh);
}

static void test_idle_voltage_channel_counts_nothing(void)
{
    pg_synth s;
    pg_meter m;
    pg_config cfg;
    pg_synth_voltage_rig(&s, &m, &cfg, 70);
    pg_synth_calibrate(&s, &m, &cfg);
    s.irms_a = 0;
    s.noise_mv = 4.0;
    pg_window w;
    for (int k = 0; k < 120; k++) {
        pg_synth_window_iv(&s, &m, &cfg, &w);
        CHECK(w.power_w == 0.0 && w.power_dw == 0, "window %d: %.3f W of noise", k, w.power_w);
    }
    CHECK(w.vrms_dv > 2280 && w.vrms_dv < 2320 && w.pf_milli <= 1000, "idle: %u dV, pf %u", w.vrms_dv, w.pf_milli);
    uint64_t before_import = m.energy_mwh;
    CHECK(m.export_mwh == 0, "no phantom export: %llu mWh", (unsigned long long)m.export_mwh);
    /* 5 W is counted (above the 1 W creep limit) */
    s.irms_a = 5.0 / 230.0;
    for (int k = 0; k < 20; k++) {
        pg_synth_window_iv(&s, &m, &cfg, &w);
    }
    CHECK(w.power_w > 4.5 && w.power_w < 5.5 && m.energy_mwh > before_import, "5 W: %.2f W", w.power_w);
}

static void test_voltage_channel_saturation_and_feed_rules(void)
{
    pg_synth s;
    pg_meter m;
    pg_config cfg;
    pg_synth_voltage_rig(&s, &m, &cfg, 80);
    uint16_t buf[40] = {0};
    CHECK(pg_meter_feed(&m, buf, 40) == 0, "a voltage meter takes pairs only");
    pg_meter cur;
    pg_meter_params p = PG_METER_PARAMS_DEFAULT;
    pg_meter_init(&cur, &p);
    CHECK(pg_meter_feed_iv(&cur, buf, buf, 40) == 0, "a current-only meter takes no pairs");
    s.zmpt_mv_per_v = 2.5 * 700.0 / 230.0; /* the trimmer turned far too high */
    pg_window w;
    pg_synth_window_iv(&s, &m, &cfg, &w);
    pg_synth_window_iv(&s, &m, &cfg, &w);
    CHECK(w.saturated && w.v_saturated && w.v_max_mv >= 3100, "voltage clipping flags saturation: %u..%u mV",
          w.v_min_mv, w.v_max_mv);
}

static void test_config_voltage_keys(void)
{
    pg_config cfg;
    pg_config_defaults(&cfg, 30);
    CHECK(cfg.v_uv_per_mv == PG_V_UV_PER_MV_DEFAULT && cfg.phase_cdeg == 0 && !cfg.v_calibrated, "defaults");
    char msg[200];
    uint32_t arg = 0;
    static const struct {
        const char *line;
        bool voltage;
        pg_config_status status;
        const char *in_msg;
    } cases[] = {
        {"vcal_dv=2312", true, PG_CONFIG_VCAL, "vcal_dv=2312"},
        {"pcal=now", true, PG_CONFIG_PCAL, "pcal=now"},
        {"phase_cdeg=-1000", true, PG_CONFIG_APPLIED, "applied phase_cdeg=-1000"},
        {"phase_cdeg=455", true, PG_CONFIG_APPLIED, "applied phase_cdeg=455"},
        {"phase_cdeg=1001", true, PG_CONFIG_BAD_VALUE, "-1000..1000"},
        {"phase_cdeg=-", true, PG_CONFIG_BAD_VALUE, "-1000..1000"},
        {"phase_cdeg=4.5", true, PG_CONFIG_BAD_VALUE, "0.01 degree"},
        {"vcal_dv=899", true, PG_CONFIG_BAD_VALUE, "900..2700"},
        {"vcal_dv=230V", true, PG_CONFIG_BAD_VALUE, "900..2700"},
        {"pcal=yes", true, PG_CONFIG_BAD_VALUE, "pcal=now"},
        {"vcal_dv=2300", false, PG_CONFIG_BAD_VALUE, "no voltage channel"},
        {"pcal=now", false, PG_CONFIG_BAD_VALUE, "no voltage channel"},
        {"phase_cdeg=10", false, PG_CONFIG_BAD_VALUE, "no voltage channel"},
        {"vcal=2300", true, PG_CONFIG_BAD_KEY, "vcal_dv, pcal, phase_cdeg"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pg_config before = cfg;
        pg_config_status st = pg_config_apply(&cfg, (const uint8_t *)cases[i].line, strlen(cases[i].line),
                                              cases[i].voltage, &arg, msg, sizeof msg);
        CHECK(st == cases[i].status, "'%s': status %d want %d", cases[i].line, st, cases[i].status);
        CHECK(strstr(msg, cases[i].in_msg) != NULL, "'%s': message '%s'", cases[i].line, msg);
        if (st != PG_CONFIG_APPLIED) {
            CHECK(memcmp(&cfg, &before, sizeof cfg) == 0, "'%s' changed the settings", cases[i].line);
        }
        if (st == PG_CONFIG_VCAL) {
            CHECK(arg == 2312, "vcal argument %u", arg);
        }
    }
    CHECK(cfg.phase_cdeg == 455, "last phase applied: %d", cfg.phase_cdeg);
}

/* ---------------------------------------------------------------- persistence */

/* Simulate `seconds` of 1 s windows at a constant power; returns the number of flash writes and
 * the largest amount of energy that was ever unsaved. */
static uint64_t simulate_persist(double watts, uint64_t seconds, uint64_t *max_unsaved_mwh)
{
    pg_persist_policy p = PG_PERSIST_DEFAULT;
    uint64_t writes = 0;
    uint64_t energy_uj = 0;
    uint64_t saved = 0;
    uint32_t since = 0;
    *max_unsaved_mwh = 0;
    uint64_t uj_per_s = (uint64_t)(watts * 1e6);
    for (uint64_t t = 0; t < seconds; t++) {
        energy_uj += uj_per_s;
        uint64_t mwh = energy_uj / 3600000u;
        since = since > UINT32_MAX - 1000 ? UINT32_MAX : since + 1000;
        if (mwh - saved > *max_unsaved_mwh) {
            *max_unsaved_mwh = mwh - saved;
        }
        if (pg_persist_due(&p, mwh, saved, since)) {
            saved = mwh;
            since = 0;
            writes++;
        }
    }
    return writes;
}

static void test_persist_schedule_keeps_flash_wear_in_budget(void)
{
    pg_persist_policy p = PG_PERSIST_DEFAULT;
    CHECK(!pg_persist_due(&p, 100, 100, UINT32_MAX), "nothing new, no write");
    CHECK(!pg_persist_due(&p, 99, 100, UINT32_MAX), "counter below saved (new boot), no write");
    CHECK(!pg_persist_due(&p, 1000000, 0, 119999), "never twice within 2 min");
    CHECK(pg_persist_due(&p, 10000, 0, 120000), "10 Wh after 2 min");
    CHECK(!pg_persist_due(&p, 9999, 0, 899999), "under 10 Wh waits for 15 min");
    CHECK(pg_persist_due(&p, 1, 0, 900000), "any energy after 15 min");

    uint64_t unsaved;
    uint64_t day = 86400;
    uint64_t heavy = simulate_persist(7000.0, day, &unsaved); /* a 30 A circuit flat out */
    CHECK(heavy == day / 120, "heavy load writes every 2 min: %llu a day", (unsigned long long)heavy);
    CHECK(unsaved <= 7000 * 1000 * 120 / 3600 + 1, "at most 2 min of energy unsaved: %llu mWh",
          (unsigned long long)unsaved);
    uint64_t medium = simulate_persist(100.0, day, &unsaved);
    CHECK(medium == day / 360, "100 W writes every 6 min (10 Wh): %llu a day", (unsigned long long)medium);
    CHECK(unsaved <= 10000, "at most 10 Wh unsaved: %llu mWh", (unsigned long long)unsaved);
    uint64_t light = simulate_persist(20.0, day, &unsaved);
    CHECK(light == day / 900, "20 W writes every 15 min: %llu a day", (unsigned long long)light);
    CHECK(unsaved <= 5000, "at most 15 min unsaved: %llu mWh", (unsigned long long)unsaved);
    uint64_t idle = simulate_persist(0.0, day, &unsaved);
    CHECK(idle == 0, "idle writes nothing");
    /* Ten years at the worst rate, on the docs' wear model: NVS writes one 32-byte entry per
     * save, 126 entries per 4 KiB page, and the counter's page rotation spans at least the 4
     * usable pages of the 20 KiB partition; sectors are rated 100 000 erase cycles. */
    uint64_t ten_years = heavy * 3653;
    uint64_t erases_per_sector = ten_years / (126 * 4) + 1;
    CHECK(ten_years < 2700000 && erases_per_sector < 100000 / 10, "10 years: %llu writes, %llu erases per sector",
          (unsigned long long)ten_years, (unsigned long long)erases_per_sector);
    /* even if every write landed on one page */
    CHECK(ten_years / 126 < 100000 / 4, "single-page worst case: %llu erases", (unsigned long long)(ten_years / 126));
}

/* ---------------------------------------------------------------- BTHome */

static void test_bthome_plain_matches_the_protocol_example(void)
{
    static const uint8_t want[] = {0x40, 0x00, 0x07, 0x0b, 0x02, 0x7f, 0x01, 0x43, 0xfe,
                                   0x10, 0x4a, 0xfc, 0x08, 0x4d, 0x40, 0xe2, 0x01, 0x00};
    pg_bthome_values v;
    /* packet 7, 980.50 W, 4.350 A, 230.0 V, 123.456 kWh - from a READING's own units */
    pg_bthome_from_reading(&v, 7, 9805, 4350, 2300, 123456789);
    uint8_t sd[PG_BTHOME_MAX_SERVICE_DATA];
    size_t n = pg_bthome_plain(&v, sd, sizeof sd);
    CHECK(n == sizeof want && memcmp(sd, want, n) == 0, "service data");
    uint8_t adv[PG_BLE_ADV_MAX];
    size_t a = pg_bthome_adv(sd, n, adv, sizeof adv);
    static const uint8_t head[] = {0x02, 0x01, 0x06, 0x15, 0x16, 0xd2, 0xfc};
    CHECK(a == sizeof head + n && memcmp(adv, head, sizeof head) == 0 && memcmp(adv + 7, want, n) == 0,
          "advertising data with flags, %zu bytes", a);
    /* export and huge values clamp instead of wrapping */
    pg_bthome_from_reading(&v, 1, -2760, 70000, 2300, 9223372036854775813ull);
    CHECK(v.power_cw == 0 && v.current_ma == 0xFFFF && v.energy_wh == 0xFFFFFFFFu, "clamped");
    pg_bthome_from_reading(&v, 1, 2000000, 0, 2300, 0);
    CHECK(v.power_cw == 0xFFFFFF, "power clamps at u24");
}

static void test_bthome_encryption_matches_the_spec_example(void)
{
    /* https://bthome.io/encryption/: key, MAC 54:48:E6:8F:80:A5, counter 0x33221100, temperature
     * 25.06 C and humidity 50.55 % -> 41 a47266c95f73 00112233 78237214 */
    uint8_t key[16];
    uint8_t mac[6];
    hex_to_bytes("231d39c1d7cc1ab1aee224cd096db932", key, 16);
    hex_to_bytes("5448e68f80a5", mac, 6);
    static const uint8_t objects[] = {0x02, 0xca, 0x09, 0x03, 0xbf, 0x13};
    uint8_t want[15];
    hex_to_bytes("41a47266c95f730011223378237214", want, sizeof want);
    uint8_t sd[PG_BTHOME_MAX_SERVICE_DATA];
    size_t n = pg_bthome_encrypt_objects(key, mac, 0x33221100u, objects, sizeof objects, sd, sizeof sd);
    CHECK(n == sizeof want && memcmp(sd, want, n) == 0, "spec example");
    uint8_t plain[32];
    CHECK(pg_bthome_decrypt(key, mac, want, sizeof want, plain, sizeof plain) == 6 && memcmp(plain, objects, 6) == 0,
          "spec example decrypts");
}

static void test_bthome_encrypted_round_trip_and_tamper(void)
{
    uint8_t key[16];
    uint8_t mac[6];
    hex_to_bytes("00112233445566778899aabbccddeeff", key, 16);
    hex_to_bytes("a4cf1234567a", mac, 6);
    pg_bthome_values v;
    pg_bthome_from_reading(&v, 7, 9805, 4350, 2300, 123456789);
    uint8_t sd[PG_BTHOME_MAX_SERVICE_DATA];
    size_t n = pg_bthome_encrypt(key, mac, 1234, &v, sd, sizeof sd);
    CHECK(n == 1 + PG_BTHOME_OBJECTS_LEN + 8 && sd[0] == 0x41, "layout, %zu bytes", n);
    CHECK(sd[n - 8] == 0xd2 && sd[n - 7] == 0x04 && sd[n - 6] == 0 && sd[n - 5] == 0, "counter in clear, LE");
    uint8_t plain[32];
    uint8_t objects[PG_BTHOME_OBJECTS_LEN];
    pg_bthome_objects(&v, objects, sizeof objects);
    CHECK(pg_bthome_decrypt(key, mac, sd, n, plain, sizeof plain) == PG_BTHOME_OBJECTS_LEN &&
              memcmp(plain, objects, sizeof objects) == 0,
          "round trip");
    uint8_t other[16];
    memcpy(other, key, 16);
    other[0] ^= 1;
    CHECK(pg_bthome_decrypt(other, mac, sd, n, plain, sizeof plain) == -1, "wrong key");
    uint8_t mac2[6];
    memcpy(mac2, mac, 6);
    mac2[5] ^= 1;
    CHECK(pg_bthome_decrypt(key, mac2, sd, n, plain, sizeof plain) == -1, "wrong MAC");
    for (size_t i = 1; i < n; i++) {
        sd[i] ^= 0x80;
        CHECK(pg_bthome_decrypt(key, mac, sd, n, plain, sizeof plain) == -1, "byte %zu flipped", i);
        sd[i] ^= 0x80;
    }
    CHECK(pg_bthome_decrypt(key, mac, sd, 9, plain, sizeof plain) == -1, "truncated");
    uint8_t n2[PG_BTHOME_MAX_SERVICE_DATA];
    pg_bthome_encrypt(key, mac, 1235, &v, n2, sizeof n2);
    CHECK(memcmp(sd + 1, n2 + 1, PG_BTHOME_OBJECTS_LEN) != 0, "a new counter changes the ciphertext");
    uint8_t adv[PG_BLE_ADV_MAX];
    size_t a = pg_bthome_adv(sd, n, adv, sizeof adv);
    CHECK(a == 4 + n && a <= 31 && adv[1] == 0x16, "encrypted fits 31 bytes without flags: %zu", a);
}

static void test_bthome_counter_never_repeats_across_reboots(void)
{
    pg_bthome_counter c;
    pg_bthome_counter_boot(&c, 0);
    uint32_t stored = 0;
    uint32_t last = 0;
    int writes = 0;
    for (uint32_t i = 0; i < 3 * PG_BTHOME_COUNTER_BLOCK + 5; i++) {
        if (pg_bthome_counter_needs_reserve(&c)) {
            stored = pg_bthome_counter_reserve(&c);
            writes++;
        }
        last = pg_bthome_counter_take(&c);
        CHECK(last < stored, "counter %u used before it was reserved (%u)", last, stored);
    }
    CHECK(writes == 4, "one write per block: %d", writes);
    /* reboot: the next boot starts above everything used */
    pg_bthome_counter_boot(&c, stored);
    if (pg_bthome_counter_needs_reserve(&c)) {
        stored = pg_bthome_counter_reserve(&c);
    }
    CHECK(pg_bthome_counter_take(&c) > last, "after reboot");
}

static void test_bthome_signed_power_for_a_voltage_node(void)
{
    pg_bthome_values v;
    pg_bthome_from_reading_signed(&v, 9, -15123, 6580, 2391, 2000999);
    uint8_t sd[PG_BTHOME_MAX_SERVICE_DATA];
    size_t n = pg_bthome_plain(&v, sd, sizeof sd);
    /* packet id, current, voltage, energy, then 0x5C: object ids stay in ascending order */
    static const uint8_t want[] = {0x40, 0x00, 0x09, 0x43, 0xB4, 0x19, 0x4A, 0x57, 0x09, 0x4D, 0xD0,
                                   0x07, 0x00, 0x00, 0x5C, 0x42, 0xB1, 0xFD, 0xFF};
    CHECK(n == sizeof want && memcmp(sd, want, n) == 0, "signed layout, %zu bytes", n);
    pg_bthome_from_reading_signed(&v, 1, INT32_MAX, 0, 2300, 0);
    CHECK(v.power_signed_cw == INT32_MAX, "clamped, not wrapped");
    uint8_t adv[PG_BLE_ADV_MAX];
    CHECK(pg_bthome_adv(sd, n, adv, sizeof adv) == 3 + 4 + n, "plain fits with the flags");
    uint8_t key[16] = {1, 2, 3};
    uint8_t mac[6] = {0xa4, 0xcf, 0x12, 0x34, 0x56, 0x7a};
    n = pg_bthome_encrypt(key, mac, 5, &v, sd, sizeof sd);
    CHECK(n == 1 + PG_BTHOME_SIGNED_OBJECTS_LEN + 8 && pg_bthome_adv(sd, n, adv, sizeof adv) == 31,
          "encrypted fills the 31 bytes exactly: %zu", n);
    uint8_t plain[32];
    CHECK(pg_bthome_decrypt(key, mac, sd, n, plain, sizeof plain) == PG_BTHOME_SIGNED_OBJECTS_LEN && plain[13] == 0x5C,
          "decrypts to the signed objects");
}

/* ---------------------------------------------------------------- node */

typedef struct {
    int count;
    uint8_t types[16];
    uint32_t seqs[16];
    pg_reading readings[16];
    char text[16][PG_LOG_TEXT_MAX + 1];
} decoded;

static void decode_out(const pg_out *out, decoded *d)
{
    memset(d, 0, sizeof *d);
    pg_rx rx;
    pg_rx_init(&rx);
    for (size_t i = 0; i < out->len; i++) {
        pg_frame_view f;
        pg_frame_status st = pg_rx_feed(&rx, out->data[i], &f);
        if (st == PG_FRAME_MORE) {
            continue;
        }
        CHECK(st == PG_FRAME_OK, "node emitted a bad frame: %s", pg_frame_status_name(st));
        if (st != PG_FRAME_OK || d->count == 16) {
            continue;
        }
        d->types[d->count] = f.type;
        d->seqs[d->count] = f.h.seq;
        if (f.type == PG_TYPE_READING || f.type == PG_TYPE_READING_BIDIR) {
            const uint8_t *b = f.body;
            pg_reading *r = &d->readings[d->count];
            r->vrms_dv = (uint16_t)(b[10] | b[11] << 8);
            if (f.type == PG_TYPE_READING_BIDIR) {
                r->export_mwh = 0;
                for (int k = 7; k >= 0; k--) {
                    r->export_mwh = r->export_mwh << 8 | b[25 + k];
                }
                r->pf_milli = (uint16_t)(b[33] | b[34] << 8);
            }
            r->irms_ma = (uint32_t)b[6] | (uint32_t)b[7] << 8 | (uint32_t)b[8] << 16 | (uint32_t)b[9] << 24;
            r->power_dw = (int32_t)((uint32_t)b[12] | (uint32_t)b[13] << 8 | (uint32_t)b[14] << 16 | (uint32_t)b[15] << 24);
            r->energy_mwh = 0;
            for (int k = 7; k >= 0; k--) {
                r->energy_mwh = r->energy_mwh << 8 | b[16 + k];
            }
            r->flags = b[24];
        } else if (f.type == PG_TYPE_LOG) {
            memcpy(d->text[d->count], f.body + 1, f.body_len - 1);
        } else if (f.type == PG_TYPE_HELLO) {
            memcpy(d->text[d->count], f.body + PG_HELLO_FIXED_LEN, f.body_len - PG_HELLO_FIXED_LEN);
        }
        d->count++;
    }
}

static pg_node_boot boot_args(void)
{
    pg_node_boot b = {
        .node_id = {0xa4, 0xcf, 0x12, 0x34, 0x56, 0x78},
        .boot_id = 0xbeef,
        .sensor_amps = 30,
        .meter = PG_METER_PARAMS_DEFAULT,
        .persist = PG_PERSIST_DEFAULT,
    };
    return b;
}

/* One window of the synthetic signal through the node. */
static unsigned node_window(pg_node *n, pg_synth *s, uint32_t uptime_ms, pg_out *out)
{
    static uint16_t buf[4000];
    pg_synth_fill(s, buf, n->meter.window_samples);
    pg_meter_feed(&n->meter, buf, n->meter.window_samples);
    return pg_node_window(n, uptime_ms, 0, out);
}

static void send_config(pg_node *n, const char *line, pg_out *out, const uint8_t *node_id, unsigned *actions)
{
    pg_header h;
    memcpy(h.node_id, node_id, 6);
    h.boot_id = 0;
    h.seq = 0;
    uint8_t raw[PG_MAX_RAW];
    uint8_t wire[PG_MAX_WIRE];
    size_t r = pg_frame_config(&h, line, raw, sizeof raw);
    size_t w = pg_frame_to_wire(raw, r, wire, sizeof wire);
    *actions = pg_node_receive(n, wire, w, out);
}

static void test_node_boot_readings_and_hello_schedule(void)
{
    pg_node n;
    pg_node_boot b = boot_args();
    CHECK(pg_node_init(&n, &b) == 0, "init");
    uint8_t buf[2048];
    pg_out out = {buf, 0, sizeof buf, false};
    pg_node_start(&n, &out);
    decoded d;
    decode_out(&out, &d);
    CHECK(d.count == 2 && d.types[0] == PG_TYPE_HELLO && d.seqs[0] == 0 && d.types[1] == PG_TYPE_LOG && d.seqs[1] == 1,
          "HELLO then LOG at boot");
    CHECK(strstr(d.text[1], "starting at 0") != NULL, "boot log: %s", d.text[1]);
    pg_synth s;
    pg_synth_defaults(&s, 9);
    s.irms_a = 4.35;
    int hellos = 0;
    uint32_t seq = 2;
    for (uint32_t k = 1; k <= 130; k++) {
        out.len = 0;
        node_window(&n, &s, k * 1000, &out);
        decode_out(&out, &d);
        CHECK(d.count >= 1 && d.types[0] == PG_TYPE_READING && d.seqs[0] == seq, "window %u: reading seq", k);
        CHECK(d.readings[0].flags == (PG_FLAG_NOMINAL_VOLTAGE | PG_FLAG_UNCALIBRATED), "flags 0x%02x",
              d.readings[0].flags);
        for (int i = 0; i < d.count; i++) {
            hellos += d.types[i] == PG_TYPE_HELLO;
        }
        seq += (uint32_t)d.count;
    }
    CHECK(hellos == 2, "a HELLO each 60 s: %d in 130 s", hellos);
    CHECK(n.h.seq == seq, "seq counts every frame");
    CHECK(!out.overflow, "no overflow");
}

static void test_node_applies_config_and_answers(void)
{
    pg_node n;
    pg_node_boot b = boot_args();
    pg_node_init(&n, &b);
    uint8_t buf[2048];
    pg_out out = {buf, 0, sizeof buf, false};
    decoded d;
    unsigned act;
    send_config(&n, "name=kitchen-main", &out, b.node_id, &act);
    decode_out(&out, &d);
    CHECK(act == PG_NODE_SAVE_CONFIG, "store the config");
    CHECK(d.count == 2 && d.types[0] == PG_TYPE_LOG && d.types[1] == PG_TYPE_HELLO, "LOG then HELLO");
    CHECK(strcmp(d.text[0], "applied name=kitchen-main") == 0 && strcmp(d.text[1], "kitchen-main") == 0, "%s / %s",
          d.text[0], d.text[1]);

    out.len = 0;
    send_config(&n, "pf_x100=150", &out, b.node_id, &act);
    decode_out(&out, &d);
    CHECK(act == 0 && d.count == 2 && strstr(d.text[0], "rejected pf_x100=150") != NULL, "bad value: %s", d.text[0]);

    out.len = 0;
    static const uint8_t other[6] = {1, 2, 3, 4, 5, 6};
    send_config(&n, "name=x", &out, other, &act);
    decode_out(&out, &d);
    CHECK(act == 0 && d.count == 1 && strstr(d.text[0], "not this node") != NULL, "other node: %s", d.text[0]);

    /* zero=now before any window, with a load, then at no load */
    out.len = 0;
    send_config(&n, "zero=now", &out, b.node_id, &act);
    decode_out(&out, &d);
    CHECK(act == 0 && strstr(d.text[0], "no complete measurement window") != NULL, "%s", d.text[0]);
    pg_synth s;
    pg_synth_defaults(&s, 10);
    s.irms_a = 2.0;
    node_window(&n, &s, 1000, &out);
    out.len = 0;
    send_config(&n, "zero=now", &out, b.node_id, &act);
    decode_out(&out, &d);
    CHECK(act == 0 && strstr(d.text[0], "switch the load off") != NULL, "%s", d.text[0]);
    s.irms_a = 0.0;
    node_window(&n, &s, 2000, &out);
    out.len = 0;
    send_config(&n, "zero=now", &out, b.node_id, &act);
    decode_out(&out, &d);
    CHECK(act == PG_NODE_SAVE_CONFIG && strstr(d.text[0], "applied zero=now") != NULL, "%s", d.text[0]);
    CHECK(n.cfg.zero_uv > 1660000 && n.cfg.zero_uv < 1674000 && n.cfg.noise_uv > 1000 && n.cfg.noise_uv < 3000,
          "zero %d uV noise %u uV", n.cfg.zero_uv, n.cfg.noise_uv);

    /* corrupted frames are counted and reported once at the next window */
    out.len = 0;
    static const uint8_t junk[] = {0x05, 0x41, 0x00, 0x07, 0x01, 0x00};
    CHECK(pg_node_receive(&n, junk, sizeof junk, &out) == 0 && out.len == 0, "junk is silent");
    node_window(&n, &s, 3000, &out);
    decode_out(&out, &d);
    CHECK(d.count == 2 && d.types[1] == PG_TYPE_LOG && strstr(d.text[1], "2 bad frames") != NULL, "%s", d.text[1]);
}

static void test_node_restores_energy_and_flags_it(void)
{
    pg_node n;
    pg_node_boot b = boot_args();
    pg_config cfg;
    pg_config_defaults(&cfg, 30);
    cfg.calibrated = true;
    b.stored_config = &cfg;
    b.has_stored_energy = true;
    b.stored_energy_mwh = 123456789;
    pg_node_init(&n, &b);
    uint8_t buf[2048];
    pg_out out = {buf, 0, sizeof buf, false};
    pg_node_start(&n, &out);
    decoded d;
    decode_out(&out, &d);
    CHECK(strstr(d.text[1], "restored from flash at 123456789 mWh") != NULL, "%s", d.text[1]);
    pg_synth s;
    pg_synth_defaults(&s, 11);
    s.irms_a = 10.0;
    unsigned saves = 0;
    uint64_t last = 0;
    for (uint32_t k = 1; k <= 300; k++) {
        out.len = 0;
        unsigned act = node_window(&n, &s, k * 1000, &out);
        decode_out(&out, &d);
        CHECK(d.readings[0].flags == (PG_FLAG_NOMINAL_VOLTAGE | PG_FLAG_RESTORED), "flags 0x%02x",
              d.readings[0].flags);
        CHECK(d.readings[0].energy_mwh >= last && d.readings[0].energy_mwh > 123456789, "monotonic");
        last = d.readings[0].energy_mwh;
        if (act & PG_NODE_SAVE_ENERGY) {
            saves++;
            pg_node_energy_saved(&n);
        }
    }
    CHECK(saves == 2, "2.3 kW for 300 s saves at 120 s and 240 s: %u", saves);
    uint8_t adv[PG_BLE_ADV_MAX];
    unsigned act = 0;
    uint8_t mac[6] = {0xa4, 0xcf, 0x12, 0x34, 0x56, 0x7a};
    size_t a = pg_node_ble_adv(&n, mac, adv, sizeof adv, &act);
    CHECK(a == 25 && act == 0 && adv[7] == 0x40 && adv[9] == 0, "plain advert, packet id 0");
    a = pg_node_ble_adv(&n, mac, adv, sizeof adv, &act);
    CHECK(adv[9] == 1, "packet id moves on");
    n.cfg.has_bindkey = true;
    a = pg_node_ble_adv(&n, mac, adv, sizeof adv, &act);
    CHECK(a == 30 && act == PG_NODE_SAVE_BLE_COUNTER && adv[4] == 0x41, "encrypted advert reserves counters");
    uint8_t plain[32];
    CHECK(pg_bthome_decrypt(n.cfg.bindkey, mac, adv + 4, a - 4, plain, sizeof plain) == PG_BTHOME_OBJECTS_LEN &&
              plain[1] == 2,
          "it decrypts, packet id 2");
}

/* ---------------------------------------------------------------- node with a voltage channel */

static pg_node_boot voltage_boot(void)
{
    pg_node_boot b = boot_args();
    b.meter.sample_rate_hz = 2000;
    b.meter.voltage = true;
    b.default_phase_cdeg = 450; /* the sketch's alternate sampling: half of a 2 kHz period */
    return b;
}

static unsigned node_window_iv(pg_node *n, pg_synth *s, uint32_t uptime_ms, pg_out *out)
{
    uint16_t i_mv[500];
    uint16_t v_mv[500];
    while (!pg_meter_window_full(&n->meter)) {
        size_t want = n->meter.window_samples - n->meter.n;
        want = want > 500 ? 500 : want;
        pg_synth_fill_iv(s, i_mv, v_mv, want);
        pg_meter_feed_iv(&n->meter, i_mv, v_mv, want);
    }
    return pg_node_window(n, uptime_ms, 0, out);
}

/* Send a CONFIG line; returns the LOG answer's text in `text` and the actions. */
static unsigned config_answer(pg_node *n, const char *line, char *text, size_t cap)
{
    uint8_t buf[1024];
    pg_out out = {buf, 0, sizeof buf, false};
    unsigned act;
    send_config(n, line, &out, n->h.node_id, &act);
    decoded d;
    decode_out(&out, &d);
    CHECK(d.count == 2 && d.types[0] == PG_TYPE_LOG && d.types[1] == PG_TYPE_HELLO, "%s: LOG then HELLO", line);
    snprintf(text, cap, "%s", d.text[0]);
    return act;
}

static void test_voltage_node_sends_reading_bidir_and_calibrates(void)
{
    pg_node n;
    pg_node_boot b = voltage_boot();
    CHECK(pg_node_init(&n, &b) == 0, "init");
    CHECK(n.cfg.phase_cdeg == 450 && n.meter.phase_cdeg == 450, "factory phase from the board");
    pg_synth s;
    pg_synth_defaults(&s, 90);
    s.sample_rate_hz = 2000;
    s.skew_s = 250e-6;
    s.zmpt_lead_deg = 3.0;
    s.vrms_v = 236.0;
    s.zmpt_mv_per_v = 1.03 * 700.0 / 230.0; /* the trimmer is 3 % off the nominal ratio */
    uint8_t buf[2048];
    pg_out out = {buf, 0, sizeof buf, false};
    char text[PG_LOG_TEXT_MAX + 1];
    CHECK(config_answer(&n, "vcal_dv=2360", text, sizeof text) == 0 && strstr(text, "no complete measurement window"),
          "%s", text);

    node_window_iv(&n, &s, 1000, &out);
    decoded d;
    decode_out(&out, &d);
    CHECK(d.count == 1 && d.types[0] == PG_TYPE_READING_BIDIR, "a READING_BIDIR");
    CHECK(d.readings[0].flags == PG_FLAG_UNCALIBRATED, "bit 2 clear, bit 1 set: 0x%02x", d.readings[0].flags);
    CHECK(abs((int)d.readings[0].vrms_dv - 2360) > 40, "uncalibrated voltage is off: %u", d.readings[0].vrms_dv);
    CHECK(config_answer(&n, "pcal=now", text, sizeof text) == 0 && strstr(text, "switch a kettle"), "%s", text);
    CHECK(config_answer(&n, "vcal_dv=2360", text, sizeof text) == PG_NODE_SAVE_CONFIG &&
              strstr(text, "applied vcal_dv=2360"),
          "%s", text);
    CHECK(config_answer(&n, "mv_per_a_x10=660", text, sizeof text) == PG_NODE_SAVE_CONFIG, "%s", text);

    s.irms_a = 8.0; /* a kettle */
    node_window_iv(&n, &s, 2000, &out);
    CHECK(config_answer(&n, "pcal=now", text, sizeof text) == PG_NODE_SAVE_CONFIG && strstr(text, "applied pcal=now"),
          "%s", text);
    CHECK(n.cfg.phase_cdeg > 740 && n.cfg.phase_cdeg < 760, "phase %d", n.cfg.phase_cdeg);

    s.irms_a = 0.45; /* a ceiling fan: 60 W at PF 0.6 with some 3rd harmonic */
    s.phase_rad = -acos(0.6);
    s.harmonic3 = -0.1;
    out.len = 0;
    node_window_iv(&n, &s, 3000, &out);
    pg_synth_reset_truth(&s);
    out.len = 0;
    node_window_iv(&n, &s, 4000, &out);
    double truth = s.true_p_sum / (double)s.true_n;
    decode_out(&out, &d);
    pg_reading *r = &d.readings[0];
    CHECK(r->flags == 0, "calibrated: flags 0x%02x", r->flags);
    CHECK(fabs(r->power_dw / 10.0 - truth) < 0.01 * truth, "fan %.1f W read as %.1f W", truth, r->power_dw / 10.0);
    CHECK(abs((int)r->vrms_dv - 2360) <= 3, "voltage %u dV", r->vrms_dv);
    CHECK(r->pf_milli > 585 && r->pf_milli < 605, "pf %u", r->pf_milli);
    uint64_t import_before = r->energy_mwh;

    s.irms_a = 6.0; /* rooftop solar exporting */
    s.phase_rad = PI_D;
    s.harmonic3 = 0;
    uint64_t export_before = n.meter.export_mwh;
    for (uint32_t k = 5; k < 15; k++) {
        out.len = 0;
        node_window_iv(&n, &s, k * 1000, &out);
    }
    decode_out(&out, &d);
    CHECK(d.readings[0].power_dw < -13000 && d.readings[0].energy_mwh == import_before, "export: %d dW, import %llu",
          d.readings[0].power_dw, (unsigned long long)d.readings[0].energy_mwh);
    CHECK(d.readings[0].export_mwh > export_before + 3700 && d.readings[0].pf_milli > 990, "export %llu mWh, pf %u",
          (unsigned long long)d.readings[0].export_mwh, d.readings[0].pf_milli);
    CHECK(config_answer(&n, "pcal=now", text, sizeof text) == 0 && strstr(text, "arrow toward the load"),
          "export is no resistive load: %s", text);
    CHECK(config_answer(&n, "phase_cdeg=-120", text, sizeof text) == PG_NODE_SAVE_CONFIG && n.meter.phase_cdeg == -120,
          "%s", text);
    s.vrms_v = 0; /* the module unplugged */
    node_window_iv(&n, &s, 16000, &out);
    CHECK(config_answer(&n, "vcal_dv=2300", text, sizeof text) == 0 && strstr(text, "is the ZMPT101B connected"), "%s",
          text);
}

static void test_voltage_node_persists_and_restores_both_counters(void)
{
    pg_node n;
    pg_node_boot b = voltage_boot();
    pg_config cfg;
    pg_config_defaults(&cfg, 30);
    cfg.calibrated = true;
    cfg.v_calibrated = true;
    cfg.phase_cdeg = 720;
    b.stored_config = &cfg;
    b.has_stored_energy = true;
    b.stored_energy_mwh = 5000000;
    b.has_stored_export = true;
    b.stored_export_mwh = 777000;
    pg_node_init(&n, &b);
    CHECK(n.meter.phase_cdeg == 720, "stored phase wins over the factory one");
    uint8_t buf[2048];
    pg_out out = {buf, 0, sizeof buf, false};
    pg_node_start(&n, &out);
    decoded d;
    decode_out(&out, &d);
    CHECK(strstr(d.text[1], "restored from flash at 5000000 mWh import, 777000 mWh export") != NULL, "%s", d.text[1]);
    pg_synth s;
    pg_synth_defaults(&s, 91);
    s.sample_rate_hz = 2000;
    s.irms_a = 10.0;
    s.phase_rad = PI_D; /* export only: the import counter stands still */
    unsigned saves = 0;
    for (uint32_t k = 1; k <= 300; k++) {
        out.len = 0;
        unsigned act = node_window_iv(&n, &s, k * 1000, &out);
        decode_out(&out, &d);
        CHECK(d.readings[0].flags == PG_FLAG_RESTORED, "flags 0x%02x", d.readings[0].flags);
        CHECK(d.readings[0].energy_mwh == 5000000 && d.readings[0].export_mwh > 777000, "counters");
        if (act & PG_NODE_SAVE_ENERGY) {
            saves++;
            pg_node_energy_saved(&n);
            CHECK(n.saved_export_mwh == n.meter.export_mwh, "export saved with the import");
        }
    }
    CHECK(saves == 2, "2.3 kW of export for 300 s saves at 120 s and 240 s: %u", saves);
}

static void test_node_without_voltage_refuses_voltage_keys(void)
{
    pg_node n;
    pg_node_boot b = boot_args();
    pg_node_init(&n, &b);
    char text[PG_LOG_TEXT_MAX + 1];
    static const char *const lines[] = {"vcal_dv=2300", "pcal=now", "phase_cdeg=450"};
    for (size_t i = 0; i < 3; i++) {
        CHECK(config_answer(&n, lines[i], text, sizeof text) == 0 && strstr(text, "no voltage channel"), "%s: %s",
              lines[i], text);
    }
    CHECK(n.cfg.phase_cdeg == 0 && !n.cfg.v_calibrated, "nothing changed");
}

/* ---------------------------------------------------------------- runner */

typedef struct {
    const char *name;
    void (*fn)(void);
} test_case;

#define T(fn) {#fn, fn}
static const test_case TESTS[] = {
    T(test_crc_check_value),
    T(test_cobs_edges_match_python),
    T(test_every_valid_vector_encodes_byte_for_byte),
    T(test_every_valid_vector_parses),
    T(test_every_invalid_vector_is_rejected_for_its_reason),
    T(test_stream_vector_resynchronises),
    T(test_receiver_drops_a_run_longer_than_a_frame),
    T(test_text_is_cut_at_utf8_boundaries),
    T(test_config_applies_each_key),
    T(test_config_rejects_bad_input_and_leaves_settings_alone),
    T(test_settings_of_the_previous_layout_are_kept),
    T(test_current_settings_round_trip),
    T(test_settings_of_an_unknown_length_give_factory_settings),
    T(test_rms_of_a_clean_sine),
    T(test_rms_ignores_dc_offset_and_tracks_drift),
    T(test_rms_over_non_integer_cycle_counts),
    T(test_noise_is_taken_out_after_zero_now),
    T(test_clipping_sets_the_saturation_flag),
    T(test_energy_carries_the_sub_mwh_remainder),
    T(test_meter_rejects_impossible_parameters),
    T(test_real_power_within_1pct_after_phase_calibration),
    T(test_uncorrected_phase_shows_why_pcal_is_needed),
    T(test_phase_correction_both_ways_and_rates),
    T(test_import_and_export_count_separately),
    T(test_idle_voltage_channel_counts_nothing),
    T(test_voltage_channel_saturation_and_feed_rules),
    T(test_config_voltage_keys),
    T(test_persist_schedule_keeps_flash_wear_in_budget),
    T(test_bthome_plain_matches_the_protocol_example),
    T(test_bthome_encryption_matches_the_spec_example),
    T(test_bthome_encrypted_round_trip_and_tamper),
    T(test_bthome_counter_never_repeats_across_reboots),
    T(test_bthome_signed_power_for_a_voltage_node),
    T(test_node_boot_readings_and_hello_schedule),
    T(test_node_applies_config_and_answers),
    T(test_node_restores_energy_and_flags_it),
    T(test_voltage_node_sends_reading_bidir_and_calibrates),
    T(test_voltage_node_persists_and_restores_both_counters),
    T(test_node_without_voltage_refuses_voltage_keys),
};

int main(int argc, char **argv)
{
    int passed = 0;
    int failed = 0;
    for (size_t i = 0; i < sizeof TESTS / sizeof TESTS[0]; i++) {
        if (argc > 1 && strstr(TESTS[i].name, argv[1]) == NULL) {
            continue;
        }
        g_failures = 0;
        TESTS[i].fn();
        printf("%s %s\n", g_failures ? "FAIL" : "ok  ", TESTS[i].name);
        fflush(stdout);
        if (g_failures) {
            failed++;
        } else {
            passed++;
        }
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
