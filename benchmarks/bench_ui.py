"""Dashboard benchmarks on loopback, each figure beside a baseline measured in the same run.

1. API latency under load: 20 concurrent clients (threads, keep-alive connections, an API token)
   against `powergw ui` (waitress, its own process) on a database holding 4 years of history for
   2 nodes: GET /api/v1/overview and GET /api/v1/usage?period=year (a year, by month), p50/p95/max.
   Baseline: GET /healthz (one SELECT 1 through the same stack) under the same load.
2. Bytes on first load: everything Chromium transfers to show the login page and then the
   Overview after logging in (encoded bytes on the wire, from the DevTools protocol).
   Baseline: the same files uncompressed (what the page would cost without gzip).
3. Frame to screen: a frame fed to a real Ingest (wall clock, ticking every 100 ms like the
   daemon) until the Overview in Chromium shows its value. Baseline: frame to live.json replaced
   on disk (the ingest side alone), measured on the same frames.

    .venv/bin/python benchmarks/bench_ui.py [--clients 20] [--requests 50] [--frames 20] [--db PATH] [--json PATH]
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import math
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.app import open_store
from gateway.batch import Batch
from gateway.clock import AnchoredClock, SystemClock
from gateway.ingest import Ingest, LiveBoard
from gateway.protocol import Reading, encode_wire
from local_ui.auth import Accounts

CHROMIUM = os.environ.get("POWERGW_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NODES = (("a4:cf:12:00:00:01", "mains"), ("a4:cf:12:00:00:02", "kitchen"))
LIVE_NODE = "a4:cf:12:00:00:09"
PASSWORD = "bench-password-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fill_history(db: Path, years: int = 4) -> None:
    """`years` of minute/hour/day rollups for 2 nodes with a daily load shape, through the store's rollup code."""
    store = open_store(db)
    now = int(time.time() * 1000)
    start = now - years * 365 * 86_400_000
    start -= start % 3_600_000
    shape = [
        0.3,
        0.25,
        0.25,
        0.25,
        0.3,
        0.6,
        1.2,
        1.4,
        1.0,
        0.8,
        0.7,
        0.7,
        0.8,
        0.9,
        1.0,
        0.9,
        0.8,
        1.0,
        1.6,
        1.9,
        1.7,
        1.2,
        0.8,
        0.5,
    ]
    for n, (node_id, name) in enumerate(NODES):
        key = store.ensure_node(node_id, "serial", start)
        store.conn.execute(
            "UPDATE nodes SET name = ?, last_seen_ms = ?, fw = '1.2.0', mv_per_a_x10 = 660 WHERE node_key = ?",
            (name, now, key),
        )
        t = start
        while t + 3_600_000 <= now:
            batch = Batch()
            stop = min(now, t + 30 * 86_400_000)
            while t + 3_600_000 <= stop:
                hour = (t // 3_600_000 + 5) % 24
                watts = (900 if n == 0 else 350) * shape[hour]
                batch.add_energy(key, t, t + 3_600_000, int(watts * 1000))
                t += 3_600_000
            with store.lock:
                store.conn.execute("BEGIN IMMEDIATE")
                store._apply_rollups(batch)
                store.conn.execute("COMMIT")
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()


def prepare_accounts(db: Path) -> str:
    store = open_store(db)
    accounts = Accounts(store.conn, lambda: int(time.time() * 1000))
    if not accounts.count_admins():
        accounts.create_user("admin", PASSWORD, "admin", source="setup")
    user = accounts.verify("admin", PASSWORD)
    from local_ui.auth import Principal

    token = accounts.create_token(Principal(user["id"], "admin", "admin"), "bench", "viewer")["token"]
    store.close()
    return token


def start_server(db: Path, port: int, live: Path, log: Path) -> subprocess.Popen:
    # The log goes to a file: an unread pipe would fill and stall the server mid-benchmark.
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "ui", "--db", str(db), "--port", str(port), "--live", str(live)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
        env=os.environ | {"PYTHONPATH": str(ROOT)},
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"dashboard did not start: {log.read_text()[-2000:]}")


