/* Current measurement: RMS over whole mains cycles, zero tracking, real power, energy. */
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
} pg_meter_params;

/* 4 kHz, 50 cycles of 50 Hz = 1 s windows, 10k/20k divider, ESP32 11 dB ADC range, tau ~32 s. */
#define PG_METER_PARAMS_DEFAULT {4000, 50, 50, 10000, 20000, 150, 3100, 5}

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
} pg_window;

/* Returns 0, or -1 when the parameters cannot give whole cycles of >= 10 at >= 2 kHz. */
int pg_meter_init(pg_meter *m, const pg_meter_params *p);
uint32_t pg_meter_window_ms(const pg_meter *m);

/* The hot loop: add up to the rest of this window's samples (ADC pin, mV); returns how many
 * were taken. */
size_t pg_meter_feed(pg_meter *m, const uint16_t *mv, size_t n);
bool pg_meter_window_full(const pg_meter *m);

/* Close the window: Irms, power, energy over `elapsed_ms` (0: the nominal window length),
 * zero tracking; start the next window. */
void pg_meter_finish(pg_meter *m, const pg_config *cfg, uint32_t elapsed_ms, pg_window *out);

/* Seed the zero level and the noise floor (from NVS or from `zero=now`). */
void pg_meter_set_zero(pg_meter *m, double offset_mv, double noise_rms_mv);
/* The last complete window's mean and RMS deviation, i.e. what `zero=now` would take. */
bool pg_meter_last_window(const pg_meter *m, double *mean_mv, double *rms_mv);
/* Sensor-output mV per ADC-pin mV. */
double pg_meter_divider_gain(const pg_meter *m);

void pg_meter_set_energy(pg_meter *m, uint64_t energy_mwh);

#ifdef __cplusplus
}
#endif

#endif
