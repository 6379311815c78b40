#include "sampler.h"

#include <esp_task_wdt.h>

static TaskHandle_t s_task;
static QueueHandle_t s_queue;
static hw_timer_t *s_timer;
static int s_pin;
static int s_vpin;
static uint16_t s_per_block;
static volatile uint32_t s_dropped;

// One tick per sample. The notification counts, so a late task catches up and no tick is lost.
static void ARDUINO_ISR_ATTR on_tick()
{
    BaseType_t woken = pdFALSE;
    vTaskNotifyGiveFromISR(s_task, &woken);
    if (woken) {
        portYIELD_FROM_ISR();
    }
}

static void sampler_task(void *)
{
    esp_task_wdt_add(nullptr);
    SampleBlock block;
    block.n = 0;
    for (;;) {
        ulTaskNotifyTake(pdFALSE, portMAX_DELAY);
        // analogReadMilliVolts applies the chip's eFuse ADC calibration (esp_adc_cal).
        block.mv[block.n] = (uint16_t)analogReadMilliVolts(s_pin);
        if (s_vpin >= 0) {
            // The next tick reads the voltage: half a pair period after its current, the skew
            // the core's phase correction removes.
            ulTaskNotifyTake(pdFALSE, portMAX_DELAY);
            block.v[block.n] = (uint16_t)analogReadMilliVolts(s_vpin);
        }
        block.n++;
        if (block.n == s_per_block) {
            if (xQueueSend(s_queue, &block, 0) != pdTRUE) {
                s_dropped++;
            }
            block.n = 0;
            esp_task_wdt_reset();
        }
    }
}

QueueHandle_t sampler_begin(int pin, int voltage_pin, uint16_t rate_hz, uint16_t per_block)
{
    s_pin = pin;
    s_vpin = voltage_pin;
    s_per_block = per_block > 200 ? 200 : per_block;
    analogReadResolution(12);
    analogSetPinAttenuation(pin, ADC_11db); // 0..~3.1 V
    if (voltage_pin >= 0) {
        analogSetPinAttenuation(voltage_pin, ADC_11db);
    }
    uint32_t tick_hz = voltage_pin >= 0 ? 2u * rate_hz : rate_hz;
    s_queue = xQueueCreate(16, sizeof(SampleBlock)); // 320 ms of slack for loop()
    // Core 1 with loop(), above it in priority; it sleeps between ticks, so loop() gets the rest.
    xTaskCreatePinnedToCore(sampler_task, "sampler", 4096, nullptr, 5, &s_task, 1);
#if ESP_ARDUINO_VERSION_MAJOR >= 3
    s_timer = timerBegin(1000000);
    timerAttachInterrupt(s_timer, &on_tick);
    timerAlarm(s_timer, 1000000 / tick_hz, true, 0);
#else
    s_timer = timerBegin(0, 80, true); // 80 MHz APB / 80 = 1 MHz
    timerAttachInterrupt(s_timer, &on_tick, true);
    timerAlarmWrite(s_timer, 1000000 / tick_hz, true);
    timerAlarmEnable(s_timer);
#endif
    return s_queue;
}

uint32_t sampler_dropped()
{
    return s_dropped;
}
