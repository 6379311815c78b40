"""The Overview and the Bill page over the voltage house (tests/support/voltage_house.py) in real headless
Chromium at 360x740 and 1366x900, in a browser whose own language is US English: the power supply at a
glance on the Overview when the week had a cut and bad voltage; open alerts worded with the page's month
names (a translation that has them); the billing settings to check in household words, each with a link to
the setup form; the Bill page's slab sentence, coverage note and export note built by the page from
{key, params} (English and Hindi); the billed-from date shown "5 Feb 2027" whatever the browser's language."""

from __future__ import annotations

import re

import pytest

from tests.support.axe import violations
from tests.support.browser import ARTIFACTS, MARKS, RunningClock, log_in, now_ms
from tests.support.viewports import SIZES, api, open_sized
from tests.support.voltage_house import serve_voltage_house

pytestmark = MARKS
PICKER = "[data-testid=language] select"
HINDI_MONTHS = "जन॰ फ़र॰ मार्च अप्रैल मई जून जुल॰ अग॰ सित॰ अक्तू॰ नव॰ दिस॰"
HINDI_VOLTAGE = "{day} को मेन्स का वोल्टेज लगातार {minutes} मिनट बहुत ऊँचा या नीचा रहा।"


@pytest.fixture
def site(tmp_path):
    clock = RunningClock(now_ms())
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    server, info = serve_voltage_house(tmp_path, clock(), clock)
    yield info
    server.stop()


def strings_of(page, code: str) -> dict[str, str]:
    return page.evaluate("async (c) => (await import(`/static/strings/${c}.js`)).default", code)


def fill(template: str, params: dict) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(params[m.group(1)]), template)


def worded(s: dict) -> dict:
    """A sentence's parameters as the page words them in English (the values here are small: no grouping)."""
    out = dict(s["params"])
    for name, (kind, raw) in s.get("formats", {}).items():
        if kind == "inr":
            out[name] = f"₹{float(raw):.2f}"
        elif kind == "units":
            decimals = min(2, len(raw.partition(".")[2]))
            out[name] = f"{float(raw):.{decimals}f}"
        elif kind == "days":
            out[name] = f"{float(raw):.1f}"
    return out


@pytest.mark.parametrize("size", SIZES)
def test_overview_shows_the_supply_the_alerts_and_what_to_set_up_in_household_words(browser, site, size):
    page = open_sized(browser, site, size)
    log_in(page, site)
    glance = page.locator("[data-testid=supply-glance]")
    glance.wait_for()
    cut = api(page, "/supply")["cuts"][0]
    text = glance.inner_text()
    assert "Power cuts in the last 7 days: 1, 25 min without power." in text
    assert "The last began " in text and "and lasted 25 min." in text
    assert "The voltage was outside the safe range (216–244 V) for 5 min in the last 7 days." in text
    assert glance.locator("a").get_attribute("href") == "#/nodes"
    assert cut["duration_min"] == 25.0

    lines = page.locator("[data-alert-line] a")
    lines.first.wait_for()
    assert sorted(lines.all_inner_texts()) == [
        f"On {day} the mains voltage stayed too high or too low for {n} minutes in a row."
        for day, n in (("4 Feb 2027", 2), ("5 Feb 2027", 3))
    ]

    gaps = page.locator("[data-testid=setup-gaps]")
    words = gaps.inner_text()
    assert "The meter-reading date is still the starting value (1 Jan 2024)" in words
    assert "it adds up all 2 sensors" in words and "Enter the reading date from your last paper bill." in words
    for engineer in ("[", "metered_nodes", "systemctl", "config", "meter_reading_date"):
        assert engineer not in words, engineer
    links = gaps.locator("[data-testid=setup-gap-link]")
    assert links.count() == 2 and {links.nth(i).get_attribute("href") for i in range(2)} == {"#/settings?setup"}
    found = violations(page)
    assert found == [], found
    page.screenshot(path=str(ARTIFACTS / f"overview-supply-{size}.png"), full_page=True)
    links.first.click()
    page.locator("[data-testid=household-setup]").wait_for()
    # The reading date in the setup form and in Settings reads day-month-year in a US-English browser too.
    setup_date = page.locator("[data-testid=household-setup] [data-testid=meter_reading_date-pick] > span")
    assert re.fullmatch(r"\d{1,2} [A-Z][a-z]{2} \d{4}|Choose a date", setup_date.inner_text())
    page.fill("[data-testid=household-setup] input[name=meter_reading_date]", "2027-01-11")
    assert setup_date.inner_text() == "11 Jan 2027"
    settings_date = page.locator("[data-testid='billing.meter_reading_date-pick'] > span")
    assert settings_date.inner_text() == "1 Jan 2024"
    assert page.get_attribute("input[name='billing.meter_reading_date']", "aria-label").endswith(": 1 Jan 2024")
    assert not page.errors, page.errors
    page.context.close()


