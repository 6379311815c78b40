"""The reference cloud API: a Flask app factory over the table of operations (routes.routes).

Every input is checked before it reaches the database; a bad request is answered 400 with the
field named, 401/403 for tokens, 413 for oversize bodies, 415 for a body that is not JSON, and
never 500. Tokens are bearer tokens of 32 random bytes kept as SHA-256 hashes (store.token_hash).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from .checks import checked_body, json_object, query_int
from .context import AttemptLimiter, CloudApi, ServerSettings
from .errors import Abort, BadField, fail
from .openapi import document
from .routes import ID_MAX, Route, routes
from .store import Caller, CloudStore

log = logging.getLogger(__name__)


class IdConverter(IntegerConverter):
    """A row id in a path: 1 to ID_MAX; anything else matches no route (404), never an OverflowError."""

    def __init__(self, url_map: Any) -> None:
        super().__init__(url_map, min=1, max=ID_MAX)


def create_app(
    store: CloudStore, settings: ServerSettings = ServerSettings(), *, clock_ms: Callable[[], int] | None = None
) -> Flask:
    """The cloud API over `store`, one view per row of `routes(settings)`; `clock_ms` is injectable for tests."""
    clock = clock_ms or (lambda: time.time_ns() // 1_000_000)
    app = Flask("powergw-cloud")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False
    app.url_map.converters["id"] = IdConverter
    table = routes(settings)
    api = CloudApi(
        store, settings, clock, AttemptLimiter(clock, limit=settings.max_register_failures), document(table, settings)
    )
    _error_handlers(app)
    for route in table:
        app.add_url_rule(
            route.path,
            endpoint=route.view,
            view_func=_guarded(api, route),
            methods=[route.method],
            provide_automatic_options=False,
        )
    return app


def _error_handlers(app: Flask) -> None:
    @app.errorhandler(BadField)
    def bad_field(err: BadField) -> Response:
        return fail(400, f"{err.field}: {err.reason}", err.field)

    @app.errorhandler(Abort)
    def aborted(err: Abort) -> Response:
        return err.response

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException) -> Response:
        resp = fail(err.code or 500, err.description or err.name)
        allow = dict(err.get_headers()).get("Allow")
        if allow:  # a 405 names the methods the path takes
            resp.headers["Allow"] = allow
        return resp

    @app.errorhandler(Exception)
    def crash(err: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return fail(500, "internal error")


def _guarded(api: CloudApi, route: Route) -> Callable[..., Response]:
    """The row's handler behind its caller check, with its query parameters and JSON body checked as keyword
    arguments."""

    def run(**path: Any) -> Response:
        if route.caller == "gateway":
            _gateway(api.store)
        elif route.caller == "household":
            _own_household(api.store, path["household_id"])
        elif route.caller == "admin":
            _admin(api.settings)
        args: dict[str, Any] = {q.name: query_int(q.name, q.lo, q.hi, q.default) for q in route.query}
        unknown = sorted(set(request.args) - set(args))
        if unknown:
            raise BadField(unknown[0], f"unknown query parameter; known: {', '.join(args) or 'none'}")
        if route.body is not None:
            if request.mimetype != "application/json":
                return fail(415, "expected a JSON body (Content-Type: application/json)")
            args["body"] = checked_body(route.body, json_object(request.get_data(cache=True)))
        return route.handler(api, **path, **args)

    run.__name__ = route.view
    return run


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _gateway(store: CloudStore) -> Caller:
    """The calling gateway (also kept as `g.caller` for the handler); 401 for a missing or unknown token."""
    token = _bearer()
    caller = store.caller(token) if token and token.isascii() and len(token) < 200 else None
    if caller is None:
        raise Abort(fail(401, "missing or unknown gateway token; register the gateway again"))
    g.caller = caller
    return caller


def _own_household(store: CloudStore, household_id: int) -> Caller:
    caller = _gateway(store)
    if caller.household_id != household_id:
        raise Abort(fail(403, "this token belongs to another household"))
    return caller


def _admin(settings: ServerSettings) -> None:
    token = _bearer() or ""
    expected = settings.admin_token
    if not expected or not hmac.compare_digest(
        hashlib.sha256(token.encode()).digest(), hashlib.sha256(expected.encode()).digest()
    ):
        raise Abort(fail(401, "admin token required"))