def load(port: int, token: str, path: str, clients: int, requests: int) -> dict:
    """`clients` threads, each `requests` sequential GETs on its own keep-alive connection."""
    lat: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients)

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        barrier.wait()
        for _ in range(requests):
            t0 = time.perf_counter()
            conn.request("GET", path, headers={"Authorization": f"Bearer {token}", "Accept-Encoding": "gzip"})
            resp = conn.getresponse()
            body = resp.read()
            mine.append(time.perf_counter() - t0)
            if resp.status != 200:
                with lock:
                    errors.append(f"{resp.status} {body[:200]!r}")
        conn.close()
        with lock:
            lat.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    lat.sort()
    ms = [x * 1000 for x in lat]
    return {
        "path": path,
        "requests": len(ms),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "p50_ms": round(statistics.median(ms), 1),
        "p95_ms": round(ms[math.ceil(0.95 * len(ms)) - 1], 1),
        "max_ms": round(ms[-1], 1),
        "throughput_rps": round(len(ms) / wall, 1),
    }


def cold(port: int, token: str, paths: tuple[str, ...], db: Path, rounds: int = 20) -> dict:
    """One request at a time, each right after ingest committed a reading: the cost of a cache miss."""
    store = open_store(db)
    ingest = Ingest(store, AnchoredClock(SystemClock(), 2000), commit_interval_ms=1)
    boot = (int(time.time()) + 7) & 0xFFFF
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    out: dict[str, list[float]] = {p: [] for p in paths}
    seq = 0
    for _ in range(rounds):
        for path in paths:
            frame = Reading(NODES[0][0], boot, seq, 1000 * (seq + 1), 1000, 4350, 2300, 5000, 139 * seq, 0)
            seq += 1
            ingest.feed("bench", encode_wire(frame))
            ingest.flush()
            t0 = time.perf_counter()
            conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
            resp = conn.getresponse()
            resp.read()
            out[path].append((time.perf_counter() - t0) * 1000)
            if resp.status != 200:
                raise SystemExit(f"{path}: {resp.status}")
    store.close()
    return {p: {"median_ms": round(statistics.median(v), 1), "max_ms": round(max(v), 1)} for p, v in out.items()}


def first_load_bytes(url: str) -> dict:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        cdp = page.context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        sizes: dict[str, dict] = {}
        urls: dict[str, str] = {}
        cdp.on("Network.responseReceived", lambda e: urls.__setitem__(e["requestId"], e["response"]["url"]))
        cdp.on(
            "Network.loadingFinished", lambda e: sizes.__setitem__(e["requestId"], {"encoded": e["encodedDataLength"]})
        )
        page.goto(url + "/")
        page.wait_for_selector("input[name=username]")
        page.wait_for_load_state("networkidle")
        login_bytes = sum(s["encoded"] for s in sizes.values())
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", PASSWORD)
        page.click("button:has-text('Log in')")
        page.wait_for_selector("[data-testid=live-total]")
        page.wait_for_timeout(1500)
        total = sum(s["encoded"] for s in sizes.values())
        files = sorted({urls[r] for r in sizes if r in urls and "/static/" in urls[r]})
        browser.close()
    raw = 0
    for u in files:
        raw += (ROOT / "local_ui" / "static" / u.split("/static/", 1)[1]).stat().st_size
    return {
        "login_page_bytes": login_bytes,
        "through_overview_bytes": total,
        "static_files": len(files),
        "static_uncompressed_bytes": raw,
    }


def _latency_stats(xs: list[float]) -> dict:
    """Median, p95 and max of latencies in ms, rounded to whole ms."""
    xs = sorted(xs)
    return {
        "median_ms": round(statistics.median(xs)),
        "p95_ms": round(xs[math.ceil(0.95 * len(xs)) - 1]),
        "max_ms": round(xs[-1]),
    }


