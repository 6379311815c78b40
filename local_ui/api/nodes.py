"""The nodes and their health, and the live readings (once, or as server-sent events)."""

from __future__ import annotations

import json
import time

from flask import Response, jsonify, request, stream_with_context

from gateway.ingest import with_live_health
from gateway.node_identity import same_node_map
from gateway.protocol import FLAG_NOMINAL_VOLTAGE

from ..context import UiContext
from ..services import InputError
from .endpoint import ApiError, Endpoint, Param, principal


def node_view(ctx: UiContext, node: dict, live: dict | None, now: int, same_node_as: str | None = None) -> dict:
    """One node as the API shows it: the store's row, with live.json's newer values where it has them."""
    seen = max(node.get("last_seen_ms") or 0, (live or {}).get("ts_ms") or 0) or None
    ok, lost = node.get("frames_ok") or 0, node.get("frames_lost") or 0
    stored_w = (node.get("last_power_dw") or 0) / 10 if node.get("last_power_dw") is not None else None
    # Flag bit 2: the node assumed its nominal voltage (no voltage module) rather than measuring it.
    flags = (live or {}).get("flags", node.get("last_flags"))
    stored_pf = node["last_pf_milli"] / 1000 if node.get("last_pf_milli") is not None else None
    pf = (live or {}).get("pf", stored_pf) if flags is not None and not flags & FLAG_NOMINAL_VOLTAGE else None
    return {
        "node_id": node["node_id"],
        "name": node.get("name") or (live or {}).get("name") or node["node_id"],
        "reported_name": node.get("reported_name") or (live or {}).get("name"),
        "transport": node.get("transport"),
        "same_node_as": same_node_as,  # a BLE node's serial twin (one ESP32 on both), and back
        "online": seen is not None and now - seen <= ctx.offline_ms,
        "last_seen_ms": seen,
        "first_seen_ms": node.get("first_seen_ms"),
        "power_w": (live or {}).get("power_w", stored_w),
        "irms_a": (live or {}).get("irms_a"),
        "vrms_v": (live or {}).get("vrms_v", node["last_vrms_dv"] / 10 if node.get("last_vrms_dv") else None),
        "flags": flags,
        "measures_voltage": None if flags is None else not flags & FLAG_NOMINAL_VOLTAGE,
        "pf": pf,
        "fw": node.get("fw"),
        "sensor_amps": node.get("sensor_amps"),
        "mv_per_a": node["mv_per_a_x10"] / 10 if node.get("mv_per_a_x10") is not None else None,
        "sample_rate_hz": node.get("sample_rate_hz"),
        "mains_hz": node.get("mains_hz"),
        "calibrated": node.get("mv_per_a_x10") is not None,
        "frames_ok": ok,
        "frames_lost": lost,
        "loss_pct": round(100 * lost / (ok + lost), 3) if ok + lost else 0.0,
        "reboots": node.get("reboots") or 0,
        "rejected": node.get("rejected") or {},
        "energy_total_kwh": round((node.get("energy_total_mwh") or 0) / 1e6, 3),
        "export_total_kwh": round((node.get("export_total_mwh") or 0) / 1e6, 3),
    }


def node_views(ctx: UiContext) -> list[dict]:
    """Every node the store knows, each with its serial or BLE twin named."""
    live = ctx.live.snapshot()["nodes"]
    now = ctx.now_ms()
    # The store has each node's counters from the daemon's last rollup (every 5 minutes); live.json has them now.
    rows = with_live_health(ctx.store().nodes(), {"nodes": live})
    same = same_node_map((n["node_id"], n["transport"]) for n in rows)
    return [node_view(ctx, n, live.get(n["node_id"]), now, same.get(n["node_id"])) for n in rows]


