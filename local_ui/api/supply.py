"""The supply: power cuts and the mains voltage's quality per day (gateway/supply), for the dashboard."""

from __future__ import annotations

import datetime as dt

from flask import jsonify

from gateway import PowerGwError
from gateway.supply.report import report

from ..context import UiContext
from .endpoint import ApiError, Endpoint, Param

MAX_DAYS = 366


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
