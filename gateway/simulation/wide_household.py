"""The wide household family: homes from a one-room flat to a large bungalow, as varied as real ones.

The classic family (`household.random_profile`) draws 2-15 kWh homes whose days look much
alike. A real house is larger and less regular: standing loads of a few hundred W, whole nights
with a heater or an inverter AC on, appliances used some days and not others, the family away
for a week, guests, cold spells and heat waves. This family draws such homes, so that 48 of them
span 1-40 kWh a day, night floors of 30-800 W and a day-to-day variability like the UCI house's
(figures: `python -m gateway.simulation.load_stats`, docs/theft-detection.md).

Same contract as the classic family: `Household(wide_draw.random_wide_profile(rng), seed).power_w(...)` is a
pure function of (profile, seed, absolute time), whatever the chunking:

* a day's appliance events come from RNG streams seeded by (seed, local date, family, rule);
* what spans days (away, guests, cold spells, heat waves) is decided per start day by a
  counter-based hash of (seed, kind, day), so any day can tell which episodes cover it by looking
  back a fixed number of days; slow drift (temperature, activity) is hash noise at anchor days,
  interpolated between them.

Episodes are tables below; climates, wealth-driven ownership and appliances are in `wide_tables`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from .counter_hash import splitmix64, uniform
from .household import DAY_S, SUNSET_H_BY_MONTH, hours_s
from .wide_tables import CLIMATES, MEALS, SMALL_USES, WATER_HEATERS, AlwaysOn, Fridge

_FAMILY = 0x51DE  # in every RNG seed of this family, so its streams never meet the classic family's


@dataclass(frozen=True)
class WideProfile:
    """A household of the wide family: what it owns, how many live there and its habits; ratings in W."""

    name: str
    wealth: float  # 0 a one-room flat .. 1 a large bungalow
    occupants: int
    daytime_occupants: int
    state: str
    climate: str
    always_on: tuple[AlwaysOn, ...]
    fridges: tuple[Fridge, ...]
    n_fans: int
    fan_w: float
    n_lights: int
    light_w: float
    acs: tuple[tuple[float, bool], ...]  # (power_w, inverter) of each AC
    ac_threshold: float  # the heat (0..1) at which this family starts using its ACs
    cooler_w: float
    water_heater: str  # a WATER_HEATERS key, "" = none
    water_heater_w: float
    night_lamp_w: float
    heaters: tuple[tuple[float, bool], ...]  # (power_w, steady) of each room heater; else thermostat
    pump_w: float
    n_tv: int
    tv_w: float
    mixer_w: float
    wet_grinder: bool
    induction_w: float
    induction_share: float  # of meals cooked on induction rather than gas
    microwave_w: float
    oven_w: float
    kettle_w: float
    washer_w: float
    washer_heater_w: float
    washes_per_week: float
    iron_w: float
    wfh_pc_w: float
    wfh_share: float  # of working days worked from home
    ev_w: float
    ev_charges_per_week: float
    ev_hours: float
    activity_sd: float  # log-normal spread of a day's activity
    away_per_year: float
    guests_per_year: float
    wake_h: float
    bed_h: float
    return_h: float  # back home on a working day when nobody stays in

    def day_rows(self, seed_u: int, date: dt.date, holiday: str) -> list[tuple]:
        """The local day's events from the WIDE_APPLIANCES rules, one RNG stream per rule."""
        day = _wide_day(self, seed_u, date, holiday)
        rows: list[tuple] = []
        for index, (_, rule) in enumerate(WIDE_APPLIANCES):
            rng = np.random.default_rng([seed_u, date.toordinal(), _FAMILY, index])
            rows.extend(rule(self, day, rng))
        return rows


# --- what spans days: hash noise and episodes ------------------------------------------------


def _stream_key(seed_u: int, stream: int) -> np.uint64:
    key = splitmix64(np.array([seed_u], dtype=np.uint64))[0] ^ np.uint64(stream * 0x2545F4914F6CDD1D % (1 << 64))
    return splitmix64(np.array([key], dtype=np.uint64))[0]


