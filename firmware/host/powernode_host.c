/* powernode-host: the node firmware's core on a PC, measuring a synthetic ACS712 signal (and with
 * --voltage-channel a ZMPT101B's) and writing real protocol frames to stdout, a file or a
 * pseudo-terminal (where it also accepts CONFIG frames). Lets the gateway be tested end to end
 * against the firmware's own code. At exit it prints its final counters to stderr as
 * `energy_mwh=N export_mwh=M`. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "pg_node.h"
#include "synth.h"

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

typedef struct {
    double watts;
    double volts;
    double pf;
    double node_pf;
    int voltage;
    double zmpt_lead_deg;
    double skew_us;
    unsigned true_v_uv_per_mv;
    double noise_mv;
    double freq_hz;
    double zero_error_mv;
    long windows;
    unsigned window_ms;
    unsigned sample_rate;
    unsigned sensor_amps;
    unsigned true_mv_per_a_x10;
    uint8_t node_id[6];
    uint8_t ble_mac[6];
    int has_ble_mac;
    long boot_id;
    unsigned long long seed;
    int realtime;
    const char *out_path;
    const char *nvs_path;
    const char *ble_path;
    unsigned ble_every;
    const char *bind_key;
} options;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: powernode-host [options]\n"
            "  --watts W            real power of the load in watts; below 0 is export and needs\n"
            "                       --voltage-channel (default 1000)\n"
            "  --volts V            mains voltage, also the node's vnom (default 230)\n"
            "  --pf PF              the load's power factor (default 1.0)\n"
            "  --node-pf PF         the power factor a node without a voltage channel is configured\n"
            "                       with, its pf_x100 (default 1.0)\n"
            "  --voltage-channel    the node has a ZMPT101B: it measures v*i and sends READING_BIDIR\n"
            "                       (sample rate 2000 per channel unless --sample-rate is given)\n"
            "  --zmpt-lead-deg D    the module's own phase lead at 50 Hz (default 3.0)\n"
            "  --skew-us US         the voltage is read this long after the current (default: half\n"
            "                       a sample period, as the sketch alternates the channels); the\n"
            "                       node's factory phase correction is this skew\n"
            "  --true-v-uv-per-mv N the synthetic module's real ratio, mains uV per ADC-pin mV\n"
            "                       (default: the firmware's factory value, 490000)\n"
            "  --noise MV           Gaussian noise at the ADC pin, mV RMS (default 2.0)\n"
            "  --freq HZ            mains frequency actually present (default 50.0)\n"
            "  --zero-error-mv MV   sensor zero offset error (default 0)\n"
            "  --windows N          measurement windows to run, 0 = until SIGINT/SIGTERM (default 10)\n"
            "  --window-ms MS       window length, a multiple of 20 ms, >= 200 (default 1000)\n"
            "  --sample-rate HZ     ADC sample rate, a multiple of 50 (default 4000)\n"
            "  --sensor-amps A      ACS712 variant 5, 20 or 30 (default 30)\n"
            "  --true-mv-per-a-x10 S  the synthetic sensor's real sensitivity (default: datasheet)\n"
            "  --node-id MAC        node id, e.g. a4:cf:12:34:56:78 (default)\n"
            "  --boot-id N          boot id 0..65535 (default: random)\n"
            "  --seed N             noise and default boot id seed (default: random)\n"
            "  --realtime           sleep for each window, answer CONFIG frames meanwhile\n"
            "  --out PATH           file or pseudo-terminal to write frames to (default stdout)\n"
            "  --nvs PATH           file standing in for NVS: energy and settings survive restarts\n"
            "  --ble-out PATH       write each BTHome advertisement as a JSON line\n"
            "  --ble-every N        advertise every N windows (default 5)\n"
            "  --bind-key HEX       encrypt BTHome with this 16-byte key (32 hex digits)\n"
            "  --ble-mac MAC        BLE address (default: node id + 2 in the last byte, as on an ESP32)\n");
}

static int parse_mac(const char *text, uint8_t mac[6])
{
    unsigned b[6];
    char tail;
    if (sscanf(text, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6) {
        return -1;
    }
    for (int i = 0; i < 6; i++) {
        mac[i] = (uint8_t)b[i];
    }
    return 0;
}

static double parse_double(const char *opt, const char *v, double lo, double hi)
{
    char *end;
    double x = strtod(v, &end);
    if (*v == '\0' || *end != '\0' || !(x >= lo && x <= hi)) {
        fprintf(stderr, "powernode-host: %s %s: expected a number %g..%g\n", opt, v, lo, hi);
        exit(2);
    }
    return x;
}

static void parse_args(int argc, char **argv, options *o)
{
    *o = (options){.watts = 1000, .volts = 230, .pf = 1.0, .node_pf = 1.0, .zmpt_lead_deg = 3.0, .skew_us = -1,
                   .noise_mv = 2.0, .freq_hz = 50.0, .windows = 10,
                   .window_ms = 1000, .sample_rate = 4000, .sensor_amps = 30, .node_id = {0xa4, 0xcf, 0x12, 0x34,
                   0x56, 0x78}, .boot_id = -1, .ble_every = 5};
    int has_seed = 0;
    int has_rate = 0;
    enum { O_WATTS = 256, O_VOLTS, O_PF, O_NODE_PF, O_VCH, O_LEAD, O_SKEW, O_TRUE_V,
           O_NOISE, O_FREQ, O_ZERR, O_WINDOWS, O_WMS, O_RATE, O_AMPS, O_SENS, O_NODE,
           O_BOOT, O_SEED, O_RT, O_OUT, O_NVS, O_BLE, O_BLE_EVERY, O_KEY, O_BLE_MAC, O_HELP };
    static const struct option longopts[] = {
        {"watts", required_argument, 0, O_WATTS}, {"volts", required_argument, 0, O_VOLTS},
        {"pf", required_argument, 0, O_PF}, {"noise", required_argument, 0, O_NOISE},
        {"node-pf", required_argument, 0, O_NODE_PF}, {"voltage-channel", no_argument, 0, O_VCH},
        {"zmpt-lead-deg", required_argument, 0, O_LEAD}, {"skew-us", required_argument, 0, O_SKEW},
        {"true-v-uv-per-mv", required_argument, 0, O_TRUE_V},
        {"freq", required_argument, 0, O_FREQ}, {"zero-error-mv", required_argument, 0, O_ZERR},
        {"windows", required_argument, 0, O_WINDOWS}, {"window-ms", required_argument, 0, O_WMS},
        {"sample-rate", required_argument, 0, O_RATE}, {"sensor-amps", required_argument, 0, O_AMPS},
        {"true-mv-per-a-x10", required_argument, 0, O_SENS}, {"node-id", required_argument, 0, O_NODE},
        {"boot-id", required_argument, 0, O_BOOT}, {"seed", required_argument, 0, O_SEED},
        {"realtime", no_argument, 0, O_RT}, {"out", required_argument, 0, O_OUT},
        {"nvs", required_argument, 0, O_NVS}, {"ble-out", required_argument, 0, O_BLE},
        {"ble-every", required_argument, 0, O_BLE_EVERY}, {"bind-key", required_argument, 0, O_KEY},
        {"ble-mac", required_argument, 0, O_BLE_MAC}, {"help", no_argument, 0, O_HELP}, {0, 0, 0, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case O_WATTS: o->watts = parse_double("--watts", optarg, -100000, 100000); break;
        case O_VOLTS: o->volts = parse_double("--volts", optarg, 90, 270); break;
        case O_PF: o->pf = parse_double("--pf", optarg, 0.01, 1.0); break;
        case O_NODE_PF: o->node_pf = parse_double("--node-pf", optarg, 0.01, 1.0); break;
        case O_VCH: o->voltage = 1; break;
        case O_LEAD: o->zmpt_lead_deg = parse_double("--zmpt-lead-deg", optarg, 0, 10); break;
        case O_SKEW: o->skew_us = parse_double("--skew-us", optarg, -2000, 2000); break;
        case O_TRUE_V:
            o->true_v_uv_per_mv = (unsigned)parse_double("--true-v-uv-per-mv", optarg, 50000, 5000000);
            break;
        case O_NOISE: o->noise_mv = parse_double("--noise", optarg, 0, 500); break;
        case O_FREQ: o->freq_hz = parse_double("--freq", optarg, 40, 70); break;
        case O_ZERR: o->zero_error_mv = parse_double("--zero-error-mv", optarg, -1000, 1000); break;
        case O_WINDOWS: o->windows = (long)parse_double("--windows", optarg, 0, 1e9); break;
        case O_WMS: o->window_ms = (unsigned)parse_double("--window-ms", optarg, 200, 5000); break;
        case O_RATE: o->sample_rate = (unsigned)parse_double("--sample-rate", optarg, 2000, 20000); has_rate = 1; break;
        case O_AMPS: o->sensor_amps = (unsigned)parse_double("--sensor-amps", optarg, 5, 30); break;
        case O_SENS: o->true_mv_per_a_x10 = (unsigned)parse_double("--true-mv-per-a-x10", optarg, 100, 5000); break;
        case O_BOOT: o->boot_id = (long)parse_double("--boot-id", optarg, 0, 65535); break;
        case O_SEED: o->seed = (unsigned long long)parse_double("--seed", optarg, 0, 1e15); has_seed = 1; break;
        case O_RT: o->realtime = 1; break;
        case O_OUT: o->out_path = optarg; break;
        case O_NVS: o->nvs_path = optarg; break;
        case O_BLE: o->ble_path = optarg; break;
        case O_BLE_EVERY: o->ble_every = (unsigned)parse_double("--ble-every", optarg, 1, 3600); break;
        case O_KEY: o->bind_key = optarg; break;
        case O_NODE:
        case O_BLE_MAC:
            if (parse_mac(optarg, c == O_NODE ? o->node_id : o->ble_mac) != 0) {
                fprintf(stderr, "powernode-host: %s: expected a MAC like a4:cf:12:34:56:78\n", optarg);
                exit(2);
            }
            o->has_ble_mac |= c == O_BLE_MAC;
            break;
        case O_HELP: usage(stdout); exit(0);
        default: usage(stderr); exit(2);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "powernode-host: unexpected argument '%s'\n", argv[optind]);
        exit(2);
    }
    if (o->watts < 0 && !o->voltage) {
        fprintf(stderr, "powernode-host: --watts %g: export needs --voltage-channel (a node without one cannot "
                        "tell the direction)\n", o->watts);
        exit(2);
    }
    if (o->voltage && !has_rate) {
        o->sample_rate = 2000;
    }
    if (o->skew_us < -1000) {
        fprintf(stderr, "powernode-host: --skew-us %g: expected -1000..2000\n", o->skew_us);
        exit(2);
    }
    if (o->skew_us == -1) {
        o->skew_us = o->voltage ? 1e6 / (2.0 * o->sample_rate) : 0;
    }
    if (o->window_ms % 20 != 0 || o->sample_rate % 50 != 0) {
        fprintf(stderr, "powernode-host: --window-ms must be a multiple of 20 and --sample-rate of 50\n");
        exit(2);
    }
    if (!has_seed) {
        FILE *r = fopen("/dev/urandom", "rb");
        if (!r || fread(&o->seed, sizeof o->seed, 1, r) != 1) {
            o->seed = (unsigned long long)time(NULL);
        }
        if (r) {
            fclose(r);
        }
    }
    if (o->boot_id < 0) {
        o->boot_id = (long)((o->seed * 0x9E3779B97F4A7C15ull) >> 48);
    }
    if (!o->has_ble_mac) {
        memcpy(o->ble_mac, o->node_id, 6);
        o->ble_mac[5] = (uint8_t)(o->ble_mac[5] + 2);
    }
}

/* ---------------------------------------------------------------- the NVS stand-in */

