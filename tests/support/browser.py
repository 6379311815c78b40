"""Shared parts of the dashboard's tests in real headless Chromium (Debian's, driven by Playwright):
the clock they share, a node streaming through a real Ingest, pages and logins. No tests live here;
the fixtures (`browser`, `site`) are tests/ui/conftest.py's.

**One clock.** The dashboard server's clock, the Ingest's and the page's (Playwright's
`clock.install`) all start at the same instant, `now_ms()`, and then run at the real rate. It is
fixed by default at 00:45 in India, when India's date is a day ahead of UTC's (where tests that
read the wall clock broke); `POWERGW_TEST_NOW=2027-02-04T12:00+05:30` runs them at any other time.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from pathlib import Path

import pytest

from gateway.app import open_store
from gateway.clock import AnchoredClock, ManualClock
from gateway.ingest import Ingest, LiveBoard
from gateway.protocol import Reading, encode_wire
from tests.support.dashboard import ADMIN_PASSWORD, KITCHEN

CHROMIUM = os.environ.get("POWERGW_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "ui"
IST = dt.timezone(dt.timedelta(hours=5, minutes=30))
DEFAULT_NOW = dt.datetime(2027, 2, 5, 0, 45, tzinfo=IST)  # 2027-02-04 19:15 UTC

# What every module of browser tests is marked with. Chromium is no reason to skip: scripts/test.sh
# installs it, and a machine without it fails the `browser` fixture saying so.
MARKS = [pytest.mark.slow]


def now_ms() -> int:
    """The instant the browser tests start at: POWERGW_TEST_NOW (ISO 8601 with its offset) or DEFAULT_NOW."""
    raw = os.environ.get("POWERGW_TEST_NOW")
    when = dt.datetime.fromisoformat(raw) if raw else DEFAULT_NOW
    if when.tzinfo is None:
        raise ValueError(f"POWERGW_TEST_NOW={raw!r}: give the offset too, e.g. 2027-02-04T12:00+05:30")
    return int(when.timestamp() * 1000)


def household_date(ms: int) -> dt.date:
    """The household's date (Asia/Kolkata) at `ms`."""
    return dt.datetime.fromtimestamp(ms / 1000, IST).date()


class RunningClock:
    """Milliseconds from `start_ms`, running at the real (monotonic) rate: the dashboard server's
    clock, which every page of the test installs as its own."""

    def __init__(self, start_ms: int):
        self.start_ms = start_ms
        self._t0 = time.monotonic_ns()

    def __call__(self) -> int:
        return self.start_ms + (time.monotonic_ns() - self._t0) // 1_000_000


class Streamer:
    """A node streaming through a real Ingest that writes live.json, on a manual clock from `start_ms` (1 s a frame)."""

    def __init__(self, db: Path, live: Path, start_ms: int):
        self.clock = ManualClock(start_ms)
        self.ingest = Ingest(
            open_store(db), AnchoredClock(self.clock, 2000), commit_interval_ms=5000, live=LiveBoard(live)
        )
        self.seq = 0
        self.energy_mwh = 0

    def send(self, power_w: float) -> None:
        power_dw = round(power_w * 10)
        self.energy_mwh += power_dw // 36  # ~1 s at this power, in mWh
        frame = Reading(KITCHEN, 7, self.seq, 1000 * (self.seq + 1), 1000, 4350, 2300, power_dw, self.energy_mwh, 0)
        self.seq += 1
        self.clock.advance(1000)
        self.ingest.feed("test", encode_wire(frame))
        self.ingest.tick()


def serve_dashboard(db: Path, tmp: Path, clock):
    """The dashboard on `db` served on a free port of 127.0.0.1 with `clock`, the admin password of
    tests/support/dashboard.py, live.json and the model registry under `tmp`; stop() it when done."""
    from local_ui import create_app, serve_in_thread

    live, models = tmp / "run" / "live.json", tmp / "models"
    app = create_app(db, live_path=live, clock=clock, admin_password=ADMIN_PASSWORD, registry_root=models)
    return serve_in_thread(app, "127.0.0.1", 0)


def open_page(browser, site, *, phone=False, size: tuple[int, int] | None = None):
    """A page in a fresh context (no cookies) whose clock is the site's, collecting page errors in `page.errors`;
    `size` (width, height) instead of the phone's 360x740 or the laptop's 1280x860."""
    width, height = size or ((360, 740) if phone else (1280, 860))
    viewport = {"width": width, "height": height}
    context = browser.new_context(
        viewport=viewport, device_scale_factor=2 if phone else 1, is_mobile=phone, has_touch=phone
    )
    context.clock.install(time=site["clock"]() / 1000)  # from then on it runs, as the server's does
    return watched(context.new_page())


def watched(page):
    """`page` with its uncaught script errors collected in `page.errors`."""
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors
    return page


def log_in(page, site, password=ADMIN_PASSWORD):
    page.goto(site["url"] + "/")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", password)
    page.click("button:has-text('Log in')")
    page.wait_for_selector("[data-testid=live-total]")


def shot(page, name):
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
