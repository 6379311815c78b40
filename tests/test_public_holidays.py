"""Public holidays with the state corrections, as billing's projection sees them."""

from __future__ import annotations


def test_projection_holidays_use_the_state_corrections():
    import datetime as dt

    from gateway.billing.estimate import holidays_for

    days = holidays_for("TN", {2026})
    assert dt.date(2026, 1, 15) in days  # Thai Pongal
    assert dt.date(2026, 3, 4) not in days  # Holi is not a Tamil Nadu holiday
