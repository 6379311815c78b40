"""Cloud sync throughput on loopback, each figure beside a baseline measured in the same run.

1. Drain after reconnect: 10,000 events queued in the gateway's outbox while the cloud was down;
   `powergw-cloud serve` (SQLite) starts; time until the outbox is empty. Baseline: the same
   batches through the same SyncClient to a trivial Flask endpoint on waitress that parses the
   JSON and acknowledges every key (the HTTP + JSON floor, no database on either side).
2. Server ingest: G gateways (threads, one token and session each) post batches at once for a
   bounded time and count. Baseline: the same load against the trivial endpoint.

    .venv/bin/python benchmarks/bench_sync.py [--events 10000] [--gateways 16] [--seconds 10] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
SERVER = ROOT / "cloud_sync" / "server"  # the reference cloud's own distribution, importable from the checkout
sys.path[:0] = [str(ROOT), str(SERVER)]

from cloud_sync.client import SyncClient  # noqa: E402
from cloud_sync.outbox import Outbox  # noqa: E402
from cloud_sync.sync import Syncer, SyncPolicy  # noqa: E402
from gateway.app import open_store  # noqa: E402
from gateway.store import transaction  # noqa: E402
from powergw_cloud.store import CloudStore  # noqa: E402

BASELINE_APP = """
import sys
from flask import Flask, jsonify, request
import waitress
app = Flask("baseline")
@app.post("/v1/events")
def events():
    data = request.get_json()
    return jsonify(new=[e["key"] for e in data["events"]], duplicate=[])
@app.get("/v1/changes")
def changes():
    return jsonify(changes=[], cursor=0, more=False)
@app.get("/v1/health")
def health():
    return "ok"
waitress.serve(app, host="127.0.0.1", port=int(sys.argv[1]), threads=8, _quiet=True)
"""


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd: list[str], port: int) -> subprocess.Popen:
    path = os.pathsep.join(filter(None, (str(ROOT), str(SERVER), os.environ.get("PYTHONPATH"))))
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=dict(os.environ, PYTHONPATH=path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/v1/health", timeout=1).ok:
                return proc
        except requests.RequestException:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{cmd[:4]} did not start")


def cloud_server(db: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    return start(
        [sys.executable, "-m", "powergw_cloud", "serve", "--db", db, "--port", str(port), "--threads", "8"], port
    ), port


def baseline_server() -> tuple[subprocess.Popen, int]:
    port = free_port()
    return start([sys.executable, "-c", BASELINE_APP, str(port)], port), port


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(10)


def drain(url: str, token: str, events: int, batch: int, work: Path) -> dict:
    store = open_store(work / f"gw-{uuid.uuid4().hex[:6]}.db")
    with transaction(store.conn):
        for i in range(events):
            Outbox.enqueue(
                store.conn, "node_health", {"node": f"n{i % 4}", "frames_ok": i, "frames_lost": 0, "reboots": 0}
            )
    client = SyncClient(requests.Session(), url, token)
    syncer = Syncer(
        Outbox(store.conn),
        client,
        clock_ms=lambda: time.time_ns() // 1_000_000,
        rand=random.random,
        alert=lambda *a, **k: None,
        policy=SyncPolicy(batch_size=batch),
    )
    t = time.perf_counter()
    result = syncer.push()
    elapsed = time.perf_counter() - t
    assert syncer.outbox.depth() == 0 and result.acknowledged == events, result
    store.close()
    return {"events": events, "batch": batch, "seconds": elapsed, "events_per_s": events / elapsed}


def load(url: str, tokens: list[str], seconds: float, batch: int, max_batches: int) -> dict:
    sent = [0] * len(tokens)
    deadline = time.monotonic() + seconds

    def gateway(i: int) -> None:
        with requests.Session() as s:
            for _ in range(max_batches):
                if time.monotonic() > deadline:
                    return
                body = {
                    "events": [
                        {"key": str(uuid.uuid4()), "kind": "node_health", "created_ms": 1, "payload": {"i": n}}
                        for n in range(batch)
                    ]
                }
                r = s.post(url + "/v1/events", json=body, headers={"Authorization": f"Bearer {tokens[i]}"}, timeout=30)
                r.raise_for_status()
                sent[i] += len(r.json()["new"])

    threads = [threading.Thread(target=gateway, args=(i,)) for i in range(len(tokens))]
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    elapsed = time.perf_counter() - t
    return {
        "gateways": len(tokens),
        "batch": batch,
        "seconds": elapsed,
        "events": sum(sent),
        "events_per_s": sum(sent) / elapsed,
    }


def run(events: int, gateways: int, seconds: float, batch: int) -> dict:
    work = Path(tempfile.mkdtemp(prefix="powergw-bench-sync-"))
    db = str(work / "cloud.db")
    store = CloudStore(db)
    codes = [store.add_household(f"h{i}")[1] for i in range(gateways + 1)]
    store.close()
    out: dict = {"host": f"{platform.machine()} {os.cpu_count()} CPUs, Python {platform.python_version()}"}

    proc, port = cloud_server(db)
    try:
        url = f"http://127.0.0.1:{port}"
        tokens = [SyncClient(requests.Session(), url).register(c, "bench")["token"] for c in codes]
        out["drain"] = drain(url, tokens[0], events, batch, work)
        out["ingest"] = load(url, tokens[1:], seconds, 100, 10_000)
        check = CloudStore(db)
        rows, distinct = check.event_counts()
        check.close()
        assert rows == distinct == events + out["ingest"]["events"], (rows, distinct)
    finally:
        stop(proc)

    proc, port = baseline_server()
    try:
        url = f"http://127.0.0.1:{port}"
        out["drain_baseline"] = drain(url, "t", events, batch, work)
        out["ingest_baseline"] = load(url, ["t"] * gateways, seconds, 100, 10_000)
    finally:
        stop(proc)
    return out


def report(r: dict) -> str:
    d, db, i, ib = r["drain"], r["drain_baseline"], r["ingest"], r["ingest_baseline"]
    return "\n".join(
        [
            f"host: {r['host']}",
            "| measurement | powergw | baseline (trivial Flask endpoint) | ratio |",
            "| --- | ---: | ---: | ---: |",
            f"| drain {d['events']} events after reconnect (batches of {d['batch']}) | {d['seconds']:.2f} s = "
            f"{d['events_per_s']:,.0f} ev/s "
            f"| {db['seconds']:.2f} s = {db['events_per_s']:,.0f} ev/s | "
            f"{db['events_per_s'] / d['events_per_s']:.1f}x slower |",
            f"| server ingest, {i['gateways']} gateways at once, batches of {i['batch']} | {i['events_per_s']:,.0f} "
            f"ev/s ({i['events']} in {i['seconds']:.1f} s) "
            f"| {ib['events_per_s']:,.0f} ev/s | {ib['events_per_s'] / i['events_per_s']:.1f}x slower |",
        ]
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=10_000)
    ap.add_argument("--gateways", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=10.0, help="bound on the ingest load's duration")
    ap.add_argument("--batch", type=int, default=200, help="drain batch size (the [cloud] batch_size default)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    result = run(args.events, args.gateways, args.seconds, args.batch)
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