def _day_uniforms(seed_u: int, stream: int, ordinals: np.ndarray, k: int) -> np.ndarray:
    """(len(ordinals), k) uniforms in (0, 1), a pure function of (seed, stream, day)."""
    keys = (np.asarray(ordinals, dtype=np.uint64)[:, None] << np.uint64(8)) | np.arange(k, dtype=np.uint64)
    return uniform(keys ^ _stream_key(seed_u, stream))


def _smooth_normal(seed_u: int, stream: int, ordinal: int, period_days: int) -> float:
    """Standard normal noise drawn at every period_days-th day and interpolated in between."""
    anchor, into = divmod(ordinal, period_days)
    u = _day_uniforms(seed_u, stream, np.array([anchor, anchor + 1]), 2)
    normal = np.sqrt(-2.0 * np.log(u[:, 0])) * np.cos(2.0 * np.pi * u[:, 1])
    w = 0.5 - 0.5 * math.cos(math.pi * into / period_days)
    return float(normal[0] * (1 - w) + normal[1] * w)


@dataclass(frozen=True)
class Episode:
    """Something that lasts several days and starts on any day with a chance (per year, by the month it starts)."""

    stream: int
    min_days: int
    max_days: int


# A start is drawn for each day: the day is covered when a start within max_days before it lasts long enough.
AWAY = Episode(stream=11, min_days=2, max_days=12)
GUESTS = Episode(stream=12, min_days=2, max_days=7)
COLD_SPELL = Episode(stream=13, min_days=3, max_days=10)
HEAT_WAVE = Episode(stream=14, min_days=3, max_days=9)


def _episode(seed_u: int, kind: Episode, ordinal: int, per_year: Callable[[int], float]) -> float:
    """Intensity in (0, 1) of the episode of this kind covering the day, 0 if none; per_year(month) sets the starts."""
    starts = np.arange(ordinal - kind.max_days + 1, ordinal + 1)
    u = _day_uniforms(seed_u, kind.stream, starts, 3)
    chance = np.array([per_year(dt.date.fromordinal(int(s)).month - 1) / 365.0 for s in starts])
    length = kind.min_days + np.floor(u[:, 1] * (kind.max_days - kind.min_days + 1))
    covers = (u[:, 0] < chance) & (ordinal - starts < length)
    return float(u[covers][-1, 2]) if covers.any() else 0.0


def _monthly(table: tuple[float, ...], date: dt.date) -> float:
    """A month table read as a smooth curve: each value at mid-month, linear in between."""
    x = date.month - 1 + (date.day - 15.5) / 30.5
    lo = math.floor(x)
    return table[lo % 12] + (table[(lo + 1) % 12] - table[lo % 12]) * (x - lo)


@dataclass(frozen=True)
class _WideDay:
    """What the wide family's rules need to know about a day."""

    date: dt.date
    month: int  # 0 = January
    off_day: bool
    holiday: str
    heat: float  # 0 cool .. 1 peak summer (more in a heat wave)
    cold: float  # 0 none .. 1 a north-Indian winter night (more in a cold spell)
    people: int  # at home in the evening and at night; 0 = away
    day_people: int  # at home in the daytime
    wfh: bool
    activity: float  # multiplies discretionary use: lights, TV, cooking, fans
    standing_on: tuple[bool, ...]  # which of the profile's always-on loads run today
    home_s: float  # when the evening at home starts (back from work, or from an evening out)
    wake_s: float
    bed_s: float


