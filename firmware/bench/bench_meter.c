/* Host proxy for the node's measurement cost and accuracy, printed as JSON:
 *  - CPU time of one 1 s window (4000 samples) through pg_meter_feed + pg_meter_finish, against
 *    a baseline loop that only sums the same samples, measured in the same run;
 *  - the same window with the voltage channel (pg_meter_feed_iv): 2000 pairs, as a voltage node
 *    samples, and 4000 pairs, against the current-only window;
 *  - RMS error against the synthetic signal's true value for several loads;
 *  - real-power error of the voltage channel across power factors and harmonic content, after
 *    phase calibration and with the factory (skew-only) correction. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pg_meter.h"
#include "synth.h"

#define WINDOW 4000
#define REPS 4000
#define TRIALS 7

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static volatile uint64_t g_sink;

/* The least any RMS loop must do: touch every sample once. */
static __attribute__((noinline)) uint64_t baseline(const uint16_t *mv, size_t n)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        sum += mv[i];
    }
    return sum;
}

/* Prints the current-only figures; returns its microseconds per window. */
static double timing(void)
{
    static uint16_t mv[WINDOW];
    pg_synth s;
    pg_synth_defaults(&s, 1);
    s.irms_a = 4.35;
    pg_synth_fill(&s, mv, WINDOW);
    pg_meter m;
    pg_meter_params p = PG_METER_PARAMS_DEFAULT;
    pg_meter_init(&m, &p);
    pg_config cfg;
    pg_config_defaults(&cfg, 30);
    double best_core = 1e9;
    double best_base = 1e9;
    for (int t = 0; t < TRIALS; t++) {
        double t0 = cpu_s();
        for (int r = 0; r < REPS; r++) {
            pg_window w;
            mv[r % WINDOW] ^= 1; /* a different window each time */
            pg_meter_feed(&m, mv, WINDOW);
            pg_meter_finish(&m, &cfg, 1000, &w);
            g_sink += w.irms_ma;
        }
        double t1 = cpu_s();
        for (int r = 0; r < REPS; r++) {
            mv[r % WINDOW] ^= 1;
            g_sink += baseline(mv, WINDOW);
        }
        double t2 = cpu_s();
        best_core = fmin(best_core, (t1 - t0) / REPS);
        best_base = fmin(best_base, (t2 - t1) / REPS);
    }
    printf("  \"timing\": {\"samples_per_window\": %d, \"core_us_per_window\": %.2f, \"baseline_us_per_window\": %.2f, "
           "\"ratio\": %.2f, \"core_ns_per_sample\": %.3f},\n",
           WINDOW, best_core * 1e6, best_base * 1e6, best_core / best_base, best_core * 1e9 / WINDOW);
    return best_core * 1e6;
}

/* Mean and worst relative error of windows 11..40 for a load in watts at 230 V. */
static void accuracy_row(double watts, double freq, double noise_mv, int zero_now, int last)
{
    pg_synth s;
    pg_synth_defaults(&s, (uint64_t)(watts * 7 + freq));
    s.freq_hz = freq;
    s.noise_mv = noise_mv;
    pg_meter m;
    pg_meter_params p = PG_METER_PARAMS_DEFAULT;
    pg_meter_init(&m, &p);
    pg_config cfg;
    pg_config_defaults(&cfg, 30);
    static uint16_t mv[WINDOW];
    pg_window w;
    if (zero_now) { /* calibrate at no load, as the docs' procedure does */
        for (int k = 0; k < 3; k++) {
            pg_synth_fill(&s, mv, WINDOW);
            pg_meter_feed(&m, mv, WINDOW);
            pg_meter_finish(&m, &cfg, 1000, &w);
        }
        double mean, rms;
        pg_meter_last_window(&m, &mean, &rms);
        pg_meter_set_zero(&m, mean, rms);
    }
    s.irms_a = watts / 230.0;
    double sum = 0;
    double worst = 0;
    int n = 0;
    for (int k = 0; k < 40; k++) {
        pg_synth_fill(&s, mv, WINDOW);
        pg_meter_feed(&m, mv, WINDOW);
        pg_meter_finish(&m, &cfg, 1000, &w);
        if (k >= 10) {
            double e = fabs(w.irms_a - s.irms_a) / s.irms_a;
            sum += e;
            worst = fmax(worst, e);
            n++;
        }
    }
    printf("    {\"watts\": %.0f, \"true_irms_a\": %.4f, \"freq_hz\": %.2f, \"noise_mv\": %.1f, \"zero_now\": %s, "
           "\"mean_error_pct\": %.3f, \"max_error_pct\": %.3f}%s\n",
           watts, s.irms_a, freq, noise_mv, zero_now ? "true" : "false", 100 * sum / n, 100 * worst, last ? "" : ",");
}

