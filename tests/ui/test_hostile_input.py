"""Hostile and mistaken input against the dashboard on a real waitress server: every bad request
is a 4xx naming what is wrong, none is a 500 with a traceback in the log, and none stores anything."""

from __future__ import annotations

import logging
import time

import pytest
import requests


@pytest.fixture
def quiet(caplog):
    """Fails the test if anything was logged at ERROR (a traceback floods an SD card's log)."""
    caplog.set_level(logging.WARNING)
    yield caplog
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def post_json(url: str, raw: bytes, session=None, **headers) -> requests.Response:
    return (session or requests).post(
        url, data=raw, headers={"Content-Type": "application/json", **headers}, timeout=10
    )


# ---- reachable without logging in -----------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, words",
    [
        (b"[" * 1000, "expected a JSON object"),
        (b"[" * 1000 + b"]" * 1000, "expected a JSON object"),
        (b'{"username": ' + b"[" * 50 + b"]" * 50 + b', "password": "x"}', "nested deeper"),
        (b'{"username": "\\ud800", "password": "whatever1"}', "'username': not valid Unicode"),
        (b'{"username": "admin", "password": "\\udfff\\ud800"}', "'password': not valid Unicode"),
        (b'{"\\ud800": 1}', "not valid Unicode"),
        (b'{"username": NaN, "password": "x"}', "expected a JSON object"),
        (b"\xff\xfe{", "expected a JSON object"),
    ],
)
def test_login_with_a_malformed_body_is_a_400(served, quiet, raw, words):
    s = requests.Session()
    csrf = s.get(served.url + "/api/v1/session", timeout=10).json()["csrf"]
    r = post_json(served.url + "/api/v1/session", raw, s, **{"X-CSRF-Token": csrf})
    assert r.status_code == 400, r.text
    assert words in r.json()["error"]["message"]


@pytest.mark.parametrize(
    "path",
    [
        "/static/%00",
        "/static/a%00b.js",
        "/static/" + "a" * 5000,
        "/static/" + "a/" * 3000 + "x",
        "/static/../../etc/passwd",
        "/static/%2e%2e/%2e%2e/etc/passwd",
    ],
)
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
    token = admin.post(served.url + "/api/v1/tokens", json={"name": "script", "role": "viewer"}, timeout=10).json()[
        "token"
    ]

    def ask(method: str, path: str, host: str, **headers) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request(
            method,
            path,
            body=b"{}" if method == "POST" else None,
            headers={"Host": host, "Origin": f"http://{host}", "Content-Type": "application/json", **headers},
        )
        resp = conn.getresponse()
        out = resp.status, resp.read().decode()
        conn.close()
        return out

    evil = f"attacker.example:{port}"
    for method, path, headers in (
        ("GET", "/api/v1/session", {}),
        ("POST", "/api/v1/session", {}),
        ("GET", "/api/v1/overview", {"Authorization": f"Bearer {token}"}),
        ("GET", "/", {}),
        ("GET", "/healthz", {}),
    ):
        status, text = ask(method, path, evil, **headers)
        assert status == 400 and "not a name of this gateway" in text, (method, path)
    import socket

    names = [
        f"127.0.0.1:{port}",
        f"localhost:{port}",
        f"{socket.gethostname()}.local:{port}",
        f"{socket.gethostname()}:{port}",
    ]
    if own_address():
        names.append(f"{own_address()}:{port}")
    for host in names:
        assert ask("GET", "/api/v1/overview", host, Authorization=f"Bearer {token}")[0] == 200, host
    assert ask("GET", "/api/v1/overview", f"10.255.255.254:{port}", Authorization=f"Bearer {token}")[0] == 400


def test_configured_names_are_allowed(tmp_path):
    from gateway.config import parse_config
    from tests.support.dashboard import FixedClock, Served, seed_usage

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


# ---- logged in: amounts, ids, text ---------------------------------------------------------------------


def budget_and_payments(served) -> tuple:
    import sqlite3

    conn = sqlite3.connect(served.db)
    try:
        return (
            conn.execute("SELECT value FROM meta WHERE key LIKE 'billing.budget%' ORDER BY key").fetchall(),
            conn.execute("SELECT count(*) FROM payments").fetchone()[0],
        )
    finally:
        conn.close()


