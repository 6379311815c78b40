"""A node's minutes with everything the rollup keeps of them: imported and exported energy, and the
voltage (min, max, mean) and power factor of the readings that measured them."""

from __future__ import annotations

import sqlite3

from .batch import Batch

STAT_KEYS = (
    "node_id",
    "start_ms",
    "energy_mwh",
    "export_mwh",
    "vrms_min_dv",
    "vrms_max_dv",
    "vrms_mean_dv",
    "pf_milli",
)


def merged_quality(a: list | None, b: list | None) -> list | None:
    """Two [vrms min, max, sum, n, pf sum, pf n] of one minute as one (None: no measured voltage)."""
    if a is None or b is None:
        return a or b
    return [min(a[0], b[0]), max(a[1], b[1]), *(x + y for x, y in zip(a[2:], b[2:], strict=True))]


def minute_stats(conn: sqlite3.Connection, keys: dict[int, str], lo: int, hi: int, pending: Batch) -> list[dict]:
    """Dicts keyed by `STAT_KEYS` for each stored minute in [lo, hi) of the nodes `keys` ({node key: node id}),
    plus the `pending` increments not yet rolled up; by node id, then time. The voltage and power factor
    are None where the node assumed its voltage all minute."""
    rows = conn.execute(
        "SELECT node_key, start_ms, energy_mwh, export_mwh, vrms_min_dv, vrms_max_dv, vrms_sum_dv, vrms_n, "
        f"pf_sum_milli, pf_n FROM usage_minute WHERE node_key IN ({','.join('?' * len(keys))}) "
        "AND start_ms >= ? AND start_ms < ?",
        (*keys, lo, hi),
    )
    acc: dict[tuple[int, int], list] = {}
    for k, m, e, x, *q in rows:
        acc[(k, m)] = [e, x, None if q[0] is None else [*q[:4], q[4] or 0, q[5] or 0]]
    cells = pending.cells()
    for key in cells.keys() | pending.quality.keys():
        if key[0] not in keys or not lo <= key[1] < hi:
            continue
        item = acc.setdefault(key, [0, 0, None])
        cell = cells.get(key, (0, 0, 0))
        item[0], item[1] = item[0] + cell[0], item[1] + cell[2]
        item[2] = merged_quality(item[2], pending.quality.get(key))
    out = []
    for (k, m), (e, x, q) in sorted(acc.items(), key=lambda kv: (keys[kv[0][0]], kv[0][1])):
        if not (e or x or q):
            continue
        volts = (q[0], q[1], round(q[2] / q[3]), round(q[4] / q[5]) if q[5] else None) if q else (None,) * 4
        out.append(dict(zip(STAT_KEYS, (keys[k], m, e, x, *volts), strict=True)))
    return out
