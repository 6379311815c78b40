"""The dashboard in real headless Chromium (Debian's, driven by Playwright) against waitress on loopback.

A real Ingest writes live.json while the test feeds it frames, so "the live value changes on
screen" goes through the same path as a node on a serial port. The server, the Ingest and the
pages share one clock (tests/support/browser.py). Screenshots go to test-artifacts/ui/
(gitignored) for people to look at.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import time
from pathlib import Path

from gateway.app import open_store
from local_ui import create_app, serve_in_thread
from tests.support.browser import MARKS, household_date, log_in, open_page, shot
from tests.support.dashboard import ADMIN_PASSWORD, KITCHEN, MAINS

pytestmark = MARKS


def test_wrong_password_then_login(browser, site):
    page = open_page(browser, site)
    page.goto(site["url"] + "/")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "not-the-password")
    page.click("button:has-text('Log in')")
    page.wait_for_selector("[role=alert]")
    assert "Wrong username or password" in page.inner_text("[role=alert]")
    shot(page, "login-failed")
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.click("button:has-text('Log in')")
    page.wait_for_selector("[data-testid=live-total]")
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["pgw_session"]["httpOnly"] and cookies["pgw_session"]["sameSite"] == "Strict"
    assert page.evaluate("document.cookie") == ""  # nothing readable by scripts
    assert not page.errors
    page.context.close()


def test_live_value_changes_on_screen_within_two_seconds(browser, site):
    page = open_page(browser, site)
    log_in(page, site)
    card = page.locator(f"[data-node='{KITCHEN}'] [data-testid=node-power]")
    page.wait_for_function("el => el.textContent.includes('512')", arg=card.element_handle(), timeout=5000)
    shot(page, "overview-desktop")
    lags = []
    for watts, shown in ((2345.6, "2,346 W"), (87.0, "87 W"), (1234.0, "1,234 W")):
        site["streamer"].send(watts)
        sent = time.monotonic()
        page.wait_for_function(
            "([el, want]) => el.textContent.trim() === want", arg=[card.element_handle(), shown], timeout=2000
        )
        lags.append(time.monotonic() - sent)
    assert max(lags) < 2.0, lags
    assert page.inner_text("[data-testid=live-total]").endswith("W")
    assert not page.errors, page.errors
    page.context.close()


def usage_page_at(page, site, days_back: int) -> str:
    """Open the Usage page, check it opens on the household's today, step back `days_back` days; that date."""
    page.click("[data-nav=usage]")
    page.wait_for_selector("[data-testid=usage-total]")
    today = household_date(site["clock"]())
    assert page.input_value("input[type=date]") == today.isoformat()  # India's date, not UTC's or the machine's
    for _ in range(days_back):
        page.click(".daterow button >> nth=0")  # ‹ the day before
    want = (today - dt.timedelta(days=days_back)).isoformat()
    label = page.evaluate("async (d) => (await import('/static/format.js')).dayOfIso(d)", want)  # "4 Feb 2027"
    page.wait_for_function(
        "label => document.querySelector('[data-testid=usage-total]').parentElement.textContent.includes(label)",
        arg=label,
    )  # the figures shown are that day's
    return want


def test_usage_chart_compare_and_csv(browser, site):
    page = open_page(browser, site)
    log_in(page, site)
    # Two days back every period shown has whole days of data, whatever the hour: today may be
    # minutes old, and a month that began yesterday would hold one day.
    date = usage_page_at(page, site, 2)
    page.wait_for_selector("[data-testid=chart] canvas")
    total_day = page.inner_text("[data-testid=usage-total]")
    assert re.match(r"[\d,.]+ kWh", total_day)
    page.click("[data-period=month]")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=usage-total]').parentElement.textContent.includes('–')"
    )
    want = page.evaluate(
        """async (date) => {
        const u = await (await fetch('/api/v1/usage?period=month&compare=true&date=' + date)).json();
        return (await import('/static/format.js')).num(u.total_kwh, 2) + ' kWh';
    }""",
        date,
    )
    assert page.inner_text("[data-testid=usage-total]") == want != total_day
    assert page.locator("text=Previous period").count() >= 1
    shot(page, "usage-month")
    with page.expect_download() as dl:
        page.click("[data-testid=csv]")
    path = dl.value.path()
    head = Path(path).read_text().splitlines()[0]
    assert head == "start_local,start_utc_ms,node_id,node_name,energy_kwh"
    # The month's daily usage as `powergw export daily` writes it, through the export endpoint.
    with page.expect_download() as dl:
        page.click("[data-testid=export-daily]")
    assert re.fullmatch(r"powergw-daily-\d{4}-\d{2}-01-to-\d{4}-\d{2}-\d{2}\.csv", dl.value.suggested_filename)
    lines = Path(dl.value.path()).read_text().splitlines()
    month = dl.value.suggested_filename[len("powergw-daily-") :][:7]
    assert lines[0] == "date,node_id,node_name,energy_wh"
    assert len(lines) > 2 and all(line.startswith(month) for line in lines[1:])
    assert {line.split(",")[2] for line in lines[1:]} == {"kitchen", "mains"}
    page.click("[data-period=year]")
    page.wait_for_selector("[data-testid=chart] canvas")
    assert not page.errors, page.errors
    page.context.close()


