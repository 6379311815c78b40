"""Resident memory of the whole gateway as it runs on a Pi: `powergw run --no-ui` (ingest from a
serial port, every periodic job, the theft model scored by onnxruntime) and `powergw ui` (the
dashboard), two processes as deploy/ installs them (with the units' MALLOC_* settings).

A database with `--history-days` of simulated history is made first (`powergw demo` fills it);
then `powergw simulate` streams one node through a pair of pseudo-terminals into the daemon, the
dashboard is used the way a household's phone uses it (one login, then every tab's API calls, every
5 s), and both processes' VmRSS / VmHWM are sampled from /proc until the daemon's first
`theft_score` run (120 s after start) is over. Baseline, in the same run: a bare interpreter. The
goal (issue 5): the whole gateway under 150 MB.

    .venv/bin/python benchmarks/bench_gateway_rss.py [--seconds 170] [--history-days 36] [--json]
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tty
import urllib.request
from pathlib import Path


def status_kb(pid: int) -> dict[str, int]:
    out = {}
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":")
                out[key] = int(value.split()[0])
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pty_pair():
    master, slave = os.openpty()
    tty.setraw(slave)
    return master, slave, os.ttyname(slave)


def relay(src: int, dst: int, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            data = os.read(src, 4096)
        except OSError:
            return
        while data:
            data = data[os.write(dst, data) :]


# What the dashboard's tabs ask for (local_ui/static/pages/, usage.js), besides its static files.
PAGES = (
    "/healthz",
    "/",
    "/api/v1/openapi.json",
    "/api/v1/session",
    "/api/v1/overview",
    "/api/v1/live/snapshot",
    "/api/v1/usage?period=month",
    "/api/v1/bill",
    "/api/v1/balance",
    "/api/v1/payments",
    "/api/v1/bills",
    "/api/v1/budget",
    "/api/v1/meter-readings",
    "/api/v1/alerts",
    "/api/v1/nodes",
    "/api/v1/model",
    "/api/v1/settings",
)


def login(base: str, password: str) -> urllib.request.OpenerDirector:
    """A logged-in browser: the login cookie and CSRF token from GET /session, then POST /session."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    deadline = time.monotonic() + 30
    while True:
        try:
            csrf = json.load(opener.open(f"{base}/api/v1/session", timeout=5))["csrf"]
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    req = urllib.request.Request(
        f"{base}/api/v1/session",
        method="POST",
        data=json.dumps({"username": "admin", "password": password}).encode(),
        headers={"Content-Type": "application/json", "X-CSRF-Token": csrf},
    )
    opener.open(req, timeout=30).read()
    return opener


def unit_malloc_env(unit: str) -> dict[str, str]:
    """The glibc MALLOC_* variables the deploy/ systemd unit sets, so the processes run as installed."""
    path = Path(__file__).resolve().parent.parent / "deploy" / "systemd" / unit
    env = {}
    for line in path.read_text().splitlines():
        if line.startswith("Environment="):
            for item in line.removeprefix("Environment=").split():
                key, _, value = item.partition("=")
                if key.startswith("MALLOC_"):
                    env[key] = value
    return env


def _bare_rss_kb(py: str) -> int:
    """The resident size of a bare interpreter, the yardstick for the daemon's."""
    bare = subprocess.Popen([py, "-c", "import time; time.sleep(3)"])
    time.sleep(1.0)
    baseline_kb = status_kb(bare.pid)["VmRSS"]
    bare.wait()
    return baseline_kb


def _demo_database(py: str, env: dict, tmp: Path, history_days: int) -> tuple[Path, Path]:
    """(database, config): `history_days` of simulated history (`powergw demo`) in `tmp`, a daemon config on it."""
    subprocess.run(
        [
            py,
            "-m",
            "gateway.cli",
            "demo",
            "--data-dir",
            str(tmp),
            "--port",
            str(free_port()),
            "--history-days",
            str(history_days),
            "--duration",
            "1",
        ],
        check=True,
        env=env,
        capture_output=True,
        timeout=900,
    )
    db = tmp / "powergw.db"
    cfg = tmp / "config.toml"
    cfg.write_text(f'[gateway]\ndb = "{db}"\n[ui]\nenabled = false\n[backup]\ndir = "{tmp / "backups"}"\n')
    return db, cfg


def _start_processes(
    py: str, env: dict, cfg: Path, db: Path, port: int, gw_path: str, node_path: str, seconds: float, daemon_log: Path
) -> tuple:
    """Start the daemon on `gw_path`, the dashboard on `port` and a node onto `node_path`, as the units set malloc."""
    daemon_env, ui_env = unit_malloc_env("powergw.service"), unit_malloc_env("powergw-ui.service")
    daemon = subprocess.Popen(
        [py, "-m", "gateway.cli", "run", "--config", str(cfg), "--serial", gw_path],
        env=env | daemon_env,
        stderr=daemon_log.open("w"),
    )
    ui = subprocess.Popen(
        [py, "-m", "gateway.cli", "ui", "--db", str(db), "--port", str(port)],
        env=env | ui_env,
        stderr=subprocess.DEVNULL,
    )
    sim = subprocess.Popen(
        [
            py,
            "-m",
            "gateway.cli",
            "simulate",
            "--out",
            node_path,
            "--speed",
            "1",
            "--duration",
            str(int(seconds) + 30),
        ],
        stderr=subprocess.DEVNULL,
    )
    return daemon, ui, sim, daemon_env, ui_env


