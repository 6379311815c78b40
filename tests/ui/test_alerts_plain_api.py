"""The alerts API in household words, through Flask's test client over a real SQLite file: each alert
carries one plain sentence (`summary` as {key, params}), the answers that fit its kind, and for theft
the small chart's data from the store, the power graph's span and the evidence's days; its history
reads as sentences; an Ignore is listed at once as a pending pattern; answers that do not fit a kind
are refused and change nothing."""

from __future__ import annotations

import pytest

from tests.support.dashboard import FixedClock, error, login, write
from tests.support.tapped_house import TAP_W, USUAL_W, tapped_app


@pytest.fixture
def house(tmp_path, monkeypatch):
    monkeypatch.delenv("POWERGW_ADMIN_PASSWORD", raising=False)
    app, seeded = tapped_app(tmp_path, FixedClock())
    client = app.test_client()
    client.csrf = login(client)
    return {"client": client, **seeded}


def by_id(client, alert_id):
    return {a["id"]: a for a in client.get("/api/v1/alerts?state=open,ignored,raised,resolved").get_json()["alerts"]}[
        alert_id
    ]


def test_a_theft_alert_in_plain_words_with_its_chart_and_span(house):
    a = by_id(house["client"], house["theft"])
    assert a["summary"] == {
        "key": "alert_sum_theft_nights_quiet",
        "params": {"from": "1 am", "to": "5 am", "power": "1.1 kW", "days": "4", "of": "4"},
        "formats": {"from": ["hour", 1], "to": ["hour", 5]},  # the page words hours in its own language
    }
    assert a["actions"] == ["ignore", "raise", "resolve"]
    chart = a["view"]["chart"]
    assert chart["hours"] == list(range(24)) and chart["hour_labels"][:2] == ["midnight", "1 am"]
    assert chart["band_hours"] == [1, 2, 3, 4] and len(chart["days"]) == 4
    # From the store: the tapped nights' hours against the 14 usual days before them.
    assert chart["flagged_w"][1:5] == [USUAL_W + TAP_W] * 4 and chart["flagged_w"][12] == USUAL_W
    assert chart["usual_w"] == [USUAL_W] * 24 and chart["usual_days"] == 14
    assert chart["flagged_band_w"] == USUAL_W + TAP_W and chart["usual_band_w"] == USUAL_W
    assert a["view"]["link"] == {"from_ms": house["from_ms"], "to_ms": house["to_ms"]}
    nights = [d.isoformat() for d in house["nights"]]
    assert a["view"]["evidence"] == {"from_day": nights[0], "to_day": nights[-1]}


def test_a_budget_alert_says_how_much_is_used_and_offers_no_ignore_or_raise(house):
    c = house["client"]
    a = by_id(c, house["budget"])
    assert a["summary"] == {
        "key": "alert_sum_budget_threshold",
        "params": {"pct": "52", "budget": "₹800", "spent": "₹416.00"},
    }
    assert a["actions"] == ["resolve"] and a["view"] is None
    for action in ("ignore", "raise", "unignore"):
        r = write(c, "POST", f"/api/v1/alerts/{house['budget']}/{action}", {})
        assert r.status_code == 409 and f"{action} does not fit it (it takes resolve)" in error(r)
    assert by_id(c, house["budget"])["state"] == "open"  # nothing changed
    r = write(c, "POST", f"/api/v1/alerts/{house['budget']}/resolve", {"comment": "paid in advance"})
    assert r.status_code == 200 and r.get_json()["state"] == "resolved" and r.get_json()["available"] == []


def test_history_reads_as_sentences(house):
    c = house["client"]
    write(c, "POST", f"/api/v1/alerts/{house['theft']}/ignore", {"comment": "our new geyser"})
    write(c, "POST", f"/api/v1/alerts/{house['theft']}/raise", {"comment": "no, it is not"})
    got = c.get(f"/api/v1/alerts/{house['theft']}").get_json()
    assert [h["key"] for h in got["history"]] == ["alert_hist_ignore_you", "alert_hist_raise_you"]
    assert all(h["params"]["date"] == "15 Mar 2026" and h["params"]["who"] == "admin" for h in got["history"])
    assert [h["formats"]["date"][0] for h in got["history"]] == ["day_ms", "day_ms"]
    assert [a["comment"] for a in got["actions"]] == ["our new geyser", "no, it is not"]  # the records stay
    assert got["available"] == ["resolve"]


def test_an_ignore_shows_at_once_as_a_pending_pattern(house):
    c = house["client"]
    assert c.get("/api/v1/model").get_json()["ignore_rules"] == []
    assert write(c, "POST", f"/api/v1/alerts/{house['theft']}/ignore", {}).status_code == 200
    [pending] = c.get("/api/v1/model").get_json()["ignore_rules"]
    assert pending["alert_id"] == house["theft"] and pending["pending"] is True
    assert pending["summary"] == {
        "key": "alert_pending_pattern",
        "params": {"power": f"{TAP_W} W", "from": "1 am", "to": "5 am"},
        "formats": {"from": ["hour", 1], "to": ["hour", 5]},
    }
    assert "from 01:00 to 05:00" in pending["text"] and "next hourly check" in pending["text"]
    # Stop ignoring before the hourly check: nothing is pending any more.
    assert write(c, "POST", f"/api/v1/alerts/{house['theft']}/unignore", {}).status_code == 200
    assert c.get("/api/v1/model").get_json()["ignore_rules"] == []


def test_an_alert_with_unreadable_numbers_still_reads_as_a_sentence(house):
    from gateway.alerts import AlertStore
    from gateway.app import open_store

    store = open_store(house["db"])
    odd, _ = AlertStore(store).raise_alert(
        "budget_threshold", None, "50% used", now_ms=house["to_ms"], dedup_key="budget:x:50", data={"spent": "lots"}
    )
    store.close()
    assert by_id(house["client"], odd)["summary"] == {"key": "alert_sum_plain", "params": {}}
