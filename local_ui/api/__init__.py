"""The JSON API under /api/v1: one table of endpoints drives routing, access control, input checks and OpenAPI.

Each row of `ENDPOINTS` names its method, path, the least role allowed (None: public), its
query parameters (validated from the table before the handler runs) and its body schema; each
resource's module holds its own rows, and the table is their concatenation in the order below.
State-changing requests from a browser session must carry the session's CSRF token in
`X-CSRF-Token`; requests with an API token (`Authorization: Bearer pgw_...`) carry no cookie
and need none. Every refusal is a 4xx JSON body `{"error": {"status", "message"}}`.
"""

from __future__ import annotations

import re

from flask import Flask, jsonify, request
from werkzeug.routing import IntegerConverter

from ..context import UiContext
from ..openapi import document
from . import alerts, billing, export, meter_readings, nodes, overview, power, sessions, settings, usage
from .endpoint import ID_MAX, ApiError, Endpoint, Param
from .supply import ROWS as SUPPLY_ROWS
from .validation import wrap

PREFIX = "/api/v1"


def openapi_get(ctx, args, body):
    return jsonify(document(ENDPOINTS, PREFIX))


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("GET", "/openapi.json", openapi_get, "This document", "meta", role=None),
    *sessions.ROWS,
    *overview.ROWS,
    *nodes.ROWS,
    *usage.ROWS,
    *power.ROWS,
    *billing.ROWS,
    *alerts.ROWS,
    *meter_readings.ROWS,
    *export.ROWS,
    *settings.ROWS,
    *SUPPLY_ROWS,
)


class IdConverter(IntegerConverter):
    """A row id in a path: 1 to ID_MAX; anything else matches no route (404), never an OverflowError."""

    def __init__(self, url_map) -> None:
        super().__init__(url_map, min=1, max=ID_MAX)


def register_api(app: Flask, ctx: UiContext) -> None:
    """Route every row of ENDPOINTS, and answer any other path under /api/v1 with a JSON 404 or 405."""
    app.url_map.converters["id"] = IdConverter
    for ep in ENDPOINTS:
        app.add_url_rule(PREFIX + ep.path, view_func=wrap(ep), methods=[ep.method])

    @app.route(PREFIX + "/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def api_not_found(rest: str):
        # This catch-all matches any method, so Flask's own 405 never happens: answer it here.
        allowed = {ep.method for ep in ENDPOINTS if _matches(ep, rest)}
        allowed |= {"HEAD"} if "GET" in allowed else set()
        if allowed:
            resp = jsonify(
                error={
                    "status": 405,
                    "message": f"{request.method} is not allowed on /api/v1/{rest}; "
                    f"allowed: {', '.join(sorted(allowed))}",
                }
            )
            resp.status_code = 405
            resp.headers["Allow"] = ", ".join(sorted(allowed))
            return resp
        message = f"no endpoint /api/v1/{rest}; see /api/v1/openapi.json"
        return jsonify(error={"status": 404, "message": message}), 404


def _matches(ep: Endpoint, rest: str) -> bool:
    """Whether `rest` (a path under /api/v1/) is `ep`'s path, whatever the method."""
    path = re.escape(ep.path.lstrip("/")).replace(r"\<", "<").replace(r"\>", ">")
    pattern = re.sub(r"<id:\w+>", r"[1-9][0-9]{0,18}", path)
    return re.fullmatch(pattern, rest) is not None


__all__ = ["ENDPOINTS", "PREFIX", "ApiError", "Endpoint", "Param", "register_api"]
