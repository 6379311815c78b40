"""The reference cloud API: a Flask app factory, served by waitress (`powergw cloud serve`).

Every input is checked before it reaches the database; a bad request is answered 400 with the
field named, 401/403 for tokens, 413 for oversize bodies, and never 500. Tokens are bearer
tokens of 32 random bytes kept as SHA-256 hashes (see `cloud_store.token_hash` and docs).
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

from . import MetadataError
from .cloud_store import Caller, CloudStore
from .model_updates import parse_metadata
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


# ---- the app ---------------------------------------------------------------------------------


def create_app(store: CloudStore, settings: ServerSettings = ServerSettings(), *, clock_ms: Callable[[], int] | None = None) -> Flask:
    """The cloud API over `store`; `clock_ms` is injectable for tests."""
    clock = clock_ms or (lambda: time.time_ns() // 1_000_000)
    app = Flask("powergw-cloud")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False

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
        return fail(err.code or 500, err.description or err.name)

    @app.errorhandler(Exception)
    def crash(err: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return fail(500, "internal error")

    def body() -> dict:
        return json_object(request.get_data(cache=True))

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

    # -- registration --

    registrations = AttemptLimiter(clock, limit=settings.max_register_failures)

    @app.post("/v1/register")
    def register() -> Response:
        data = body()
        code = text(data.get("code"), "code", max_len=64)
        name = text(data.get("name", "gateway"), "name", max_len=100)
        client = request.remote_addr or "unknown"
        wait = registrations.attempt(client)
        if wait:
            resp = fail(429, f"too many failed registrations from this address; try again in {wait} s")
            resp.headers["Retry-After"] = str(wait)
            return resp
        result = store.register_gateway(code, name, clock())
        if result is None:
            return fail(403, "registration code unknown, used or expired", "code")
        registrations.succeeded(client)
        caller, token = result
        return jsonify(gateway_id=caller.gateway_id, household_id=caller.household_id, token=token), 201

    # -- events --

    @app.post("/v1/events")
    def post_events() -> Response:
        caller = gateway()
        data = body()
        items = data.get("events")
        if not isinstance(items, list) or not items:
            raise BadField("events", "expected a non-empty list")
        if len(items) > settings.max_batch:
            raise BadField("events", f"more than {settings.max_batch} events in one batch")
        rows = [parse_event(item, i, settings.max_payload_bytes) for i, item in enumerate(items)]
        new, dup = store.add_events(caller, rows, clock())
        return jsonify(new=new, duplicate=dup)

    @app.get("/v1/changes")
    def get_changes() -> Response:
        caller = gateway()
        cursor = _query_int("cursor", 0, 0, MAX_MS)
        limit = _query_int("limit", 100, 1, 1000)
        changes = store.changes(caller.household_id, cursor, limit + 1)
        more = len(changes) > limit
        changes = changes[:limit]
        return jsonify(changes=changes, cursor=changes[-1]["seq"] if changes else cursor, more=more)

    @app.get("/v1/models/<version>")
    def get_model(version: str) -> Response:
        gateway()
        found = store.model(version)
        if found is None:
            return fail(404, f"no model version {version!r}")
        digest, data = found
        return Response(data, mimetype="application/octet-stream", headers={"X-Content-SHA256": digest})

    # -- household read endpoints --

    def _events_of(household_id: int, kind: str, name: str) -> Response:
        own_household(household_id)
        after = _query_int("after", 0, 0, MAX_MS)
        limit = _query_int("limit", 100, 1, 1000)
        return jsonify({name: store.events(household_id, kind, limit, after)})

    @app.get("/v1/households/<int:household_id>/bills")
    def bills(household_id: int) -> Response:
        return _events_of(household_id, "bill_closed", "bills")

    @app.get("/v1/households/<int:household_id>/feedback")
    def feedback(household_id: int) -> Response:
        return _events_of(household_id, "feedback", "feedback")

    @app.get("/v1/households/<int:household_id>/payments")
    def payments(household_id: int) -> Response:
        own_household(household_id)
        limit = _query_int("limit", 100, 1, 1000)
        return jsonify(
            gateway=store.events(household_id, "payment_created", limit), cloud=store.cloud_payments(household_id, limit)
        )

    @app.post("/v1/households/<int:household_id>/payment-orders")
    def payment_order(household_id: int) -> Response:
        own_household(household_id)
        data = body()
        bill_id = text(data.get("bill_id"), "bill_id", max_len=100)
        amount = integer(data.get("amount_paise"), "amount_paise", lo=100, hi=MAX_PAISE)
        order_id = store.add_payment_order(household_id, bill_id, amount, clock())
        intent = upi_intent(settings.payee_vpa, settings.payee_name, order_id, amount, f"powergw bill {bill_id}")
        return jsonify(order_id=order_id, amount_paise=amount, upi_intent=intent), 201

    # -- payment provider webhook --

    @app.post("/v1/webhooks/razorpay")
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

    # -- admin (operator) endpoints --

    @app.post("/v1/admin/households")
    def add_household() -> Response:
        admin()
        name = text(body().get("name"), "name", max_len=200)
        hid, code = store.add_household(name, clock())
        return jsonify(household_id=hid, registration_code=code), 201

    @app.post("/v1/admin/households/<int:household_id>/registration-codes")
    def add_code(household_id: int) -> Response:
        admin()
        if not store.household_exists(household_id):
            return fail(404, f"no household {household_id}")
        return jsonify(registration_code=store.new_registration_code(household_id, clock())), 201

    @app.post("/v1/admin/households/<int:household_id>/counter-payments")
    def counter_payment(household_id: int) -> Response:
        admin()
        data = body()
        if not store.household_exists(household_id):
            return fail(404, f"no household {household_id}")
        bill_id = text(data.get("bill_id"), "bill_id", max_len=100, optional=True)
        amount = integer(data.get("amount_paise"), "amount_paise", lo=1, hi=MAX_PAISE)
        reference = text(data.get("reference"), "reference", max_len=100)
        created = store.record_counter_payment(household_id, bill_id, amount, reference, clock())
        return jsonify(status="ok" if created else "duplicate"), 201 if created else 200

    @app.post("/v1/admin/tariffs")
    def publish_tariff() -> Response:
        admin()
        data = body()
        hid = data.get("household_id")
        if hid is not None:
            hid = integer(hid, "household_id", lo=1, hi=MAX_MS)
        tariff = data.get("tariff")
        if not isinstance(tariff, dict) or not tariff:
            raise BadField("tariff", "expected a non-empty object")
        seq = store.publish_tariff(hid, tariff, clock())
        return jsonify(seq=seq), 201

    @app.put("/v1/admin/models/<version>")
    def publish_model(version: str) -> Response:
        """multipart/form-data: `model` (model.onnx) and `metadata` (its metadata.json, a file or a field)."""
        admin()
        request.max_content_length = settings.max_model_bytes  # before the body is read
        text(version, "version", max_len=64)
        if not re.fullmatch(r"[A-Za-z0-9._-]+", version):
            raise BadField("version", "letters, digits, '.', '_' and '-' only")
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

    @app.get("/v1/health")
    def health() -> Response:
        return jsonify(status="ok")

    return app


class _Abort(Exception):
    """Stop a request with a prepared response."""

    def __init__(self, response: Response):
        super().__init__(response.status)
        self.response = response


def _query_int(name: str, default: int, lo: int, hi: int) -> int:
    value = request.args.get(name)
    if value is None:
        return default
    if not value.isascii() or not value.isdigit():
        raise BadField(name, "expected a whole number")
    return integer(int(value), name, lo=lo, hi=hi)


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
