"""Reference for the house rule, computed from the nodes' minutes as readers once did: tests hold the rollup to it.

A node wired over USB that also advertises over BLE is two node ids with two exact accounts of
one counter (gateway/node_identity.py pairs them). Stored rows stay per id; this is where a sum
over "every node" counts the pair once:

- per UTC minute (the finest rollup, kept forever; every local hour and day is whole minutes),
  the serial id's energy, exact to the mWh;
- a minute where serial has no energy: BLE's (the cable was out, the port closed);
- a minute with serial energy next to one that has only BLE energy is where the cable went or
  came back inside the minute: each id saw part of it or all of it, never more, so the larger.

So energy is never taken from both for the same minute, and a stretch only BLE saw is still
counted. When the cable comes back in the same boot, serial's first reading covers the whole
time it was away (energy.py): those minutes become serial's again and BLE's stand-in drops out;
the sum stays the counter's rise.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from gateway.node_identity import ble_twins, is_ble

MINUTE_MS = 60_000
READ_CHUNK_MS = 7 * 86_400_000  # the longest span of minutes read at once for the BLE stand-in


def ble_stand_in(serial: Mapping[int, int], ble: Mapping[int, int]) -> dict[int, int]:
    """What a BLE twin adds to its serial node, per minute ({minute start ms: mWh}). Pure.

    All of BLE's energy where serial has none; where serial's coverage starts or stops (a
    neighbouring minute has BLE energy and no serial energy), BLE's excess over serial, so that
    minute counts the larger of the two; nothing anywhere else.
    """
    only_ble = ble.keys() - serial.keys()  # set arithmetic: months of minutes, mostly in both
    out = {m: ble[m] for m in only_ble if ble[m]}
    for m in only_ble:
        for edge in (m - MINUTE_MS, m + MINUTE_MS):
            if edge in serial and edge in ble and ble[edge] > serial[edge]:
                out[edge] = ble[edge] - serial[edge]
    return out


class Household:
    """Energy of `node_ids` (None: every node, each ESP32 once) as `Store.usage` buckets it.

    An explicit list is summed as listed, as [billing] metered_nodes always was. Short-lived:
    make one per computation (it keeps the BLE stand-in minutes it has worked out).
    """

    def __init__(self, store, node_ids: Iterable[str] | None = None):
        self.store = store
        self.node_ids = None if node_ids is None else list(node_ids)
        if node_ids is None:
            rows = store.conn.execute("SELECT node_id, transport FROM nodes").fetchall()
            self.twins = ble_twins(rows)  # {BLE id: serial id}
        else:
            self.twins = {}
        self._covered: list[tuple[int, int]] = []  # minute ranges whose stand-in is known
        self._stand_in: dict[int, int] = {}

    def usage(self, start_ms: int, end_ms: int, resolution: str) -> dict[int, int]:
        """{bucket start ms: mWh} of the household, the buckets and edges exactly as Store.usage has them."""
        # An empty range: Store.usage gives no rows for it, but the BLE stand-in below reads minutes
        # over whole days ("day") or from start_ms's minute ("minute"), so it would add some.
        if end_ms <= start_ms:
            return {}
        store = self.store
        if self.node_ids is None:
            rows = store.usage(start_ms, end_ms, resolution)
        else:
            rows = [r for node in self.node_ids for r in store.usage(start_ms, end_ms, resolution, node)]
        out: dict[int, int] = {}
        for r in rows:
            if r["node_id"] not in self.twins:  # a BLE twin counts through its serial node below
                out[r["start_ms"]] = out.get(r["start_ms"], 0) + r["energy_mwh"]
        if self.twins:
            for bucket, mwh in self._stand_in_buckets(start_ms, end_ms, resolution).items():
                out[bucket] = out.get(bucket, 0) + mwh
        return out

    def _bucketing(self, start_ms: int, end_ms: int, resolution: str):
        """(minute span to read, bucket of a minute, whether a bucket is kept) as Store.usage buckets."""
        cal = self.store.calendar
        lo = start_ms - start_ms % MINUTE_MS  # Store.usage's first minute
        if resolution == "minute":
            return (lo, end_ms), (lambda m: m), (lambda b: True)
        if resolution == "hour":
            span = (lo, cal.hour_start_ms(end_ms - 1) + 3_600_000)
            return span, cal.hour_start_ms, (lambda b: lo <= b < end_ms)  # hours that start inside, as Store.usage
        if resolution == "day":
            first, last = cal.day(start_ms), cal.day(end_ms - 1)
            span = (cal.day_start_ms(first), cal.day_start_ms(dt.date.fromisoformat(last) + dt.timedelta(days=1)))
            return span, (lambda m: cal.day_start_ms(cal.day(m))), (lambda b: True)
        raise ValueError(f"resolution {resolution!r}: expected one of minute, hour, day")

    def _stand_in_buckets(self, start_ms: int, end_ms: int, resolution: str) -> dict[int, int]:
        span, bucket_of, keep = self._bucketing(start_ms, end_ms, resolution)
        out: dict[int, int] = {}
        for minute, mwh in self._stand_in_minutes(*span).items():
            b = bucket_of(minute)
            if keep(b):
                out[b] = out.get(b, 0) + mwh
        return out

    def export_usage(self, start_ms: int, end_ms: int, resolution: str) -> dict[int, int]:
        """{bucket start ms: exported mWh} of the household, from each serial node's own minutes: a BLE
        copy carries no export (BTHome has no object for it), so there is nothing to count twice."""
        if end_ms <= start_ms:
            return {}
        rows = self.store.conn.execute("SELECT node_id, transport FROM nodes").fetchall()
        ids = [n for n, transport in rows if not is_ble(transport)]
        if self.node_ids is not None:
            ids = [n for n in self.node_ids if n in ids]
        span, bucket_of, keep = self._bucketing(start_ms, end_ms, resolution)
        out: dict[int, int] = {}
        for row in self.store.minute_stats(ids, *span):
            b = bucket_of(row["start_ms"])
            if keep(b) and row["export_mwh"]:
                out[b] = out.get(b, 0) + row["export_mwh"]
        return out

    def _stand_in_minutes(self, lo: int, hi: int) -> dict[int, int]:
        for gap_lo, gap_hi in _gaps(self._covered, lo, hi):
            # A week of both ids' minutes at a time (20,160 rows each): a year's usage view or a cloud
            # catch-up would otherwise hold every minute of the range at once (hundreds of MB on a Pi);
            # only the minutes BLE stands in for are kept.
            for a in range(gap_lo, gap_hi, READ_CHUNK_MS):
                b = min(a + READ_CHUNK_MS, gap_hi)
                for ble, serial in self.twins.items():
                    # One minute either side: whether a minute is an edge depends on its neighbours.
                    both = self.store.minutes((serial, ble), a - MINUTE_MS, b + MINUTE_MS)
                    for minute, mwh in ble_stand_in(both[serial], both[ble]).items():
                        if a <= minute < b:
                            self._stand_in[minute] = self._stand_in.get(minute, 0) + mwh
            self._covered = _merged(self._covered + [(gap_lo, gap_hi)])
        return {m: v for m, v in self._stand_in.items() if lo <= m < hi}


def _gaps(covered: list[tuple[int, int]], lo: int, hi: int) -> list[tuple[int, int]]:
    """The parts of [lo, hi) outside the sorted, disjoint `covered` ranges."""
    out, at = [], lo
    for a, b in covered:
        if b <= at or a >= hi:
            continue
        if a > at:
            out.append((at, a))
        at = max(at, b)
    if at < hi:
        out.append((at, hi))
    return out


def _merged(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(ranges):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out