typedef struct {
    pg_config cfg;
    int has_cfg;
    int has_phase; /* a state file from before the voltage channel has no phase_cdeg line */
    int has_energy;
    unsigned long long energy_mwh;
    int has_export;
    unsigned long long export_mwh;
    unsigned long ble_counter;
} nvs_state;

static void nvs_load(const char *path, nvs_state *s, uint8_t sensor_amps)
{
    memset(s, 0, sizeof *s);
    pg_config_defaults(&s->cfg, sensor_amps);
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f) {
        return;
    }
    char line[160];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *eq = strchr(line, '=');
        if (!eq) {
            continue;
        }
        *eq = '\0';
        const char *k = line;
        const char *v = eq + 1;
        s->has_cfg = 1;
        if (strcmp(k, "energy_mwh") == 0) {
            s->energy_mwh = strtoull(v, NULL, 10);
            s->has_energy = 1;
        } else if (strcmp(k, "export_mwh") == 0) {
            s->export_mwh = strtoull(v, NULL, 10);
            s->has_export = 1;
        } else if (strcmp(k, "v_uv_per_mv") == 0) {
            s->cfg.v_uv_per_mv = (uint32_t)strtoul(v, NULL, 10);
        } else if (strcmp(k, "v_calibrated") == 0) {
            s->cfg.v_calibrated = atoi(v) != 0;
        } else if (strcmp(k, "phase_cdeg") == 0) {
            s->cfg.phase_cdeg = (int16_t)atoi(v);
            s->has_phase = 1;
        } else if (strcmp(k, "ble_counter") == 0) {
            s->ble_counter = strtoul(v, NULL, 10);
        } else if (strcmp(k, "name") == 0) {
            snprintf(s->cfg.name, sizeof s->cfg.name, "%s", v);
        } else if (strcmp(k, "vnom_dv") == 0) {
            s->cfg.vnom_dv = (uint16_t)atoi(v);
        } else if (strcmp(k, "mv_per_a_x10") == 0) {
            s->cfg.mv_per_a_x10 = (uint16_t)atoi(v);
        } else if (strcmp(k, "pf_x100") == 0) {
            s->cfg.pf_x100 = (uint8_t)atoi(v);
        } else if (strcmp(k, "calibrated") == 0) {
            s->cfg.calibrated = atoi(v) != 0;
        } else if (strcmp(k, "zero_uv") == 0) {
            s->cfg.zero_uv = atoi(v);
        } else if (strcmp(k, "noise_uv") == 0) {
            s->cfg.noise_uv = (uint32_t)strtoul(v, NULL, 10);
        } else if (strcmp(k, "bindkey") == 0 && strlen(v) == 32) {
            for (int i = 0; i < 16; i++) {
                unsigned b;
                sscanf(v + 2 * i, "%2x", &b);
                s->cfg.bindkey[i] = (uint8_t)b;
            }
            s->cfg.has_bindkey = true;
        }
    }
    fclose(f);
}

