"""`powergw bill / tariffs / meter / pay / balance / alerts / email` through the real CLI entry point."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlparse

import pytest

from gateway.app import open_store
from gateway.billing.ledger import Ledger
from gateway.cli import main
from tests.support.billing_usage import START, fill


@pytest.fixture
def setup(tmp_path):
    cfg = tmp_path / "powergw.toml"
    db = tmp_path / "gw.db"
    cfg.write_text(
        f'[gateway]\ndb = "{db}"\n'
        f'[billing]\nmeter_reading_date = "{START}"\nbudget_inr = 1000\nupi_vpa = "tnpdcl@sbi"\n'
        'upi_payee_name = "TNPDCL Chennai"\nmax_payment_inr = 50000\nholiday_state = ""\n'
    )
    open_store(db).close()  # what `powergw migrate` does at install: the CLI never makes a database
    return cfg, db


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize(
    "units,total",
    [(0, "0.00"), (180, "188.00"), (463, "1571.90"), (500, "1805.00"), (501, "2048.40"), (1001, "6881.55")],
)
def test_bill_units_json(capsys, units, total):
    code, out, _ = run(capsys, "bill", "--units", units, "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["total"] == total and data["tariff"] == "tn-domestic"
    assert isinstance(data["lines"], list) and all(isinstance(item["amount"], str) for item in data["lines"])


def test_bill_table_and_other_tariffs(capsys, setup):
    code, out, _ = run(capsys, "bill", "--units", "463")
    assert code == 0 and "401–500     63  ₹6.30   396.90" in out and "37 units to 500; crossing it adds ₹243.40" in out
    code, out, _ = run(capsys, "bill", "--units", "320", "--tariff", "kerala-domestic", "--format", "json")
    assert json.loads(out)["total"] == "2792.00"
    cfg, _ = setup
    code, out, _ = run(capsys, "bill", "--units", "350", "--tariff", "delhi-domestic", "-c", cfg, "--format", "json")
    assert json.loads(out)["total"] == "1578.00"  # default 2 kW load: 1275 + 2 × 20 = 1315; × 1.20


def test_bill_errors(capsys, tmp_path):
    code, _, err = run(capsys, "bill", "--units", "-5")
    assert code == 2 and "units '-5': expected a number of kWh of at least 0" in err
    code, _, err = run(capsys, "bill", "--units", "100", "--tariff", "goa")
    assert code == 2 and "unknown tariff 'goa'" in err
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'name = "x"\neffective_from = 2025-01-01\nsource = "s"\ncycle_months = 1\n[[energy]]\nmethod = '
        '"telescopic"\nslabs = [{ rate = -1 }]\n'
    )
    code, _, err = run(capsys, "bill", "--units", "100", "--tariff", bad)
    assert code == 2 and "energy[0].slabs[0].rate = '-1': expected a number of at least 0" in err
    code, _, err = run(capsys, "tariffs", "--check", bad)
    assert code == 2 and "bad.toml: energy[0].slabs[0].rate" in err


def test_tariffs_list_and_check(capsys):
    code, out, _ = run(capsys, "tariffs")
    assert code == 0 and "tn-domestic (default)" in out and "kerala-domestic" in out and "delhi-domestic" in out
    from gateway.billing.tariff_book import SHIPPED_DIR

    code, out, _ = run(capsys, "tariffs", "--check", SHIPPED_DIR / "tn-domestic-2024-07-01.toml")
    assert code == 0 and "OK: tn-domestic" in out and "500 units: ₹   1805.00" in out


def test_live_bill(capsys, setup):
    cfg, db = setup
    store = open_store(db)
    fill(store, START, 20, 375)  # 180 units by 25 Jul
    store.close()
    code, out, _ = run(capsys, "bill", "-c", cfg, "--at", "2025-07-25", "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["total"] == "188.00" and data["till_date"]["units"] == "180.00"
    assert data["projections"][0]["method"] == "straight_line" and data["budget"]["spent_pct"] == 18.8
    code, out, _ = run(capsys, "bill", "-c", cfg, "--at", "2025-07-25")
    assert "Till date: 180.00 units, ₹188.00" in out and "Projected (straight line): 558 units" in out
    assert "Budget: ₹188.00 of ₹1,000.00 (19%)" in out


def test_live_bill_with_a_metered_node_that_never_reported(capsys, setup):
    cfg, db = setup
    store = open_store(db)
    fill(store, START, 20, 375)  # node "main"
    fill(store, START, 20, 100, node="ac")
    store.close()
    cfg.write_text(cfg.read_text() + 'metered_nodes = ["mian"]\n')  # a typo for "main"
    for fmt in ("table", "json"):
        code, out, err = run(capsys, "bill", "-c", cfg, "--at", "2025-07-25", "--format", fmt)
        assert code == 2 and out == ""
        assert err == (
            "powergw bill: error: [billing] metered_nodes lists 'mian', but no node with that id has reported; "
            "known nodes: 'ac', 'main'\n"
        )
    code, out, _ = run(capsys, "bill", "-c", cfg, "--units", "180", "--format", "json")  # no store, no nodes needed
    assert code == 0 and json.loads(out)["total"] == "188.00"


def test_pay_and_balance(capsys, setup):
    cfg, db = setup
    code, out, _ = run(capsys, "pay", "-c", cfg, "--amount", "500", "--key", "k1")
    assert code == 0 and "payment #1 of ₹500.00 recorded: confirmed" in out and "₹500.00 in credit" in out
    code, out, _ = run(capsys, "pay", "-c", cfg, "--amount", "500", "--key", "k1")  # a retry: recorded once
    assert code == 0 and "already recorded (same key)" in out
    code, out, _ = run(
        capsys,
        "pay",
        "-c",
        cfg,
        "--amount",
        "705.5",
        "--upi",
        "--key",
        "u1",
        "--qr",
        db.parent / "qr.png",
        "--format",
        "table",
    )
    assert code == 0 and "pending" in out and (db.parent / "qr.png").read_bytes()[:4] == b"\x89PNG"
    link = next(ln for ln in out.splitlines() if ln.startswith("upi://"))
    q = parse_qs(urlparse(link).query)
    assert link.startswith("upi://pay?pa=tnpdcl@sbi&pn=TNPDCL%20Chennai&am=705.50&cu=INR&tn=Electricity%20bill")
    assert q == {
        "pa": ["tnpdcl@sbi"],
        "pn": ["TNPDCL Chennai"],
        "am": ["705.50"],
        "cu": ["INR"],
        "tn": ["Electricity bill"],
        "tr": ["u1"],
    }
    code, out, _ = run(capsys, "balance", "-c", cfg, "--format", "json")
    data = json.loads(out)
    assert data["balance"] == "-500.00" and data["credit"] == "500.00" and data["pending"] == "705.50"
    code, out, _ = run(capsys, "pay", "-c", cfg, "--confirm", "u1", "--reference", "UTR42")
    assert code == 0 and "confirmed" in out
    code, out, _ = run(capsys, "balance", "-c", cfg)
    assert "balance: ₹1,205.50 in credit" in out


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--amount", "0"], "must be more than 0"),
        (["--amount", "-10"], "must be more than 0"),
        (["--amount", "10.999"], "at most 2 decimal places"),
        (["--amount", "50000.01"], "more than the limit of ₹50,000.00"),
        (["--amount", "100", "--currency", "USD"], "only INR"),
        (["--amount", "ten"], "expected rupees"),
        (["--amount", "1e3"], "expected rupees as digits"),
        (["--amount", "1_000"], "expected rupees as digits"),
        (["--amount", "١٠٠"], "expected rupees as digits"),
        (["--amount", "100", "--bill", "9"], "no bill #9"),
        (["--amount", "10.999", "--upi"], "at most 2 decimal places"),
        (["--confirm", "nope"], "no payment with key 'nope'"),
    ],
)
def test_pay_bad_input_records_nothing(capsys, setup, argv, message):
    cfg, db = setup
    code, out, err = run(capsys, "pay", "-c", cfg, *argv)
    assert code == 2 and message in err and out == ""
    store = open_store(db)
    assert Ledger(store).payments() == []
    store.close()


def test_pay_takes_an_amount_written_with_indian_commas(capsys, setup):
    cfg, _ = setup
    code, out, _ = run(capsys, "pay", "-c", cfg, "--amount", "12,500.50")
    assert code == 0 and "payment #1 of ₹12,500.50 recorded" in out


def test_upi_needs_a_vpa(capsys, tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[gateway]\ndb = "{tmp_path / "gw.db"}"\n')
    open_store(tmp_path / "gw.db").close()
    code, _, err = run(capsys, "pay", "-c", cfg, "--amount", "10", "--upi")
    assert code == 2 and "UPI address '': expected a VPA" in err


def test_meter_and_alerts(capsys, setup):
    cfg, db = setup
    store = open_store(db)
    fill(store, START, 10, 1000)  # 240 kWh
    store.close()
    code, out, _ = run(
        capsys, "meter", "-c", cfg, "--billed-units", "270", "--from", "2025-07-05", "--to", "2025-07-15"
    )
    assert code == 1 and "sensors 11.1% below the meter, more than 5.0%" in out
    code, _, err = run(capsys, "meter", "-c", cfg, "--billed-units", "270")
    assert code == 2 and "needs --from and --to" in err
    code, out, _ = run(capsys, "alerts", "list", "-c", cfg, "--state", "open", "--format", "json")
    [alert] = json.loads(out)
    assert alert["kind"] == "meter_mismatch" and alert["severity"] == "critical"
    code, out, _ = run(
        capsys, "alerts", "act", alert["id"], "resolve", "--by", "asha", "--comment", "new CT clamp", "-c", cfg
    )
    assert code == 0 and f"alert #{alert['id']} is resolved (by asha)" in out
    code, _, err = run(capsys, "alerts", "act", alert["id"], "ignore", "--by", "asha", "-c", cfg)
    assert code == 2 and "ignore does not fit it (it takes resolve)" in err  # a meter gap is no pattern to learn
    code, _, err = run(capsys, "alerts", "act", alert["id"], "unignore", "--by", "asha", "-c", cfg)
    assert code == 2 and "unignore does not fit it" in err
    code, out, _ = run(capsys, "email", "status", "-c", cfg)
    assert code == 0 and out.startswith("queued 0, sent 0, failed 0")
