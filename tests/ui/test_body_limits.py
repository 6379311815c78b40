"""Request bodies past each server's cap are refused as they arrive: a stranger's 100 MiB never
reaches a temp file. Real waitress servers on 127.0.0.1, raw sockets, the temp directory
measured (unlinked spool files this process holds open included) while the body is sent."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests

from local_ui import create_app, serve_in_thread
from powergw_cloud.app import create_app as cloud_app
from powergw_cloud.context import ServerSettings
from powergw_cloud.store import CloudStore
from tests.support.cloud_servers import ThreadServer
from tests.support.dashboard import ADMIN_PASSWORD, seed_usage

MiB = 1 << 20
ADMIN = "admin-secret"
SHIPPED = Path(__file__).resolve().parents[2] / "edge_model" / "models" / "shipped"


@pytest.fixture
def spool(tmp_path, monkeypatch):
    """The temp directory waitress spools large bodies to (tempfile.TemporaryFile), a fresh one."""
    path = tmp_path / "spool"
    path.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(path))
    return path


def temp_bytes(path: Path) -> int:
    """Bytes under `path`: its files, and the unlinked ones this process still holds open."""
    total = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
            if target.startswith(str(path)) and target.endswith("(deleted)"):
                total += os.stat(f"/proc/self/fd/{fd}").st_size
        except OSError:
            continue
    return total


def send_body(port: int, method: str, path: str, size: int, spool: Path, *, chunked: bool) -> dict:
    """Send `size` bytes of body in 1 MiB pieces until the server stops taking them; the largest
    temp-directory size seen meanwhile, the bytes sent and the status line if one came back."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
    sock.sendall(
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"{framing}\r\n\r\n".encode()
    )
    piece, sent, peak = b"[" * MiB, 0, 0
    try:
        while sent < size:
            data = f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece
            sock.sendall(data)
            sent += len(piece)
            peak = max(peak, temp_bytes(spool))
        if chunked:
            sock.sendall(b"0\r\n\r\n")
    except OSError:
        pass  # the server closed the connection: what we want
    peak = max(peak, temp_bytes(spool))
    status = None
    try:
        sock.settimeout(5)
        status = sock.recv(4096).split(b"\r\n", 1)[0].decode() or None
    except OSError:
        pass  # a reset after the refusal can swallow the answer; the bytes and the temp size still tell
    sock.close()
    return {"peak": peak, "sent": sent, "status": status}


@pytest.fixture
def dashboard(tmp_path):
    db = tmp_path / "g.db"
    seed_usage(db, days=1)
    server = serve_in_thread(
        create_app(db, live_path=tmp_path / "live.json", admin_password=ADMIN_PASSWORD), "127.0.0.1", 0
    )
    yield server
    server.stop()


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_dashboard_refuses_100_mib_before_spooling_any_of_it(dashboard, spool, chunked):
    out = send_body(dashboard.port, "POST", "/api/v1/session", 100 * MiB, spool, chunked=chunked)
    assert out["peak"] == 0
    assert out["sent"] < 100 * MiB
    assert out["status"] in (None, "HTTP/1.1 413 Request Entity Too Large")
    if not chunked:
        assert out["status"] == "HTTP/1.1 413 Request Entity Too Large"


def test_dashboard_takes_a_body_up_to_64_kib(dashboard):
    for size, status in ((64 * 1024, 403), (64 * 1024 + 1, 413)):  # 403: no login CSRF cookie; the body got through
        body = b'{"username": "admin", "password": "' + b"x" * (size - 37) + b'"}'
        assert len(body) == size
        r = requests.post(
            dashboard.url + "/api/v1/session", data=body, headers={"Content-Type": "application/json"}, timeout=10
        )
        assert r.status_code == status, size


@pytest.fixture
def cloud(tmp_path):
    store = CloudStore(tmp_path / "cloud.db")
    server = ThreadServer(
        cloud_app(store, ServerSettings(admin_token=ADMIN))
    )  # the default limits: 1 MiB, 32 MiB models
    yield server
    server.close()
    store.close()


def test_cloud_refuses_100_mib_on_register_as_it_arrives(cloud, spool):
    port = int(cloud.url.rsplit(":", 1)[1])
    out = send_body(port, "POST", "/v1/register", 100 * MiB, spool, chunked=False)
    assert out["status"] == "HTTP/1.1 413 Request Entity Too Large" and out["peak"] == 0 and out["sent"] < 100 * MiB
    # Chunked, waitress counts as it reads: at most the 1 MiB cap is ever spooled.
    out = send_body(port, "POST", "/v1/register", 100 * MiB, spool, chunked=True)
    assert out["peak"] <= MiB + 64 * 1024 and out["sent"] < 100 * MiB


def test_only_the_upload_listener_takes_a_model_and_only_a_model(cloud, spool):
    onnx = (SHIPPED / "model.onnx").read_bytes()
    assert len(onnx) > MiB
    files = {"model": ("model.onnx", onnx), "metadata": ("metadata.json", (SHIPPED / "metadata.json").read_text())}
    auth = {"Authorization": f"Bearer {ADMIN}"}
    try:
        r = requests.put(cloud.url + "/v1/admin/models/m1", headers=auth, files=files, timeout=30)
        assert r.status_code == 413
    except requests.ConnectionError:
        pass  # refused mid-upload: the connection closes before the answer is read
    r = requests.put(cloud.upload_url + "/v1/admin/models/m1", headers=auth, files=files, timeout=30)
    assert r.status_code == 201, r.text
    r = requests.post(cloud.upload_url + "/v1/register", json={"code": "x"}, timeout=10)
    assert r.status_code == 404 and "model uploads only" in r.json()["error"]
    # Past 32 MiB even the upload listener refuses, from the Content-Length, before spooling. The
    # model taken above was spooled (3 MB), and its file goes when the server thread lets go of
    # it, a moment after the answer: wait for that, or the measurement below would count it.
    deadline = time.monotonic() + 5
    while temp_bytes(spool) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert temp_bytes(spool) == 0
    port = int(cloud.upload_url.rsplit(":", 1)[1])
    out = send_body(port, "PUT", "/v1/admin/models/m2", 100 * MiB, spool, chunked=False)
    assert out["status"] == "HTTP/1.1 413 Request Entity Too Large" and out["peak"] == 0


def test_the_measurement_sees_a_spooled_body(cloud, spool):
    """temp_bytes finds waitress's unlinked spool file: 2 MiB of a 10 MiB upload in flight."""
    port = int(cloud.upload_url.rsplit(":", 1)[1])
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(f"PUT /v1/admin/models/m HTTP/1.1\r\nHost: x\r\nContent-Length: {10 * MiB}\r\n\r\n".encode())
    sock.sendall(b"x" * (2 * MiB))
    deadline, seen = time.monotonic() + 5, 0
    while seen < 2 * MiB and time.monotonic() < deadline:  # the server's loop thread writes it: poll
        seen = temp_bytes(spool)
        time.sleep(0.01)
    sock.close()
    assert seen >= 2 * MiB


def test_cloud_serve_refuses_a_bad_upload_listen(tmp_path):
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-m", "powergw_cloud", "serve", "--db", str(tmp_path / "c.db"), "--upload-listen", "8701"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "expected HOST:PORT" in out.stderr
