"""Watts over time from the minute rollups: the house's, and the parts that stack up to it.

A part is a sub-circuit node (a node inside the house that is not one of its mains meters), or,
without sub-circuits, each mains meter (an ESP32 on serial and BLE once); whatever the parts leave
of the house's total is "the rest of the house". So the stacked parts are the house, never more.
"""

from __future__ import annotations

from flask import jsonify

from ..context import UiContext
from .endpoint import ApiError, Endpoint, Param
from .usage import household_nodes, stack_parts

MINUTE_MS = 60_000
MAX_SPAN_MS = 31 * 86_400_000  # a month at most: ~31-minute buckets
MAX_POINTS = 1440  # a day at one point a minute; longer spans get wider buckets


def step_for(span_ms: int) -> int:
    """Bucket width: a minute up to a day, wider so a span never has more than MAX_POINTS buckets."""
    minutes = -(-span_ms // (MAX_POINTS * MINUTE_MS))
    return max(1, minutes) * MINUTE_MS


def power_series(ctx: UiContext, start_ms: int, end_ms: int) -> dict:
    """Average watts per bucket of the house and of each part; a bucket the house's meters never heard is null."""
    store = ctx.store()
    household = household_nodes(store, ctx.effective_config())  # first: it brings the house's metering up to date
    start_ms -= start_ms % MINUTE_MS
    step = step_for(end_ms - start_ms)
    buckets = list(range(start_ms, end_ms, step))
    house: dict[int, list[int]] = {}
    for minute, (mwh, covered) in store.house_series(start_ms, end_ms, "minute").items():
        cell = house.setdefault(start_ms + (minute - start_ms) // step * step, [0, 0])
        cell[0] += mwh
        cell[1] += covered
    names = {n["node_id"]: n.get("name") or n["node_id"] for n in store.nodes()}
    ids, subs = stack_parts(store.conn, household, sorted(names, key=lambda n: names[n]))
    node_mwh: dict[str, dict[int, int]] = {n: {} for n in ids}
    for node_id, minutes in store.minutes(ids, start_ms, end_ms).items():
        for minute, mwh in minutes.items():
            b = start_ms + (minute - start_ms) // step * step
            node_mwh[node_id][b] = node_mwh[node_id].get(b, 0) + mwh

    def watts(mwh: int, covered: int) -> float:
        return round(mwh * 3600 / covered, 1)  # mWh over covered ms: 1 mWh = 3.6 J

    house_w = [watts(*house[b]) if house.get(b, (0, 0))[1] else None for b in buckets]
    parts = []
    for node_id in ids:
        ws = [
            watts(node_mwh[node_id].get(b, 0), house[b][1]) if house_w[i] is not None else None
            for i, b in enumerate(buckets)
        ]
        parts.append({"key": node_id, "node_id": node_id, "name": names[node_id], "watts": ws})
    rest = [
        None if h is None else round(max(0.0, h - sum(p["watts"][i] for p in parts)), 1) for i, h in enumerate(house_w)
    ]
    if subs or any(r for r in rest if r is not None and r > 0.5):
        parts.append({"key": "rest", "node_id": None, "name": None, "watts": rest})
    return {
        "from_ms": start_ms,
        "to_ms": end_ms,
        "step_ms": step,
        "buckets": buckets,
        "house_w": house_w,
        "parts": parts,
        "sub_circuits": subs,
    }


def power(ctx: UiContext, args, body):
    """GET /power: watts over [from, to) (default: the last 24 hours), the house's and its parts'."""
    now = ctx.now_ms()
    end = args["to"] if args["to"] is not None else now
    start = args["from"] if args["from"] is not None else end - 86_400_000
    if end - start < MINUTE_MS:
        raise ApiError(400, f"from {start} must be at least a minute before to {end} (epoch milliseconds)")
    if end - start > MAX_SPAN_MS:
        raise ApiError(400, f"from {start} to {end} is more than 31 days: ask for a shorter span")
    end = min(end, now + MINUTE_MS)  # nothing is measured after now
    if end <= start:
        raise ApiError(400, f"from {start} is in the future: nothing is measured yet")
    data = ctx.memo(("power", start, end), lambda: power_series(ctx, start, end), ttl_ms=5_000)
    return jsonify(data | {"now_ms": now})


_EPOCH = {"minimum": 946_684_800_000, "maximum": 4_102_444_800_000}  # 2000 to 2100
ROWS: tuple[Endpoint, ...] = (
    Endpoint(
        "GET",
        "/power",
        power,
        "Average watts per minute (wider buckets beyond a day) of the house and of the parts that stack up to it",
        "data",
        params=(
            Param("from", "integer", "start, epoch milliseconds (default: `to` minus 24 hours)", **_EPOCH),
            Param("to", "integer", "end, epoch milliseconds (default: now)", **_EPOCH),
        ),
    ),
)
