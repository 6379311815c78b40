"""/metrics: Prometheus text from the real database, served by a real WSGI server on loopback."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import wsgiref.simple_server
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from gateway.app import open_store
from gateway.config import ConfigError, parse_config
from gateway.ops.metrics import make_wsgi_app, render
from tests.support.ingest import NODE, T0, make_ingest, reading_wire


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "powergw.db"
    ingest, clock = make_ingest(path)
    for seq in list(range(50)) + list(range(55, 60)):  # 5 frames lost
        ingest.feed("p", reading_wire(seq, seq * 300))
        clock.advance(1000)
    ingest.flush()
    store = ingest.store
    store.conn.execute("""UPDATE nodes SET rejected = '{"counter_backwards": 2, "implausible": 1}'""")
    store.conn.execute(
        "INSERT INTO alerts (kind, severity, message, state, created_ms, last_seen_ms) "
        "VALUES ('node_offline', 'warning', 'x', 'open', 1, 1), ('node_offline', 'critical', 'y', 'open', 1, 1), "
        "('node_offline', 'warning', 'z', 'resolved', 1, 1)"
    )
    store.conn.execute("INSERT INTO sync_state (key, value) VALUES ('last_error', 'boom'), ('last_error_ms', '5')")
    from cloud_sync.outbox import Outbox

    for i in range(3):
        Outbox.enqueue(store.conn, "daily_summary", {"i": i})
    # One event the cloud refused for good, one pulled change the gateway rejected.
    box = Outbox(store.conn)
    refused = Outbox.enqueue(store.conn, "alert", {"kind": "bad"})
    box.dead_letter([e for e in box.due(T0 * 2, 10) if e.key == refused], 422, "HTTP 422: unknown alert kind", now_ms=7)
    store.conn.execute(
        "INSERT INTO sync_inbox (seq, type, data, received_ms, status, detail) "
        "VALUES (1, 'model_published', '{}', 6, 'rejected', 'SHA-256 mismatch')"
    )
    store.close()
    return path


def samples(text: str) -> dict:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_metrics_report_every_figure_the_issue_asks_for(db, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "live.json").write_text(json.dumps({"ts_ms": T0, "nodes": {NODE: {"power_w": 812.5}}}))
    s = samples(render(db, run).decode())
    node = (("node", NODE),)
    assert s[("powergw_frames_accepted_total", node)] == 55
    assert s[("powergw_frames_lost_total", node)] == 5
    assert s[("powergw_frames_rejected_total", (("node", NODE), ("reason", "counter_backwards")))] == 2
    assert s[("powergw_frames_rejected_total", (("node", NODE), ("reason", "implausible")))] == 1
    assert s[("powergw_node_last_frame_age_seconds", node)] > 0
    assert s[("powergw_node_power_watts", node)] == 812.5
    assert s[("powergw_database_bytes", (("file", "db"),))] > 0
    assert s[("powergw_outbox_depth", ())] == 3
    assert s[("powergw_sync_failing", ())] == 1
    assert s[("powergw_sync_events_refused_total", ())] == 1
    assert s[("powergw_sync_changes_rejected_total", ())] == 1
    assert s[("powergw_sync_last_error_timestamp_seconds", ())] == 0.005
    assert s[("powergw_open_alerts", (("severity", "warning"),))] == 1
    assert s[("powergw_open_alerts", (("severity", "critical"),))] == 1
    assert s[("powergw_model_info", (("source", "shipped"), ("version", "shipped")))] == 1
    assert s[("powergw_database_up", ())] == 1


def test_sync_errors_are_counters_of_rows_nothing_deletes(db):
    """The sync error counters count outbox_dead and rejected sync_inbox rows; they stay counters
    only while no code deletes those rows or moves a change out of 'rejected'."""
    types = {f.name: f.type for f in text_string_to_metric_families(render(db).decode())}
    assert types["powergw_sync_events_refused"] == types["powergw_sync_changes_rejected"] == "counter"
    assert "powergw_outbox_dead_letters" not in types  # the old gauge of the same rows
    repo = Path(__file__).resolve().parents[2]
    for path in [
        *repo.glob("gateway/**/*.py"),
        *repo.glob("cloud_sync/**/*.py"),
        *repo.glob("local_ui/**/*.py"),
        *repo.glob("edge_model/**/*.py"),
    ]:
        text = path.read_text()
        assert not re.search(r"DELETE\s+FROM\s+(outbox_dead|sync_inbox)\b", text, re.I), path
        for update in re.findall(r"UPDATE\s+sync_inbox\b[^\"]*", text, re.I):
            assert "status = 'pending'" in update, (path, update)  # only pending changes move on


def test_metrics_config_section_names_the_bad_key():
    section = parse_config({"metrics": {}})["metrics"]
    assert (section.enabled, section.host, section.port) == (True, "0.0.0.0", 9101)
    assert parse_config({"metrics": {"host": "::1"}})["metrics"].host == "::1"
    for values, message in (
        ({"host": "lan"}, "[metrics] host = 'lan': expected an IP address"),
        ({"host": "192.168.1.300"}, "[metrics] host = '192.168.1.300'"),
        ({"port": 0}, "[metrics] port = 0: expected a whole number from 1 to 65535"),
        ({"port": "9101"}, "[metrics] port = '9101'"),
        ({"enabled": "yes"}, "[metrics] enabled = 'yes': expected true or false"),
        ({"bind": "0.0.0.0"}, "[metrics] unknown key 'bind'"),
    ):
        with pytest.raises(ConfigError, match=re.escape(message)):
            parse_config({"metrics": values})


def test_unreadable_database_reports_down_not_an_error(tmp_path):
    s = samples(render(tmp_path / "missing.db").decode())
    assert s == {("powergw_database_up", ()): 0}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_wsgi_app_mounts_in_a_real_server_and_sees_new_data(db):
    server = wsgiref.simple_server.make_server("127.0.0.1", 0, make_wsgi_app(db), handler_class=_Quiet)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/metrics"
        r = requests.get(url, timeout=5)
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain")
        assert samples(r.text)[("powergw_frames_accepted_total", (("node", NODE),))] == 55
        store = open_store(db)
        store.conn.execute("UPDATE nodes SET frames_ok = 56")
        store.close()
        assert samples(requests.get(url, timeout=5).text)[("powergw_frames_accepted_total", (("node", NODE),))] == 56
    finally:
        server.shutdown()


class _Quiet(wsgiref.simple_server.WSGIRequestHandler):
    def log_message(self, *args):
        pass


def powergw(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gateway.cli", *args], capture_output=True, text=True, timeout=timeout)


def scrape_served(cmd: list[str], port: int) -> requests.Response:
    """Start `cmd` (a server), GET /metrics from it on 127.0.0.1:`port`, stop it."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                return requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2)
            except requests.ConnectionError:
                assert proc.poll() is None, proc.stderr.read().decode()
                assert time.monotonic() < deadline, "server did not answer in 20 s"
                time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(10)


