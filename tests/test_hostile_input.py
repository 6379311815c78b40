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


# ---- the Host header: DNS rebinding ----------------------------------------------------------------


def own_address() -> str | None:
    """An address of this machine other than loopback, if it has one."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
            return s.getsockname()[0]
        except OSError:
            return None


def test_a_rebinding_host_is_refused_even_with_a_matching_origin(served, quiet):
    import http.client

    port = int(served.url.rsplit(":", 1)[1])
    admin = served.session()
    token = admin.post(served.url + "/api/v1/tokens", json={"name": "script", "role": "viewer"}, timeout=10).json()["token"]

    def ask(method: str, path: str, host: str, **headers) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request(method, path, body=b"{}" if method == "POST" else None,
                     headers={"Host": host, "Origin": f"http://{host}", "Content-Type": "application/json", **headers})
        resp = conn.getresponse()
        out = resp.status, resp.read().decode()
        conn.close()
        return out

    evil = f"attacker.example:{port}"
    for method, path, headers in (("GET", "/api/v1/session", {}), ("POST", "/api/v1/session", {}),
                                  ("GET", "/api/v1/overview", {"Authorization": f"Bearer {token}"}),
                                  ("GET", "/", {}), ("GET", "/healthz", {})):
        status, text = ask(method, path, evil, **headers)
        assert status == 400 and "not a name of this gateway" in text, (method, path)
    import socket

    names = [f"127.0.0.1:{port}", f"localhost:{port}", f"{socket.gethostname()}.local:{port}", f"{socket.gethostname()}:{port}"]
    if own_address():
        names.append(f"{own_address()}:{port}")
    for host in names:
        assert ask("GET", "/api/v1/overview", host, Authorization=f"Bearer {token}")[0] == 200, host
    assert ask("GET", "/api/v1/overview", f"10.255.255.254:{port}", Authorization=f"Bearer {token}")[0] == 400


def test_configured_names_are_allowed(tmp_path):
    from test_ui_support import FixedClock, Served, seed_usage

    from gateway.config import parse_config

    db = tmp_path / "g.db"
    seed_usage(db, days=1)
    config = parse_config({"ui": {"allowed_hosts": ["powergw.home.arpa"]}})
    server = Served(db, tmp_path, FixedClock(), config=config)
    try:
        r = requests.get(server.url + "/api/v1/session", headers={"Host": "powergw.home.arpa:8080"}, timeout=10)
        assert r.status_code == 200
    finally:
        server.stop()


@pytest.mark.parametrize("value", ["http://gw.local", "gw.local:8080", "", " gw"])
def test_a_bad_allowed_host_stops_start_up(value):
    from gateway.config import ConfigError, parse_config

    with pytest.raises(ConfigError, match="allowed_hosts"):
        parse_config({"ui": {"allowed_hosts": [value]}})
