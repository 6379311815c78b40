"""Alerts a family understands, in real headless Chromium against waitress on loopback, on a phone
(360x740) and a laptop (1366x900): the theft card says what happened in household words with a small
chart of the flagged hours against a usual day and a link to them in the power graph, the numbers
only under Details; Raise ("this is not mine") shows what to do next and the evidence to take; a
budget alert offers neither Ignore nor Raise; Ignore ("this is mine") lists the pattern as pending
at once. Screenshots go to test-artifacts/ui/ (gitignored)."""

from __future__ import annotations

import pytest

from local_ui import serve_in_thread
from tests.support.browser import ARTIFACTS, MARKS, RunningClock, log_in, now_ms, open_page
from tests.support.tapped_house import tapped_app

pytestmark = MARKS
SIZES = {"phone": (360, 740), "laptop": (1366, 900)}


@pytest.fixture
def site(tmp_path):
    clock = RunningClock(now_ms())
    app, seeded = tapped_app(tmp_path, clock)
    server = serve_in_thread(app, "127.0.0.1", 0)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield {"url": server.url, "clock": clock, **seeded}
    server.stop()


def alerts_page(browser, site, size):
    page = open_page(browser, site, phone=size == "phone")
    page.set_viewport_size(dict(zip(("width", "height"), SIZES[size], strict=True)))
    log_in(page, site)
    page.click("[data-nav=alerts]")
    page.wait_for_selector(f"[data-alert='{site['theft']}'] [data-testid=alert-summary]")
    return page


@pytest.mark.parametrize("size", SIZES)
def test_theft_and_budget_cards_read_in_plain_words(browser, site, size):
    page = alerts_page(browser, site, size)
    card = page.locator(f"[data-alert='{site['theft']}']")
    assert card.locator("h2").inner_text().lower() == "possible theft or tapping"
    assert card.locator("[data-testid=alert-summary]").inner_text() == (
        "Between 1 am and 5 am on 4 of the last 4 nights your house drew about 1.1 kW more than usual, "
        "even in its quietest minutes, when usually little is on."
    )
    # The chart: two lines over the day, the flagged hours shaded, and the same in words beside it.
    assert card.locator(".alert-chart polyline.flagged").get_attribute("points").count(",") == 24
    assert card.locator(".alert-chart polyline.usual").get_attribute("points").count(",") == 24
    assert card.locator(".alert-chart rect.band").count() == 1
    assert card.locator("[data-testid=alert-chart-text]").inner_text() == (
        "Between 1 am and 5 am on those 4 days the house drew about 1,400 W; on a usual day about 300 W."
    )
    box = card.locator(".alert-chart svg").bounding_box()
    assert box["width"] <= SIZES[size][0] and box["height"] > 60
    link = card.locator("[data-testid=alert-graph-link]")
    assert link.get_attribute("href") == f"#/usage?view=power&from={site['from_ms']}&to={site['to_ms']}"
    # Engineers' numbers only under Details.
    details = card.locator("details.alert-details")
    assert not details.locator("dd:has-text('0.9201')").is_visible()
    assert "score" not in card.locator("[data-testid=alert-summary]").inner_text()
    details.locator("summary").click()
    assert details.locator("dd:has-text('0.9201')").is_visible()
    assert card.locator("[data-action=ignore]").inner_text() == "This is mine"
    assert card.locator("[data-action=raise]").inner_text() == "This is not mine"

    budget = page.locator(f"[data-alert='{site['budget']}']")
    assert budget.locator("[data-testid=alert-summary]").inner_text() == (
        "You have used 52 % of your ₹800 budget for this cycle (₹416.00 so far)."
    )
    assert budget.locator("[data-action=ignore], [data-action=raise], [data-action=unignore]").count() == 0
    assert budget.locator("[data-action=resolve]").count() == 1
    assert budget.locator(".alert-chart").count() == 0
    kinds = page.locator("[data-testid=kind-filter] option").all_inner_texts()
    assert "Possible theft or tapping" in kinds and "Budget" in kinds
    assert not [k for k in kinds if "[" in k or "_" in k], kinds  # no config sections, no slugs
    page.screenshot(path=str(ARTIFACTS / f"alerts-plain-{size}.png"), full_page=True)
    assert not page.errors, page.errors
    page.context.close()


@pytest.mark.parametrize("size", SIZES)
def test_raise_shows_what_to_do_next_and_the_evidence(browser, site, size):
    page = alerts_page(browser, site, size)
    card = page.locator(f"[data-alert='{site['theft']}']")
    card.locator("[data-action=raise]").click()
    assert "keeps watching" in card.locator(".act-form").inner_text()
    card.locator("textarea[name=comment]").fill("not ours: nothing runs at 2 am")
    card.locator("[data-action=confirm]").click()
    steps = page.locator(f"[data-alert='{site['theft']}'] [data-testid=next-steps]")
    steps.wait_for()
    assert page.locator("[data-filter=raised].on").count() == 1
    text = steps.inner_text()
    assert "What to do next" in text and "vigilance wing" in text and "TNPDCL" in text
    nights = site["nights"]
    assert "between 1 am and 5 am" in text and f"{nights[0].day} " in text
    csv = steps.locator("[data-testid=evidence-csv]")
    assert csv.get_attribute("href") == (
        f"/api/v1/export/readings.csv?from={nights[0].isoformat()}&to={nights[-1].isoformat()}"
    )
    raised = page.locator(f"[data-alert='{site['theft']}']")
    raised.locator("button:has-text('History')").click()
    history = raised.locator("[data-testid=alert-history]")
    history.wait_for()
    assert history.inner_text().startswith("You said this is not yours on ")
    assert "→" not in history.inner_text() and "(open" not in history.inner_text()
    page.screenshot(path=str(ARTIFACTS / f"alerts-raised-{size}.png"), full_page=True)
    assert not page.errors, page.errors
    page.context.close()


@pytest.mark.parametrize("size", SIZES)
def test_ignore_lists_a_pending_pattern_at_once(browser, site, size):
    page = alerts_page(browser, site, size)
    assert page.locator("[data-testid=alerts-ignored-patterns]").count() == 0
    card = page.locator(f"[data-alert='{site['theft']}']")
    card.locator("[data-action=ignore]").click()
    assert "learns this pattern" in card.locator(".act-form").inner_text()
    card.locator("[data-action=confirm]").click()
    pending = page.locator(f"[data-testid=alerts-ignored-patterns] [data-rule-alert='{site['theft']}']")
    pending.wait_for(timeout=5000)
    assert pending.inner_text().startswith("Yours: about 1100 W over usual between 1 am and 5 am")
    assert "next hourly check" in pending.inner_text()
    page.click("[data-nav=overview]")
    listed = page.locator(f"[data-testid=ignored-patterns] [data-rule-alert='{site['theft']}']")
    listed.wait_for(timeout=5000)
    assert "next hourly check" in listed.inner_text()
    page.screenshot(path=str(ARTIFACTS / f"alerts-ignored-pending-{size}.png"), full_page=True)
    assert not page.errors, page.errors
    page.context.close()
