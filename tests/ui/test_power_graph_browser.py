"""The Usage page in real headless Chromium at 360x740 and 1366x900, in a browser set to en-US: the power
graph (watts from the minute data, opened by a link on a span, zoomed by dragging down to a minute, the live
stream at its right edge, the sensors stacked up to the house's total), usage bars stacked per sensor whose
parts add up to the total, in units and in rupees, dates day-month-year whatever the browser's language,
a period picker that is a radio group, a chart tall enough on a phone, and axe-core's 0 violations."""

from __future__ import annotations

import re

import pytest

from tests.support.axe import violations
from tests.support.browser import MARKS, log_in, shot
from tests.support.viewports import SIZES, api, fmt, open_sized

pytestmark = MARKS

DATE = re.compile(r"\b\d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4}\b")


def rupees(text: str) -> float:
    return float(text.replace("₹", "").replace(",", "").replace("−", "-"))


def units(text: str) -> float:
    return float(text.split()[0].replace(",", ""))


def legend(page, testid: str) -> dict[str, str]:
    """Hover the middle of a chart; its legend's {label: value}."""
    box = page.locator(f"[data-testid={testid}] .u-over").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    page.wait_for_timeout(200)
    rows = page.locator(f"[data-testid={testid}] .u-legend tr.u-series").all()
    return {r.locator("th").inner_text().strip(): r.locator("td").inner_text().strip() for r in rows}


@pytest.mark.parametrize("size", SIZES)
def test_power_graph_zoom_and_live_edge(browser, site, size):
    page = open_sized(browser, site, size)
    log_in(page, site)
    now = site["clock"]()
    # A link on a span (as an alert's "see those hours" is) opens the power graph on it.
    page.goto(f"{site['url']}/#/usage?view=power&from={now - 6 * 3600_000}&to={now}")
    page.wait_for_selector("[data-testid=power-chart] canvas")
    page.wait_for_selector("[data-testid=power-live]")  # it ends now: it follows the present
    assert page.is_checked("[data-span='6h'] input")
    data = api(page, f"/power?from={now - 6 * 3600_000}&to={now}")
    assert data["step_ms"] == 60_000
    for i, house in enumerate(data["house_w"]):  # the stacked parts are the house, never more
        if house is not None:
            assert abs(sum(p["watts"][i] for p in data["parts"]) - house) < 0.5, i
    assert {p["name"] for p in data["parts"]} == {"kitchen", "mains"}
    seen = legend(page, "power-chart")
    assert DATE.search(seen["When"]), seen  # "4 Feb 2027, 9:05 pm", never "2/4/2027"
    parts = [units(v) for k, v in seen.items() if k in ("kitchen", "mains") and v != "—"]
    if parts and seen.get("Total", "—") != "—":
        assert abs(sum(parts) - units(seen["Total"])) <= 1, seen
    assert "/" not in page.inner_text("[data-testid=power-span]")
    assert DATE.search(page.inner_text("[data-testid=power-span]"))

    # Live at the right edge: a new value of the stream extends the line, and the legend there shows it.
    chart = page.locator("[data-testid=power-chart]")
    before = int(chart.get_attribute("data-edge"))
    site["streamer"].send(2222.0)  # the kitchen; with the mains' 1,000 W the house draws 3,222 W
    page.wait_for_function(
        "b => +document.querySelector('[data-testid=power-chart]').dataset.edge > b", arg=before, timeout=10_000
    )
    box = page.locator("[data-testid=power-chart] .u-over").bounding_box()
    page.mouse.move(box["x"] + box["width"] - 1, box["y"] + box["height"] / 2)
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=power-chart] .u-legend td')]"
        ".some(td => td.textContent.trim() === '3,222 W')"
    )

    # Drag across a stretch: the graph zooms to it and fetches minute data; twice more and it is a few minutes.
    over = page.locator("[data-testid=power-chart] .u-over")
    for _ in range(3):
        box = over.bounding_box()
        y = box["y"] + box["height"] / 2
        page.mouse.move(box["x"] + box["width"] * 0.30, y)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.36, y, steps=5)
        page.mouse.up()
        page.wait_for_timeout(400)
    q = dict(p.split("=") for p in page.evaluate("location.hash").split("?")[1].split("&"))
    span = int(q["to"]) - int(q["from"])
    assert 60_000 <= span <= 6 * 60_000, span  # 6 h x 0.06^3: down to a minute or so
    assert page.locator("[data-testid=power-live]").count() == 0
    page.wait_for_selector("[data-testid=power-chart] canvas")
    found = violations(page)
    assert found == [], found
    shot(page, f"power-graph-{size}")
    page.click("[data-testid=zoom-out]")
    page.wait_for_function(
        "s => { const q = new URLSearchParams(location.hash.split('?')[1]); return q.get('to') - q.get('from') > s; }",
        arg=span,
    )
    assert not page.errors, page.errors
    page.context.close()


