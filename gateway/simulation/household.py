"""A deterministic load model of an Indian household: real power in W at any instant.

Pure: numpy and `holidays` only, no I/O and no clocks. The value at an instant depends only on
(profile, seed, absolute time), so any chunking of time gives the same samples:

* each local day's appliance schedule comes from a RNG seeded by (seed, local date, appliance),
  and a day's events may run past midnight (AC and fans at night), so a chunk looks at the day
  before it too;
* per-sample noise is a counter-based hash of (seed, timestamp in microseconds), not a stream.

Appliances, seasons, weekends and public holidays are tables below, not if-chains. `Household`
runs any profile that gives its day's events (`LoadProfile`): this module's classic family
(`random_profile`, `PRESETS`) or the wide family of `wide_household`, which spans real homes.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol
from zoneinfo import ZoneInfo

import holidays
import numpy as np

from .counter_hash import splitmix64, uniform

DAY_S = 86_400.0
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_US = dt.timedelta(microseconds=1)

# Indian seasons by month (index 0 = January), as the IMD names them.
SEASON_BY_MONTH = (
    "winter",
    "winter",
    "summer",
    "summer",
    "summer",
    "summer",
    "monsoon",
    "monsoon",
    "monsoon",
    "post_monsoon",
    "post_monsoon",
    "winter",
)
# How hot the month feels indoors, 0 (cool) .. 1 (peak May): drives fans and fridge duty.
HEAT_BY_MONTH = (0.15, 0.25, 0.55, 0.80, 1.00, 0.85, 0.60, 0.55, 0.60, 0.50, 0.30, 0.15)
# Probability that a household with an AC runs it on a given night.
AC_NIGHT_BY_MONTH = (0.0, 0.0, 0.15, 0.60, 0.90, 0.75, 0.30, 0.25, 0.30, 0.15, 0.02, 0.0)
# Probability that one occupant's morning bath uses the geyser.
GEYSER_BY_MONTH = (0.95, 0.80, 0.30, 0.05, 0.0, 0.05, 0.25, 0.25, 0.25, 0.35, 0.70, 0.95)
# Sunset in hours (local time), roughly for peninsular India; lights follow it.
SUNSET_H_BY_MONTH = (18.1, 18.3, 18.4, 18.5, 18.6, 18.7, 18.7, 18.5, 18.2, 17.9, 17.7, 17.8)

# One event: start and end in seconds after the local midnight of its day (start is clipped to
# [0, 1 day), end to [start, 2 days), so a chunk need only look one day back), power in W while on,
# and an on/off cycle (period_s 0 = steady; else on while (t - start + phase_s) mod period_s is
# below duty * period_s).
_EVENT_FIELDS = 6


@dataclass(frozen=True)
class HouseholdProfile:
    """What a household has and how many people use it; ratings in W."""

    name: str = "medium"
    occupants: int = 4
    daytime_occupants: int = 1  # at home on a working day (elders, a homemaker, work from home)
    state: str = "TN"  # `holidays.India` subdivision code
    base_w: float = 45.0  # router, standby loads, inverter/UPS losses
    fridge_w: float = 140.0
    fridge_period_s: float = 2_400.0
    n_fans: int = 3
    fan_w: float = 70.0
    n_lights: int = 6
    light_w: float = 18.0
    geyser_w: float = 2_000.0  # 0 = no geyser
    n_ac: int = 1
    ac_w: float = 1_200.0
    pump_w: float = 750.0  # 0 = municipal pressure, no pump
    n_tv: int = 1
    tv_w: float = 100.0
    mixer_w: float = 600.0
    has_wet_grinder: bool = True
    washer_w: float = 400.0  # 0 = no washing machine
    iron_w: float = 1_000.0
    n_chargers: int = 4
    charger_w: float = 10.0

    @property
    def has_ac(self) -> bool:
        return self.n_ac > 0

    def day_rows(self, seed_u: int, date: dt.date, holiday: str) -> list[tuple]:
        """The local day's events from the APPLIANCES rules, one RNG stream per rule."""
        day = _calendar_day(seed_u, date, holiday)
        rows: list[tuple] = []
        for index, (_, rule) in enumerate(APPLIANCES):
            rng = np.random.default_rng([seed_u, date.toordinal(), index])
            rows.extend(rule(self, day, rng))
        return rows


