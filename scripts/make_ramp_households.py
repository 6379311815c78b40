"""Generate the RAMP evaluation households kept in edge_model/eval_data/ramp_households.npz.

RAMP (rampdemand, EUPL-1.2) builds stochastic minute-by-minute load profiles bottom-up from
appliances, their power, daily time of use and windows; it was made for households in
developing countries. Its example inputs (ramp/example/input_file_1.py: low to high income
households with lights, TV, fridge/freezer duty cycles, mixer) are the model for the household
types below, extended with what an Indian home runs: ceiling fans and ACs by season, a geyser in
the cold months, a water pump, and the always-on loads (router, set-top box, inverter/UPS
losses, water purifier, CCTV) that set the night floor.

Each household is drawn from fixed seeds: its type's traits from numpy, then RAMP month by month
(the appliances' use follows that month's heat and cold in its climate), with Python's `random`
seeded per month, which is all RAMP draws from. Run with the evaluation extra (Python < 3.12):

    .venv/bin/pip install -e '.[evaluation]'
    .venv/bin/python scripts/make_ramp_households.py

The output is ours to keep; the tests and the evaluation read it and never need rampdemand.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import random
import sys
import warnings
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import numpy as np

from edge_model.minute_recording import Recording
from edge_model.recordings import EVAL_DATA, RAMP_FILE, save_households

HOUSEHOLDS = 48
TRAIN = 32  # the first 32 train, the last 16 are held out; types alternate so both span every type
DAYS = 120
FIRST_SEED = 20_000
YEAR = 2023  # each household's 120 days start on a day of this year drawn from its seed

# How warm (fans, ACs, coolers) and how cold (geyser) each month is, 0..1, January first.
CLIMATES = {
    "north": (
        (0.0, 0.05, 0.3, 0.7, 1.0, 1.0, 0.8, 0.75, 0.7, 0.45, 0.1, 0.0),
        (1.0, 0.8, 0.3, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.1, 0.5, 0.95),
    ),
    "coastal": (
        (0.5, 0.6, 0.75, 0.9, 1.0, 0.95, 0.85, 0.85, 0.85, 0.75, 0.6, 0.5),
        (0.2, 0.1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.1, 0.2),
    ),
    "inland south": (
        (0.25, 0.4, 0.65, 0.8, 0.8, 0.55, 0.45, 0.45, 0.5, 0.45, 0.3, 0.2),
        (0.6, 0.4, 0.1, 0.0, 0.0, 0.0, 0.1, 0.1, 0.1, 0.2, 0.4, 0.6),
    ),
}

# Household types: each trait is (probability of owning it, low, high); counts are integers drawn
# in [low, high], ratings uniform in [low, high] W. A trait not owned is 0.
TYPES = {
    "rural low income": dict(
        occupants=(1, 3, 6),
        always_on_w=(1, 15, 35),
        night_light_w=(0.7, 5, 15),
        fridge_w=(0.4, 90, 130),
        fans=(1, 1, 2),
        fan_w=(1, 50, 75),
        lights=(1, 3, 5),
        light_w=(1, 9, 20),
        tvs=(0.8, 1, 1),
        tv_w=(1, 50, 90),
        pump_w=(0.3, 370, 370),
        mixer_w=(0.6, 400, 550),
        iron_w=(0.3, 750, 750),
        chargers=(1, 2, 4),
    ),
    "urban 1BHK": dict(
        occupants=(1, 1, 3),
        always_on_w=(1, 25, 60),
        night_light_w=(0.3, 5, 15),
        fridge_w=(1, 100, 150),
        fans=(1, 2, 3),
        fan_w=(1, 50, 75),
        lights=(1, 4, 7),
        light_w=(1, 9, 18),
        tvs=(0.9, 1, 1),
        tv_w=(1, 60, 120),
        acs=(0.3, 1, 1),
        ac_w=(1, 900, 1_200),
        geyser_w=(0.6, 1_500, 2_000),
        mixer_w=(1, 500, 750),
        microwave_w=(0.4, 1_000, 1_200),
        washer_w=(0.6, 350, 450),
        iron_w=(0.7, 1_000, 1_000),
        computer_w=(0.4, 60, 120),
        chargers=(1, 2, 4),
    ),
    "urban 2BHK": dict(
        occupants=(1, 3, 5),
        always_on_w=(1, 40, 100),
        fridge_w=(1, 140, 200),
        fans=(1, 3, 4),
        fan_w=(1, 55, 80),
        lights=(1, 6, 10),
        light_w=(1, 9, 20),
        tvs=(1, 1, 2),
        tv_w=(1, 80, 140),
        acs=(0.8, 1, 1),
        ac_w=(1, 1_000, 1_500),
        geyser_w=(0.8, 2_000, 2_000),
        pump_w=(0.6, 370, 750),
        mixer_w=(1, 550, 750),
        microwave_w=(0.6, 1_100, 1_400),
        induction_w=(0.3, 1_500, 1_800),
        washer_w=(0.9, 400, 500),
        iron_w=(0.8, 1_000, 1_000),
        computer_w=(0.5, 60, 150),
        purifier_w=(0.7, 25, 40),
        chargers=(1, 3, 5),
    ),
    "upper-middle 3BHK": dict(
        occupants=(1, 4, 6),
        always_on_w=(1, 80, 200),
        fridge_w=(1, 160, 220),
        freezer_w=(0.5, 120, 180),
        fans=(1, 4, 6),
        fan_w=(1, 55, 80),
        lights=(1, 10, 16),
        light_w=(1, 9, 20),
        tvs=(1, 2, 2),
        tv_w=(1, 100, 150),
        acs=(1, 2, 3),
        ac_w=(1, 1_200, 1_700),
        geysers=(1, 2, 2),
        geyser_w=(1, 2_000, 2_000),
        pump_w=(1, 750, 1_100),
        mixer_w=(1, 600, 750),
        microwave_w=(1, 1_200, 1_500),
        induction_w=(0.5, 1_600, 2_000),
        washer_w=(1, 450, 550),
        iron_w=(1, 1_000, 1_000),
        computers=(1, 1, 2),
        computer_w=(1, 80, 200),
        purifier_w=(1, 25, 40),
        chargers=(1, 4, 7),
    ),
    "joint-family bungalow": dict(
        occupants=(1, 6, 10),
        always_on_w=(1, 150, 350),
        fridge_w=(1, 180, 250),
        freezer_w=(1, 150, 250),
        fans=(1, 6, 8),
        fan_w=(1, 60, 80),
        lights=(1, 15, 25),
        light_w=(1, 12, 25),
        tvs=(1, 2, 3),
        tv_w=(1, 100, 160),
        acs=(1, 3, 4),
        ac_w=(1, 1_500, 2_000),
        day_acs=(1, 1, 2),
        geysers=(1, 2, 3),
        geyser_w=(1, 2_000, 3_000),
        pump_w=(1, 1_100, 1_100),
        mixer_w=(1, 600, 800),
        microwave_w=(1, 1_200, 1_500),
        induction_w=(0.7, 1_800, 2_000),
        washer_w=(1, 500, 600),
        iron_w=(1, 1_000, 1_200),
        computers=(1, 1, 3),
        computer_w=(1, 80, 200),
        purifier_w=(1, 30, 45),
        chargers=(1, 6, 10),
    ),
    "elders, AC every night": dict(
        occupants=(1, 2, 3),
        always_on_w=(1, 60, 150),
        night_light_w=(1, 5, 15),
        fridge_w=(1, 140, 200),
        fans=(1, 2, 3),
        fan_w=(1, 55, 75),
        lights=(1, 5, 8),
        light_w=(1, 9, 18),
        tvs=(1, 1, 1),
        tv_w=(1, 80, 140),
        acs=(1, 1, 2),
        ac_w=(1, 900, 1_400),
        all_night_ac=(1, 1, 1),
        geyser_w=(0.7, 1_500, 2_000),
        mixer_w=(1, 500, 700),
        washer_w=(0.8, 350, 450),
        iron_w=(0.5, 1_000, 1_000),
        purifier_w=(0.6, 25, 40),
        chargers=(1, 1, 3),
    ),
}
COUNT_TRAITS = {
    "occupants",
    "fans",
    "lights",
    "tvs",
    "acs",
    "day_acs",
    "all_night_ac",
    "geysers",
    "computers",
    "chargers",
}


def draw_traits(kind: str, rng: np.random.Generator) -> dict:
    """The household's traits: every trait of its type drawn once, 0 when not owned."""
    traits = {}
    for name, (p, lo, hi) in TYPES[kind].items():
        owned = rng.random() < p
        value = int(rng.integers(lo, hi + 1)) if name in COUNT_TRAITS else float(rng.uniform(lo, hi))
        traits[name] = value if owned else 0
    for count, rating in (("geysers", "geyser_w"), ("computers", "computer_w"), ("tvs", "tv_w")):
        traits.setdefault(count, 1 if traits.get(rating) else 0)
    return traits


