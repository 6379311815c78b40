#include "ble_adv.h"

#include <BLEDevice.h>

static BLEAdvertising *s_adv;

void ble_begin()
{
    BLEDevice::init("");
    s_adv = BLEDevice::getAdvertising();
    s_adv->setScanResponse(false);
    s_adv->setAdvertisementType(ADV_TYPE_NONCONN_IND); // broadcast only: nobody connects
    s_adv->setMinInterval(0x0320);                     // 500 ms, in 0.625 ms units
    s_adv->setMaxInterval(0x0640);                     // 1 s
}

void ble_advertise(const uint8_t *adv, size_t len)
{
    BLEAdvertisementData data;
#if ESP_ARDUINO_VERSION_MAJOR >= 3
    data.addData((char *)adv, len);
#else
    data.addData(std::string((const char *)adv, len));
#endif
    s_adv->stop();
    s_adv->setAdvertisementData(data);
    s_adv->start();
}
