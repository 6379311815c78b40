"""Fixtures of more than one part: a real temp-file SQLite store, the protocol vectors, a tapped house's
minutes, and seeded dashboard databases and servers."""

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
    day 36, its minutes in a real gateway database (tests/support/theft_store.py)."""
    from tests.support.theft_store import DAYS, SEED, house, night_tap, store_with_series

    series = house(SEED, DAYS, night_tap())
    s = store_with_series(tmp_path / "powergw.db", series)
    yield series, s
    s.close()


@pytest.fixture(scope="session")
def host_node() -> Path:
    """firmware/host/powernode-host, built once for the session (tests/support/host_node.py)."""
    from tests.support.host_node import build_host_node

    return build_host_node()


@pytest.fixture(scope="session")
def vectors() -> dict:
    return json.loads((DATA / "vectors.json").read_text())


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
    from gateway.config import parse_config
    from tests.support.dashboard import FixedClock, Served

    monkeypatch.delenv("POWERGW_ADMIN_PASSWORD", raising=False)
    db = tmp_path / "powergw.db"
    seeded(db, days=3)
    clock = FixedClock()
    config = getattr(request, "param", None)
    server = Served(db, tmp_path, clock, config=parse_config(config) if config is not None else None)
    server.clock = clock
    yield server
    server.stop()