def _wide_day(p: WideProfile, seed_u: int, date: dt.date, holiday: str) -> _WideDay:
    ordinal = date.toordinal()
    climate = CLIMATES[p.climate]
    rng = np.random.default_rng([seed_u, ordinal, _FAMILY, 0xDA7])
    away = _episode(seed_u, AWAY, ordinal, lambda m: p.away_per_year) > 0
    guests = _episode(seed_u, GUESTS, ordinal, lambda m: p.guests_per_year)
    cold_spell = _episode(seed_u, COLD_SPELL, ordinal, lambda m: 25.0 * (climate.cold[m] >= 0.3))
    heat_wave = _episode(seed_u, HEAT_WAVE, ordinal, lambda m: 20.0 * (climate.heat[m] >= 0.7))
    heat = _monthly(climate.heat, date) + 0.12 * _smooth_normal(seed_u, 21, ordinal, 5) + 0.35 * heat_wave
    season_cold = _monthly(climate.cold, date)
    cold = season_cold * (1 + 0.3 * _smooth_normal(seed_u, 22, ordinal, 4)) + 0.6 * cold_spell * (season_cold > 0.1)
    off_day = date.weekday() >= 5 or bool(holiday)
    wfh = not off_day and rng.random() < p.wfh_share
    extra = int(1 + 4 * guests) if guests > 0 else 0
    people = 0 if away else p.occupants + extra
    day_people = 0 if away else (people if off_day else min(people, p.daytime_occupants + int(wfh) + extra))
    drift = 0.25 * _smooth_normal(seed_u, 23, ordinal, 12)
    activity = math.exp(p.activity_sd * rng.normal() + drift) * (1.2 if extra else 1.0)
    home = hours_s(p.return_h) + rng.normal(0, 2_700) if day_people == 0 else hours_s(16.5) + rng.normal(0, 1_800)
    if rng.random() < (0.2 if off_day else 0.07) * min(1.5, activity):  # dinner out, a wedding, visiting
        home = hours_s(21) + rng.uniform(0, 2 * 3_600)
    late = 0.75 if off_day else 0.0
    wake = hours_s(p.wake_h + late) + rng.normal(0, 1_500)
    bed = max(hours_s(p.bed_h + late / 2) + rng.normal(0, 1_800), home + rng.uniform(1_800, 5_400))
    month = date.month - 1
    standing_on = tuple(
        (not load.months or month in load.months)
        and (load.share >= 1 or _smooth_normal(seed_u, 100 + i, ordinal, 4) < NormalDist().inv_cdf(load.share))
        for i, load in enumerate(p.always_on)
    )
    return _WideDay(
        date,
        month,
        off_day,
        holiday,
        float(np.clip(heat, 0, 1.4)),
        float(max(0.0, cold)),
        people,
        day_people,
        wfh,
        activity,
        standing_on,
        home,
        wake,
        bed,
    )


# --- the appliance rules ----------------------------------------------------------------------


def _always_on(p: WideProfile, d: _WideDay, rng: np.random.Generator) -> list[tuple]:
    events = []
    for load, on in zip(p.always_on, d.standing_on, strict=False):
        if not on:
            continue
        phase = rng.uniform(0, load.period_s) if load.period_s else 0.0
        events.append((0.0, DAY_S, load.power_w * rng.uniform(0.93, 1.07), load.period_s, load.duty, phase))
    return events


def _fridges(p: WideProfile, d: _WideDay, rng: np.random.Generator) -> list[tuple]:
    events = []
    use = 0.05 * min(2.0, d.people / 2) * d.activity  # doors opened, warm food put in
    for fridge in p.fridges:
        duty = float(np.clip(0.22 + 0.2 * d.heat + use + rng.uniform(-0.06, 0.06), 0.15, 0.85))
        period = fridge.period_s * rng.uniform(0.85, 1.15)
        events.append((0.0, DAY_S, fridge.power_w * rng.uniform(0.95, 1.05), period, duty, rng.uniform(0, period)))
        if fridge.defrost_w > 0:
            every = rng.uniform(6, 14) * 3_600
            duty = rng.uniform(900, 1_800) / every
            events.append((0.0, DAY_S, fridge.defrost_w, every, duty, rng.uniform(0, every)))
    return events