@pytest.mark.parametrize(
    "amount, words",
    [
        ("1e26", "expected rupees as digits"),
        ("1E+2", "expected rupees as digits"),
        ("1_000", "expected rupees as digits"),
        ("١٠٠", "expected rupees as digits"),
        ("1.005", "at most 2 decimal places"),
        ("12,345,67", "expected rupees as digits"),
        ("NaN", "expected rupees as digits"),
        (12.5, "not a binary float"),
        (1.025e130, "not a binary float"),
        (10**30, "more than the limit of ₹1,00,00,000.00 (the largest budget [billing] budget_inr takes)"),
        ("-1", "must be 0 or more"),
        (True, "expected rupees as digits"),
    ],
)
def test_bad_budgets_are_400_naming_the_rule_and_store_nothing(served, quiet, amount, words):
    admin = served.session()
    before = budget_and_payments(served)
    r = admin.put(served.url + "/api/v1/budget", json={"amount": amount}, timeout=10)
    assert r.status_code == 400, r.text
    assert words in r.json()["error"]["message"]
    assert budget_and_payments(served) == before


@pytest.mark.parametrize(
    "amount, paise",
    [
        ("1,500", "1500.00"),
        ("1,23,456.78", "123456.78"),
        ("₹ 2,500.5", "2500.50"),
        ("1,234,567", "1234567.00"),
        (2500, "2500.00"),
        ("0", None),
    ],
)
def test_budgets_written_as_indians_write_them(served, quiet, amount, paise):
    admin = served.session()
    r = admin.put(served.url + "/api/v1/budget", json={"amount": amount}, timeout=10)
    assert r.status_code == 200, r.text
    assert r.json()["amount"] == paise


@pytest.mark.parametrize(
    "body, words",
    [
        ({"amount": "1e26"}, "expected rupees as digits"),
        ({"amount": 12.5}, "not a binary float"),
        ({"amount": "2,00,000"}, "more than the limit of ₹1,00,000.00 ([billing] max_payment_inr)"),
        ({"amount": "100", "bill_id": 2**70}, "'bill_id' = 1180591620717411303424: expected a whole number from 1"),
        ({"amount": "100", "bill_id": 0}, "expected a whole number from 1"),
        ({"amount": "100", "reference": "\ud800"}, "'reference': not valid Unicode"),
        ({"amount": "100", "reference": [[[[[[[[[["x"]]]]]]]]]]}, "nested deeper"),
    ],
)
def test_bad_payments_are_400_and_store_nothing(served, quiet, body, words):
    import json as _json

    admin = served.session()
    raw = _json.dumps(body).encode()  # json.dumps writes a lone surrogate as \ud800, as an attacker would
    r = admin.post(
        served.url + "/api/v1/payments",
        data=raw,
        timeout=10,
        headers={"Content-Type": "application/json", "Idempotency-Key": "hostile-0001"},
    )
    assert r.status_code == 400, r.text
    assert words in r.json()["error"]["message"]
    assert budget_and_payments(served)[1] == 0


def row_counts(db) -> dict:
    """Rows per table and the budget: what a refused request must leave as it was."""
    import sqlite3

    conn = sqlite3.connect(db)
    try:
        tables = [t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        out = {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
        out["budget"] = conn.execute(
            "SELECT group_concat(value) FROM meta WHERE key LIKE 'billing.budget%'"
        ).fetchone()[0]
        return out
    finally:
        conn.close()


MALFORMED = [
    (b"[" * 1000, "expected a JSON object"),
    (b'{"note": ' + b"[" * 20 + b"]" * 20 + b"}", "nested deeper than 8 levels"),
    (b'{"\\ud800": 1}', "not valid Unicode"),
    (b'{"note": "a \\udfff b"}', "'note': not valid Unicode"),
    (b'{"note": NaN}', "expected a JSON object"),
]


def test_every_json_endpoint_refuses_nested_or_non_unicode_bodies(served, quiet):
    """Each endpoint of the table that takes a JSON body, as an admin (so the body is what is refused)."""
    import re

    from local_ui.api import ENDPOINTS, PREFIX
    from tests.support.dashboard import raise_alerts

    admin = served.session()
    raise_alerts(served.db)  # alert 1 exists: its actions reach the body check, not a 404
    before = row_counts(served.db)
    endpoints = [(ep.method, PREFIX + re.sub(r"<id:\w+>", "1", ep.path)) for ep in ENDPOINTS if ep.body]
    assert len(endpoints) >= 14
    wrong = []
    for method, path in endpoints:
        for raw, words in MALFORMED:
            r = admin.request(
                method,
                served.url + path,
                data=raw,
                timeout=10,
                headers={"Content-Type": "application/json", "Idempotency-Key": "hostile-0002"},
            )
            if r.status_code != 400 or words not in r.json()["error"]["message"]:
                wrong.append((method, path, raw[:30], r.status_code, r.text[:200]))
    assert wrong == []
    assert row_counts(served.db) == before


@pytest.mark.parametrize("amount", ["1e26", "1E+2", "1_000", "0", "-5", "x" * 300])
def test_a_viewer_asking_for_a_upi_link_with_a_bad_amount_gets_a_400(served, quiet, amount):
    admin = served.session()
    served.user(admin, "amma", "viewer-pass-1")
    viewer = served.session("amma", "viewer-pass-1")
    r = viewer.get(served.url + "/api/v1/payments/upi", params={"amount": amount}, timeout=10)
    assert r.status_code == 400, r.text


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/alerts/99999999999999999999999",
        "/api/v1/alerts/0",
        "/api/v1/alerts/9223372036854775808",
        "/api/v1/payments/99999999999999999999999/confirm",
        "/api/v1/alerts/-1",
    ],
)
def test_ids_out_of_range_are_404(served, quiet, path):
    admin = served.session()
    r = (
        admin.post(served.url + path, json={}, timeout=10)
        if path.endswith("confirm")
        else admin.get(served.url + path, timeout=10)
    )
    assert r.status_code == 404, r.text
    assert r.json()["error"]["status"] == 404


