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
    if (boot->stored_config == NULL) {
        n->cfg.phase_cdeg = boot->default_phase_cdeg;
    }
    if (n->cfg.v_uv_per_mv == 0) {
        n->cfg.v_uv_per_mv = PG_V_UV_PER_MV_DEFAULT;
    }
    if (n->cfg.zero_uv > 0) {
        pg_meter_set_zero(&n->meter, n->cfg.zero_uv / 1000.0, n->cfg.noise_uv / 1000.0);
    }
    pg_meter_set_phase(&n->meter, n->cfg.phase_cdeg);
    if (boot->has_stored_energy) {
        pg_meter_set_energy(&n->meter, boot->stored_energy_mwh);
        n->saved_mwh = boot->stored_energy_mwh;
        n->restored = true;
    }
    if (boot->has_stored_export && boot->meter.voltage) {
        pg_meter_set_export(&n->meter, boot->stored_export_mwh);
        n->saved_export_mwh = boot->stored_export_mwh;
    }
    pg_bthome_counter_boot(&n->ble_counter, boot->stored_ble_counter);
    pg_rx_init(&n->rx);
    return 0;
}

void pg_node_start(pg_node *n, pg_out *out)
{
    send_hello(n, out);
    char text[120];
    if (n->restored && n->meter.p.voltage) {
        snprintf(text, sizeof text, "boot: energy counters restored from flash at %llu mWh import, %llu mWh export",
                 (unsigned long long)n->meter.energy_mwh, (unsigned long long)n->meter.export_mwh);
    } else if (n->restored) {
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
    r->power_dw = w->power_dw;
    r->energy_mwh = w->energy_mwh;
    bool voltage = n->meter.p.voltage;
    bool calibrated = n->cfg.calibrated && (!voltage || n->cfg.v_calibrated);
    r->flags = (voltage ? 0 : PG_FLAG_NOMINAL_VOLTAGE) | (w->saturated ? PG_FLAG_SATURATED : 0) |
               (calibrated ? 0 : PG_FLAG_UNCALIBRATED) | (n->restored ? PG_FLAG_RESTORED : 0);
    r->vrms_dv = voltage ? w->vrms_dv : n->cfg.vnom_dv;
    r->export_mwh = w->export_mwh;
    r->pf_milli = w->pf_milli;
    n->has_reading = true;

    uint8_t raw[PG_MAX_RAW];
    size_t len = voltage ? pg_frame_reading_bidir(&n->h, r, raw, sizeof raw)
                         : pg_frame_reading(&n->h, r, raw, sizeof raw);
    emit(n, out, len, raw);

    char text[120];
    if (w->saturated && !n->was_saturated) {
        if (w->v_saturated) {
            snprintf(text, sizeof text, "adc saturated: voltage samples %u..%u mV, limits %u..%u mV; trim the ZMPT101B",
                     w->v_min_mv, w->v_max_mv, n->meter.p.sat_low_mv, n->meter.p.sat_high_mv);
        } else {
            snprintf(text, sizeof text, "adc saturated: samples %u..%u mV, limits %u..%u mV; current beyond range",
                     w->min_mv, w->max_mv, n->meter.p.sat_low_mv, n->meter.p.sat_high_mv);
        }
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
    /* Both counters share one schedule: what is unsaved of either counts. */
    uint64_t unsaved = (n->meter.energy_mwh - n->saved_mwh) + (n->meter.export_mwh - n->saved_export_mwh);
    return pg_persist_due(&n->persist, unsaved, 0, n->since_save_ms) ? PG_NODE_SAVE_ENERGY : 0u;
}

void pg_node_log(pg_node *n, uint8_t level, const char *text, pg_out *out)
{
    send_log(n, out, level, text);
}

void pg_node_energy_saved(pg_node *n)
{
    n->saved_mwh = n->meter.energy_mwh;
    n->saved_export_mwh = n->meter.export_mwh;
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

/* `vcal_dv=N`: scale the voltage channel so the last window reads N x 0.1 V. */
static pg_config_status vcal(pg_node *n, uint32_t dv, char *msg, size_t cap)
{
    double vrms_mv;
    double phase_deg;
    if (!pg_meter_last_voltage(&n->meter, &vrms_mv, &phase_deg)) {
        snprintf(msg, cap, "rejected vcal_dv=%u: no complete measurement window yet, send it again in a second",
                 (unsigned)dv);
        return PG_CONFIG_BAD_VALUE;
    }
    double volts = vrms_mv * n->cfg.v_uv_per_mv / 1e6;
    if (volts < PG_VCAL_MIN_V) {
        snprintf(msg, cap, "rejected vcal_dv=%u: the voltage channel reads %.1f V (at least %.0f V); is the ZMPT101B "
                 "connected and the mains on?", (unsigned)dv, volts, PG_VCAL_MIN_V);
        return PG_CONFIG_BAD_VALUE;
    }
    double ratio = dv * 1e5 / vrms_mv;
    n->cfg.v_uv_per_mv = (uint32_t)lround(ratio);
    n->cfg.v_calibrated = true;
    snprintf(msg, cap, "applied vcal_dv=%u: %.1f V read as %.1f V, now %lu uV per mV (%.1f mV RMS at the ADC pin)",
             (unsigned)dv, dv / 10.0, volts, (unsigned long)n->cfg.v_uv_per_mv, vrms_mv);
    return PG_CONFIG_APPLIED;
}

/* `pcal=now`: a resistive load is on, so the phase the last window measured is the correction. */
static pg_config_status pcal(pg_node *n, char *msg, size_t cap)
{
    double vrms_mv;
    double phase_deg;
    double watts = n->last_window.power_w;
    if (!pg_meter_last_voltage(&n->meter, &vrms_mv, &phase_deg)) {
        snprintf(msg, cap, "rejected pcal=now: no complete measurement window yet, send it again in a second");
        return PG_CONFIG_BAD_VALUE;
    }
    if (fabs(watts) < PG_PCAL_MIN_W) {
        snprintf(msg, cap, "rejected pcal=now: %.1f W flowing (at least %.0f W); switch a kettle or heater on", watts,
                 PG_PCAL_MIN_W);
        return PG_CONFIG_BAD_VALUE;
    }
    long cdeg = lround(phase_deg * 100.0);
    if (watts < 0 || cdeg < -PG_PHASE_CDEG_LIMIT || cdeg > PG_PHASE_CDEG_LIMIT) {
        snprintf(msg, cap, "rejected pcal=now: %.1f W at a phase of %.2f deg (limit 10); is the load resistive, and "
                 "the current sensor's arrow toward the load?", watts, phase_deg);
        return PG_CONFIG_BAD_VALUE;
    }
    double pf_before = n->last_window.pf;
    n->cfg.phase_cdeg = (int16_t)cdeg;
    snprintf(msg, cap, "applied pcal=now: phase_cdeg=%ld (power factor read %.3f before)", cdeg, pf_before);
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
    uint32_t arg = 0;
    pg_config_status st = pg_config_apply(&next, f->body, f->body_len, n->meter.p.voltage, &arg, msg, sizeof msg);
    /* These change n->cfg themselves when they succeed. */
    if (st == PG_CONFIG_ZERO_NOW || st == PG_CONFIG_VCAL || st == PG_CONFIG_PCAL) {
        st = st == PG_CONFIG_ZERO_NOW ? zero_now(n, msg, sizeof msg)
             : st == PG_CONFIG_VCAL   ? vcal(n, arg, msg, sizeof msg)
                                      : pcal(n, msg, sizeof msg);
        next = n->cfg;
    }
    unsigned actions = 0;
    if (st == PG_CONFIG_APPLIED) {
        n->cfg = next;
        pg_meter_set_phase(&n->meter, n->cfg.phase_cdeg);
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
    if (n->meter.p.voltage) {
        pg_bthome_from_reading_signed(&v, n->ble_packet_id++, n->last.power_dw, n->last.irms_ma, n->last.vrms_dv,
                                      n->last.energy_mwh);
    } else {
        pg_bthome_from_reading(&v, n->ble_packet_id++, n->last.power_dw, n->last.irms_ma, n->last.vrms_dv,
                               n->last.energy_mwh);
    }
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
