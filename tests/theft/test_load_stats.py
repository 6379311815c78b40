"""The figures that compare households with a real house, on series whose answer is known."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from gateway.simulation.load_stats import (
    figures,
    floor_24h_w,
    main,
    night_floor_w,
    recording_days,
    same_hour_deviations,
    stretches,
)


def test_a_constant_house():
    f = figures(np.full((10, 1440), 250.0))
    assert f.days == 10
    assert f.daily_kwh == pytest.approx((6.0, 6.0, 6.0))
    assert f.median_hourly_w == 250.0
    assert f.night_floor_w == f.floor_24h_w == (250.0, 250.0, 250.0)
    assert f.same_hour_variability == 0.0
    assert f.raised_nights == 0.0


def test_same_hour_deviation_is_against_the_median_of_that_hour_on_the_seven_days_before():
    minutes = np.full((9, 1440), 100.0)
    minutes[:3, 20 * 60 : 21 * 60] = 900.0  # three odd days do not move a median of seven
    minutes[7, 20 * 60 : 21 * 60] = 250.0
    minutes[8, 3 * 60 : 3 * 60 + 30] = 0.0  # half an hour off: the hour's mean halves
    dev = same_hour_deviations(minutes)
    assert dev.shape == (2, 24)
    assert dev[0, 20] == pytest.approx(1.5)
    assert dev[1, 3] == pytest.approx(0.5)
    assert np.count_nonzero(dev) == 2


def test_night_floor_is_the_lowest_five_minute_mean_from_one_to_five_and_the_day_floor_any_time():
    minutes = np.full((1, 1440), 300.0)
    minutes[0, 3 * 60 : 3 * 60 + 5] = 120.0  # 03:00-03:05
    minutes[0, 14 * 60 : 14 * 60 + 5] = 60.0  # 14:00-14:05
    minutes[0, 4 * 60 + 3 : 4 * 60 + 7] = 0.0  # 4 minutes across two slots: each falls to 180 W only
    assert night_floor_w(minutes)[0] == pytest.approx(120.0)
    assert floor_24h_w(minutes)[0] == pytest.approx(60.0)


def test_a_house_with_a_heater_on_some_nights_has_raised_nights():
    minutes = np.full((20, 1440), 200.0)
    minutes[[4, 11], :300] += 1_300.0  # until 05:00
    assert figures(minutes).raised_nights == pytest.approx(0.1)


def test_a_recording_is_cut_into_local_days_from_its_first_minute():
    start = dt.datetime(2006, 12, 16, 17, 24)
    power = np.arange(3 * 1440, dtype=np.float32)
    days = recording_days(power, start)
    assert days.shape == (3, 1440)
    assert np.isnan(days[0, : 17 * 60 + 24]).all() and days[0, 17 * 60 + 24] == 0.0
    later = recording_days(power, start, since=dt.date(2006, 12, 17))
    assert np.array_equal(later, days[1:])


def test_stretches_spread_over_a_recording():
    parts = stretches(np.zeros((694, 1440)), 120)
    assert len(parts) == 6 and all(len(p) == 120 for p in parts)
    assert len(stretches(np.zeros((50, 1440)), 120)) == 1


def test_the_stats_command_reports_the_families_and_a_recording(tmp_path, capsys):
    rng = np.random.default_rng(0)
    np.savez(
        tmp_path / "house.npz",
        start="2009-01-01 00:00:00",
        power=(200 + 500 * rng.random(20 * 1440)).astype(np.float32),
    )
    assert (
        main(["--households", "2", "--days", "10", "--per-household", "--recording", str(tmp_path / "house.npz")]) == 0
    )
    out = capsys.readouterr().out
    assert "classic family" in out and "wide family" in out and "recording, 6 stretches" in out
    assert out.count("same-hour variability") == 3
    assert out.count("wide 1 ") == 1
