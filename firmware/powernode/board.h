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

// A ZMPT101B voltage module (docs/firmware.md: wiring, trimming, safety). On 5 V, its output ->
// 10k -> ADC pin -> 20k -> GND, like the current sensor. With it the node measures real power
// and export and sends READING_BIDIR; without it, leave HAS_VOLTAGE false.
static const bool HAS_VOLTAGE = false;
static const int PIN_VOLTAGE = 35;                // ADC1_CH7
// With the voltage channel the timer ticks at twice this rate and reads current and voltage in
// turn: 2000 pairs a second, the voltage 250 us (4.5 degrees of 50 Hz) after its current.
static const uint16_t SAMPLE_RATE_VOLTAGE_HZ = 2000;
// That skew as the factory phase correction (0.01 degree); `pcal=now` adds the module's own.
static const int16_t VOLTAGE_SKEW_CDEG = (int16_t)(36000L * MAINS_HZ / (2L * SAMPLE_RATE_VOLTAGE_HZ));