static void nvs_save(const char *path, const pg_node *n)
{
    if (!path) {
        return;
    }
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, "powernode-host: cannot write %s: %s\n", tmp, strerror(errno));
        return;
    }
    const pg_config *c = &n->cfg;
    fprintf(f, "energy_mwh=%llu\n", (unsigned long long)n->saved_mwh);
    if (n->meter.p.voltage) {
        fprintf(f, "export_mwh=%llu\n", (unsigned long long)n->saved_export_mwh);
    }
    fprintf(f, "ble_counter=%lu\nname=%s\nvnom_dv=%u\nmv_per_a_x10=%u\npf_x100=%u\n",
            (unsigned long)n->ble_counter.reserved_until, c->name, c->vnom_dv, c->mv_per_a_x10, c->pf_x100);
    fprintf(f, "calibrated=%d\nzero_uv=%ld\nnoise_uv=%lu\n", c->calibrated ? 1 : 0, (long)c->zero_uv,
            (unsigned long)c->noise_uv);
    fprintf(f, "v_uv_per_mv=%lu\nv_calibrated=%d\nphase_cdeg=%d\n", (unsigned long)c->v_uv_per_mv,
            c->v_calibrated ? 1 : 0, c->phase_cdeg);
    if (c->has_bindkey) {
        fprintf(f, "bindkey=");
        for (int i = 0; i < 16; i++) {
            fprintf(f, "%02x", c->bindkey[i]);
        }
        fprintf(f, "\n");
    }
    fclose(f);
    rename(tmp, path);
}

