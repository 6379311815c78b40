"""The overview's and the Usage page's figures through the API, on real SQLite files and a tariff simple enough
to bill by hand: today by hour (units, what each hour added to the bill, a usual day), the slab headline
(the projected bill minus the bill at the slab's edge), watts over time stacked up to the house, usage in
rupees; and the refusals of bad spans."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest

from local_ui import create_app
from tests.support.dashboard import ADMIN_PASSWORD, KITCHEN, MAINS, NOW_MS, login
from tests.support.hand_tariff import household_app, slab_bill

HOUR = 3_600_000


def test_today_by_hour_adds_up_to_todays_cost_against_a_usual_day(admin):
    over = admin.get("/api/v1/overview").get_json()
    today = over["today_hours"]
    hours = today["hours"]
    assert len(hours) == 24 and hours[1]["start_ms"] - hours[0]["start_ms"] == HOUR
    # 12:00 in India: 13 hours begun (the last just now); 1,400 W in whole hours up to 11:30 (the seed's).
    done = [h for h in hours if h["kwh"] is not None]
    assert len(done) == 13 and all(h["kwh"] is None and h["cost"] is None for h in hours[13:])
    assert [h["kwh"] for h in done[:11]] == [1.4] * 11 and done[11]["kwh"] == pytest.approx(0.7)
    assert sum(Decimal(h["cost"]) for h in done) == Decimal(over["today_cost"])  # the bill's growth today
    # A usual day: each hour's median of the 14 days before; by 12:00 that is 12 of its hours.
    assert today["usual_days"] == 14 and all(h["usual_kwh"] == pytest.approx(1.4) for h in hours)
    assert today["usual_kwh_so_far"] == pytest.approx(12 * 1.4, abs=0.01)
    assert over["has_readings"] is True


@pytest.mark.parametrize(
    "watts, kind",
    [
        (300, "over"),  # about 223 units by the cycle's end: the headline prices the 23 above 200
        (260, "near"),  # about 193 units: 7 below the ₹6 slab
        (100, None),  # about 74 units: no edge near
        (1500, None),  # about 1,116 units: far past the last edge
    ],
)
def test_slab_headline_is_the_projected_bill_minus_the_bill_at_the_edge(tmp_path, seeded, clock, watts, kind):
    client = household_app(tmp_path, clock, seeded, [], nodes=((MAINS, "mains", watts),))
    over = client.get("/api/v1/overview").get_json()
    head, bill = over["slab_headline"], over["bill"]
    projected = Decimal(str(bill["projection"]["units"])).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    if kind is None:
        assert head is None
        return
    assert head["kind"] == kind and head["projected_units"] == str(projected)
    if kind == "over":
        assert Decimal(bill["units_till_date"]) < 200 < projected
        assert head["boundary"] == "200" and head["units_over"] == str(projected - 200)
        assert Decimal(head["extra"]) == slab_bill(projected) - slab_bill(200)
        assert Decimal(head["extra"]) == Decimal(bill["projection"]["bill"]) - slab_bill(200)
    else:
        assert head["boundary"] == "200" and head["units_left"] == str(200 - projected)
        assert Decimal(head["rate_above"]) == slab_bill(201) - slab_bill(200) == Decimal("6.30")


def test_power_stacks_sub_circuits_and_the_rest_of_the_house(tmp_path, seeded, clock):
    client = household_app(tmp_path, clock, seeded, [MAINS])
    day = client.get(f"/api/v1/power?from={NOW_MS - 3 * HOUR}&to={NOW_MS}").get_json()
    assert day["step_ms"] == 60_000 and len(day["buckets"]) == 180 and day["sub_circuits"] is True
    assert [(p["key"], p["name"]) for p in day["parts"]] == [(KITCHEN, "kitchen"), ("rest", None)]
    heard = [i for i, w in enumerate(day["house_w"]) if w is not None]
    assert len(heard) == 150  # the seed's whole hours end at 11:30
    for i in heard:
        assert day["house_w"][i] == pytest.approx(1500, abs=0.2)  # the mains: the house
        assert day["parts"][0]["watts"][i] == pytest.approx(420, abs=0.2)
        assert day["parts"][1]["watts"][i] == pytest.approx(1080, abs=0.4)
    assert all(p["watts"][i] is None for p in day["parts"] for i in range(180) if i not in heard)
    # A week: wider buckets, never more than a day's 1,440 points, the same average watts.
    week = client.get(f"/api/v1/power?from={NOW_MS - 7 * 24 * HOUR}&to={NOW_MS}").get_json()
    assert week["step_ms"] == 7 * 60_000 and len(week["buckets"]) == 1440
    assert week["house_w"][100] == pytest.approx(1500, abs=0.2)


@pytest.mark.parametrize(
    "query, message",
    [
        (f"from={NOW_MS}&to={NOW_MS - 1}", "at least a minute before"),
        (f"from={NOW_MS - 32 * 24 * HOUR}&to={NOW_MS}", "more than 31 days"),
        (f"from={NOW_MS + 2 * HOUR}&to={NOW_MS + 3 * HOUR}", "in the future"),
        ("from=yesterday", "expected a whole number"),
        ("to=12", "expected 946684800000 to 4102444800000"),
    ],
)
def test_power_refuses_bad_spans(admin, query, message):
    resp = admin.get("/api/v1/power?" + query)
    assert resp.status_code == 400 and message in resp.get_json()["error"]["message"]


def test_usage_in_rupees_is_what_each_bucket_added_to_the_bill(tmp_path, seeded, clock):
    client = household_app(tmp_path, clock, seeded, [MAINS])
    over = client.get("/api/v1/overview").get_json()
    day = client.get("/api/v1/usage?period=day&money=true").get_json()
    assert day["total_cost"] == over["today_cost"]
    assert sum(Decimal(c) for _, c in day["total_cost_points"]) == Decimal(day["total_cost"])
    for i, (_, cost) in enumerate(day["total_cost_points"]):  # the parts share each hour's rupees exactly
        assert sum(Decimal(p["cost_points"][i][1]) for p in day["parts"]) == Decimal(cost)
    # The cycle so far, day by day from its first unit: the bill's energy and duty, without the fixed charge.
    cycle = client.get("/api/v1/usage?period=cycle&money=true").get_json()
    assert Decimal(cycle["total_cost"]) == slab_bill(Decimal(over["bill"]["units_till_date"])) - slab_bill(0)
    # The units: the kitchen and the rest stack to the mains' total.
    for b, kwh in cycle["total_points"]:
        assert sum(dict(p["points"]).get(b, 0) for p in cycle["parts"]) == pytest.approx(kwh, abs=1e-5)
    one = client.get(f"/api/v1/usage?period=day&money=true&node={KITCHEN}").get_json()
    assert one["cost_unavailable"] == "rupees are shown for the whole house only" and "total_cost" not in one


def test_a_gateway_with_no_reading_yet(tmp_path, clock):
    app = create_app(tmp_path / "new.db", clock=clock, admin_password=ADMIN_PASSWORD, registry_root=tmp_path / "models")
    client = app.test_client()
    login(client)
    over = client.get("/api/v1/overview").get_json()
    assert over["has_readings"] is False and over["slab_headline"] is None and over["power_w"] is None
    assert over["bill"]["cycle"]["covered_days"] == 0
    assert all(h["kwh"] in (0, None) and h["usual_kwh"] is None for h in over["today_hours"]["hours"])
    power = client.get(f"/api/v1/power?from={NOW_MS - HOUR}&to={NOW_MS}").get_json()
    assert power["parts"] == [] and set(power["house_w"]) == {None}


def test_the_manifest_offers_png_icons_for_home_screens(admin):
    import json
    import struct

    manifest = json.loads(admin.get("/manifest.webmanifest").data)
    pngs = {(i["sizes"], i["purpose"]): i["src"] for i in manifest["icons"] if i["type"] == "image/png"}
    assert set(pngs) == {("192x192", "any"), ("512x512", "any"), ("192x192", "maskable"), ("512x512", "maskable")}
    for (sizes, _), src in pngs.items():
        resp = admin.get(src)
        assert resp.status_code == 200 and resp.mimetype == "image/png"
        assert resp.data[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = struct.unpack(">II", resp.data[16:24])  # the IHDR chunk
        assert f"{width}x{height}" == sizes


def test_less_than_a_day_of_readings_makes_no_slab_headline(tmp_path, seeded, clock):
    client = household_app(tmp_path, clock, seeded, [], nodes=((MAINS, "mains", 300),))
    assert client.get("/api/v1/overview").get_json()["slab_headline"]["kind"] == "over"  # 40 days: about 223 units
    (tmp_path / "new").mkdir()
    young = household_app(tmp_path / "new", clock, seeded, [], nodes=((MAINS, "mains", 300),), days=0.25)
    over = young.get("/api/v1/overview").get_json()
    assert over["bill"]["cycle"]["covered_days"] == 0.25 and over["slab_headline"] is None


class TnLikePricing:
    """Tamil Nadu's shape: ₹0 to 100, rising slabs, and past 500 every unit is repriced at the higher rates."""

    boundaries = [Decimal(b) for b in (100, 200, 400, 500, 600, 800, 1000)]

    def bill(self, units):
        units = Decimal(units)
        if units <= 500:
            rates = ((100, 0), (200, Decimal("2.35")), (400, Decimal("4.70")), (500, Decimal("6.30")))
        else:
            rates = (
                (100, 0),
                (400, Decimal("4.70")),
                (500, Decimal("6.30")),
                (600, Decimal("8.40")),
                (800, Decimal("9.45")),
                (1000, Decimal("10.50")),
                (10**6, Decimal("11.55")),
            )
        total, low = Decimal(0), Decimal(0)
        for top, rate in rates:
            total += max(Decimal(0), min(units, Decimal(top)) - low) * rate
            low = Decimal(top)
        return total


@pytest.mark.parametrize(
    "now, projected, want",
    [
        (342, 568, ("over", 500)),  # 68 over the 500 cliff (₹1,000 or so) beats the next unit past 600
        (342, 480, ("over", 400)),  # 80 over 400 at ₹6.30 (₹504) outweighs the ₹243 jump at the 501st unit
        (342, 495, ("near", 500)),  # 95 over 400 is beyond a fifth of it: 5 below the cliff is the headline
        (342, 440, ("over", 400)),  # 60 below 500 is not near; 40 over 400 is
        (520, 568, ("near", 600)),  # 500 is behind the cycle already
        (150, 170, None),  # 30 below 200: not near, and no edge run over
    ],
)
def test_the_headline_is_the_edge_with_the_most_money_at_stake(now, projected, want):
    from local_ui.api.today import headline_edge

    got = headline_edge(TnLikePricing(), Decimal(now), Decimal(projected))
    assert got == (None if want is None else (want[0], Decimal(want[1])))
