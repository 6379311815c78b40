"""Generate the RAMP evaluation households kept in edge_model/eval_data/ramp_households.npz.

RAMP (rampdemand, EUPL-1.2) builds stochastic minute-by-minute load profiles bottom-up from
appliances, their power, daily time of use and windows; it was made for households in
developing countries. Its example inputs (ramp/example/input_file_1.py: low to high income
households with lights, TV, fridge/freezer duty cycles, mixer) are the model for the household
types in ramp_household_types.py, extended with what an Indian home runs: ceiling fans and ACs
by season, a geyser in the cold months, a water pump, and the always-on loads (router, set-top
box, inverter/UPS losses, water purifier, CCTV) that set the night floor.

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
from ramp_household_types import CLIMATES, COUNT_TRAITS, TYPES

from edge_model.minute_recording import Recording
from edge_model.recordings import EVAL_DATA, RAMP_FILE, save_households

HOUSEHOLDS = 48
TRAIN = 32  # the first 32 train, the last 16 are held out; types alternate so both span every type
DAYS = 120
FIRST_SEED = 20_000
YEAR = 2023  # each household's 120 days start on a day of this year drawn from its seed


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


NIGHT = ((0, 360), (1_320, 1_440))  # the hours in bed, minutes after midnight


def _steady_loads(t: dict, heat: float, always_on_w: np.ndarray) -> list[Use]:
    """The loads on all day and night: the always-on floor, a night light, the fridge and freezer duty cycles."""
    return [
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
    ]


def _fans(t: dict, heat: float) -> list[Use]:
    """Ceiling fans at night, by day on weekdays and weekends, and in the evening; more of them the hotter it is."""
    hot_night = float(np.clip(0.15 + 1.1 * heat, 0, 1))
    people = t["occupants"]
    return [
        Use(
            "bedroom fans",
            max(1, min(t["fans"], (people + 1) // 2)),
            t["fan_w"] * 0.85,
            420,
            NIGHT,
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
    ]


def _lights_and_tv(t: dict, cold: float) -> list[Use]:
    """Lights in the evening and, more in the cold months, the early morning; the TV."""
    return [
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
    ]


def _air_conditioners(t: dict, heat: float) -> list[Use]:
    """Bedroom ACs at night (inverter ACs all night for those who keep them on) and daytime ACs on hot weekends."""
    ac_night = float(np.clip((heat - (0.2 if t.get("all_night_ac") else 0.45)) * 2.2, 0, 0.95))
    return [
        Use(
            "bedroom ACs",
            t.get("acs", 0),
            1,
            int(300 + 120 * heat),
            NIGHT,
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
            NIGHT,
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
    ]


def _kitchen_and_water(t: dict, cold: float) -> list[Use]:
    """The geyser on cold mornings, the water pump and the kitchen appliances."""
    people = t["occupants"]
    return [
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
    ]


def _chores_and_devices(t: dict) -> list[Use]:
    """Washing machine, iron, computer, water purifier and phone chargers."""
    return [
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


def uses(t: dict, heat: float, cold: float, always_on_w: np.ndarray) -> list[Use]:
    """What the household runs on the days of a month with this heat and cold (0..1); always_on_w per day."""
    rows = [
        *_steady_loads(t, heat, always_on_w),
        *_fans(t, heat),
        *_lights_and_tv(t, cold),
        *_air_conditioners(t, heat),
        *_kitchen_and_water(t, cold),
        *_chores_and_devices(t),
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