/* ---------------------------------------------------------------- I/O */

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

typedef struct {
    pg_node node;
    options *o;
    int fd;
    int is_tty;
    FILE *ble;
    nvs_state nvs;
    uint8_t buf[4096];
    pg_out out;
    int failed;
} host;

static void flush_out(host *h)
{
    if (h->out.len && write_all(h->fd, h->out.data, h->out.len) != 0) {
        h->failed = 1;
    }
    h->out.len = 0;
    h->out.overflow = false;
}

static void act(host *h, unsigned actions)
{
    if (actions & PG_NODE_SAVE_ENERGY) {
        pg_node_energy_saved(&h->node);
    }
    if (actions) {
        nvs_save(h->o->nvs_path, &h->node);
    }
}

/* Feed whatever the port holds to the node, waiting at most `timeout_ms`. */
static void poll_input(host *h, int timeout_ms)
{
    if (!h->is_tty) {
        if (timeout_ms > 0) {
            struct timespec ts = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L};
            nanosleep(&ts, NULL);
        }
        return;
    }
    struct pollfd p = {h->fd, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0 || !(p.revents & POLLIN)) {
        return;
    }
    uint8_t in[512];
    ssize_t n = read(h->fd, in, sizeof in);
    if (n > 0) {
        act(h, pg_node_receive(&h->node, in, (size_t)n, &h->out));
        flush_out(h);
    }
}

