// powergw node: ESP32 + ACS712 (+ optional ZMPT101B). Measures current (and voltage, real power
// and export), sends protocol frames over USB serial and BTHome v2 over BLE. All logic is in src/core (tested on a PC); this file only wires the
// board to it: ADC samples in, serial bytes in and out, flash, radio, watchdog.
#include <esp_system.h>
#include <esp_task_wdt.h>
#if __has_include(<esp_mac.h>)
#include <esp_mac.h> // ESP-IDF 5 moved esp_read_mac here
#endif

#include "ble_adv.h"
#include "board.h"
#include "nvs_store.h"
#include "sampler.h"
#include "src/core/pg_node.h"

static pg_node node;
static uint8_t out_buf[2048];
static pg_out out = {out_buf, 0, sizeof out_buf, false};
static QueueHandle_t samples;
static uint8_t ble_mac[6];
static uint32_t window_start_ms;
static uint32_t windows;
static uint32_t dropped_reported;

static void watchdog_begin()
{
#if ESP_IDF_VERSION_MAJOR >= 5
    esp_task_wdt_config_t c = {.timeout_ms = WATCHDOG_S * 1000, .idle_core_mask = 0, .trigger_panic = true};
    if (esp_task_wdt_reconfigure(&c) != ESP_OK) {
        esp_task_wdt_init(&c);
    }
#else
    esp_task_wdt_init(WATCHDOG_S, true); // reconfigures the watchdog the core already started
#endif
    esp_task_wdt_add(nullptr);
}

static void flush_serial()
{
    if (out.len) {
        Serial.write(out.data, out.len);
    }
    out.len = 0;
    out.overflow = false;
}

// Do what the core asked for; false when a flash write failed (and say so in a LOG frame).
static bool save(unsigned actions)
{
    bool ok = true;
    if (actions & PG_NODE_SAVE_ENERGY) {
        if (nvs_save_energy(node.meter.energy_mwh) && (!HAS_VOLTAGE || nvs_save_export(node.meter.export_mwh))) {
            pg_node_energy_saved(&node);
        } else {
            ok = false;
            pg_node_log(&node, PG_LOG_ERROR, "nvs: energy counters not saved", &out);
        }
    }
    if ((actions & PG_NODE_SAVE_CONFIG) && !nvs_save_config(&node.cfg)) {
        ok = false;
        pg_node_log(&node, PG_LOG_ERROR, "nvs: settings not saved", &out);
    }
    if ((actions & PG_NODE_SAVE_BLE_COUNTER) && !nvs_save_ble_counter(node.ble_counter.reserved_until)) {
        ok = false;
        pg_node_log(&node, PG_LOG_ERROR, "nvs: BTHome counter not reserved; not advertising", &out);
    }
    return ok;
}

void setup()
{
    Serial.begin(SERIAL_BAUD);
    watchdog_begin();
    ble_begin(); // the radio on first makes esp_random() a true RNG

    const int16_t factory_phase_cdeg = HAS_VOLTAGE ? VOLTAGE_SKEW_CDEG : 0;
    StoredState stored;
    nvs_begin(&stored, SENSOR_AMPS, factory_phase_cdeg);
    pg_node_boot boot = {};
    esp_efuse_mac_get_default(boot.node_id);
    esp_read_mac(ble_mac, ESP_MAC_BT);
    boot.boot_id = (uint16_t)esp_random();
    boot.sensor_amps = SENSOR_AMPS;
    const pg_meter_params meter = PG_METER_PARAMS_DEFAULT;
    const pg_persist_policy persist = PG_PERSIST_DEFAULT;
    boot.meter = meter;
    boot.meter.sample_rate_hz = HAS_VOLTAGE ? SAMPLE_RATE_VOLTAGE_HZ : SAMPLE_RATE_HZ;
    boot.meter.voltage = HAS_VOLTAGE;
    boot.default_phase_cdeg = factory_phase_cdeg;
    boot.meter.mains_hz = MAINS_HZ;
    boot.meter.cycles = CYCLES_PER_WINDOW;
    boot.meter.divider_top_ohm = DIVIDER_TOP_OHM;
    boot.meter.divider_bottom_ohm = DIVIDER_BOTTOM_OHM;
    boot.persist = persist;
    boot.stored_config = stored.has_cfg ? &stored.cfg : nullptr;
    boot.has_stored_energy = stored.has_energy;
    boot.stored_energy_mwh = stored.energy_mwh;
    boot.has_stored_export = stored.has_export;
    boot.stored_export_mwh = stored.export_mwh;
    boot.stored_ble_counter = stored.ble_counter;
    if (pg_node_init(&node, &boot) != 0) {
        for (;;) {
            delay(1000); // board.h is inconsistent; the watchdog restarts us and the LOG is absent
        }
    }
    pg_node_start(&node, &out);
    flush_serial();
    uint16_t rate = HAS_VOLTAGE ? SAMPLE_RATE_VOLTAGE_HZ : SAMPLE_RATE_HZ;
    samples = sampler_begin(PIN_SENSOR, HAS_VOLTAGE ? PIN_VOLTAGE : -1, rate, rate / MAINS_HZ);
    window_start_ms = millis();
}

static void finish_window()
{
    uint32_t now = millis();
    // Measured, not nominal: samples missed while flash was busy make a window longer, and the
    // energy must cover the real time.
    save(pg_node_window(&node, now, now - window_start_ms, &out));
    window_start_ms = now;
    uint32_t dropped = sampler_dropped();
    if (dropped != dropped_reported) {
        char text[64];
        snprintf(text, sizeof text, "sampler: %lu sample blocks dropped since boot", (unsigned long)dropped);
        pg_node_log(&node, PG_LOG_WARNING, text, &out);
        dropped_reported = dropped;
    }
    if (++windows % BLE_EVERY_WINDOWS == 0) {
        uint8_t adv[PG_BLE_ADV_MAX];
        unsigned actions = 0;
        size_t n = pg_node_ble_adv(&node, ble_mac, adv, sizeof adv, &actions);
        // The counter block must be in flash before an advert uses it: a reboot must never
        // repeat a nonce under the same key.
        if (save(actions) && n) {
            ble_advertise(adv, n);
        }
    }
}

// The block's samples from `from` on into the meter; returns how many it took.
static size_t feed(const SampleBlock *block, size_t from)
{
    if (HAS_VOLTAGE) {
        return pg_meter_feed_iv(&node.meter, block->mv + from, block->v + from, block->n - from);
    }
    return pg_meter_feed(&node.meter, block->mv + from, block->n - from);
}

void loop()
{
    esp_task_wdt_reset();
    SampleBlock block;
    if (xQueueReceive(samples, &block, pdMS_TO_TICKS(100)) == pdTRUE) {
        size_t used = feed(&block, 0);
        if (pg_meter_window_full(&node.meter)) {
            finish_window();
            feed(&block, used);
        }
    }
    uint8_t in[64];
    size_t n = 0;
    while (n < sizeof in && Serial.available() > 0) {
        in[n++] = (uint8_t)Serial.read();
    }
    if (n) {
        save(pg_node_receive(&node, in, n, &out));
    }
    flush_serial();
}
