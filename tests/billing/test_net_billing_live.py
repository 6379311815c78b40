"""A rooftop-solar home billed from a real store: till date, projection, slab position, the bank
carried from earlier cycles, today's cost and the dashboard's JSON on net units; a tariff that does
not settle export says so; time-of-day windows read the hours the house drew in."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from gateway.alerts import AlertStore
from gateway.app import JobContext
from gateway.billing.estimate import cycle_estimate, today_cost
from gateway.billing.jobs import close_cycles
from gateway.billing.service import BillingJsonView
from gateway.billing.tariff import compute_bill
from gateway.billing.tariff_book import TariffBook
from gateway.config import parse_config
from tests.billing.solar_usage import MAY, fill_flows, sunny_day
from tests.support.billing_usage import ms

BOOK = TariffBook.load()


def config(tariff="kerala-domestic-solar", anchor=MAY, **billing):
    section = {"meter_reading_date": anchor.isoformat(), "holiday_state": "", "tariff": tariff}
    return parse_config({"billing": section | billing})


def test_till_date_projection_and_slabs_are_on_net_units(store):
    fill_flows(store, MAY, 10)  # 140 drawn, 87.5 exported: 52.5 net
    est = cycle_estimate(store, config().billing, BOOK, ms(dt.date(2024, 5, 11)))
    assert (est.import_units, est.export_units, est.units) == (Decimal("140.00"), Decimal("87.50"), Decimal("52.50"))
    # 50 × 3.25 + 2.5 × 4.05 (10.125 → 10.13) = 172.63; fixed (51–100) 75; duty 17.26
    assert [f"{line.amount:.2f}" for line in est.bill.lines] == ["162.50", "10.13", "75.00", "17.26"]
    assert f"{est.bill.total:.2f}" == "264.89"
    straight = est.projections[0]
    # 31 days: 434 drawn, 271.25 exported → 434 − 271 = 163 net units billed
    assert (straight.drawn.units, straight.exported.units) == (434, 271.25)
    assert round(straight.projection.units, 2) == 162.75
    assert straight.bill.units == 163 and f"{straight.bill.total:.2f}" == "911.39"
    assert est.position.boundary == 100 and est.position.units_to_boundary == Decimal("47.50")
    j = est.as_json()
    assert j["till_date"]["net_metering"]["net_units"] == "52.5" and j["projections"][0]["export_units"] == 271.2
    lines = est.lines()
    assert "Net metering: drawn 140, exported 87.5, net 52.5 units; billed 52.5" in lines
    assert any(line.startswith("Projected (straight line): 163 net units") for line in lines)


def test_april_surplus_is_banked_into_may(store):
    fill_flows(store, dt.date(2024, 4, 1), 30, lambda h: (500 if h < 7 or 17 <= h < 20 else 0, sunny_day(h)[1]))
    fill_flows(store, MAY, 10)
    est = cycle_estimate(store, config().billing, BOOK, ms(dt.date(2024, 5, 11)))
    net = est.net
    # April: 150 drawn (5 a day), 262.5 exported → 112.5 banked; May so far uses 52.5 of it.
    assert (net.banked_in, net.banked_used, net.billed_units, net.banked_out) == (
        Decimal("112.50"),
        Decimal("52.50"),
        0,
        Decimal("60.00"),
    )
    assert f"{est.bill.total:.2f}" == "45.00"  # the fixed charge of 0–50 units and 0 duty
    assert "60 units banked, carried to the next cycle" in est.as_json()["notes"]


def test_today_cost_is_the_growth_of_the_net_bill(store):
    fill_flows(store, MAY, 10)
    now = ms(dt.date(2024, 5, 10), 12)  # day 10 at noon: drawn 0–7 today (7 kWh), exported 9–12 (3.75)
    section = config().billing
    before = cycle_estimate(store, section, BOOK, ms(dt.date(2024, 5, 10))).bill.total
    after = cycle_estimate(store, section, BOOK, now).bill.total
    assert today_cost(store, section, BOOK, now) == after - before
    # 47.25 → 50.5 net units: energy 153.56 → 164.53, duty 15.36 → 16.45, and the fixed charge of
    # 0–50 units (45) becomes that of 51–100 (75).
    assert f"{after - before:.2f}" == "42.06"


def test_the_dashboard_json_has_import_export_and_net(store):
    fill_flows(store, MAY, 10)
    cfg = config()
    view = BillingJsonView(store, cfg, now_ms=lambda: ms(dt.date(2024, 5, 11)))
    s = view.summary()
    assert (s["import_units"], s["export_units"], s["net_units"]) == ("140.00", "87.50", "52.50")
    assert s["units_till_date"] == "52.50" and s["bill_till_date"] == "264.89"
    assert s["net_metering"]["billed_units"] == "52.5" and s["projection"]["net_units"] == s["projection"]["units"]


def test_export_on_a_tariff_that_does_not_settle_it_bills_import_and_says_so(store):
    fill_flows(store, MAY, 10)
    est = cycle_estimate(store, config(tariff="kerala-domestic").billing, BOOK, ms(dt.date(2024, 5, 11)))
    assert est.units == Decimal("140.00") and est.net is None
    # Billed on the 140 drawn, exactly as a house without a plant: 50 × 3.25 + 50 × 4.05 + 40 × 5.10
    # = 569.00, fixed (101–150) 100, duty 56.90.
    assert est.bill == compute_bill(BOOK.in_force("kerala-domestic", MAY), 140)
    assert f"{est.bill.total:.2f}" == "725.90"
    assert est.notes == (
        "the house exported 87.5 units this cycle, but tariff kerala-domestic does not settle export: billed "
        "on the units drawn; choose a net-metered tariff (e.g. kerala-domestic-solar) or add an [export] table "
        "to your tariff file",
    )
    assert est.as_json()["till_date"]["export_units"] == "87.50"


def test_time_of_day_reads_the_hours_drawn(store, tmp_path):
    (tmp_path / "tod.toml").write_text(
        'name = "tod-home"\neffective_from = 2024-01-01\nsource = "test"\ncycle_months = 1\n'
        '[[time_of_day]]\nlabel = "Peak"\nfrom = "18:00"\nto = "22:00"\npercent = 20\n'
        '[[energy]]\nmethod = "telescopic"\nslabs = [{ rate = 5.00 }]\n'
    )
    fill_flows(store, MAY, 10, lambda h: (1000, 0))  # 24 kWh a day, 4 of them 18:00–22:00
    section = config(tariff="tod-home", tariff_dir=str(tmp_path)).billing
    est = cycle_estimate(store, section, TariffBook.load(section.tariff_dir), ms(dt.date(2024, 5, 11)))
    # 240 units × 5 = 1200; peak: 20 % × 1200 × 40/240 = 40
    assert [(line.kind, f"{line.amount:.2f}") for line in est.bill.lines] == [
        ("energy", "1200.00"),
        ("time_of_day", "40.00"),
    ]
    assert est.net.import_units == 240 and est.units == 240


def test_closing_march_settles_the_bank_into_the_ledger(store):
    # February 2024 banks 29 days × 3.75 = 108.75 units; March (31 days) banks 116.25 more: the
    # cycle that closes the settlement year pays 225 units × ₹3.15 = ₹708.75 against its ₹45.00.
    surplus_day = lambda h: (500 if h < 7 or 17 <= h < 20 else 0, sunny_day(h)[1])  # noqa: E731
    fill_flows(store, dt.date(2024, 2, 1), 29 + 31, surplus_day)
    cfg = config(anchor=dt.date(2024, 2, 1))
    ctx = JobContext(store=store, config=cfg, now_ms=lambda: ms(dt.date(2024, 4, 2), 1), extras={})
    [row] = close_cycles(ctx)
    assert (row["cycle_start"], row["units"], row["amount_paise"]) == ("2024-03-01", "0", 0)
    labels = [(line["kind"], line["amount"]) for line in row["lines"]]
    assert labels == [("fixed", "45.00"), ("charge", "0.00"), ("export", "-708.75"), ("credit", "663.75")]
    [alert] = AlertStore(store).list(kind="bill_closed")
    assert "0 units (sensor), ₹0.00" in alert["message"]


def test_a_surplus_from_the_last_settlement_year_is_not_carried(store):
    # March 2024 banks 116.25 units, but its year ended on 31 March (paid out on March's bill).
    fill_flows(store, dt.date(2024, 3, 1), 31, lambda h: (500 if h < 7 or 17 <= h < 20 else 0, sunny_day(h)[1]))
    fill_flows(store, MAY, 10)
    est = cycle_estimate(store, config().billing, BOOK, ms(dt.date(2024, 5, 11)))
    assert est.net.banked_in == 0 and est.units == Decimal("52.50")
