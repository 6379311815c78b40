"""Junk that would stick: meter readings bounded by what a household meter shows, and an admin's
correction or deletion of a wrong one, with an audit line, on a real server and through the CLI."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from gateway.billing import BilledPeriodError
from gateway.billing.cycle import billed_period
from gateway.cli import main
from tests.support.dashboard import NOW_MS

DAY = 86_400_000


def test_a_typo_is_corrected_then_deleted_and_the_audit_keeps_both(served):
    admin = served.session()
    url = served.url + "/api/v1/meter-readings"
    served.clock.now = NOW_MS - 2 * DAY
    typo = admin.post(url, json={"reading": "99999.9", "note": "first"}, timeout=10).json()  # meant 9999.9
    served.clock.now = NOW_MS  # two days at 1.4 kW: the sensors saw 67.2 kWh
    r = admin.post(url, json={"reading": "10067.1"}, timeout=10)
    assert r.status_code == 400 and "less than the previous reading 99999.9" in r.json()["error"]["message"]
    assert "correct or delete that reading" in r.json()["error"]["message"]

    r = admin.put(f"{url}/{typo['id']}", json={"value": "9999.9", "note": "typed a 9 twice"}, timeout=10)
    assert r.status_code == 200 and r.json()["value_kwh"] == "9999.9"
    second = admin.post(url, json={"reading": "10067.1"}, timeout=10).json()
    assert second["meter_kwh"] == "67.2" and not second["flagged"]

    # A wrong correction flags the gap and raises an alert; correcting it back resolves that alert.
    flagged = admin.put(f"{url}/{second['id']}", json={"value": "10200.0"}, timeout=10).json()
    assert flagged["flagged"] and flagged["alert_state"] == "open"
    fixed = admin.put(f"{url}/{second['id']}", json={"value": "10067.1"}, timeout=10).json()
    assert not fixed["flagged"]
    assert admin.get(f"{served.url}/api/v1/alerts/{flagged['alert_id']}", timeout=10).json()["state"] == "resolved"

    assert admin.delete(f"{url}/{typo['id']}", timeout=10).status_code == 200
    listed = admin.get(url, timeout=10).json()
    assert [r["id"] for r in listed["readings"]] == [second["id"]] and listed["readings"][0]["gap_pct"] is None
    assert [
        (a["reading_id"], a["action"], a["old_value_kwh"], a["new_value_kwh"], a["by"]) for a in listed["audit"]
    ] == [
        (typo["id"], "delete", "9999.9", None, "admin"),
        (second["id"], "correct", "10200.0", "10067.1", "admin"),
        (second["id"], "correct", "10067.1", "10200.0", "admin"),
        (typo["id"], "correct", "99999.9", "9999.9", "admin"),
    ]
    assert admin.delete(f"{url}/{typo['id']}", timeout=10).status_code == 404
    assert admin.put(f"{url}/{second['id']}", json={"value": "1e30"}, timeout=10).status_code == 400


def test_a_digit_typed_twice_is_refused_at_once(served):
    admin = served.session()
    url = served.url + "/api/v1/meter-readings"
    served.clock.now = NOW_MS - 2 * DAY
    assert admin.post(url, json={"reading": "12345.6"}, timeout=10).status_code == 201
    served.clock.now = NOW_MS
    r = admin.post(url, json={"reading": "123456.0"}, timeout=10)  # 12412.8 with a digit typed twice
    assert r.status_code == 400 and "more than the house can draw" in r.json()["error"]["message"]


def test_the_cli_lists_corrects_and_deletes(served, capsys):
    db = str(served.db)
    at = dt.datetime.fromtimestamp((NOW_MS - 2 * DAY) / 1000).strftime("%Y-%m-%dT%H:%M")
    assert main(["meter", "--db", db, "--reading", "99999.9", "--at", at]) == 0
    capsys.readouterr()
    assert main(["meter", "--db", db, "--list", "--format", "json"]) == 0
    reading_id = json.loads(capsys.readouterr().out)["readings"][0]["id"]
    assert (
        main(
            ["meter", "--db", db, "--correct", str(reading_id), "--reading", "9999.9", "--by", "ravi", "--note", "typo"]
        )
        == 0
    )
    assert "corrected from 99999.9 to 9999.9" in capsys.readouterr().out
    assert main(["meter", "--db", db, "--delete", str(reading_id), "--by", "ravi"]) == 0
    assert main(["meter", "--db", db, "--list"]) == 0
    out = capsys.readouterr().out
    assert "no meter readings entered" in out and f"#{reading_id} delete by ravi: 9999.9 -> deleted" in out
    assert main(["meter", "--db", db, "--delete", "999"]) == 2
    assert "no meter reading #999" in capsys.readouterr().err


T = dt.date(2026, 3, 15)


@pytest.mark.parametrize(
    "first, end, words",
    [
        ("2000-01-01", "2100-01-01", "after today"),
        ("2026-03-10", "2026-03-01", "must end after it starts"),
        ("2026-03-01", "2026-03-01", "must end after it starts"),
        ("1999-12-01", "2000-01-01", "before 2000"),
        ("2025-01-01", "2026-03-01", "at most 100 days"),
        ("2026-02-30", "2026-03-01", "expected the bill's dates as YYYY-MM-DD"),
        (None, "2026-03-01", "expected the bill's dates"),
        ("2026-03-01", "2026-03-16", "after today"),
    ],
)
def test_the_billed_period_validator(first, end, words):
    with pytest.raises(BilledPeriodError, match=words):
        billed_period(first, end, T)


def test_the_billed_period_validator_takes_a_real_bill():
    assert billed_period("2026-01-05", "2026-03-05", T) == (dt.date(2026, 1, 5), dt.date(2026, 3, 5))
    assert billed_period(dt.date(2026, 2, 15), T, T) == (dt.date(2026, 2, 15), T)
