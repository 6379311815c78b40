/* The node's behaviour, independent of the board: frame sequencing, HELLO schedule, CONFIG
 * handling, flags, when to persist, what to advertise. The Arduino sketch and the host build
 * both drive this; they only move bytes and samples in and out. */
#ifndef PG_NODE_H
#define PG_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pg_bthome.h"
#include "pg_config.h"
#include "pg_frame.h"
#include "pg_meter.h"
#include "pg_persist.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PG_FW_MAJOR 1
#define PG_FW_MINOR 0
#define PG_HELLO_INTERVAL_MS 60000u
/* `zero=now` is refused when the last window carried more than this: a load is on. */
#define PG_ZERO_MAX_MA 250u
/* `pcal=now` needs at least this much real power to measure a phase; `vcal_dv` this much voltage. */
#define PG_PCAL_MIN_W 20.0
#define PG_VCAL_MIN_V 50.0

/* Bytes for the port: every function appends whole wire frames (COBS + 0x00) here. */
typedef struct {
    uint8_t *data;
    size_t len;
    size_t cap;
    bool overflow; /* a frame did not fit and was not sent (its seq was not used) */
} pg_out;

/* What the caller must write to NVS after a call returns (before advertising, for the counter). */
#define PG_NODE_SAVE_ENERGY 1u      /* meter.energy_mwh (and meter.export_mwh with a voltage channel),
                                     * then call pg_node_energy_saved */
#define PG_NODE_SAVE_CONFIG 2u      /* pg_node.cfg */
#define PG_NODE_SAVE_BLE_COUNTER 4u /* pg_node.ble_counter.reserved_until */

typedef struct {
    uint8_t node_id[6];
    uint16_t boot_id;    /* from the hardware RNG */
    uint8_t sensor_amps; /* ACS712 variant: 5, 20 or 30 */
    pg_meter_params meter;
    pg_persist_policy persist;
    const pg_config *stored_config; /* NULL: factory settings */
    bool has_stored_energy;
    uint64_t stored_energy_mwh;
    bool has_stored_export; /* voltage channel: the export counter was in flash too */
    uint64_t stored_export_mwh;
    uint32_t stored_ble_counter;
    /* Factory phase correction (no stored settings): the board's known sampling skew. */
    int16_t default_phase_cdeg;
} pg_node_boot;

typedef struct {
    pg_header h;
    uint8_t sensor_amps;
    pg_config cfg;
    pg_meter meter;
    pg_persist_policy persist;
    uint64_t saved_mwh;
    uint64_t saved_export_mwh;
    uint32_t since_save_ms;
    uint32_t since_hello_ms;
    bool restored;
    bool was_saturated;
    pg_rx rx;
    uint32_t rx_rejected;
    pg_frame_status rx_last_reason;
    bool has_reading;
    pg_reading last;
    pg_window last_window;
    uint8_t ble_packet_id;
    pg_bthome_counter ble_counter;
} pg_node;

/* Returns 0, or -1 when the meter parameters or the sensor variant are invalid. */
int pg_node_init(pg_node *n, const pg_node_boot *boot);
/* The boot HELLO and a LOG saying where the energy counter starts. */
void pg_node_start(pg_node *n, pg_out *out);
/* Close the meter's window ending at `uptime_ms` after `elapsed_ms` (0: nominal): a READING
 * (READING_BIDIR with a voltage channel), then a HELLO when one is due, and LOG lines for new
 * saturation or bad received frames.
 * Returns PG_NODE_SAVE_* bits. */
unsigned pg_node_window(pg_node *n, uint32_t uptime_ms, uint32_t elapsed_ms, pg_out *out);
/* Bytes from the port: CONFIG frames are applied and answered with a LOG and a HELLO. */
unsigned pg_node_receive(pg_node *n, const uint8_t *bytes, size_t len, pg_out *out);
/* A LOG frame from the board glue (dropped samples, a failed flash write). */
void pg_node_log(pg_node *n, uint8_t level, const char *text, pg_out *out);
/* The caller has written meter.energy_mwh (and meter.export_mwh) to flash. */
void pg_node_energy_saved(pg_node *n);
/* BTHome advertising data for the last READING (plain, or encrypted when a bind key is set);
 * `ble_mac` is the BLE address as printed. Returns its length (0 before the first READING) and
 * ORs PG_NODE_SAVE_BLE_COUNTER into *actions when a counter block must be stored first. */
size_t pg_node_ble_adv(pg_node *n, const uint8_t ble_mac[6], uint8_t *adv, size_t cap, unsigned *actions);

#ifdef __cplusplus
}
#endif

#endif