def metrics_config(tmp_path, **values) -> Path:
    path = tmp_path / "config.toml"
    path.write_text("[metrics]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items()))
    return path


def test_metrics_command_prints_and_serves(db):
    out = powergw("metrics", "--db", str(db))
    assert out.returncode == 0 and "powergw_outbox_depth 3.0" in out.stdout
    port = free_port()
    r = scrape_served(
        [sys.executable, "-m", "gateway.cli", "metrics", "--db", str(db), "--port", str(port), "--host", "127.0.0.1"],
        port,
    )
    assert "powergw_frames_lost_total" in r.text


def test_serve_listens_where_the_config_says(db, tmp_path):
    """What powergw-metrics.service runs: `--serve` on [metrics] host and port, from the real database file."""
    port = free_port()
    config = metrics_config(tmp_path, host="127.0.0.1", port=port)
    r = scrape_served(
        [sys.executable, "-m", "gateway.cli", "metrics", "--serve", "-c", str(config), "--db", str(db)], port
    )
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain")
    s = samples(r.text)
    assert s[("powergw_frames_accepted_total", (("node", NODE),))] == 55
    assert s[("powergw_sync_events_refused_total", ())] == 1


def test_serve_disabled_in_the_config_exits_cleanly(db, tmp_path):
    port = free_port()
    out = powergw("metrics", "--serve", "-c", str(metrics_config(tmp_path, enabled=False, port=port)), "--db", str(db))
    assert out.returncode == 0 and "[metrics] enabled = false" in out.stderr
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))  # nothing took the port


