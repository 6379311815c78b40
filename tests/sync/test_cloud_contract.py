"""The gateway and the reference cloud keep their own copies of the wire contract (neither installs
the other): these tests hold both copies to one another."""

from __future__ import annotations

import json

import pytest

from cloud_sync import MetadataError
from cloud_sync.model_updates import parse_announcement, parse_metadata
from cloud_sync.outbox import EVENT_KINDS
from cloud_sync.payments import CloudPayment
from edge_model.registry import SHIPPED_MODEL_DIR
from powergw_cloud import contract
from powergw_cloud.errors import BadField
from powergw_cloud.store import CloudStore

METADATA = json.loads((SHIPPED_MODEL_DIR / "metadata.json").read_text())


def test_both_sides_know_the_same_event_kinds():
    assert contract.EVENT_KINDS == EVENT_KINDS


def _variants(metadata: dict) -> list:
    """The shipped metadata, and copies each wrong in one field (or right in an optional one)."""
    checks, metrics = metadata["check_set"], metadata["metrics"]
    out = [metadata, None, [], "x", {**metadata, "padding": "x" * (64 << 10)}]
    for name in ("features_version", "threshold", "check_set", "metrics", "feature_names"):
        out.append({k: v for k, v in metadata.items() if k != name})
        out += [{**metadata, name: bad} for bad in (None, True, 0, -1, 1.5, "1", [], {}, ["a", 1], float("nan"))]
    for key in ("households", "days"):
        out += [{**metadata, "check_set": {**checks, key: bad}} for bad in (0, 1.0, True, None, 7)]
    for key in ("roc_auc", "recall_at_threshold"):
        out += [
            {**metadata, "metrics": {**metrics, "check_set": {**metrics["check_set"], key: bad}}}
            for bad in (-0.1, 1.01, 0, 1, "0.9", float("inf"), None)
        ]
    out.append({**metadata, "metrics": {"check_set": []}})
    return out


def _verdict(parse, error, value) -> str:
    try:
        parse(value)
    except error as err:
        return f"{err.field}: {err.reason}"
    return "ok"


@pytest.mark.parametrize("metadata", _variants(METADATA))
def test_both_sides_judge_a_models_metadata_alike(metadata):
    assert _verdict(contract.parse_metadata, BadField, metadata) == _verdict(parse_metadata, MetadataError, metadata)


def test_what_the_cloud_announces_and_confirms_is_what_the_gateway_reads(tmp_path):
    store = CloudStore(tmp_path / "cloud.db")
    try:
        hid, _ = store.add_household("Iyer", 1_000)
        store.publish_model("2025-06", b"onnx", METADATA, 2_000)
        store.record_counter_payment(hid, "2025-06-05", 45_050, "R-1", 3_000)
        announced, confirmed = store.changes(hid, 0, 10)
    finally:
        store.close()
    assert announced["type"] == "model_published" and confirmed["type"] == "payment_confirmed"
    assert parse_announcement(announced["data"]).metadata == METADATA
    payment = CloudPayment.from_change(confirmed["data"])
    assert (payment.amount_paise, payment.method, payment.source, payment.bill_ref) == (
        45_050,
        "cash",
        "counter",
        "2025-06-05",
    )
