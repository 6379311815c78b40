// Paced ADC sampling: a hardware timer wakes a high-priority task that reads the ADC once per
// tick and queues one mains cycle of samples at a time for loop().
#pragma once

#include <Arduino.h>

struct SampleBlock {
    uint16_t n;
    uint16_t mv[200]; // one cycle: 80 at 4 kHz / 50 Hz
};

// Starts the timer and the task; returns the queue loop() reads SampleBlocks from.
QueueHandle_t sampler_begin(int pin, uint16_t rate_hz, uint16_t per_block);
// Blocks the sampler could not queue because loop() fell behind (they are lost, not late).
uint32_t sampler_dropped();
