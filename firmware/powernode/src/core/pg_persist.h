/* When to write the energy counter to flash: often enough to lose little at a power cut,
 * rarely enough that NVS's flash sectors outlive ten years (arithmetic in docs/firmware.md). */
#ifndef PG_PERSIST_H
#define PG_PERSIST_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    uint32_t min_interval_ms; /* never two writes closer than this: bounds the wear */
    uint32_t max_interval_ms; /* any unsaved energy is written after this long */
    uint32_t min_delta_mwh;   /* this much unsaved energy is written at the next chance */
} pg_persist_policy;

/* At most one write per 2 min (2.63 M writes in 10 years); 10 Wh or 15 min of unsaved energy. */
#define PG_PERSIST_DEFAULT {120000u, 900000u, 10000u}

/* True when the counter should be written now. `since_save_ms` is the time since the last
 * write (or since boot), saturating rather than wrapping. */
bool pg_persist_due(const pg_persist_policy *p, uint64_t energy_mwh, uint64_t saved_mwh, uint32_t since_save_ms);

#ifdef __cplusplus
}
#endif

#endif
