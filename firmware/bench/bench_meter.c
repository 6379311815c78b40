/* Host proxy for the node's measurement cost and accuracy, printed as JSON:
 *  - CPU time of one 1 s window (4000 samples) through pg_meter_feed + pg_meter_finish, against
 *    a baseline loop that only sums the same samples, measured in the same run;
 *  - RMS error against the synthetic signal's true value for several loads. */
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

static void timing(void)
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

int main(void)
{
    printf("{\n");
    timing();
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
