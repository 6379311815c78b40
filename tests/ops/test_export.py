"""CSV export from the command line: exact energy and money, local times, billing tables as stored."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from decimal import Decimal

import pytest

from gateway.app import open_store
from tests.support.ingest import make_ingest, reading_wire


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "powergw.db"
    ingest, clock = make_ingest(path)
    counter = 0
    for seq in range(0, 2 * 24 * 60 + 1):  # two days of 1-minute readings, 333 mWh each
        ingest.feed("p", reading_wire(seq, counter, uptime_ms=60_000 * seq + 1000))
        clock.advance(60_000)
        counter += 333
    ingest.flush()
    ingest.store.close()
    return path, counter - 333


def export(*args):
    out = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "export", *args], capture_output=True, text=True, timeout=60
    )
    return out, list(csv.DictReader(io.StringIO(out.stdout)))


def test_daily_sums_to_the_counter_rise_exactly(db):
    path, total = db
    out, rows = export("daily", "--db", str(path), "--from", "2026-01-01", "--to", "2026-01-03")
    assert out.returncode == 0, out.stderr
    assert [r["date"] for r in rows] == ["2026-01-01", "2026-01-02", "2026-01-03"]
    assert sum(Decimal(r["energy_wh"]) for r in rows) * 1000 == total


def test_readings_to_a_file_with_local_times(db, tmp_path):
    path, total = db
    target = tmp_path / "readings.csv"
    out, _ = export("readings", "--db", str(path), "--from", "2026-01-01", "--to", "2026-01-01", "--out", str(target))
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(target.open()))
    assert rows[0]["start"] == "2026-01-01T05:30:00+05:30"
    assert rows[-1]["end"].startswith("2026-01-01T23:59")
    assert {"node_id", "power_w", "energy_wh", "counter_wh", "seq"} <= set(rows[0])
    assert all(r["power_w"] == "1000.0" for r in rows)
    assert "rows written" in out.stderr
    assert not list(tmp_path.glob(".*.partial"))


def test_one_node_and_an_unknown_node(db):
    path, _ = db
    out, rows = export(
        "daily", "--db", str(path), "--from", "2026-01-01", "--to", "2026-01-02", "--node", "a4:cf:12:34:56:78"
    )
    assert out.returncode == 0 and len(rows) == 2
    out, _ = export("daily", "--db", str(path), "--from", "2026-01-01", "--to", "2026-01-02", "--node", "nope")
    assert out.returncode == 2 and "no node 'nope'" in out.stderr


def test_bills_and_payments_export_the_ledger_tables_with_exact_rupees(db):
    path, _ = db
    out, rows = export("bills", "--db", str(path), "--from", "2026-01-01", "--to", "2026-01-31")
    assert out.returncode == 0 and rows == []
    store = open_store(path)  # the billing ledger's tables, as gateway.billing.ledger creates them
    store.conn.execute(
        "INSERT INTO bills (cycle_start, cycle_end, tariff, units, amount_paise, previous_balance_paise, lines, "
        "source, closed_ms, due_date) "
        "VALUES ('2025-11-01', '2026-01-01', 'tn-domestic', '412', 176050, 0, '[]', 'estimate', ?, '2026-01-21')",
        (1_767_225_600_000,),
    )
    store.conn.execute(
        "INSERT INTO payments (payment_key, amount_paise, currency, bill_id, method, state, created_ms) "
        "VALUES ('k1', 123456, 'INR', 1, 'upi', 'confirmed', ?), ('k2', 5000, 'INR', 1, 'cash', 'confirmed', ?)",
        (1_767_312_000_000, 1_777_312_000_000),
    )
    store.close()
    out, rows = export("bills", "--db", str(path), "--from", "2026-01-01", "--to", "2026-01-31")
    assert out.returncode == 0, out.stderr
    assert rows[0]["amount_inr"] == "1760.50" and rows[0]["closed_local"] == "2026-01-01T05:30:00+05:30"
    out, rows = export("payments", "--db", str(path), "--from", "2026-01-01", "--to", "2026-01-31")
    assert out.returncode == 0, out.stderr
    assert [r["amount_inr"] for r in rows] == ["1234.56"]  # the second is outside the range
    assert rows[0]["created_local"] == "2026-01-02T05:30:00+05:30"


def test_a_database_without_billing_says_so(tmp_path):
    import sqlite3

    path = tmp_path / "bare.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE nodes (node_key INTEGER PRIMARY KEY, node_id TEXT, name TEXT)")
    conn.close()
    out, _ = export("payments", "--db", str(path), "--from", "2026-01-01", "--to", "2026-01-31")
    assert out.returncode == 2 and "billing is not set up" in out.stderr


def test_bad_dates(db):
    path, _ = db
    out, _ = export("daily", "--db", str(path), "--from", "2026-02-01", "--to", "2026-01-01")
    assert out.returncode == 2 and "before" in out.stderr
    out, _ = export("daily", "--db", str(path), "--from", "yesterday")
    assert out.returncode == 2 and "YYYY-MM-DD" in out.stderr
