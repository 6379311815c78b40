"""The Sensors page and the power supply in real headless Chromium against waitress on loopback, on a phone
(360x740) and a laptop (1366x900), over a house built by the real Ingest from READING_BIDIR frames (a sensor
that measures the voltage, rooftop solar behind it) and READING frames (a sensor that assumes 230 V), with a
sag, a 25-minute power cut and a surge in its last two hours: which sensor measures the voltage and which
assumes it, the voltage, power factor in words and units sent to the grid, how to calibrate; the last cuts
and the voltage's quality today and this week; a supply that looks fine. axe-core finds nothing on the page.
Screenshots go to test-artifacts/ui/ (gitignored)."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.support.axe import violations
from tests.support.browser import ARTIFACTS, IST, MARKS, RunningClock, log_in, now_ms
from tests.support.viewports import SIZES, api, open_sized
from tests.support.voltage_house import serve_voltage_house

pytestmark = MARKS


def when(ms: int) -> str:
    """A moment as the dashboard words it in English: "4 Feb 2027, 11:35 pm"."""
    d = dt.datetime.fromtimestamp(ms / 1000, IST)
    return f"{d.day} {d:%b} {d.year}, {d.hour % 12 or 12}:{d:%M} {'am' if d.hour < 12 else 'pm'}"


def serve(tmp_path, events: bool = True):
    clock = RunningClock(now_ms())
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return serve_voltage_house(tmp_path, clock(), clock, events=events)


@pytest.fixture
def site(tmp_path):
    server, info = serve(tmp_path)
    yield info
    server.stop()


def sensors_page(browser, site, size):
    page = open_sized(browser, site, size)
    log_in(page, site)
    page.click("[data-nav=nodes]")
    page.wait_for_selector("[data-testid=supply-cuts]")
    return page


@pytest.mark.parametrize("size", SIZES)
def test_sensors_say_which_measure_the_voltage_and_how_to_calibrate(browser, site, size):
    page = sensors_page(browser, site, size)
    solar = page.locator(f"[data-node='{site['solar']}']")
    plain = page.locator(f"[data-node='{site['plain']}']")
    assert solar.locator("[data-testid=volt-measured]").inner_text() == (
        "Measures the voltage: its watts are the real power."
    )
    assert solar.locator("[data-testid=node-volts]").inner_text() == "230 V"
    assert solar.locator("[data-testid=node-pf]").inner_text() == (
        "0.87: some of the current does no work (fans, fridges, pumps)"
    )
    assert solar.locator("[data-testid=node-export]").inner_text() == "0.2 units"
    assert (
        plain.locator("[data-testid=volt-assumed]")
        .inner_text()
        .startswith("Assumes 230 V: it measures only the current, so its watts are an estimate")
    )
    assert plain.locator("[data-testid=node-pf], [data-testid=node-volts], [data-testid=node-export]").count() == 0
    assert solar.locator("[data-testid=volt-assumed]").count() == 0
    # How to calibrate: set the assumed voltage, or fit a module; a measuring sensor takes --known-volts.
    how = plain.locator("[data-testid=volt-how]")
    assert not how.locator("pre").is_visible()
    how.locator("summary").click()
    assert how.locator("pre").inner_text() == (
        f"powergw calibrate --port /dev/ttyUSB0 --node {site['plain']} --vnom 240"
    )
    assert "docs/firmware.md" in how.inner_text()
    solar.locator("[data-testid=volt-how] summary").click()
    assert "--known-volts 236.4" in solar.locator("[data-testid=volt-how] pre").inner_text()
    nodes = api(page, "/nodes")["nodes"]
    assert [(n["measures_voltage"], n["pf"]) for n in nodes] == [(True, 0.87), (False, None)]

    # The supply: the cut (when, how long), today's surge and the week's sag, in household words.
    supply = api(page, "/supply")
    (cut,) = supply["cuts"]
    card = page.locator("[data-testid=supply-card]")
    assert card.locator("h3").first.inner_text() == "Power cuts in the last 7 days: 1, 25 min without power in all"
    assert card.locator("[data-testid=supply-cuts] li").all_inner_texts() == [
        f"{when(cut['start_ms'])}: off for 25 min"
    ]
    surge, sag = when(site["surge_ms"]), when(site["sag_ms"])
    assert card.locator("[data-testid=supply-today]").inner_text() == (
        "Today: outside the safe range (216–244 V) for 3 min. "
        f"Lowest 230 V at {at(when(supply['days'][-1]['house']['sag_ms']))}; highest 252 V at {at(surge)}."
    )
    assert card.locator("[data-testid=supply-week]").inner_text() == (
        "Last 7 days: outside the safe range (216–244 V) for 5 min. Days with bad voltage: 2. "
        f"Lowest 205 V at {at(sag)}; highest 252 V at {at(surge)}."
    )
    assert "stabiliser" in card.inner_text() and card.locator("[data-testid=supply-fine]").count() == 0

    found = violations(page)
    assert found == [], found
    width = SIZES[size][0]
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=str(ARTIFACTS / f"sensors-voltage-{size}.png"), full_page=True)
    assert not page.errors, page.errors
    page.context.close()


def at(moment: str) -> str:
    """ "4 Feb 2027, 11:35 pm" as the supply card says it: "11:35 pm on 4 Feb 2027"."""
    day, time = moment.split(", ")
    return f"{time} on {day}"


@pytest.mark.parametrize("size", SIZES)
def test_a_quiet_week_says_the_supply_looks_fine(browser, tmp_path, size):
    server, site = serve(tmp_path, events=False)
    try:
        page = open_sized(browser, site, size)
        log_in(page, site)
        assert page.locator("[data-testid=supply-glance]").count() == 0  # the Overview says nothing
        assert api(page, "/overview")["supply"] is None
        page.click("[data-nav=nodes]")
        fine = page.locator("[data-testid=supply-fine]")
        fine.wait_for()
        assert fine.inner_text() == (
            "The supply looks fine: no power cuts, and the voltage stayed between 216 and 244 V over the last 7 days."
        )
        assert page.locator("[data-testid=supply-cuts], [data-testid=supply-no-cuts]").count() == 0
        assert "always within the safe range (216–244 V)" in page.locator("[data-testid=supply-week]").inner_text()
        found = violations(page)
        assert found == [], found
        assert not page.errors, page.errors
        page.context.close()
    finally:
        server.stop()
