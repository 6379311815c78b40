#include "pg_meter.h"

#include <math.h>
#include <string.h>

#define UJ_PER_MWH 3600000ULL

static void reset_window(pg_meter *m)
{
    m->n = 0;
    m->base = m->offset_valid ? (int32_t)lround(m->offset_mv) : -1;
    m->sum = 0;
    m->sumsq = 0;
    m->min_mv = UINT16_MAX;
    m->max_mv = 0;
}

int pg_meter_init(pg_meter *m, const pg_meter_params *p)
{
    memset(m, 0, sizeof *m);
    if (p->sample_rate_hz < 2000 || (p->mains_hz != 50 && p->mains_hz != 60) || p->cycles < 10 ||
        p->sample_rate_hz % p->mains_hz != 0 || p->sat_low_mv >= p->sat_high_mv || p->offset_shift > 16) {
        return -1;
    }
    uint32_t samples = (uint32_t)p->sample_rate_hz / p->mains_hz * p->cycles;
    if (samples > 0xFFFFFF) {
        return -1; /* keeps sumsq far from overflow: 2^24 samples * 2^32 */
    }
    m->p = *p;
    m->window_samples = samples;
    reset_window(m);
    return 0;
}

uint32_t pg_meter_window_ms(const pg_meter *m)
{
    return (uint32_t)m->p.cycles * 1000u / m->p.mains_hz;
}

size_t pg_meter_feed(pg_meter *m, const uint16_t *mv, size_t n)
{
    size_t room = m->window_samples - m->n;
    if (n > room) {
        n = room;
    }
    if (n == 0) {
        return 0;
    }
    if (m->base < 0) {
        m->base = mv[0]; /* no zero known yet: any nearby reference keeps the sums small */
    }
    int32_t base = m->base;
    int64_t sum = 0;
    uint64_t sumsq = 0;
    uint16_t lo = m->min_mv;
    uint16_t hi = m->max_mv;
    for (size_t i = 0; i < n; i++) {
        int32_t d = (int32_t)mv[i] - base;
        sum += d;
        sumsq += (uint64_t)((int64_t)d * d);
        lo = mv[i] < lo ? mv[i] : lo;
        hi = mv[i] > hi ? mv[i] : hi;
    }
    m->sum += sum;
    m->sumsq += sumsq;
    m->min_mv = lo;
    m->max_mv = hi;
    m->n += (uint32_t)n;
    return n;
}

bool pg_meter_window_full(const pg_meter *m)
{
    return m->n >= m->window_samples;
}

double pg_meter_divider_gain(const pg_meter *m)
{
    if (m->p.divider_bottom_ohm == 0) {
        return 1.0;
    }
    return (double)(m->p.divider_top_ohm + m->p.divider_bottom_ohm) / m->p.divider_bottom_ohm;
}

void pg_meter_finish(pg_meter *m, const pg_config *cfg, uint32_t elapsed_ms, pg_window *out)
{
    memset(out, 0, sizeof *out);
    out->samples = m->n;
    if (m->n > 0) {
        double n = m->n;
        double mean_d = (double)m->sum / n;
        double var = (double)m->sumsq / n - mean_d * mean_d;
        if (var < 0) {
            var = 0; /* rounding of a constant signal */
        }
        double mean = m->base + mean_d;
        if (m->offset_valid) {
            m->offset_mv += (mean - m->offset_mv) / (double)(1u << m->p.offset_shift);
        } else {
            m->offset_mv = mean;
            m->offset_valid = true;
        }
        /* Mean square about the tracked zero = variance + (mean - zero)^2; then take away the
         * noise power measured at zero current, which adds in quadrature. */
        double dc = mean - m->offset_mv;
        double ms = var + dc * dc - m->noise_var_mv2;
        double rms_adc_mv = ms > 0 ? sqrt(ms) : 0.0;
        double rms_sensor_mv = rms_adc_mv * pg_meter_divider_gain(m);
        out->irms_a = cfg->mv_per_a_x10 ? rms_sensor_mv * 10.0 / cfg->mv_per_a_x10 : 0.0;
        out->power_w = cfg->vnom_dv / 10.0 * out->irms_a * cfg->pf_x100 / 100.0;
        out->saturated = m->min_mv <= m->p.sat_low_mv || m->max_mv >= m->p.sat_high_mv;
        out->min_mv = m->min_mv;
        out->max_mv = m->max_mv;
        out->mean_mv = mean;
        m->last_valid = true;
        m->last_mean_mv = mean;
        m->last_var_mv2 = var;
    }
    out->offset_mv = m->offset_mv;
    out->irms_ma = (uint32_t)lround(out->irms_a * 1000.0);
    out->power_dw = (int32_t)lround(out->power_w * 10.0);

    if (elapsed_ms == 0) {
        elapsed_ms = pg_meter_window_ms(m);
    }
    /* W * ms = mJ; in uJ the rounding error is 0.5 uJ a window, against 3.6e6 uJ per mWh. */
    double uj = out->power_w * elapsed_ms * 1000.0;
    if (uj > 0) {
        m->energy_rem_uj += (uint64_t)llround(uj);
        m->energy_mwh += m->energy_rem_uj / UJ_PER_MWH;
        m->energy_rem_uj %= UJ_PER_MWH;
    }
    out->energy_mwh = m->energy_mwh;
    reset_window(m);
}

void pg_meter_set_zero(pg_meter *m, double offset_mv, double noise_rms_mv)
{
    m->offset_mv = offset_mv;
    m->offset_valid = true;
    m->noise_var_mv2 = noise_rms_mv * noise_rms_mv;
    if (m->n == 0) {
        m->base = (int32_t)lround(offset_mv);
    }
}

bool pg_meter_last_window(const pg_meter *m, double *mean_mv, double *rms_mv)
{
    if (!m->last_valid) {
        return false;
    }
    *mean_mv = m->last_mean_mv;
    *rms_mv = sqrt(m->last_var_mv2);
    return true;
}

void pg_meter_set_energy(pg_meter *m, uint64_t energy_mwh)
{
    m->energy_mwh = energy_mwh;
    m->energy_rem_uj = 0;
}
