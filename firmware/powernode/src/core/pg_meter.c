#include "pg_meter.h"

#include <math.h>
#include <string.h>

#define UJ_PER_MWH 3600000ULL
#define PI 3.14159265358979323846

/* Radians of the fundamental per sample. */
static double alpha(const pg_meter *m)
{
    return 2.0 * PI * m->p.mains_hz / m->p.sample_rate_hz;
}

static void reset_window(pg_meter *m)
{
    m->n = 0;
    m->base = m->offset_valid ? (int32_t)lround(m->offset_mv) : -1;
    m->sum = 0;
    m->sumsq = 0;
    m->min_mv = UINT16_MAX;
    m->max_mv = 0;
    /* The voltage has no DC of its own: its base is simply the last window's mean. */
    m->vsum = 0;
    m->vsumsq = 0;
    m->cross_a = 0;
    m->cross_b = 0;
    m->cross_n = 0;
    m->vmin_mv = UINT16_MAX;
    m->vmax_mv = 0;
    double lag = fabs(m->phase_cdeg / 36000.0 * m->p.sample_rate_hz / m->p.mains_hz);
    if (lag > PG_METER_HIST - 2) {
        lag = PG_METER_HIST - 2;
    }
    m->delay_voltage = m->phase_cdeg >= 0;
    m->lag_a = (uint16_t)floor(lag);
    m->lag_frac = lag - m->lag_a;
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
    m->vbase = -1;
    reset_window(m);
    return 0;
}

uint32_t pg_meter_window_ms(const pg_meter *m)
{
    return (uint32_t)m->p.cycles * 1000u / m->p.mains_hz;
}

/* How many of `n` samples fit in the window; 0 for the wrong kind of feed. */
static size_t room_for(const pg_meter *m, size_t n, bool pairs)
{
    size_t room = m->window_samples - m->n;
    if (m->p.voltage != pairs) {
        return 0;
    }
    return n > room ? room : n;
}

