// Paced ADC sampling: a hardware timer wakes a high-priority task that reads the ADC once per
// tick and queues one mains cycle of samples at a time for loop(). With a voltage pin the ticks
// come twice as fast and read current and voltage in turn.
#pragma once

#include <Arduino.h>

struct SampleBlock {
    uint16_t n;
    uint16_t mv[200]; // one cycle: 80 at 4 kHz / 50 Hz
    uint16_t v[200];  // the voltage read after each current sample (voltage pin only)
};

// Starts the timer and the task; returns the queue loop() reads SampleBlocks from. `rate_hz` is
// per channel; `voltage_pin` < 0 means current only.
QueueHandle_t sampler_begin(int pin, int voltage_pin, uint16_t rate_hz, uint16_t per_block);
// Blocks the sampler could not queue because loop() fell behind (they are lost, not late).
uint32_t sampler_dropped();
