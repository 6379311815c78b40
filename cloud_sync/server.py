"""The reference cloud API: a Flask app factory, served by waitress (`powergw cloud serve`).

One table of operations (`routes`) drives routing, who may call each one, the checks of its
query and JSON body, and the OpenAPI document at /v1/openapi.json. Every input is checked
before it reaches the database; a bad request is answered 400 with the field named, 401/403 for
tokens, 413 for oversize bodies, 415 for a body that is not JSON, and never 500. Tokens are
bearer tokens of 32 random bytes kept as SHA-256 hashes (see `cloud_store.token_hash` and docs).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from typing import Any, Callable

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from . import MetadataError
from .cloud_store import Caller, CloudStore
from .model_updates import parse_metadata
from .openapi import document
from .outbox import EVENT_KINDS

log = logging.getLogger(__name__)

MAX_MS = 2**53  # a timestamp past this is not a timestamp (and would overflow BIGINT arithmetic)
MAX_PAISE = 10**12


@dataclass(frozen=True)
class ServerSettings:
    """What `create_app` needs besides the store; secrets come from the environment, not argv."""

    admin_token: str = ""
    webhook_secret: str = ""
    webhook_tolerance_s: int = 48 * 3600  # Razorpay retries a webhook for 24 h with the same created_at
    payee_vpa: str = "powergw@upi"
    payee_name: str = "powergw"
    max_body_bytes: int = 1 << 20
    max_model_bytes: int = 32 << 20  # a model upload only; the shipped forest is 3 MB
    max_batch: int = 1000
    max_payload_bytes: int = 16 << 10
    max_register_failures: int = 10  # per client address per 15 minutes: registration codes are 48-bit, typed by people


class BadField(Exception):
    """A request field that is missing or wrong: answered 400 naming the field."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


