"""Net-metered and time-of-day bills to the paisa: the worked examples of docs/tariffs.md, the three
export settlements, the bank across a settlement year, bad flows and bad tariff files."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from gateway.billing import TariffError
from gateway.billing.net_metering import (
    Flows,
    bank_after,
    closes_settlement_year,
    compute_net_bill,
    compute_split_net_bill,
    position_bill,
    settlement_year_start,
)
from gateway.billing.tariff import compute_bill, slab_position
from gateway.billing.tariff_book import TariffBook
from gateway.billing.tariff_file import parse_tariff_text


@pytest.fixture(scope="module")
def book() -> TariffBook:
    return TariffBook.load()


@pytest.fixture(scope="module")
def solar(book):
    return book.in_force("kerala-domestic-solar", dt.date(2024, 6, 1))


def amounts(bill) -> list[tuple[str, str]]:
    return [(line.kind, f"{line.amount:.2f}") for line in bill.lines]


# ---- the worked example: a Kerala prosumer (docs/tariffs.md) -------------------------------------


def test_net_units_are_billed_on_kerala_slabs(solar):
    bill = compute_net_bill(solar, Flows.of(420, 260))
    # 160 net units, telescopic: 50 × 3.25 + 50 × 4.05 + 50 × 5.10 + 10 × 6.95
    assert amounts(bill) == [
        ("energy", "162.50"),
        ("energy", "202.50"),
        ("energy", "255.00"),
        ("energy", "69.50"),
        ("fixed", "130.00"),
        ("charge", "68.95"),
    ]
    assert f"{bill.total:.2f}" == "888.45"
    assert bill.units == 160 and bill.net.net_units == 160 and bill.net.import_units == 420
    # The same 420 units without the plant: non-telescopic 7.90 on every unit.
    assert f"{compute_net_bill(solar, Flows.of(420, 0)).total:.2f}" == "3919.80"


def test_a_surplus_is_banked_used_next_cycle_and_paid_at_year_end(solar):
    may = compute_net_bill(solar, Flows.of(180, 260))
    assert f"{may.total:.2f}" == "45.00" and may.units == 0
    assert may.net.banked_out == 80 and may.notes == ("80 units banked, carried to the next cycle",)

    june = compute_net_bill(solar, Flows.of(300, 150, banked_in=80))
    assert (june.net.banked_used, june.net.billed_units, june.net.banked_out) == (80, 70, 0)
    assert amounts(june) == [("energy", "162.50"), ("energy", "81.00"), ("fixed", "75.00"), ("charge", "24.35")]
    assert f"{june.total:.2f}" == "342.85"

    march = compute_net_bill(solar, Flows.of(200, 290, banked_in=40, settles=True))
    # 90 more banked: 130 paid at the APPC, ₹409.50, of which ₹45.00 settles this bill.
    assert amounts(march) == [("fixed", "45.00"), ("charge", "0.00"), ("export", "-409.50"), ("credit", "364.50")]
    assert f"{march.total:.2f}" == "0.00"
    assert (march.net.paid_out_units, march.net.banked_out, march.net.credit_carried) == (130, 0, Decimal("364.50"))


def test_the_bank_runs_over_cycles_and_empties_when_the_year_closes(solar, book):
    assert bank_after(solar, [(180, 260, False), (300, 150, False)]) == 0
    assert bank_after(solar, [(180, 260, False), (100, 150, False)]) == 130
    assert bank_after(solar, [(180, 260, False), (100, 150, True), (90, 100, False)]) == 10
    assert bank_after(book.in_force("kerala-domestic", dt.date(2024, 6, 1)), [(180, 260, False)]) == 0
    assert settlement_year_start(solar, dt.date(2024, 3, 31)) == dt.date(2023, 4, 1)
    assert settlement_year_start(solar, dt.date(2024, 4, 1)) == dt.date(2024, 4, 1)
    assert closes_settlement_year(solar, dt.date(2024, 3, 5), dt.date(2024, 4, 5))
    assert not closes_settlement_year(solar, dt.date(2024, 4, 5), dt.date(2024, 5, 5))


def test_slab_position_is_on_net_units(solar):
    flows = Flows.of(420, 260)
    bill_fn = position_bill([(solar, 30)], flows, compute_net_bill.__defaults__[0])
    assert bill_fn(Decimal(160)).total == compute_net_bill(solar, flows).total
    pos = slab_position(bill_fn, solar.boundaries(), 160)
    assert pos.boundary == 200 and pos.units_to_boundary == 40
    assert f"{pos.crossing_cost:.2f}" == "39.02"  # unit 201: 8.20 + 10 % duty, and the fixed charge 130 → 160


# ---- feed-in credit and time of day (the second worked example) ----------------------------------

FEED_IN = """
name = "sunny-state"
effective_from = 2025-04-01
source = "made up for docs/tariffs.md"
cycle_months = 1

