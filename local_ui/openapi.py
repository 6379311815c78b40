"""The OpenAPI 3.1 document of /api/v1, built from the endpoint table so it cannot drift from the code."""

from __future__ import annotations

import re

from gateway import __version__

_TYPES = {
    "string": {"type": "string"},
    "integer": {"type": "integer"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
}
_ERROR = {
    "description": "what is wrong",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}


def _param(p, where: str) -> dict:
    schema = dict(_TYPES[p.type])
    if p.enum:
        schema["enum"] = list(p.enum)
    if p.minimum is not None:
        schema["minimum"] = p.minimum
    if p.maximum is not None:
        schema["maximum"] = p.maximum
    for key, value in (("pattern", p.pattern), ("minLength", p.min_length), ("maxLength", p.max_length)):
        if value is not None:
            schema[key] = value
    doc = p.doc + (" (YYYY-MM-DD, a year from 2000 to 2100)" if p.type == "date" else "")
    return {"name": p.name, "in": where, "required": p.required, "description": doc, "schema": schema}


def _field(schema: dict, required: bool) -> dict:
    """A body field as the API checks it: strings at most 500 characters unless said, a required one
    not empty, an optional one also null (the API reads null as not given: `bill_id: null` is a
    payment on no particular bill)."""
    out = dict(schema)
    if out.get("type") == "string":
        out.setdefault("maxLength", 500)
        if required:
            out.setdefault("minLength", 1)
    if not required and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    return out


def _path_params(ep) -> list[dict]:
    """The query, header and `<id:...>` path parameters of an endpoint."""
    params = [_param(p, "query") for p in ep.params] + [_param(p, "header") for p in ep.headers]
    params += [
        {
            "name": n,
            "in": "path",
            "required": True,
            "schema": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
        }
        for n in re.findall(r"<id:(\w+)>", ep.path)
    ]
    return params


def _responses(ep) -> dict:
    """An endpoint's successes from the table, and the refusals an endpoint of its kind can give."""
    responses: dict = {
        str(code): {"description": "OK" if code == 200 else "Created", "content": {m: {} for m in ep.produces}}
        for code in ep.status
    }
    # Refusals by kind of endpoint, as api._wrap and the server give them; the rest from the table.
    errors = {400, 405, *ep.errors}
    if ep.role is not None:
        errors |= {401, 403}
    if ep.method != "GET":
        errors.add(403)  # CSRF token or Origin
    if ep.body:
        errors |= {413, 415}  # past 64 KiB (waitress), not JSON
    if "<id:" in ep.path or any(p.name == "node" for p in ep.params):
        errors.add(404)  # no such row, or no such node
    if ep.tag in ("billing", "export"):
        errors.add(503)
    for code in sorted(errors):
        responses[str(code)] = _ERROR
    if 413 in errors:  # refused by waitress as the body arrives, before the app: its own plain-text page
        responses["413"] = {
            "description": "the body is larger than the dashboard takes (64 KiB)",
            "content": {**_ERROR["content"], "text/plain": {"schema": {"type": "string"}}},
        }
    responses["405"] = {
        "description": "method not allowed on this path",
        "headers": {"Allow": {"schema": {"type": "string"}}},
        "content": _ERROR["content"],
    }
    return responses


def _operation(ep) -> dict:
    """The OpenAPI operation of one endpoint-table row."""
    op: dict = {
        "summary": ep.summary,
        "tags": [ep.tag],
        "operationId": ep.handler.__name__,
        "responses": _responses(ep),
    }
    params = _path_params(ep)
    if params:
        op["parameters"] = params
    if ep.body:
        body = dict(ep.body) | {"additionalProperties": False}
        required = set(body.get("required", ()))
        body["properties"] = {
            name: _field(schema, name in required) for name, schema in body.get("properties", {}).items()
        }
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if ep.role is None:
        op["security"] = []
    else:
        op["x-role"] = ep.role
    if ep.method != "GET":
        op["description"] = (
            "Browser sessions send the session's CSRF token as X-CSRF-Token; API tokens need none."
            if not ep.login_csrf
            else "Send the csrf from GET /session as X-CSRF-Token."
        )
    return op


def document(endpoints, prefix: str) -> dict:
    """The whole document: one path per table row (under `prefix`), /healthz, and the shared components."""
    paths: dict[str, dict] = {}
    for ep in endpoints:
        path = prefix + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", ep.path)
        paths.setdefault(path, {})[ep.method.lower()] = _operation(ep)
    paths["/healthz"] = {
        "get": {
            "summary": "Liveness: the dashboard can read the database",
            "security": [],
            "responses": {"200": {"description": "OK"}},
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "powergw gateway API",
            "version": __version__,
            "description": "The LAN dashboard's JSON API. Money is a string of rupees with 2 decimals; "
            "times are UTC milliseconds (`*_ms`); local dates are YYYY-MM-DD in the household's zone.",
        },
        "servers": [{"url": "/"}],
        "components": {
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "pgw_session"},
                "token": {"type": "http", "scheme": "bearer", "description": "an API token (pgw_...) from Settings"},
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {
                        "error": {
                            "type": "object",
                            "properties": {"status": {"type": "integer"}, "message": {"type": "string"}},
                        }
                    },
                }
            },
        },
        "security": [{"session": []}, {"token": []}],
        "paths": paths,
    }
