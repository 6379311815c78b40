"""The supply: power cuts and the mains voltage's quality per day (gateway/supply), for the dashboard."""

from __future__ import annotations

import datetime as dt

from flask import jsonify

from gateway import PowerGwError
from gateway.supply.report import report

from ..context import UiContext
from .endpoint import ApiError, Endpoint, Param

MAX_DAYS = 366
GLANCE_DAYS = 7


def day_figures(day: dict) -> dict | None:
    """A day's voltage figures for the house: its mains' when a mains node measures the voltage, else those of
    the node that measured it for the most minutes (None when no node did)."""
    if day["house"]:
        return day["house"]
    return max(day["nodes"].values(), key=lambda f: f["minutes"], default=None)


def supply_glance(ctx: UiContext) -> dict | None:
    """The last seven days' supply for the Overview, only when there was something to say: the cuts (how
    many, minutes in all, the last one), the minutes outside the voltage band and a silence going on now.
    None when the supply looked fine, or while the supply tables are not there yet."""
    now = ctx.now_ms()
    last = dt.date.fromisoformat(ctx.calendar.day(now))
    config = ctx.effective_config()
    try:
        r = report(
            ctx.store(),
            config.supply,
            last - dt.timedelta(days=GLANCE_DAYS - 1),
            last,
            now,
            config.gateway.commit_interval_s,
        )
    except PowerGwError:
        return None
    minutes_out = sum(f["minutes_out"] for f in map(day_figures, r["days"]) if f)
    if not r["cuts"] and not minutes_out and r["silent_since_ms"] is None:
        return None
    return {
        "days": GLANCE_DAYS,
        "cuts": len(r["cuts"]),
        "cut_minutes": r["cut_minutes"],
        "last_cut": r["cuts"][-1] if r["cuts"] else None,
        "minutes_out": minutes_out,
        "band_v": r["band_v"],
        "silent_since_ms": r["silent_since_ms"],
    }


def supply_get(ctx: UiContext, args, body):
    today = dt.date.fromisoformat(ctx.calendar.day(ctx.now_ms()))
    last = args["to"] or today
    first = args["from"] or last - dt.timedelta(days=6)
    if last < first:
        raise ApiError(400, f"from {first} is after to {last}")
    if (last - first).days >= MAX_DAYS:
        raise ApiError(400, f"from {first} to {last} is {(last - first).days + 1} days; at most {MAX_DAYS}")
    config = ctx.effective_config()
    try:
        r = report(ctx.store(), config.supply, first, last, ctx.now_ms(), config.gateway.commit_interval_s)
    except PowerGwError as err:
        raise ApiError(503, str(err)) from None
    return jsonify(r)


ROWS: tuple[Endpoint, ...] = (
    Endpoint(
        "GET",
        "/supply",
        supply_get,
        "Power cuts and voltage quality per local day: minutes outside the band, the longest run of them, the "
        "worst sag and surge, for the house (its mains meters) and each node measuring voltage",
        "supply",
        params=(
            Param("from", "date", "first local date (default: 6 days before `to`)"),
            Param("to", "date", "last local date (default: today)"),
        ),
        errors=(400, 503),
    ),
)
