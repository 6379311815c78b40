#include "synth.h"

#include <math.h>

static const double TAU = 6.283185307179586;

void pg_synth_defaults(pg_synth *s, uint64_t seed)
{
    *s = (pg_synth){
        .sample_rate_hz = 4000.0,
        .freq_hz = 50.0,
        .vcc_mv = 5000.0,
        .sens_mv_per_a = 66.0,
        .divider_gain = 1.5,
        .noise_mv = 2.0,
        .adc_min_mv = 142.0,
        .adc_max_mv = 3130.0,
        .vrms_v = 230.0,
        .zmpt_mv_per_v = 700.0 / 230.0,
        .zmpt_vcc_mv = 5000.0,
        .v_divider_gain = 1.5,
        .rng = seed * 0x9E3779B97F4A7C15ull + 1,
    };
}

/* xorshift64*, then Box-Muller: deterministic for a seed, good enough for noise. */
static double uniform(pg_synth *s)
{
    s->rng ^= s->rng >> 12;
    s->rng ^= s->rng << 25;
    s->rng ^= s->rng >> 27;
    return ((s->rng * 0x2545F4914F6CDD1Dull) >> 11) * (1.0 / 9007199254740992.0);
}

static double gaussian(pg_synth *s)
{
    double u = uniform(s);
    double v = uniform(s);
    return sqrt(-2.0 * log(u > 0 ? u : 1e-300)) * cos(TAU * v);
}

/* Instantaneous current at phase x of the fundamental (x includes phase_rad). */
static double current_a(const pg_synth *s, double x)
{
    double h3 = s->harmonic3, h5 = s->harmonic5, h7 = s->harmonic7;
    double a1 = s->irms_a * sqrt(2.0) / sqrt(1.0 + h3 * h3 + h5 * h5 + h7 * h7);
    return a1 * (sin(x) + h3 * sin(3.0 * x) + h5 * sin(5.0 * x) + h7 * sin(7.0 * x));
}

/* Clip to the ADC's range and round to whole mV, as analogReadMilliVolts does. */
static uint16_t adc(const pg_synth *s, double pin)
{
    pin = pin < s->adc_min_mv ? s->adc_min_mv : pin > s->adc_max_mv ? s->adc_max_mv : pin;
    return (uint16_t)lround(pin);
}

static double current_pin_mv(pg_synth *s, double amps)
{
    double sensor_mv = s->vcc_mv / 2.0 + s->zero_error_mv + s->sens_mv_per_a * amps;
    sensor_mv = sensor_mv < 0 ? 0 : sensor_mv > s->vcc_mv ? s->vcc_mv : sensor_mv;
    return sensor_mv / s->divider_gain + (s->noise_mv > 0 ? s->noise_mv * gaussian(s) : 0.0);
}

void pg_synth_reset_truth(pg_synth *s)
{
    s->true_p_sum = 0;
    s->true_v2_sum = 0;
    s->true_i2_sum = 0;
    s->true_n = 0;
}

void pg_synth_fill_iv(pg_synth *s, uint16_t *i_mv, uint16_t *v_mv, size_t n)
{
    static const int orders[3] = {1, 3, 5};
    double rel[3] = {1.0, s->v_harmonic3, s->v_harmonic5};
    double b1 = s->vrms_v * sqrt(2.0) / sqrt(1.0 + rel[1] * rel[1] + rel[2] * rel[2]);
    /* The module as a high-pass with its corner where the lead at 50 Hz is zmpt_lead_deg: gain
     * and lead per harmonic, the ratio normalised at the fundamental. */
    double fc = 50.0 * tan(s->zmpt_lead_deg * TAU / 360.0);
    double gain[3];
    double lead[3];
    for (int h = 0; h < 3; h++) {
        double r = fc / (orders[h] * s->freq_hz);
        gain[h] = 1.0 / sqrt(1.0 + r * r);
        lead[h] = atan(r);
    }
    for (size_t k = 0; k < n; k++, s->t++) {
        double t = (double)s->t / s->sample_rate_hz;
        double y = TAU * s->freq_hz * t;
        double amps = current_a(s, y + s->phase_rad);
        double volts = 0;
        double module = 0;
        double yv = TAU * s->freq_hz * (t + s->skew_s);
        for (int h = 0; h < 3; h++) {
            volts += b1 * rel[h] * sin(orders[h] * y);
            module += b1 * rel[h] * gain[h] / gain[0] * sin(orders[h] * yv + lead[h]);
        }
        s->true_p_sum += volts * amps;
        s->true_v2_sum += volts * volts;
        s->true_i2_sum += amps * amps;
        s->true_n++;
        i_mv[k] = adc(s, current_pin_mv(s, amps));
        double out_mv = s->zmpt_vcc_mv / 2.0 + s->zmpt_mv_per_v * module;
        out_mv = out_mv < 0 ? 0 : out_mv > s->zmpt_vcc_mv ? s->zmpt_vcc_mv : out_mv;
        v_mv[k] = adc(s, out_mv / s->v_divider_gain + (s->noise_mv > 0 ? s->noise_mv * gaussian(s) : 0.0));
    }
}

