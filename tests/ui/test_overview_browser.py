"""The Overview in real headless Chromium at a phone's 360x740 and a laptop's 1366x900: power now with the
last hour as a line that the live stream extends, today by hour in units and rupees against a usual day,
the cycle with its likely range and the sensors' coverage, the slab headline, open alerts in a sentence
each, theft detection in plain words, axe-core's 0 violations; and a gateway just set up, with no reading
yet, that shows no "₹0.00" and no green dot. Server, Ingest and pages share one clock
(tests/support/browser.py)."""

from __future__ import annotations

import re

import pytest

from local_ui import create_app, serve_in_thread
from tests.support.axe import violations
from tests.support.browser import MARKS, log_in, shot
from tests.support.dashboard import ADMIN_PASSWORD, MAINS
from tests.support.viewports import SIZES, api, fmt, open_sized

pytestmark = MARKS


@pytest.mark.parametrize("size", SIZES)
def test_overview_reads_in_ten_seconds(browser, site, size):
    page = open_sized(browser, site, size)
    log_in(page, site)
    o = api(page, "/overview")
    # Power now, with the last hour as a line; the live stream moves the number and the line's right edge.
    page.wait_for_selector("[data-testid=sparkline] path", state="attached")
    site["streamer"].send(1777.0)  # the kitchen; the house is the kitchen and the mains (1,000 W)
    page.wait_for_function("() => document.querySelector('[data-testid=live-total]').textContent.trim() === '2,777 W'")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=sparkline] svg').ariaLabel.endsWith('now 2,777 W')"
    )
    assert page.locator("[data-testid=live-dot]").count() == 1

    # Today by hour against a usual day, in units, then in rupees: the bars are today's hours so far.
    chart = page.locator("[data-testid=hour-chart]")
    hours_done = sum(1 for h in o["today_hours"]["hours"] if h["kwh"] is not None and h["kwh"] > 0)
    assert chart.locator("[data-bar]").count() >= hours_done
    assert page.locator("[data-testid=today-cost]").inner_text() == fmt(page, "inr", o["today_cost"])
    chart.locator("label:has([data-testid=today-rupees])").click()
    page.wait_for_selector("[data-testid=hour-chart][data-mode=rupees]")
    assert fmt(page, "inr", o["today_cost"]) in chart.locator("svg").get_attribute("aria-label")
    chart.locator("summary").click()
    rows = chart.locator("tbody tr")
    assert rows.count() == 24
    first_cost = o["today_hours"]["hours"][0]["cost"]
    if first_cost is not None:
        assert rows.nth(0).locator("td").nth(0).inner_text() == fmt(page, "inr", first_cost)
    assert rows.nth(0).locator("th").text_content() == "12 am"

    # The cycle: the bill so far, the likely bill with its range, how it was worked out, what the sensors covered.
    bill = o["bill"]
    card = page.locator("[data-testid=bill-card]")
    low = fmt(page, "inr", bill["projection"]["low_total"], {"decimals": 0})
    high = fmt(page, "inr", bill["projection"]["high_total"], {"decimals": 0})
    assert card.locator("[data-testid=projection-range]").inner_text() == f"between {low} and {high}"
    assert "straight line" not in card.inner_text()
    assert "from your home's own pattern" in card.locator("[data-testid=projection-method]").inner_text()
    assert "The sensors measured all" in card.locator("[data-testid=coverage]").inner_text()
    assert fmt(page, "dayOfIso", bill["cycle"]["last_day"]) in card.inner_text()

    # This house is past its last slab: no slab headline (test_slab_headline has one).
    assert o["slab_headline"] is None and page.locator("[data-testid=slab-headline]").count() == 0

    # Open alerts, one sentence each (the alert's summary, or its kind's title), linking to the alert.
    lines = page.locator("[data-alert-line]")
    assert lines.count() == 3
    assert all(re.fullmatch(r"[^\n]+ · .+ ago", line.inner_text().strip()) for line in lines.all())
    # Theft detection in plain words: no model figures outside "Details".
    theft = page.locator("[data-testid=theft-card]")
    assert "ROC-AUC" not in theft.inner_text() and "model shipped" not in theft.inner_text()

    found = violations(page)
    assert found == [], found
    # Nothing wider than the screen; on a laptop no half-empty page: the three cards share the first row.
    assert page.evaluate("document.documentElement.scrollWidth") <= SIZES[size][0]
    tops = [page.locator(f"[data-testid={c}]").bounding_box()["y"] for c in ("power-card", "today-card", "bill-card")]
    if size == "desktop":
        assert max(tops) - min(tops) < 2, tops
    shot(page, f"overview-{size}")
    assert not page.errors, page.errors
    page.context.close()