/* Best CPU time of one window of `pairs` current+voltage pairs through feed_iv + finish. */
static double two_channel_us(uint16_t rate, size_t pairs)
{
    static uint16_t i_mv[WINDOW];
    static uint16_t v_mv[WINDOW];
    pg_synth s;
    pg_meter m;
    pg_config cfg;
    pg_synth_voltage_rig(&s, &m, &cfg, 1);
    s.sample_rate_hz = rate;
    pg_meter_params p = m.p;
    p.sample_rate_hz = rate;
    pg_meter_init(&m, &p);
    pg_meter_set_phase(&m, 750);
    s.irms_a = 4.35;
    s.phase_rad = -0.6;
    pg_synth_fill_iv(&s, i_mv, v_mv, pairs);
    double best = 1e9;
    for (int t = 0; t < TRIALS; t++) {
        double t0 = cpu_s();
        for (int r = 0; r < REPS; r++) {
            pg_window w;
            i_mv[r % pairs] ^= 1;
            pg_meter_feed_iv(&m, i_mv, v_mv, pairs);
            pg_meter_finish(&m, &cfg, 1000, &w);
            g_sink += w.irms_ma;
        }
        best = fmin(best, (cpu_s() - t0) / REPS);
    }
    return best * 1e6;
}

/* Against `one`, today's current-only window (4000 samples) from timing(). */
static void two_channel_timing(double one)
{
    double two_2k = two_channel_us(2000, 2000);
    double two_4k = two_channel_us(4000, 4000);
    printf("  \"two_channel\": {\"one_channel_4k_us\": %.2f, \"two_channel_2k_us\": %.2f, \"ratio_2k\": %.2f, "
           "\"two_channel_4k_us\": %.2f, \"ratio_4k\": %.2f},\n",
           one, two_2k, two_2k / one, two_4k, two_4k / one);
}

/* One row of the table: a displacement PF and one kind of current distortion, import and export,
 * after calibration; and the same load with only the factory skew correction. */
static void power_row(double pf, int kind, int last)
{
    static const char *const names[] = {"sine", "fan (20 % 3rd)", "SMPS (80/60/40 % 3rd/5th/7th)"};
    static const double harm[3][3] = {{0, 0, 0}, {-0.2, 0, 0}, {-0.8, 0.6, -0.4}};
    double err[3] = {0, 0, 0};
    double worst[3] = {0, 0, 0};
    double true_pf = 0;
    for (int mode = 0; mode < 3; mode++) { /* import, export, import with the factory correction */
        pg_synth s;
        pg_meter m;
        pg_config cfg;
        pg_synth_voltage_rig(&s, &m, &cfg, 100 + (uint64_t)(pf * 10) + (uint64_t)kind);
        pg_synth_calibrate(&s, &m, &cfg);
        if (mode == 2) {
            pg_meter_set_phase(&m, 450);
        }
        double phase = -acos(pf) + (mode == 1 ? 3.14159265358979323846 : 0.0);
        pg_synth_load_result r = pg_synth_measure_load(&s, &m, &cfg, 4.0, phase, harm[kind]);
        err[mode] = 100 * r.mean_err;
        worst[mode] = 100 * r.worst_err;
        true_pf = r.true_pf;
    }
    printf("    {\"displacement_pf\": %.2f, \"current\": \"%s\", \"true_pf\": %.3f, \"import_error_pct\": %.3f, "
           "\"import_worst_pct\": %.3f, \"export_error_pct\": %.3f, \"export_worst_pct\": %.3f, "
           "\"factory_phase_error_pct\": %.2f}%s\n",
           pf, names[kind], true_pf, err[0], worst[0], err[1], worst[1], err[2], last ? "" : ",");
}

int main(void)
{
    printf("{\n");
    two_channel_timing(timing());
    printf("  \"power\": [\n");
    static const double pfs[] = {1.0, 0.9, 0.8, 0.7, 0.6, 0.5};
    for (int kind = 0; kind < 3; kind++) {
        for (size_t i = 0; i < sizeof pfs / sizeof pfs[0]; i++) {
            power_row(pfs[i], kind, kind == 2 && i + 1 == sizeof pfs / sizeof pfs[0]);
        }
    }
    printf("  ],\n");
    printf("  \"accuracy\": [\n");
    static const double loads[] = {25, 100, 500, 1000, 2300, 5000};
    size_t nl = sizeof loads / sizeof loads[0];
    for (size_t i = 0; i < nl; i++) {
        accuracy_row(loads[i], 50.0, 2.0, 1, 0);
        accuracy_row(loads[i], 49.7, 2.0, 1, 0);
        accuracy_row(loads[i], 50.0, 2.0, 0, i + 1 == nl);
    }
    printf("  ]\n}\n");
    return 0;
}
