#include "nvs_store.h"

#include <Preferences.h>

static Preferences s_prefs;
// The settings are stored as the struct's bytes. pg_config_load reads the layout of this firmware
// and of earlier ones (their fields kept, new ones at factory settings); a blob of any other length
// gives factory settings rather than being misread.
static const char *KEY_CFG = "cfg";
static const char *KEY_ENERGY = "energy";
static const char *KEY_EXPORT = "export";
static const char *KEY_BLE = "blectr";

void nvs_begin(StoredState *out, uint8_t sensor_amps, int16_t factory_phase_cdeg)
{
    s_prefs.begin("powernode", false);
    uint8_t blob[PG_CONFIG_BLOB_MAX];
    size_t len = s_prefs.getBytesLength(KEY_CFG);
    if (len == 0 || len > sizeof blob || s_prefs.getBytes(KEY_CFG, blob, len) != len) {
        len = 0;
    }
    out->has_cfg = pg_config_load(&out->cfg, blob, len, sensor_amps, factory_phase_cdeg) != PG_CONFIG_LAYOUT_UNKNOWN;
    out->has_energy = s_prefs.isKey(KEY_ENERGY);
    out->energy_mwh = s_prefs.getULong64(KEY_ENERGY, 0);
    out->has_export = s_prefs.isKey(KEY_EXPORT);
    out->export_mwh = s_prefs.getULong64(KEY_EXPORT, 0);
    out->ble_counter = s_prefs.getUInt(KEY_BLE, 0);
}

bool nvs_save_energy(uint64_t energy_mwh)
{
    return s_prefs.putULong64(KEY_ENERGY, energy_mwh) == sizeof(uint64_t);
}

bool nvs_save_export(uint64_t export_mwh)
{
    return s_prefs.putULong64(KEY_EXPORT, export_mwh) == sizeof(uint64_t);
}

bool nvs_save_config(const pg_config *cfg)
{
    return s_prefs.putBytes(KEY_CFG, cfg, sizeof(pg_config)) == sizeof(pg_config);
}

bool nvs_save_ble_counter(uint32_t reserved_until)
{
    return s_prefs.putUInt(KEY_BLE, reserved_until) == sizeof(uint32_t);
}
