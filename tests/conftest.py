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


@pytest.fixture(scope="session")
def vectors() -> dict:
    return json.loads((DATA / "vectors.json").read_text())


@pytest.fixture
def served(request, tmp_path, monkeypatch):
    """The dashboard on waitress at 127.0.0.1 over a seeded database, with an injected clock (`served.clock`);
    parametrized indirectly, the parameter is its config as a dict (parse_config's input)."""
    from test_ui_support import FixedClock, Served, seed_usage

    from gateway.config import parse_config

    monkeypatch.delenv("POWERGW_ADMIN_PASSWORD", raising=False)
    db = tmp_path / "powergw.db"
    seed_usage(db, days=3)
    clock = FixedClock()
    config = getattr(request, "param", None)
    server = Served(db, tmp_path, clock, config=parse_config(config) if config is not None else None)
    server.clock = clock
    yield server
    server.stop()