[export]
settlement = "feed_in"
rate = 3.61

[[time_of_day]]
label = "Peak"
from = "18:00"
to = "22:00"
percent = 20

[[time_of_day]]
label = "Solar hours"
from = "09:00"
to = "17:00"
percent = -20

[[energy]]
method = "telescopic"
slabs = [{ up_to = 100, rate = 2.50 }, { up_to = 300, rate = 4.00 }, { rate = 6.00 }]

[[fixed]]
basis = "flat"
per = "month"
amount = 30

[[charges]]
id = "duty"
label = "Electricity duty 6%"
percent = 6
on = ["energy"]
"""


def hours_350() -> list[Decimal]:
    """350 units drawn: 15 an hour 18:00–22:00 (60), 10 an hour 09:00–17:00 (80), 17.5 the rest (210)."""
    return [Decimal(15) if 18 <= h < 22 else Decimal(10) if 9 <= h < 17 else Decimal("17.5") for h in range(24)]


def test_feed_in_credits_every_exported_unit_and_tod_moves_the_energy_charge():
    t = parse_tariff_text(FEED_IN, "sunny-state.toml")
    bill = compute_net_bill(t, Flows.of(350, 200, hours_350()))
    assert amounts(bill) == [
        ("energy", "250.00"),
        ("energy", "800.00"),
        ("energy", "300.00"),
        ("time_of_day", "46.29"),  # 1350 × 20 % × 60/350
        ("time_of_day", "-61.71"),  # 1350 × −20 % × 80/350
        ("fixed", "30.00"),
        ("charge", "80.07"),  # 6 % of 1334.58
        ("export", "-722.00"),  # 200 × 3.61
    ]
    assert f"{bill.total:.2f}" == "722.65"
    assert bill.units == 350 and bill.net.export_units == 200
    assert bill.as_json()["net_metering"]["net_units"] == "150"


def test_tod_without_hourly_import_says_it_was_not_applied():
    t = parse_tariff_text(FEED_IN, "sunny-state.toml")
    bill = compute_net_bill(t, Flows.of(350, 0))
    assert f"{bill.total:.2f}" == "1461.00"  # 1350 + 30 + 81
    assert bill.notes == ("time-of-day rates not applied: the units drawn in each hour are not known",)


def test_net_units_surplus_is_paid_or_lapses():
    text = FEED_IN.replace('settlement = "feed_in"\nrate = 3.61', 'settlement = "net_units"\nrate = 2.00')
    paid = compute_net_bill(parse_tariff_text(text), Flows.of(100, 140))
    assert amounts(paid) == [("fixed", "30.00"), ("charge", "0.00"), ("export", "-80.00"), ("credit", "50.00")]
    assert f"{paid.total:.2f}" == "0.00" and paid.net.credit_carried == 50
    lapse = compute_net_bill(parse_tariff_text(text.replace("rate = 2.00", "")), Flows.of(100, 140))
    assert f"{lapse.total:.2f}" == "30.00"
    assert "40 units exported beyond the import lapse (this tariff pays nothing)" in lapse.notes


def test_a_tariff_change_mid_cycle_splits_a_net_bill_by_days(solar):
    later = parse_tariff_text(
        open(solar.path)
        .read()
        .replace("effective_from = 2023-11-01", "effective_from = 2024-06-16")
        .replace("rate = 3.25", "rate = 3.55")
    )
    bill = compute_split_net_bill([(solar, 15), (later, 15)], Flows.of(420, 260))
    # Each version's lines × 15/30, rounded per line: the first slab 81.25 + 88.75, the duties
    # 68.95/2 = 34.475 → 34.48 and 70.45/2 = 35.225 → 35.23; the rest halves of 888.45's lines.
    assert f"{bill.total:.2f}" == "896.71" and bill.net.net_units == 160
    assert bill.notes == ("tariff changed during the cycle: split by days (30 days)",)


# ---- the existing tariffs and bad input ---------------------------------------------------------


@pytest.mark.parametrize("name", ["tn-domestic", "kerala-domestic"])
@pytest.mark.parametrize("units", [0, 99, 463, 501, 1200])
def test_existing_tariffs_bill_the_same_through_the_net_path(book, name, units):
    t = book.in_force(name, dt.date(2025, 1, 1))
    assert compute_net_bill(t, Flows.of(units)) == compute_bill(t, units)


def test_export_on_a_tariff_that_does_not_settle_it_is_refused(book):
    t = book.in_force("tn-domestic", dt.date(2025, 1, 1))
    with pytest.raises(TariffError, match="exported 12 units but tariff tn-domestic does not settle export"):
        compute_net_bill(t, Flows.of(300, 12))
    with pytest.raises(TariffError, match="does not bank export"):
        compute_net_bill(t, Flows.of(300, 0, banked_in=5))


@pytest.mark.parametrize(
    "args,message",
    [
        ((-5,), r"import units -5: expected a number of kWh of at least 0"),
        ((5, -1), r"export units -1: expected a number of kWh of at least 0"),
        ((5, 0.5), r"export units 0.5: give units as an int"),
        ((5, "x"), r"export units 'x': expected a number of kWh"),
        ((5, 0, [1] * 23), r"import by hour has 23 values: expected 24"),
        ((5, 0, [1] * 24), r"import by hour sums to 24, not the import 5"),
        ((5, 0, (), -2), r"banked units -2"),
    ],
)
def test_bad_flows_are_refused(args, message):
    with pytest.raises(TariffError, match=message):
        Flows.of(*args)


@pytest.mark.parametrize(
    "old,new,message",
    [
        ('settlement = "feed_in"', 'settlement = "gross"', r"export\.settlement = 'gross': expected one of"),
        ("rate = 3.61\n", "", r"export\.rate: missing"),
        ("rate = 3.61", "rate = -3.61", r"export\.rate = '-3.61': expected a number of at least 0"),
        (
            "rate = 3.61",
            "rate = 3.61\nsettlement_year_starts = 4",
            r"export\.settlement_year_starts: only a banking settlement",
        ),
        ("rate = 3.61", "rate = 3.61\nrates = 2", r"export\.rates: unknown field"),
        ('from = "18:00"', 'from = "18:30"', r"time_of_day\[0\]\.from = '18:30': expected a whole hour"),
        ('to = "22:00"', 'to = "18:00"', r"time_of_day\[0\]\.to = '18:00': expected a different hour"),
        ('from = "09:00"', 'from = "20:00"', r"time_of_day\[1\]: 20:00–17:00 overlaps time_of_day\[0\] .* at 20:00"),
        ("percent = -20", "percent = -120", r"time_of_day\[1\]\.percent = '-120': expected a number of at least -100"),
        ('label = "Peak"\n', 'label = "Peak"\nstart = "18:00"\n', r"time_of_day\[0\]\.start: unknown field"),
    ],
)
def test_bad_export_and_time_of_day_tables_name_the_field(old, new, message):
    assert old in FEED_IN
    with pytest.raises(TariffError, match=r"sunny-state\.toml: " + message):
        parse_tariff_text(FEED_IN.replace(old, new, 1), "sunny-state.toml")


def test_a_banking_year_start_is_a_month(solar):
    text = open(solar.path).read()
    with pytest.raises(TariffError, match=r"export\.settlement_year_starts = 13: expected one of 1, 2"):
        parse_tariff_text(text.replace("settlement_year_starts = 4", "settlement_year_starts = 13"), "k.toml")
    with pytest.raises(TariffError, match=r"export\.rate: missing"):
        parse_tariff_text(text.replace("rate = 3.15\n", ""), "k.toml")


# ---- `powergw bill --units N --export M` through the real CLI ------------------------------------


def run_cli(capsys, *argv):
    from gateway.cli import main

    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_bills_drawn_and_exported_units(capsys):
    code, out, _ = run_cli(capsys, "bill", "--units", 420, "--export", 260, "--tariff", "kerala-domestic-solar")
    assert code == 0 and "total                                 160         888.45" in out
    assert "drawn 420, exported 260, net 160 units; banked in 0, used 0, carried 0" in out
    assert "40 units to 200; crossing it adds ₹39.02" in out
    argv = ("bill", "--units", 200, "--export", 290, "--banked", 40, "--year-end", "--tariff", "kerala-domestic-solar")
    code, out, _ = run_cli(capsys, *argv, "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["total"] == "0.00" and data["net_metering"]["credit_carried"] == "364.50"
    assert data["net_metering"]["paid_out_units"] == "130"


def test_cli_refuses_export_a_tariff_does_not_settle_and_export_without_units(capsys):
    code, _, err = run_cli(capsys, "bill", "--units", 300, "--export", 12, "--tariff", "tn-domestic")
    assert code == 2 and "exported 12 units but tariff tn-domestic does not settle export" in err
    code, _, err = run_cli(capsys, "bill", "--export", 12)
    assert code == 2 and "--export, --banked and --year-end go with --units" in err
    code, _, err = run_cli(capsys, "bill", "--units", 300, "--export", "-3", "--tariff", "kerala-domestic-solar")
    assert code == 2 and "units '-3': expected a number of kWh of at least 0" in err
