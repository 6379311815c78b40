"""The houses `powergw model evaluate` judges on: real recordings, third-party generators and our simulators.

No numpy at import (the CLI lists SOURCES); each source loads when asked.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge_model import EdgeModelError

SOURCES = ("uci-development", "uci-holdout", "ramp", "richardson", "wide", "classic")


@dataclass
class House:
    """A clean house to judge on: its minutes and the state whose holidays it keeps."""

    name: str
    series: HouseSeries  # noqa: F821 - edge_model.series, imported when a source loads
    state: str = ""


def houses_of(source: str, count: int | None = None, days: int = 120) -> list[House]:
    """The clean houses of a source. UCI: six 120-day stretches of each part (overlapping where
    needed); ramp: the held-out RAMP households; richardson: richardsonpy's; wide: the wide simulated
    family on evaluation seeds; classic: today's simulator on the frozen clean evaluation seeds."""
    from edge_model import recordings
    from edge_model.dataset import EVAL_SEEDS, simulated_house
    from edge_model.series import HouseSeries

    if source.startswith("uci-"):
        rec = recordings.uci_house(source.removeprefix("uci-"))
        out = [House(r.name, HouseSeries(r.first_date, r.power_w)) for r in rec.stretches(days, 6)]
    elif source in ("ramp", "richardson"):
        recs = recordings.ramp_households("holdout") if source == "ramp" else recordings.richardson_households()
        out = [House(r.name, HouseSeries(r.first_date, r.power_w[: days * 1440])) for r in recs]
    elif source in ("wide", "classic"):
        first = EVAL_SEEDS if source == "wide" else EVAL_SEEDS + 100_000
        out = []
        for seed in range(first, first + (count or 16)):
            series, state = simulated_house(seed, days, source)
            out.append(House(f"{source}/{seed}", series, state))
    else:
        raise EdgeModelError(f"unknown source {source!r}; expected one of {', '.join(SOURCES)}")
    return out[:count] if count else out
