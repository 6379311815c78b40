"""The Settings page in real headless Chromium: change the tariff and the cycle date, and the Bill page follows."""

from __future__ import annotations

import datetime as dt

from test_ui_browser import browser, log_in, open_page, shot, site  # noqa: F401 - fixtures and helpers

import pytest

pytestmark = pytest.mark.slow


def test_settings_change_tariff_and_cycle_date_and_the_bill_follows(browser, site):
    page = open_page(browser, site)
    log_in(page, site)
    page.goto(site["url"] + "/#/bill")
    cycle = page.locator("[data-testid=bill-cycle]")
    cycle.wait_for()
    assert "tn-domestic" in cycle.inner_text()
    total_before = page.inner_text("[data-testid=bill-total]")

    page.goto(site["url"] + "/#/settings")
    page.wait_for_selector("[data-testid=household-settings]")
    source = page.locator("[data-testid=household-settings] .hs-row:has(select[name='billing.tariff']) .hs-source")
    assert source.get_attribute("data-source") == "default"
    start = dt.date.today() - dt.timedelta(days=3)
    page.select_option("select[name='billing.tariff']", "delhi-domestic")
    page.fill("input[name='billing.meter_reading_date']", start.isoformat())
    page.click("[data-testid=save-billing]")
    page.wait_for_selector("[data-testid=household-settings] [data-source=dashboard]")
    assert page.locator("[data-reset='billing.tariff']").is_visible()
    shot(page, "settings-household")

    page.goto(site["url"] + "/#/bill")
    page.wait_for_function("el => el.textContent.includes('delhi-domestic')", arg=cycle.element_handle(), timeout=5000)
    shown_start = page.evaluate("iso => { const [y, m, d] = iso.split('-').map(Number); return new Intl.DateTimeFormat('en-IN', "
                                "{ timeZone: 'UTC', day: 'numeric', month: 'short', year: 'numeric' }).format(Date.UTC(y, m - 1, d)); }",
                                start.isoformat())
    assert f"cycle {shown_start} to" in cycle.inner_text()
    assert page.inner_text("[data-testid=bill-total]") != total_before
    shot(page, "bill-after-settings")

    # A bad value is refused on the page with the validator's message, and nothing changes.
    page.goto(site["url"] + "/#/settings")
    page.wait_for_selector("[data-testid=household-settings]")
    page.fill("input[name='email.to']", "not-an-address")
    page.click("[data-testid=save-email]")
    page.wait_for_selector("[role=alert]:has-text('expected an email address')")
    page.click("[data-reset='billing.tariff']")
    page.wait_for_function("() => !document.querySelector(\"[data-reset='billing.tariff']\")", timeout=5000)
    assert not page.errors, page.errors
    page.context.close()
