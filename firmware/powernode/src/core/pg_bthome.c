#include "pg_bthome.h"

#include <string.h>

#include "mbedtls/ccm.h"

void pg_bthome_from_reading(pg_bthome_values *v, uint8_t packet_id, int32_t power_dw, uint32_t irms_ma,
                            uint16_t vrms_dv, uint64_t energy_mwh)
{
    int64_t cw = power_dw > 0 ? (int64_t)power_dw * 10 : 0;
    uint64_t wh = energy_mwh / 1000u;
    v->packet_id = packet_id;
    v->power_cw = cw > 0xFFFFFF ? 0xFFFFFFu : (uint32_t)cw;
    v->current_ma = irms_ma > 0xFFFF ? 0xFFFFu : (uint16_t)irms_ma;
    v->voltage_dv = vrms_dv;
    v->energy_wh = wh > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)wh;
    v->signed_power = false;
    v->power_signed_cw = 0;
}

void pg_bthome_from_reading_signed(pg_bthome_values *v, uint8_t packet_id, int32_t power_dw, uint32_t irms_ma,
                                   uint16_t vrms_dv, uint64_t energy_mwh)
{
    pg_bthome_from_reading(v, packet_id, power_dw, irms_ma, vrms_dv, energy_mwh);
    int64_t cw = (int64_t)power_dw * 10;
    v->signed_power = true;
    v->power_signed_cw = cw > INT32_MAX ? INT32_MAX : cw < INT32_MIN ? INT32_MIN : (int32_t)cw;
}

static size_t signed_objects(const pg_bthome_values *v, uint8_t *out, size_t cap)
{
    if (cap < PG_BTHOME_SIGNED_OBJECTS_LEN) {
        return 0;
    }
    uint32_t p = (uint32_t)v->power_signed_cw;
    const uint8_t objects[PG_BTHOME_SIGNED_OBJECTS_LEN] = {
        0x00, v->packet_id,
        0x43, (uint8_t)v->current_ma, (uint8_t)(v->current_ma >> 8),
        0x4A, (uint8_t)v->voltage_dv, (uint8_t)(v->voltage_dv >> 8),
        0x4D, (uint8_t)v->energy_wh, (uint8_t)(v->energy_wh >> 8), (uint8_t)(v->energy_wh >> 16),
        (uint8_t)(v->energy_wh >> 24),
        0x5C, (uint8_t)p, (uint8_t)(p >> 8), (uint8_t)(p >> 16), (uint8_t)(p >> 24),
    };
    memcpy(out, objects, sizeof objects);
    return sizeof objects;
}

size_t pg_bthome_objects(const pg_bthome_values *v, uint8_t *out, size_t cap)
{
    if (v->signed_power) {
        return signed_objects(v, out, cap);
    }
    if (cap < PG_BTHOME_OBJECTS_LEN) {
        return 0;
    }
    const uint8_t objects[PG_BTHOME_OBJECTS_LEN] = {
        0x00, v->packet_id,
        0x0B, (uint8_t)v->power_cw, (uint8_t)(v->power_cw >> 8), (uint8_t)(v->power_cw >> 16),
        0x43, (uint8_t)v->current_ma, (uint8_t)(v->current_ma >> 8),
        0x4A, (uint8_t)v->voltage_dv, (uint8_t)(v->voltage_dv >> 8),
        0x4D, (uint8_t)v->energy_wh, (uint8_t)(v->energy_wh >> 8), (uint8_t)(v->energy_wh >> 16),
        (uint8_t)(v->energy_wh >> 24),
    };
    memcpy(out, objects, sizeof objects);
    return sizeof objects;
}

size_t pg_bthome_plain(const pg_bthome_values *v, uint8_t *out, size_t cap)
{
    if (cap < 2) {
        return 0;
    }
    size_t n = pg_bthome_objects(v, out + 1, cap - 1);
    if (n == 0) {
        return 0;
    }
    out[0] = PG_BTHOME_INFO_PLAIN;
    return 1 + n;
}

static void make_nonce(uint8_t nonce[13], const uint8_t mac[6], uint32_t counter)
{
    memcpy(nonce, mac, 6);
    nonce[6] = (uint8_t)(PG_BTHOME_UUID & 0xFF);
    nonce[7] = (uint8_t)(PG_BTHOME_UUID >> 8);
    nonce[8] = PG_BTHOME_INFO_ENCRYPTED;
    for (int i = 0; i < 4; i++) {
        nonce[9 + i] = (uint8_t)(counter >> (8 * i));
    }
}

