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

ROOT = Path(__file__).resolve().parent.parent


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def process(*args, cwd=None, stdin=None, timeout=60):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "gateway.cli", *map(str, args)], capture_output=True, cwd=cwd, env=env,
                          input=stdin, timeout=timeout)


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
        pytest.skip("this machine has a real gateway database at the default path")
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


@pytest.mark.parametrize("billing,words", [
    ('tariff = "atlantis"', "[billing] tariff = 'atlantis': unknown tariff 'atlantis': give one of delhi-domestic, "
                            "kerala-domestic, tn-domestic"),
    ('tariff = "/nowhere/mine.toml"', "[billing] tariff = '/nowhere/mine.toml': cannot read tariff file /nowhere/mine.toml"),
    ('tariff_dir = "/nowhere"', "[billing] tariff_dir = '/nowhere': tariff folder /nowhere does not exist"),
])
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
