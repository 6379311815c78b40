#include "pg_persist.h"

bool pg_persist_due(const pg_persist_policy *p, uint64_t energy_mwh, uint64_t saved_mwh, uint32_t since_save_ms)
{
    if (energy_mwh <= saved_mwh || since_save_ms < p->min_interval_ms) {
        return false;
    }
    return energy_mwh - saved_mwh >= p->min_delta_mwh || since_save_ms >= p->max_interval_ms;
}
