"""Fixtures of the dashboard's tests: its Flask app and logged-in clients, and real headless Chromium
against it on waitress."""

from __future__ import annotations

from pathlib import Path

import pytest

# ---- the dashboard through Flask's test client (tests/ui/test_ui_api.py, tests/ui/test_settings_api.py) -------


@pytest.fixture
def ui_db(tmp_path, seeded):
    """A gateway database with 40 days of usage for the kitchen and the mains."""
    return seeded(tmp_path / "powergw.db")


@pytest.fixture
def clock():
    """The dashboard's injected clock (tests.support.dashboard.NOW_MS), moved by hand."""
    from tests.support.dashboard import FixedClock

    return FixedClock()


@pytest.fixture
def app(ui_db, clock, tmp_path, monkeypatch):
    """The dashboard's Flask app over `ui_db`, its admin's password tests.support.dashboard.ADMIN_PASSWORD."""
    from local_ui import create_app
    from tests.support.dashboard import ADMIN_PASSWORD

    monkeypatch.delenv("POWERGW_ADMIN_PASSWORD", raising=False)
    return create_app(
        ui_db,
        live_path=tmp_path / "run" / "live.json",
        clock=clock,
        admin_password=ADMIN_PASSWORD,
        registry_root=tmp_path / "models",
    )


@pytest.fixture
def admin(app):
    """A test client logged in as the admin; `admin.csrf` is its CSRF token."""
    from tests.support.dashboard import login

    client = app.test_client()
    client.csrf = login(client)
    return client


@pytest.fixture
def viewer(app, admin):
    """A test client logged in as a viewer the admin added."""
    from tests.support.dashboard import login

    r = admin.post(
        "/api/v1/users",
        json={"username": "amma", "password": "viewer-pass-1", "role": "viewer"},
        headers={"X-CSRF-Token": admin.csrf},
    )
    assert r.status_code == 201
    client = app.test_client()
    client.csrf = login(client, "amma", "viewer-pass-1")
    return client


# ---- the dashboard in real headless Chromium (tests/support/browser.py) ----------------------


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless, driven by Playwright: one per module."""
    from playwright.sync_api import sync_playwright

    from tests.support.browser import CHROMIUM, CHROMIUM_ARGS

    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"no Chromium at {CHROMIUM}: `bash scripts/test.sh` installs Debian's chromium (or set POWERGW_CHROMIUM)"
        )
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory, seeded):
    """The dashboard on waitress at 127.0.0.1 over 40 days of usage and three alerts, a node streaming
    through a real Ingest, and one clock (tests.support.browser.now_ms, running) for the server and its pages."""
    from local_ui import create_app, serve_in_thread
    from tests.support.browser import ARTIFACTS, RunningClock, Streamer, now_ms
    from tests.support.dashboard import ADMIN_PASSWORD, raise_alerts

    tmp = tmp_path_factory.mktemp("ui-browser")
    db, live = tmp / "powergw.db", tmp / "run" / "live.json"
    clock = RunningClock(now_ms())
    seeded(db, days=40, now_ms=clock.start_ms)
    alert_ids = raise_alerts(db, clock.start_ms)
    app = create_app(db, live_path=live, clock=clock, admin_password=ADMIN_PASSWORD, registry_root=tmp / "models")
    server = serve_in_thread(app, "127.0.0.1", 0)
    streamer = Streamer(db, live, clock.start_ms)
    streamer.send(512.0)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield {
        "url": server.url,
        "db": db,
        "live": live,
        "streamer": streamer,
        "alerts": alert_ids,
        "app": app,
        "clock": clock,
    }
    server.stop()
