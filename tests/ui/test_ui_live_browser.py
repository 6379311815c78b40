"""The live stream in real headless Chromium against waitress on loopback: one stream per tab, shared
by every live widget of every page; at most two per session, the third tab refused; and a refused
tab that reconnects by itself once a slot is free. A node streams through a real Ingest writing
live.json; the server, the Ingest and the pages share one clock (tests/support/browser.py)."""

from __future__ import annotations

import time

import pytest

from local_ui import create_app, serve_in_thread
from tests.support.browser import MARKS, log_in, open_page, shot, watched
from tests.support.dashboard import ADMIN_PASSWORD, KITCHEN

pytestmark = MARKS


class Streams:
    """The /api/v1/live requests a tab makes, and the status of each answer."""

    def __init__(self, page):
        self.opened: list[str] = []
        self.statuses: list[int] = []
        page.on("request", lambda r: self.opened.append(r.resource_type) if r.url.endswith("/api/v1/live") else None)
        page.on("response", lambda r: self.statuses.append(r.status) if r.url.endswith("/api/v1/live") else None)


def shows(page, watts: str, timeout: float = 5000) -> None:
    """Wait until the tab's kitchen card shows `watts` (e.g. "1,234 W")."""
    page.wait_for_function(
        "([node, want]) => document.querySelector(`[data-node='${node}'] [data-testid=node-power]`)"
        "?.textContent.trim() === want",
        arg=[KITCHEN, watts],
        timeout=timeout,
    )


@pytest.fixture
def dashboard(site):
    """A server of its own on the site's database, live.json and clock, so only this test's tabs hold its streams."""
    app = create_app(
        site["db"],
        live_path=site["live"],
        clock=site["clock"],
        admin_password=ADMIN_PASSWORD,
        registry_root=site["db"].parent / "models",
    )
    server = serve_in_thread(app, "127.0.0.1", 0)
    yield {**site, "url": server.url, "ctx": app.extensions["powergw"]}
    server.stop()


def test_one_stream_per_tab_two_per_session_and_a_refused_tab_reconnects(browser, dashboard):
    ctx, streamer = dashboard["ctx"], dashboard["streamer"]
    first = open_page(browser, dashboard)
    first_streams = Streams(first)
    log_in(first, dashboard)
    streamer.send(1234.0)
    shows(first, "1,234 W")
    # Every live widget reads the tab's one stream (the total and each node's card), and it outlives
    # the page: to the Nodes page and back, no second stream.
    first.wait_for_function("() => document.querySelector('[data-testid=live-total]').textContent.includes('W')")
    first.click("[data-nav=nodes]")
    first.wait_for_selector(".nodes-grid .card:has-text('kitchen')")
    first.click("[data-nav=overview]")
    streamer.send(1500.0)
    shows(first, "1,500 W")
    assert first_streams.opened == ["eventsource"] and first_streams.statuses == [200]
    assert ctx.streams == 1

    # A second tab of the same session (same cookies) gets its own stream: the second of two.
    second = watched(first.context.new_page())
    second_streams = Streams(second)
    second.goto(dashboard["url"] + "/")
    shows(second, "1,500 W")  # the Overview's first answer may show it before the tab's stream has opened
    deadline = time.monotonic() + 5
    while not second_streams.statuses and time.monotonic() < deadline:
        second.wait_for_timeout(50)
    assert second_streams.statuses == [200] and ctx.streams == 2

    # The third tab is refused (503, Retry-After) and says so, and keeps trying by itself.
    third = watched(first.context.new_page())
    third_streams = Streams(third)
    third.goto(dashboard["url"] + "/")
    third.wait_for_selector(".banner.warn", timeout=10_000)  # "Cannot reach the gateway. Retrying…" after 4 s
    assert (
        third_streams.statuses[0] == 503 and set(third_streams.statuses) == {503} and len(third_streams.statuses) >= 2
    )
    assert "Waiting for live readings" in third.inner_text("[data-testid=live-total] + div") and ctx.streams == 2
    shot(third, "live-third-tab-refused")

    # Closing the first tab frees its slot at once (waitress tells the stream its tab has gone; no
    # value needs to be written), and the refused tab takes it within its retry delay (2 s, then 4,
    # 8, ... up to a minute).
    first.close()
    closed = time.monotonic()

    def freed() -> bool:  # the slot is free, or the third tab has already taken it
        return ctx.streams == 1 or third_streams.statuses[-1] == 200

    while not freed() and time.monotonic() - closed < 5:
        time.sleep(0.05)
    assert freed() and time.monotonic() - closed < 2, time.monotonic() - closed
    streamer.send(2000.0)
    shows(second, "2,000 W")
    third.wait_for_selector(".banner.warn", state="detached", timeout=20_000)
    streamer.send(2345.6)
    shows(third, "2,346 W")
    shows(second, "2,346 W")
    assert third_streams.statuses[-1] == 200 and ctx.streams == 2
    assert len(second_streams.opened) == 1  # the second tab never needed another
    assert not third.errors and not second.errors
    second.context.close()
