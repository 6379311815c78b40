/* BTHome v2 service data (UUID 0xFCD2) for BLE advertisements, plain or AES-CCM encrypted,
 * as docs/PROTOCOL.md and https://bthome.io/format/ and /encryption/ describe. */
#ifndef PG_BTHOME_H
#define PG_BTHOME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PG_BTHOME_UUID 0xFCD2
#define PG_BTHOME_INFO_PLAIN 0x40     /* version 2, not encrypted */
#define PG_BTHOME_INFO_ENCRYPTED 0x41 /* version 2, encrypted */
#define PG_BTHOME_OBJECTS_LEN 17        /* with unsigned power (0x0B) */
#define PG_BTHOME_SIGNED_OBJECTS_LEN 18 /* with signed power (0x5C) instead */
#define PG_BTHOME_MIC_LEN 4
/* Info byte + objects + counter + MIC. */
#define PG_BTHOME_MAX_SERVICE_DATA (1 + PG_BTHOME_SIGNED_OBJECTS_LEN + 4 + PG_BTHOME_MIC_LEN)
#define PG_BLE_ADV_MAX 31
/* An encrypted counter block reserved in NVS at a time: one flash write per 65536 adverts. */
#define PG_BTHOME_COUNTER_BLOCK 65536u

typedef struct {
    uint8_t packet_id;   /* 0x00, u8: the same reading seen again keeps its id */
    uint32_t power_cw;   /* 0x0B, u24, 0.01 W */
    uint16_t current_ma; /* 0x43, u16, 0.001 A */
    uint16_t voltage_dv; /* 0x4A, u16, 0.1 V */
    uint32_t energy_wh;  /* 0x4D, u32, 0.001 kWh */
    bool signed_power;   /* a node measuring voltage: power as 0x5C instead of 0x0B */
    int32_t power_signed_cw; /* 0x5C, s32, 0.01 W; negative is export */
} pg_bthome_values;

/* Clamp a reading's values into the BTHome fields (negative power -> 0, energy in whole Wh). */
void pg_bthome_from_reading(pg_bthome_values *v, uint8_t packet_id, int32_t power_dw, uint32_t irms_ma,
                            uint16_t vrms_dv, uint64_t energy_mwh);
/* The same for a node with a voltage channel: power keeps its sign (0x5C). */
void pg_bthome_from_reading_signed(pg_bthome_values *v, uint8_t packet_id, int32_t power_dw, uint32_t irms_ma,
                                   uint16_t vrms_dv, uint64_t energy_mwh);

/* The five objects in object-id order: PROTOCOL.md's (packet id, 0x0B power, current, voltage,
 * energy), or with signed power packet id, current, voltage, energy, 0x5C power. Returns
 * their length, or 0 if `cap` is short. */
size_t pg_bthome_objects(const pg_bthome_values *v, uint8_t *out, size_t cap);

/* Unencrypted service data: 0x40 then the objects. */
size_t pg_bthome_plain(const pg_bthome_values *v, uint8_t *out, size_t cap);

/* Encrypted service data: 0x41, AES-CCM ciphertext of the objects, counter (u32 LE), 4-byte MIC.
 * Nonce = MAC (6, as printed) + 0xD2 0xFC + 0x41 + counter (LE). Returns the length or 0. */
size_t pg_bthome_encrypt(const uint8_t key[16], const uint8_t mac[6], uint32_t counter, const pg_bthome_values *v,
                         uint8_t *out, size_t cap);

/* The same for any BTHome object bytes (the spec's own example uses temperature and humidity). */
size_t pg_bthome_encrypt_objects(const uint8_t key[16], const uint8_t mac[6], uint32_t counter, const uint8_t *objects,
                                 size_t n, uint8_t *out, size_t cap);

/* Inverse of pg_bthome_encrypt: checks the MIC, writes the plain objects; returns their length,
 * or -1 when the data is malformed or the key or MAC is wrong. */
long pg_bthome_decrypt(const uint8_t key[16], const uint8_t mac[6], const uint8_t *service_data, size_t len,
                       uint8_t *objects, size_t cap);

/* Legacy advertising data (<= 31 bytes): the Flags AD (LE General Discoverable, BR/EDR not
 * supported) when it fits, then Service Data - 16-bit UUID 0xFCD2 with `service_data`.
 * A non-connectable advertisement may omit the flags; an encrypted payload needs the room. */
size_t pg_bthome_adv(const uint8_t *service_data, size_t len, uint8_t *adv, size_t cap);

/* The encryption counter must never repeat under one key, across reboots too: the node takes
 * counters from a block reserved in NVS before it uses the first of them. */
typedef struct {
    uint32_t next;
    uint32_t reserved_until; /* first counter not yet covered by a flash write */
} pg_bthome_counter;

/* `stored` is the value last written by pg_bthome_counter_reserve (0 on a fresh chip). */
void pg_bthome_counter_boot(pg_bthome_counter *c, uint32_t stored);
/* True when the caller must store pg_bthome_counter_reserve()'s value before taking a counter. */
bool pg_bthome_counter_needs_reserve(const pg_bthome_counter *c);
uint32_t pg_bthome_counter_reserve(pg_bthome_counter *c);
uint32_t pg_bthome_counter_take(pg_bthome_counter *c);

#ifdef __cplusplus
}
#endif

#endif
