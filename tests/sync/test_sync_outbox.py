"""The outbox on a real temp-file SQLite, and the pure retry policy."""

from __future__ import annotations

import datetime as dt
import decimal
import email.utils
import sqlite3
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloud_sync import OutboxError
from cloud_sync.backoff import Outcome, classify, parse_retry_after, retry_delay_s
from cloud_sync.outbox import Outbox
from gateway.app import open_store
from gateway.store import transaction


@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path / "gw.db")
    # A change table of our own: the real ledger's `bills` is tested with its listener in test_sync_wiring.py.
    s.conn.execute("CREATE TABLE reported_changes (id TEXT PRIMARY KEY, amount_paise INTEGER)")
    yield s
    s.close()


def test_event_commits_and_rolls_back_with_the_change(store):
    conn = store.conn
    with transaction(conn):
        conn.execute("INSERT INTO reported_changes VALUES ('b1', 120000)")
        key = Outbox.enqueue(conn, "bill_closed", {"bill_id": "b1", "amount_paise": 120000}, now_ms=5)
    with pytest.raises(RuntimeError):
        with transaction(conn):
            conn.execute("INSERT INTO reported_changes VALUES ('b2', 1)")
            Outbox.enqueue(conn, "bill_closed", {"bill_id": "b2"})
            raise RuntimeError("the billing code failed after queueing")
    box = Outbox(conn)
    [e] = box.due(now_ms=10, limit=10)
    assert (e.key, e.kind, e.payload, e.created_ms, e.attempts) == (
        key,
        "bill_closed",
        {"amount_paise": 120000, "bill_id": "b1"},
        5,
        0,
    )
    assert conn.execute("SELECT count(*) FROM reported_changes").fetchone()[0] == 1


def test_a_natural_key_queues_once(store):
    key = str(uuid.uuid4())
    for _ in range(2):
        assert Outbox.enqueue(store.conn, "payment_created", {"amount_paise": 100}, key=key) == key
    assert Outbox(store.conn).depth() == 1


@pytest.mark.parametrize(
    "kind,payload,key,words",
    [
        ("bill_opened", {}, None, "expected one of bill_closed"),
        ("bill_closed", [1], None, "expected a dict"),
        ("bill_closed", {"amount": decimal.Decimal("1.50")}, None, "integer paise"),
        ("bill_closed", {"x": float("nan")}, None, "not JSON"),
        ("bill_closed", {}, "bill-7", "expected a UUID"),
    ],
)
def test_bad_events_are_refused_with_the_reason(store, kind, payload, key, words):
    with pytest.raises(OutboxError, match=words):
        Outbox.enqueue(store.conn, kind, payload, key=key)


def test_outbox_needs_an_autocommit_connection(tmp_path):
    with pytest.raises(OutboxError, match="autocommit"):
        Outbox(sqlite3.connect(tmp_path / "x.db"))


def test_defer_ack_and_dead_letter(store):
    box = Outbox(store.conn)
    keys = [Outbox.enqueue(store.conn, "daily_summary", {"day": f"2025-06-{d:02d}"}, now_ms=d) for d in range(1, 4)]
    box.defer({keys[0]: 5000}, now_ms=100, error="HTTP 503")
    assert [e.key for e in box.due(100, 10)] == keys[1:]
    assert box.next_due_ms() == 2 and box.oldest_created_ms() == 1
    box.dead_letter(box.due(100, 1), 400, "HTTP 400: events[0].payload: too big", now_ms=100)
    box.acknowledge([keys[2]])
    assert box.depth() == 1 and [e.attempts for e in box.due(5100, 10)] == [1]
    [dead] = box.dead_letters()
    assert dead["key"] == keys[1] and dead["status"] == 400 and dead["attempts"] == 1


# ---- retry policy -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status,outcome",
    [
        (200, Outcome.OK),
        (204, Outcome.OK),
        (400, Outcome.PERMANENT),
        (404, Outcome.PERMANENT),
        (413, Outcome.PERMANENT),
        (401, Outcome.UNAUTHORIZED),
        (403, Outcome.UNAUTHORIZED),
        (408, Outcome.RETRY),
        (429, Outcome.THROTTLED),
        (500, Outcome.RETRY),
        (502, Outcome.RETRY),
        (503, Outcome.THROTTLED),
        (302, Outcome.RETRY),
    ],
)
def test_status_table(status, outcome):
    assert classify(status) is outcome


@given(attempt=st.integers(1, 200), draw=st.floats(0, 1), retry_after=st.none() | st.floats(0, 10**7))
def test_delay_is_jittered_within_bounds_and_respects_retry_after(attempt, draw, retry_after):
    delay = retry_delay_s(attempt, base_s=2, cap_s=900, rand=lambda: draw, retry_after_s=retry_after)
    ceiling = min(900, 2 * 2 ** (attempt - 1))
    assert 1 <= delay <= max(900, min(retry_after or 0, 86400))
    assert delay >= ceiling / 2  # every step really waits: at least half its ceiling
    assert delay <= ceiling or retry_after is not None
    if retry_after is not None:
        assert delay >= min(retry_after, 86400)


def test_delay_grows_exponentially_until_the_cap():
    top = [retry_delay_s(a, base_s=2, cap_s=900, rand=lambda: 1.0) for a in range(1, 12)]
    assert top == [2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]


def test_retry_after_as_seconds_or_date():
    now = 1_750_000_000.0
    assert parse_retry_after("120", now) == 120
    date = email.utils.format_datetime(dt.datetime.fromtimestamp(now + 30, dt.UTC), usegmt=True)
    assert parse_retry_after(date, now) == pytest.approx(30)
    assert parse_retry_after("soon", now) is None and parse_retry_after(None, now) is None
