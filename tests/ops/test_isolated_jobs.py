"""Isolated jobs: the daemon runs heavy periodic jobs (the theft model) in a child process of their
own, so onnxruntime and the forest leave its memory when they end. Real processes, a real SQLite file."""

from __future__ import annotations

import logging
import os
import time

from gateway.app import JOBS, JobSpec, open_store
from gateway.clock import ManualClock
from gateway.config import parse_config
from gateway.daemon import build_gateway

NOW_MS = 1_790_000_000_000


def record_pid(ctx) -> None:
    """A job that leaves what it saw in the database."""
    ctx.store.set_meta("test.job", f"{os.getpid()} {ctx.now_ms()} {ctx.config.gateway.timezone} {sorted(ctx.extras)}")


def fail(ctx) -> None:
    raise RuntimeError("the job broke")


def sleep_long(ctx) -> None:
    time.sleep(30)


def _gateway(tmp_path):
    db = tmp_path / "powergw.db"
    config = parse_config({"gateway": {"db": str(db), "timezone": "Asia/Kolkata"}})
    return build_gateway(
        config, db_path=db, serial_ports=[], clock=ManualClock(NOW_MS), runtime_dir=tmp_path / "run", jobs=()
    ), db


def test_an_isolated_job_runs_in_its_own_process_with_the_daemons_clock_and_config(tmp_path):
    gw, db = _gateway(tmp_path)
    try:
        gw._run_job(JobSpec("record", f"{__name__}:record_pid", seconds=60, isolated=True, timeout_s=60))
        store = open_store(db)
        pid, now_ms, tz, extras = store.get_meta("test.job").split(" ", 3)
        store.close()
        assert int(pid) != os.getpid()
        assert NOW_MS <= int(now_ms) < NOW_MS + 60_000  # the daemon's clock, not the wall clock
        assert tz == "Asia/Kolkata" and extras == "[]"
    finally:
        gw.ingest.store.close()


def test_a_failing_or_hanging_isolated_job_is_logged_and_the_daemon_goes_on(tmp_path, caplog):
    gw, db = _gateway(tmp_path)
    caplog.set_level(logging.ERROR, logger="gateway.daemon")
    try:
        gw._run_job(JobSpec("fail", f"{__name__}:fail", seconds=60, isolated=True, timeout_s=60))
        assert "job fail failed in its own process (exit code 1" in caplog.text
        t0 = time.monotonic()
        gw._run_job(JobSpec("hang", f"{__name__}:sleep_long", seconds=60, isolated=True, timeout_s=3))
        assert time.monotonic() - t0 < 20
        assert "job hang: still running after 3 s, stopped" in caplog.text
        gw._run_job(JobSpec("record", f"{__name__}:record_pid", seconds=60, isolated=True, timeout_s=60))
        store = open_store(db)
        assert store.get_meta("test.job")  # and the next run works
        store.close()
    finally:
        gw.ingest.store.close()


def test_the_theft_jobs_are_isolated():
    isolated = {spec.name for spec in JOBS if spec.isolated}
    assert isolated == {"theft_score", "theft_retrain"}
