"""The rows of the API's one table: `Endpoint` and its `Param`s, the refusal every handler may raise, and
the small helpers the handlers share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask import g

from ..auth import Principal

ID_MAX = 2**63 - 1  # SQLite's largest integer


class ApiError(Exception):
    """A refusal: answered as `{"error": {"status", "message"}}` with `status` and any `headers`."""

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
    """One row of the table: the route, who may call it, what it takes, and its OpenAPI entry."""

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


LIMIT = Param("limit", "integer", "at most this many, newest first", minimum=1, maximum=1000)


def rupees(value: Any) -> str | None:
    """Money for JSON: a string with 2 decimals (exact), from paise ints or Decimals."""
    if value is None:
        return None
    if isinstance(value, int):
        return f"{Decimal(value) / 100:.2f}"
    return f"{Decimal(value):.2f}"


def principal() -> Principal:
    """Who is asking (a handler behind a role always has one)."""
    return g.principal
