"""Public holidays with the state corrections, as billing's projection sees them."""

from __future__ import annotations


def test_projection_holidays_use_the_state_corrections():
    import datetime as dt

    from gateway.billing.estimate import holidays_for

    days = holidays_for("TN", {2026})
    assert dt.date(2026, 1, 15) in days  # Thai Pongal
    assert dt.date(2026, 3, 4) not in days  # Holi is not a Tamil Nadu holiday


def test_only_india_is_imported_and_its_holidays_are_the_packages():
    """gateway.public_holidays imports India's module alone (8 MB less than every country), and
    the holidays it gives are exactly those of the package imported the ordinary way afterwards."""
    import json
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent("""
        import json, sys
        from gateway.public_holidays import india_holidays
        ours = {state: sorted((d.isoformat(), n)
                              for d, n in india_holidays()(subdiv=state, years=(2025, 2026, 2027)).items())
                for state in ("TN", "KL", "DL", "MH")}
        loaded = sorted(m for m in sys.modules if m.startswith("holidays.countries"))
        import holidays
        from holidays.countries import India  # the real package, every country
        theirs = {state: sorted((d.isoformat(), n)
                                for d, n in holidays.India(subdiv=state, years=(2025, 2026, 2027)).items())
                  for state in ours}
        print(json.dumps({"loaded": loaded, "same": ours == theirs, "same_class": India is india_holidays(),
                          "countries": len([m for m in sys.modules if m.startswith("holidays.countries.")])}))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["loaded"] == ["holidays.countries.india"]
    assert result["same"] and result["same_class"]
    assert result["countries"] > 100  # the real holidays.countries loaded afterwards, with India reused