def test_alert_comments_with_a_lone_surrogate_are_400(served, quiet):
    from tests.support.dashboard import raise_alerts

    alert_id = raise_alerts(served.db)[0]
    admin = served.session()
    r = admin.post(
        f"{served.url}/api/v1/alerts/{alert_id}/ignore",
        data=b'{"comment": "mine \\udc80"}',
        timeout=10,
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 400 and "'comment': not valid Unicode" in r.json()["error"]["message"]
    assert admin.get(f"{served.url}/api/v1/alerts/{alert_id}", timeout=10).json()["state"] == "open"


# ---- live-stream slots ---------------------------------------------------------------------------------


def test_one_viewer_cannot_take_every_live_stream(served, quiet):
    import http.client

    admin = served.session()
    served.user(admin, "amma", "viewer-pass-1")
    greedy = served.session("amma", "viewer-pass-1")
    port = int(served.url.rsplit(":", 1)[1])
    cookie = "; ".join(f"{c.name}={c.value}" for c in greedy.cookies)

    def open_stream(headers: dict) -> tuple[http.client.HTTPResponse, int, str]:
        """A stream held open: the response is kept, since the socket closes with it (and the server,
        reading on while it streams, would free the slot at once)."""
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/api/v1/live?seconds=30", headers=headers)
        resp = conn.getresponse()
        first = resp.fp.readline().decode() if resp.status == 200 else resp.read().decode()
        return resp, resp.status, first

    opened = [open_stream({"Cookie": cookie}) for _ in range(8)]
    try:
        assert [status for _, status, _ in opened] == [200, 200] + [503] * 6
        assert "already has 2 live streams open" in opened[-1][2]
        others = open_stream({"Cookie": "; ".join(f"{c.name}={c.value}" for c in admin.cookies)})
        assert others[1] == 200  # everyone else still gets one
        others[0].close()
        opened[0][0].close()  # a tab closed: its slot comes back at once, no value written meanwhile
        deadline = time.monotonic() + 2
        while (again := open_stream({"Cookie": cookie}))[1] != 200 and time.monotonic() < deadline:
            again[0].close()
            time.sleep(0.05)
        assert again[1] == 200
        opened.append(again)
    finally:
        for resp, _, _ in opened:
            resp.close()


@pytest.mark.parametrize(
    "method, path, allow",
    [
        ("PUT", "/api/v1/overview", "GET, HEAD"),
        ("GET", "/api/v1/setup", "POST"),
        ("PATCH", "/api/v1/alerts/5/ignore", "POST"),
        ("POST", "/api/v1/meter-readings/3", "DELETE, PUT"),
    ],
)
def test_a_wrong_method_is_405_with_allow(served, quiet, method, path, allow):
    admin = served.session()
    r = admin.request(method, served.url + path, json={}, timeout=10)
    assert r.status_code == 405 and r.headers["Allow"] == allow
    assert r.json()["error"]["status"] == 405


def test_a_surrogate_email_user_name_is_refused(served, quiet):
    admin = served.session()
    r = admin.patch(
        served.url + "/api/v1/settings",
        data=b'{"set": {"email.username": "\\ud83d"}}',
        timeout=10,
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 400 and "'set.email.username': not valid Unicode" in r.json()["error"]["message"]


# ---- the document states what the server checks ------------------------------------------------------


def test_the_document_states_the_amount_kwh_date_and_key_rules(served, quiet):
    from gateway.billing.money import AMOUNT_PATTERN
    from gateway.billing.reconcile import KWH_PATTERN

    doc = requests.get(served.url + "/api/v1/openapi.json", timeout=10).json()["paths"]

    def body(path: str, method: str) -> dict:
        return doc[path][method]["requestBody"]["content"]["application/json"]["schema"]["properties"]

    budget, payment = body("/api/v1/budget", "put")["amount"], body("/api/v1/payments", "post")["amount"]
    assert (budget["pattern"], budget["minimum"], budget["maximum"]) == (AMOUNT_PATTERN, 0, 10_000_000)
    assert (payment["pattern"], payment["minimum"]) == (AMOUNT_PATTERN, 1)
    assert doc["/api/v1/payments/upi"]["get"]["parameters"][0]["schema"]["pattern"] == AMOUNT_PATTERN
    key = doc["/api/v1/payments"]["post"]["parameters"][0]
    assert key["name"] == "Idempotency-Key" and (key["schema"]["minLength"], key["schema"]["maxLength"]) == (8, 100)
    meter = body("/api/v1/meter-readings", "post")
    assert meter["reading"]["pattern"] == meter["billed_units"]["pattern"] == KWH_PATTERN
    assert meter["from"]["format"] == meter["to"]["format"] == "date" and "100 days" in meter["to"]["description"]
    assert body("/api/v1/meter-readings/{reading_id}", "put")["value"]["pattern"] == KWH_PATTERN
    since = next(p for p in doc["/api/v1/alerts"]["get"]["parameters"] if p["name"] == "since")
    assert since["schema"]["format"] == "date" and "2000 to 2100" in since["description"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/usage?period=day&date=20260301",
        "/api/v1/usage?period=day&date=2026-W09-7",
        "/api/v1/export/daily.csv?from=2026-3-1",
        "/api/v1/alerts?since=20260301",
    ],
)
def test_a_date_not_written_yyyy_mm_dd_is_a_400(served, quiet, path):
    """date.fromisoformat alone also reads 20260301 and 2026-W09-7; the document says format: date."""
    r = served.session().get(served.url + path, timeout=10)
    assert r.status_code == 400 and "expected a date as YYYY-MM-DD" in r.json()["error"]["message"]


def test_billed_units_need_their_dates_written_yyyy_mm_dd(served, quiet):
    admin = served.session()
    r = admin.post(
        served.url + "/api/v1/meter-readings",
        json={"billed_units": "300", "from": "20260201", "to": "2026-03-01"},
        timeout=10,
    )
    assert (
        r.status_code == 400
        and "from '20260201': expected the bill's dates as YYYY-MM-DD" in r.json()["error"]["message"]
    )
    assert admin.get(served.url + "/api/v1/meter-readings", timeout=10).json()["readings"] == []


@pytest.mark.parametrize("body", [{"reading": "\t12345.6"}, {"reading": "12345.6\n"}, {"reading": "١٢٣٤٥"}])
def test_a_meter_reading_padded_with_more_than_spaces_is_refused(served, quiet, body):
    """Spaces around a reading are taken; other padding is not, as the document's pattern says."""
    admin = served.session()
    r = admin.post(served.url + "/api/v1/meter-readings", json=body, timeout=10)
    assert r.status_code == 400 and "up to 6 digits and 3 decimals" in r.json()["error"]["message"]
    assert (
        admin.post(served.url + "/api/v1/meter-readings", json={"reading": " 12345.6 "}, timeout=10).status_code == 201
    )


def test_an_empty_idempotency_key_header_is_refused_not_replaced_by_the_bodys(served, quiet):
    admin = served.session()
    r = admin.post(
        served.url + "/api/v1/payments",
        json={"amount": "100", "idempotency_key": "from-the-body-1"},
        headers={"Idempotency-Key": ""},
        timeout=10,
    )
    assert r.status_code == 400 and "Idempotency-Key header (8 to 100 characters)" in r.json()["error"]["message"]
    assert budget_and_payments(served)[1] == 0
    r = admin.post(
        served.url + "/api/v1/payments", json={"amount": "100", "idempotency_key": "from-the-body-1"}, timeout=10
    )
    assert r.status_code == 201  # without the header, the body's key is the key
