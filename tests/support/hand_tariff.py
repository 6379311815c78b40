"""A made-up monthly tariff a test can bill by hand, and a dashboard on it over seeded usage."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from local_ui import create_app
from tests.support.dashboard import ADMIN_PASSWORD, KITCHEN, MAINS, login

# A made-up monthly tariff, so the test can bill by hand: telescopic ₹3 up to 100 units, ₹4.50 up to
# 200, ₹6 above; a flat ₹50 fixed charge; 5 % duty on energy. Each line is rounded to paise, half up.
SLAB_TARIFF = """
name = "test-slabs"
effective_from = 2025-01-01
source = "made up for the dashboard tests"
cycle_months = 1

[[energy]]
method = "telescopic"
slabs = [{ up_to = 100, rate = 3 }, { up_to = 200, rate = 4.50 }, { rate = 6 }]

[[fixed]]
label = "Fixed charge"
basis = "flat"
per = "month"
amount = 50

[[charges]]
id = "duty"
label = "Electricity duty 5%"
percent = 5
on = ["energy"]
"""


def slab_bill(units: str) -> Decimal:
    """SLAB_TARIFF's bill for a cycle's units, worked out by hand."""
    paise = Decimal("0.01")
    left, energy = Decimal(units), Decimal(0)
    for width, rate in ((Decimal(100), Decimal(3)), (Decimal(100), Decimal("4.50")), (None, Decimal(6))):
        here = left if width is None else min(left, width)
        energy += (here * rate).quantize(paise, rounding=ROUND_HALF_UP)
        left -= here
    duty = (energy * Decimal("0.05")).quantize(paise, rounding=ROUND_HALF_UP)
    return energy + duty + Decimal(50)


def household_app(
    tmp_path,
    clock,
    seeded,
    metered_nodes,
    meter_reading_date="2026-01-11",
    nodes=((KITCHEN, "kitchen", 420), (MAINS, "mains", 1500)),
    days=40,
):
    """`days` of `nodes` ((id, name, W), ...; by default mains 1500 W and a 420 W kitchen) on SLAB_TARIFF,
    cycles from the 11th; a test client logged in as admin."""
    from gateway.config import parse_config

    db = tmp_path / "household.db"
    seeded(db, nodes=nodes, days=days)
    tariffs = tmp_path / "tariffs"
    tariffs.mkdir()
    (tariffs / "test-slabs.toml").write_text(SLAB_TARIFF)
    config = parse_config(
        {
            "billing": {
                "tariff": "test-slabs",
                "tariff_dir": str(tariffs),
                "metered_nodes": metered_nodes,
                **({"meter_reading_date": meter_reading_date} if meter_reading_date else {}),
            }
        }
    )
    client = create_app(
        db, config=config, clock=clock, admin_password=ADMIN_PASSWORD, registry_root=tmp_path / "models"
    ).test_client()
    login(client)
    return client
