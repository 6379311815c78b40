"""Shared fixtures: real temp-file SQLite, the protocol vectors, an injectable clock."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


def pytest_addoption(parser):
    parser.addoption("--hardware", action="store_true", help="run tests that need real hardware (BLE radio, ESP32)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--hardware"):
        return
    skip = pytest.mark.skip(reason="needs real hardware; run with --hardware")
    for item in items:
        if "hardware" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def store(tmp_path):
    """A real gateway database in a temp file, every part's migrations applied."""
    from gateway.app import open_store

    s = open_store(tmp_path / "gw.db")
    yield s
    s.close()


@pytest.fixture
def tapped(tmp_path):
    """(series, store): a simulated house of 45 days with +300 W from 01:00 to 04:00 every night from
    day 36, its minutes in a real gateway database (tests/theft_store.py)."""
    from tests.support.theft_store import DAYS, SEED, house, night_tap, store_with_series

    series = house(SEED, DAYS, night_tap())
    s = store_with_series(tmp_path / "powergw.db", series)
    yield series, s
    s.close()


@pytest.fixture(scope="session")
def vectors() -> dict:
    return json.loads((DATA / "vectors.json").read_text())


@pytest.fixture(scope="session")
def postgres_server():
    """A throwaway PostgreSQL server on 127.0.0.1 for the session; yields a URL template with {db}."""
    from tests.support.cloud_servers import start_postgres

    yield from start_postgres()


@pytest.fixture(scope="session")
def seeded(tmp_path_factory):
    """`seeded(db, **kwargs)` puts at `db` a copy of a database `seed_usage(**kwargs)` filled once
    per session: 40 days of hourly rollups take 0.6 s to write and 20 ms to copy."""
    import sqlite3

    from tests.support.dashboard import seed_usage

    templates: dict[tuple, Path] = {}

    def copy(db: Path, **kwargs) -> Path:
        key = tuple(sorted(kwargs.items()))
        if key not in templates:
            templates[key] = tmp_path_factory.mktemp("seeded") / "powergw.db"
            seed_usage(templates[key], **kwargs)
        src, dst = sqlite3.connect(templates[key]), sqlite3.connect(db)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
        return db

    return copy


@pytest.fixture
def served(request, tmp_path, monkeypatch, seeded):
    """The dashboard on waitress at 127.0.0.1 over a seeded database, with an injected clock (`served.clock`);
    parametrized indirectly, the parameter is its config as a dict (parse_config's input)."""
    from tests.support.dashboard import FixedClock, Served

    from gateway.config import parse_config

    monkeypatch.delenv("POWERGW_ADMIN_PASSWORD", raising=False)
    db = tmp_path / "powergw.db"
    seeded(db, days=3)
    clock = FixedClock()
    config = getattr(request, "param", None)
    server = Served(db, tmp_path, clock, config=parse_config(config) if config is not None else None)
    server.clock = clock
    yield server
    server.stop()


# ---- the dashboard through Flask's test client (tests/test_ui_api.py, tests/test_settings_api.py) ----


@pytest.fixture
def ui_db(tmp_path, seeded):
    """A gateway database with 40 days of usage for the kitchen and the mains."""
    return seeded(tmp_path / "powergw.db")


@pytest.fixture
def clock():
    """The dashboard's injected clock (test_ui_support.NOW_MS), moved by hand."""
    from tests.support.dashboard import FixedClock

    return FixedClock()


@pytest.fixture
def app(ui_db, clock, tmp_path, monkeypatch):
    """The dashboard's Flask app over `ui_db`, its admin's password test_ui_support.ADMIN_PASSWORD."""
    from tests.support.dashboard import ADMIN_PASSWORD

    from local_ui import create_app

    monkeypatch.delenv("POWERGW_ADMIN_PASSWORD", raising=False)
    return create_app(ui_db, live_path=tmp_path / "run" / "live.json", clock=clock, admin_password=ADMIN_PASSWORD,
                      registry_root=tmp_path / "models")


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

    r = admin.post("/api/v1/users", json={"username": "amma", "password": "viewer-pass-1", "role": "viewer"},
                   headers={"X-CSRF-Token": admin.csrf})
    assert r.status_code == 201
    client = app.test_client()
    client.csrf = login(client, "amma", "viewer-pass-1")
    return client


# ---- the dashboard in real headless Chromium (tests/test_browser_support.py) ----------------------


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless, driven by Playwright: one per module."""
    from playwright.sync_api import sync_playwright
    from tests.support.browser import CHROMIUM, CHROMIUM_ARGS

    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: `bash scripts/test.sh` installs Debian's chromium (or set POWERGW_CHROMIUM)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory, seeded):
    """The dashboard on waitress at 127.0.0.1 over 40 days of usage and three alerts, a node streaming
    through a real Ingest, and one clock (test_browser_support.now_ms, running) for the server and its pages."""
    from tests.support.browser import ARTIFACTS, RunningClock, Streamer, now_ms
    from tests.support.dashboard import ADMIN_PASSWORD, raise_alerts

    from local_ui import create_app, serve_in_thread

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
    yield {"url": server.url, "db": db, "live": live, "streamer": streamer, "alerts": alert_ids, "app": app, "clock": clock}
    server.stop()