size_t pg_bthome_encrypt_objects(const uint8_t key[16], const uint8_t mac[6], uint32_t counter, const uint8_t *objects,
                                 size_t n, uint8_t *out, size_t cap)
{
    if (n == 0 || cap < 1 + n + 4 + PG_BTHOME_MIC_LEN) {
        return 0;
    }
    uint8_t nonce[13];
    make_nonce(nonce, mac, counter);
    out[0] = PG_BTHOME_INFO_ENCRYPTED;
    uint8_t *ct = out + 1;
    uint8_t *ctr = ct + n;
    uint8_t *mic = ctr + 4;
    mbedtls_ccm_context ccm;
    mbedtls_ccm_init(&ccm);
    int rc = mbedtls_ccm_setkey(&ccm, MBEDTLS_CIPHER_ID_AES, key, 128);
    if (rc == 0) {
        rc = mbedtls_ccm_encrypt_and_tag(&ccm, n, nonce, sizeof nonce, NULL, 0, objects, ct, mic, PG_BTHOME_MIC_LEN);
    }
    mbedtls_ccm_free(&ccm);
    if (rc != 0) {
        return 0;
    }
    memcpy(ctr, nonce + 9, 4);
    return 1 + n + 4 + PG_BTHOME_MIC_LEN;
}

size_t pg_bthome_encrypt(const uint8_t key[16], const uint8_t mac[6], uint32_t counter, const pg_bthome_values *v,
                         uint8_t *out, size_t cap)
{
    uint8_t plain[PG_BTHOME_SIGNED_OBJECTS_LEN];
    size_t n = pg_bthome_objects(v, plain, sizeof plain);
    return pg_bthome_encrypt_objects(key, mac, counter, plain, n, out, cap);
}

long pg_bthome_decrypt(const uint8_t key[16], const uint8_t mac[6], const uint8_t *service_data, size_t len,
                       uint8_t *objects, size_t cap)
{
    if (len < 1 + 1 + 4 + PG_BTHOME_MIC_LEN || service_data[0] != PG_BTHOME_INFO_ENCRYPTED) {
        return -1;
    }
    size_t n = len - 1 - 4 - PG_BTHOME_MIC_LEN;
    if (n > cap) {
        return -1;
    }
    const uint8_t *ctr = service_data + 1 + n;
    uint32_t counter = (uint32_t)ctr[0] | (uint32_t)ctr[1] << 8 | (uint32_t)ctr[2] << 16 | (uint32_t)ctr[3] << 24;
    uint8_t nonce[13];
    make_nonce(nonce, mac, counter);
    mbedtls_ccm_context ccm;
    mbedtls_ccm_init(&ccm);
    int rc = mbedtls_ccm_setkey(&ccm, MBEDTLS_CIPHER_ID_AES, key, 128);
    if (rc == 0) {
        rc = mbedtls_ccm_auth_decrypt(&ccm, n, nonce, sizeof nonce, NULL, 0, service_data + 1, objects, ctr + 4,
                                      PG_BTHOME_MIC_LEN);
    }
    mbedtls_ccm_free(&ccm);
    return rc == 0 ? (long)n : -1;
}

size_t pg_bthome_adv(const uint8_t *service_data, size_t len, uint8_t *adv, size_t cap)
{
    size_t service_ad = 4 + len; /* length, type 0x16, UUID (2) */
    if (service_ad > PG_BLE_ADV_MAX || service_ad > cap) {
        return 0;
    }
    size_t o = 0;
    if (3 + service_ad <= PG_BLE_ADV_MAX && 3 + service_ad <= cap) {
        adv[o++] = 0x02;
        adv[o++] = 0x01;
        adv[o++] = 0x06;
    }
    adv[o++] = (uint8_t)(3 + len);
    adv[o++] = 0x16;
    adv[o++] = (uint8_t)(PG_BTHOME_UUID & 0xFF);
    adv[o++] = (uint8_t)(PG_BTHOME_UUID >> 8);
    memcpy(adv + o, service_data, len);
    return o + len;
}

void pg_bthome_counter_boot(pg_bthome_counter *c, uint32_t stored)
{
    c->next = stored;
    c->reserved_until = stored;
}

bool pg_bthome_counter_needs_reserve(const pg_bthome_counter *c)
{
    return c->next >= c->reserved_until;
}

uint32_t pg_bthome_counter_reserve(pg_bthome_counter *c)
{
    uint32_t room = UINT32_MAX - c->reserved_until;
    c->reserved_until += room < PG_BTHOME_COUNTER_BLOCK ? room : PG_BTHOME_COUNTER_BLOCK;
    return c->reserved_until;
}

uint32_t pg_bthome_counter_take(pg_bthome_counter *c)
{
    return c->next++;
}