void pg_synth_fill(pg_synth *s, uint16_t *mv, size_t n)
{
    for (size_t i = 0; i < n; i++, s->t++) {
        double x = TAU * s->freq_hz * (double)s->t / s->sample_rate_hz + s->phase_rad;
        mv[i] = adc(s, current_pin_mv(s, current_a(s, x)));
    }
}

double pg_synth_window_iv(pg_synth *s, pg_meter *m, const pg_config *cfg, pg_window *w)
{
    uint16_t i_mv[500];
    uint16_t v_mv[500];
    pg_synth_reset_truth(s);
    while (!pg_meter_window_full(m)) {
        size_t want = m->window_samples - m->n;
        want = want > 500 ? 500 : want;
        pg_synth_fill_iv(s, i_mv, v_mv, want);
        pg_meter_feed_iv(m, i_mv, v_mv, want);
    }
    pg_meter_finish(m, cfg, 0, w);
    return s->true_n ? s->true_p_sum / (double)s->true_n : 0.0;
}

int pg_synth_voltage_rig(pg_synth *s, pg_meter *m, pg_config *cfg, uint64_t seed)
{
    pg_synth_defaults(s, seed);
    s->sample_rate_hz = 2000;
    s->skew_s = 250e-6;
    s->zmpt_lead_deg = 3.0;
    s->v_harmonic3 = 0.03;
    s->v_harmonic5 = 0.04;
    pg_meter_params p = PG_METER_PARAMS_DEFAULT;
    p.sample_rate_hz = 2000;
    p.voltage = true;
    pg_config_defaults(cfg, 30);
    return pg_meter_init(m, &p);
}

void pg_synth_calibrate(pg_synth *s, pg_meter *m, pg_config *cfg)
{
    pg_window w;
    s->irms_a = 0;
    for (int k = 0; k < 3; k++) {
        pg_synth_window_iv(s, m, cfg, &w);
    }
    double mean;
    double rms;
    pg_meter_last_window(m, &mean, &rms);
    pg_meter_set_zero(m, mean, rms);
    s->irms_a = 10.0;
    s->phase_rad = 0;
    s->harmonic3 = s->harmonic5 = s->harmonic7 = 0;
    pg_synth_window_iv(s, m, cfg, &w);
    pg_synth_window_iv(s, m, cfg, &w);
    double vrms_mv;
    double phase_deg;
    if (pg_meter_last_voltage(m, &vrms_mv, &phase_deg)) {
        cfg->phase_cdeg = (int16_t)lround(phase_deg * 100.0);
        pg_meter_set_phase(m, cfg->phase_cdeg);
        cfg->v_uv_per_mv = (uint32_t)lround(sqrt(s->true_v2_sum / (double)s->true_n) * 1e6 / vrms_mv);
    }
}

pg_synth_load_result pg_synth_measure_load(pg_synth *s, pg_meter *m, const pg_config *cfg, double irms_a,
                                           double phase_rad, const double harmonics[3])
{
    s->irms_a = irms_a;
    s->phase_rad = phase_rad;
    s->harmonic3 = harmonics[0];
    s->harmonic5 = harmonics[1];
    s->harmonic7 = harmonics[2];
    pg_window w;
    pg_synth_window_iv(s, m, cfg, &w);
    pg_synth_load_result r = {0, 0, 0, 0, 0, 0};
    for (int k = 0; k < 5; k++) {
        double truth = pg_synth_window_iv(s, m, cfg, &w);
        double e = (w.power_w - truth) / fabs(truth);
        r.mean_err += e / 5;
        r.worst_err = fabs(e) > fabs(r.worst_err) ? e : r.worst_err;
        double true_v = sqrt(s->true_v2_sum / (double)s->true_n);
        r.true_pf = fabs(truth) / (true_v * sqrt(s->true_i2_sum / (double)s->true_n));
        r.meas_pf = w.pf;
        r.vrms_v = w.vrms_v;
        r.true_vrms_v = true_v;
    }
    return r;
}
