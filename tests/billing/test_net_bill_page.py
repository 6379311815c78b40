"""The Bill page in real headless Chromium for a rooftop-solar home: drawn, exported and net units
under the bill on a net-metered tariff; on a tariff that does not settle export, the note saying so."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from gateway.app import open_store
from gateway.config import parse_config
from tests.billing.solar_usage import MAY, fill_flows
from tests.support.billing_usage import ms
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, MARKS, log_in, open_page
from tests.support.dashboard import ADMIN_PASSWORD, FixedClock

pytestmark = MARKS


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: `bash scripts/test.sh` installs Debian's chromium")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def serve(tmp_path, tariff: str):
    from local_ui import create_app, serve_in_thread

    db = tmp_path / "powergw.db"
    store = open_store(db)
    try:
        fill_flows(store, MAY, 10)  # 140 drawn, 87.5 exported by 11 May
    finally:
        store.close()
    config = parse_config({"billing": {"meter_reading_date": MAY.isoformat(), "holiday_state": "", "tariff": tariff}})
    clock = FixedClock(ms(dt.date(2024, 5, 11), 9))
    app = create_app(db, config=config, clock=clock, admin_password=ADMIN_PASSWORD, live_path=tmp_path / "live.json")
    server = serve_in_thread(app, "127.0.0.1", 0)
    return {"url": server.url, "clock": clock, "server": server}


@pytest.mark.parametrize(
    "tariff,total,note",
    [
        ("kerala-domestic-solar", "₹264.89", None),
        ("kerala-domestic", "₹725.90", "your tariff does not count them: the bill is on the units drawn"),
    ],
)
def test_the_bill_page_shows_drawn_exported_and_net(chromium, tmp_path, tariff, total, note):
    site = serve(tmp_path, tariff)
    try:
        page = open_page(chromium, site)
        log_in(page, site)
        page.goto(site["url"] + "/#/bill")
        net = page.locator("[data-testid=bill-net]")
        net.wait_for()
        assert "Drawn 140.0 · exported 87.5 · net 52.5 units" in net.inner_text()
        assert page.inner_text("[data-testid=bill-total]") == total
        assert (note in net.inner_text()) if note else "does not count them" not in net.inner_text()
        assert not page.errors, page.errors
        page.context.close()
    finally:
        site["server"].stop()
