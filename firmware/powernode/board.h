// What is soldered where, and the node's fixed choices. Change these for your board.
#pragma once

#include <stdint.h>

// ACS712 output -> 10k -> ADC pin -> 20k -> GND. Must be an ADC1 pin (GPIO32..39): ADC2 is
// unavailable while the radio is on.
static const int PIN_SENSOR = 34;
static const uint8_t SENSOR_AMPS = 30;            // ACS712 variant: 5, 20 or 30
static const uint32_t DIVIDER_TOP_OHM = 10000;
static const uint32_t DIVIDER_BOTTOM_OHM = 20000;
static const uint8_t MAINS_HZ = 50;               // India: 50
static const uint16_t SAMPLE_RATE_HZ = 4000;      // 80 samples per 50 Hz cycle
static const uint8_t CYCLES_PER_WINDOW = 50;      // 1 s windows
static const uint32_t SERIAL_BAUD = 115200;
static const uint8_t BLE_EVERY_WINDOWS = 5;       // a new BTHome advertisement every 5 s
static const uint32_t WATCHDOG_S = 8;
