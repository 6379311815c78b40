/* The node's settings (what is kept in NVS) and the CONFIG `key=value` line that changes them. */
#ifndef PG_CONFIG_H
#define PG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pg_frame.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PG_BINDKEY_LEN 16

typedef struct {
    char name[PG_NAME_MAX + 1];     /* UTF-8, NUL-terminated */
    uint16_t vnom_dv;               /* nominal mains voltage, 0.1 V */
    uint16_t mv_per_a_x10;          /* sensor sensitivity, 0.1 mV/A at the sensor's output */
    uint8_t pf_x100;                /* power factor assumed for real power, 0.01 */
    bool calibrated;                /* mv_per_a_x10 came from a known-load calibration */
    int32_t zero_uv;                /* zero-current level at the ADC pin, uV; 0 = not taken */
    uint32_t noise_uv;              /* RMS noise at zero current at the ADC pin, uV */
    bool has_bindkey;               /* BTHome advertisements are encrypted with bindkey */
    uint8_t bindkey[PG_BINDKEY_LEN];
    uint32_t v_uv_per_mv;           /* voltage channel: mains uV per ADC-pin mV */
    bool v_calibrated;              /* v_uv_per_mv came from `vcal_dv` */
    int16_t phase_cdeg;             /* voltage channel: phase correction, 0.01 degree */
} pg_config;

/* The settings as firmware before the voltage channel stored them in NVS (68 bytes on the ESP32,
 * x86-64 and i386 alike): pg_config without v_uv_per_mv, v_calibrated and phase_cdeg. Its types,
 * sizes and order are frozen (pg_config.c asserts each offset); the flags are bytes, so a stored
 * byte other than 0 or 1 is read, not undefined. When pg_config changes again, freeze the
 * layout it had as pg_config_v2 and add a row to the table in pg_config_load. */
typedef struct {
    char name[33];
    uint16_t vnom_dv;
    uint16_t mv_per_a_x10;
    uint8_t pf_x100;
    uint8_t calibrated;
    int32_t zero_uv;
    uint32_t noise_uv;
    uint8_t has_bindkey;
    uint8_t bindkey[16];
} pg_config_v1;

/* The largest stored settings blob of any layout pg_config_load knows. */
#define PG_CONFIG_BLOB_MAX 128

typedef enum {
    PG_CONFIG_LAYOUT_UNKNOWN = 0, /* a length no layout has: factory settings */
    PG_CONFIG_LAYOUT_V1,          /* pg_config_v1: the voltage fields at factory settings */
    PG_CONFIG_LAYOUT_CURRENT      /* pg_config as this firmware stores it */
} pg_config_layout;

/* A ZMPT101B module on 5 V trimmed to 0.70 V RMS at 230 V, behind a 10k/20k divider: 230 V reads
 * 469 mV RMS at the ADC pin, i.e. 0.49 V of mains per pin mV. */
#define PG_V_UV_PER_MV_DEFAULT 490000u
#define PG_PHASE_CDEG_LIMIT 1000

/* Datasheet sensitivity of an ACS712 variant (5, 20 or 30 A) in 0.1 mV/A; 0 for others. */
uint16_t pg_acs712_mv_per_a_x10(uint8_t sensor_amps);

/* Factory settings: 230.0 V, power factor 1.00, the variant's datasheet sensitivity, the
 * voltage module's nominal ratio, no phase correction. */
void pg_config_defaults(pg_config *cfg, uint8_t sensor_amps);

/* Settings from a stored blob of `len` bytes (`blob` may be NULL when `len` is 0): the current
 * layout as stored, an older one with the fields it lacks at factory settings (the phase
 * correction at `factory_phase_cdeg`, what the node uses without stored settings), any other
 * length as factory settings. The name is NUL-terminated and the flags read as 0 or 1 whatever
 * the bytes hold. Returns which layout the blob had. */
pg_config_layout pg_config_load(pg_config *cfg, const void *blob, size_t len, uint8_t sensor_amps,
                                int16_t factory_phase_cdeg);

typedef enum {
    PG_CONFIG_APPLIED = 0, /* cfg changed; store it */
    PG_CONFIG_ZERO_NOW,    /* `zero=now`: the caller takes the zero from the meter */
    PG_CONFIG_VCAL,        /* `vcal_dv=N`: the caller scales the voltage so it reads *arg dV */
    PG_CONFIG_PCAL,        /* `pcal=now`: the caller sets the phase so the last window's PF is 1 */
    PG_CONFIG_BAD_SYNTAX,  /* not `key=value`, not UTF-8, too long */
    PG_CONFIG_BAD_KEY,
    PG_CONFIG_BAD_VALUE
} pg_config_status;

/* Apply one CONFIG line to `cfg`. On any error `cfg` is untouched. `msg` receives the text of
 * the LOG answer: what was applied, or the key, the value and what would be accepted. The bind
 * key is never echoed. The voltage keys are refused when `voltage` is false; `arg` (may be NULL
 * otherwise) receives the value of `vcal_dv`. */
pg_config_status pg_config_apply(pg_config *cfg, const uint8_t *line, size_t len, bool voltage, uint32_t *arg,
                                 char *msg, size_t msg_cap);

/* True when `len` bytes are well-formed UTF-8 without control characters. */
bool pg_utf8_printable(const uint8_t *s, size_t len);

#ifdef __cplusplus
}
#endif

#endif
