"""What the gateway tells the cloud: idempotency keys and payloads of the events it queues (pure).

Keys are UUID5s of the change's own natural key (a bill's cycle, a payment's idempotency key, an
alert's id and time, a local day), so the same change queued twice, by a retry or a replay, is
one event on the server. Payloads carry money as integer paise and nothing bigger than needed.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

# Fixed forever: changing it would give every past change a new key, and the cloud would store
# a second copy of each.
EVENT_KEY_NAMESPACE = uuid.UUID("c05ae153-413e-4f77-961b-b53ecbf17a98")

MAX_TEXT = 1000  # characters of an alert message or comment sent
MAX_DATA_BYTES = 4096  # an alert's data above this goes as {"truncated": true}: the server takes 16 KiB per event


def event_key(*parts: object) -> str:
    """The idempotency key of one change: a UUID5 of its natural key."""
    return str(uuid.uuid5(EVENT_KEY_NAMESPACE, ":".join(str(p) for p in parts)))


@dataclass(frozen=True)
class EventSpec:
    """How one local event becomes an outbox event: its kind, key and payload."""

    kind: str
    key: Callable[[dict, str], str]
    payload: Callable[[dict, str], dict]


# ---- ledger (gateway.billing.ledger listeners: row, event) -----------------------------------


def bill_payload(row: dict, event: str) -> dict:
    return {
        "event": event,
        "bill_id": row["id"],
        "cycle_start": row["cycle_start"],
        "cycle_end": row["cycle_end"],
        "tariff": row["tariff"],
        "units": row["units"],
        "amount_paise": row["amount_paise"],
        "previous_balance_paise": row["previous_balance_paise"],
        "amount_due_paise": row.get("amount_due_paise", max(0, row["amount_paise"] + row["previous_balance_paise"])),
        "due_date": row["due_date"],
        "closed_ms": row["closed_ms"],
        "source": row["source"],
        "lines": row["lines"],
    }


def payment_payload(row: dict, event: str) -> dict:
    return {
        "event": event,
        "payment_key": row["payment_key"],
        "payment_id": row["id"],
        "amount_paise": row["amount_paise"],
        "currency": row["currency"],
        "bill_id": row["bill_id"],
        "method": row["method"],
        "state": row["state"],
        "reference": row["reference"],
        "created_ms": row["created_ms"],
        "confirmed_ms": row["confirmed_ms"],
        "confirmed_by": row["confirmed_by"],
    }


# The server accepts six kinds; a payment's later states go as payment_created with their own
# `event` and `state`, each with its own key, so the cloud sees the payment's whole history once.
LEDGER_EVENTS: dict[str, EventSpec] = {
    "bill_closed": EventSpec("bill_closed", lambda r, e: event_key(e, r["cycle_start"]), bill_payload),
    "payment_created": EventSpec("payment_created", lambda r, e: event_key(e, r["payment_key"]), payment_payload),
    "payment_confirmed": EventSpec("payment_created", lambda r, e: event_key(e, r["payment_key"]), payment_payload),
    "payment_cancelled": EventSpec("payment_created", lambda r, e: event_key(e, r["payment_key"]), payment_payload),
}


# ---- alerts (gateway.alerts listeners: alert, event) -----------------------------------------


def _data(data: object) -> object:
    """The alert's data if it is small, strict JSON; else a marker (the alert itself must not fail)."""
    try:
        text = json.dumps(data, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError):
        return {"unsendable": True}
    return data if len(text) <= MAX_DATA_BYTES else {"truncated": True}


def alert_payload(alert: dict, event: str) -> dict:
    return {
        "alert_id": alert["id"],
        "kind": alert["kind"],
        "severity": alert["severity"],
        "message": alert["message"][:MAX_TEXT],
        "node_id": alert["node_id"],
        "dedup_key": alert["dedup_key"],
        "created_ms": alert["created_ms"],
        "data": _data(alert["data"]),
    }


def feedback_payload(alert: dict, event: str) -> dict:
    return {
        "alert_id": alert["id"],
        "kind": alert["kind"],
        "node_id": alert["node_id"],
        "action": event,
        "state": alert["state"],
        "by": alert["acted_by"],
        "comment": (alert["action_comment"] or "")[:MAX_TEXT],
        "acted_ms": alert["acted_ms"],
        "alert_created_ms": alert["created_ms"],
        "data": _data(alert["data"]),
    }


# "repeated" and "resolve" are not sent: a repeat only counts, and resolving is housekeeping,
# not the household's answer. Ignore ("not theft") and raise ("theft") are the feedback; unignore
# (Stop ignoring) takes an Ignore back, so the cloud's record of answers does not keep "not theft".
_FEEDBACK = EventSpec("feedback", lambda a, e: event_key("feedback", a["id"], e, a["acted_ms"]), feedback_payload)
ALERT_EVENTS: dict[str, EventSpec] = {
    "created": EventSpec("alert", lambda a, e: event_key("alert", a["id"], a["created_ms"]), alert_payload),
    "ignore": _FEEDBACK,
    "unignore": _FEEDBACK,
    "raise": _FEEDBACK,
}


# ---- periodic reports ------------------------------------------------------------------------


def daily_summary(
    day: str,
    timezone: str,
    usage: Iterable[dict],
    household_mwh: int | None = None,
    *,
    same_node_as: Mapping[str, str] | None = None,
    metered_nodes: Iterable[str] | None = None,
) -> dict:
    """One local day's energy, per node id and for the household, from Store.usage day rows of that day.

    `nodes` is every id's own energy, as stored. `energy_mwh` is the household's as billing counts it
    (`household_mwh`, the house rollup of gateway/house.py): each ESP32 once, or the mains meters
    `metered_nodes`; None: the sum of the ids. Two keys appear only when the total is not that sum:
    `same_node_as` ({BLE id: serial id}, the pairs in `nodes` counted once) and `metered_nodes`. A
    household with neither gets the payload it always got.
    """
    nodes: dict[str, int] = {}
    for row in usage:
        nodes[row["node_id"]] = nodes.get(row["node_id"], 0) + row["energy_mwh"]
    out = {
        "day": day,
        "timezone": timezone,
        "energy_mwh": sum(nodes.values()) if household_mwh is None else household_mwh,
        "nodes": dict(sorted(nodes.items())),
    }
    pairs = {ble: serial for ble, serial in (same_node_as or {}).items() if ble in nodes and serial in nodes}
    if pairs:
        out["same_node_as"] = dict(sorted(pairs.items()))
    if metered_nodes:
        out["metered_nodes"] = list(metered_nodes)
    return out


NODE_HEALTH_FIELDS = ("transport", "fw", "last_seen_ms", "frames_ok", "frames_lost", "reboots", "last_flags")


def node_health(hour_start_ms: int, nodes: Iterable[dict]) -> dict:
    """Every node's counters at one hour: compact, one event per hour for the whole gateway."""
    return {
        "hour_start_ms": hour_start_ms,
        "nodes": {n["node_id"]: {f: n.get(f) for f in NODE_HEALTH_FIELDS} for n in nodes},
    }
