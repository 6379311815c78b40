/* A synthetic ACS712 + divider + ESP32 ADC: what analogReadMilliVolts would return for a load. */
#ifndef PG_SYNTH_H
#define PG_SYNTH_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    double sample_rate_hz;
    double freq_hz;         /* the mains frequency actually present (not a whole number of cycles) */
    double irms_a;          /* true RMS current of the load */
    double harmonic3;       /* 3rd-harmonic amplitude relative to the fundamental */
    double phase_rad;
    double vcc_mv;          /* ACS712 supply; its zero sits at vcc/2 */
    double zero_error_mv;   /* sensor zero offset error at its output */
    double sens_mv_per_a;   /* the sensor's true sensitivity */
    double divider_gain;    /* sensor mV per ADC-pin mV, 1.5 for 10k/20k */
    double noise_mv;        /* Gaussian noise RMS at the ADC pin */
    double adc_min_mv;      /* what the calibrated ADC returns at code 0 and 4095 */
    double adc_max_mv;
    uint64_t rng;
    uint64_t t;             /* samples produced so far: the waveform is continuous across calls */
} pg_synth;

/* A 30 A sensor at 5.0 V behind 10k/20k, 4 kHz, 50.0 Hz, 2 mV noise, no load. */
void pg_synth_defaults(pg_synth *s, uint64_t seed);
void pg_synth_fill(pg_synth *s, uint16_t *mv, size_t n);

#endif
