#include "pg_node.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static void emit(pg_node *n, pg_out *out, size_t raw_len, const uint8_t *raw)
{
    size_t w = raw_len ? pg_frame_to_wire(raw, raw_len, out->data + out->len, out->cap - out->len) : 0;
    if (w == 0) {
        out->overflow = true;
        return;
    }
    out->len += w;
    n->h.seq++;
}

static void send_log(pg_node *n, pg_out *out, uint8_t level, const char *text)
{
    uint8_t raw[PG_MAX_RAW];
    emit(n, out, pg_frame_log(&n->h, level, text, raw, sizeof raw), raw);
}

static void send_hello(pg_node *n, pg_out *out)
{
    const pg_hello hello = {
        .fw_major = PG_FW_MAJOR,
        .fw_minor = PG_FW_MINOR,
        .sensor_amps = n->sensor_amps,
        .sample_rate_hz = n->meter.p.sample_rate_hz,
        .mains_hz = n->meter.p.mains_hz,
        .mv_per_a_x10 = n->cfg.mv_per_a_x10,
        .name = n->cfg.name,
    };
    uint8_t raw[PG_MAX_RAW];
    emit(n, out, pg_frame_hello(&n->h, &hello, raw, sizeof raw), raw);
    n->since_hello_ms = 0;
}

static uint32_t add_sat(uint32_t a, uint32_t b)
{
    return a > UINT32_MAX - b ? UINT32_MAX : a + b;
}

int pg_node_init(pg_node *n, const pg_node_boot *boot)
{
    memset(n, 0, sizeof *n);
    if (pg_acs712_mv_per_a_x10(boot->sensor_amps) == 0 || pg_meter_init(&n->meter, &boot->meter) != 0) {
        return -1;
    }
    memcpy(n->h.node_id, boot->node_id, 6);
    n->h.boot_id = boot->boot_id;
    n->sensor_amps = boot->sensor_amps;
    n->persist = boot->persist;
    if (boot->stored_config) {
        n->cfg = *boot->stored_config;
        n->cfg.name[PG_NAME_MAX] = '\0';
    } else {
        pg_config_defaults(&n->cfg, boot->sensor_amps);
    }
    if (n->cfg.zero_uv > 0) {
        pg_meter_set_zero(&n->meter, n->cfg.zero_uv / 1000.0, n->cfg.noise_uv / 1000.0);
    }
    if (boot->has_stored_energy) {
        pg_meter_set_energy(&n->meter, boot->stored_energy_mwh);
        n->saved_mwh = boot->stored_energy_mwh;
        n->restored = true;
    }
    pg_bthome_counter_boot(&n->ble_counter, boot->stored_ble_counter);
    pg_rx_init(&n->rx);
    return 0;
}

void pg_node_start(pg_node *n, pg_out *out)
{
    send_hello(n, out);
    char text[96];
    if (n->restored) {
        snprintf(text, sizeof text, "boot: energy counter restored from flash at %llu mWh",
                 (unsigned long long)n->meter.energy_mwh);
    } else {
        snprintf(text, sizeof text, "boot: no saved energy counter, starting at 0 mWh");
    }
    send_log(n, out, PG_LOG_INFO, text);
}

unsigned pg_node_window(pg_node *n, uint32_t uptime_ms, uint32_t elapsed_ms, pg_out *out)
{
    pg_window *w = &n->last_window;
    pg_meter_finish(&n->meter, &n->cfg, elapsed_ms, w);
    if (elapsed_ms == 0) {
        elapsed_ms = pg_meter_window_ms(&n->meter);
    }
    pg_reading *r = &n->last;
    r->uptime_ms = uptime_ms;
    r->window_ms = elapsed_ms > 0xFFFF ? 0xFFFF : (uint16_t)elapsed_ms;
    r->irms_ma = w->irms_ma;
    r->vrms_dv = n->cfg.vnom_dv;
    r->power_dw = w->power_dw;
    r->energy_mwh = w->energy_mwh;
    r->flags = PG_FLAG_NOMINAL_VOLTAGE | (w->saturated ? PG_FLAG_SATURATED : 0) |
               (n->cfg.calibrated ? 0 : PG_FLAG_UNCALIBRATED) | (n->restored ? PG_FLAG_RESTORED : 0);
    n->has_reading = true;

    uint8_t raw[PG_MAX_RAW];
    emit(n, out, pg_frame_reading(&n->h, r, raw, sizeof raw), raw);

    char text[120];
    if (w->saturated && !n->was_saturated) {
        snprintf(text, sizeof text, "adc saturated: samples %u..%u mV, limits %u..%u mV; current beyond range",
                 w->min_mv, w->max_mv, n->meter.p.sat_low_mv, n->meter.p.sat_high_mv);
        send_log(n, out, PG_LOG_WARNING, text);
    }
    n->was_saturated = w->saturated;
    if (n->rx_rejected) {
        snprintf(text, sizeof text, "rx: %lu bad frames ignored (last: %s)", (unsigned long)n->rx_rejected,
                 pg_frame_status_name(n->rx_last_reason));
        send_log(n, out, PG_LOG_WARNING, text);
        n->rx_rejected = 0;
    }
    n->since_hello_ms = add_sat(n->since_hello_ms, elapsed_ms);
    if (n->since_hello_ms >= PG_HELLO_INTERVAL_MS) {
        send_hello(n, out);
    }
    n->since_save_ms = add_sat(n->since_save_ms, elapsed_ms);
    return pg_persist_due(&n->persist, n->meter.energy_mwh, n->saved_mwh, n->since_save_ms) ? PG_NODE_SAVE_ENERGY
                                                                                             : 0u;
}

