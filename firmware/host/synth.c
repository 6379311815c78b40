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

void pg_synth_fill(pg_synth *s, uint16_t *mv, size_t n)
{
    double a1 = s->irms_a * sqrt(2.0) / sqrt(1.0 + s->harmonic3 * s->harmonic3);
    double a3 = a1 * s->harmonic3;
    for (size_t i = 0; i < n; i++, s->t++) {
        double x = TAU * s->freq_hz * (double)s->t / s->sample_rate_hz + s->phase_rad;
        double amps = a1 * sin(x) + a3 * sin(3.0 * x);
        double sensor_mv = s->vcc_mv / 2.0 + s->zero_error_mv + s->sens_mv_per_a * amps;
        if (sensor_mv < 0) {
            sensor_mv = 0;
        }
        if (sensor_mv > s->vcc_mv) {
            sensor_mv = s->vcc_mv;
        }
        double pin = sensor_mv / s->divider_gain + (s->noise_mv > 0 ? s->noise_mv * gaussian(s) : 0.0);
        pin = pin < s->adc_min_mv ? s->adc_min_mv : pin > s->adc_max_mv ? s->adc_max_mv : pin;
        mv[i] = (uint16_t)lround(pin);
    }
}
