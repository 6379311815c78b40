"""The cloud API's OpenAPI 3.1 document, built from its table of operations (routes.routes) so it cannot drift."""

from __future__ import annotations

import re
from typing import Any

from . import __version__

_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string", "description": "what is wrong"},
        "field": {"type": "string", "description": "the field, header or query parameter at fault"},
    },
}
_REASONS = {
    400: "a bad query parameter, header or body field (named in `field`)",
    401: "no token, or not one this server knows",
    403: "refused: another household's data, or a registration code unknown, used or expired",
    404: "no such path, household or model version",
    405: "method not allowed on this path",
    409: "exists already",
    413: "the body is larger than this server takes",
    415: "the body is not JSON",
    429: "too many attempts from this address",
}
_HEADERS = {  # headers an error answer always carries
    401: {"WWW-Authenticate": {"required": True, "schema": {"type": "string"}}},
    405: {"Allow": {"required": True, "schema": {"type": "string"}}},
    429: {"Retry-After": {"required": True, "schema": {"type": "string", "pattern": "^[0-9]+$"}}},
}
_SECURITY = {
    None: [],
    "razorpay": [],
    "gateway": [{"gateway": []}],
    "household": [{"gateway": []}],
    "admin": [{"admin": []}],
}
_TAGS = {None: "public", "gateway": "gateway", "household": "household", "admin": "operator", "razorpay": "payments"}


def _error(code: int) -> dict:
    out: dict[str, Any] = {
        "description": _REASONS[code],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if code == 413:  # refused by waitress as the body arrives, before the app: its own plain-text page
        out["content"]["text/plain"] = {"schema": {"type": "string"}}
    if code in _HEADERS:
        out["headers"] = _HEADERS[code]
    return out


def _operation(route) -> dict:
    params = [{"name": name, "in": "path", "required": True, "schema": schema} for name, schema in route.path_params()]
    params += [
        {
            "name": q.name,
            "in": "query",
            "required": False,
            "description": q.doc,
            "schema": {"type": "integer", "minimum": q.lo, "maximum": q.hi, "default": q.default},
        }
        for q in route.query
    ]
    params += [{"name": name, "in": "header", "required": True, "schema": schema} for name, schema in route.headers]
    responses: dict[str, dict] = {}
    for code in route.status:
        answer: dict[str, Any] = {
            "description": "OK" if code == 200 else "Created",
            "content": {route.produces: {"schema": route.answer} if route.answer else {}},
        }
        if route.answer_headers:
            answer["headers"] = {h: {"required": True, "schema": {"type": "string"}} for h in route.answer_headers}
        responses[str(code)] = answer
    # Refusals by kind of operation, as app.create_app gives them; the rest from the row.
    errors = {400, 405, *route.errors}  # 400: an unknown or bad query parameter, on every operation
    if route.caller in ("gateway", "household", "admin"):
        errors.add(401)
    if route.caller == "household" or 403 in route.errors:
        errors.add(403)
    if "<" in route.path:
        errors.add(404)
    if route.body is not None or route.raw_body is not None:
        errors.add(413)
    if route.body is not None:
        errors.add(415)
    responses.update({str(code): _error(code) for code in sorted(errors)})
    op: dict[str, Any] = {
        "operationId": route.view,
        "summary": route.summary,
        "tags": [_TAGS[route.caller]],
        "description": f"Who may call it: {route.who()}.",
        "security": _SECURITY[route.caller],
        "responses": responses,
    }
    if params:
        op["parameters"] = params
    if route.body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": route.body}}}
    elif route.raw_body is not None:
        media, schema = route.raw_body
        op["requestBody"] = {"required": True, "content": {media: {"schema": schema}}}
    return op


def document(routes, settings) -> dict:
    """The OpenAPI document of `routes` (routes.routes(settings)), served at /v1/openapi.json."""
    paths: dict[str, dict] = {}
    for route in routes:
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route.path)
        paths.setdefault(path, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "powergw reference cloud API",
            "version": __version__,
            "description": "What gateways sync with (docs/cloud-sync.md). Money is integer paise; times are UTC "
            f"milliseconds (`*_ms`). Request bodies up to {settings.max_body_bytes >> 10} KiB; "
            "every refusal is a 4xx JSON body {error, field}, never a 500.",
        },
        "servers": [{"url": "/"}],
        "components": {
            "securitySchemes": {
                "gateway": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "a gateway's token from POST /v1/register",
                },
                "admin": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "the operator's token (POWERGW_CLOUD_ADMIN_TOKEN)",
                },
            },
            "schemas": {"Error": _ERROR_SCHEMA},
        },
        "paths": paths,
    }
