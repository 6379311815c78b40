"""The wire contract with the gateways: the event kinds they send and the model metadata they need.

The gateway keeps its own copy (cloud_sync.outbox.EVENT_KINDS, cloud_sync.model_updates.parse_metadata),
since neither side installs the other; tests/test_cloud_contract.py checks that both copies agree.
"""

from __future__ import annotations

import json
import math
import uuid
from typing import Any

from .checks import integer, text
from .errors import BadField

MAX_MS = 2**53  # a timestamp past this is not a timestamp (and would overflow BIGINT arithmetic)
MAX_PAISE = 10**12
MAX_METADATA_BYTES = 64 << 10

# The event kinds a gateway sends, with what each reports.
EVENT_KINDS: dict[str, str] = {
    "bill_closed": "a billing cycle closed: bill id, period, energy, amount in paise",
    "payment_created": "a payment recorded on the gateway (cash, UPI reference)",
    "feedback": "the household's answer to an alert (theft / not theft / ignore)",
    "daily_summary": "energy per node for one local day",
    "alert": "an alert raised on the gateway",
    "node_health": "a node's frame counters, reboots and last seen time",
}


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


def _fraction(value: Any, field: str) -> float:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not number or not math.isfinite(value) or not 0 <= value <= 1:
        raise BadField(field, "expected a number from 0 to 1")
    return float(value)


def _count(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BadField(field, "expected a whole number of at least 1")
    return value


def parse_metadata(value: Any) -> dict:
    """A published model's metadata.json, checked for what a gateway needs to use it: the features
    version and threshold its scorer reads, and the fixed check set's size and figures its promotion
    compares. Raises BadField naming the field."""
    if not isinstance(value, dict):
        raise BadField("metadata", "expected the model's metadata.json (a JSON object)")
    if len(json.dumps(value)) > MAX_METADATA_BYTES:
        raise BadField("metadata", f"larger than {MAX_METADATA_BYTES} bytes")
    _count(value.get("features_version"), "metadata.features_version")
    _fraction(value.get("threshold"), "metadata.threshold")
    check_set = value.get("check_set")
    if not isinstance(check_set, dict):
        raise BadField("metadata.check_set", "expected the check set's size ({households, days})")
    for key in ("households", "days"):
        _count(check_set.get(key), f"metadata.check_set.{key}")
    metrics = value.get("metrics")
    figures = metrics.get("check_set") if isinstance(metrics, dict) else None
    if not isinstance(figures, dict):
        raise BadField("metadata.metrics.check_set", "expected the model's figures on the check set")
    for key in ("roc_auc", "recall_at_threshold"):
        _fraction(figures.get(key), f"metadata.metrics.check_set.{key}")
    names = value.get("feature_names")
    if names is not None and (not isinstance(names, list) or not all(isinstance(n, str) for n in names)):
        raise BadField("metadata.feature_names", "expected a list of feature names")
    return value
