"""Hostile and mistaken input against the dashboard on a real waitress server: every bad request
is a 4xx naming what is wrong, none is a 500 with a traceback in the log, and none stores anything."""

from __future__ import annotations

import logging

import pytest
import requests


@pytest.fixture
def quiet(caplog):
    """Fails the test if anything was logged at ERROR (a traceback floods an SD card's log)."""
    caplog.set_level(logging.WARNING)
    yield caplog
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def post_json(url: str, raw: bytes, session=None, **headers) -> requests.Response:
    return (session or requests).post(url, data=raw, headers={"Content-Type": "application/json", **headers}, timeout=10)


# ---- reachable without logging in -----------------------------------------------------------------


@pytest.mark.parametrize("raw, words", [
    (b"[" * 1000, "expected a JSON object"),
    (b"[" * 1000 + b"]" * 1000, "expected a JSON object"),
    (b'{"username": ' + b"[" * 50 + b"]" * 50 + b', "password": "x"}', "nested deeper"),
    (b'{"username": "\\ud800", "password": "whatever1"}', "'username': not valid Unicode"),
    (b'{"username": "admin", "password": "\\udfff\\ud800"}', "'password': not valid Unicode"),
    (b'{"\\ud800": 1}', "not valid Unicode"),
    (b'{"username": NaN, "password": "x"}', "expected a JSON object"),
    (b"\xff\xfe{", "expected a JSON object"),
])
def test_login_with_a_malformed_body_is_a_400(served, quiet, raw, words):
    s = requests.Session()
    csrf = s.get(served.url + "/api/v1/session", timeout=10).json()["csrf"]
    r = post_json(served.url + "/api/v1/session", raw, s, **{"X-CSRF-Token": csrf})
    assert r.status_code == 400, r.text
    assert words in r.json()["error"]["message"]


@pytest.mark.parametrize("path", ["/static/%00", "/static/a%00b.js", "/static/" + "a" * 5000, "/static/" + "a/" * 3000 + "x",
                                  "/static/../../etc/passwd", "/static/%2e%2e/%2e%2e/etc/passwd"])
def test_hostile_static_names_are_404(served, quiet, path):
    r = requests.get(served.url + path, timeout=10)
    assert r.status_code == 404


def test_real_static_files_still_serve(served, quiet):
    assert requests.get(served.url + "/static/app.js", timeout=10).status_code == 200
    assert requests.get(served.url + "/static/vendor/vue/vue.esm-browser.prod.js", timeout=10).status_code == 200
