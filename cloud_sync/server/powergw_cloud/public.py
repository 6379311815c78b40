"""The operations anyone may call: liveness, the OpenAPI document, and spending a registration code."""

from __future__ import annotations

from flask import Response, jsonify, request

from .context import CloudApi
from .errors import fail


def health(api: CloudApi) -> Response:
    return jsonify(status="ok")


def openapi(api: CloudApi) -> Response:
    return jsonify(api.openapi_doc)


def register(api: CloudApi, body: dict) -> Response:
    client = request.remote_addr or "unknown"
    wait = api.registrations.attempt(client)
    if wait:
        resp = fail(429, f"too many failed registrations from this address; try again in {wait} s")
        resp.headers["Retry-After"] = str(wait)
        return resp
    result = api.store.register_gateway(body["code"], body["name"], api.clock())
    if result is None:
        return fail(403, "registration code unknown, used or expired", "code")
    api.registrations.succeeded(client)
    caller, token = result
    return jsonify(gateway_id=caller.gateway_id, household_id=caller.household_id, token=token), 201