size_t pg_meter_feed(pg_meter *m, const uint16_t *mv, size_t n)
{
    n = room_for(m, n, false);
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

size_t pg_meter_feed_iv(pg_meter *m, const uint16_t *i_mv, const uint16_t *v_mv, size_t n)
{
    n = room_for(m, n, true);
    if (n == 0) {
        return 0;
    }
    if (m->base < 0) {
        m->base = i_mv[0];
    }
    if (m->vbase < 0) {
        m->vbase = v_mv[0];
    }
    const int32_t bi = m->base;
    const int32_t bv = m->vbase;
    /* The delayed channel is read back from the ring; `now` is the other one's sample. */
    const uint16_t *late = m->delay_voltage ? m->hist_v : m->hist_i;
    const int32_t late_base = m->delay_voltage ? bv : bi;
    const unsigned la = m->lag_a;
    const unsigned lb = la + 1u;
    const unsigned mask = PG_METER_HIST - 1u;
    unsigned pos = m->hist_pos;
    unsigned hist = m->hist_n;
    int64_t sum = 0;
    uint64_t sumsq = 0;
    int64_t vsum = 0;
    uint64_t vsumsq = 0;
    int64_t ca = 0;
    int64_t cb = 0;
    uint32_t cn = 0;
    uint16_t lo = m->min_mv;
    uint16_t hi = m->max_mv;
    uint16_t vlo = m->vmin_mv;
    uint16_t vhi = m->vmax_mv;
    for (size_t k = 0; k < n; k++) {
        const uint16_t ri = i_mv[k];
        const uint16_t rv = v_mv[k];
        pos = (pos + 1u) & mask;
        m->hist_i[pos] = ri;
        m->hist_v[pos] = rv;
        const int32_t di = (int32_t)ri - bi;
        const int32_t dv = (int32_t)rv - bv;
        sum += di;
        sumsq += (uint64_t)((int64_t)di * di);
        vsum += dv;
        vsumsq += (uint64_t)((int64_t)dv * dv);
        lo = ri < lo ? ri : lo;
        hi = ri > hi ? ri : hi;
        vlo = rv < vlo ? rv : vlo;
        vhi = rv > vhi ? rv : vhi;
        if (hist > lb) {
            const int32_t now = m->delay_voltage ? di : dv;
            ca += (int64_t)now * ((int32_t)late[(pos - la) & mask] - late_base);
            cb += (int64_t)now * ((int32_t)late[(pos - lb) & mask] - late_base);
            cn++;
        } else {
            hist++; /* the first samples after boot have no history to pair with */
        }
    }
    m->hist_pos = (uint16_t)pos;
    m->hist_n = (uint16_t)hist;
    m->sum += sum;
    m->sumsq += sumsq;
    m->vsum += vsum;
    m->vsumsq += vsumsq;
    m->cross_a += ca;
    m->cross_b += cb;
    m->cross_n += cn;
    m->min_mv = lo;
    m->max_mv = hi;
    m->vmin_mv = vlo;
    m->vmax_mv = vhi;
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

/* Add `uj` to a counter in mWh, keeping the remainder below 1 mWh. */
static void add_energy(uint64_t *mwh, uint64_t *rem_uj, double uj)
{
    if (uj > 0) {
        *rem_uj += (uint64_t)llround(uj);
        *mwh += *rem_uj / UJ_PER_MWH;
        *rem_uj %= UJ_PER_MWH;
    }
}

/* Voltage RMS, real power from the phase-corrected cross sums, apparent power and PF. */
static void finish_voltage(pg_meter *m, const pg_config *cfg, double amps_per_mv, pg_window *out)
{
    double n = m->n;
    double mean_i = (double)m->sum / n;
    double mean_v = (double)m->vsum / n;
    double var_v = (double)m->vsumsq / n - mean_v * mean_v;
    double vrms_mv = var_v > 0 ? sqrt(var_v) : 0.0;
    double volts_per_mv = cfg->v_uv_per_mv / 1e6;
    out->voltage = true;
    out->vrms_v = vrms_mv * volts_per_mv;
    out->v_min_mv = m->vmin_mv;
    out->v_max_mv = m->vmax_mv;
    out->v_saturated = m->vmin_mv <= m->p.sat_low_mv || m->vmax_mv >= m->p.sat_high_mv;
    double p_pin = 0.0;
    if (m->cross_n > 0) {
        /* Covariances at the two lags; then the linear interpolation between them, divided by
         * the interpolation's own gain at the fundamental (up to 0.3 % at half a sample). */
        double ca = (double)m->cross_a / m->cross_n - mean_i * mean_v;
        double cb = (double)m->cross_b / m->cross_n - mean_i * mean_v;
        double f = m->lag_frac;
        double a = alpha(m);
        double gain = hypot(1.0 - f + f * cos(a), f * sin(a));
        p_pin = ((1.0 - f) * ca + f * cb) / gain;
        /* The lead of the voltage as sampled: with x the phase at lag_a, ca = C cos x and
         * cb = C cos(x - s*a), s = +1 when the voltage is the delayed channel, -1 otherwise. */
        double s = m->delay_voltage ? 1.0 : -1.0;
        double x = atan2(s * (cb - ca * cos(a)) / sin(a), ca);
        m->last_phase_deg = (x + s * m->lag_a * a) * 180.0 / PI;
        m->last_vrms_mv = vrms_mv;
        m->last_v_valid = true;
    }
    out->power_w = p_pin * amps_per_mv * volts_per_mv;
    if (fabs(out->power_w) < PG_METER_CREEP_W) {
        out->power_w = 0.0;
    }
    out->apparent_va = out->vrms_v * out->irms_a;
    out->pf = out->apparent_va > 0 ? fmin(1.0, fabs(out->power_w) / out->apparent_va) : 0.0;
    double dv = lround(out->vrms_v * 10.0);
    out->vrms_dv = dv > UINT16_MAX ? UINT16_MAX : (uint16_t)dv;
    out->pf_milli = (uint16_t)lround(out->pf * 1000.0);
    m->vbase = (int32_t)lround(m->vbase + mean_v);
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
        double amps_per_mv = cfg->mv_per_a_x10 ? pg_meter_divider_gain(m) * 10.0 / cfg->mv_per_a_x10 : 0.0;
        out->irms_a = rms_adc_mv * amps_per_mv;
        if (m->p.voltage) {
            finish_voltage(m, cfg, amps_per_mv, out);
        } else {
            out->power_w = cfg->vnom_dv / 10.0 * out->irms_a * cfg->pf_x100 / 100.0;
        }
        out->saturated = m->min_mv <= m->p.sat_low_mv || m->max_mv >= m->p.sat_high_mv || out->v_saturated;
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
    add_energy(&m->energy_mwh, &m->energy_rem_uj, uj);
    add_energy(&m->export_mwh, &m->export_rem_uj, -uj);
    out->energy_mwh = m->energy_mwh;
    out->export_mwh = m->export_mwh;
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

void pg_meter_set_export(pg_meter *m, uint64_t export_mwh)
{
    m->export_mwh = export_mwh;
    m->export_rem_uj = 0;
}

void pg_meter_set_phase(pg_meter *m, int16_t phase_cdeg)
{
    m->phase_cdeg = phase_cdeg;
    if (m->n == 0) {
        reset_window(m);
    }
}

bool pg_meter_last_voltage(const pg_meter *m, double *vrms_mv, double *phase_deg)
{
    if (!m->last_v_valid) {
        return false;
    }
    *vrms_mv = m->last_vrms_mv;
    *phase_deg = m->last_phase_deg;
    return true;
}
