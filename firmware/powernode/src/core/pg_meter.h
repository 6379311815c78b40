/* Measurement over whole mains cycles: current RMS with zero tracking and, with a voltage channel,
 * voltage RMS, real power as the mean of v*i (phase-corrected), power factor, and separate import
 * and export energy. */
#ifndef PG_METER_H
#define PG_METER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pg_config.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    uint16_t sample_rate_hz;     /* >= 2000, a whole number of samples per mains cycle */
    uint8_t mains_hz;            /* 50 or 60 */
    uint8_t cycles;              /* mains cycles per window, >= 10 */
    uint32_t divider_top_ohm;    /* sensor output -> top resistor -> ADC pin -> bottom -> GND */
    uint32_t divider_bottom_ohm; /* 0 means no divider */
    uint16_t sat_low_mv;         /* a sample at or below this at the ADC pin is clipped */
    uint16_t sat_high_mv;        /* a sample at or above this at the ADC pin is clipped */
    uint8_t offset_shift;        /* zero tracking moves 1/2^shift of the way to each window's mean */
    bool voltage;                /* a ZMPT101B voltage channel is sampled beside the current */
} pg_meter_params;

/* 4 kHz, 50 cycles of 50 Hz = 1 s windows, 10k/20k divider, ESP32 11 dB ADC range, tau ~32 s,
 * current only. */
#define PG_METER_PARAMS_DEFAULT {4000, 50, 50, 10000, 20000, 150, 3100, 5, false}

/* Samples of both channels kept for the phase correction: lags up to 62 samples, i.e. 10 degrees
 * at any 16-bit sample rate of 50 Hz mains. */
#define PG_METER_HIST 64
/* Below this real power a voltage-measuring window reports and counts nothing (a meter's creep
 * limit): uncorrelated noise on the two channels (0.5 W RMS at 4 mV of noise on a 30 A sensor)
 * would otherwise count a fraction of a watt either way, as import and as phantom export. */
#define PG_METER_CREEP_W 2.0

typedef struct {
    pg_meter_params p;
    uint32_t window_samples;
    /* The window being sampled: integer sums relative to `base`, so the hot loop stays in
     * integer arithmetic (the ESP32 has no double-precision FPU). */
    uint32_t n;
    int32_t base;
    int64_t sum;
    uint64_t sumsq;
    uint16_t min_mv;
    uint16_t max_mv;
    /* Zero-current level at the ADC pin, tracked by a slow IIR filter on each window's mean. */
    double offset_mv;
    bool offset_valid;
    double noise_var_mv2; /* noise power at zero current, subtracted from every window */
    /* The last complete window, for `zero=now`. */
    bool last_valid;
    double last_mean_mv;
    double last_var_mv2;
    /* Cumulative energy; the remainder below 1 mWh is kept in uJ so nothing is lost. */
    uint64_t energy_mwh;
    uint64_t energy_rem_uj;
    uint64_t export_mwh; /* voltage channel only: energy flowing out (negative power) */
    uint64_t export_rem_uj;

    /* Voltage channel. Real power pairs each sample of one channel with the other channel
     * delayed by `phase_cdeg` (linear interpolation between two lags), accumulated as two cross
     * sums so the hot loop needs no fraction. */
    int32_t vbase;
    int64_t vsum;
    uint64_t vsumsq;
    int64_t cross_a; /* sum of now * other[lag_a] */
    int64_t cross_b; /* sum of now * other[lag_a + 1] */
    uint32_t cross_n;
    uint16_t vmin_mv;
    uint16_t vmax_mv;
    int16_t phase_cdeg;   /* voltage lead to remove, 0.01 degree; applied from the next window */
    bool delay_voltage;   /* phase >= 0: voltage samples are delayed, else current samples */
    uint16_t lag_a;       /* whole samples of delay of this window */
    double lag_frac;      /* and the fraction between lag_a and lag_a + 1 */
    uint16_t hist_pos;
    uint16_t hist_n;
    uint16_t hist_i[PG_METER_HIST];
    uint16_t hist_v[PG_METER_HIST];
    /* The last complete window's voltage figures, for `vcal_dv` and `pcal`. */
    bool last_v_valid;
    double last_vrms_mv;
    double last_phase_deg; /* the voltage's lead over the current, as sampled */
} pg_meter;

typedef struct {
    uint32_t samples;
    bool saturated;
    uint16_t min_mv;
    uint16_t max_mv;
    double mean_mv;   /* window mean at the ADC pin */
    double offset_mv; /* tracked zero after this window */
    double irms_a;
    double power_w;
    uint32_t irms_ma;
    int32_t power_dw;
    uint64_t energy_mwh;
    /* voltage channel only */
    bool voltage;
    bool v_saturated;
    uint16_t v_min_mv;
    uint16_t v_max_mv;
    double vrms_v;
    double apparent_va;
    double pf; /* |real| / apparent, 0 when no current flows */
    uint16_t vrms_dv;
    uint16_t pf_milli;
    uint64_t export_mwh;
} pg_window;

/* Returns 0, or -1 when the parameters cannot give whole cycles of >= 10 at >= 2 kHz. */
int pg_meter_init(pg_meter *m, const pg_meter_params *p);
uint32_t pg_meter_window_ms(const pg_meter *m);

/* The hot loop: add up to the rest of this window's samples (ADC pin, mV); returns how many
 * were taken. A meter with a voltage channel takes none: feed it pairs. */
size_t pg_meter_feed(pg_meter *m, const uint16_t *mv, size_t n);
/* The same for a meter with a voltage channel: current and voltage samples of the same ticks
 * (voltage read after current, the skew that `phase_cdeg` corrects). */
size_t pg_meter_feed_iv(pg_meter *m, const uint16_t *i_mv, const uint16_t *v_mv, size_t n);
bool pg_meter_window_full(const pg_meter *m);

/* Close the window: Irms, power, energy over `elapsed_ms` (0: the nominal window length),
 * zero tracking; start the next window. Without a voltage channel power is vnom x Irms x pf;
 * with one it is the mean of v*i, signed, scaled by cfg->v_uv_per_mv. */
void pg_meter_finish(pg_meter *m, const pg_config *cfg, uint32_t elapsed_ms, pg_window *out);

/* Seed the zero level and the noise floor (from NVS or from `zero=now`). */
void pg_meter_set_zero(pg_meter *m, double offset_mv, double noise_rms_mv);
/* The last complete window's mean and RMS deviation, i.e. what `zero=now` would take. */
bool pg_meter_last_window(const pg_meter *m, double *mean_mv, double *rms_mv);
/* Sensor-output mV per ADC-pin mV. */
double pg_meter_divider_gain(const pg_meter *m);

void pg_meter_set_energy(pg_meter *m, uint64_t energy_mwh);
void pg_meter_set_export(pg_meter *m, uint64_t export_mwh);

/* The phase correction in 0.01 degree (positive: the sampled voltage leads and is delayed);
 * takes effect at the start of the next window. */
void pg_meter_set_phase(pg_meter *m, int16_t phase_cdeg);
/* The last complete window's voltage RMS at the ADC pin and the voltage's lead over the current
 * at the fundamental as sampled (before any correction): what `vcal_dv` and `pcal=now` take. */
bool pg_meter_last_voltage(const pg_meter *m, double *vrms_mv, double *phase_deg);

#ifdef __cplusplus
}
#endif

#endif