@dataclass(frozen=True)
class Use:
    """One RAMP appliance: how many, W, minutes a day, windows (minutes after midnight) and how it varies."""

    name: str
    number: int
    power_w: float | np.ndarray  # an array: one rating per day of the month's run
    minutes: int
    windows: tuple
    func_cycle: int = 5
    time_var: float = 0.4
    window_var: float = 0.25
    occasional: float = 1.0
    flat: bool = False
    days: int = 2  # RAMP's wd_we_type: 0 weekdays, 1 weekends, 2 every day
    cycle: tuple | None = None  # (W on, minutes on, W off, minutes off), repeated while it is on


def uses(t: dict, heat: float, cold: float, always_on_w: np.ndarray) -> list[Use]:
    """What the household runs on the days of a month with this heat and cold (0..1); always_on_w per day."""
    night = ((0, 360), (1_320, 1_440))
    hot_night = float(np.clip(0.15 + 1.1 * heat, 0, 1))
    ac_night = float(np.clip((heat - (0.2 if t.get("all_night_ac") else 0.45)) * 2.2, 0, 0.95))
    people = t["occupants"]
    rows = [
        Use(
            "always-on (router, set-top box, inverter losses, purifier, CCTV)",
            1,
            always_on_w,
            1_440,
            ((0, 1_440),),
            func_cycle=1,
            time_var=0,
            window_var=0,
            flat=True,
        ),
        Use(
            "night light",
            1,
            t.get("night_light_w", 0),
            510,
            ((0, 360), (1_290, 1_440)),
            func_cycle=1,
            time_var=0,
            window_var=0.05,
            flat=True,
        ),
        Use(
            "fridge",
            1,
            1,
            1_440,
            ((0, 1_440),),
            func_cycle=30,
            time_var=0,
            window_var=0,
            cycle=(t.get("fridge_w", 0), int(14 + 10 * heat), 3, int(26 - 10 * heat)),
        ),
        Use(
            "freezer",
            1,
            1,
            1_440,
            ((0, 1_440),),
            func_cycle=30,
            time_var=0,
            window_var=0,
            cycle=(t.get("freezer_w", 0), int(18 + 8 * heat), 2, int(22 - 8 * heat)),
        ),
        Use(
            "bedroom fans",
            max(1, min(t["fans"], (people + 1) // 2)),
            t["fan_w"] * 0.85,
            420,
            night,
            func_cycle=60,
            occasional=hot_night,
        ),
        Use(
            "daytime fans, weekdays",
            max(1, t["fans"] // 2),
            t["fan_w"],
            int(60 + 300 * heat),
            ((600, 1_110),),
            func_cycle=45,
            occasional=float(np.clip(heat + 0.1, 0, 1)),
            days=0,
        ),
        Use(
            "daytime fans, weekends",
            t["fans"],
            t["fan_w"],
            int(120 + 420 * heat),
            ((540, 1_140),),
            func_cycle=45,
            occasional=float(np.clip(heat + 0.2, 0, 1)),
            days=1,
        ),
        Use(
            "evening fans",
            max(1, t["fans"] // 2),
            t["fan_w"],
            180,
            ((1_110, 1_380),),
            func_cycle=30,
            occasional=float(np.clip(heat + 0.1, 0, 1)),
        ),
        Use("lights, evening", t["lights"], t["light_w"], 240, ((1_070, 1_420),), func_cycle=30, window_var=0.1),
        Use(
            "lights, morning",
            max(1, t["lights"] // 3),
            t["light_w"],
            45,
            ((330, 450),),
            func_cycle=10,
            occasional=0.3 + 0.6 * cold,
        ),
        Use("TV", t["tvs"], t.get("tv_w", 0), 200, ((1_140, 1_410), (720, 900)), func_cycle=30, occasional=0.85),
        Use(
            "bedroom ACs",
            t.get("acs", 0),
            1,
            int(300 + 120 * heat),
            night,
            func_cycle=60,
            occasional=ac_night,
            cycle=(t.get("ac_w", 0), 20, t.get("ac_w", 0) * 0.25, 10),
        )
        if not t.get("all_night_ac")
        # Inverter ACs kept on from bedtime to morning: a steady low compressor speed, never off.
        else Use(
            "inverter ACs, all night",
            t["acs"],
            1,
            460,
            night,
            func_cycle=20,
            time_var=0.05,
            window_var=0.05,
            occasional=ac_night,
            cycle=(t["ac_w"] * 0.55, 20, t["ac_w"] * 0.35, 10),
        ),
        Use(
            "daytime ACs, weekends",
            t.get("day_acs", 0),
            1,
            int(240 * heat),
            ((780, 1_140),),
            func_cycle=60,
            occasional=float(np.clip((heat - 0.6) * 2.5, 0, 1)),
            days=1,
            cycle=(t.get("ac_w", 0), 20, t.get("ac_w", 0) * 0.25, 10),
        ),
        Use(
            "geyser",
            t.get("geysers", 0),
            t.get("geyser_w", 0),
            max(8, int(12 * people * cold)),
            ((330, 570),),
            func_cycle=8,
            occasional=cold,
        ),
        Use("water pump", 1, t.get("pump_w", 0), 20 + 3 * people, ((330, 480), (1_020, 1_140)), func_cycle=10),
        Use("mixer-grinder", 1, t.get("mixer_w", 0), 10, ((390, 540), (1_140, 1_260)), func_cycle=2, time_var=0.5),
        Use("microwave", 1, t.get("microwave_w", 0), 10, ((450, 540), (1_170, 1_290)), func_cycle=2, occasional=0.6),
        Use(
            "induction cooktop",
            1,
            t.get("induction_w", 0),
            40,
            ((390, 510), (1_140, 1_260)),
            func_cycle=10,
            occasional=0.7,
        ),
        Use(
            "washing machine, weekends",
            1,
            t.get("washer_w", 0),
            70,
            ((540, 840),),
            func_cycle=50,
            occasional=0.7,
            days=1,
            cycle=(t.get("washer_w", 0), 3, 60, 2),
        ),
        Use(
            "washing machine, weekdays",
            1,
            t.get("washer_w", 0),
            70,
            ((480, 720),),
            func_cycle=50,
            occasional=0.15,
            days=0,
            cycle=(t.get("washer_w", 0), 3, 60, 2),
        ),
        Use(
            "iron",
            1,
            t.get("iron_w", 0),
            25,
            ((420, 600), (1_080, 1_200)),
            func_cycle=10,
            occasional=0.4,
            cycle=(t.get("iron_w", 0), 1, 0, 1),
        ),
        Use("computer", t.get("computers", 0), t.get("computer_w", 0), 360, ((570, 1_110),), func_cycle=60, days=0),
        Use("water purifier", 1, t.get("purifier_w", 0), 60, ((360, 1_320),), func_cycle=10),
        Use("phone chargers", t["chargers"], 8, 120, ((1_260, 1_440), (0, 120)), func_cycle=30),
    ]
    return [
        u
        for u in rows
        if u.number > 0 and u.minutes > 0 and u.occasional > 0 and np.max(u.cycle[0] if u.cycle else u.power_w) > 0
    ]


def add(user, use: Use) -> None:
    import pandas as pd

    windows = list(use.windows)
    # RAMP keeps a constant rating as 367 daily values and compares appliances value by value, so a
    # daily series is padded (with its last day) to the same length.
    if np.ndim(use.power_w):
        power = pd.DataFrame(np.pad(use.power_w, (0, 367 - len(use.power_w)), mode="edge"))
    else:
        power = float(use.power_w)
    app = user.add_appliance(
        number=use.number,
        power=power,
        num_windows=len(windows),
        func_time=use.minutes,
        time_fraction_random_variability=use.time_var,
        func_cycle=use.func_cycle,
        fixed="no",
        fixed_cycle=1 if use.cycle else 0,
        occasional_use=use.occasional,
        flat="yes" if use.flat else "no",
        wd_we_type=use.days,
        name=use.name,
    )
    padded = windows + [[0, 0]] * (3 - len(windows))
    app.windows(
        window_1=list(padded[0]),
        window_2=list(padded[1]),
        random_var_w=use.window_var,
        window_3=list(padded[2]) if len(windows) == 3 else None,
    )
    if use.cycle:
        p_on, t_on, p_off, t_off = use.cycle
        app.specific_cycle_1(p_11=float(p_on), t_11=t_on, p_12=float(p_off), t_12=t_off, r_c1=0.2)
        app.cycle_behaviour(cw11=[0, 1_440])


def month_chunks(first: dt.date, days: int) -> list[tuple[dt.date, dt.date]]:
    """(first, last) dates of each calendar month's part of the days from first."""
    chunks, day, last = [], first, first + dt.timedelta(days=days - 1)
    while day <= last:
        next_month = (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        end = min(last, next_month - dt.timedelta(days=1))
        chunks.append((day, end))
        day = end + dt.timedelta(days=1)
    return chunks


def household(index: int) -> tuple[Recording, dict]:
    from ramp.core.core import UseCase, User

    seed = FIRST_SEED + index
    kind = list(TYPES)[index % len(TYPES)]
    rng = np.random.default_rng([seed, 0x4A3])
    traits = draw_traits(kind, rng)
    climate = list(CLIMATES)[int(rng.integers(len(CLIMATES)))]
    first = dt.date(YEAR, 1, 1) + dt.timedelta(days=int(rng.integers(0, 365)))
    heat_by_month, cold_by_month = CLIMATES[climate]
    # The always-on loads drift from day to day (an inverter's battery topping up, a purifier's tank).
    always_on_w = traits["always_on_w"] * rng.uniform(0.85, 1.15, DAYS)
    parts = []
    for n, (start, end) in enumerate(month_chunks(first, DAYS)):
        random.seed(seed * 100 + n)  # RAMP draws only from Python's random
        user = User(user_name=f"household {index}", num_users=1)
        offset = (start - first).days
        month_always_on = always_on_w[offset : offset + (end - start).days + 1]
        for use in uses(traits, heat_by_month[start.month - 1], cold_by_month[start.month - 1], month_always_on):
            add(user, use)
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            case = UseCase(users=[user], date_start=start.isoformat(), date_end=end.isoformat())
            parts.append(case.generate_daily_load_profiles(flat=True))
    power = np.concatenate(parts)
    described = ", ".join(f"{k} {v:.0f}" for k, v in traits.items() if v)
    name = f"ramp-{index:02d}"
    note = f"RAMP household {index} ({kind}, {climate} climate, seed {seed}): {described}"
    return Recording(name, "ramp", first, power, note), {
        "name": name,
        "type": kind,
        "climate": climate,
        "seed": seed,
        "traits": traits,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=EVAL_DATA / RAMP_FILE)
    parser.add_argument("--households", type=int, default=HOUSEHOLDS)
    args = parser.parse_args(argv)
    recordings, described = [], []
    for index in range(args.households):
        recording, about = household(index)
        recordings.append(recording)
        described.append(about)
        kwh = np.asarray(recording.power_w, dtype=np.float64).reshape(-1, 1_440).mean(axis=1) * 24 / 1_000
        print(f"{recording.name} {about['type']:<24} {about['climate']:<13} {np.median(kwh):5.1f} kWh/day", flush=True)
    meta = {
        "source": "ramp",
        "note": (
            "Households generated with RAMP (rampdemand, EUPL-1.2; Lombardi et al., Energy 2019) from household "
            "types adapted from its example inputs, at 1-minute resolution, rounded to whole W."
        ),
        "command": ".venv/bin/python scripts/make_ramp_households.py",
        "rampdemand": version("rampdemand"),
        "days": DAYS,
        "splits": {
            "train": [0, min(TRAIN, len(recordings))],
            "holdout": [min(TRAIN, len(recordings)), len(recordings)],
        },
        "households": described,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_households(args.out, recordings, meta)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
