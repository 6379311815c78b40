"""The CLI at its edges: a database that is not there, a tariff that does not exist, absurd input,
output piped into `head`, ports and files that are not what they seem, exit codes that say what
happened. Real files, real processes where the behaviour is the process's (pipes, exit codes)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.app import open_store
from gateway.billing.ledger import Ledger
from gateway.cli import main

ROOT = Path(__file__).resolve().parents[2]


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def process(*args, cwd=None, stdin=None, timeout=60):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *map(str, args)],
        capture_output=True,
        cwd=cwd,
        env=env,
        input=stdin,
        timeout=timeout,
    )


# ---- no silent new database -------------------------------------------------------------------

# Every command that reads or records into the gateway's database, with what it needs besides.
NEEDS_A_DATABASE = [
    ("bill",),
    ("balance",),
    ("pay", "--amount", "1805"),
    ("pay", "--confirm", "cli-0000"),
    ("meter", "--reading", "12345.6"),
    ("meter", "--billed-units", "400", "--from", "2025-09-01", "--to", "2025-11-01"),
    ("alerts", "list"),
    ("alerts", "act", "1", "resolve", "--by", "asha"),
    ("email", "status"),
    ("email", "send"),
    ("sync", "status"),
    ("sync", "--once"),
    ("cloud", "register", "--url", "http://127.0.0.1:9", "--code", "X"),
    ("nodes",),
    ("usage", "--from", "2025-01-01", "--to", "2025-01-02"),
    ("export", "daily"),
    ("backup",),
    ("mqtt", "--once"),
    ("ui", "--port", "1"),
]


@pytest.mark.parametrize("argv", NEEDS_A_DATABASE, ids=lambda a: " ".join(a[:2]))
def test_a_mistyped_database_is_named_and_never_created(capsys, tmp_path, argv):
    typo = tmp_path / "typo.db"
    code, out, err = run(capsys, *argv, "--db", typo)
    assert code == 2 and out == ""
    assert f"no database at {typo} (given by --db)" in err and "--db FILE" in err and "--config FILE" in err
    assert list(tmp_path.iterdir()) == []


def test_the_config_that_named_the_missing_database_is_named(capsys, tmp_path):
    cfg = tmp_path / "powergw.toml"
    cfg.write_text(f'[gateway]\ndb = "{tmp_path / "data" / "powergw.db"}"\n')
    code, _, err = run(capsys, "balance", "-c", cfg)
    assert code == 2 and f"[gateway] db in {cfg}" in err
    assert not (tmp_path / "data").exists()


def test_without_a_config_the_default_database_is_named_not_created(tmp_path):
    default = Path("/var/lib/powergw/powergw.db")
    if default.exists():
        # Not a machine to test on: `pay` without --config would write into that household's ledger.
        pytest.skip("a real gateway's database is at the default path; pay without --config would write into it")
    out = process("pay", "--amount", "1805", cwd=tmp_path)
    err = out.stderr.decode()
    assert out.returncode == 2 and out.stdout == b"" and "Traceback" not in err
    assert f"no database at {default} (the default [gateway] db; no --config given)" in err
    assert not default.exists()


def test_commands_that_create_a_database_still_do(capsys, tmp_path):
    db = tmp_path / "new.db"
    code, out, _ = run(capsys, "migrate", "--db", db)
    assert code == 0 and db.is_file() and "migrations applied" in out
    code, out, _ = run(capsys, "pay", "--amount", "1805", "--db", db)
    assert code == 0 and "payment #1 of ₹1,805.00 recorded" in out


# ---- an unknown tariff stops start-up ---------------------------------------------------------


@pytest.mark.parametrize(
    "billing,words",
    [
        (
            'tariff = "atlantis"',
            "[billing] tariff = 'atlantis': unknown tariff 'atlantis': give one of delhi-domestic, "
            "kerala-domestic, kerala-domestic-solar, tn-domestic",
        ),
        (
            'tariff = "/nowhere/mine.toml"',
            "[billing] tariff = '/nowhere/mine.toml': cannot read tariff file /nowhere/mine.toml",
        ),
        ('tariff_dir = "/nowhere"', "[billing] tariff_dir = '/nowhere': tariff folder /nowhere does not exist"),
    ],
)
def test_an_unknown_tariff_fails_config_check_and_run(capsys, tmp_path, billing, words):
    cfg = tmp_path / "powergw.toml"
    db = tmp_path / "gw.db"
    cfg.write_text(f'[gateway]\ndb = "{db}"\n[billing]\n{billing}\n')
    code, out, err = run(capsys, "config", "check", cfg)
    assert code == 2 and words in err and out == ""
    code, _, err = run(capsys, "run", "-c", cfg, "--no-ui")
    assert code == 2 and words in err
    assert not db.exists()  # refused before anything was opened


def test_a_tariff_file_of_ones_own_passes(capsys, tmp_path):
    mine = tmp_path / "mine.toml"
    mine.write_text((ROOT / "gateway/billing/tariffs/tn-domestic-2024-07-01.toml").read_text())
    cfg = tmp_path / "powergw.toml"
    cfg.write_text(f'[billing]\ntariff = "{mine}"\n')
    code, out, _ = run(capsys, "config", "check", cfg)
    assert code == 0 and out.startswith(f"{cfg}: ok")


# ---- one line, not a traceback ----------------------------------------------------------------


@pytest.mark.parametrize(
    "units,words",
    [
        ("1e309", "more than 100000 in one cycle"),
        ("99999999999", "more than 100000 in one cycle"),
        ("-5", "at least 0"),
        ("nan", "at least 0"),
        ("12.345", "at most 2 decimals"),
        ("five", "expected a number of kWh"),
    ],
)
def test_absurd_units_are_one_line_errors(capsys, units, words):
    code, out, err = run(capsys, "bill", f"--units={units}")
    assert code == 2 and out == "" and words in err and len(err.strip().splitlines()) == 1


def test_a_missing_input_file_is_one_line(tmp_path):
    out = process("model", "score", "--input", tmp_path / "nonexistent.csv")
    err = out.stderr.decode()
    assert out.returncode == 2 and "Traceback" not in err
    assert err.strip() == f"score: cannot read {tmp_path / 'nonexistent.csv'}: No such file or directory"


@pytest.fixture
def busy_db(tmp_path):
    """A database whose every listing is far longer than a pipe's buffer (64 KiB)."""
    from gateway.alerts import AlertStore

    db = tmp_path / "gw.db"
    store = open_store(db)
    ledger = Ledger(store)
    for i in range(600):
        ledger.record_payment("10", payment_key=f"k-{i}", now_ms=1_750_000_000_000 + i, method="cash", confirmed=True)
    alerts = AlertStore(store)
    for i in range(600):
        alerts.raise_alert(
            "node_offline",
            "warning",
            f"node n{i} has not reported for 10 minutes " + "." * 80,
            now_ms=1_750_000_000_000 + i,
            dedup_key=f"n{i}",
        )
    with store.conn:
        store.conn.executemany(
            "INSERT INTO nodes (node_id, name, frames_ok) VALUES (?, ?, 1)",
            [(f"24:6f:28:00:{i // 256:02x}:{i % 256:02x}", "x" * 60) for i in range(1200)],
        )
    store.close()
    return db


