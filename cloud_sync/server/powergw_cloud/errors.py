"""How the API refuses a request: a 4xx JSON body `{error, field}`, never a 500 for bad input."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify


class BadField(Exception):
    """A request field that is missing or wrong: answered 400 naming the field."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class Abort(Exception):
    """Stop a request with a prepared response."""

    def __init__(self, response: Response):
        super().__init__(response.status)
        self.response = response


def fail(status: int, error: str, field: str | None = None) -> Response:
    """The JSON refusal `{error, field}` with `status`; a 401 names the bearer scheme."""
    body: dict[str, Any] = {"error": error}
    if field:
        body["field"] = field
    resp = jsonify(body)
    resp.status_code = status
    if status == 401:
        resp.headers["WWW-Authenticate"] = 'Bearer realm="powergw"'
    return resp
