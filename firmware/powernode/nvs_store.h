// The node's flash: energy counters (import, and export with a voltage channel), settings and the
// BTHome counter reservation, via Preferences.
#pragma once

#include "src/core/pg_node.h"

struct StoredState {
    pg_config cfg;
    bool has_cfg;
    bool has_energy;
    uint64_t energy_mwh;
    bool has_export;
    uint64_t export_mwh;
    uint32_t ble_counter;
};

// Reads what flash holds; settings of an earlier firmware's layout are kept (pg_config_load).
void nvs_begin(StoredState *out, uint8_t sensor_amps, int16_t factory_phase_cdeg);
bool nvs_save_energy(uint64_t energy_mwh);
bool nvs_save_export(uint64_t export_mwh);
bool nvs_save_config(const pg_config *cfg);
bool nvs_save_ble_counter(uint32_t reserved_until);
