// BTHome advertising through the ESP32 Arduino core's own BLE library (no extra install).
#pragma once

#include <stddef.h>
#include <stdint.h>

void ble_begin();
// Replace the advertising data (built by pg_node_ble_adv, at most 31 bytes).
void ble_advertise(const uint8_t *adv, size_t len);