def test_ignore_and_raise_alerts(browser, site):
    page = open_page(browser, site)
    log_in(page, site)
    page.click("[data-nav=alerts]")
    theft, offline, _ = site["alerts"]
    page.wait_for_selector(f"[data-alert='{theft}']")
    shot(page, "alerts-open")
    card = page.locator(f"[data-alert='{theft}']")
    card.locator("[data-action=ignore]").click()
    card.locator("textarea[name=comment]").fill("guests this week")
    card.locator("[data-action=confirm]").click()
    page.wait_for_selector(f"[data-alert='{theft}']", state="detached")  # gone from the Open filter
    assert page.locator(f"[data-alert='{offline}'] [data-action=raise]").count() == 0  # Raise is for theft
    page.locator(f"[data-alert='{offline}'] [data-action=resolve]").click()
    page.locator(f"[data-alert='{offline}'] [data-action=confirm]").click()
    page.wait_for_selector(f"[data-alert='{offline}']", state="detached")
    page.click("[data-filter=all]")
    page.wait_for_selector(f"[data-alert='{theft}'] .pill.st-ignored")
    assert "guests this week" in page.inner_text(f"[data-alert='{theft}']")
    page.wait_for_selector(f"[data-alert='{offline}'] .pill.st-resolved")
    page.locator(f"[data-alert='{theft}'] button:has-text('History')").click()
    page.wait_for_selector(f"[data-alert='{theft}'] .history li")
    shot(page, "alerts-after-actions")
    store = open_store(site["db"])
    states = dict(store.conn.execute("SELECT id, state FROM alerts").fetchall())
    assert states[theft] == "ignored" and states[offline] == "resolved"
    by = store.conn.execute("SELECT by, comment FROM alert_actions WHERE alert_id = ?", (theft,)).fetchone()
    assert by == ("admin", "guests this week")
    assert not page.errors, page.errors
    page.context.close()


def test_budget_and_partial_payment(browser, site):
    page = open_page(browser, site)
    log_in(page, site)
    page.click("[data-nav=bill]")
    page.wait_for_selector("input[name=budget]")
    page.fill("input[name=budget]", "2500")
    page.click("[data-testid=save-budget]")
    page.wait_for_selector("text=Budget saved.")
    before = page.inner_text("[data-testid=balance]")
    page.fill("input[name=amount]", "350.50")
    page.select_option("select[name=method]", "cash")
    page.click("[data-testid=record-payment]")
    page.wait_for_selector("text=Payment of ₹350.50 recorded.")
    page.wait_for_function("b => document.querySelector('[data-testid=balance]').textContent !== b", arg=before)
    assert "₹350.50" in page.inner_text("[data-testid=payments]")
    shot(page, "bill-after-payment")
    with page.expect_download() as dl:
        page.click("[data-testid=export-payments]")
    payments = list(csv.DictReader(io.StringIO(Path(dl.value.path()).read_text())))
    assert [(p["amount_inr"], p["method"], p["state"]) for p in payments] == [("350.50", "cash", "confirmed")]
    assert not page.errors, page.errors
    page.context.close()


def test_phone_viewport(browser, site):
    page = open_page(browser, site, phone=True)
    log_in(page, site)
    # Nothing wider than the screen: no sideways scrolling on a 360 px phone.
    for route in ("overview", "usage", "bill", "alerts", "nodes", "settings"):
        page.click(f"[data-nav={route}]")
        page.wait_for_timeout(600)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, (route, width)
        shot(page, f"phone-{route}")
    nav = page.locator("nav.tabs").bounding_box()
    assert nav["y"] > 600  # the tab bar sits at the bottom, under the thumb
    page.click("[data-nav=alerts]")
    page.click("[data-filter=open]")
    _, _, slab = site["alerts"]
    card = page.locator(f"[data-alert='{slab}']")
    card.locator("[data-action=resolve]").click()
    card.locator("[data-action=confirm]").click()
    page.wait_for_selector(f"[data-alert='{slab}']", state="detached")
    assert not page.errors, page.errors
    page.context.close()