# ---- pure validation -------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def text(value: Any, field: str, *, max_len: int = 200, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise BadField(field, "expected a non-empty string")
    if len(value) > max_len:
        raise BadField(field, f"longer than {max_len} characters")
    if _CONTROL.search(value):
        raise BadField(field, "contains control characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadField(field, "not valid Unicode") from None
    return value


def integer(value: Any, field: str, *, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadField(field, "expected a whole number")
    if not lo <= value <= hi:
        raise BadField(field, f"expected a whole number from {lo} to {hi}")
    return value


def json_object(raw: bytes, field: str = "body") -> dict:
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadField(field, "expected a JSON object (UTF-8)") from None
    if not isinstance(data, dict):
        raise BadField(field, "expected a JSON object")
    return data


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_event(item: Any, index: int, max_payload_bytes: int) -> tuple[str, str, int, str]:
    """One event of a batch -> (key, kind, created_ms, payload as canonical JSON)."""
    where = f"events[{index}]"
    if not isinstance(item, dict):
        raise BadField(where, "expected an object with key, kind, created_ms, payload")
    unknown = sorted(set(item) - {"key", "kind", "created_ms", "payload"})
    if unknown:
        raise BadField(f"{where}.{unknown[0]}", "unknown field")
    key = text(item.get("key"), f"{where}.key", max_len=36)
    try:
        if str(uuid.UUID(key)) != key:
            raise ValueError
    except ValueError:
        raise BadField(f"{where}.key", "expected a UUID in canonical lower-case form") from None
    kind = item.get("kind")
    if not isinstance(kind, str) or kind not in EVENT_KINDS:  # [] or {} is unhashable: a TypeError in the lookup
        raise BadField(f"{where}.kind", f"expected one of {', '.join(EVENT_KINDS)}")
    created = integer(item.get("created_ms"), f"{where}.created_ms", lo=0, hi=MAX_MS)
    payload = item.get("payload")
    if not isinstance(payload, dict):
        raise BadField(f"{where}.payload", "expected an object")
    body = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    if len(body) > max_payload_bytes:
        raise BadField(f"{where}.payload", f"larger than {max_payload_bytes} bytes")
    return key, kind, created, body


def upi_intent(vpa: str, payee: str, order_id: str, amount_paise: int, note: str) -> str:
    """A UPI deep link (NPCI's upi://pay scheme) that any UPI app opens with the amount filled in."""
    amount = f"{amount_paise // 100}.{amount_paise % 100:02d}"
    query = urllib.parse.urlencode(
        {"pa": vpa, "pn": payee, "tr": order_id, "tn": note, "am": amount, "cu": "INR"}, quote_via=urllib.parse.quote
    )
    return f"upi://pay?{query}"


def razorpay_signature(secret: str, raw: bytes) -> str:
    """Razorpay's webhook signature: hex HMAC-SHA256 of the raw body with the webhook secret."""
    return hmac.new(secret.encode("utf-8"), raw, hashlib.sha256).hexdigest()


class AttemptLimiter:
    """At most `limit` failed attempts per key (a client address) within `window_ms`.

    The attempt is counted before it is checked, so concurrent guesses cannot slip past the
    count; `succeeded()` takes it back. In memory: a restart forgets it.
    """

    def __init__(self, clock_ms: Callable[[], int], limit: int = 10, window_ms: int = 15 * 60_000):
        self.clock_ms = clock_ms
        self.limit = limit
        self.window_ms = window_ms
        self._seen: dict[str, list[int]] = {}
        self._lock = threading.Lock()

    def attempt(self, key: str) -> int:
        """0 with the attempt counted, or the seconds until one may be tried."""
        now = self.clock_ms()
        with self._lock:
            recent = [t for t in self._seen.get(key, ()) if t > now - self.window_ms]
            if len(recent) >= self.limit:
                self._seen[key] = recent
                return max(1, (recent[0] + self.window_ms - now + 999) // 1000)
            recent.append(now)
            self._seen[key] = recent
            if len(self._seen) > 10_000:
                for k in [k for k, ts in self._seen.items() if not ts or ts[-1] <= now - self.window_ms]:
                    del self._seen[k]
        return 0

    def succeeded(self, key: str) -> None:
        with self._lock:
            recent = self._seen.get(key)
            if recent:
                recent.pop()


# ---- the table of operations -----------------------------------------------------------------

ID_MAX = 2**63 - 1  # the largest row id either database holds
VERSION = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"  # a model version: one path segment, never "." or ".."
_TEXT = "^[^\\u0000-\\u001f\\u007f]*$"  # what `text()` takes: no control characters


def _str(max_len: int, doc: str, *, nullable: bool = False, **extra: Any) -> dict:
    """A text field as `text()` checks it: 1 to `max_len` characters, no control characters."""
    return {"type": ["string", "null"] if nullable else "string", "minLength": 1, "maxLength": max_len,
            "pattern": _TEXT, "description": doc, **extra}


def _int(lo: int, hi: int, doc: str, *, nullable: bool = False) -> dict:
    return {"type": ["integer", "null"] if nullable else "integer", "minimum": lo, "maximum": hi, "description": doc}


def _fields(required: tuple[str, ...], **props: dict) -> dict:
    """A JSON object body of exactly these fields: `checked_body` refuses any other (400 naming it)."""
    return {"type": "object", "properties": props, "required": list(required), "additionalProperties": False}


def _answer(**props: dict) -> dict:
    return {"type": "object", "properties": props, "required": list(props)}


_ID = {"type": "integer", "minimum": 1}
_ROWS = {"type": "array", "items": {"type": "object"}}


@dataclass(frozen=True)
class Query:
    """A whole-number query parameter: its bounds and its value when left out."""

    name: str
    lo: int
    hi: int
    default: int
    doc: str


_CURSOR = Query("cursor", 0, MAX_MS, 0, "the `cursor` of the previous page; 0 from the start")
_AFTER = Query("after", 0, MAX_MS, 0, "only events stored after the one with this id")
_CLOUD_AFTER = Query("cloud_after", 0, MAX_MS, 0, "only cloud payments stored after the one with this id")
_LIMIT = Query("limit", 1, 1000, 100, "at most this many")

CALLERS = {
    None: "anyone",
    "gateway": "a registered gateway: the bearer token POST /v1/register gave it",
    "household": "a gateway of the household in the path (403 for another household's)",
    "admin": "the operator: the bearer token in POWERGW_CLOUD_ADMIN_TOKEN",
    "razorpay": "Razorpay: the body signed with the webhook secret (POWERGW_RAZORPAY_WEBHOOK_SECRET)",
}


@dataclass(frozen=True)
class Route:
    """One operation of the API. Routing, who may call it, its query and body checks and the OpenAPI
    document (cloud_sync.openapi) are all read from these rows, so they cannot drift apart."""

    method: str
    path: str  # a Flask rule; <id:name> is a row id from 1 to ID_MAX, <name> a model version
    view: str  # the view's name in create_app, and the operationId
    summary: str
    caller: str | None  # a key of CALLERS
    query: tuple[Query, ...] = ()
    body: dict | None = None  # a JSON body (415 otherwise), checked by `checked_body` before the view runs
    raw_body: tuple[str, dict] | None = None  # a body the view reads itself: (media type, schema), for the document
    headers: tuple[tuple[str, dict], ...] = ()  # request headers the view requires: (name, schema)
    status: tuple[int, ...] = (200,)  # success statuses
    answer: dict | None = None  # JSON schema of a success body in JSON
    produces: str = "application/json"
    answer_headers: tuple[str, ...] = ()  # headers every success answer carries
    errors: tuple[int, ...] = ()  # refusals beyond those every operation of its kind gives (cloud_sync.openapi)

    def path_params(self) -> list[tuple[str, dict]]:
        """(name, JSON schema) of each parameter in the path, as its converter takes it."""
        return [(name, {"type": "integer", "minimum": 1, "maximum": ID_MAX} if converter == "id"
                 else {"type": "string", "pattern": f"^{VERSION}$"})
                for converter, name in re.findall(r"<(?:(\w+):)?(\w+)>", self.path)]

    def who(self) -> str:
        return CALLERS[self.caller]


def routes(settings: ServerSettings) -> tuple[Route, ...]:
    """The API's operations, with the limits `settings` sets."""
    event = _fields(
        ("key", "kind", "created_ms", "payload"),
        key={"type": "string", "pattern": "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
             "description": "idempotency key: a UUID in canonical lower-case form; a key stored before is answered as duplicate"},
        kind={"type": "string", "enum": list(EVENT_KINDS)},
        created_ms=_int(0, MAX_MS, "when the gateway made the event, UTC milliseconds"),
        payload={"type": "object", "description": f"at most {settings.max_payload_bytes} bytes as JSON"},
    )
    return (
        Route("GET", "/v1/health", "health", "Liveness", None, answer=_answer(status={"const": "ok"})),
        Route("GET", "/v1/openapi.json", "openapi", "This document", None, answer={"type": "object"}),
        Route("POST", "/v1/register", "register", "Spend a one-time registration code for a gateway token "
              f"(at most {settings.max_register_failures} failures per client address per 15 minutes, then 429)", None,
              body=_fields(("code",), code=_str(64, "the household's registration code"),
                           name=_str(100, "the gateway's name", default="gateway")),
              status=(201,), answer=_answer(gateway_id=_ID, household_id=_ID, token={"type": "string"}), errors=(403, 429)),
        Route("POST", "/v1/events", "post_events", "Store a batch of events, each once per household and key", "gateway",
              body=_fields(("events",), events={"type": "array", "minItems": 1, "maxItems": settings.max_batch, "items": event}),
              answer=_answer(new={"type": "array", "items": {"type": "string"}}, duplicate={"type": "array", "items": {"type": "string"}})),
        Route("GET", "/v1/changes", "get_changes", "Changes for this gateway's household after a cursor, oldest first", "gateway",
              query=(_CURSOR, _LIMIT),
              answer=_answer(changes={"type": "array", "items": _answer(seq=_ID, type={"type": "string"}, data={"type": "object"},
                                                                         created_ms={"type": "integer"})},
                             cursor={"type": "integer", "minimum": 0}, more={"type": "boolean"})),
        Route("GET", "/v1/models/<version>", "get_model", "A published theft model's file (model.onnx)", "gateway",
              produces="application/octet-stream", answer_headers=("X-Content-SHA256",)),
        *(Route("GET", f"/v1/households/<id:household_id>/{name}", name, f"The household's {what}, oldest first", "household",
                query=(_AFTER, _LIMIT), answer=_answer(**{name: _ROWS}))
          for name, what in (("bills", "closed bills"), ("feedback", "alert feedback"))),
        Route("GET", "/v1/households/<id:household_id>/payments", "payments",
              "The household's payments, oldest first: recorded by the gateway (paged by `after`), and confirmed "
              "in the cloud (paged by `cloud_after`); each list holds at most `limit` rows", "household",
              query=(_AFTER, _CLOUD_AFTER, _LIMIT), answer=_answer(gateway=_ROWS, cloud=_ROWS)),
        Route("POST", "/v1/households/<id:household_id>/payment-orders", "payment_order",
              "Open a payment order for a bill, with its UPI deep link", "household",
              body=_fields(("bill_id", "amount_paise"), bill_id=_str(100, "the bill paid"),
                           amount_paise=_int(100, MAX_PAISE, "amount in paise (at least ₹1)")),
              status=(201,), answer=_answer(order_id={"type": "string"}, amount_paise={"type": "integer"}, upi_intent={"type": "string"})),
        Route("POST", "/v1/webhooks/razorpay", "razorpay_webhook",
              "Razorpay's payment.captured: confirms the order's payment once (404 until a webhook secret is set)", "razorpay",
              raw_body=("application/json", {"type": "object"}),
              headers=(("X-Razorpay-Signature", {"type": "string", "description": "hex HMAC-SHA256 of the body"}),
                       ("X-Razorpay-Event-Id", _str(100, "the provider's event id; a repeat has no effect"))),
              answer={"type": "object", "properties": {"status": {"enum": ["ok", "duplicate", "ignored"]}, "reason": {"type": "string"}},
                      "required": ["status"]},
              errors=(404,)),
        Route("POST", "/v1/admin/households", "add_household", "Add a household; answers its first registration code", "admin",
              body=_fields(("name",), name=_str(200, "the household's name")), status=(201,),
              answer=_answer(household_id=_ID, registration_code={"type": "string"})),
        Route("POST", "/v1/admin/households/<id:household_id>/registration-codes", "add_code",
              "A new registration code for a household (single use, valid 24 h)", "admin",
              status=(201,), answer=_answer(registration_code={"type": "string"})),
        Route("POST", "/v1/admin/households/<id:household_id>/counter-payments", "counter_payment",
              "Record a payment made at the utility's counter: 201, or 200 for a reference recorded before", "admin",
              body=_fields(("amount_paise", "reference"), bill_id=_str(100, "the bill paid, if known", nullable=True),
                           amount_paise=_int(1, MAX_PAISE, "amount in paise"),
                           reference=_str(100, "the counter's receipt number: once per household")),
              status=(201, 200), answer=_answer(status={"enum": ["ok", "duplicate"]})),
        Route("POST", "/v1/admin/tariffs", "publish_tariff", "Publish a tariff to one household, or to all", "admin",
              body=_fields(("tariff",), household_id=_int(1, ID_MAX, "the household; null or left out for all", nullable=True),
                           tariff={"type": "object", "minProperties": 1, "description": "the tariff, as the gateway's tariff files"}),
              status=(201,), answer=_answer(seq=_ID), errors=(404,)),
        Route("PUT", "/v1/admin/models/<version>", "publish_model",
              f"Publish a theft model: multipart model (model.onnx) and metadata (its metadata.json); up to "
              f"{settings.max_model_bytes >> 20} MiB on the upload listener only, versions immutable", "admin",
              raw_body=("multipart/form-data", {"type": "object", "required": ["model", "metadata"], "properties": {
                  "model": {"type": "string", "format": "binary"}, "metadata": {"type": "string", "description": "metadata.json"}}}),
              status=(201,), answer=_answer(version={"type": "string"}, sha256={"type": "string"}, size_bytes={"type": "integer"},
                                            path={"type": "string"}, metadata={"type": "object"}),
              errors=(409,)),
    )


def checked_body(schema: dict, data: dict) -> dict:
    """A JSON body's fields as `schema` (made by `_fields`) says: an unknown field or a bad value is
    a BadField naming it; an optional field left out takes its default (None without one)."""
    props = schema["properties"]
    unknown = sorted(set(data) - set(props))
    if unknown:
        raise BadField(unknown[0], "unknown field")
    out = {}
    for name, spec in props.items():
        if name not in data and name not in schema["required"]:
            out[name] = spec.get("default")
        else:
            out[name] = _checked(spec, data.get(name), name)
    return out


def _checked(spec: dict, value: Any, field: str) -> Any:
    types = spec["type"] if isinstance(spec["type"], list) else [spec["type"]]
    if value is None and "null" in types:
        return None
    if "string" in types:
        return text(value, field, max_len=spec["maxLength"])
    if "integer" in types:
        return integer(value, field, lo=spec["minimum"], hi=spec["maximum"])
    if "object" in types:
        if not isinstance(value, dict) or len(value) < spec.get("minProperties", 0):
            raise BadField(field, "expected a non-empty object" if spec.get("minProperties") else "expected an object")
        return value
    if not isinstance(value, list) or len(value) < spec.get("minItems", 0):
        raise BadField(field, "expected a non-empty list")
    if len(value) > spec["maxItems"]:
        raise BadField(field, f"more than {spec['maxItems']} in one request")
    return value


class IdConverter(IntegerConverter):
    """A row id in a path: 1 to ID_MAX; anything else matches no route (404), never an OverflowError."""

    def __init__(self, url_map: Any) -> None:
        super().__init__(url_map, min=1, max=ID_MAX)


# ---- the app ---------------------------------------------------------------------------------


def create_app(store: CloudStore, settings: ServerSettings = ServerSettings(), *, clock_ms: Callable[[], int] | None = None) -> Flask:
    """The cloud API over `store`, one view per row of `routes(settings)`; `clock_ms` is injectable for tests."""
    clock = clock_ms or (lambda: time.time_ns() // 1_000_000)
    app = Flask("powergw-cloud")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False
    app.url_map.converters["id"] = IdConverter
    table = routes(settings)
    openapi_doc = document(table, settings)

    def fail(status: int, error: str, field: str | None = None) -> Response:
        body: dict[str, Any] = {"error": error}
        if field:
            body["field"] = field
        resp = jsonify(body)
        resp.status_code = status
        if status == 401:
            resp.headers["WWW-Authenticate"] = 'Bearer realm="powergw"'
        return resp

    @app.errorhandler(BadField)
    def bad_field(err: BadField) -> Response:
        return fail(400, f"{err.field}: {err.reason}", err.field)

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

    def bearer() -> str | None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return token.strip()

    def gateway() -> Caller:
        token = bearer()
        caller = store.caller(token) if token and token.isascii() and len(token) < 200 else None
        if caller is None:
            raise _Abort(fail(401, "missing or unknown gateway token; register the gateway again"))
        g.caller = caller
        return caller

    def own_household(household_id: int) -> Caller:
        caller = gateway()
        if caller.household_id != household_id:
            raise _Abort(fail(403, "this token belongs to another household"))
        return caller

    def admin() -> None:
        token = bearer() or ""
        expected = settings.admin_token
        if not expected or not hmac.compare_digest(hashlib.sha256(token.encode()).digest(), hashlib.sha256(expected.encode()).digest()):
            raise _Abort(fail(401, "admin token required"))

    @app.errorhandler(_Abort)
    def aborted(err: "_Abort") -> Response:
        return err.response

    def guarded(route: Route, view: Callable[..., Response]) -> Callable[..., Response]:
        """`view` behind the row's caller check, with its query parameters and JSON body checked as keyword arguments."""

        def run(**path: Any) -> Response:
            if route.caller == "gateway":
                gateway()
            elif route.caller == "household":
                own_household(path["household_id"])
            elif route.caller == "admin":
                admin()
            args: dict[str, Any] = {q.name: _query_int(q) for q in route.query}
            unknown = sorted(set(request.args) - set(args))
            if unknown:
                raise BadField(unknown[0], f"unknown query parameter; known: {', '.join(args) or 'none'}")
            if route.body is not None:
                if request.mimetype != "application/json":
                    return fail(415, "expected a JSON body (Content-Type: application/json)")
                args["body"] = checked_body(route.body, json_object(request.get_data(cache=True)))
            return view(**path, **args)

        run.__name__ = route.view
        return run

    views: dict[str, Callable[..., Response]] = {}

    def view(fn: Callable[..., Response]) -> Callable[..., Response]:
        views[fn.__name__] = fn
        return fn

    # -- public --

    @view
    def health() -> Response:
        return jsonify(status="ok")

    @view
    def openapi() -> Response:
        return jsonify(openapi_doc)

    registrations = AttemptLimiter(clock, limit=settings.max_register_failures)

    @view
    def register(body: dict) -> Response:
        client = request.remote_addr or "unknown"
        wait = registrations.attempt(client)
        if wait:
            resp = fail(429, f"too many failed registrations from this address; try again in {wait} s")
            resp.headers["Retry-After"] = str(wait)
            return resp
        result = store.register_gateway(body["code"], body["name"], clock())
        if result is None:
            return fail(403, "registration code unknown, used or expired", "code")
        registrations.succeeded(client)
        caller, token = result
        return jsonify(gateway_id=caller.gateway_id, household_id=caller.household_id, token=token), 201

    # -- gateways --

    @view
    def post_events(body: dict) -> Response:
        rows = [parse_event(item, i, settings.max_payload_bytes) for i, item in enumerate(body["events"])]
        new, dup = store.add_events(g.caller, rows, clock())
        return jsonify(new=new, duplicate=dup)

    @view
    def get_changes(cursor: int, limit: int) -> Response:
        changes = store.changes(g.caller.household_id, cursor, limit + 1)
        more = len(changes) > limit
        changes = changes[:limit]
        return jsonify(changes=changes, cursor=changes[-1]["seq"] if changes else cursor, more=more)

    @view
    def get_model(version: str) -> Response:
        found = store.model(version)
        if found is None:
            return fail(404, f"no model version {version!r}")
        digest, data = found
        return Response(data, mimetype="application/octet-stream", headers={"X-Content-SHA256": digest})

    # -- a household's gateways --

    @view
    def bills(household_id: int, after: int, limit: int) -> Response:
        return jsonify(bills=store.events(household_id, "bill_closed", limit, after))

    @view
    def feedback(household_id: int, after: int, limit: int) -> Response:
        return jsonify(feedback=store.events(household_id, "feedback", limit, after))

    @view
    def payments(household_id: int, after: int, cloud_after: int, limit: int) -> Response:
        return jsonify(gateway=store.events(household_id, "payment_created", limit, after),
                       cloud=store.cloud_payments(household_id, limit, cloud_after))

    @view
    def payment_order(household_id: int, body: dict) -> Response:
        bill_id, amount = body["bill_id"], body["amount_paise"]
        order_id = store.add_payment_order(household_id, bill_id, amount, clock())
        intent = upi_intent(settings.payee_vpa, settings.payee_name, order_id, amount, f"powergw bill {bill_id}")
        return jsonify(order_id=order_id, amount_paise=amount, upi_intent=intent), 201

    # -- the payment provider --

    @view
    def razorpay_webhook() -> Response:
        raw = request.get_data(cache=True)
        if not settings.webhook_secret:
            return fail(404, "webhooks are not configured")
        sig = request.headers.get("X-Razorpay-Signature", "")
        if not sig.isascii() or not hmac.compare_digest(razorpay_signature(settings.webhook_secret, raw), sig):
            return fail(400, "bad signature", "X-Razorpay-Signature")
        event_id = text(request.headers.get("X-Razorpay-Event-Id"), "X-Razorpay-Event-Id", max_len=100)
        data = json_object(raw)
        now = clock()
        created_s = integer(data.get("created_at"), "created_at", lo=0, hi=MAX_MS // 1000)
        if abs(now / 1000 - created_s) > settings.webhook_tolerance_s:
            return fail(400, "event too old or from the future: refused as a replay", "created_at")
        event = data.get("event")
        with store.tx() as tx:
            if store.seen_webhook(tx, event_id, now):
                # A provider retries when it missed our 2xx; the copy must have no effect, and
                # answering non-2xx would only make it retry for a day.
                return jsonify(status="duplicate")
            if event != "payment.captured":
                return jsonify(status="ignored")
            entity = _path(data, ("payload", "payment", "entity"))
            payment_id = text(entity.get("id"), "payload.payment.entity.id", max_len=100)
            amount = integer(entity.get("amount"), "payload.payment.entity.amount", lo=1, hi=MAX_PAISE)
            order_id = text(entity.get("order_id"), "payload.payment.entity.order_id", max_len=100, optional=True)
            method = text(entity.get("method", "upi"), "payload.payment.entity.method", max_len=30)
            order = tx.one("SELECT household_id, bill_id FROM payment_orders WHERE id = ?", (order_id,)) if order_id else None
            if order is None:
                return jsonify(status="ignored", reason="unknown order")
            store.confirm_payment(
                tx, household_id=order[0], provider_payment_id=payment_id, order_id=order_id, bill_id=order[1],
                amount_paise=amount, method=method, paid_ms=created_s * 1000, source="razorpay", now=now,
            )
        return jsonify(status="ok")

    # -- the operator --

    def no_household(household_id: int) -> Response:
        return fail(404, f"no household {household_id}")

    @view
    def add_household(body: dict) -> Response:
        hid, code = store.add_household(body["name"], clock())
        return jsonify(household_id=hid, registration_code=code), 201

    @view
    def add_code(household_id: int) -> Response:
        if not store.household_exists(household_id):
            return no_household(household_id)
        return jsonify(registration_code=store.new_registration_code(household_id, clock())), 201

    @view
    def counter_payment(household_id: int, body: dict) -> Response:
        if not store.household_exists(household_id):
            return no_household(household_id)
        created = store.record_counter_payment(household_id, body["bill_id"], body["amount_paise"], body["reference"], clock())
        return jsonify(status="ok" if created else "duplicate"), 201 if created else 200

    @view
    def publish_tariff(body: dict) -> Response:
        hid = body["household_id"]
        if hid is not None and not store.household_exists(hid):
            return no_household(hid)  # a tariff for nobody would sit in the change feed for ever
        return jsonify(seq=store.publish_tariff(hid, body["tariff"], clock())), 201

    @view
    def publish_model(version: str) -> Response:
        """multipart/form-data: `model` (model.onnx) and `metadata` (its metadata.json, a file or a field)."""
        request.max_content_length = settings.max_model_bytes  # before the body is read
        if not re.fullmatch(VERSION, version):
            raise BadField("version", "1 to 64 letters, digits, '.', '_' and '-', starting with a letter or digit")
        if request.mimetype != "multipart/form-data":
            raise BadField("body", "expected multipart/form-data with the model file as 'model' and its metadata.json as 'metadata'")
        part = request.files.get("model")
        data = part.read() if part is not None else b""
        if not data:
            raise BadField("model", "expected the model's bytes (model.onnx)")
        meta_part = request.files.get("metadata")
        raw = meta_part.read() if meta_part is not None else request.form.get("metadata", "").encode("utf-8")
        try:
            metadata = parse_metadata(json_object(raw, "metadata"))
        except MetadataError as err:
            raise BadField(err.field, err.reason) from None
        if store.model(version) is not None:
            return fail(409, f"model version {version!r} exists; versions are immutable", "version")
        return jsonify(store.publish_model(version, data, metadata, clock())), 201

    if set(views) != {r.view for r in table}:  # a view without a row, or a row without a view
        raise RuntimeError(f"cloud API views and routes differ: {sorted(set(views) ^ {r.view for r in table})}")
    for route in table:
        app.add_url_rule(route.path, endpoint=route.view, view_func=guarded(route, views[route.view]),
                         methods=[route.method], provide_automatic_options=False)
    return app


class _Abort(Exception):
    """Stop a request with a prepared response."""

    def __init__(self, response: Response):
        super().__init__(response.status)
        self.response = response


def _query_int(q: Query) -> int:
    value = request.args.get(q.name)
    if value is None:
        return q.default
    if not value.isascii() or not value.isdigit():
        raise BadField(q.name, "expected a whole number")
    return integer(int(value), q.name, lo=q.lo, hi=q.hi)


def _path(data: dict, keys: tuple[str, ...]) -> dict:
    node: Any = data
    for i, key in enumerate(keys):
        node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            raise BadField(".".join(keys[: i + 1]), "expected an object")
    return node


UPLOAD_PATH = re.compile(r"/v1/admin/models/[^/]+")


def uploads_only(app: Any) -> Callable:
    """`app` limited to model uploads (and /v1/health): what the operator's upload listener serves."""

    def wsgi(environ: dict, start_response: Callable) -> Any:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        if (method == "PUT" and UPLOAD_PATH.fullmatch(path)) or path == "/v1/health":
            return app(environ, start_response)
        body = json.dumps({"error": "this listener takes model uploads only: PUT /v1/admin/models/<version>"}).encode()
        start_response("404 NOT FOUND", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    return wsgi


class CloudServer:
    """The API's waitress listener and, if asked, the operator's model-upload listener, on one loop.

    waitress caps a body per server, before any route is chosen, and refuses it (413) as it
    arrives: from its Content-Length, or once a chunked body passes the cap. The API listener
    takes `max_body_bytes` (1 MiB); only the upload listener, loopback by default, takes
    `max_model_bytes`, so a stranger cannot make the server spool 32 MiB (or waitress's default
    1 GiB) per request to disk.
    """

    def __init__(self, app: Any, settings: ServerSettings, host: str, port: int, *, threads: int = 8,
                 upload: tuple[str, int] | None = None):
        from waitress.server import create_server

        common = {"threads": threads, "ident": "powergw-cloud", "clear_untrusted_proxy_headers": True}
        self.map: dict = {}
        self.api = create_server(app, map=self.map, host=host, port=port,
                                 max_request_body_size=settings.max_body_bytes + 1, **common)
        self.upload = None
        if upload is not None:
            try:
                self.upload = create_server(uploads_only(app), map=self.map, _dispatcher=self.api.task_dispatcher,
                                            host=upload[0], port=upload[1],
                                            max_request_body_size=settings.max_model_bytes + 1, **common)
            except OSError:
                self.api.close()
                raise

    @property
    def url(self) -> str:
        return f"http://{self.api.effective_host}:{self.api.effective_port}"

    @property
    def upload_url(self) -> str | None:
        return None if self.upload is None else f"http://{self.upload.effective_host}:{self.upload.effective_port}"

    def run(self) -> None:
        """Serve both listeners until interrupted (they share one map, so one loop serves both)."""
        self.api.run()

    def close(self) -> None:
        for server in (self.upload, self.api):
            if server is not None:
                server.close()
        self.api.task_dispatcher.shutdown()


def parse_listen(value: str) -> tuple[str, int] | None:
    """`HOST:PORT` (or `off`) of the upload listener -> (host, port) or None; ValueError saying what is expected."""
    if value == "off":
        return None
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"{value!r}: expected HOST:PORT (e.g. 127.0.0.1:8701) or off")
    return host.strip("[]"), int(port)


def serve(app: Flask, host: str, port: int, threads: int = 8, *, settings: ServerSettings = ServerSettings(),
          upload: tuple[str, int] | None = None) -> None:
    """Serve with waitress (a production WSGI server, pure Python) until interrupted."""
    server = CloudServer(app, settings, host, port, threads=threads, upload=upload)
    try:
        server.run()
    finally:
        server.close()
