#include "pg_config.h"

#include <stdio.h>
#include <string.h>

uint16_t pg_acs712_mv_per_a_x10(uint8_t sensor_amps)
{
    switch (sensor_amps) {
    case 5:
        return 1850;
    case 20:
        return 1000;
    case 30:
        return 660;
    default:
        return 0;
    }
}

void pg_config_defaults(pg_config *cfg, uint8_t sensor_amps)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->vnom_dv = 2300;
    cfg->mv_per_a_x10 = pg_acs712_mv_per_a_x10(sensor_amps);
    cfg->pf_x100 = 100;
    cfg->v_uv_per_mv = PG_V_UV_PER_MV_DEFAULT;
}

/* The stored layouts are the bytes of these structs on the node, so their layout is part of the
 * format: these fail the build when a change would misread what a node has in flash. */
_Static_assert(sizeof(bool) == 1, "a stored flag is one byte");
_Static_assert(offsetof(pg_config_v1, vnom_dv) == 34 && offsetof(pg_config_v1, mv_per_a_x10) == 36 &&
                   offsetof(pg_config_v1, pf_x100) == 38 && offsetof(pg_config_v1, calibrated) == 39 &&
                   offsetof(pg_config_v1, zero_uv) == 40 && offsetof(pg_config_v1, noise_uv) == 44 &&
                   offsetof(pg_config_v1, has_bindkey) == 48 && offsetof(pg_config_v1, bindkey) == 49 &&
                   sizeof(pg_config_v1) == 68,
               "pg_config_v1 is the layout firmware before the voltage channel stored; it must not change");
_Static_assert(sizeof(pg_config) == 76,
               "pg_config changed: freeze its previous layout as pg_config_vN and add it to LAYOUTS");
_Static_assert(sizeof(pg_config) != sizeof(pg_config_v1), "layouts are told apart by length");
_Static_assert(sizeof(((pg_config *)0)->name) >= sizeof(((pg_config_v1 *)0)->name), "a v1 name fits");
_Static_assert(sizeof(pg_config) <= PG_CONFIG_BLOB_MAX && sizeof(pg_config_v1) <= PG_CONFIG_BLOB_MAX,
               "PG_CONFIG_BLOB_MAX holds every layout");

static void load_current(pg_config *cfg, const uint8_t *blob)
{
    static const size_t flags[] = {offsetof(pg_config, calibrated), offsetof(pg_config, has_bindkey),
                                   offsetof(pg_config, v_calibrated)};
    uint8_t raw[sizeof(pg_config)];
    memcpy(raw, blob, sizeof raw);
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        raw[flags[i]] = raw[flags[i]] != 0;
    }
    memcpy(cfg, raw, sizeof raw);
}

/* `cfg` holds the factory settings; the fields v1 had are taken from the blob. */
static void load_v1(pg_config *cfg, const uint8_t *blob)
{
    pg_config_v1 v1;
    memcpy(&v1, blob, sizeof v1);
    memcpy(cfg->name, v1.name, sizeof v1.name);
    cfg->vnom_dv = v1.vnom_dv;
    cfg->mv_per_a_x10 = v1.mv_per_a_x10;
    cfg->pf_x100 = v1.pf_x100;
    cfg->calibrated = v1.calibrated != 0;
    cfg->zero_uv = v1.zero_uv;
    cfg->noise_uv = v1.noise_uv;
    cfg->has_bindkey = v1.has_bindkey != 0;
    memcpy(cfg->bindkey, v1.bindkey, sizeof cfg->bindkey);
}

typedef struct {
    size_t len;
    pg_config_layout layout;
    void (*load)(pg_config *cfg, const uint8_t *blob);
} stored_layout;

/* Every layout a node may have in flash, told apart by length (asserted distinct above). */
static const stored_layout LAYOUTS[] = {
    {sizeof(pg_config), PG_CONFIG_LAYOUT_CURRENT, load_current},
    {sizeof(pg_config_v1), PG_CONFIG_LAYOUT_V1, load_v1},
};

pg_config_layout pg_config_load(pg_config *cfg, const void *blob, size_t len, uint8_t sensor_amps,
                                int16_t factory_phase_cdeg)
{
    pg_config_defaults(cfg, sensor_amps);
    cfg->phase_cdeg = factory_phase_cdeg;
    for (size_t i = 0; i < sizeof LAYOUTS / sizeof LAYOUTS[0]; i++) {
        if (blob != NULL && len == LAYOUTS[i].len) {
            LAYOUTS[i].load(cfg, (const uint8_t *)blob);
            cfg->name[PG_NAME_MAX] = '\0';
            return LAYOUTS[i].layout;
        }
    }
    return PG_CONFIG_LAYOUT_UNKNOWN;
}

