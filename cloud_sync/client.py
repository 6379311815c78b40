"""The HTTP adapter to the cloud API: requests in, typed results or one of our errors out.

TLS verification is always on (a CA bundle may be added, never switched off); every request has
connect and read timeouts. Library errors are translated at this boundary: a network failure or
5xx is TransientError, 429/503 carry the server's Retry-After, 401/403 are AuthError, any other
4xx is PermanentError.
"""

from __future__ import annotations

import ipaddress
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from . import AuthError, PermanentError, TransientError
from .backoff import Outcome, classify, parse_retry_after


@dataclass(frozen=True)
class Ack:
    """The server's answer to a batch: keys stored now and keys it already had."""

    new: list[str]
    duplicate: list[str]


@dataclass(frozen=True)
class ChangePage:
    changes: list[dict]
    cursor: int
    more: bool


def plain_http_to_another_machine(url: str) -> bool:
    """True for an http:// URL whose host is not this machine's loopback: a token sent there
    crosses the network in clear."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() != "http":
        return False
    host = (parts.hostname or "").lower()
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True


class SyncClient:
    """Talks to one cloud API as one gateway (its bearer token)."""

    def __init__(
        self,
        session: requests.Session,
        base_url: str,
        token: str | None = None,
        *,
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 30.0,
        ca_bundle: str = "",
        clock_s: Callable[[], float] = time.time,
    ):
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = (connect_timeout_s, read_timeout_s)
        self.verify: bool | str = ca_bundle or True
        self.clock_s = clock_s

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            resp = self.session.request(
                method, self.base_url + path, headers=headers, timeout=self.timeout, verify=self.verify, **kwargs
            )
        except requests.Timeout as err:
            raise TransientError(f"{method} {path}: timed out ({err.__class__.__name__})") from err
        except requests.RequestException as err:
            raise TransientError(f"{method} {path}: {err.__class__.__name__}: {err}") from err
        outcome = classify(resp.status_code)
        if outcome is Outcome.OK:
            return resp
        detail = _error_text(resp)
        reason = f"{method} {path}: HTTP {resp.status_code}: {detail}"
        if outcome is Outcome.UNAUTHORIZED:
            raise AuthError(reason, resp.status_code)
        if outcome is Outcome.PERMANENT:
            raise PermanentError(reason, resp.status_code)
        retry_after = parse_retry_after(resp.headers.get("Retry-After"), self.clock_s())
        raise TransientError(reason, retry_after, resp.status_code)

    def _json(self, resp: requests.Response, what: str) -> dict:
        try:
            data = resp.json()
        except ValueError as err:
            # A 2xx that is not our JSON (a captive portal, a proxy's page): not acknowledged.
            raise TransientError(f"{what}: the answer is not JSON") from err
        if not isinstance(data, dict):
            raise TransientError(f"{what}: the answer is not a JSON object")
        return data

    def register(self, code: str, name: str) -> dict:
        """Spend a registration code; returns gateway_id, household_id and the token."""
        data = self._json(self._request("POST", "/v1/register", json={"code": code, "name": name}), "register")
        if not isinstance(data.get("token"), str):
            raise TransientError("register: the answer has no token")
        return data

    def post_events(self, events: list[dict]) -> Ack:
        resp = self._request("POST", "/v1/events", json={"events": events})
        data = self._json(resp, "POST /v1/events")
        new, dup = data.get("new"), data.get("duplicate")
        if not isinstance(new, list) or not isinstance(dup, list):
            raise TransientError("POST /v1/events: the answer lacks new/duplicate lists")
        return Ack([str(k) for k in new], [str(k) for k in dup])

    def changes(self, cursor: int, limit: int = 100) -> ChangePage:
        resp = self._request("GET", "/v1/changes", params={"cursor": cursor, "limit": limit})
        data = self._json(resp, "GET /v1/changes")
        changes, next_cursor = data.get("changes"), data.get("cursor")
        if not isinstance(changes, list) or not isinstance(next_cursor, int):
            raise TransientError("GET /v1/changes: the answer lacks changes/cursor")
        return ChangePage(changes, next_cursor, bool(data.get("more")))

    def download(self, path: str) -> bytes:
        if not path.startswith("/"):
            raise PermanentError(f"download path {path!r}: expected a path on the cloud API", 400)
        return self._request("GET", path).content


def _error_text(resp: requests.Response) -> str:
    try:
        data = resp.json()
        if isinstance(data, dict) and "error" in data:
            return str(data["error"])[:200]
    except ValueError:
        pass
    return resp.text[:200].strip() or resp.reason or ""