@pytest.mark.parametrize("size", SIZES)
def test_usage_bars_stack_to_the_total_in_units_and_rupees(browser, site, size):
    page = open_sized(browser, site, size)
    log_in(page, site)
    page.click("[data-nav=usage]")
    page.wait_for_selector("[data-testid=chart] canvas")
    # The period picker is a radio group: one checked, arrow keys move it.
    assert page.locator("[data-testid=periods] input[type=radio]").count() == 5
    assert page.is_checked("[data-period=day] input")
    page.click("[data-period=month]")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=usage-total]').parentElement.textContent.includes('–')"
    )
    page.focus("[data-period=month] input")
    page.keyboard.press("ArrowRight")
    assert page.is_checked("[data-period=cycle] input")
    page.click("[data-period=month]")
    page.wait_for_selector("[data-testid=chart] canvas")
    label = page.inner_text("[data-testid=usage-total] >> xpath=..")
    assert DATE.search(label) and "/" not in label, label  # "1 Feb 2027 – 28 Feb 2027", not "2/1/27"

    # The table (the chart's text alternative): every row's sensors add up to its total.
    def table_rows():
        page.click("[data-testid=usage-table] summary")
        rows = page.locator("[data-testid=usage-table] tbody tr").all()
        out = [[c.inner_text() for c in r.locator("td").all()] for r in rows]
        whens = [r.locator("th").inner_text() for r in rows]
        page.click("[data-testid=usage-table] summary")
        return out, whens

    rows, whens = table_rows()
    assert all(DATE.search(w) for w in whens), whens[:3]
    filled = [r for r in rows if r[-1] != "—"]
    assert filled
    for r in filled:
        assert abs(sum(units(c) for c in r[:-1] if c != "—") - units(r[-1])) < 0.02, r
    u = api(page, "/usage?period=month&date=" + page.input_value("input[type=date]"))
    assert page.inner_text("[data-testid=usage-total]") == fmt(page, "num", u["total_kwh"], 2) + " kWh"

    # In rupees: what each day added to the bill, shared by the sensors by their units; the total is their sum.
    page.click("[data-measure=rupees]")
    page.wait_for_function("() => document.querySelector('[data-testid=usage-total]').textContent.includes('₹')")
    priced = api(page, "/usage?money=true&period=month&date=" + page.input_value("input[type=date]"))
    assert page.inner_text("[data-testid=usage-total]").strip() == fmt(page, "inr", priced["total_cost"])
    rows, _ = table_rows()
    filled = [r for r in rows if r[-1] != "—"]
    for r in filled:
        assert abs(sum(rupees(c) for c in r[:-1] if c != "—") - rupees(r[-1])) < 0.005, r
    assert abs(sum(rupees(r[-1]) for r in filled) - rupees(priced["total_cost"])) < 0.01
    assert "in=rupees" in page.evaluate("location.hash")

    # The chart is tall enough and close to the top: the controls are not a wall above it on a phone.
    chart = page.locator("[data-testid=chart]").bounding_box()
    assert chart["height"] >= 260, chart
    if size == "phone":
        assert chart["y"] < 740, chart
    assert page.evaluate("document.documentElement.scrollWidth") <= SIZES[size][0]
    found = violations(page)
    assert found == [], found
    shot(page, f"usage-rupees-{size}")
    assert not page.errors, page.errors
    page.context.close()


def test_dates_are_indian_whatever_the_browser_language(browser, site):
    page = open_sized(browser, site, "desktop", locale="en-US")
    page.goto(site["url"] + "/")
    page.wait_for_selector("input[name=username]")
    out = page.evaluate("""async () => {
        const f = await import('/static/format.js');
        f.setZone('Asia/Kolkata');
        const ms = Date.UTC(2026, 11, 6, 15, 35, 9);  // 6 Dec 2026, 21:05:09 in India
        return [navigator.language, f.dateTime(ms), f.dayOfIso('2026-12-06'), f.time(ms), f.day(ms), f.hourLabel(ms),
                f.num(1234567.891, 2), f.num(-0.04, 1), f.num(100000, 0), f.inr('100000'), f.todayIso(ms)];
    }""")
    assert out == [
        "en-US",
        "6 Dec 2026, 9:05 pm",
        "6 Dec 2026",
        "9:05:09 pm",
        "Sun 6 Dec 2026",
        "9 pm",
        "12,34,567.89",
        "0.0",
        "1,00,000",
        "₹1,00,000.00",
        "2026-12-06",
    ]
    page.context.close()