def nodes_list(ctx, args, body):
    from gateway import house

    mains = house.current_mains(ctx.store().conn)
    views = node_views(ctx)
    for v in views:
        v["mains"] = v["node_id"] in mains
    return jsonify(nodes=views, mains=mains, offline_after_s=ctx.offline_ms // 1000)


def check_nodes(ctx: UiContext, names: dict | None, mains: list | None) -> None:
    """Refuse (400, naming the value) names or mains the store would not take; writes nothing."""
    from gateway import settings_store

    store = ctx.store()
    if names is not None and (
        not isinstance(names, dict) or not all(isinstance(v, (str, type(None))) for v in names.values())
    ):
        raise ApiError(400, 'names: expected {"<node id>": "a name", ...}')
    if mains is not None and (not isinstance(mains, list) or not all(isinstance(m, str) for m in mains)):
        raise ApiError(400, 'mains: expected a list of node ids, e.g. ["a4:cf:12:34:56:79"], or [] for every node')
    if mains is not None:
        known = {r[0] for r in store.conn.execute("SELECT node_id FROM nodes")}
        unknown = sorted(set(mains) - known)
        if unknown:
            raise InputError(f"mains: node {unknown[0]!r} has never reported; known: {', '.join(sorted(known))}")
    if names:
        try:
            settings_store.check_node_names(store, names)
        except settings_store.SettingsError as err:
            raise InputError(str(err)) from err


def change_nodes(ctx: UiContext, names: dict | None, mains: list | None, *, by: str) -> None:
    """Rename nodes and/or say which are the mains (the house's meters from the start of the data), all
    checked (check_nodes) before anything is written."""
    from gateway import settings_store
    from gateway.store import UnknownNodesError

    check_nodes(ctx, names, mains)
    store = ctx.store()
    if names:
        settings_store.set_node_names(store, names, by=by, now_ms=ctx.now_ms())
    from gateway import house

    unchanged = mains is not None and (
        sorted(set(mains)) == house.current_mains(store.conn)
        and store.conn.execute("SELECT 1 FROM metering_changes LIMIT 1").fetchone() is not None
    )
    if mains is not None and not unchanged:  # a change rebuilds the house's rollups from the start: only if needed
        try:
            store.set_mains(sorted(set(mains)), 0, ctx.now_ms(), source="ui")
        except UnknownNodesError as err:
            raise InputError(str(err)) from err
    ctx.wrote()


def nodes_patch(ctx, args, body):
    if body.get("names") is None and body.get("mains") is None:
        raise ApiError(400, 'nothing to change: send "names" and/or "mains"')
    change_nodes(ctx, body.get("names"), body.get("mains"), by=principal().username)
    return nodes_list(ctx, args, body)


def live_snapshot(ctx, args, body):
    return jsonify(ctx.live.snapshot())


def live_stream(ctx: UiContext, args, body):
    p = principal()
    owner = p.session_id or f"token:{p.token_id}"
    refused = ctx.open_stream(owner)
    if refused:
        raise ApiError(503, refused, {"Retry-After": "5"})
    lifetime = args["seconds"] or ctx.stream_seconds
    live = ctx.live
    # waitress reads on while the stream runs (channel_request_lookahead), so it sees the tab
    # close: the slot is free within a tick, not at the next value or keep-alive written.
    gone = request.environ.get("waitress.client_disconnected", lambda: False)

    def events():
        try:
            started = time.monotonic()
            last_stamp, last_sent = None, 0.0
            yield "retry: 2000\n\n"
            while time.monotonic() - started < lifetime and not ctx.closing.is_set() and not gone():
                stamp = live.stamp()
                if stamp != last_stamp:
                    last_stamp = stamp
                    last_sent = time.monotonic()
                    yield "event: live\ndata: " + json.dumps(live.snapshot(), separators=(",", ":")) + "\n\n"
                elif time.monotonic() - last_sent > 15:
                    last_sent = time.monotonic()
                    yield ": keep-alive\n\n"
                ctx.closing.wait(0.2)
            yield "event: bye\ndata: {}\n\n"
        finally:
            ctx.close_stream(owner)

    resp = Response(stream_with_context(events()), mimetype="text/event-stream")
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Accel-Buffering"] = "no"
    return resp


ROWS: tuple[Endpoint, ...] = (
    Endpoint(
        "GET",
        "/nodes",
        nodes_list,
        "Nodes and their health: online, last seen, frames lost, firmware, calibration; whether each measures "
        "the voltage (then its power factor and the units it sent to the grid) or assumes it",
        "data",
    ),
    Endpoint(
        "PATCH",
        "/nodes",
        nodes_patch,
        'Name nodes as the household calls them (shown everywhere instead of the node\'s own name; "" gives it '
        "back) and say which node(s) measure the whole house (the mains; [] for every node)",
        "data",
        role="admin",
        body={
            "type": "object",
            "properties": {
                "names": {"type": "object", "description": '{"<node id>": "Kitchen", ...}'},
                "mains": {"type": "array", "items": {"type": "string"}, "description": "node ids on the mains"},
            },
        },
    ),
    Endpoint(
        "GET",
        "/live",
        live_stream,
        "Live readings as server-sent events (`event: live`), a new value within about a second",
        "data",
        params=(
            Param(
                "seconds",
                "integer",
                "close the stream after this many seconds (default 300; EventSource reconnects)",
                minimum=1,
                maximum=3600,
            ),
        ),
        produces=("text/event-stream",),
        errors=(503,),
    ),
    Endpoint("GET", "/live/snapshot", live_snapshot, "The latest live readings, once", "data"),
)
