"""The overview: every node, the whole house's watts, today by hour against a usual day, the bill with its
projection and the slab ahead, alerts and the model at a glance."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from flask import jsonify

from gateway.billing.setup_gaps import billing_setup_gaps
from gateway.house import current_mains

from ..context import UiContext
from ..services import Alerts, Unavailable, model_status
from .billing import bill_summary
from .endpoint import Endpoint
from .supply import supply_glance
from .today import slab_headline, today_by_hour
from .usage import house_live, today_units


def _part(fn: Callable[[], Any]) -> Any:
    """A part of the overview that another part of powergw provides, or why it is missing."""
    try:
        return fn()
    except Unavailable as err:
        return {"unavailable": str(err)}


def overview(ctx: UiContext, args, body):
    """The Overview page in one answer; a part that cannot be shown says why instead."""
    now = ctx.now_ms()
    nodes, power_w, count_twins_once = house_live(ctx)
    day = ctx.calendar.today(now)
    today_kwh, today_cost = ctx.memo(("today", day), lambda: today_units(ctx, now))
    bill = _part(lambda: bill_summary(ctx))
    return jsonify(
        now_ms=now,
        timezone=ctx.timezone,
        nodes=nodes,
        power_w=power_w,
        count_twins_once=count_twins_once,
        today_kwh=today_kwh,
        today_cost=today_cost,
        today_hours=ctx.memo(("today_hours", day), lambda: today_by_hour(ctx, now)),
        has_readings=any(n["last_seen_ms"] for n in nodes),
        bill=bill,
        slab_headline=ctx.memo(("slab_headline", day), lambda: slab_headline(ctx, bill)),
        alerts=_part(lambda: Alerts(ctx.store(), ctx.effective_config(), ctx.now_ms).counts()),
        model=_part(
            lambda: ctx.memo(("model",), lambda: model_status(ctx.store(), now, ctx.registry_root, ctx.timezone))
        ),
        supply=ctx.memo(("supply_glance", day), lambda: supply_glance(ctx)),
        setup=[
            dataclasses.asdict(gap)
            for gap in billing_setup_gaps(
                ctx.effective_config()["billing"],
                [
                    (n["node_id"], n["transport"], n["name"] if n["name"] != n["node_id"] else None)
                    for n in nodes
                    if n["last_seen_ms"]
                ],
                current_mains(ctx.store().conn),
            )
        ],
    )


ROWS: tuple[Endpoint, ...] = (
    Endpoint(
        "GET",
        "/overview",
        overview,
        "Live watts per node and of the whole house, today's units and cost by hour against a usual day, "
        "bill till date and projection, the next slab when the projection reaches it, open alerts, model status, "
        "the power supply's last seven days when there was a cut or bad voltage (else null)",
        "data",
        errors=(503,),
    ),
)
