"""Shared parts of the cloud sync tests (imported by test_cloud_*.py and test_sync_*.py).

A real PostgreSQL server started by tests/sync/conftest.py's fixture (initdb into a temp dir, pg_ctl on a free
loopback port), the cloud API as a real process or a waitress thread, a fault-injecting HTTP
proxy, and an injectable clock. No tests live here.
"""

from __future__ import annotations

import contextlib
import glob
import http.client
import itertools
import os
import pwd
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]


class FakeClock:
    """Milliseconds that move only when a test says so."""

    def __init__(self, start_ms: int = 1_750_000_000_000):
        self.ms = start_ms

    def __call__(self) -> int:
        return self.ms

    def advance(self, ms: int) -> None:
        self.ms += ms


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- PostgreSQL --------------------------------------------------------------------------------


def _pg_bindir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    return Path(dirs[-1]) if dirs and Path(dirs[-1], "pg_ctl").exists() else None


def start_postgres():
    """A throwaway PostgreSQL server on 127.0.0.1: yields a URL template with {db}, stops it after.
    (tests/sync/conftest.py's session fixture `postgres_server` runs it; skips without the server binaries.)"""
    bindir = _pg_bindir()
    if bindir is None or not (bindir / "initdb").exists():
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed: apt-get install postgresql")
    base = Path(tempfile.mkdtemp(prefix="powergw-pg-"))
    prefix: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home", "postgres"], check=True)
        shutil.chown(base, "postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    data, port = base / "data", free_port()
    subprocess.run(
        [*prefix, str(bindir / "initdb"), "-D", str(data), "-U", "powergw", "--auth=trust", "-E", "UTF8", "--no-sync"],
        check=True,
        capture_output=True,
    )
    opts = (
        f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c "
        "max_connections=200"
    )
    subprocess.run(
        [
            *prefix,
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            opts,
            "-l",
            str(base / "log"),
            "-w",
            "-t",
            "60",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://powergw@127.0.0.1:{port}/{{db}}"
    finally:
        subprocess.run(
            [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], capture_output=True
        )
        shutil.rmtree(base, ignore_errors=True)


_db_counter = itertools.count()


@contextlib.contextmanager
def fresh_postgres_db(template: str) -> Iterator[str]:
    """An empty place for one test on the server `template` names ({db} left out): a schema of
    its own in one shared database, the URL's search_path set to it; dropped afterwards.

    A database per test copied template1 (13 MB) each time: a run's 49 of them were 650 MB and
    18,000 files written for a few rows each, and deleted by the server's teardown, which took up
    to 45 s on a busy machine. A schema costs a few catalogue rows.
    """
    import psycopg

    admin = template.format(db="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = 'powergw_tests'").fetchone() is None:
            conn.execute("CREATE DATABASE powergw_tests")
    name = f"t{os.getpid()}_{next(_db_counter)}"
    shared = template.format(db="powergw_tests")
    with psycopg.connect(shared, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    try:
        yield f"{shared}?options=-csearch_path%3D{name}"
    finally:
        with psycopg.connect(shared, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {name} CASCADE")


# ---- the cloud API as a real server ------------------------------------------------------------


class ThreadServer:
    """A WSGI app on waitress in a thread, on free loopback ports: the cloud API's own listeners
    (`CloudServer`), with its body limits and the model-upload listener at `upload_url`."""

    def __init__(self, app, threads: int = 8, settings=None):
        from powergw_cloud.context import ServerSettings
        from powergw_cloud.serving import CloudServer

        self.server = CloudServer(
            app, settings or ServerSettings(), "127.0.0.1", 0, threads=threads, upload=("127.0.0.1", 0)
        )
        self.url, self.upload_url = self.server.url, self.server.upload_url
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        from waitress import wasyncore

        while not self._stop.is_set():
            wasyncore.loop(timeout=0.05, map=self.server.map, count=1)
        # Close every socket (the listeners and keep-alive connections) on the loop's own thread.
        for channel in list(self.server.map.values()):
            channel.close()
        self.server.api.task_dispatcher.shutdown()

    def close(self) -> None:
        self._stop.set()
        self.thread.join(5)


class ServerProcess:
    """`powergw-cloud serve` as a subprocess; kill -9 and start again on the same port."""

    def __init__(self, db: str, port: int | None = None, env: dict | None = None):
        self.db, self.port, self.upload_port = db, port or free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = dict(os.environ, **(env or {}))
        self.proc: subprocess.Popen | None = None

    def start(self, timeout_s: float = 20) -> ServerProcess:
        cmd = [
            sys.executable,
            "-m",
            "powergw_cloud",
            "serve",
            "--db",
            self.db,
            "--port",
            str(self.port),
            "--threads",
            "4",
            "--upload-listen",
            f"127.0.0.1:{self.upload_port}",
        ]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"cloud serve exited: {self.proc.stderr.read().decode()[-2000:]}")
            try:
                if requests.get(self.url + "/v1/health", timeout=1).ok:
                    return self
            except requests.RequestException:
                time.sleep(0.05)
        raise RuntimeError("cloud serve did not come up")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


# ---- a fault-injecting HTTP proxy --------------------------------------------------------------


class FaultProxy:
    """An HTTP/1.1 proxy on loopback that misbehaves on purpose, one scripted fault per request.

    Faults: "pass", "http500", "http503" (Retry-After), "http429" (Retry-After), "slow" (waits
    `slow_s` before forwarding), "reset" (RST before forwarding), "reset_after" (forwards, the
    server stores, then RST instead of the answer: the acknowledgement is lost). `outage(...)`
    answers every request on every path with those faults in turn until `outage()` ends it.
    """

    def __init__(self, upstream_port: int, retry_after_s: int = 30, slow_s: float = 1.0):
        self.upstream_port = upstream_port
        self.retry_after_s = retry_after_s
        self.slow_s = slow_s
        self.faults: dict[str, deque[str]] = {}
        self.standing: itertools.cycle | None = None
        self.seen: list[tuple[str, str, str]] = []  # (method, path, fault)
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def script(self, *faults: str, path: str = "/v1/events") -> None:
        """Queue faults for the next requests to `path` (without its query string)."""
        with self.lock:
            self.faults.setdefault(path, deque()).extend(faults)

    def outage(self, *faults: str) -> None:
        """Every request gets these faults in turn (scripted ones first) until outage() with none."""
        with self.lock:
            self.standing = itertools.cycle(faults) if faults else None

    def close(self) -> None:
        self.closed = True
        self.sock.close()

    def _accept(self) -> None:
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        try:
            while True:
                request = _read_request(reader)
                if request is None:
                    return
                method, path, headers, body = request
                with self.lock:
                    queue = self.faults.get(path.split("?")[0])
                    fault = queue.popleft() if queue else next(self.standing) if self.standing else "pass"
                    self.seen.append((method, path, fault))
                if fault == "reset":
                    return _reset(conn)
                if fault in ("http500", "http503", "http429"):
                    status = int(fault[4:])
                    extra = f"Retry-After: {self.retry_after_s}\r\n" if status != 500 else ""
                    msg = b'{"error":"injected"}'
                    conn.sendall(
                        f"HTTP/1.1 {status} Injected\r\nContent-Type: application/json\r\n{extra}"
                        f"Content-Length: {len(msg)}\r\n\r\n".encode()
                        + msg
                    )
                    continue
                if fault == "slow":
                    time.sleep(self.slow_s)
                status, reason, resp_headers, data = self._forward(method, path, headers, body)
                if fault == "reset_after":
                    return _reset(conn)
                head = f"HTTP/1.1 {status} {reason}\r\n" + "".join(
                    f"{k}: {v}\r\n"
                    for k, v in resp_headers
                    if k.lower() not in ("content-length", "transfer-encoding", "connection")
                )
                conn.sendall(head.encode() + f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
        except OSError:
            return
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def _forward(self, method, path, headers, body):
        upstream = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=30)
        try:
            upstream.request(method, path, body=body, headers={k: v for k, v in headers if k.lower() != "connection"})
            resp = upstream.getresponse()
            return resp.status, resp.reason, resp.getheaders(), resp.read()
        except OSError:
            return 502, "Bad Gateway", [], b'{"error":"upstream down"}'
        finally:
            upstream.close()


def _read_request(reader):
    line = reader.readline()
    if not line:
        return None
    method, path, _ = line.decode("latin-1").split(" ", 2)
    headers = []
    length = 0
    while True:
        h = reader.readline().decode("latin-1")
        if h in ("\r\n", "\n", ""):
            break
        k, _, v = h.partition(":")
        headers.append((k.strip(), v.strip()))
        if k.strip().lower() == "content-length":
            length = int(v)
    body = reader.read(length) if length else b""
    return method, path, headers, body


def _reset(conn: socket.socket) -> None:
    """Close with an RST (SO_LINGER 0), as a crashed middlebox would."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()