static void advertise(host *h)
{
    uint8_t adv[PG_BLE_ADV_MAX];
    unsigned actions = 0;
    size_t n = pg_node_ble_adv(&h->node, h->o->ble_mac, adv, sizeof adv, &actions);
    act(h, actions & PG_NODE_SAVE_BLE_COUNTER);
    if (n == 0) {
        return;
    }
    const uint8_t *m = h->o->ble_mac;
    fprintf(h->ble, "{\"mac\": \"%02X:%02X:%02X:%02X:%02X:%02X\", \"adv\": \"", m[0], m[1], m[2], m[3], m[4], m[5]);
    for (size_t i = 0; i < n; i++) {
        fprintf(h->ble, "%02x", adv[i]);
    }
    /* the service data is what follows the UUID in the last AD structure */
    size_t at = 0;
    while (at < n && adv[at + 1] != 0x16) {
        at += (size_t)adv[at] + 1;
    }
    fprintf(h->ble, "\", \"uuid\": \"0000fcd2-0000-1000-8000-00805f9b34fb\", \"service_data\": \"");
    for (size_t i = at + 4; i < n; i++) {
        fprintf(h->ble, "%02x", adv[i]);
    }
    fprintf(h->ble, "\", \"uptime_ms\": %lu}\n", (unsigned long)h->node.last.uptime_ms);
    fflush(h->ble);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    options o;
    parse_args(argc, argv, &o);
    static host h;
    h.o = &o;
    h.out = (pg_out){h.buf, 0, sizeof h.buf, false};
    nvs_load(o.nvs_path, &h.nvs, (uint8_t)o.sensor_amps);
    /* The board's sampling skew, as the sketch passes it: the factory phase correction. */
    int16_t skew_cdeg = (int16_t)lround(o.skew_us * 1e-6 * 50.0 * 36000.0);
    if (!h.nvs.has_cfg) {
        h.nvs.cfg.vnom_dv = (uint16_t)lround(o.volts * 10);
        h.nvs.cfg.pf_x100 = (uint8_t)lround(o.node_pf * 100);
    }
    if (!h.nvs.has_phase) {
        h.nvs.cfg.phase_cdeg = o.voltage ? skew_cdeg : 0;
    }
    if (o.bind_key) {
        char line[64];
        snprintf(line, sizeof line, "bindkey=%s", o.bind_key);
        char msg[128];
        if (pg_config_apply(&h.nvs.cfg, (const uint8_t *)line, strlen(line), false, NULL, msg, sizeof msg) !=
            PG_CONFIG_APPLIED) {
            fprintf(stderr, "powernode-host: --bind-key: %s\n", msg);
            return 2;
        }
    }
    pg_node_boot boot = {
        .boot_id = (uint16_t)o.boot_id,
        .sensor_amps = (uint8_t)o.sensor_amps,
        .meter = PG_METER_PARAMS_DEFAULT,
        .persist = PG_PERSIST_DEFAULT,
        .stored_config = &h.nvs.cfg,
        .has_stored_energy = h.nvs.has_energy,
        .stored_energy_mwh = h.nvs.energy_mwh,
        .has_stored_export = h.nvs.has_export,
        .stored_export_mwh = h.nvs.export_mwh,
        .default_phase_cdeg = o.voltage ? skew_cdeg : 0,
        .stored_ble_counter = (uint32_t)h.nvs.ble_counter,
    };
    memcpy(boot.node_id, o.node_id, 6);
    boot.meter.sample_rate_hz = (uint16_t)o.sample_rate;
    boot.meter.cycles = (uint8_t)(o.window_ms / 20);
    boot.meter.voltage = o.voltage != 0;
    if (o.window_ms / 20 > 255 || pg_node_init(&h.node, &boot) != 0) {
        fprintf(stderr, "powernode-host: cannot run %u Hz, %u ms windows, a %u A sensor\n", o.sample_rate, o.window_ms,
                o.sensor_amps);
        return 2;
    }

    pg_synth s;
    pg_synth_defaults(&s, o.seed);
    s.sample_rate_hz = o.sample_rate;
    s.freq_hz = o.freq_hz;
    s.noise_mv = o.noise_mv;
    s.zero_error_mv = o.zero_error_mv;
    /* The load: |watts| of real power at the load's power factor, the current lagging; exporting
     * turns the current round. */
    s.irms_a = fabs(o.watts) / (o.volts * o.pf);
    s.phase_rad = -acos(o.pf) + (o.watts < 0 ? 3.14159265358979323846 : 0.0);
    s.vrms_v = o.volts;
    s.zmpt_lead_deg = o.zmpt_lead_deg;
    s.skew_s = o.skew_us * 1e-6;
    unsigned true_v = o.true_v_uv_per_mv ? o.true_v_uv_per_mv : PG_V_UV_PER_MV_DEFAULT;
    s.zmpt_mv_per_v = s.v_divider_gain * 1e6 / true_v;
    unsigned true_sens = o.true_mv_per_a_x10 ? o.true_mv_per_a_x10 : pg_acs712_mv_per_a_x10((uint8_t)o.sensor_amps);
    s.sens_mv_per_a = true_sens / 10.0;

    h.fd = STDOUT_FILENO;
    if (o.out_path) {
        h.fd = open(o.out_path, O_RDWR | O_NOCTTY);
        if (h.fd < 0) {
            h.fd = open(o.out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        }
        if (h.fd < 0) {
            fprintf(stderr, "powernode-host: cannot open %s: %s\n", o.out_path, strerror(errno));
            return 1;
        }
    }
    h.is_tty = isatty(h.fd);
    if (h.is_tty) {
        struct termios t;
        if (tcgetattr(h.fd, &t) == 0) {
            cfmakeraw(&t); /* frames are binary: no CR/LF translation, no echo */
            cfsetspeed(&t, B115200);
            tcsetattr(h.fd, TCSANOW, &t);
        }
    }
    if (o.ble_path) {
        h.ble = fopen(o.ble_path, "w");
        if (!h.ble) {
            fprintf(stderr, "powernode-host: cannot open %s: %s\n", o.ble_path, strerror(errno));
            return 1;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    pg_node_start(&h.node, &h.out);
    flush_out(&h);
    uint16_t *samples = malloc(h.node.meter.window_samples * sizeof *samples);
    uint16_t *volts = malloc(h.node.meter.window_samples * sizeof *volts);
    if (!samples || !volts) {
        return 1;
    }
    uint32_t uptime_ms = 350; /* roughly when an ESP32 finishes booting */
    double deadline = now_s();
    long done = 0;
    while (!g_stop && !h.failed && (o.windows == 0 || done < o.windows)) {
        if (o.realtime) {
            deadline += o.window_ms / 1000.0;
            double left;
            while (!g_stop && (left = deadline - now_s()) > 0) {
                poll_input(&h, (int)ceil(left * 1000));
            }
        } else {
            poll_input(&h, 0);
        }
        if (o.voltage) {
            pg_synth_fill_iv(&s, samples, volts, h.node.meter.window_samples);
            pg_meter_feed_iv(&h.node.meter, samples, volts, h.node.meter.window_samples);
        } else {
            pg_synth_fill(&s, samples, h.node.meter.window_samples);
            pg_meter_feed(&h.node.meter, samples, h.node.meter.window_samples);
        }
        uptime_ms += o.window_ms;
        act(&h, pg_node_window(&h.node, uptime_ms, o.window_ms, &h.out));
        flush_out(&h);
        done++;
        if (h.ble && done % o.ble_every == 0) {
            advertise(&h);
        }
    }
    free(samples);
    free(volts);
    if (h.ble) {
        fclose(h.ble);
    }
    fprintf(stderr, "energy_mwh=%llu export_mwh=%llu windows=%ld frames=%lu boot_id=%u\n",
            (unsigned long long)h.node.meter.energy_mwh, (unsigned long long)h.node.meter.export_mwh, done,
            (unsigned long)h.node.h.seq, (unsigned)h.node.h.boot_id);
    return h.failed ? 1 : 0;
}