bool pg_utf8_printable(const uint8_t *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t c = s[i];
        size_t extra;
        uint32_t cp;
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7F) {
                return false;
            }
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            extra = 1;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            extra = 2;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            extra = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + extra >= len) {
            return false;
        }
        for (size_t k = 1; k <= extra; k++) {
            if ((s[i + k] & 0xC0) != 0x80) {
                return false;
            }
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        static const uint32_t min_cp[] = {0, 0x80, 0x800, 0x10000};
        if (cp < min_cp[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || (cp >= 0x80 && cp < 0xA0)) {
            return false;
        }
        i += extra + 1;
    }
    return true;
}

/* A decimal integer of at most 6 digits, no sign, no spaces. */
static bool parse_uint(const char *v, size_t n, uint32_t *out)
{
    if (n == 0 || n > 6) {
        return false;
    }
    uint32_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9') {
            return false;
        }
        x = x * 10 + (uint32_t)(v[i] - '0');
    }
    *out = x;
    return true;
}

/* A decimal integer of at most 6 digits, an optional leading '-', no spaces. */
static bool parse_int(const char *v, size_t n, int32_t *out)
{
    bool neg = n > 0 && v[0] == '-';
    uint32_t x;
    if (!parse_uint(v + neg, n - neg, &x)) {
        return false;
    }
    *out = neg ? -(int32_t)x : (int32_t)x;
    return true;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

typedef struct {
    const char *key;
    uint32_t min;
    uint32_t max;
    const char *unit;
} int_key;

/* The integer settings: name, accepted range and what the unit means, for the messages. */
static const int_key INT_KEYS[] = {
    {"vnom_dv", 900, 2700, "nominal voltage in 0.1 V (900..2700 = 90.0..270.0 V)"},
    {"mv_per_a_x10", 100, 5000, "sensor sensitivity in 0.1 mV/A (ACS712: 1850, 1000, 660)"},
    {"pf_x100", 1, 100, "power factor in 0.01 (1..100)"},
};

static void set_int(pg_config *cfg, const char *key, uint32_t v)
{
    if (strcmp(key, "vnom_dv") == 0) {
        cfg->vnom_dv = (uint16_t)v;
    } else if (strcmp(key, "mv_per_a_x10") == 0) {
        cfg->mv_per_a_x10 = (uint16_t)v;
        cfg->calibrated = true;
    } else {
        cfg->pf_x100 = (uint8_t)v;
    }
}

/* The keys of the voltage channel: `vcal_dv=N`, `pcal=now`, `phase_cdeg=N`; anything else is
 * PG_CONFIG_BAD_KEY with msg untouched. */
static pg_config_status voltage_key(pg_config *cfg, const char *key, const char *value, bool voltage, uint32_t *arg,
                                    char *msg, size_t msg_cap)
{
    bool known = strcmp(key, "vcal_dv") == 0 || strcmp(key, "pcal") == 0 || strcmp(key, "phase_cdeg") == 0;
    if (!known) {
        return PG_CONFIG_BAD_KEY;
    }
    if (!voltage) {
        snprintf(msg, msg_cap, "rejected %s: this node has no voltage channel (flag bit 2: voltage is nominal)", key);
        return PG_CONFIG_BAD_VALUE;
    }
    size_t vlen = strlen(value);
    if (strcmp(key, "pcal") == 0) {
        if (strcmp(value, "now") != 0) {
            snprintf(msg, msg_cap, "rejected pcal=%.40s: expected pcal=now, with a resistive load on", value);
            return PG_CONFIG_BAD_VALUE;
        }
        snprintf(msg, msg_cap, "pcal=now");
        return PG_CONFIG_PCAL;
    }
    if (strcmp(key, "vcal_dv") == 0) {
        uint32_t v;
        if (!parse_uint(value, vlen, &v) || v < 900 || v > 2700) {
            snprintf(msg, msg_cap,
                     "rejected vcal_dv=%.20s: expected an integer 900..2700, the mains voltage now in 0.1 V", value);
            return PG_CONFIG_BAD_VALUE;
        }
        if (arg) {
            *arg = v;
        }
        snprintf(msg, msg_cap, "vcal_dv=%u", (unsigned)v);
        return PG_CONFIG_VCAL;
    }
    int32_t p;
    if (!parse_int(value, vlen, &p) || p < -PG_PHASE_CDEG_LIMIT || p > PG_PHASE_CDEG_LIMIT) {
        snprintf(msg, msg_cap, "rejected phase_cdeg=%.20s: expected an integer -%d..%d, the correction in 0.01 degree",
                 value, PG_PHASE_CDEG_LIMIT, PG_PHASE_CDEG_LIMIT);
        return PG_CONFIG_BAD_VALUE;
    }
    cfg->phase_cdeg = (int16_t)p;
    snprintf(msg, msg_cap, "applied phase_cdeg=%d", (int)p);
    return PG_CONFIG_APPLIED;
}

pg_config_status pg_config_apply(pg_config *cfg, const uint8_t *line, size_t len, bool voltage, uint32_t *arg,
                                 char *msg, size_t msg_cap)
{
    /* A trailing newline from a hand-typed line is not part of the value. */
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
        len--;
    }
    if (len == 0 || len > PG_CONFIG_LINE_MAX || !pg_utf8_printable(line, len)) {
        snprintf(msg, msg_cap, "rejected config: expected one printable UTF-8 key=value line of 1..%d bytes",
                 PG_CONFIG_LINE_MAX);
        return PG_CONFIG_BAD_SYNTAX;
    }
    char text[PG_CONFIG_LINE_MAX + 1];
    memcpy(text, line, len);
    text[len] = '\0';
    char *eq = strchr(text, '=');
    if (eq == NULL || eq == text) {
        snprintf(msg, msg_cap, "rejected config '%.64s': expected key=value", text);
        return PG_CONFIG_BAD_SYNTAX;
    }
    *eq = '\0';
    const char *key = text;
    const char *value = eq + 1;
    size_t vlen = strlen(value);

    if (strcmp(key, "name") == 0) {
        if (vlen > PG_NAME_MAX) {
            snprintf(msg, msg_cap, "rejected name of %u bytes: expected 0..%d bytes of UTF-8", (unsigned)vlen,
                     PG_NAME_MAX);
            return PG_CONFIG_BAD_VALUE;
        }
        memcpy(cfg->name, value, vlen + 1);
        snprintf(msg, msg_cap, "applied name=%s", cfg->name);
        return PG_CONFIG_APPLIED;
    }
    if (strcmp(key, "zero") == 0) {
        if (strcmp(value, "now") != 0) {
            snprintf(msg, msg_cap, "rejected zero=%.40s: expected zero=now", value);
            return PG_CONFIG_BAD_VALUE;
        }
        snprintf(msg, msg_cap, "zero=now");
        return PG_CONFIG_ZERO_NOW;
    }
    if (strcmp(key, "bindkey") == 0) {
        if (strcmp(value, "none") == 0) {
            cfg->has_bindkey = false;
            memset(cfg->bindkey, 0, sizeof cfg->bindkey);
            snprintf(msg, msg_cap, "applied bindkey=none: BTHome advertisements are not encrypted");
            return PG_CONFIG_APPLIED;
        }
        uint8_t key_bytes[PG_BINDKEY_LEN];
        bool ok = vlen == 2 * PG_BINDKEY_LEN;
        for (size_t i = 0; ok && i < PG_BINDKEY_LEN; i++) {
            int hi = hex_digit(value[2 * i]);
            int lo = hex_digit(value[2 * i + 1]);
            ok = hi >= 0 && lo >= 0;
            key_bytes[i] = (uint8_t)(hi << 4 | lo);
        }
        if (!ok) {
            snprintf(msg, msg_cap, "rejected bindkey: expected 32 hex digits or 'none'");
            return PG_CONFIG_BAD_VALUE;
        }
        memcpy(cfg->bindkey, key_bytes, sizeof key_bytes);
        cfg->has_bindkey = true;
        snprintf(msg, msg_cap, "applied bindkey: BTHome advertisements are encrypted");
        return PG_CONFIG_APPLIED;
    }
    for (size_t i = 0; i < sizeof INT_KEYS / sizeof INT_KEYS[0]; i++) {
        const int_key *k = &INT_KEYS[i];
        if (strcmp(key, k->key) != 0) {
            continue;
        }
        uint32_t v;
        if (!parse_uint(value, vlen, &v) || v < k->min || v > k->max) {
            snprintf(msg, msg_cap, "rejected %s=%.20s: expected an integer %u..%u, %s", k->key, value,
                     (unsigned)k->min, (unsigned)k->max, k->unit);
            return PG_CONFIG_BAD_VALUE;
        }
        set_int(cfg, k->key, v);
        snprintf(msg, msg_cap, "applied %s=%u", k->key, (unsigned)v);
        return PG_CONFIG_APPLIED;
    }
    pg_config_status st = voltage_key(cfg, key, value, voltage, arg, msg, msg_cap);
    if (st != PG_CONFIG_BAD_KEY) {
        return st;
    }
    snprintf(msg, msg_cap,
             "rejected unknown key '%.32s': accepted name, vnom_dv, mv_per_a_x10, pf_x100, zero, bindkey, vcal_dv, "
             "pcal, phase_cdeg",
             key);
    return PG_CONFIG_BAD_KEY;
}
