"""Node health alerts: a node that stopped sending, a sensor that is saturated or uncalibrated.

A job for the daemon's scheduler (`check_nodes`): it compares each node's last frame and flags
with the configured limits, raises one alert per condition (deduplicated while open) and
resolves it when the condition clears, so the Alerts tab shows what is true now.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from .alerts import alert_store
from .app import JobContext
from .protocol import FLAG_SATURATED, FLAG_UNCALIBRATED

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SensorFault:
    """One flag bit of a READING that means the numbers cannot be trusted, and what to do."""

    flag: int
    name: str
    advice: str


SENSOR_FAULTS = (
    SensorFault(
        FLAG_SATURATED, "saturated", "the current is beyond the sensor's range: fit a larger ACS712 (20 A or 30 A)"
    ),
    SensorFault(FLAG_UNCALIBRATED, "uncalibrated", "run `powergw calibrate` with a known load"),
)


@dataclass(frozen=True)
class Condition:
    """A node problem: alert kind, dedup key, whether it holds now, and the message if so."""

    kind: str
    key: str
    active: bool
    message: str
    data: dict


def node_conditions(node: dict, now_ms: int, offline_ms: int, fmt_time: Callable[[int], str]) -> list[Condition]:
    """Pure: the conditions of one node (a row of Store.nodes()) at `now_ms`."""
    label = f"{node['name']} ({node['node_id']})" if node.get("name") else node["node_id"]
    out = []
    last = node.get("last_seen_ms")
    silent_ms = None if last is None else now_ms - last
    offline = silent_ms is not None and silent_ms >= offline_ms
    out.append(
        Condition(
            "node_offline",
            f"node_offline:{node['node_id']}",
            offline,
            f"Node {label} has sent nothing for {silent_ms // 60_000 if silent_ms else 0} minutes "
            f"(last frame {fmt_time(last) if last else 'never'}); check its power and USB cable or BLE range",
            {"node_id": node["node_id"], "silent_minutes": (silent_ms or 0) // 60_000},
        )
    )
    flags = node.get("last_flags") or 0
    for fault in SENSOR_FAULTS:
        out.append(
            Condition(
                "sensor_fault",
                f"sensor_fault:{fault.name}:{node['node_id']}",
                bool(flags & fault.flag) and not offline,
                f"Sensor on node {label} is {fault.name}: {fault.advice}",
                {"node_id": node["node_id"], "fault": fault.name, "flags": flags},
            )
        )
    return out


def check_nodes(ctx: JobContext) -> dict[str, int]:
    """Raise or resolve node_offline and sensor_fault alerts; returns counts for the log and tests."""
    now = ctx.now_ms()
    offline_ms = ctx.config.gateway.node_offline_minutes * 60_000
    alerts = alert_store(ctx.store, ctx.config)
    cal = ctx.store.calendar
    open_by_key = {
        a["dedup_key"]: a
        for kind in ("node_offline", "sensor_fault")
        for a in alerts.list(state="open", kind=kind, limit=1000)
    }
    raised = resolved = 0
    for node in ctx.store.nodes():
        for c in node_conditions(node, now, offline_ms, lambda ms: cal.to_datetime(ms).strftime("%d %b %H:%M")):
            if c.active:
                _, created = alerts.raise_alert(
                    c.kind, None, c.message, now_ms=now, node_id=node["node_id"], dedup_key=c.key, data=c.data
                )
                raised += created
            elif c.key in open_by_key:
                alerts.act(open_by_key[c.key]["id"], "resolve", "powergw", "condition cleared", now_ms=now)
                resolved += 1
    if raised or resolved:
        log.info("node health: %d new alerts, %d resolved", raised, resolved)
    return {"raised": raised, "resolved": resolved}
