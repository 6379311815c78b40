"""Every check a request passes before its handler runs: the token, the role, CSRF and Origin, the query
parameters and the JSON body, each refusal a 4xx JSON answer `{"error": {"status", "message"}}`."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import g, jsonify, request

from ..auth import AuthError, Principal, same
from ..context import LOGIN_COOKIE, UiContext
from ..periods import PeriodError, parse_date
from ..services import InputError, Unavailable
from .endpoint import ApiError, Endpoint, Param


def wrap(ep: Endpoint) -> Callable:
    """The Flask view for `ep`: every check of the row, then its handler; refusals as JSON."""

    def view(**kwargs):
        ctx: UiContext = g.ctx
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

    path = ep.path.strip("/").replace("/", "_").replace("<", "").replace(">", "").replace(":", "_").replace(".", "_")
    view.__name__ = f"api_{ep.method.lower()}_{path}"
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


def _query(params: tuple[Param, ...]) -> dict[str, Any]:
    """The query string checked against `params`: every known name, None where absent."""
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
    """The JSON body checked against `schema` (types, bounds, enums, lengths); {} when the row takes none."""
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