@pytest.mark.parametrize(
    "argv",
    [("nodes",), ("balance",), ("alerts", "list", "--limit", "600"), ("pay", "--amount", "10", "--upi", "-c", "{cfg}")],
)
def test_output_piped_into_head_is_not_an_error(busy_db, tmp_path, argv):
    cfg = tmp_path / "upi.toml"
    cfg.write_text(f'[gateway]\ndb = "{busy_db}"\n[billing]\nupi_vpa = "tnpdcl@sbi"\nupi_payee_name = "TNPDCL"\n')
    args = [str(cfg) if a == "{cfg}" else a for a in argv]
    db_args = [] if "-c" in args else ["--db", str(busy_db)]
    cmd = " ".join([sys.executable, "-m", "gateway.cli", *args, *db_args, "| head -c 100 >/dev/null"])
    for _ in range(3):  # the reader must be gone before the writer is done: it is, most times
        out = subprocess.run(
            ["bash", "-o", "pipefail", "-c", cmd],
            capture_output=True,
            timeout=60,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
        )
        err = out.stderr.decode()
        assert out.returncode == 0 and "Traceback" not in err and "BrokenPipe" not in err, err
    if argv[0] == "pay":  # recorded before the QR code was printed, whatever became of the output
        store = open_store(busy_db)
        assert sum(p["state"] == "pending" for p in Ledger(store).payments()) == 3
        store.close()


# ---- ports and files --------------------------------------------------------------------------


def test_monitor_reads_a_capture_file_to_its_end(tmp_path):
    capture = tmp_path / "frames.bin"
    made = process("simulate", "--out", capture, "--duration", "5", "--speed", "0")
    assert made.returncode == 0, made.stderr
    out = process("monitor", capture)
    lines = out.stdout.decode().splitlines()
    assert out.returncode == 0 and out.stderr == b""
    assert [line.split()[0] for line in lines] == ["HELLO"] + ["READING"] * 5


def test_simulate_to_a_port_that_is_not_there_makes_no_file():
    port = next(
        p for p in (Path(f"/dev/ttyUSB{n}") for n in range(90, 1000)) if not p.exists()
    )  # a port this machine lacks
    out = process("simulate", "--out", port, "--duration", "2", "--speed", "0")
    assert out.returncode == 2 and f"--out {port}: no such serial port" in out.stderr.decode()
    assert not port.exists()


# ---- exit codes that say what happened --------------------------------------------------------


def test_email_send_fails_when_the_server_cannot_be_reached(capsys, tmp_path):
    import socket

    from gateway.alerts import AlertStore, alert_listeners
    from gateway.config import load_config

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    db = tmp_path / "gw.db"
    cfg = tmp_path / "powergw.toml"
    cfg.write_text(
        f'[gateway]\ndb = "{db}"\n[email]\nenabled = true\nhost = "127.0.0.1"\nport = {port}\n'
        'security = "none"\nfrom_addr = "gw@example.in"\nto = ["asha@example.in"]\ntimeout_s = 2\n'
    )
    config = load_config(cfg)
    store = open_store(db)
    AlertStore(store, alert_listeners(config, store.calendar)).raise_alert(
        "meter_mismatch", "critical", "sensors 40 % below the meter", now_ms=1_750_000_000_000, dedup_key="m"
    )
    store.close()
    code, out, _ = run(capsys, "email", "send", "-c", cfg)
    assert code == 1 and "sent 0, retry later 1" in out
    code, out, _ = run(capsys, "email", "status", "-c", cfg)
    assert code == 0 and "queued 1" in out  # kept for the next try


def test_meter_help_states_its_exit_codes():
    out = process("meter", "--help").stdout.decode()
    assert "Exit code 0 when they agree" in out and "1 when the gap is above" in out