def _browse_and_sample(port: int, password: str, seconds: float, daemon, ui) -> tuple[list, int, list[str]]:
    """Open every page every 5 s for `seconds`, sampling both processes' memory: (samples, pages ok, page errors)."""
    samples, pages_ok, page_errors = [], 0, []
    started = time.monotonic()
    browser = login(f"http://127.0.0.1:{port}", password)
    while time.monotonic() - started < seconds:
        time.sleep(5.0)
        for page in PAGES:
            try:
                browser.open(f"http://127.0.0.1:{port}{page}", timeout=30).read()
                pages_ok += 1
            except OSError as err:  # counted and shown: a dashboard that fails is not a light one
                page_errors.append(f"{page}: {err}")
        samples.append((time.monotonic() - started, status_kb(daemon.pid), status_kb(ui.pid)))
    return samples, pages_ok, page_errors


def _theft_results(db: Path, daemon_log: Path) -> tuple[dict | None, list[float]]:
    """The theft job's last status in the database and the peaks of its processes the daemon logged."""
    import sqlite3

    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT value FROM meta WHERE key = 'theft.status'").fetchone()
    theft_status = json.loads(row[0]) if row else None
    # The theft job runs in a child process of its own; the daemon logs the largest one's peak.
    job_peaks = [
        float(line.rsplit("so far: ", 1)[1].split()[0])
        for line in daemon_log.read_text().splitlines()
        if "job theft_score: done in its own process" in line
    ]
    return theft_status, job_peaks


def _sample_gateway(args: argparse.Namespace, py: str, env: dict, password: str) -> tuple:
    """Run the daemon, the dashboard and a simulated node on a demo database, sampling their memory every 5 s
    while a browser opens every page: (samples, pages answered, page errors, theft status, theft job peaks,
    daemon malloc env, dashboard malloc env)."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        db, cfg = _demo_database(py, env, tmp, args.history_days)
        node_m, node_s, node_path = pty_pair()
        gw_m, gw_s, gw_path = pty_pair()
        stop = threading.Event()
        threading.Thread(target=relay, args=(node_m, gw_m, stop), daemon=True).start()
        port = free_port()
        daemon_log = tmp / "daemon.log"
        daemon, ui, sim, daemon_env, ui_env = _start_processes(
            py, env, cfg, db, port, gw_path, node_path, args.seconds, daemon_log
        )
        try:
            samples, pages_ok, page_errors = _browse_and_sample(port, password, args.seconds, daemon, ui)
        finally:
            for p in (sim, ui, daemon):
                p.terminate()
            for p in (sim, ui, daemon):
                p.wait(timeout=30)
            stop.set()
            for fd in (node_m, node_s, gw_m, gw_s):
                os.close(fd)
        theft_status, job_peaks = _theft_results(db, daemon_log)
    return samples, pages_ok, page_errors, theft_status, job_peaks, daemon_env, ui_env


def _print_text(result: dict, pages_ok: int, page_errors: list[str]) -> None:
    """The figures for a person."""
    print(f"bare interpreter          {result['baseline_bare_interpreter_mb']:7.1f} MB")
    print(
        f"daemon (run --no-ui) peak {result['daemon_peak_mb']:7.1f} MB  ({result['daemon_vs_bare']}x bare)  last "
        f"{result['daemon_last_rss_mb']} MB"
    )
    print(f"dashboard (ui) peak       {result['ui_peak_mb']:7.1f} MB  last {result['ui_last_rss_mb']} MB")
    print(f"whole gateway peak        {result['whole_gateway_peak_mb']:7.1f} MB  (goal < 150 MB)")
    print(
        f"theft job process peak    {result['theft_job_process_peak_mb'] or 0:7.1f} MB  (hourly, "
        "a few seconds, then gone)"
    )
    print(f"theft job: {result['theft_status'] or 'did not run'}")
    malloc = result["malloc_env"]
    print(
        f"malloc settings from deploy/systemd: daemon {malloc['daemon'] or 'none'}, dashboard {malloc['ui'] or 'none'}"
    )
    print(f"dashboard pages answered: {pages_ok}; failed: {len(page_errors)} {page_errors[:3]}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=170.0, help="how long to sample (the theft job runs at 120 s)")
    ap.add_argument(
        "--history-days", type=int, default=36, help="days of history in the database (the theft job reads 36)"
    )
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    py = sys.executable
    password = "bench-password-1"
    env = {**os.environ, "POWERGW_ADMIN_PASSWORD": password}

    baseline_kb = _bare_rss_kb(py)
    samples, pages_ok, page_errors, theft_status, job_peaks, daemon_env, ui_env = _sample_gateway(
        args, py, env, password
    )

    daemon_peak = max(s[1]["VmHWM"] for s in samples) / 1024
    ui_peak = max(s[2]["VmHWM"] for s in samples) / 1024
    result = {
        "baseline_bare_interpreter_mb": round(baseline_kb / 1024, 1),
        "daemon_peak_mb": round(daemon_peak, 1),
        "daemon_last_rss_mb": round(samples[-1][1]["VmRSS"] / 1024, 1),
        "ui_peak_mb": round(ui_peak, 1),
        "ui_last_rss_mb": round(samples[-1][2]["VmRSS"] / 1024, 1),
        "whole_gateway_peak_mb": round(daemon_peak + ui_peak, 1),
        "theft_job_process_peak_mb": job_peaks[-1] if job_peaks else None,
        "daemon_vs_bare": round(daemon_peak / (baseline_kb / 1024), 1),
        "pages_answered": pages_ok,
        "page_errors": page_errors[:5],
        "theft_job_ran": theft_status is not None,
        "theft_status": theft_status and theft_status.get("status"),
        "seconds": args.seconds,
        "malloc_env": {"daemon": daemon_env, "ui": ui_env},
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        _print_text(result, pages_ok, page_errors)
    if page_errors or theft_status is None:
        return 1  # the figures above are not of a working gateway
    return 0


if __name__ == "__main__":
    sys.exit(main())