void pg_node_log(pg_node *n, uint8_t level, const char *text, pg_out *out)
{
    send_log(n, out, level, text);
}

void pg_node_energy_saved(pg_node *n)
{
    n->saved_mwh = n->meter.energy_mwh;
    n->since_save_ms = 0;
}

/* `zero=now`: take the last complete window as zero current, unless a load was on. */
static pg_config_status zero_now(pg_node *n, char *msg, size_t cap)
{
    double mean_mv;
    double rms_mv;
    if (!pg_meter_last_window(&n->meter, &mean_mv, &rms_mv)) {
        snprintf(msg, cap, "rejected zero=now: no complete measurement window yet, send it again in a second");
        return PG_CONFIG_BAD_VALUE;
    }
    double amps = rms_mv * pg_meter_divider_gain(&n->meter) * 10.0 / n->cfg.mv_per_a_x10;
    if (amps * 1000.0 > PG_ZERO_MAX_MA) {
        snprintf(msg, cap, "rejected zero=now: %.2f A flowing (at most %.2f A); switch the load off first", amps,
                 PG_ZERO_MAX_MA / 1000.0);
        return PG_CONFIG_BAD_VALUE;
    }
    n->cfg.zero_uv = (int32_t)lround(mean_mv * 1000.0);
    n->cfg.noise_uv = (uint32_t)lround(rms_mv * 1000.0);
    pg_meter_set_zero(&n->meter, mean_mv, rms_mv);
    snprintf(msg, cap, "applied zero=now: zero %.1f mV, noise %.2f mV (%.3f A) at the ADC pin", mean_mv, rms_mv, amps);
    return PG_CONFIG_APPLIED;
}

static unsigned handle_config(pg_node *n, const pg_frame_view *f, pg_out *out)
{
    char msg[PG_LOG_TEXT_MAX + 1];
    if (memcmp(f->h.node_id, n->h.node_id, 6) != 0) {
        const uint8_t *m = f->h.node_id;
        snprintf(msg, sizeof msg, "config for %02x:%02x:%02x:%02x:%02x:%02x ignored: not this node", m[0], m[1], m[2],
                 m[3], m[4], m[5]);
        send_log(n, out, PG_LOG_WARNING, msg);
        return 0;
    }
    pg_config next = n->cfg;
    pg_config_status st = pg_config_apply(&next, f->body, f->body_len, msg, sizeof msg);
    if (st == PG_CONFIG_ZERO_NOW) {
        st = zero_now(n, msg, sizeof msg);
        next = n->cfg;
    }
    unsigned actions = 0;
    if (st == PG_CONFIG_APPLIED) {
        n->cfg = next;
        actions = PG_NODE_SAVE_CONFIG;
    }
    send_log(n, out, st == PG_CONFIG_APPLIED ? PG_LOG_INFO : PG_LOG_WARNING, msg);
    send_hello(n, out);
    return actions;
}

unsigned pg_node_receive(pg_node *n, const uint8_t *bytes, size_t len, pg_out *out)
{
    unsigned actions = 0;
    for (size_t i = 0; i < len; i++) {
        pg_frame_view f;
        pg_frame_status st = pg_rx_feed(&n->rx, bytes[i], &f);
        if (st == PG_FRAME_MORE) {
            continue;
        }
        if (st == PG_FRAME_OK && f.type == PG_TYPE_CONFIG) {
            actions |= handle_config(n, &f, out);
        } else {
            /* Frames of other types are echoes or another node's traffic: not for us. */
            n->rx_rejected++;
            n->rx_last_reason = st == PG_FRAME_OK ? PG_FRAME_UNKNOWN_TYPE : st;
        }
    }
    return actions;
}

size_t pg_node_ble_adv(pg_node *n, const uint8_t ble_mac[6], uint8_t *adv, size_t cap, unsigned *actions)
{
    if (!n->has_reading) {
        return 0;
    }
    pg_bthome_values v;
    pg_bthome_from_reading(&v, n->ble_packet_id++, n->last.power_dw, n->last.irms_ma, n->last.vrms_dv,
                           n->last.energy_mwh);
    uint8_t sd[PG_BTHOME_MAX_SERVICE_DATA];
    size_t sd_len;
    if (n->cfg.has_bindkey) {
        if (pg_bthome_counter_needs_reserve(&n->ble_counter)) {
            pg_bthome_counter_reserve(&n->ble_counter);
            *actions |= PG_NODE_SAVE_BLE_COUNTER;
        }
        uint32_t counter = pg_bthome_counter_take(&n->ble_counter);
        sd_len = pg_bthome_encrypt(n->cfg.bindkey, ble_mac, counter, &v, sd, sizeof sd);
    } else {
        sd_len = pg_bthome_plain(&v, sd, sizeof sd);
    }
    return sd_len ? pg_bthome_adv(sd, sd_len, adv, cap) : 0;
}
