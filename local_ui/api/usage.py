"""Energy per node per bucket for a period, as JSON or CSV, and the whole house's total.

The house's totals come from the house rollup and its live power from the registry (gateway/house.py);
this module only asks for them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import time
from decimal import Decimal

from flask import Response, jsonify

from gateway.billing import MeteredNodeError
from gateway.house import Membership, house_node_ids, same_meter_ids, twin_ids
from gateway.store import StoreError, UnknownNodesError

from ..context import UiContext
from ..periods import PERIODS, RESOLUTIONS, PeriodError, date_range, month_key, period
from ..services import Billing, Unavailable
from .billing import billing_service
from .endpoint import ApiError, Endpoint, Param, rupees
from .nodes import node_views

# ---- the whole house: its live watts, today's units, each period's total ----------------------------


def household_nodes(store, config) -> frozenset[str] | None:
    """The node ids of the mains meters, the house every total counts (gateway/house.py); None when every
    meter is the house. When [billing] metered_nodes names an id that never reported, the listed ones that did."""
    try:
        store.apply_config_mains(config["billing"].metered_nodes, int(time.time() * 1000))
    except UnknownNodesError:
        # No total (household_nodes_checked says why); the listed nodes that did report still show as mains.
        return same_meter_ids(store.conn, config["billing"].metered_nodes)
    return house_node_ids(store.conn)


def household_nodes_checked(store, config) -> frozenset[str] | None:
    """`household_nodes`, refused as billing refuses them: Unavailable (with billing's reason) when a
    listed node has never reported, so no household total is made from part of the house."""
    from gateway.billing.estimate import follow_metering

    try:
        follow_metering(store, config["billing"])
    except MeteredNodeError as err:
        raise Unavailable(f"billing cannot count the household's units: {err}") from err
    return household_nodes(store, config)


def stack_parts(conn, household: frozenset[str] | None, node_ids: list[str]) -> tuple[list[str], bool]:
    """(node ids that stack inside the house's total, whether they are sub-circuits); what they leave of the
    total is the rest of the house. Parts are the sub-circuit nodes, or without any, each mains meter
    (an ESP32 on serial and BLE once), so the stack is the house, never more."""
    twins = twin_ids(conn)  # {BLE id: serial id}
    subs = [n for n in node_ids if household is not None and n not in household and twins.get(n) not in node_ids]
    if subs:
        return subs, True
    return [n for n in node_ids if (household is None or n in household) and twins.get(n) not in node_ids], False


def house_live(ctx: UiContext) -> tuple[list[dict], float | None, bool]:
    """Every node marked `metered` (a mains meter's), the house's live watts (None while no mains node is
    online), and whether every meter is the house."""
    store = ctx.store()
    household = household_nodes(store, ctx.effective_config())
    nodes = [n | {"metered": household is None or n["node_id"] in household} for n in node_views(ctx)]
    power = Membership(household, twin_ids(store.conn)).live_power_w(
        {n["node_id"]: n["power_w"] for n in nodes if n["online"]}
    )
    return nodes, power, household is None


def _today_kwh(billing: Billing) -> Decimal:
    """The household's units since local midnight: the metered nodes, counted as the cycle's units are."""
    from gateway.billing.estimate import energy_mwh, kwh

    now = billing.now_ms()
    midnight = billing.store.calendar.day_start_ms(billing.store.calendar.day(now))
    return billing.call(lambda: kwh(energy_mwh(billing.store, midnight, now, billing.section)))


def today_units(ctx: UiContext, now: int) -> tuple[float | None, str | None]:
    """The household's kWh since local midnight and what they add to the cycle's bill (rupees).

    None where billing cannot count or price them; the overview's bill part then says why.
    """
    billing = billing_service(ctx)
    try:
        units = round(float(_today_kwh(billing)), 3)
    except Unavailable:
        return None, None
    try:
        return units, rupees(billing.today_cost())
    except Unavailable:
        return units, None


# ---- usage: every node's series and the house's total, per period ------------------------------


def _usage_period(ctx: UiContext, args: dict):
    """The period the query asks for: a named period around a date, or a custom start..end."""
    tz_today = dt.date.fromisoformat(ctx.calendar.today(ctx.now_ms()))
    try:
        if args["start"] or args["end"]:
            if args["period"]:
                raise ApiError(400, "give either period (with date) or start and end, not both")
            if not (args["start"] and args["end"]):
                raise ApiError(400, "a custom range needs both start and end (YYYY-MM-DD)")
            return date_range(args["start"], args["end"], args["resolution"] or "day")
        kind = args["period"] or "day"
        cycles = Billing(ctx.store(), ctx.effective_config(), ctx.now_ms).cycle_dates() if kind == "cycle" else None
        return period(kind, args["date"] or tz_today, args["resolution"], cycles=cycles)
    except PeriodError as err:
        raise ApiError(400, str(err)) from None


def usage_series(ctx: UiContext, p, node: str | None, household: frozenset[str] | None, no_total: str | None) -> dict:
    """Every node's energy per bucket, and the house's total from the house rollup.

    The total (`total_kwh`, `total_points`) is the house's, or the one node's asked for; `household` marks
    the series of the mains meters (None: every meter); `no_total` says why there is none (a metered node
    that never reported).
    """
    cal = ctx.calendar
    store = ctx.store()
    start, end = cal.day_start_ms(p.first), cal.day_start_ms(p.end)
    if p.first <= dt.date.fromisoformat(cal.today(ctx.now_ms())):
        end = min(end, max(start, ctx.now_ms() + 1))
    res = "day" if p.resolution == "month" else p.resolution
    try:
        rows = store.usage(start, end, res, node)
    except StoreError as err:  # an unknown node
        raise ApiError(404, str(err)) from None
    names = {n["node_id"]: n.get("name") or n["node_id"] for n in store.nodes()}
    series: dict[str, dict] = {}
    month_starts: dict[str, int] = {}

    def bucket(b: int) -> int:
        if p.resolution != "month":
            return b
        month = month_key(cal.day(b))
        return month_starts.get(month) or month_starts.setdefault(month, cal.day_start_ms(month + "-01"))

    for r in rows:
        s = series.setdefault(r["node_id"], {"node_id": r["node_id"], "name": names.get(r["node_id"]), "points": {}})
        b = bucket(r["start_ms"])
        s["points"][b] = s["points"].get(b, 0) + r["energy_mwh"]

    def metered(node_id: str) -> bool:
        return household is None or node_id in household

    def counted(node_id: str) -> bool:
        return node is not None or metered(node_id)

    if node is not None:
        no_total = None  # one node's own total needs no household rule
    total_mwh: dict[int, int] = {}
    if node is None:  # the house rollup: each ESP32 once, the mains meters only
        for b, mwh in store.house_usage(start, end, res).items():
            total_mwh[bucket(b)] = total_mwh.get(bucket(b), 0) + mwh
    else:
        for b, mwh in series.get(node, {"points": {}})["points"].items():
            total_mwh[b] = total_mwh.get(b, 0) + mwh
    out = []
    for s in sorted(series.values(), key=lambda s: s["name"] or ""):
        pts = sorted(s["points"].items())
        out.append(
            {
                "node_id": s["node_id"],
                "name": s["name"],
                "metered": metered(s["node_id"]),
                "points": [[b, round(mwh / 1e6, 6)] for b, mwh in pts],
            }
        )
    buckets = _buckets(ctx, p)
    return {
        "buckets": buckets,
        "period": p.kind,
        "first_day": p.first.isoformat(),
        "last_day": (p.end - dt.timedelta(days=1)).isoformat(),
        "start_ms": cal.day_start_ms(p.first),
        "end_ms": cal.day_start_ms(p.end),
        "resolution": p.resolution,
        "total_kwh": None if no_total else round(sum(total_mwh.values()) / 1e6, 6),
        "total_points": None if no_total else [[b, round(mwh / 1e6, 6)] for b, mwh in sorted(total_mwh.items())],
        "total_unavailable": no_total,
        "excluded_from_total": [s["node_id"] for s in out if not counted(s["node_id"])],
        "series": out,
        "parts": None if no_total or node is not None else _parts(store, household, out, total_mwh),
    }


def _parts(store, household, series: list[dict], total_mwh: dict[int, int]) -> list[dict]:
    """The bars that stack up to the house's total per bucket: `stack_parts`, and the rest of the house."""
    ids, subs = stack_parts(store.conn, household, [s["node_id"] for s in series])
    by_id = {s["node_id"]: s for s in series}
    parts = [{"key": n, "node_id": n, "name": by_id[n]["name"], "points": by_id[n]["points"]} for n in ids]
    inside: dict[int, float] = {}
    for part in parts:
        for b, kwh in part["points"]:
            inside[b] = inside.get(b, 0.0) + kwh
    rest = [[b, round(max(0.0, mwh / 1e6 - inside.get(b, 0.0)), 6)] for b, mwh in sorted(total_mwh.items())]
    if subs or any(kwh > 0.0005 for _, kwh in rest):
        parts.append({"key": "rest", "node_id": None, "name": None, "points": rest})
    return parts


def _buckets(ctx: UiContext, p) -> list[int]:
    """Every bucket start of the period, so charts span it whole and periods line up by position."""
    cal = ctx.calendar
    days = [p.first + dt.timedelta(days=i) for i in range(p.days)]
    if p.resolution == "day":
        return [cal.day_start_ms(d) for d in days]
    if p.resolution == "month":
        return [cal.day_start_ms(d) for d in days if d.day == 1]
    width = 60_000 if p.resolution == "minute" else 3_600_000
    start, end = cal.day_start_ms(p.first), cal.day_start_ms(p.end)
    return list(range(start, end, width))


def usage(ctx: UiContext, args, body):
    """GET /usage: every node's series and the house's total for a period (and the one before), JSON or CSV."""
    p = _usage_period(ctx, args)
    today = ctx.calendar.today(ctx.now_ms())

    def compute() -> dict:
        # The household's total follows the bill: [billing] metered_nodes, refused as billing refuses it.
        try:
            household, no_total = household_nodes_checked(ctx.store(), ctx.effective_config()), None
        except Unavailable as err:
            household, no_total = household_nodes(ctx.store(), ctx.effective_config()), str(err)
        data = usage_series(ctx, p, args["node"], household, no_total)
        if args["money"]:
            data |= priced(ctx, data)
        if args["compare"]:
            data["previous"] = usage_series(ctx, p.previous(), args["node"], household, no_total)
        return data

    data = ctx.memo(("usage", p, args["node"], bool(args["compare"]), bool(args["money"]), today), compute)
    if args["format"] == "csv":
        return _usage_csv(ctx, data)
    return jsonify(data)


def priced(ctx: UiContext, data: dict) -> dict:
    """Rupees for the house's total and each part, per bucket: what the bucket added to its cycle's bill,
    shared among the parts by their units (exact to the paisa: the last part takes the remainder). Without a
    house total (one node, or a metered node that never reported) or a tariff, `cost_unavailable` says why."""
    from .today import bucket_costs

    if data["parts"] is None:
        return {"cost_unavailable": data["total_unavailable"] or "rupees are shown for the whole house only"}
    total = {b: round(kwh * 1e6) for b, kwh in data["total_points"]}
    try:
        costs = bucket_costs(ctx, data["buckets"], data["end_ms"], total)
    except Unavailable as err:
        return {"cost_unavailable": str(err)}
    points = {p["key"]: dict(p["points"]) for p in data["parts"]}
    cost_points = {p["key"]: [] for p in data["parts"]}
    total_points = []
    for b, cost in zip(data["buckets"], costs, strict=True):
        if cost is None:
            continue
        total_points.append([b, rupees(cost)])
        kwh = {k: Decimal(str(pts.get(b, 0))) for k, pts in points.items()}
        whole, left = sum(kwh.values()), cost
        for i, key in enumerate(kwh):
            last = i == len(kwh) - 1
            share = left if last else (cost * kwh[key] / whole if whole else Decimal(0)).quantize(Decimal("0.01"))
            left -= share
            cost_points[key].append([b, rupees(share)])
    return {
        "total_cost": rupees(sum((c for c in costs if c is not None), Decimal(0))),
        "total_cost_points": total_points,
        "parts": [p | {"cost_points": cost_points[p["key"]]} for p in data["parts"]],
    }


def _usage_csv(ctx: UiContext, data: dict) -> Response:
    """The series as CSV rows (local time, UTC ms, node, kWh), a download."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["start_local", "start_utc_ms", "node_id", "node_name", "energy_kwh"])
    for s in data["series"]:
        for b, kwh in s["points"]:
            w.writerow([ctx.calendar.isoformat(b), b, s["node_id"], s["name"], f"{kwh:.6f}"])
    name = f"powergw-usage-{data['first_day']}-to-{data['last_day']}-{data['resolution']}.csv"
    return Response(
        buf.getvalue(), mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


_USAGE_PARAMS = (
    Param("period", doc="day, week (Mon-Sun), month, billing cycle or year containing `date`", enum=PERIODS),
    Param("date", "date", "a local date inside the period (default today)"),
    Param("start", "date", "first local day of a custom range"),
    Param("end", "date", "last local day of a custom range (included)"),
    Param(
        "resolution",
        doc="bucket size (default: hour for day/week, day for month/cycle, month for year)",
        enum=RESOLUTIONS,
    ),
    Param("node", doc="one node's id (default: every node)"),
    Param("compare", "boolean", "also return the previous period as `previous`"),
    Param("money", "boolean", "also price each bucket in rupees (what it added to its cycle's bill)"),
    Param("format", doc="json (default) or csv", enum=("json", "csv")),
)

ROWS: tuple[Endpoint, ...] = (
    Endpoint(
        "GET",
        "/usage",
        usage,
        "Energy (kWh) per node per bucket for a period or a custom range, and the "
        "household's total ([billing] metered_nodes); CSV with format=csv",
        "data",
        params=_USAGE_PARAMS,
        produces=("application/json", "text/csv"),
        errors=(404, 503),
    ),
)