def own_server(db, clock):
    app = create_app(
        db,
        live_path=db.parent / "run" / "live.json",
        clock=clock,
        admin_password=ADMIN_PASSWORD,
        registry_root=db.parent / "models",
    )
    return serve_in_thread(app, "127.0.0.1", 0)


@pytest.mark.parametrize("size", SIZES)
def test_slab_headline(browser, tmp_path, seeded, size):
    """A house using 7.2 units a day, two months a cycle: the projection passes a slab's edge, and the
    headline says what the units over it cost: the projected bill minus the bill at the edge."""
    from tests.support.browser import RunningClock, now_ms

    clock = RunningClock(now_ms())
    db = seeded(tmp_path / "small.db", days=40, now_ms=clock.start_ms, nodes=((MAINS, "mains", 300),))
    server = own_server(db, clock)
    try:
        page = open_sized(browser, {"clock": clock}, size)
        log_in(page, {"url": server.url})
        head = api(page, "/overview")["slab_headline"]
        assert head is not None, api(page, "/overview")["bill"]
        text = page.inner_text("[data-testid=slab-headline]")
        n = lambda x: fmt(page, "num", int(x), 0)  # noqa: E731
        if head["kind"] == "over":
            extra = fmt(page, "inr", head["extra"])
            want = f"{n(head['units_over'])} units over {n(head['boundary'])} would cost {extra} more"
        else:
            want = f"{n(head['units_left'])} units below {n(head['boundary'])}"
        assert want in text and f"about {n(head['projected_units'])} units" in text, text
        found = violations(page)
        assert found == [], found
        shot(page, f"overview-headline-{size}")
        assert not page.errors, page.errors
        page.context.close()
    finally:
        server.stop()


@pytest.mark.parametrize("size", SIZES)
def test_a_gateway_just_set_up_shows_no_made_up_figures(browser, tmp_path, site, size):
    from tests.support.browser import RunningClock

    clock = RunningClock(site["clock"]())
    server = own_server(tmp_path / "empty.db", clock)
    try:
        page = open_sized(browser, {"clock": clock}, size)
        log_in(page, {"url": server.url})
        page.wait_for_selector("[data-testid=welcome]")
        page.wait_for_timeout(1500)  # the live stream's first events have arrived
        body = page.inner_text("main")
        assert page.inner_text("[data-testid=live-total]") == "—"
        assert page.locator("[data-testid=live-dot]").count() == 0
        assert "₹0.00" not in body and "Projected" not in body and "units to" not in body
        assert page.locator("[data-testid=cycle-empty]").count() == 1
        assert "run `powergw" not in body
        found = violations(page)
        assert found == [], found
        shot(page, f"overview-empty-{size}")
        assert not page.errors, page.errors
        page.context.close()
    finally:
        server.stop()


@pytest.mark.parametrize("size", SIZES)
def test_the_first_hours_of_readings_make_no_projection_yet(browser, tmp_path, seeded, size):
    """Six hours of a 300 W mains: the bill so far and today's hours show (₹0.00 may be true: the first
    100 units are free); the likely bill and the slab headline wait for a whole day of readings, and the
    coverage says how little was measured."""
    from tests.support.browser import RunningClock, now_ms

    clock = RunningClock(now_ms())
    db = seeded(tmp_path / "new.db", days=0.25, now_ms=clock.start_ms, nodes=((MAINS, "mains", 300),))
    server = own_server(db, clock)
    try:
        page = open_sized(browser, {"clock": clock}, size)
        log_in(page, {"url": server.url})
        page.wait_for_selector("[data-testid=projection-later]")
        assert page.locator("[data-testid=projection]").count() == 0
        assert page.locator("[data-testid=slab-headline]").count() == 0
        assert page.locator("[data-testid=welcome]").count() == 0
        assert re.match(r"The sensors measured 0\.[1-3] of the \d", page.inner_text("[data-testid=coverage]"))
        found = violations(page)
        assert found == [], found
        shot(page, f"overview-first-hours-{size}")
        assert not page.errors, page.errors
        page.context.close()
    finally:
        server.stop()
