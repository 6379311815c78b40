"""Tariff engine: the shared acceptance vectors, the other states' structures, splits, slab position."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.billing import TariffError
from gateway.billing.tariff import (
    BillOptions,
    compute_bill,
    compute_split_bill,
    slab_position,
)
from gateway.billing.tariff_book import TariffBook

# Copied from the shared tariffs README (Tamil Nadu LT I-A domestic acceptance vectors);
# nothing reads ../shared at test time.
VECTORS = {
    "bills": [
        (0, "0.00"),
        (100, "0.00"),
        (101, "2.35"),
        (200, "235.00"),
        (201, "239.70"),
        (300, "705.00"),
        (450, "1490.00"),
        (500, "1805.00"),
        (501, "2048.40"),
        (600, "2880.00"),
        (1000, "6870.00"),
        (1001, "6881.55"),
    ],
    "crossing_500_adds": "243.40",
    "till_date": {
        "cycle_days": 60,
        "day": 20,
        "units": 180,
        "bill": "188.00",
        "straight_line_units": 540,
        "projected_bill": "2376.00",
    },
}


@pytest.fixture(scope="module")
def book():
    return TariffBook.load()


@pytest.fixture(scope="module")
def tn(book):
    return book.in_force("tn-domestic", dt.date(2025, 7, 1))


@pytest.mark.parametrize("units,total", VECTORS["bills"])
def test_tn_vectors(tn, units, total):
    bill = compute_bill(tn, units)
    assert f"{bill.total:.2f}" == total
    assert bill.as_json()["total"] == total
    assert sum(Decimal(item["amount"]) for item in bill.as_json()["lines"]) == Decimal(total)


def test_tn_breakdown_above_500_loses_the_cheap_slab(tn):
    bill = compute_bill(tn, 501)
    assert [(ln.label, str(ln.units), f"{ln.rate:.2f}", str(ln.amount)) for ln in bill.lines] == [
        ("1–100", "100", "0.00", "0.00"),
        ("101–400", "300", "4.70", "1410.00"),
        ("401–500", "100", "6.30", "630.00"),
        ("501–600", "1", "8.40", "8.40"),
    ]
    assert bill.notes == ("above 500 units the telescopic table applies",)


def test_tn_crossing_500(tn):
    assert compute_bill(tn, 501).total - compute_bill(tn, 500).total == Decimal(VECTORS["crossing_500_adds"])
    pos = slab_position(lambda u: compute_bill(tn, u), tn.boundaries(), 463)
    assert pos.message() == "37 units to 500; crossing it adds ₹243.40"
    pos = slab_position(lambda u: compute_bill(tn, u), tn.boundaries(), 137)
    assert pos.boundary == 200 and not pos.step and pos.step_boundary == 500
    assert (
        pos.message() == "63 units to 200; above it each unit costs ₹4.70 (now ₹2.35); at 500 the bill jumps by ₹243.40"
    )
    assert (
        slab_position(lambda u: compute_bill(tn, u), tn.boundaries(), 1200).message()
        == "1200 units: beyond the last slab"
    )


@pytest.mark.parametrize(
    "units,message",
    [
        (500, "500 units, the top of a slab: the next unit adds ₹243.40 (the last one cost ₹6.30)"),
        (600, "600 units, the top of a slab: the next unit costs ₹9.45 (the last one cost ₹8.40)"),
        (
            200,
            "200 units, the top of a slab: the next unit costs ₹4.70 (the last one cost ₹2.35); "
            "at 500 the bill jumps by ₹243.40",
        ),
        (499, "1 units to 500; crossing it adds ₹243.40"),
    ],
)
def test_on_a_slab_edge_the_next_unit_is_the_one_that_crosses(tn, units, message):
    pos = slab_position(lambda u: compute_bill(tn, u), tn.boundaries(), units)
    assert pos.message() == message
    last = compute_bill(tn, units).total - compute_bill(tn, units - 1).total
    following = compute_bill(tn, units + 1).total - compute_bill(tn, units).total
    if units != 499:  # the figures in the message are the bill's own
        assert f"the last one cost ₹{last:.2f}" in message and f"₹{following:.2f}" in message


def test_tn_till_date_and_straight_line(tn):
    v = VECTORS["till_date"]
    assert f"{compute_bill(tn, v['units']).total:.2f}" == v["bill"]
    projected = Decimal(v["units"]) * v["cycle_days"] / v["day"]
    assert projected == v["straight_line_units"]
    assert f"{compute_bill(tn, projected).total:.2f}" == v["projected_bill"]


def test_fractional_units_are_exact(tn):
    assert compute_bill(tn, Decimal("100.5")).total == Decimal("1.18")  # 0.5 × 2.35 = 1.175, half up
    with pytest.raises(TariffError, match="not a float"):
        compute_bill(tn, 100.5)
    with pytest.raises(TariffError, match="at least 0"):
        compute_bill(tn, -1)


# Delhi: energy telescopic, ₹/kW fixed charge by load band, 8 % + 7 % surcharges and 5 % tax on
# energy + fixed, opt-in subsidy: zero bill up to 200 units. Hand-computed:
#   350 units, 3 kW: 200×3.00 + 150×4.50 = 1275; fixed 3×50 = 150; base 1425 → 114.00 + 99.75 + 71.25
@pytest.mark.parametrize(
    "units,load,opt_in,total",
    [
        (350, "3", True, "1710.00"),
        (150, "3", True, "0.00"),
        (150, "3", False, "720.00"),  # 450 + 150 = 600 → ×1.20
        (200, "1.5", True, "0.00"),
        (201, "1.5", True, "761.41"),  # 604.50 + 30 = 634.50 → + 50.76 + 44.42 (44.415) + 31.73 (31.725)
        (1300, "6", False, "9960.00"),  # 600+900+2600+2800+800 = 7700; 6 kW × 100 = 600; 8300 × 1.20
    ],
)
def test_delhi(book, units, load, opt_in, total):
    delhi = book.in_force("delhi-domestic", dt.date(2025, 1, 1))
    bill = compute_bill(delhi, units, BillOptions(Decimal(load), opt_in))
    assert f"{bill.total:.2f}" == total


def test_delhi_needs_a_sanctioned_load(book):
    delhi = book.in_force("delhi-domestic", dt.date(2025, 1, 1))
    with pytest.raises(TariffError, match="per kW of sanctioned load: set \\[billing\\] sanctioned_load_kw"):
        compute_bill(delhi, 300, BillOptions(None))


# Kerala: telescopic up to 250, then one rate for every unit; fixed charge by consumption slab;
# 10 % duty on energy only.
@pytest.mark.parametrize(
    "units,total,energy_label",
    [
        (40, "188.00", "1–50"),  # 130 + 45 + 13
        (240, "1585.05", "201–250"),  # 1295.50 energy + 160 + 129.55
        (250, "1675.25", "201–250"),  # 162.50+202.50+255+347.50+410 = 1377.50; + 160 + 137.75
        (251, "1982.04", "all 251 units (251–300 slab)"),  # 251 × 6.40 = 1606.40 + 215 + 160.64
        (320, "2792.00", "all 320 units (301–350 slab)"),
        (600, "6098.00", "all 600 units (above 500 slab)"),
    ],
)
def test_kerala(book, units, total, energy_label):
    kerala = book.in_force("kerala-domestic", dt.date(2025, 1, 1))
    bill = compute_bill(kerala, units)
    assert f"{bill.total:.2f}" == total
    assert [ln.label for ln in bill.lines if ln.kind == "energy"][-1] == energy_label


def test_split_bill_by_days(book, tn, tmp_path):
    same = compute_split_bill([(tn, 20), (tn, 40)], 450)
    assert same.total == compute_bill(tn, 450).total
    dearer = tmp_path / "tn2.toml"
    dearer.write_text(
        Path(tn.path).read_text().replace("2024-07-01", "2025-07-01").replace("rate = 2.35", "rate = 2.95")
    )
    book2 = TariffBook.load(tmp_path)
    parts = book2.parts_for_cycle("tn-domestic", dt.date(2025, 6, 11), dt.date(2025, 8, 10))
    assert [(t.effective_from, d) for t, d in parts] == [(dt.date(2024, 7, 1), 20), (dt.date(2025, 7, 1), 40)]
    bill = compute_split_bill(parts, 300)
    # old: 705 × 20/60 = 235.00; new: (100 × 2.95 + 470) × 40/60 = 765 × 2/3 = 510.00
    assert bill.total == Decimal("745.00")
    assert bill.lines[0].label.startswith("[tn-domestic from 2024-07-01, 20/60 days]")
    assert book2.parts_for_cycle("tn-domestic", dt.date(2025, 8, 10), dt.date(2025, 10, 10))[0][1] == 61
