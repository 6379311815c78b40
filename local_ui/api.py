"""The JSON API under /api/v1: one table of endpoints drives routing, access control, input checks and OpenAPI.

Each row of `ENDPOINTS` names its method, path, the least role allowed (None: public), its
query parameters (validated from the table before the handler runs) and its body schema.
State-changing requests from a browser session must carry the session's CSRF token in
`X-CSRF-Token`; requests with an API token (`Authorization: Bearer pgw_...`) carry no cookie
and need none. Every refusal is a 4xx JSON body `{"error": {"status", "message"}}`.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import logging
import re
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask import Flask, Response, g, jsonify, request, stream_with_context
from werkzeug.routing import IntegerConverter

from gateway import __version__
from gateway.billing.money import AMOUNT_PATTERN, BUDGET_MAX_INR
from gateway.billing.setup_gaps import billing_setup_gaps
from gateway.billing.reconcile import KWH_PATTERN
from gateway.household import Household
from gateway.ingest import with_live_health
from gateway.node_identity import is_ble, same_node_map
from gateway.ops import OpsError
from gateway.ops.export import EXPORTS, ExportRange
from gateway.ops.health import connect_readonly
from gateway.store import StoreError

from .auth import AuthError, Principal, same
from .periods import (
    PERIODS,
    RESOLUTIONS,
    PeriodError,
    date_range,
    month_key,
    parse_date,
    period,
)
from .server import LOGIN_COOKIE, SESSION_COOKIE, UiContext
from .services import (
    Alerts,
    Billing,
    HouseholdSettings,
    InputError,
    MeterReadings,
    Unavailable,
    household_nodes,
    household_nodes_checked,
    model_status,
)

log = logging.getLogger(__name__)
PREFIX = "/api/v1"


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


@dataclass(frozen=True)
class Param:
    """A query parameter: its type ('string', 'integer', 'boolean', 'date'), allowed values and bounds."""

    name: str
    type: str = "string"
    doc: str = ""
    enum: tuple | None = None
    minimum: int | None = None
    maximum: int | None = None
    required: bool = False
    pattern: str | None = None  # a string's form, as the handler's parser reads it (documented; the handler checks)
    min_length: int | None = None
    max_length: int | None = None


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # Flask rule under /api/v1, e.g. "/alerts/<id:alert_id>" (an id: 1 to 2**63 - 1)
    handler: Callable
    summary: str
    tag: str
    role: str | None = "viewer"  # None: anyone, logged in or not
    params: tuple[Param, ...] = ()
    body: dict | None = None  # JSON schema of the request body
    login_csrf: bool = False  # a public write (login, setup): CSRF from the login cookie
    session_only: bool = False  # API tokens may not call it (users, tokens)
    produces: tuple[str, ...] = ("application/json",)
    headers: tuple[Param, ...] = ()
    status: tuple[int, ...] = (200,)  # success statuses it answers
    errors: tuple[int, ...] = ()  # refusals beyond those every endpoint of its kind can give (see openapi.py)


# ---- input helpers --------------------------------------------------------------------------


def _query(params: tuple[Param, ...]) -> dict[str, Any]:
    known = {p.name for p in params}
    unknown = sorted(set(request.args) - known)
    if unknown:
        raise ApiError(400, f"unknown query parameter {unknown[0]!r}; known: {', '.join(sorted(known)) or 'none'}")
    out: dict[str, Any] = {}
    for p in params:
        raw = request.args.get(p.name)
        if raw is None:
            if p.required:
                raise ApiError(400, f"query parameter {p.name!r} is required")
            out[p.name] = None
            continue
        if p.type == "integer":
            try:
                value: Any = int(raw)
            except ValueError:
                raise ApiError(400, f"{p.name} {raw!r}: expected a whole number") from None
            if (p.minimum is not None and value < p.minimum) or (p.maximum is not None and value > p.maximum):
                raise ApiError(400, f"{p.name} {value}: expected {p.minimum} to {p.maximum}")
        elif p.type == "boolean":
            if raw not in ("true", "false", "1", "0"):
                raise ApiError(400, f"{p.name} {raw!r}: expected true or false")
            value = raw in ("true", "1")
        elif p.type == "date":
            try:
                value = parse_date(p.name, raw)
            except PeriodError as err:
                raise ApiError(400, str(err)) from None
        else:
            value = raw
            if len(value) > 200:
                raise ApiError(400, f"{p.name}: longer than 200 characters")
        if p.enum is not None and value not in p.enum:
            raise ApiError(400, f"{p.name} {raw!r}: expected one of {', '.join(map(str, p.enum))}")
        out[p.name] = value
    return out


def _body(schema: dict | None) -> dict:
    if schema is None:
        return {}
    if not request.is_json:
        raise ApiError(415, "expected a JSON body (Content-Type: application/json)")
    try:
        data = json.loads(request.get_data(cache=True), parse_constant=_not_json)
    except (ValueError, RecursionError):  # RecursionError: '[' nested a thousand deep
        raise ApiError(400, "expected a JSON object as the body (UTF-8)") from None
    if not isinstance(data, dict):
        raise ApiError(400, "expected a JSON object as the body")
    _check_json(data, "body", 0)
    props = schema.get("properties", {})
    unknown = sorted(set(data) - set(props))
    if unknown:
        raise ApiError(400, f"unknown field {unknown[0]!r}; known fields: {', '.join(sorted(props))}")
    for name in schema.get("required", ()):
        if data.get(name) in (None, ""):
            raise ApiError(400, f"field {name!r} is required")
    for name, value in data.items():
        want = props[name].get("type")
        ok = {
            "string": isinstance(value, str),
            "integer": isinstance(value, int) and not isinstance(value, bool),
            None: True,
        }.get(want if isinstance(want, str) else None, True)
        if value is not None and not ok:
            raise ApiError(400, f"field {name!r}: expected a {want}")
        if isinstance(value, int) and not isinstance(value, bool) and want == "integer":
            lo, hi = props[name].get("minimum", -(2**63)), props[name].get("maximum", 2**63 - 1)
            if not lo <= value <= hi:
                raise ApiError(400, f"field {name!r} = {value}: expected a whole number from {lo} to {hi}")
        allowed = props[name].get("enum")
        if allowed is not None and value is not None and value not in allowed:
            raise ApiError(400, f"field {name!r} = {value!r}: expected one of {', '.join(allowed)}")
        if isinstance(value, str) and len(value) > props[name].get("maxLength", 500):
            raise ApiError(400, f"field {name!r}: longer than {props[name].get('maxLength', 500)} characters")
    return data


MAX_JSON_DEPTH = 8  # the deepest body the API takes is settings' {"set": {key: value}}


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _check_json(value: Any, where: str, depth: int) -> None:
    """Refuse a body nested deeper than MAX_JSON_DEPTH or holding text that is not Unicode (a lone
    surrogate such as "\\ud800", which SQLite and argon2 cannot encode), naming the field."""
    if depth > MAX_JSON_DEPTH:
        raise ApiError(400, f"{where}: nested deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ApiError(400, f"field {where!r}: not valid Unicode text (a lone surrogate)") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            name = key if where == "body" else f"{where}.{key}"
            _check_json(key, name, depth + 1)
            _check_json(item, name, depth + 1)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_json(item, f"{where}[{i}]", depth + 1)


def rupees(value: Any) -> str | None:
    """Money for JSON: a string with 2 decimals (exact), from paise ints or Decimals."""
    if value is None:
        return None
    if isinstance(value, int):
        return f"{Decimal(value) / 100:.2f}"
    return f"{Decimal(value):.2f}"


def _ctx() -> UiContext:
    return g.ctx


def _principal() -> Principal:
    return g.principal


def _wrap(ep: Endpoint) -> Callable:
    def view(**kwargs):
        ctx = _ctx()
        try:
            p = g.principal
            if request.headers.get("Authorization", "").startswith("Bearer ") and p is None:
                raise ApiError(401, "API token not recognised (revoked or mistyped)")
            if ep.role is not None:
                if p is None:
                    raise ApiError(401, "log in first (or send an API token as 'Authorization: Bearer ...')")
                if ep.session_only and p.token_id is not None:
                    raise ApiError(403, "API tokens cannot manage users or tokens; log in to the dashboard")
                if not p.can(ep.role):
                    raise ApiError(403, f"needs the {ep.role} role; you are {p.role}")
            if ep.method not in ("GET", "HEAD"):
                _check_csrf(ep, p)
            args = _query(ep.params)
            body = _body(ep.body)
            resp = ep.handler(ctx, args, body, **kwargs)
            if ep.method != "GET":
                ctx.wrote()
            return resp
        except ApiError as err:
            resp = jsonify(error={"status": err.status, "message": err.message})
            resp.status_code = err.status
            resp.headers.update(err.headers)
            return resp
        except (AuthError, InputError) as err:
            return jsonify(error={"status": err.status, "message": str(err)}), err.status
        except Unavailable as err:
            return jsonify(error={"status": 503, "message": str(err)}), 503

    view.__name__ = f"api_{ep.method.lower()}_{ep.path.strip('/').replace('/', '_').replace('<', '').replace('>', '').replace(':', '_').replace('.', '_')}"
    return view


def _check_csrf(ep: Endpoint, p: Principal | None) -> None:
    origin = request.headers.get("Origin")
    if origin and origin != request.host_url.rstrip("/"):
        raise ApiError(403, f"cross-origin request from {origin} refused")
    sent = request.headers.get("X-CSRF-Token")
    if p is not None and p.token_id is not None:
        return  # API token: no cookie, so no cross-site forgery to defend against
    if p is not None and p.csrf is not None:
        if not same(sent, p.csrf):
            raise ApiError(403, "missing or wrong CSRF token: send the X-CSRF-Token header from GET /api/v1/session")
        return
    if ep.login_csrf and not same(sent, request.cookies.get(LOGIN_COOKIE)):
        raise ApiError(403, "missing or wrong CSRF token: GET /api/v1/session first and send its csrf as X-CSRF-Token")


ID_MAX = 2**63 - 1  # SQLite's largest integer


class IdConverter(IntegerConverter):
    """A row id in a path: 1 to ID_MAX; anything else matches no route (404), never an OverflowError."""

    def __init__(self, url_map) -> None:
        super().__init__(url_map, min=1, max=ID_MAX)


def register_api(app: Flask, ctx: UiContext) -> None:
    app.url_map.converters["id"] = IdConverter
    for ep in ENDPOINTS:
        app.add_url_rule(PREFIX + ep.path, view_func=_wrap(ep), methods=[ep.method])

    @app.route(PREFIX + "/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def api_not_found(rest: str):
        # This catch-all matches any method, so Flask's own 405 never happens: answer it here.
        allowed = {ep.method for ep in ENDPOINTS if _matches(ep, rest)}
        allowed |= {"HEAD"} if "GET" in allowed else set()
        if allowed:
            resp = jsonify(error={"status": 405, "message": f"{request.method} is not allowed on /api/v1/{rest}; "
                                  f"allowed: {', '.join(sorted(allowed))}"})
            resp.status_code = 405
            resp.headers["Allow"] = ", ".join(sorted(allowed))
            return resp
        return jsonify(error={"status": 404, "message": f"no endpoint /api/v1/{rest}; see /api/v1/openapi.json"}), 404


def _matches(ep: Endpoint, rest: str) -> bool:
    pattern = re.sub(r"<id:\w+>", r"[1-9][0-9]{0,18}", re.escape(ep.path.lstrip("/")).replace(r"\<", "<").replace(r"\>", ">"))
    return re.fullmatch(pattern, rest) is not None


# ---- session, setup, users, tokens -----------------------------------------------------------


def _cookie(resp: Response, name: str, value: str, max_age: int | None) -> None:
    resp.set_cookie(name, value, max_age=max_age, httponly=True, samesite="Strict", secure=request.is_secure, path="/")


def _client() -> str:
    return request.remote_addr or "unknown"


def session_get(ctx: UiContext, args, body):
    p = g.principal
    out: dict[str, Any] = {
        "authenticated": p is not None,
        "setup_required": ctx.setup_code is not None and ctx.accounts().count_admins() == 0,
        "timezone": ctx.timezone,
        "version": __version__,
    }
    if p is not None:
        out.update(user=p.username, role=p.role, csrf=p.csrf)
        return jsonify(out)
    token = request.cookies.get(LOGIN_COOKIE)
    if not token or len(token) < 32:
        import secrets

        token = secrets.token_urlsafe(32)
    out["csrf"] = token
    resp = jsonify(out)
    _cookie(resp, LOGIN_COOKIE, token, 3600)
    return resp


def _logged_in(ctx: UiContext, user: dict, status: int = 200) -> Response:
    sid, csrf = ctx.accounts().open_session(user["id"])
    resp = jsonify(user=user["username"], role=user["role"], csrf=csrf)
    resp.status_code = status
    _cookie(resp, SESSION_COOKIE, sid, 30 * 86_400)
    resp.delete_cookie(LOGIN_COOKIE, path="/")
    return resp


LOGIN_FREE_PER_ADDRESS = 10  # wrong logins from one address over every username before it waits


def _too_many(wait: int, what: str) -> ApiError:
    return ApiError(429, f"too many {what}; try again in {wait} s", {"Retry-After": str(wait)})


def session_post(ctx: UiContext, args, body):
    username, password = body["username"], body["password"]
    # Per user at this address, and per address: never per user alone, or any device could lock
    # the household's admin out everywhere.
    pair = f"login:{username.lower()}@{_client()}"
    wait = ctx.limiter.attempt(pair, (f"login-from:{_client()}", LOGIN_FREE_PER_ADDRESS))
    if wait:
        raise _too_many(wait, "failed logins")
    user = ctx.accounts().verify(username, password)
    if user is None:
        raise ApiError(401, "wrong username or password")
    ctx.limiter.succeeded(pair)
    return _logged_in(ctx, user)


def session_delete(ctx: UiContext, args, body):
    p = _principal()
    if p.session_id:
        ctx.accounts().close_session(p.session_id)
    resp = jsonify(ok=True)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


def setup_post(ctx: UiContext, args, body):
    accounts = ctx.accounts()
    if ctx.setup_code is None or accounts.count_admins():
        raise ApiError(409, "setup is done: an admin exists; log in instead")
    key = f"setup:{_client()}"
    wait = ctx.limiter.attempt(key)
    if wait:
        raise _too_many(wait, "wrong setup codes")
    if not same(body["code"].strip().upper(), ctx.setup_code):
        raise ApiError(403, "wrong setup code: use the code printed in the gateway's log")
    ctx.limiter.succeeded(key)
    user = accounts.create_user(body["username"], body["password"], "admin", source="setup")
    ctx.setup_code = None
    return _logged_in(ctx, user, 201)


def users_list(ctx, args, body):
    return jsonify(users=ctx.accounts().users())


def users_create(ctx, args, body):
    return jsonify(ctx.accounts().create_user(body["username"], body["password"], body.get("role") or "viewer")), 201


def users_delete(ctx, args, body, user_id: int):
    if user_id == _principal().user_id:
        raise ApiError(409, "you cannot delete yourself; ask another admin")
    ctx.accounts().delete_user(user_id)
    return jsonify(ok=True)


def password_put(ctx, args, body):
    """A stolen session must not become a way to guess the password: limited like a login."""
    p = _principal()
    accounts = ctx.accounts()
    key = f"password:{p.user_id}"
    wait = ctx.limiter.attempt(key)
    if wait:
        raise _too_many(wait, "wrong current passwords")
    if accounts.verify(p.username, body["current_password"]) is None:
        raise ApiError(403, "current password is wrong")
    ctx.limiter.succeeded(key)
    revoked = accounts.set_password(p.user_id, body["new_password"])
    user = {"id": p.user_id, "username": p.username, "role": p.role}
    resp = _logged_in(ctx, user)
    resp.set_data(json.dumps(resp.get_json() | {"tokens_revoked": revoked}))
    return resp


def tokens_list(ctx, args, body):
    return jsonify(tokens=ctx.accounts().tokens())


def tokens_create(ctx, args, body):
    return jsonify(ctx.accounts().create_token(_principal(), body["name"], body.get("role") or "viewer")), 201


def tokens_delete(ctx, args, body, token_id: int):
    ctx.accounts().revoke_token(token_id)
    return jsonify(ok=True)


# ---- nodes, live, overview, usage -------------------------------------------------------------


def node_view(ctx: UiContext, node: dict, live: dict | None, now: int, same_node_as: str | None = None) -> dict:
    seen = max(node.get("last_seen_ms") or 0, (live or {}).get("ts_ms") or 0) or None
    ok, lost = node.get("frames_ok") or 0, node.get("frames_lost") or 0
    return {
        "node_id": node["node_id"],
        "name": node.get("name") or (live or {}).get("name") or node["node_id"],
        "transport": node.get("transport"),
        "same_node_as": same_node_as,  # a BLE node's serial twin (one ESP32 on both), and back
        "online": seen is not None and now - seen <= ctx.offline_ms,
        "last_seen_ms": seen,
        "first_seen_ms": node.get("first_seen_ms"),
        "power_w": (live or {}).get("power_w", (node.get("last_power_dw") or 0) / 10 if node.get("last_power_dw") is not None else None),
        "irms_a": (live or {}).get("irms_a"),
        "vrms_v": (live or {}).get("vrms_v"),
        "flags": (live or {}).get("flags", node.get("last_flags")),
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
    }


def _nodes(ctx: UiContext) -> list[dict]:
    live = ctx.live.snapshot()["nodes"]
    now = ctx.now_ms()
    # The store has each node's counters from the daemon's last rollup (every 5 minutes); live.json has them now.
    rows = with_live_health(ctx.store().nodes(), {"nodes": live})
    same = same_node_map((n["node_id"], n["transport"]) for n in rows)
    return [node_view(ctx, n, live.get(n["node_id"]), now, same.get(n["node_id"])) for n in rows]


def nodes_list(ctx, args, body):
    return jsonify(nodes=_nodes(ctx), offline_after_s=ctx.offline_ms // 1000)


def live_snapshot(ctx, args, body):
    return jsonify(ctx.live.snapshot())


def live_stream(ctx: UiContext, args, body):
    p = _principal()
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


def _today(ctx: UiContext, now: int) -> tuple[float | None, str | None]:
    """The household's kWh since local midnight and what they add to the cycle's bill (rupees).

    None where billing cannot count or price them; the overview's bill part then says why.
    """
    try:
        billing = _billing(ctx)
    except Unavailable:  # billing not installed: no [billing] metered_nodes, so every node is the household
        cal = ctx.calendar
        days = Household(ctx.store()).usage(cal.day_start_ms(cal.today(now)), now + 1, "day")
        return round(sum(days.values()) / 1e6, 3), None
    try:
        units = round(float(billing.today_kwh()), 3)
    except Unavailable:
        return None, None
    try:
        return units, rupees(billing.today_cost())
    except Unavailable:
        return units, None


def _part(fn: Callable[[], Any]) -> Any:
    """A part of the overview that another part of powergw provides, or why it is missing."""
    try:
        return fn()
    except Unavailable as err:
        return {"unavailable": str(err)}


def overview(ctx: UiContext, args, body):
    now = ctx.now_ms()
    household = household_nodes(ctx.effective_config())
    # Every node is listed; only the whole-house ones ([billing] metered_nodes) make the totals.
    nodes = [n | {"metered": household is None or n["node_id"] in household} for n in _nodes(ctx)]
    online = [n for n in nodes if n["metered"] and n["online"] and n["power_w"] is not None]
    if household is None:
        # Every node is the house: an ESP32 on both serial and BLE counts once, by serial while that is online.
        on = {n["node_id"] for n in online}
        online = [n for n in online if not (is_ble(n["transport"]) and n["same_node_as"] in on)]
    today_kwh, today_cost = ctx.memo(("today", ctx.calendar.today(now)), lambda: _today(ctx, now))
    return jsonify(
        now_ms=now,
        timezone=ctx.timezone,
        nodes=nodes,
        power_w=round(sum(n["power_w"] for n in online), 1) if online else None,
        count_twins_once=household is None,
        today_kwh=today_kwh,
        today_cost=today_cost,
        bill=_part(lambda: _bill_summary(ctx)),
        alerts=_part(lambda: Alerts(ctx.store(), ctx.effective_config(), ctx.now_ms).counts()),
        model=_part(lambda: ctx.memo(("model",), lambda: model_status(ctx.store(), now, ctx.registry_root, ctx.timezone))),
        setup=[dataclasses.asdict(gap) for gap in billing_setup_gaps(
            ctx.effective_config()["billing"],
            [(n["node_id"], n["transport"], n["name"] if n["name"] != n["node_id"] else None) for n in nodes if n["last_seen_ms"]])],
    )


def _usage_period(ctx: UiContext, args: dict):
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
    """Every node's energy per bucket, and the household's total by billing's rule.

    The total (`total_kwh`, `total_points`) counts the nodes in `household` ([billing]
    metered_nodes; None = every node), or the one node asked for; `no_total` says why there is
    none (a metered node that never reported).
    """
    cal = ctx.calendar
    store = ctx.store()
    start, end = cal.day_start_ms(p.first), cal.day_start_ms(p.end)
    end = min(end, max(start, ctx.now_ms() + 1)) if p.first <= dt.date.fromisoformat(cal.today(ctx.now_ms())) else end
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
    house = Household(store) if node is None and household is None else None
    if house is not None and house.twins:
        # An ESP32 on both serial and BLE is two series but one node in the total (billing's rule).
        for b, mwh in house.usage(start, end, res).items():
            total_mwh[bucket(b)] = total_mwh.get(bucket(b), 0) + mwh
    else:
        for s in series.values():
            if counted(s["node_id"]):
                for b, mwh in s["points"].items():
                    total_mwh[b] = total_mwh.get(b, 0) + mwh
    out = []
    for s in sorted(series.values(), key=lambda s: s["name"] or ""):
        pts = sorted(s["points"].items())
        out.append({"node_id": s["node_id"], "name": s["name"], "metered": metered(s["node_id"]),
                    "points": [[b, round(mwh / 1e6, 6)] for b, mwh in pts]})
    return {
        "buckets": _buckets(ctx, p),
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
    }


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
    p = _usage_period(ctx, args)
    today = ctx.calendar.today(ctx.now_ms())

    def compute() -> dict:
        # The household's total follows the bill: [billing] metered_nodes, refused as billing refuses it.
        try:
            household, no_total = household_nodes_checked(ctx.store(), ctx.effective_config()), None
        except Unavailable as err:
            household, no_total = frozenset(ctx.effective_config()["billing"].metered_nodes), str(err)
        data = usage_series(ctx, p, args["node"], household, no_total)
        if args["compare"]:
            data["previous"] = usage_series(ctx, p.previous(), args["node"], household, no_total)
        return data

    data = ctx.memo(("usage", p, args["node"], bool(args["compare"]), today), compute)
    if args["format"] == "csv":
        return _usage_csv(ctx, data)
    return jsonify(data)


def _usage_csv(ctx: UiContext, data: dict) -> Response:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["start_local", "start_utc_ms", "node_id", "node_name", "energy_kwh"])
    for s in data["series"]:
        for b, kwh in s["points"]:
            w.writerow([ctx.calendar.isoformat(b), b, s["node_id"], s["name"], f"{kwh:.6f}"])
    name = f"powergw-usage-{data['first_day']}-to-{data['last_day']}-{data['resolution']}.csv"
    return Response(buf.getvalue(), mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})


# ---- billing ----------------------------------------------------------------------------------


def _billing(ctx: UiContext) -> Billing:
    return Billing(ctx.store(), ctx.effective_config(), ctx.now_ms)


def _bill_summary(ctx: UiContext) -> dict:
    return ctx.memo(("bill",), lambda: _billing(ctx).summary())


def bill_current(ctx, args, body):
    return jsonify(_bill_summary(ctx))


def bills_list(ctx, args, body):
    return jsonify(bills=_billing(ctx).bills())


def budget_get(ctx, args, body):
    return jsonify(_billing(ctx).budget())


def budget_put(ctx, args, body):
    return jsonify(_billing(ctx).set_budget(body["amount"], by=_principal().username))


def payments_list(ctx, args, body):
    return jsonify(payments=_billing(ctx).payments(limit=args["limit"] or 100))


def payments_create(ctx, args, body):
    key = request.headers.get("Idempotency-Key")
    if key is None:  # the header, if sent, is the key (an empty one is refused, not replaced by the body's)
        key = body.get("idempotency_key")
    if not key or not 8 <= len(key) <= 100:
        raise ApiError(400, "an Idempotency-Key header (8 to 100 characters) is required, so a retry records the payment once")
    billing = _billing(ctx)
    payment, created = billing.pay(body["amount"], key=key, bill_id=body.get("bill_id"), method=body.get("method") or "upi",
                                   reference=body.get("reference"), by=_principal().username)
    return jsonify(payment=payment, created=created, balance=billing.balance()), 201 if created else 200


def payment_confirm(ctx, args, body, payment_id: int):
    return jsonify(_billing(ctx).confirm(payment_id, by=_principal().username))


def balance_get(ctx, args, body):
    return jsonify(_billing(ctx).balance())


def upi_get(ctx, args, body):
    billing = _billing(ctx)
    billing.payment_amount(args["amount"])  # a bad amount is a 400 whether or not UPI is configured
    billing.upi_ready()
    return jsonify(billing.upi(args["amount"]))


# ---- CSV export ----------------------------------------------------------------------------------


def _export(kind: str) -> Callable:
    """GET /export/KIND.csv: the rows `powergw export KIND` writes (gateway.ops.export), streamed as they are read."""

    def handler(ctx: UiContext, args, body):
        cal = ctx.calendar
        last = args["to"] or dt.date.fromisoformat(cal.today(ctx.now_ms()))
        first = args["from"]
        if first is None and kind in _EXPORT_LAST_30_DAYS:
            first = last - dt.timedelta(days=30)  # the CLI's default range
        if first is not None and last < first:
            raise ApiError(400, f"to {last} is before from {first}")
        node = args.get("node")
        if node is not None:
            try:
                ctx.store().node_keys(node)
            except StoreError as err:
                raise ApiError(404, str(err)) from None
        rng = ExportRange(cal.day_start_ms(first) if first else 0, cal.day_start_ms(last + dt.timedelta(days=1)), cal, node)
        # Its own read-only connection, as the CLI's: a long download holds nothing of this thread's store.
        try:
            conn = connect_readonly(ctx.db_path)
        except OpsError as err:
            raise Unavailable(str(err)) from err
        rows = EXPORTS[kind][1](conn, rng)
        try:
            header = next(rows)  # a missing table is refused here, before any byte is sent
        except (OpsError, sqlite3.Error) as err:
            conn.close()
            raise Unavailable(f"cannot export {kind}: {err}") from err

        def chunks():
            buf = io.StringIO()
            writer = csv.writer(buf, lineterminator="\n")  # as gateway.ops.export.write_csv writes it
            writer.writerow(header)
            try:
                for row in rows:
                    writer.writerow(row)
                    if buf.tell() >= 65_536:
                        yield buf.getvalue()
                        buf.seek(0)
                        buf.truncate()
                yield buf.getvalue()
            except sqlite3.Error:
                # Headers are gone; dropping the connection mid-body is how the client learns
                # the file is incomplete (a clean end would look like a whole export).
                log.exception("export %s: database error after the download started", kind)
                raise

        name = f"powergw-{kind}-{first.isoformat() if first else 'all'}-to-{last.isoformat()}.csv"
        resp = Response(chunks(), mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})
        resp.call_on_close(conn.close)  # also when the client goes away mid-download
        return resp

    handler.__name__ = f"export_{kind}"
    return handler


# ---- alerts, model, settings -------------------------------------------------------------------


def _alerts(ctx: UiContext) -> Alerts:
    return Alerts(ctx.store(), ctx.effective_config(), ctx.now_ms)


def alerts_list(ctx, args, body):
    a = _alerts(ctx)
    states = None
    if args["state"]:
        states = tuple(s for s in args["state"].split(",") if s)
        bad = [s for s in states if s not in a.states]
        if bad:
            raise ApiError(400, f"state {bad[0]!r}: expected one of {', '.join(a.states)} (comma-separated)")
    if args["kind"] and args["kind"] not in a.kinds:
        raise ApiError(400, f"kind {args['kind']!r}: expected one of {', '.join(sorted(a.kinds))}")
    since = ctx.calendar.day_start_ms(args["since"]) if args["since"] else None
    items = a.list(state=states, kind=args["kind"], since_ms=since, limit=args["limit"] or 100, node_id=args["node"])
    return jsonify(alerts=items, counts=a.counts(), kinds=a.kinds, actions={k: v[0] for k, v in a.actions.items()})


def alert_get(ctx, args, body, alert_id: int):
    return jsonify(_alerts(ctx).get(alert_id))


def _act(action: str):
    def handler(ctx, args, body, alert_id: int):
        comment = (body.get("comment") or "").strip()
        return jsonify(_alerts(ctx).act(alert_id, action, _principal().username, comment))

    handler.__name__ = f"alert_{action}"
    return handler


def model_get(ctx, args, body):
    return jsonify(model_status(ctx.store(), ctx.now_ms(), ctx.registry_root, ctx.timezone))


def settings_get(ctx: UiContext, args, body):
    """The keys the household may set (value in force, source, when a change applies), the config file, the accounts."""
    sections: dict[str, Any] = {}
    if ctx.config is not None:
        import dataclasses

        from gateway.config import SECTIONS

        for name in SECTIONS:
            try:
                section = ctx.config[name]
            except (ImportError, AttributeError):
                log.debug("settings: section [%s] belongs to a part not installed here", name)
                continue
            values = {}
            for f in dataclasses.fields(section):
                v = getattr(section, f.name)
                if any(word in f.name for word in ("password", "secret", "token", "key")) and v:
                    v = "(set)"
                values[f.name] = str(v) if not isinstance(v, (int, float, bool, list, dict, type(None))) else v
            sections[name] = values
    p = _principal()
    out: dict[str, Any] = {
        "editable": HouseholdSettings(ctx.store(), ctx.config).describe(),
        "timezone": ctx.timezone,
        "config_source": getattr(ctx.config, "source", None),
        "sections": sections,
        "me": {"username": p.username, "role": p.role},
        "offline_after_s": ctx.offline_ms // 1000,
    }
    if p.can("admin") and p.token_id is None:
        out["users"] = ctx.accounts().users()
        out["tokens"] = ctx.accounts().tokens()
    return jsonify(out)


def settings_patch(ctx: UiContext, args, body):
    """Set or reset household settings: all validated first, then written together, or none."""
    set_values = {} if body.get("set") is None else body["set"]
    reset = [] if body.get("reset") is None else body["reset"]
    if not isinstance(set_values, dict) or not isinstance(reset, list) or not all(isinstance(k, str) for k in reset):
        raise ApiError(400, "expected {\"set\": {key: value, ...}, \"reset\": [key, ...]}")
    if not set_values and not reset:
        raise ApiError(400, "nothing to change: send \"set\" and/or \"reset\"")
    editable = HouseholdSettings(ctx.store(), ctx.config).change(set_values, reset, by=_principal().username, now_ms=ctx.now_ms())
    return jsonify(editable=editable)


def _meter(ctx: UiContext) -> MeterReadings:
    return MeterReadings(ctx.store(), ctx.effective_config(), ctx.now_ms)


def meter_readings_list(ctx, args, body):
    meter = _meter(ctx)
    return jsonify(readings=meter.list(limit=args["limit"] or 100), audit=meter.audit())


def meter_reading_put(ctx, args, body, reading_id: int):
    return jsonify(_meter(ctx).correct(reading_id, body["value"], by=_principal().username, note=(body.get("note") or "").strip()))


def meter_reading_delete(ctx, args, body, reading_id: int):
    return jsonify(_meter(ctx).delete(reading_id, by=_principal().username))


def meter_readings_create(ctx, args, body):
    has_reading, has_units = body.get("reading") is not None, body.get("billed_units") is not None
    if has_reading == has_units:
        raise ApiError(400, "send either reading (the meter's register in kWh) or billed_units with from and to")
    if has_reading and (body.get("from") or body.get("to")):
        raise ApiError(400, "from/to go with billed_units; a register reading is taken now")
    row = _meter(ctx).record(reading=body.get("reading"), billed_units=body.get("billed_units"), date_from=body.get("from"),
                             date_to=body.get("to"), note=(body.get("note") or "").strip())
    return jsonify(row), 201


def openapi_get(ctx, args, body):
    from .openapi import document

    return jsonify(document(ENDPOINTS, PREFIX))


# ---- the table -----------------------------------------------------------------------------------

_LOGIN = {"type": "object", "required": ["username", "password"],
          "properties": {"username": {"type": "string", "maxLength": 32}, "password": {"type": "string", "maxLength": 256}}}
_AMOUNT = {"type": ["string", "integer"], "pattern": AMOUNT_PATTERN, "minimum": 1,
           "description": "rupees, > 0: ASCII digits, at most 2 decimals, commas optional "
           "(\"1500\", \"1,500.50\", \"1,23,456.78\"); a JSON float is refused"}
_BUDGET = _AMOUNT | {"minimum": 0, "maximum": BUDGET_MAX_INR, "description": "rupees, e.g. \"2500.00\" or \"1,500\"; 0 turns it off"}
_KWH = {"type": "string", "maxLength": 20, "pattern": KWH_PATTERN}
_BILL_DAY = {"type": "string", "format": "date", "maxLength": 10}
_COMMENT = {"type": "object", "properties": {"comment": {"type": "string", "maxLength": 500}}}
_USAGE_PARAMS = (
    Param("period", doc="day, week (Mon-Sun), month, billing cycle or year containing `date`", enum=PERIODS),
    Param("date", "date", "a local date inside the period (default today)"),
    Param("start", "date", "first local day of a custom range"),
    Param("end", "date", "last local day of a custom range (included)"),
    Param("resolution", doc="bucket size (default: hour for day/week, day for month/cycle, month for year)", enum=RESOLUTIONS),
    Param("node", doc="one node's id (default: every node)"),
    Param("compare", "boolean", "also return the previous period as `previous`"),
    Param("format", doc="json (default) or csv", enum=("json", "csv")),
)
_LIMIT = Param("limit", "integer", "at most this many, newest first", minimum=1, maximum=1000)
_EXPORT_LAST_30_DAYS = ("readings", "daily")  # by default, as the CLI; bills and payments: all of them
_EXPORT_FROM = Param("from", "date", "first local day (default: 30 days before `to`)")
_EXPORT_TO = Param("to", "date", "last local day, included (default: today)")
_EXPORT_NODE = Param("node", doc="one node's id (default: every node)")
_EXPORT_PARAMS = {
    "readings": (_EXPORT_FROM, _EXPORT_TO, _EXPORT_NODE),
    "daily": (_EXPORT_FROM, _EXPORT_TO, _EXPORT_NODE),
    "bills": (Param("from", "date", "first local day a bill was closed on (default: the first bill)"), _EXPORT_TO),
    "payments": (Param("from", "date", "first local day a payment was recorded on (default: the first payment)"), _EXPORT_TO),
}

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("GET", "/openapi.json", openapi_get, "This document", "meta", role=None),
    Endpoint("GET", "/session", session_get, "Who is logged in, the CSRF token to send on writes, and whether first-time setup is needed", "auth", role=None),
    Endpoint("POST", "/session", session_post, "Log in (rate-limited per user at an address and per address: after 5 failures (10 from one address over all users) each try waits 30 s, then 1, 2, 4, 8, 15 min: 429 with Retry-After)", "auth", role=None, body=_LOGIN, login_csrf=True, errors=(401, 429)),
    Endpoint("DELETE", "/session", session_delete, "Log out", "auth"),
    Endpoint("POST", "/setup", setup_post, "First-time setup: create the admin with the one-time code from the gateway's log", "auth", role=None, login_csrf=True,
             body={"type": "object", "required": ["code", "username", "password"], "properties": {
                 "code": {"type": "string", "maxLength": 20}, "username": {"type": "string", "maxLength": 32}, "password": {"type": "string", "maxLength": 256}}}, status=(201,), errors=(409, 429)),
    Endpoint("PUT", "/me/password", password_put, "Change your own password: ends your other sessions and revokes your API tokens (tokens_revoked says how many); "
             "wrong current passwords are limited like logins", "auth",
             body={"type": "object", "required": ["current_password", "new_password"], "properties": {
                 "current_password": {"type": "string", "maxLength": 256}, "new_password": {"type": "string", "maxLength": 256}}}, session_only=True, errors=(429,)),
    Endpoint("GET", "/users", users_list, "Dashboard users", "auth", role="admin", session_only=True),
    Endpoint("POST", "/users", users_create, "Add a user (admin or viewer)", "auth", role="admin", session_only=True,
             body={"type": "object", "required": ["username", "password"], "properties": {
                 "username": {"type": "string", "maxLength": 32}, "password": {"type": "string", "maxLength": 256},
                 "role": {"type": "string", "enum": ["admin", "viewer"]}}}, status=(201,), errors=(409,)),
    Endpoint("DELETE", "/users/<id:user_id>", users_delete, "Remove a user (never the last admin)", "auth", role="admin", session_only=True, errors=(409,)),
    Endpoint("GET", "/tokens", tokens_list, "API tokens (never their secret)", "auth", role="admin", session_only=True),
    Endpoint("POST", "/tokens", tokens_create, "Create an API token for scripts; the secret is shown once", "auth", role="admin", session_only=True,
             body={"type": "object", "required": ["name"], "properties": {"name": {"type": "string", "maxLength": 64},
                                                                          "role": {"type": "string", "enum": ["admin", "viewer"]}}}, status=(201,)),
    Endpoint("DELETE", "/tokens/<id:token_id>", tokens_delete, "Revoke an API token", "auth", role="admin", session_only=True),
    Endpoint("GET", "/overview", overview, "Live watts per node and of the whole house, today's units and cost, bill till date and "
             "projection, open alerts, model status", "data", errors=(503,)),
    Endpoint("GET", "/nodes", nodes_list, "Nodes and their health: online, last seen, frames lost, firmware, calibration", "data"),
    Endpoint("GET", "/live", live_stream, "Live readings as server-sent events (`event: live`), a new value within about a second", "data",
             params=(Param("seconds", "integer", "close the stream after this many seconds (default 300; EventSource reconnects)", minimum=1, maximum=3600),),
             produces=("text/event-stream",), errors=(503,)),
    Endpoint("GET", "/live/snapshot", live_snapshot, "The latest live readings, once", "data"),
    Endpoint("GET", "/usage", usage, "Energy (kWh) per node per bucket for a period or a custom range, and the household's total ([billing] metered_nodes); CSV with format=csv", "data",
             params=_USAGE_PARAMS, produces=("application/json", "text/csv"), errors=(404, 503)),
    Endpoint("GET", "/bill", bill_current, "This cycle: units and bill till date, projection, budget, slab position and breakdown", "billing"),
    Endpoint("GET", "/bills", bills_list, "Closed bills, newest first", "billing"),
    Endpoint("GET", "/budget", budget_get, "The budget in rupees per cycle", "billing"),
    Endpoint("PUT", "/budget", budget_put, "Set the budget (0 turns budget alerts off)", "billing", role="admin",
             body={"type": "object", "required": ["amount"], "properties": {"amount": _BUDGET}}),
    Endpoint("GET", "/payments", payments_list, "Payments, newest first", "billing", params=(_LIMIT,)),
    Endpoint("POST", "/payments", payments_create, "Record a payment (part or full); the Idempotency-Key header makes a retry record it once", "billing", role="admin",
             headers=(Param("Idempotency-Key", required=True, doc="8 to 100 characters, unique per intended payment", min_length=8, max_length=100),),
             body={"type": "object", "required": ["amount"], "properties": {
                 "amount": _AMOUNT, "bill_id": {"type": "integer", "minimum": 1, "maximum": ID_MAX}, "method": {"type": "string", "enum": ["upi", "cash", "card", "netbanking", "other"]},
                 "reference": {"type": "string", "maxLength": 100}, "idempotency_key": {"type": "string", "maxLength": 100}}}, status=(200, 201), errors=(404, 409)),
    Endpoint("POST", "/payments/<id:payment_id>/confirm", payment_confirm, "Confirm a pending (UPI) payment as received by the utility", "billing", role="admin"),
    Endpoint("GET", "/payments/upi", upi_get, "The UPI payment link and QR code (SVG) for an amount to the utility's VPA", "billing",
             params=(Param("amount", required=True, doc="rupees, > 0, at most 2 decimals, commas optional", pattern=AMOUNT_PATTERN),)),
    Endpoint("GET", "/balance", balance_get, "Signed running balance: positive is owed, negative is credit", "billing"),
    Endpoint("GET", "/alerts", alerts_list, "Alerts newest first, with counts per state", "alerts", params=(
        Param("state", doc="one or more of open, ignored, raised, resolved (comma-separated)"),
        Param("kind", doc="one alert kind"),
        Param("node", doc="one node's id"),
        Param("since", "date", "only alerts seen on or after this local date"),
        _LIMIT), errors=(503,)),
    Endpoint("GET", "/alerts/<id:alert_id>", alert_get, "One alert with its history of actions", "alerts", errors=(503,)),
    Endpoint("POST", "/alerts/<id:alert_id>/ignore", _act("ignore"), "Ignore: not a problem (teaches the theft model this pattern is normal)", "alerts", role="admin", body=_COMMENT, errors=(409,)),
    Endpoint("POST", "/alerts/<id:alert_id>/unignore", _act("unignore"), "Stop ignoring: take back an Ignore (the alert is open again; "
             "for theft the next hourly check drops the Ignore's rule and what it taught the model)", "alerts", role="admin", body=_COMMENT, errors=(409,)),
    Endpoint("POST", "/alerts/<id:alert_id>/raise", _act("raise"), "Raise: this is real (escalate; keeps alerting)", "alerts", role="admin", body=_COMMENT, errors=(409,)),
    Endpoint("POST", "/alerts/<id:alert_id>/resolve", _act("resolve"), "Resolve: dealt with", "alerts", role="admin", body=_COMMENT, errors=(409,)),
    Endpoint("GET", "/model", model_get, "Theft model: version, check-set figures, whether this household is still being learned, "
             "and the Ignore rules in force in words (ignore_rules: alert_id, text, expires_ms, renewing, alert_state)", "data", errors=(503,)),
    Endpoint("GET", "/meter-readings", meter_readings_list, "Meter readings and billed units entered, each with its gap to the sensors and any meter_mismatch alert", "billing",
             params=(_LIMIT,), errors=(503,)),
    Endpoint("POST", "/meter-readings", meter_readings_create, "Enter the meter's register reading (taken now) or a real bill's units for a period; compared with the sensors", "billing",
             role="admin", body={"type": "object", "properties": {
                 "reading": _KWH | {"description": "meter register in kWh as the meter shows it: "
                                    "up to 6 digits and 3 decimals, e.g. \"12345.6\""},
                 "billed_units": _KWH | {"description": "units on the utility's bill for from..to (same form)"},
                 "from": _BILL_DAY | {"description": "first day of the billed period (YYYY-MM-DD, 2000 or later)"},
                 "to": _BILL_DAY | {"description": "the next meter-reading day, exclusive (YYYY-MM-DD): after from, not after "
                                    "today, at most 100 days after from"},
                 "note": {"type": "string", "maxLength": 200}}}, status=(201,)),
    Endpoint("PUT", "/meter-readings/<id:reading_id>", meter_reading_put, "Correct a meter reading's or billed units' kWh (a typo); "
             "compared with the sensors again, the old value kept in the audit list", "billing", role="admin",
             body={"type": "object", "required": ["value"], "properties": {
                 "value": _KWH | {"description": "the right kWh, e.g. \"12345.6\""},
                 "note": {"type": "string", "maxLength": 200}}}, errors=(503,)),
    Endpoint("DELETE", "/meter-readings/<id:reading_id>", meter_reading_delete, "Delete a meter reading or billed units entered by "
             "mistake; the next reading is compared again, an audit line keeps what it was", "billing", role="admin", errors=(503,)),
    *(Endpoint("GET", f"/export/{kind}.csv", _export(kind), f"CSV of {EXPORTS[kind][0]}, as `powergw export {kind}` writes it "
               "(local ISO 8601 times, exact Wh and rupees); a download (Content-Disposition: attachment)", "export",
               params=params, produces=("text/csv",)) for kind, params in _EXPORT_PARAMS.items()),
    Endpoint("GET", "/settings", settings_get, "Household settings in force and where each comes from; the config file; users and tokens for admins", "settings"),
    Endpoint("PATCH", "/settings", settings_patch, "Set (\"set\": {key: value}) or reset to the config file (\"reset\": [key]) household settings; "
             "validated like the config file, all or nothing", "settings", role="admin",
             body={"type": "object", "properties": {
                 "set": {"type": "object", "description": "e.g. {\"billing.tariff\": \"delhi-domestic\", \"ble.bindkeys.A4:CF:12:34:56:7A\": \"<32 hex>\"}; "
                         "secrets (email.password, ble.bindkeys.*) are write-only"},
                 "reset": {"type": "array", "items": {"type": "string"}, "description": "keys to take from the config file again"}}}, errors=(503,)),
)