class LoadProfile(Protocol):
    """What `Household` needs of a profile: its state (for holidays) and its day's events."""

    name: str
    state: str

    def day_rows(self, seed_u: int, date: dt.date, holiday: str) -> list[tuple]:
        """Events (start_s, end_s, power_w[, period_s, duty, phase_s]) after the local midnight of `date`."""
        ...


PRESETS: dict[str, HouseholdProfile] = {
    "small": HouseholdProfile(
        name="small",
        occupants=2,
        daytime_occupants=0,
        base_w=30.0,
        fridge_w=100.0,
        fridge_period_s=2_100.0,
        n_fans=2,
        n_lights=4,
        light_w=15.0,
        geyser_w=0.0,
        n_ac=0,
        pump_w=0.0,
        mixer_w=500.0,
        has_wet_grinder=False,
        washer_w=0.0,
        iron_w=750.0,
        n_chargers=2,
    ),
    "medium": HouseholdProfile(),
    "large": HouseholdProfile(
        name="large",
        occupants=6,
        daytime_occupants=3,
        base_w=70.0,
        fridge_w=180.0,
        fridge_period_s=2_700.0,
        n_fans=5,
        fan_w=75.0,
        n_lights=10,
        light_w=20.0,
        geyser_w=2_000.0,
        n_ac=3,
        ac_w=1_500.0,
        pump_w=1_100.0,
        n_tv=2,
        tv_w=120.0,
        mixer_w=750.0,
        washer_w=450.0,
        iron_w=1_000.0,
        n_chargers=7,
    ),
}

_STATES = ("TN", "KA", "KL", "AP", "TS", "MH", "DL", "WB", "GJ", "UP")


