#include "nvs_store.h"

#include <Preferences.h>

static Preferences s_prefs;
// The settings are stored as the struct's bytes; a firmware whose pg_config has another size
// starts from factory settings rather than misreading them.
static const char *KEY_CFG = "cfg";
static const char *KEY_ENERGY = "energy";
static const char *KEY_EXPORT = "export";
static const char *KEY_BLE = "blectr";

void nvs_begin(StoredState *out)
{
    s_prefs.begin("powernode", false);
    out->has_cfg = s_prefs.getBytesLength(KEY_CFG) == sizeof(pg_config) &&
                   s_prefs.getBytes(KEY_CFG, &out->cfg, sizeof(pg_config)) == sizeof(pg_config);
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
