"""The wide household family: the classic family's determinism, and the range of real homes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import time

import numpy as np
import pytest

from gateway.simulation.household import Household
from gateway.simulation.load_stats import family_household, figures, night_floor_w, simulated_minutes
from gateway.simulation.wide_draw import random_wide_profile
from gateway.simulation.wide_household import AWAY, _episode, _wide_day
from gateway.simulation.wide_tables import CLIMATES, SIZE_NAMES

UTC = dt.UTC


def _profile(seed: int):
    return random_wide_profile(np.random.default_rng([seed, 0x5EED]))


def test_same_profile_seed_and_time_give_identical_samples():
    start = dt.datetime(2024, 12, 3, 18, 0, tzinfo=UTC)
    a = Household(_profile(4), seed=4).power_w(start, 3_600, 1.0)
    b = Household(_profile(4), seed=4).power_w(start, 3_600, 1.0)
    c = Household(_profile(4), seed=5).power_w(start, 3_600, 1.0)
    assert a.dtype == np.float64 and a.shape == (3_600,)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_random_wide_profiles_are_reproducible_and_span_the_sizes_and_climates():
    a = [_profile(s) for s in range(60)]
    assert a == [_profile(s) for s in range(60)]
    assert {p.name for p in a} == {name for _, name in SIZE_NAMES}
    assert {p.climate for p in a} == set(CLIMATES)
    assert min(p.occupants for p in a) == 1 and max(p.occupants for p in a) >= 6
    assert sum(not p.fridges for p in a) >= 2 and max(len(p.fridges) for p in a) >= 2
    assert any(p.heaters for p in a) and any(inverter for p in a for _, inverter in p.acs)


@pytest.mark.parametrize("seed", [3, 11, 26])
def test_random_chunk_boundaries_over_two_days_match_one_call(seed):
    start = dt.datetime(2024, 1, 30, 9, 13, 7, tzinfo=UTC)  # crosses two local midnights
    n, step_s = 2 * 2_880, 30.0
    whole = Household(_profile(seed), seed).power_w(start, n, step_s)
    house = Household(_profile(seed), seed)
    cuts = np.sort(np.random.default_rng(seed).choice(np.arange(1, n), size=25, replace=False))
    bounds = [0, *cuts.tolist(), n]
    parts = [
        house.power_w(start + dt.timedelta(seconds=a * step_s), b - a, step_s)
        for a, b in zip(bounds, bounds[1:], strict=False)
    ]
    assert np.array_equal(whole, np.concatenate(parts))


def test_a_late_chunk_equals_the_same_samples_of_a_long_run():
    # Episodes (away, guests, cold spells) and slow drift must not depend on where a run starts.
    start = dt.datetime(2024, 1, 1, tzinfo=UTC)
    year = Household(_profile(7), seed=7).power_w(start, 366 * 1440, 60.0)
    for day in (45, 200, 340):
        later = start + dt.timedelta(days=day, minutes=17)
        chunk = Household(_profile(7), seed=7).power_w(later, 90, 60.0)
        offset = day * 1440 + 17
        assert np.array_equal(chunk, year[offset : offset + 90])


def test_a_year_at_one_minute_is_fast_and_a_live_second_is_cheap():
    house = Household(_profile(36), seed=36)  # a 3BHK in the north: ACs, heaters, geyser
    t0 = time.perf_counter()
    year = house.power_w(dt.datetime(2024, 1, 1, tzinfo=UTC), 366 * 1440, 60.0)
    assert time.perf_counter() - t0 < 3.0
    assert np.all(year >= 0) and np.all(np.isfinite(year))
    start = dt.datetime(2024, 1, 1, tzinfo=UTC)
    t0 = time.perf_counter()
    for i in range(500):
        house.power_w(start + dt.timedelta(seconds=i), 1)
    assert (time.perf_counter() - t0) / 500 < 0.002


def test_episodes_cover_runs_of_whole_days():
    first = dt.date(2023, 1, 1).toordinal()
    covered = np.array([_episode(99, AWAY, first + i, lambda m: 20.0) > 0 for i in range(3 * 365)])
    runs = [len(list(days)) for on, days in itertools.groupby(covered) if on][1:-1]  # whole runs only
    assert len(runs) >= 20
    assert min(runs) >= AWAY.min_days
    assert 0.05 < covered.mean() < 0.4
    other_seed = np.array([_episode(100, AWAY, first + i, lambda m: 20.0) > 0 for i in range(3 * 365)])
    assert not np.array_equal(covered, other_seed)


def test_away_days_draw_little_more_than_the_standing_loads():
    profile = dataclasses.replace(_profile(12), away_per_year=12.0)
    first = dt.date(2024, 2, 1)
    away = np.array([_wide_day(profile, 12, first + dt.timedelta(days=i), "").people == 0 for i in range(90)])
    kwh = simulated_minutes(profile, 12, first, 90).mean(axis=1) * 24 / 1000
    assert 5 <= away.sum() <= 60
    gone = away.copy()  # the first day away still has the night at home before it
    gone[0] = False
    gone[1:] &= away[:-1]
    assert gone.sum() >= 3
    steady_w = sum(load.power_w for load in profile.always_on if not load.period_s)
    most_w = sum(load.power_w for load in profile.always_on) + sum(f.power_w + f.defrost_w for f in profile.fridges)
    assert 0.9 * steady_w * 24 / 1000 < kwh[gone].min()
    assert kwh[gone].max() < (most_w + profile.light_w) * 24 / 1000
    assert np.median(kwh[gone]) < 0.75 * np.median(kwh[~away])


def test_a_north_indian_winter_heats_whole_nights_on_some_nights_only():
    profile = dataclasses.replace(_profile(36), heaters=((2_000.0, True),), away_per_year=0.0, ev_w=0.0, acs=())
    assert profile.climate == "north"
    minutes = simulated_minutes(profile, 36, dt.date(2024, 12, 1), 62)
    heated = night_floor_w(minutes) > 900
    assert 0.03 <= heated.mean() <= 0.6


def test_an_inverter_ac_holds_a_steady_draw_through_summer_nights():
    base = dataclasses.replace(_profile(36), acs=(), away_per_year=0.0, ev_w=0.0, cooler_w=0.0)
    with_ac = dataclasses.replace(base, acs=((1_500.0, True),), ac_threshold=0.4)
    first = dt.date(2024, 5, 1)
    lift = night_floor_w(simulated_minutes(with_ac, 36, first, 30)) - night_floor_w(
        simulated_minutes(base, 36, first, 30)
    )
    assert np.mean(lift > 300) > 0.6  # the compressor never stops for 5 minutes on most May nights


def test_the_family_spans_the_range_of_real_homes():
    """Loose bounds on a handful of households; the 48-household figures are in docs/theft-detection.md."""
    wide = [figures(simulated_minutes(*_drawn("wide", seed), 60)) for seed in range(12)]
    classic = [figures(simulated_minutes(*_drawn("classic", seed), 60)) for seed in range(12)]
    kwh = [f.daily_kwh[1] for f in wide]
    night = [f.night_floor_w[1] for f in wide]
    variability = [f.same_hour_variability for f in wide]
    assert min(kwh) < 5 and max(kwh) > 25
    assert min(night) < 60 and max(night) > 300
    assert 0.22 <= np.median(variability) <= 0.42
    assert np.median(variability) > np.median([f.same_hour_variability for f in classic]) + 0.04
    assert any(0 < f.raised_nights <= 0.2 for f in wide)


def _drawn(family: str, seed: int):
    profile, first_date = family_household(family, seed)
    return profile, seed, first_date
