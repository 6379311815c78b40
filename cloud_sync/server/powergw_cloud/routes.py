"""The API's one table of operations: routing, who may call each one, the checks of its query and
JSON body, and the OpenAPI document (powergw_cloud.openapi) are all read from its rows."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import events, households, models, payments, public
from .context import ServerSettings
from .contract import EVENT_KINDS, MAX_MS, MAX_PAISE
from .models import VERSION

ID_MAX = 2**63 - 1  # the largest row id either database holds
_TEXT = "^[^\\u0000-\\u001f\\u007f]*$"  # what `checks.text()` takes: no control characters


def _str(max_len: int, doc: str, *, nullable: bool = False, **extra: Any) -> dict:
    """A text field as `checks.text()` checks it: 1 to `max_len` characters, no control characters."""
    return {
        "type": ["string", "null"] if nullable else "string",
        "minLength": 1,
        "maxLength": max_len,
        "pattern": _TEXT,
        "description": doc,
        **extra,
    }


def _int(lo: int, hi: int, doc: str, *, nullable: bool = False) -> dict:
    return {"type": ["integer", "null"] if nullable else "integer", "minimum": lo, "maximum": hi, "description": doc}


def fields(required: tuple[str, ...], **props: dict) -> dict:
    """A JSON object body of exactly these fields: `checks.checked_body` refuses any other (400 naming it)."""
    return {"type": "object", "properties": props, "required": list(required), "additionalProperties": False}


def _answer(**props: dict) -> dict:
    return {"type": "object", "properties": props, "required": list(props)}


_ID = {"type": "integer", "minimum": 1}
_STRING = {"type": "string"}
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
    """One operation of the API: one row of `routes(settings)`."""

    method: str
    path: str  # a Flask rule; <id:name> is a row id from 1 to ID_MAX, <name> a model version
    handler: Callable  # handler(api, **path, **query, [body=]) -> Response; its name is the operationId
    summary: str
    caller: str | None  # a key of CALLERS
    query: tuple[Query, ...] = ()
    body: dict | None = None  # a JSON body (415 otherwise), checked by `checks.checked_body` before the handler
    raw_body: tuple[str, dict] | None = None  # a body the handler reads itself: (media type, schema), for the document
    headers: tuple[tuple[str, dict], ...] = ()  # request headers the handler requires: (name, schema)
    status: tuple[int, ...] = (200,)  # success statuses
    answer: dict | None = None  # JSON schema of a success body in JSON
    produces: str = "application/json"
    answer_headers: tuple[str, ...] = ()  # headers every success answer carries
    errors: tuple[int, ...] = ()  # refusals beyond those every operation of its kind gives (powergw_cloud.openapi)

    @property
    def view(self) -> str:
        """The operation's name: its Flask endpoint and its operationId."""
        return self.handler.__name__

    def path_params(self) -> list[tuple[str, dict]]:
        """(name, JSON schema) of each parameter in the path, as its converter takes it."""
        return [
            (
                name,
                {"type": "integer", "minimum": 1, "maximum": ID_MAX}
                if converter == "id"
                else {"type": "string", "pattern": f"^{VERSION}$"},
            )
            for converter, name in re.findall(r"<(?:(\w+):)?(\w+)>", self.path)
        ]

    def who(self) -> str:
        return CALLERS[self.caller]


def _event(settings: ServerSettings) -> dict:
    return fields(
        ("key", "kind", "created_ms", "payload"),
        key={
            "type": "string",
            "pattern": "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
            "description": "idempotency key: a UUID in canonical lower-case form; "
            "a key stored before is answered as duplicate",
        },
        kind={"type": "string", "enum": list(EVENT_KINDS)},
        created_ms=_int(0, MAX_MS, "when the gateway made the event, UTC milliseconds"),
        payload={"type": "object", "description": f"at most {settings.max_payload_bytes} bytes as JSON"},
    )