def test_open_alerts_take_the_pages_month_names(browser, site):
    """A Hindi file that words months and the voltage alert (the translator's work, served here as it will
    be): the Overview's alert lines use them, not the server's English date."""
    page = open_sized(browser, site, "phone")

    def hindi(route):
        body = route.fetch().text().rstrip().removesuffix("};")
        extra = f"  months_short: {HINDI_MONTHS!r},\n  alert_sum_voltage_out_of_band: {HINDI_VOLTAGE!r},\n}};\n"
        route.fulfill(body=body + extra, content_type="text/javascript")

    page.route("**/static/strings/hi.js", hindi)
    log_in(page, site)
    page.select_option(PICKER, "hi")
    page.wait_for_function("() => document.documentElement.lang === 'hi'")
    lines = page.locator("[data-alert-line] a")
    page.wait_for_function("() => document.querySelector('[data-alert-line] a')?.textContent.includes('फ़र॰')")
    assert sorted(lines.all_inner_texts()) == [
        "4 फ़र॰ 2027 को मेन्स का वोल्टेज लगातार 2 मिनट बहुत ऊँचा या नीचा रहा।",
        "5 फ़र॰ 2027 को मेन्स का वोल्टेज लगातार 3 मिनट बहुत ऊँचा या नीचा रहा।",
    ]
    assert not page.errors, page.errors
    page.context.close()


@pytest.mark.parametrize("size", SIZES)
def test_bill_sentences_are_worded_by_the_page_and_dates_read_day_month_year(browser, site, size):
    page = open_sized(browser, site, size)
    log_in(page, site)
    page.click("[data-nav=bill]")
    slab = page.locator("[data-testid=bill-slab]")
    slab.wait_for()
    bill = api(page, "/bill")
    en = strings_of(page, "en")
    sentence = bill["slab"]["sentence"]
    assert slab.inner_text() == fill(en[sentence["key"]], worded(sentence))
    assert " units" in bill["slab"]["text"]  # the English sentence stays for the CLI and older readers
    coverage = bill["cycle"]["coverage_sentence"]
    assert page.locator("[data-testid=bill-coverage]").inner_text() == fill(en["coverage_partial"], worded(coverage))
    (note,) = bill["note_sentences"]
    assert note["key"] == "note_export_unsettled"
    assert page.locator("[data-testid=bill-note]").inner_text() == (
        f"The house sent {worded(note)['units']} units to the grid this cycle, but your tariff does not count them: "
        "the bill is on the units drawn. If you have a net meter, choose a net-metered tariff in Settings."
    )

    # The billed period's dates: "5 Feb 2027" in a US-English browser, the native picker under it.
    page.select_option("select[name=meter-mode]", "billed_units")
    page.fill("input[name=billed-from]", "2027-02-05")
    page.fill("input[name=billed-to]", "2027-03-04")
    assert page.locator("[data-testid=billed-from-pick] span").inner_text() == "5 Feb 2027"
    assert page.locator("[data-testid=billed-to-pick] span").inner_text() == "4 Mar 2027"
    assert page.get_attribute("input[name=billed-from]", "aria-label") == "From: 5 Feb 2027"
    found = violations(page)
    assert found == [], found
    page.screenshot(path=str(ARTIFACTS / f"bill-sentences-{size}.png"), full_page=True)

    # The same sentences in Hindi, from the Hindi strings file.
    page.select_option(PICKER, "hi")
    page.wait_for_function("() => document.documentElement.lang === 'hi'")
    hi = strings_of(page, "hi")
    assert slab.inner_text() == fill(hi[sentence["key"]], worded(sentence))
    assert page.locator("[data-testid=bill-coverage]").inner_text() == fill(hi["coverage_partial"], worded(coverage))
    assert "यूनिट" in page.locator("[data-testid=bill-note]").inner_text()
    assert not page.errors, page.errors
    page.context.close()
