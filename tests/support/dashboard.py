"""Builders shared by the dashboard tests: a real gateway database with nodes, usage and alerts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from gateway.app import open_store
from gateway.batch import Batch

KITCHEN = "a4:cf:12:34:56:78"
MAINS = "a4:cf:12:34:56:79"
# 2026-03-15 12:00 IST: a Sunday afternoon in the middle of a month.
NOW_MS = int(dt.datetime(2026, 3, 15, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))).timestamp() * 1000)
ADMIN_PASSWORD = "correct horse battery"


class FixedClock:
    """An injected clock the tests move by hand."""

    def __init__(self, now_ms: int = NOW_MS):
        self.now = now_ms

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> None:
        self.now += ms


def seed_usage(
    db: Path, *, days: int = 40, now_ms: int = NOW_MS, nodes=((KITCHEN, "kitchen", 400), (MAINS, "mains", 1000))
) -> None:
    """Constant power per node, one interval per hour, through the store's own rollup code."""
    store = open_store(db)
    try:
        start = now_ms - days * 86_400_000
        start -= start % 3_600_000
        for node_id, name, watts in nodes:
            key = store.ensure_node(node_id, "serial", start)
            store.conn.execute(
                "UPDATE nodes SET name = ?, last_seen_ms = ?, fw = '1.2.0', sensor_amps = 30, mv_per_a_x10 = 660, "
                "frames_ok = 1000, frames_lost = 5, last_power_dw = ? WHERE node_key = ?",
                (name, now_ms - 10_000, watts * 10, key),
            )
            batch = Batch()
            t = start
            while t + 3_600_000 <= now_ms:
                batch.add_energy(key, t, t + 3_600_000, watts * 1000)  # W for one hour = W·1000 mWh
                t += 3_600_000
            with store.lock:
                store.conn.execute("BEGIN IMMEDIATE")
                store._apply_rollups(batch)
                store.conn.execute("COMMIT")
    finally:
        store.close()


def raise_alerts(db: Path, now_ms: int = NOW_MS) -> list[int]:
    from gateway.alerts import AlertStore

    store = open_store(db)
    try:
        alerts = AlertStore(store)
        ids = [
            alerts.raise_alert(
                "theft",
                None,
                "+850 W from 01:00 to 04:00 on 3 of the last 4 nights; usual 120 W",
                now_ms=now_ms - 3_600_000,
                dedup_key="theft:1",
                data={"extra_w": 850, "usual_w": 120},
            )[0],
            alerts.raise_alert(
                "node_offline",
                None,
                "kitchen: no frames for 12 minutes",
                now_ms=now_ms - 600_000,
                node_id=KITCHEN,
                dedup_key="offline:kitchen",
                data={"minutes": 12},
            )[0],
            alerts.raise_alert(
                "slab_ahead",
                None,
                "37 units to 500; crossing it adds ₹243.40",
                now_ms=now_ms - 60_000,
                dedup_key="slab:500",
                data={"units_to_next": 37},
            )[0],
        ]
        return ids
    finally:
        store.close()


def csrf_of(client) -> str:
    """The CSRF token a Flask test client's session (or login cookie) must send."""
    return client.get("/api/v1/session").get_json()["csrf"]


def login(client, username: str = "admin", password: str = ADMIN_PASSWORD) -> str:
    """Log a Flask test client in; returns its session's CSRF token."""
    resp = client.post(
        "/api/v1/session", json={"username": username, "password": password}, headers={"X-CSRF-Token": csrf_of(client)}
    )
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["csrf"]


def write(client, method: str, path: str, body=None, **headers):
    """A write from a logged-in test client (`client.csrf`), with a JSON body."""
    headers.setdefault("X-CSRF-Token", client.csrf)
    return client.open(path, method=method, json=body if body is not None else {}, headers=headers)


def error(resp) -> str:
    """The message of the API's error body, checking its shape and status."""
    body = resp.get_json()
    assert set(body) == {"error"} and body["error"]["status"] == resp.status_code
    return body["error"]["message"]


class Served:
    """The dashboard on a real waitress server at 127.0.0.1 (a free port), over the database at
    `db`, with the injected `clock`; `session()` logs a user in over HTTP."""

    def __init__(self, db: Path, tmp: Path, clock: FixedClock, config=None):
        from local_ui import create_app, serve_in_thread

        self.app = create_app(
            db,
            live_path=tmp / "run" / "live.json",
            clock=clock,
            admin_password=ADMIN_PASSWORD,
            registry_root=tmp / "models",
            config=config,
        )
        self.ctx = self.app.extensions["powergw"]
        self.handle = serve_in_thread(self.app, "127.0.0.1", 0)
        self.url = self.handle.url
        self.db = db

    def session(self, username: str = "admin", password: str = ADMIN_PASSWORD, **connect):
        """A requests.Session logged in as `username`, sending its CSRF token on every request."""
        import requests

        s = requests.Session()
        csrf = s.get(self.url + "/api/v1/session", timeout=10).json()["csrf"]
        r = s.post(
            self.url + "/api/v1/session",
            json={"username": username, "password": password},
            headers={"X-CSRF-Token": csrf},
            timeout=10,
        )
        assert r.status_code == 200, r.text
        s.headers["X-CSRF-Token"] = r.json()["csrf"]
        return s

    def user(self, admin, username: str, password: str, role: str = "viewer") -> None:
        r = admin.post(
            self.url + "/api/v1/users", json={"username": username, "password": password, "role": role}, timeout=10
        )
        assert r.status_code == 201, r.text

    def stop(self) -> None:
        self.handle.stop()