def _lights(p: WideProfile, d: _WideDay, rng: np.random.Generator) -> list[tuple]:
    if d.people == 0:  # away: one light left on, some evenings
        return [(hours_s(19), hours_s(23), p.light_w, 0.0, 1.0)] if rng.random() < 0.3 else []
    sunset = hours_s(SUNSET_H_BY_MONTH[d.month]) + hours_s(0.6) * (p.climate == "north") * (d.month in (4, 5, 6))
    n_on = min(p.n_lights, int(rng.poisson(d.activity * (1 + d.people * (0.6 + p.wealth)))))
    events = []
    for _ in range(n_on):
        start = max(sunset, d.home_s) + rng.uniform(-1_800, 3 * 3_600)
        end = d.bed_s - rng.uniform(-1_800, 2 * 3_600)
        if end > start:
            events.append((start, end, p.light_w, 0.0, 1.0))
    if rng.random() < 0.25 + 0.5 * (d.month in (10, 11, 0, 1)):  # dark mornings
        for _ in range(min(p.n_lights, 1 + d.people // 2)):
            events.append((d.wake_s - rng.uniform(0, 900), d.wake_s + rng.uniform(1_200, 3_600), p.light_w, 0.0, 1.0))
    if p.night_lamp_w > 0 and rng.random() < 0.8:
        events.append((d.bed_s, DAY_S + d.wake_s, p.night_lamp_w, 0.0, 1.0))
    if rng.random() < 0.1 * p.wealth:  # a porch or garden light all night
        events.append((sunset, DAY_S + hours_s(6), p.light_w * rng.uniform(1, 3), 0.0, 1.0))
    if "Diwali" in d.holiday or "Deepavali" in d.holiday:
        events.append((sunset, d.bed_s + 3_600, rng.uniform(150, 600) * (1 + p.wealth), 0.0, 1.0))
    return events


def _fans_and_cooler(p: WideProfile, d: _WideDay, rng: np.random.Generator) -> list[tuple]:
    if d.people == 0 or d.heat < 0.15:
        return []
    events = []
    warm = min(1.0, (d.heat - 0.15) * 1.4)
    for _ in range(min(p.n_fans, max(1, math.ceil(d.people / 2)))):  # night fans, into the next morning
        if rng.random() < warm:
            end = DAY_S + d.wake_s - rng.uniform(0, 2_400)
            events.append((d.bed_s + rng.uniform(-1_800, 900), end, p.fan_w * rng.uniform(0.6, 1.0), 0.0, 1.0))
    for _ in range(min(p.n_fans, d.day_people)):
        for _ in range(int(rng.poisson(warm * 3 * d.activity))):
            start = rng.uniform(d.wake_s + 3_600, d.bed_s - 3_600)
            events.append((start, start + rng.uniform(1_800, 4 * 3_600), p.fan_w * rng.uniform(0.6, 1.0), 0.0, 1.0))
    if rng.random() < warm:
        events.append((max(hours_s(17.5), d.home_s) + rng.uniform(0, 3_600), d.bed_s, p.fan_w, 0.0, 1.0))
    if p.cooler_w > 0 and d.heat > 0.55 and rng.random() < min(1.0, 2 * (d.heat - 0.55) + 0.3):
        # A desert cooler runs through the hot afternoon and, most nights, until morning.
        start = hours_s(11) + rng.uniform(0, 3 * 3_600) if d.day_people else hours_s(19) + rng.uniform(0, 3_600)
        end = DAY_S + d.wake_s if rng.random() < 0.7 else d.bed_s + rng.uniform(0, 2 * 3_600)
        events.append((start, end, p.cooler_w * rng.uniform(0.85, 1.0), 0.0, 1.0))
    return events


def _acs(p: WideProfile, d: _WideDay, rng: np.random.Generator) -> list[tuple]:
    if d.people == 0:
        return []
    events = []
    need = d.heat - p.ac_threshold
    for index, (power, inverter) in enumerate(p.acs):
        if index >= max(1, math.ceil(d.people / 2)):  # one AC a bedroom in use
            break
        if rng.random() < np.clip(0.1 + 2.5 * need, 0.0, 0.97):  # the night
            start = d.bed_s + rng.uniform(-2_700, 900)
            end = DAY_S + d.wake_s - rng.uniform(0, 3_600)
            events.extend(_ac_run(power, inverter, start, end, d.heat, rng))
        daytime = d.day_people > index and (d.wfh or d.off_day or d.day_people > 1)
        if daytime and rng.random() < np.clip(2.0 * need, 0.0, 0.8):  # the hot afternoon
            start = hours_s(12) + rng.uniform(0, 3 * 3_600)
            events.extend(_ac_run(power, inverter, start, start + rng.uniform(5_400, 5 * 3_600), d.heat, rng))
    return events


def _ac_run(
    power: float, inverter: bool, start: float, end: float, heat: float, rng: np.random.Generator
) -> list[tuple]:
    """A fixed-speed AC cycles on its thermostat; an inverter AC holds a steady draw that swings slowly."""
    events = [(start, end, 40.0, 0.0, 1.0)]  # the indoor unit's fan
    if not inverter:
        duty = float(np.clip(0.35 + 0.35 * heat + rng.uniform(-0.1, 0.1), 0.3, 0.95))
        events.append((start, end, power * rng.uniform(0.9, 1.05), rng.uniform(900, 1_800), duty))
        return events
    # Every event starts on its own day, so the swing is a slow square wave over the steady part.
    level = power * rng.uniform(0.3, 0.55) * (0.6 + 0.4 * min(heat, 1.0))
    events.append((start, end, level, 0.0, 1.0))
    swing, period = level * rng.uniform(0.2, 0.6), rng.uniform(1_800, 5_400)
    events.append((start, end, swing, period, rng.uniform(0.3, 0.7), rng.uniform(0, period)))
    return events


def _heaters(p: WideProfile, d: _WideDay, rng: np.random.Generator) -> list[tuple]:
    if d.people == 0 or d.cold < 0.3:
        return []
    events = []
    for index, (power, steady) in enumerate(p.heaters):
        if index >= max(1, math.ceil(d.people / 2)):
            break
        if rng.random() < min(0.9, d.cold - 0.2):  # the evening, while the family sits together
            start = hours_s(18) + rng.uniform(0, 3 * 3_600)
            events.append(_heater_run(power, steady, start, d.bed_s, d.cold, rng))
        if rng.random() < np.clip(0.6 * (d.cold - 0.7), 0.0, 0.7):  # the whole night, on the coldest
            events.append(_heater_run(power, steady, d.bed_s, DAY_S + d.wake_s, d.cold, rng))
    return events


def _heater_run(power: float, steady: bool, start: float, end: float, cold: float, rng: np.random.Generator) -> tuple:
    """A fan or halogen heater on one setting is steady; an oil radiator's thermostat cycles."""
    if steady:
        return (start, end, power * rng.choice([0.5, 1.0]), 0.0, 1.0)
    return (start, end, power, rng.uniform(900, 2_400), float(np.clip(0.4 + 0.3 * cold, 0.4, 0.95)))


def _water_heater(p: WideProfile, d: _WideDay, rng: np.random.Generator) -> list[tuple]:
    if not p.water_heater or d.people == 0:
        return []
    kind = WATER_HEATERS[p.water_heater]
    chance = float(np.clip(0.1 + 1.2 * d.cold + 0.4 * (1 - d.heat), 0.0, 1.0))
    events = []
    t = d.wake_s - rng.uniform(0, 1_800)
    for _ in range(d.people):
        if rng.random() < chance:
            on = rng.uniform(*(kind.next_s if events else kind.first_s))
            events.append((t, t + on, p.water_heater_w, 0.0, 1.0))
            t += on + rng.uniform(300, 2_400)
        else:
            t += rng.uniform(300, 1_800)
    if d.cold > 0.5 and rng.random() < 0.4:  # evening baths, dishes in hot water
        start = hours_s(18) + rng.uniform(0, 3 * 3_600)
        events.append((start, start + rng.uniform(*kind.first_s) / 2, p.water_heater_w, 0.0, 1.0))
    return events


def _pump(p: WideProfile, d: _WideDay, rng: np.random.Generator) -> list[tuple]:
    if p.pump_w <= 0 or d.people == 0:
        return []
    events = []
    for _ in range(1 + int(rng.poisson(0.3 * d.people * d.activity))):
        start = rng.choice([d.wake_s - rng.uniform(0, 1_800), hours_s(17) + rng.uniform(0, 4 * 3_600)])
        events.append((start, start + 60 * rng.uniform(8, 12 + 4 * d.people), p.pump_w, 0.0, 1.0))
    if rng.random() < 0.005:  # left running all night (overflowing tank, a tap left open)
        start = d.bed_s + rng.uniform(-3_600, 0)
        events.append((start, DAY_S + d.wake_s, p.pump_w, 0.0, 1.0))
    return events


def _screens(p: WideProfile, d: _WideDay, rng: np.random.Generator) -> list[tuple]:
    if d.people == 0:
        return []
    events = []
    for i in range(p.n_tv):
        if rng.random() < (0.85 if i == 0 else 0.35) * min(1.0, d.activity):
            start = max(hours_s(18.5), d.home_s) + rng.uniform(-3_600, 3 * 3_600)
            events.append((start, d.bed_s - rng.uniform(-1_800, 2_400), p.tv_w, 0.0, 1.0))
        if d.day_people > 0 and rng.random() < (0.6 if d.off_day else 0.3) * d.activity:
            start = hours_s(10) + rng.uniform(0, 6 * 3_600)
            events.append((start, start + rng.uniform(1_800, 4 * 3_600), p.tv_w, 0.0, 1.0))
    if p.wfh_pc_w > 0 and d.wfh:
        start = hours_s(9) + rng.uniform(-1_800, 3_600)
        events.append((start, start + rng.uniform(6, 10) * 3_600, p.wfh_pc_w, 0.0, 1.0))
    elif p.wfh_pc_w > 0 and rng.random() < 0.3 * d.activity:  # an evening on the computer
        start = max(hours_s(20), d.home_s) + rng.uniform(0, 2 * 3_600)
        events.append((start, start + rng.uniform(3_600, 3 * 3_600), p.wfh_pc_w, 0.0, 1.0))
    for _ in range(d.people):  # phones and laptops charging
        start = d.bed_s - rng.uniform(-1_800, 5_400)
        events.append((start, start + rng.uniform(3_600, 3 * 3_600), rng.uniform(5, 45), 0.0, 1.0))
    return events


_SMALL_NAMES = tuple(SMALL_USES)
_SMALL_P = np.array([u.weight for u in SMALL_USES.values()]) / sum(u.weight for u in SMALL_USES.values())


def _small_uses(p: WideProfile, d: _WideDay, rng: np.random.Generator) -> list[tuple]:
    events = []
    for _ in range(int(rng.poisson(1.5 * (0.5 + p.wealth) * d.activity * d.people))):
        use = SMALL_USES[_SMALL_NAMES[rng.choice(len(_SMALL_NAMES), p=_SMALL_P)]]
        start = rng.uniform(d.wake_s, d.bed_s) if d.day_people else rng.uniform(d.home_s, d.bed_s)
        events.append((start, start + 60 * rng.uniform(*use.minutes), rng.uniform(*use.power_w), 0.0, 1.0))
    return events


def _kitchen(p: WideProfile, d: _WideDay, rng: np.random.Generator) -> list[tuple]:
    if d.people == 0:
        return []
    events = []
    size = min(2.0, d.people / 4) * d.activity
    for _ in range(int(rng.integers(1, 4))):
        start = d.wake_s + rng.uniform(900, 7_200)
        events.append((start, start + rng.uniform(45, 240), p.mixer_w, 0.0, 1.0))
    for meal in MEALS:  # induction instead of gas for some meals
        if p.induction_w <= 0 or (meal.needs_day_people and d.day_people == 0):
            continue
        if rng.random() < p.induction_share * meal.share:
            start = hours_s(meal.hour) + rng.uniform(-3_600, 3_600)
            if meal.after_home:
                start = max(start, d.home_s + rng.uniform(0, 1_800))
            length = rng.uniform(900, 2_700) * max(0.5, size)
            level = p.induction_w * rng.choice([0.6, 0.8, 1.0])
            events.append((start, start + length, level, rng.uniform(40, 120), rng.uniform(0.6, 0.95)))
    if p.microwave_w > 0:
        for _ in range(int(rng.poisson(2.0 * size))):
            start = rng.uniform(d.wake_s, d.bed_s)
            events.append((start, start + rng.uniform(60, 480), p.microwave_w, 0.0, 1.0))
    if p.oven_w > 0 and rng.random() < (0.35 if d.off_day else 0.1) * d.activity:
        start = rng.choice([hours_s(11), hours_s(16), hours_s(19)]) + rng.uniform(0, 2 * 3_600)
        events.append((start, start + rng.uniform(1_800, 4_500), p.oven_w, rng.uniform(120, 300), 0.6))
    if p.kettle_w > 0:
        for _ in range(int(rng.poisson(2.0 * size))):
            start = rng.choice([d.wake_s + 1_800, hours_s(16.5)]) + rng.uniform(-1_800, 3_600)
            events.append((start, start + rng.uniform(120, 300), p.kettle_w, 0.0, 1.0))
    if p.wet_grinder and rng.random() < (0.5 if d.off_day else 0.15):
        start = hours_s(16) + rng.uniform(0, 3 * 3_600)
        events.append((start, start + rng.uniform(1_800, 2_700), 200.0, 0.0, 1.0))
    return events


def _laundry(p: WideProfile, d: _WideDay, rng: np.random.Generator) -> list[tuple]:
    if d.people == 0:
        return []
    events = []
    chance = p.washes_per_week / 7 * (1.8 if d.off_day else 0.7) * d.people / max(1, p.occupants)
    if p.washer_w > 0 and rng.random() < min(0.95, chance):
        start = d.wake_s + rng.uniform(1_800, 5 * 3_600)
        wash = rng.uniform(2_700, 5_400)
        if p.washer_heater_w > 0 and rng.random() < 0.3 + 0.5 * min(1.0, d.cold + 0.2):
            events.append((start, start + rng.uniform(600, 1_500), p.washer_heater_w, 0.0, 1.0))
        events.append((start, start + wash, p.washer_w, 90.0, 0.6))
        events.append((start + wash, start + wash + 600, p.washer_w * 1.3, 0.0, 1.0))
    if p.iron_w > 0 and rng.random() < 0.35 * min(1.5, d.activity):
        start = rng.choice([d.wake_s + rng.uniform(1_800, 5_400), hours_s(19) + rng.uniform(0, 7_200)])
        events.append((start, start + rng.uniform(600, 2_400), p.iron_w, 60.0, 0.5))
    return events


def _ev(p: WideProfile, d: _WideDay, rng: np.random.Generator) -> list[tuple]:
    if p.ev_w <= 0 or d.people == 0 or rng.random() >= p.ev_charges_per_week / 7:
        return []
    start = hours_s(20) + rng.uniform(0, 4 * 3_600)
    return [(start, start + p.ev_hours * 3_600 * rng.uniform(0.5, 1.2), p.ev_w, 0.0, 1.0)]


# Appliance rules of the wide family; each gets its own RNG stream (by position).
WIDE_APPLIANCES: tuple[tuple[str, Callable[[WideProfile, _WideDay, np.random.Generator], list[tuple]]], ...] = (
    ("always_on", _always_on),
    ("fridges", _fridges),
    ("lights", _lights),
    ("fans_and_cooler", _fans_and_cooler),
    ("acs", _acs),
    ("heaters", _heaters),
    ("water_heater", _water_heater),
    ("pump", _pump),
    ("screens", _screens),
    ("kitchen", _kitchen),
    ("laundry", _laundry),
    ("ev", _ev),
    ("small_uses", _small_uses),
)
