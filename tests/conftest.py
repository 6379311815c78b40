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
    from theft_store import DAYS, SEED, house, night_tap, store_with_series

    series = house(SEED, DAYS, night_tap())
    s = store_with_series(tmp_path / "powergw.db", series)
    yield series, s
    s.close()


@pytest.fixture(scope="session")
def vectors() -> dict:
    return json.loads((DATA / "vectors.json").read_text())