_CHANGES = _answer(
    changes={
        "type": "array",
        "items": _answer(seq=_ID, type=_STRING, data={"type": "object"}, created_ms={"type": "integer"}),
    },
    cursor={"type": "integer", "minimum": 0},
    more={"type": "boolean"},
)
_WEBHOOK_HEADERS = (
    ("X-Razorpay-Signature", {"type": "string", "description": "hex HMAC-SHA256 of the body"}),
    ("X-Razorpay-Event-Id", _str(100, "the provider's event id; a repeat has no effect")),
)
_WEBHOOK_ANSWER = {
    "type": "object",
    "required": ["status"],
    "properties": {"status": {"enum": ["ok", "duplicate", "ignored"]}, "reason": _STRING},
}
_MODEL_PARTS = {
    "type": "object",
    "required": ["model", "metadata"],
    "properties": {
        "model": {"type": "string", "format": "binary"},
        "metadata": {"type": "string", "description": "metadata.json"},
    },
}
_MODEL = _answer(
    version=_STRING, sha256=_STRING, size_bytes={"type": "integer"}, path=_STRING, metadata={"type": "object"}
)
_HOUSEHOLD = "/v1/households/<id:household_id>"


def _public_routes(settings: ServerSettings) -> tuple[Route, ...]:
    """Operations anyone may call: liveness, this document and a gateway's registration."""
    return (
        Route("GET", "/v1/health", public.health, "Liveness", None, answer=_answer(status={"const": "ok"})),
        Route("GET", "/v1/openapi.json", public.openapi, "This document", None, answer={"type": "object"}),
        Route(
            "POST",
            "/v1/register",
            public.register,
            "Spend a one-time registration code for a gateway token "
            f"(at most {settings.max_register_failures} failures per client address per 15 minutes, then 429)",
            None,
            body=fields(
                ("code",),
                code=_str(64, "the household's registration code"),
                name=_str(100, "the gateway's name", default="gateway"),
            ),
            status=(201,),
            answer=_answer(gateway_id=_ID, household_id=_ID, token=_STRING),
            errors=(403, 429),
        ),
    )


def _gateway_routes(settings: ServerSettings) -> tuple[Route, ...]:
    """Operations of a registered gateway: its events, its household's changes and the models."""
    batch = {"type": "array", "minItems": 1, "maxItems": settings.max_batch, "items": _event(settings)}
    return (
        Route(
            "POST",
            "/v1/events",
            events.post_events,
            "Store a batch of events, each once per household and key",
            "gateway",
            body=fields(("events",), events=batch),
            answer=_answer(new={"type": "array", "items": _STRING}, duplicate={"type": "array", "items": _STRING}),
        ),
        Route(
            "GET",
            "/v1/changes",
            events.get_changes,
            "Changes for this gateway's household after a cursor, oldest first",
            "gateway",
            query=(_CURSOR, _LIMIT),
            answer=_CHANGES,
        ),
        Route(
            "GET",
            "/v1/models/<version>",
            models.get_model,
            "A published theft model's file (model.onnx)",
            "gateway",
            produces="application/octet-stream",
            answer_headers=("X-Content-SHA256",),
        ),
    )