def test_serve_errors_name_the_setting(db, tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        config = metrics_config(tmp_path, host="127.0.0.1", port=port)
        out = powergw("metrics", "--serve", "-c", str(config), "--db", str(db))
        assert out.returncode == 2
        assert (
            f"cannot listen on 127.0.0.1:{port}" in out.stderr
            and f"change [metrics] host and port ({config})" in out.stderr
        )
        out = powergw("metrics", "--port", str(port), "--host", "127.0.0.1", "--db", str(db))
        assert out.returncode == 2 and "change --host and --port, or stop what is using that port" in out.stderr
    out = powergw(
        "metrics", "--port", str(free_port()), "--host", "192.0.2.1", "--db", str(db)
    )  # not this machine's address
    assert (
        out.returncode == 2
        and "cannot listen on 192.0.2.1" in out.stderr
        and out.stderr.rstrip().endswith("change --host and --port")
    )
    out = powergw("metrics", "--host", "pi.local", "--db", str(db))
    assert out.returncode == 2 and "--host = 'pi.local': expected an IP address" in out.stderr
    out = powergw("metrics", "--port", "70000", "--db", str(db))
    assert out.returncode == 2 and "--port = 70000: expected a whole number from 1 to 65535" in out.stderr
    out = powergw("metrics", "--serve", "-c", str(metrics_config(tmp_path, host="everywhere")), "--db", str(db))
    assert out.returncode == 2 and "[metrics] host = 'everywhere'" in out.stderr


def _read_only_mount_prefix(tmp_path) -> list[str] | None:
    """A command prefix running its tail in a mount namespace where `tmp_path/data` is read-only
    (as powergw-metrics.service sees /var/lib/powergw), or None where namespaces are not allowed."""
    if shutil.which("unshare") is None:
        return None
    data = tmp_path / "data"
    for flags in (["-m"], ["-r", "-m"]):  # root, or an unprivileged user namespace
        probe = subprocess.run(
            ["unshare", *flags, "sh", "-c", f'mount --bind -o ro "{data}" "{data}" && ! touch "{data}/x"'],
            capture_output=True,
            timeout=10,
        )
        if probe.returncode == 0:
            return ["unshare", *flags, "sh", "-c", f'mount --bind -o ro "{data}" "{data}" && exec "$0" "$@"']
    return None


def test_reads_a_live_database_on_a_read_only_file_system(db, tmp_path):
    """powergw-metrics.service has no write access to /var/lib/powergw. While another process has
    the database open (the daemon), SQLite reads it, WAL included, through a read-only -shm; once
    the last writer closes it cleanly the -wal is gone and the page says powergw_database_up 0, with
    a log line saying why."""
    data = tmp_path / "data"
    data.mkdir()
    path = data / "powergw.db"
    shutil.move(db, path)
    prefix = _read_only_mount_prefix(tmp_path)
    if prefix is None:
        pytest.skip("no mount namespaces here (unshare -m / -rm refused)")
    cmd = [*prefix, sys.executable, "-m", "gateway.cli", "metrics", "--db", str(path)]
    writer = open_store(path)  # the daemon's side: WAL mode, connection held open
    try:
        writer.conn.execute("UPDATE nodes SET frames_ok = 56")  # committed to the WAL, not yet checkpointed
        assert Path(f"{path}-wal").stat().st_size > 0
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        s = samples(out.stdout)
        assert s[("powergw_database_up", ())] == 1
        assert s[("powergw_frames_accepted_total", (("node", NODE),))] == 56
    finally:
        writer.close()
    assert not Path(f"{path}-wal").exists()
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and samples(out.stdout) == {("powergw_database_up", ()): 0}
    assert "is read-only here and powergw.db-wal is gone" in out.stderr and "is powergw.service running?" in out.stderr


def test_render_time_against_a_hand_written_baseline(tmp_path, capsys):
    """Not a timed test: prints the figures docs/operations.md quotes, bounds only against disaster."""
    path = tmp_path / "many.db"
    store = open_store(path)
    store.conn.executemany(
        "INSERT INTO nodes (node_id, transport, frames_ok, frames_lost, rejected, last_seen_ms) "
        "VALUES (?, 'serial', ?, ?, ?, ?)",
        [(f"node-{i:02d}", 10_000 + i, i, json.dumps({"crc": i, "cobs": 1}), T0) for i in range(20)],
    )
    store.close()

    def baseline():
        import sqlite3

        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        rows = conn.execute("SELECT node_id, frames_ok, frames_lost, rejected, last_seen_ms FROM nodes").fetchall()
        conn.close()
        lines = []
        for node, ok, lost, rej, seen in rows:
            lines.append(f'powergw_frames_accepted_total{{node="{node}"}} {ok}')
            lines.append(f'powergw_frames_lost_total{{node="{node}"}} {lost}')
            for reason, count in json.loads(rej).items():
                lines.append(f'powergw_frames_rejected_total{{node="{node}",reason="{reason}"}} {count}')
            lines.append(f'powergw_node_last_frame_age_seconds{{node="{node}"}} {(T0 - seen) / 1000}')
        return "\n".join(lines)

    def best(fn, n=30):
        times = []
        for _ in range(n):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        return sorted(times)[n // 2]

    render(path)  # warm imports
    ours, base = best(lambda: render(path)), best(baseline)
    with capsys.disabled():
        print(f"\nmetrics render, 20 nodes: {ours * 1000:.2f} ms median; hand-written baseline {base * 1000:.2f} ms")
    assert ours < 0.5
