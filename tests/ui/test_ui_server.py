"""The dashboard served for real: `powergw ui` as a process, server-sent events through waitress,
serve_in_thread/stop, and the pure period arithmetic behind the Usage page."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from local_ui import create_app, serve_in_thread
from local_ui.periods import PeriodError, date_range, period
from tests.support.dashboard import ADMIN_PASSWORD, KITCHEN, seed_usage

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def token_for(app) -> str:
    c = app.test_client()
    csrf = c.get("/api/v1/session").get_json()["csrf"]
    csrf = c.post(
        "/api/v1/session", json={"username": "admin", "password": ADMIN_PASSWORD}, headers={"X-CSRF-Token": csrf}
    ).get_json()["csrf"]
    return c.post("/api/v1/tokens", json={"name": "t", "role": "viewer"}, headers={"X-CSRF-Token": csrf}).get_json()[
        "token"
    ]


def test_live_stream_through_waitress_delivers_each_new_value(tmp_path):
    db, live = tmp_path / "g.db", tmp_path / "live.json"
    seed_usage(db, days=2)
    app = create_app(db, live_path=live, admin_password=ADMIN_PASSWORD)
    token = token_for(app)
    server = serve_in_thread(app, "127.0.0.1", 0)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        conn.request("GET", "/api/v1/live?seconds=10", headers={"Authorization": f"Bearer {token}"})
        resp = conn.getresponse()
        assert resp.status == 200 and resp.getheader("Content-Type").startswith("text/event-stream")

        def next_event() -> dict:
            data = None
            while True:
                line = resp.fp.readline().decode().rstrip("\n")
                if line.startswith("data: "):
                    data = json.loads(line[6:])
                elif line == "" and data is not None:
                    return data

        first = next_event()
        assert first["source"] == "database"  # no live.json yet: the store's tail stands in
        for watts in (980.5, 1234.0):
            tmp = live.with_suffix(".tmp")
            tmp.write_text(
                json.dumps({"ts_ms": 1, "nodes": {KITCHEN: {"name": "kitchen", "power_w": watts, "ts_ms": 1}}})
            )
            os.replace(tmp, live)
            t0 = time.monotonic()
            event = next_event()
            assert event["source"] == "live" and event["nodes"][KITCHEN]["power_w"] == watts
            assert time.monotonic() - t0 < 1.0
        conn.close()
    finally:
        t0 = time.monotonic()
        server.stop()
        assert time.monotonic() - t0 < 3  # open streams end with the server


def test_stop_while_requests_are_answered_never_fails(tmp_path, caplog):
    """stop() races the serving loop: a worker that just finished a response pulls waitress's
    trigger too, so the loop can run stop()'s thunk before stop() has written its own byte.
    CI once failed here with EBADF from that write: the thunk closed the trigger's pipe (through
    the server's own close()). Stop many times under load; no worker may hit a closed pipe."""
    import logging
    import threading

    caplog.set_level(logging.WARNING, logger="waitress")

    db = tmp_path / "g.db"
    seed_usage(db, days=1)
    app = create_app(db, live_path=tmp_path / "live.json", admin_password=ADMIN_PASSWORD)
    for _ in range(60):
        server = serve_in_thread(app, "127.0.0.1", 0)
        port, done, answered = server.port, threading.Event(), []

        def hammer(port=port, done=done, answered=answered) -> None:
            while not done.is_set():
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                    conn.request("GET", "/healthz")
                    answered.append(conn.getresponse().status)
                    conn.close()
                except OSError:
                    return  # the server is gone: that is what we are testing

        clients = [threading.Thread(target=hammer) for _ in range(3)]
        for c in clients:
            c.start()
        while not answered:
            time.sleep(0.001)
        server.stop()
        done.set()
        for c in clients:
            c.join(5)
        assert not server.thread.is_alive()
        assert set(answered) == {200}
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_powergw_ui_command_serves_the_database(tmp_path):
    db = tmp_path / "g.db"
    seed_usage(db, days=1)
    port = free_port()
    env = os.environ | {"POWERGW_ADMIN_PASSWORD": ADMIN_PASSWORD, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gateway.cli",
            "ui",
            "--db",
            str(db),
            "--port",
            str(port),
            "--live",
            str(tmp_path / "live.json"),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/healthz")
                resp = conn.getresponse()
                break
            except OSError:
                assert time.monotonic() < deadline, "powergw ui did not start"
                time.sleep(0.2)
        assert resp.status == 200 and json.loads(resp.read())["status"] == "ok"
        conn.request("GET", "/api/v1/overview")
        assert conn.getresponse().status == 401
    finally:
        proc.terminate()
        out = proc.communicate(timeout=10)[0].decode()
    assert f"dashboard on http://127.0.0.1:{port}" in out


@pytest.mark.parametrize("args, words", [(["--port", "70000"], "--port 70000"), (["--threads", "2"], "--threads 2")])
def test_powergw_ui_refuses_bad_options(tmp_path, args, words):
    out = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "ui", "--db", str(tmp_path / "g.db"), *args],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
        timeout=30,
    )
    assert out.returncode == 2 and words in out.stdout


# ---- periods ----------------------------------------------------------------------------------------


D = dt.date


@pytest.mark.parametrize(
    "kind, anchor, first, end",
    [
        ("day", D(2026, 3, 15), D(2026, 3, 15), D(2026, 3, 16)),
        ("week", D(2026, 3, 15), D(2026, 3, 9), D(2026, 3, 16)),  # a Sunday belongs to the week from Monday
        ("month", D(2024, 2, 10), D(2024, 2, 1), D(2024, 3, 1)),
        ("year", D(2026, 7, 1), D(2026, 1, 1), D(2027, 1, 1)),
    ],
)
def test_calendar_periods(kind, anchor, first, end):
    p = period(kind, anchor)
    assert (p.first, p.end) == (first, end)


def test_billing_cycles_and_previous_periods():
    from gateway.billing.cycle import cycle_containing

    def two_monthly(day):  # meter read on 5 Feb 2024, every two months
        c = cycle_containing(D(2024, 2, 5), 2, day)
        return c.start, c.end

    two = period("cycle", D(2026, 3, 15), cycles=two_monthly)
    assert (two.first, two.end) == (D(2026, 2, 5), D(2026, 4, 5))
    assert (two.previous().first, two.previous().end) == (D(2025, 12, 5), D(2026, 2, 5))
    march = period("month", D(2026, 3, 31))
    assert (march.previous().first, march.previous().end) == (D(2026, 2, 1), D(2026, 3, 1))
    leap = period("year", D(2024, 2, 29))
    assert leap.previous().first == D(2023, 1, 1)
    custom = date_range(D(2026, 3, 1), D(2026, 3, 10), "day")
    assert (custom.previous().first, custom.previous().end) == (D(2026, 2, 19), D(2026, 3, 1))


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda: period("decade", D(2026, 1, 1)), "expected one of"),
        (lambda: period("cycle", D(2026, 1, 1)), "needs billing"),
        (lambda: period("year", D(2026, 1, 1), "minute"), "too many points"),
        (lambda: date_range(D(2026, 1, 2), D(2026, 1, 1), "day"), "before start"),
    ],
)
def test_period_errors(call, words):
    with pytest.raises(PeriodError, match=words):
        call()