def _watch_live_power(url: str, stream: Callable[[], None]) -> dict[str, int]:
    """Log in to the Overview in Chromium and run `stream`: when each text of the live node's power first showed."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        page.goto(url + "/")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", PASSWORD)
        page.click("button:has-text('Log in')")
        sel = f"[data-node='{LIVE_NODE}'] [data-testid=node-power]"
        page.wait_for_selector(sel, timeout=15000)
        page.evaluate(
            """sel => {
            window.__seen = {};
            const el = document.querySelector(sel);
            new MutationObserver(() => {
                const t = el.textContent.trim();
                if (!(t in window.__seen)) window.__seen[t] = Date.now();
            }).observe(el, { childList: true, subtree: true, characterData: true });
        }""",
            sel,
        )
        stream()
        page.wait_for_timeout(2500)
        seen = page.evaluate("() => window.__seen")
        browser.close()
    return seen


def frame_to_screen(url: str, db: Path, live: Path, frames: int) -> dict:
    """A node streaming at 1 Hz into a real Ingest; when does each frame's value reach the screen?"""
    store = open_store(db)
    ingest = Ingest(store, AnchoredClock(SystemClock(), 2000), commit_interval_ms=30_000, live=LiveBoard(live))
    lock = threading.Lock()
    stop = threading.Event()
    fed: dict[int, float] = {}  # watts -> wall time the frame was handed to ingest
    on_disk: dict[int, float] = {}  # watts -> wall time live.json first held it

    def ticker():  # the daemon's ingest loop ticks at least every 250 ms; 100 ms here
        while not stop.is_set():
            with lock:
                ingest.tick()
            stop.wait(0.1)

    def watch_file():
        seen = None
        while not stop.is_set():
            try:
                st = os.stat(live)
                if (st.st_ino, st.st_mtime_ns) != seen:
                    seen = (st.st_ino, st.st_mtime_ns)
                    w = round(json.loads(live.read_text())["nodes"][LIVE_NODE]["power_w"])
                    on_disk.setdefault(w, time.time())
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.002)

    node = {"boot": int(time.time()) & 0xFFFF, "seq": 0, "energy_mwh": 0}  # a fresh boot each run

    def feeder(count: int, first_watts: int):
        t_next = time.monotonic()
        for i in range(count):
            watts = first_watts + 17 * i
            node["energy_mwh"] += round(watts / 3.6)  # one second at this power
            seq = node["seq"]
            node["seq"] += 1
            frame = Reading(
                LIVE_NODE, node["boot"], seq, 1000 * (seq + 1), 1000, 4350, 2300, watts * 10, node["energy_mwh"], 0
            )
            with lock:
                fed[watts] = time.time()
                ingest.feed("bench", encode_wire(frame))
            t_next += 1.0
            time.sleep(max(0.0, t_next - time.monotonic()))

    threading.Thread(target=ticker, daemon=True).start()
    threading.Thread(target=watch_file, daemon=True).start()
    feeder(3, 100)  # the node exists before the page opens

    def stream_measured():
        fed.clear()
        feeder(frames, 1000)

    seen = _watch_live_power(url, stream_measured)
    stop.set()
    store.close()
    screen = [(seen[f"{w:,} W"] / 1000 - t) * 1000 for w, t in fed.items() if f"{w:,} W" in seen]
    disk = [(on_disk[w] - t) * 1000 for w, t in fed.items() if w in on_disk]
    return {
        "frames": len(fed),
        "shown": len(screen),
        "in_live_file": len(disk),
        "frame_to_screen": _latency_stats(screen),
        "baseline_frame_to_live_file": _latency_stats(disk),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--requests", type=int, default=50, help="requests per client per endpoint")
    ap.add_argument("--frames", type=int, default=30, help="frames streamed at 1 Hz for frame-to-screen")
    ap.add_argument("--db", type=Path, help="reuse this history database (created if missing)")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    if not 1 <= args.clients <= 64 or not 1 <= args.requests <= 1000:
        ap.error("--clients 1..64 and --requests 1..1000 keep the load bounded")
    tmp = Path(tempfile.mkdtemp(prefix="bench-ui-"))
    db = args.db or tmp / "history.db"
    t0 = time.perf_counter()
    if not db.exists():
        print(f"filling 4 years of history into {db} …", flush=True)
        fill_history(db)
    fill_s = time.perf_counter() - t0
    token = prepare_accounts(db)
    live = tmp / "live.json"
    port = free_port()
    proc = start_server(db, port, live, tmp / "server.log")
    url = f"http://127.0.0.1:{port}"
    try:
        for path in ("/healthz", "/api/v1/overview", "/api/v1/usage?period=year"):  # warm caches once
            load(port, token, path, 1, 2)
        api = [
            load(port, token, p, args.clients, args.requests)
            for p in (
                "/healthz",
                "/api/v1/overview",
                "/api/v1/usage?period=year",
                "/api/v1/usage?period=year&resolution=day",
            )
        ]
        misses = cold(port, token, ("/healthz", "/api/v1/overview", "/api/v1/usage?period=year"), db)
        size = first_load_bytes(url)
        live_fig = frame_to_screen(url, db, live, args.frames)
    finally:
        proc.terminate()
        proc.wait(10)
    result = {
        "machine": {
            "python": platform.python_version(),
            "cpu": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
        },
        "history": {
            "years": 4,
            "nodes": len(NODES),
            "db_mb": round(db.stat().st_size / 1e6, 1),
            "fill_s": round(fill_s, 1),
        },
        "clients": args.clients,
        "api": api,
        "cache_miss_sequential": misses,
        "first_load": size,
        "live": live_fig,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
