"""The Ignored patterns and Stop ignoring in real headless Chromium against waitress on loopback: the
theft card lists a saved Ignore rule in words with a link to its alert, and the alert's Stop ignoring
button reopens it (checked in the database). The server and the pages share one clock
(tests/support/browser.py). Screenshots go to test-artifacts/ui/ (gitignored)."""

from __future__ import annotations

import pytest

from edge_model.feedback_store import FeedbackTables
from edge_model.ignore_rules import SuppressionRule
from edge_model.rule_text import describe
from gateway.alerts import AlertStore
from gateway.app import open_store
from tests.support.browser import (
    ARTIFACTS,
    MARKS,
    RunningClock,
    household_date,
    log_in,
    now_ms,
    open_page,
    serve_dashboard,
)
from tests.support.dashboard import raise_alerts

pytestmark = MARKS


@pytest.fixture(scope="module")
def site(tmp_path_factory, seeded):
    tmp = tmp_path_factory.mktemp("ui-ignore-rules")
    db = tmp / "powergw.db"
    clock = RunningClock(now_ms())
    now = clock.start_ms
    seeded(db, days=40, now_ms=now)
    theft, _, _ = raise_alerts(db, now)
    store = open_store(db)
    AlertStore(store).act(theft, "ignore", "admin", "guests this week", now_ms=now - 60_000)
    rule = SuppressionRule(
        first_hour=1,
        last_hour=4,
        weekdays=frozenset(range(7)),
        max_power_w=970.0,
        expires_s=now / 1000 + 60 * 86_400,
        excess_cap_w=850.0,
        usual_w=(120.0,) * 24,
        start_s=now / 1000 - 5 * 86_400,
        renew_days=90.0,
        hours=(1, 2, 3),
    )
    FeedbackTables(store).save_rule(theft, rule.to_dict())  # as the daemon's theft job saves the Ignore it took in
    store.close()
    server = serve_dashboard(db, tmp, clock)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield {"url": server.url, "db": db, "theft": theft, "rule": rule, "clock": clock}
    server.stop()


def test_ignored_patterns_are_listed_and_stop_ignoring_reopens_the_alert(browser, site):
    theft = site["theft"]
    page = open_page(browser, site)
    log_in(page, site)
    listed = page.locator(f"[data-testid=ignored-patterns] [data-rule-alert='{theft}']")
    listed.wait_for()
    # "up to +850 W over usual from 01:00 to 04:00, every day, until ..." (the date in the household's zone)
    assert describe(site["rule"].to_dict(), "Asia/Kolkata") in listed.inner_text()
    assert f"until {household_date(int(site['rule'].expires_s * 1000)).isoformat()}" in listed.inner_text()
    assert "from 01:00 to 04:00" in listed.inner_text()
    page.screenshot(path=str(ARTIFACTS / "overview-ignored-patterns.png"), full_page=True)
    listed.locator("a").click()  # to the alert, shown among the ignored ones
    card = page.locator(f"[data-alert='{theft}']")
    card.wait_for()
    assert "focus" in card.get_attribute("class") and card.locator(".pill.st-ignored").count() == 1
    assert page.locator("[data-filter=ignored].on").count() == 1
    card.locator("[data-action=unignore]").click()
    assert "not reported as theft" in card.locator(".act-form").inner_text()
    card.locator("textarea[name=comment]").fill("pressed Ignore by mistake")
    card.locator("[data-action=confirm]").click()
    page.wait_for_selector(f"[data-alert='{theft}']", state="detached")  # gone from the Ignored filter
    assert "no longer ignored" in page.locator(".toast").inner_text()
    page.click("[data-filter=open]")
    page.wait_for_selector(f"[data-alert='{theft}'] .pill.st-open")
    page.locator(f"[data-alert='{theft}'] button:has-text('History')").click()
    page.wait_for_selector(f"[data-alert='{theft}'] .history li >> nth=1")
    assert "You took back “this is mine” on " in page.inner_text(f"[data-alert='{theft}'] .history")
    page.screenshot(path=str(ARTIFACTS / "alerts-stop-ignoring.png"), full_page=True)
    store = open_store(site["db"])
    assert store.conn.execute("SELECT state FROM alerts WHERE id = ?", (theft,)).fetchone() == ("open",)
    assert store.conn.execute(
        "SELECT action, by, comment FROM alert_actions WHERE alert_id = ? ORDER BY id DESC LIMIT 1", (theft,)
    ).fetchone() == ("unignore", "admin", "pressed Ignore by mistake")
    store.close()
    # Until the daemon's next hourly theft check drops the rule, the theft card says it is on its way out.
    page.click("[data-nav=overview]")
    listed.wait_for()
    page.wait_for_function(
        "el => el.textContent.includes('next hourly check')", arg=listed.element_handle(), timeout=5000
    )
    assert not page.errors, page.errors
    page.context.close()


def test_a_resolved_ignored_pattern_is_un_ignored_from_the_theft_card(browser, tmp_path, seeded):
    """Ignored, then resolved: its rule is still listed, and the card's Stop ignoring reopens the alert."""
    db = tmp_path / "powergw.db"
    clock = RunningClock(now_ms())
    now = clock.start_ms
    seeded(db, days=40, now_ms=now)
    theft, _, _ = raise_alerts(db, now)
    store = open_store(db)
    alerts = AlertStore(store)
    alerts.act(theft, "ignore", "admin", "our pump", now_ms=now - 120_000)
    alerts.act(theft, "resolve", "admin", "nothing to do", now_ms=now - 60_000)
    rule = SuppressionRule(
        first_hour=6,
        last_hour=8,
        weekdays=frozenset(range(7)),
        max_power_w=900.0,
        expires_s=now / 1000 + 60 * 86_400,
        excess_cap_w=750.0,
        usual_w=(120.0,) * 24,
        start_s=now / 1000 - 5 * 86_400,
        renew_days=90.0,
        hours=(6, 7),
    )
    FeedbackTables(store).save_rule(theft, rule.to_dict())
    store.close()
    server = serve_dashboard(db, tmp_path, clock)
    try:
        page = open_page(browser, {"url": server.url, "clock": clock})
        log_in(page, {"url": server.url})
        listed = page.locator(f"[data-testid=ignored-patterns] [data-rule-alert='{theft}']")
        listed.wait_for()
        listed.locator("[data-action=unignore]").click()
        page.wait_for_function(
            "el => el.textContent.includes('next hourly check')", arg=listed.element_handle(), timeout=5000
        )
        assert "no longer ignored" in page.locator(".toast").inner_text()
        assert listed.locator("[data-action=unignore]").count() == 0  # open now: nothing more to stop
        assert not page.errors, page.errors
        page.context.close()
    finally:
        server.stop()
    store = open_store(db)
    assert store.conn.execute("SELECT state FROM alerts WHERE id = ?", (theft,)).fetchone() == ("open",)
    store.close()