def test_overview_shows_todays_cost(browser, site):
    page = open_page(browser, site)
    log_in(page, site)
    cost = page.locator("[data-testid=today-cost]")
    cost.wait_for()
    want = page.evaluate("""async () => {
        const o = await (await fetch('/api/v1/overview')).json();
        return (await import('/static/format.js')).inr(o.today_cost);
    }""")
    assert re.fullmatch(r"₹[\d,]+\.\d\d", want) and cost.inner_text() == want
    # The theft card says when the daemon last checked; this database has never had a daemon.
    page.get_by_text("Not checked yet: the gateway checks every hour").wait_for()
    assert not page.errors, page.errors
    page.context.close()


def test_whole_house_total_leaves_out_sub_circuits(browser, site):
    page = open_page(browser, site)
    log_in(page, site)
    page.wait_for_selector(f"[data-node='{KITCHEN}']")
    assert page.locator("[data-testid=metered-note]").count() == 0  # no metered_nodes: every node is the house
    # ... which the Overview asks to check, with the reading date still the default: what to set and why.
    gaps = page.locator("[data-testid=setup-gaps]")
    gaps.wait_for()
    assert [g.get_attribute("data-setup") for g in gaps.locator(".setup-gap").all()] == [
        "billing.meter_reading_date",
        "billing.metered_nodes",
    ]
    assert (
        "counted twice, in the bill and in the theft check" in gaps.inner_text()
        and "metered_nodes" not in gaps.inner_text()
        and gaps.locator("[data-testid=setup-gap-link]").first.get_attribute("href") == "#/settings?setup"
    )
    shot(page, "overview-setup-gaps")
    page.context.close()

    # The same gateway with [billing] metered_nodes = the mains: the kitchen is a sub-circuit,
    # shown on its own card but not added to the household's total.
    from gateway.config import parse_config

    config = parse_config({"billing": {"metered_nodes": [MAINS]}})
    app = create_app(
        site["db"],
        live_path=site["live"],
        config=config,
        clock=site["clock"],
        admin_password=ADMIN_PASSWORD,
        registry_root=site["db"].parent / "models",
    )
    server = serve_in_thread(app, "127.0.0.1", 0)
    try:
        page = open_page(browser, site)
        log_in(page, {"url": server.url})
        page.wait_for_selector("[data-testid=metered-note]")
        # The stream sends the house's power again once the overview has applied metered_nodes (up to 0.2 s).
        deadline = time.monotonic() + 5
        while page.inner_text("[data-testid=live-total]") != "1,000 W" and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        assert page.inner_text("[data-testid=live-total]") == "1,000 W"  # the mains' last reading
        assert page.locator("[data-setup]").evaluate_all("els => els.map(e => e.dataset.setup)") == [
            "billing.meter_reading_date"
        ]
        kitchen = page.inner_text(f"[data-node='{KITCHEN}'] [data-testid=node-power]")
        assert kitchen.endswith(" W") and kitchen != "—"
        shot(page, "overview-metered")
        # The Usage page's total is the mains' too (the bill's rule), and says the kitchen is left out:
        # yesterday's, a whole day whatever the hour (in today's first minutes no node has used anything yet).
        date = usage_page_at(page, site, 1)
        page.wait_for_selector("[data-testid=usage-metered-note]")
        assert "1 sub-circuit node(s)" in page.inner_text("[data-testid=usage-metered-note]")
        want = page.evaluate(
            """async (date) => {
            const u = await (await fetch('/api/v1/usage?period=day&compare=true&date=' + date)).json();
            const mains = u.series.find((s) => s.metered).points.reduce((a, [, v]) => a + v, 0);
            return [(await import('/static/format.js')).num(u.total_kwh, 2), Math.abs(mains - u.total_kwh) < 1e-6];
        }""",
            date,
        )
        assert want[1] and page.inner_text("[data-testid=usage-total]") == want[0] + " kWh"
        shot(page, "usage-metered")
        assert not page.errors, page.errors
        page.context.close()
    finally:
        server.stop()


def test_indian_money_and_household_time_formatting(browser, site):
    page = open_page(browser, site)
    page.goto(site["url"] + "/")
    page.wait_for_selector("input[name=username]")
    out = page.evaluate("""async () => {
        const f = await import('/static/format.js');
        f.setZone('Asia/Kolkata');
        return [f.inr('123456.78'), f.inr('1234567890.5'), f.inr('0'), f.inr('-2048.40'), f.inr('999'),
                f.todayIso(Date.UTC(2026, 0, 1, 19, 0)), f.groupIndian('100000')];
    }""")
    assert out == ["₹1,23,456.78", "₹1,23,45,67,890.50", "₹0.00", "−₹2,048.40", "₹999.00", "2026-01-02", "1,00,000"]
    page.context.close()
