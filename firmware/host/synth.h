/* A synthetic ACS712 + divider + ESP32 ADC: what analogReadMilliVolts would return for a load;
 * optionally the mains voltage too, through a ZMPT101B module with its own phase lead, sampled
 * a little after the current. */
#ifndef PG_SYNTH_H
#define PG_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#include "pg_meter.h"

typedef struct {
    double sample_rate_hz;
    double freq_hz;         /* the mains frequency actually present (not a whole number of cycles) */
    double irms_a;          /* true RMS current of the load */
    double harmonic3;       /* 3rd-harmonic amplitude relative to the fundamental (sign = phase) */
    double harmonic5;       /* 5th and 7th, likewise: an SMPS draws -0.8, +0.6, -0.4 */
    double harmonic7;
    double phase_rad;       /* current's phase against the voltage: negative lags, +-pi exports */
    double vcc_mv;          /* ACS712 supply; its zero sits at vcc/2 */
    double zero_error_mv;   /* sensor zero offset error at its output */
    double sens_mv_per_a;   /* the sensor's true sensitivity */
    double divider_gain;    /* sensor mV per ADC-pin mV, 1.5 for 10k/20k */
    double noise_mv;        /* Gaussian noise RMS at the ADC pin */
    double adc_min_mv;      /* what the calibrated ADC returns at code 0 and 4095 */
    double adc_max_mv;
    /* The voltage channel (pg_synth_fill_iv). */
    double vrms_v;          /* true mains RMS voltage */
    double v_harmonic3;     /* mains voltage distortion, relative to the fundamental */
    double v_harmonic5;
    double zmpt_mv_per_v;   /* module output mV RMS per mains V RMS at the fundamental */
    double zmpt_lead_deg;   /* the module's phase lead at 50 Hz, modelled as a first-order high-pass */
    double zmpt_vcc_mv;     /* the module's output rests at half its supply */
    double v_divider_gain;  /* module mV per ADC-pin mV */
    double skew_s;          /* the voltage is read this long after the current */
    /* The truth at the current's sampling instants, summed by pg_synth_fill_iv. */
    double true_p_sum;      /* W */
    double true_v2_sum;     /* V^2 */
    double true_i2_sum;     /* A^2 */
    uint64_t true_n;
    uint64_t rng;
    uint64_t t;             /* samples produced so far: the waveform is continuous across calls */
} pg_synth;

/* A 30 A sensor at 5.0 V behind 10k/20k, 4 kHz, 50.0 Hz, 2 mV noise, no load; 230 V through a
 * ZMPT101B on 5 V trimmed to 0.70 V RMS behind 10k/20k, no lead, no skew. */
void pg_synth_defaults(pg_synth *s, uint64_t seed);
void pg_synth_fill(pg_synth *s, uint16_t *mv, size_t n);
/* Both channels of the same ticks; adds the true power, V^2 and I^2 to the sums above. */
void pg_synth_fill_iv(pg_synth *s, uint16_t *i_mv, uint16_t *v_mv, size_t n);
/* Clear the sums of the truth. */
void pg_synth_reset_truth(pg_synth *s);
/* Feed one whole window of both channels to `m` and close it into `w`; returns the window's true
 * real power (the mean of v*i at the current's sampling instants). */
double pg_synth_window_iv(pg_synth *s, pg_meter *m, const pg_config *cfg, pg_window *w);

/* A voltage node's meter as the tests and the benchmark use it: 2 kHz per channel read
 * alternately (the voltage 250 us after the current, 4.5 degrees), a ZMPT101B leading by 3
 * degrees, a mains voltage with 3 % 3rd and 4 % 5th harmonic, 2 mV of noise on both channels.
 * Returns pg_meter_init's result. */
int pg_synth_voltage_rig(pg_synth *s, pg_meter *m, pg_config *cfg, uint64_t seed);
/* The calibration procedure on the meter: zero at no load, then with a 10 A kettle the phase
 * (what pcal=now takes) and the voltage scale (vcal_dv from a true-RMS multimeter). */
void pg_synth_calibrate(pg_synth *s, pg_meter *m, pg_config *cfg);

typedef struct {
    double mean_err;  /* relative error of real power, signed */
    double worst_err; /* the window furthest off */
    double true_pf;
    double meas_pf;
    double vrms_v;
    double true_vrms_v;
} pg_synth_load_result;

/* Windows 2..6 of a load of `irms_a` at `phase_rad` with current harmonics {3rd, 5th, 7th}
 * (the first window lets a new phase setting take effect). */
pg_synth_load_result pg_synth_measure_load(pg_synth *s, pg_meter *m, const pg_config *cfg, double irms_a,
                                           double phase_rad, const double harmonics[3]);

#endif
