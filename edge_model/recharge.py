"""The hours after a power cut, when a battery inverter recharges: read from the supply's cut log
(gateway/supply) as spans, then as a mask over the hourly windows the theft check judges.

An inverter's battery drained by a cut draws a few hundred watts from the mains until it is full
again, in the hours just after the supply returns: on a house with daily load-shedding that is the
same extra load at the same hours every day, which is what a tap looks like. Those windows are no
evidence of theft ([supply] recharge_factor and recharge_max_hours say how long after a cut).
"""

from __future__ import annotations

import numpy as np

from gateway.supply.tables import SupplyTables

HOUR_S = 3_600.0


def recharge_spans(store, section, start_ms: int, end_ms: int) -> tuple[tuple[float, float], ...]:
    """(from, to) in epoch seconds: after each cut ending in [start_ms, end_ms), the recharge it allows."""
    spans = []
    for cut in SupplyTables(store).cuts(start_ms, end_ms):
        length_ms = section.recharge_ms(cut.duration_ms)
        if length_ms > 0 and cut.end_ms >= start_ms:
            spans.append((cut.end_ms / 1000, (cut.end_ms + length_ms) / 1000))
    return tuple(spans)


def recharge_mask(window_start_s: np.ndarray, spans: tuple[tuple[float, float], ...]) -> np.ndarray:
    """Per hourly window: whether a recharge span overlaps it."""
    starts = np.asarray(window_start_s, dtype=np.float64)
    mask = np.zeros(len(starts), dtype=bool)
    for lo, hi in spans:
        mask |= (starts < hi) & (starts + HOUR_S > lo)
    return mask