def _household_routes() -> tuple[Route, ...]:
    """Operations on one household's records by a gateway of that household."""
    return (
        *(
            Route(
                "GET",
                f"{_HOUSEHOLD}/{handler.__name__}",
                handler,
                f"The household's {what}, oldest first",
                "household",
                query=(_AFTER, _LIMIT),
                answer=_answer(**{handler.__name__: _ROWS}),
            )
            for handler, what in ((households.bills, "closed bills"), (households.feedback, "alert feedback"))
        ),
        Route(
            "GET",
            f"{_HOUSEHOLD}/payments",
            payments.payments,
            "The household's payments, oldest first: recorded by the gateway (paged by `after`), and confirmed "
            "in the cloud (paged by `cloud_after`); each list holds at most `limit` rows",
            "household",
            query=(_AFTER, _CLOUD_AFTER, _LIMIT),
            answer=_answer(gateway=_ROWS, cloud=_ROWS),
        ),
        Route(
            "POST",
            f"{_HOUSEHOLD}/payment-orders",
            payments.payment_order,
            "Open a payment order for a bill, with its UPI deep link",
            "household",
            body=fields(
                ("bill_id", "amount_paise"),
                bill_id=_str(100, "the bill paid"),
                amount_paise=_int(100, MAX_PAISE, "amount in paise (at least ₹1)"),
            ),
            status=(201,),
            answer=_answer(order_id=_STRING, amount_paise={"type": "integer"}, upi_intent=_STRING),
        ),
    )


def _webhook_routes() -> tuple[Route, ...]:
    """Operations a payment provider calls."""
    return (
        Route(
            "POST",
            "/v1/webhooks/razorpay",
            payments.razorpay_webhook,
            "Razorpay's payment.captured: confirms the order's payment once (404 until a webhook secret is set)",
            "razorpay",
            raw_body=("application/json", {"type": "object"}),
            headers=_WEBHOOK_HEADERS,
            answer=_WEBHOOK_ANSWER,
            errors=(404,),
        ),
    )


def _admin_routes(settings: ServerSettings) -> tuple[Route, ...]:
    """The operator's operations: households, registration codes, counter payments, tariffs, models."""
    return (
        Route(
            "POST",
            "/v1/admin/households",
            households.add_household,
            "Add a household; answers its first registration code",
            "admin",
            body=fields(("name",), name=_str(200, "the household's name")),
            status=(201,),
            answer=_answer(household_id=_ID, registration_code=_STRING),
        ),
        Route(
            "POST",
            "/v1/admin/households/<id:household_id>/registration-codes",
            households.add_code,
            "A new registration code for a household (single use, valid 24 h)",
            "admin",
            status=(201,),
            answer=_answer(registration_code=_STRING),
        ),
        Route(
            "POST",
            "/v1/admin/households/<id:household_id>/counter-payments",
            payments.counter_payment,
            "Record a payment made at the utility's counter: 201, or 200 for a reference recorded before",
            "admin",
            body=fields(
                ("amount_paise", "reference"),
                bill_id=_str(100, "the bill paid, if known", nullable=True),
                amount_paise=_int(1, MAX_PAISE, "amount in paise"),
                reference=_str(100, "the counter's receipt number: once per household"),
            ),
            status=(201, 200),
            answer=_answer(status={"enum": ["ok", "duplicate"]}),
        ),
        Route(
            "POST",
            "/v1/admin/tariffs",
            households.publish_tariff,
            "Publish a tariff to one household, or to all",
            "admin",
            body=fields(
                ("tariff",),
                household_id=_int(1, ID_MAX, "the household; null or left out for all", nullable=True),
                tariff={
                    "type": "object",
                    "minProperties": 1,
                    "description": "the tariff, as the gateway's tariff files",
                },
            ),
            status=(201,),
            answer=_answer(seq=_ID),
            errors=(404,),
        ),
        Route(
            "PUT",
            "/v1/admin/models/<version>",
            models.publish_model,
            f"Publish a theft model: multipart model (model.onnx) and metadata (its metadata.json); up to "
            f"{settings.max_model_bytes >> 20} MiB on the upload listener only, versions immutable",
            "admin",
            raw_body=("multipart/form-data", _MODEL_PARTS),
            status=(201,),
            answer=_MODEL,
            errors=(409,),
        ),
    )


def routes(settings: ServerSettings) -> tuple[Route, ...]:
    """The API's operations, with the limits `settings` sets."""
    return (
        *_public_routes(settings),
        *_gateway_routes(settings),
        *_household_routes(),
        *_webhook_routes(),
        *_admin_routes(settings),
    )