def random_profile(rng: np.random.Generator) -> HouseholdProfile:
    """A plausible random household, for training data with many different homes."""
    occupants = int(rng.integers(1, 8))
    n_ac = int(rng.choice([0, 0, 1, 1, 2, 3])) if occupants > 1 else int(rng.integers(0, 2))
    return HouseholdProfile(
        name="random",
        occupants=occupants,
        daytime_occupants=int(rng.integers(0, max(1, occupants // 2) + 1)),
        state=str(rng.choice(_STATES)),
        base_w=float(rng.uniform(20, 90)),
        fridge_w=float(rng.uniform(90, 200)),
        fridge_period_s=float(rng.uniform(1_800, 3_300)),
        n_fans=int(np.clip(occupants // 2 + rng.integers(1, 3), 1, 6)),
        fan_w=float(rng.uniform(50, 80)),
        n_lights=int(np.clip(occupants + rng.integers(1, 6), 2, 14)),
        light_w=float(rng.uniform(9, 40)),
        geyser_w=float(rng.choice([0.0, 1_500.0, 2_000.0, 3_000.0])),
        n_ac=n_ac,
        ac_w=float(rng.uniform(900, 1_800)),
        pump_w=float(rng.choice([0.0, 370.0, 750.0, 1_100.0])),
        n_tv=int(rng.integers(0, 3)),
        tv_w=float(rng.uniform(60, 150)),
        mixer_w=float(rng.uniform(450, 800)),
        has_wet_grinder=bool(rng.random() < 0.5),
        washer_w=float(rng.choice([0.0, 350.0, 450.0])),
        iron_w=float(rng.choice([0.0, 750.0, 1_000.0])),
        n_chargers=int(np.clip(occupants + rng.integers(-1, 3), 1, 10)),
        charger_w=float(rng.uniform(5, 20)),
    )


@dataclass(frozen=True)
class _Day:
    """Everything a day's appliance rules need to know about the day itself."""

    date: dt.date
    month: int  # 0 = January
    season: str
    heat: float
    off_day: bool  # weekend or public holiday: everyone at home, later mornings
    holiday: str  # holiday name, "" if none
    wake_s: float
    bed_s: float


def hours_s(hours: float) -> float:
    """Hours after midnight as seconds."""
    return hours * 3_600.0


def _calendar_day(seed_u: int, date: dt.date, holiday: str) -> _Day:
    off_day = date.weekday() >= 5 or bool(holiday)
    rng = np.random.default_rng([seed_u, date.toordinal(), 0xDA7])
    wake = hours_s(7.0 if off_day else 6.0) + rng.normal(0, 1_200)
    bed = hours_s(23.25 if off_day else 22.5) + rng.normal(0, 1_500)
    month = date.month - 1
    return _Day(date, month, SEASON_BY_MONTH[month], HEAT_BY_MONTH[month], off_day, holiday, wake, bed)


def _fridge(p: HouseholdProfile, d: _Day, rng: np.random.Generator) -> list[tuple]:
    if p.fridge_w <= 0:
        return []
    duty = 0.32 + 0.22 * d.heat + rng.uniform(-0.03, 0.03)
    # The phase is shifted every day so cycles don't line up with midnight.
    phase = rng.uniform(0, p.fridge_period_s)
    return [(0.0, DAY_S, p.fridge_w * rng.uniform(0.95, 1.05), p.fridge_period_s, duty, phase)]


def _lights(p: HouseholdProfile, d: _Day, rng: np.random.Generator) -> list[tuple]:
    sunset = hours_s(SUNSET_H_BY_MONTH[d.month])
    n_on = min(p.n_lights, p.occupants + 1 + int(rng.integers(0, 2)))
    events = []
    for _ in range(n_on):
        start = sunset + rng.uniform(-1_200, 2_400)
        end = d.bed_s - rng.uniform(0, 3_600)
        if end > start:
            events.append((start, end, p.light_w, 0.0, 1.0))
    if d.season == "winter" or rng.random() < 0.3:  # dark mornings
        for _ in range(min(2, p.n_lights)):
            events.append((d.wake_s - rng.uniform(0, 900), d.wake_s + rng.uniform(1_800, 3_600), p.light_w, 0.0, 1.0))
    if "Diwali" in d.holiday or "Deepavali" in d.holiday:
        events.append((sunset, d.bed_s + 3_600, rng.uniform(150, 400), 0.0, 1.0))
    return events


def _fans(p: HouseholdProfile, d: _Day, rng: np.random.Generator) -> list[tuple]:
    if p.n_fans == 0:
        return []
    events = []
    bedrooms = min(p.n_fans, max(1, math.ceil(p.occupants / 2)))
    for _ in range(bedrooms):  # night fans, into the next morning
        if rng.random() < min(1.0, 0.15 + 1.1 * d.heat):
            end = DAY_S + d.wake_s - rng.uniform(0, 1_800)
            events.append((d.bed_s + rng.uniform(-1_800, 600), end, p.fan_w * rng.uniform(0.7, 1.0), 0.0, 1.0))
    at_home = p.occupants if d.off_day else p.daytime_occupants
    n_day = min(p.n_fans, at_home)
    for _ in range(n_day):  # daytime blocks of 1-3 h while someone is home
        blocks = int(rng.poisson(1 + 3 * d.heat))
        for _ in range(blocks):
            start = rng.uniform(d.wake_s + 3_600, d.bed_s - 3_600)
            events.append((start, start + rng.uniform(3_600, 3 * 3_600), p.fan_w * rng.uniform(0.6, 1.0), 0.0, 1.0))
    # The evening fan in the living room, when it is warm enough.
    if rng.random() < d.heat + 0.1:
        events.append((hours_s(18.5) + rng.uniform(0, 1_800), d.bed_s, p.fan_w, 0.0, 1.0))
    return events


def _geyser(p: HouseholdProfile, d: _Day, rng: np.random.Generator) -> list[tuple]:
    if p.geyser_w <= 0:
        return []
    events = []
    t = d.wake_s - rng.uniform(0, 1_200)
    for _ in range(p.occupants):
        if rng.random() < GEYSER_BY_MONTH[d.month]:
            # A storage geyser reheats after each bath; the first heats from cold.
            on = rng.uniform(600, 1_200) if not events else rng.uniform(300, 700)
            events.append((t, t + on, p.geyser_w, 0.0, 1.0))
            t += on + rng.uniform(300, 1_500)
        else:
            t += rng.uniform(300, 900)
    return events


def _ac(p: HouseholdProfile, d: _Day, rng: np.random.Generator) -> list[tuple]:
    events = []
    for _ in range(p.n_ac):
        if rng.random() < AC_NIGHT_BY_MONTH[d.month]:
            start = d.bed_s + rng.uniform(-2_700, 900)
            end = DAY_S + d.wake_s - rng.uniform(600, 3_600)
            duty = float(np.clip(0.35 + 0.3 * d.heat + rng.uniform(-0.1, 0.1), 0.3, 0.95))
            events.append((start, end, p.ac_w * rng.uniform(0.9, 1.05), rng.uniform(900, 1_800), duty))
            events.append((start, end, 40.0, 0.0, 1.0))  # the indoor unit's fan
        if d.off_day and d.heat > 0.75 and rng.random() < 0.5:  # hot weekend afternoons
            start = hours_s(13) + rng.uniform(0, 3_600)
            end = start + rng.uniform(5_400, 3 * 3_600)
            events.append((start, end, p.ac_w, rng.uniform(900, 1_500), 0.75))
            events.append((start, end, 40.0, 0.0, 1.0))
    return events


def _pump(p: HouseholdProfile, d: _Day, rng: np.random.Generator) -> list[tuple]:
    if p.pump_w <= 0:
        return []
    start = d.wake_s + rng.uniform(-1_800, 1_800)
    minutes = rng.uniform(8, 15) + 3 * p.occupants
    events = [(start, start + 60 * minutes, p.pump_w, 0.0, 1.0)]
    if rng.random() < 0.4 + 0.05 * p.occupants:
        start = hours_s(17) + rng.uniform(0, 3 * 3_600)
        events.append((start, start + rng.uniform(600, 1_200), p.pump_w, 0.0, 1.0))
    return events


def _tv(p: HouseholdProfile, d: _Day, rng: np.random.Generator) -> list[tuple]:
    events = []
    for i in range(p.n_tv):
        if rng.random() < (0.9 if i == 0 else 0.4):
            start = hours_s(19) + rng.uniform(-1_800, 3_600)
            events.append((start, d.bed_s - rng.uniform(0, 2_400), p.tv_w, 0.0, 1.0))
        if (d.off_day or p.daytime_occupants > 0) and rng.random() < (0.7 if d.off_day else 0.35):
            start = hours_s(11) + rng.uniform(0, 4 * 3_600)
            events.append((start, start + rng.uniform(3_600, 3 * 3_600), p.tv_w, 0.0, 1.0))
    return events


def _kitchen(p: HouseholdProfile, d: _Day, rng: np.random.Generator) -> list[tuple]:
    events = []
    for _ in range(int(rng.integers(1, 4))):  # mixer/grinder bursts while cooking breakfast
        start = d.wake_s + rng.uniform(900, 7_200)
        events.append((start, start + rng.uniform(45, 240), p.mixer_w, 0.0, 1.0))
    if rng.random() < 0.5:
        start = hours_s(19) + rng.uniform(0, 5_400)
        events.append((start, start + rng.uniform(60, 180), p.mixer_w, 0.0, 1.0))
    if p.has_wet_grinder and rng.random() < (0.5 if d.off_day else 0.15):  # idli/dosa batter
        start = hours_s(16) + rng.uniform(0, 3 * 3_600)
        events.append((start, start + rng.uniform(1_800, 2_700), 200.0, 0.0, 1.0))
    return events


def _laundry(p: HouseholdProfile, d: _Day, rng: np.random.Generator) -> list[tuple]:
    events = []
    if p.washer_w > 0 and rng.random() < (0.55 if d.off_day else 0.12):
        start = d.wake_s + rng.uniform(3_600, 4 * 3_600)
        wash = rng.uniform(2_700, 4_500)
        events.append((start, start + wash, p.washer_w, 90.0, 0.6))  # agitator on/off
        events.append((start + wash, start + wash + 600, p.washer_w * 1.3, 0.0, 1.0))  # spin
    if p.iron_w > 0 and rng.random() < (0.3 if d.off_day else 0.45):
        start = d.wake_s + rng.uniform(1_800, 5_400)
        events.append((start, start + rng.uniform(600, 1_800), p.iron_w, 60.0, 0.5))  # thermostat
    return events


def _chargers(p: HouseholdProfile, d: _Day, rng: np.random.Generator) -> list[tuple]:
    events = []
    for _ in range(p.n_chargers):
        start = d.bed_s - rng.uniform(-1_800, 5_400)
        events.append((start, start + rng.uniform(3_600, 3 * 3_600), p.charger_w, 0.0, 1.0))
    return events


def _base(p: HouseholdProfile, d: _Day, rng: np.random.Generator) -> list[tuple]:
    return [(0.0, DAY_S, p.base_w * rng.uniform(0.9, 1.1), 0.0, 1.0)]


# Appliance rules; each gets its own RNG stream (by position), so adding a row at the end never
# changes the others' schedules.
APPLIANCES: tuple[tuple[str, Callable[[HouseholdProfile, _Day, np.random.Generator], list[tuple]]], ...] = (
    ("base", _base),
    ("fridge", _fridge),
    ("lights", _lights),
    ("fans", _fans),
    ("geyser", _geyser),
    ("ac", _ac),
    ("pump", _pump),
    ("tv", _tv),
    ("kitchen", _kitchen),
    ("laundry", _laundry),
    ("chargers", _chargers),
)


class Household:
    """One household's load, reproducible from (profile, seed) at any instant."""

    _CACHE_DAYS = 8  # enough for a live stream; a year's batch just recomputes

    def __init__(self, profile: LoadProfile, seed: int, tz: str = "Asia/Kolkata"):
        self.profile = profile
        self.seed = int(seed)
        self._seed_u = self.seed % (1 << 64)
        self.tz = ZoneInfo(tz)
        self._holidays: dict[int, holidays.HolidayBase] = {}
        self._days: dict[dt.date, np.ndarray] = {}
        self._noise_key = np.uint64(splitmix64(np.array([self._seed_u], dtype=np.uint64))[0])

    def holiday_name(self, date: dt.date) -> str:
        """The public holiday on this local date for the profile's state, or ""."""
        year = self._holidays.get(date.year)
        if year is None:
            year = holidays.India(subdiv=self.profile.state, years=date.year)
            self._holidays[date.year] = year
        return year.get(date, "") or ""

    def _day(self, date: dt.date) -> _Day:
        return _calendar_day(self._seed_u, date, self.holiday_name(date))

    def day_events(self, date: dt.date) -> np.ndarray:
        """(k, 6) array of the local day's events: start_s, end_s (after its midnight), power_w,
        period_s, duty, phase_s."""
        cached = self._days.get(date)
        if cached is not None:
            return cached
        rows = self.profile.day_rows(self._seed_u, date, self.holiday_name(date))
        # Rules may omit the phase; clipping keeps every event inside [this midnight, +2 days).
        events = np.array([row + (0.0,) * (_EVENT_FIELDS - len(row)) for row in rows], dtype=np.float64)
        events = events.reshape(-1, _EVENT_FIELDS)
        events[:, 0] = np.clip(events[:, 0], 0.0, DAY_S)
        events[:, 1] = np.clip(events[:, 1], events[:, 0], 2 * DAY_S)
        if len(self._days) >= self._CACHE_DAYS:
            self._days.clear()
        self._days[date] = events
        return events

    def _midnight_s(self, date: dt.date) -> float:
        return dt.datetime(date.year, date.month, date.day, tzinfo=self.tz).timestamp()

    def power_w(self, start_utc: dt.datetime, n: int, step_s: float = 1.0) -> np.ndarray:
        """n float64 samples of household real power in W, sample i at start_utc + i*step_s."""
        if n <= 0:
            return np.zeros(0, dtype=np.float64)
        if start_utc.tzinfo is None:  # naive means UTC, as the name says
            start_utc = start_utc.replace(tzinfo=dt.UTC)
        step_us = int(round(step_s * 1e6))
        if step_us <= 0:
            raise ValueError(f"step_s must be at least 1 µs, got {step_s!r}")
        start_us = (start_utc - _EPOCH) // _US
        t_us = start_us + np.arange(n, dtype=np.int64) * step_us
        t = t_us / 1e6
        out = np.zeros(n, dtype=np.float64)

        first = start_utc.astimezone(self.tz).date() - dt.timedelta(days=1)  # yesterday's night loads
        last = (start_utc + dt.timedelta(microseconds=int(t_us[-1] - start_us))).astimezone(self.tz).date()
        blocks = []
        date = first
        while date <= last:
            ev = self.day_events(date).copy()
            midnight = self._midnight_s(date)
            ev[:, 0] += midnight
            ev[:, 1] += midnight
            blocks.append(ev)
            date += dt.timedelta(days=1)
        events = np.concatenate(blocks)
        events = events[(events[:, 1] > t[0]) & (events[:, 0] <= t[-1])]
        lo = np.searchsorted(t, events[:, 0], side="left")
        hi = np.searchsorted(t, events[:, 1], side="left")
        for (start, _, power, period, duty, phase), a, b in zip(
            events.tolist(), lo.tolist(), hi.tolist(), strict=False
        ):
            if a >= b:
                continue
            if period > 0:
                out[a:b] += power * (np.mod(t[a:b] - start + phase, period) < duty * period)
            else:
                out[a:b] += power

        # Measurement and appliance noise: 2 % of the load plus a few W, from a hash of the time.
        keys = t_us.astype(np.uint64) ^ self._noise_key
        u1 = uniform(keys)
        u2 = uniform(keys ^ np.uint64(0x5851F42D4C957F2D))
        gauss = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
        out += gauss * np.sqrt((0.02 * out) ** 2 + 9.0)
        np.maximum(out, 0.0, out=out)
        return out
