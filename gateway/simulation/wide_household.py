"""The wide household family: homes from a one-room flat to a large bungalow, as varied as real ones.

The classic family (`household.random_profile`) draws 2-15 kWh homes whose days look much
alike. A real house is larger and less regular: standing loads of a few hundred W, whole nights
with a heater or an inverter AC on, appliances used some days and not others, the family away
for a week, guests, cold spells and heat waves. This family draws such homes, so that 48 of them
span 1-40 kWh a day, night floors of 30-800 W and a day-to-day variability like the UCI house's
(figures: `python -m gateway.simulation.household stats`, docs/theft-detection.md).

Same contract as the classic family: `Household(random_wide_profile(rng), seed).power_w(...)` is a
pure function of (profile, seed, absolute time), whatever the chunking:

* a day's appliance events come from RNG streams seeded by (seed, local date, family, rule);
* what spans days (away, guests, cold spells, heat waves) is decided per start day by a
  counter-based hash of (seed, kind, day), so any day can tell which episodes cover it by looking
  back a fixed number of days; slow drift (temperature, activity) is hash noise at anchor days,
  interpolated between them.

Climates, wealth-driven ownership and episodes are tables below.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Callable

import numpy as np

from .household import DAY_S, SUNSET_H_BY_MONTH, _h, _splitmix64, _uniform

_FAMILY = 0x51DE  # in every RNG seed of this family, so its streams never meet the classic family's


@dataclass(frozen=True)
class Climate:
    """How hot (0 cool .. 1 peak) and how cold (0 none .. 1 a Delhi January night) each month is indoors."""

    heat: tuple[float, ...]
    cold: tuple[float, ...]
    humid_months: tuple[int, ...]  # 0 = January; when a dehumidifier runs


CLIMATES: dict[str, Climate] = {
    "north": Climate(
        heat=(0.0, 0.1, 0.35, 0.75, 1.0, 1.0, 0.8, 0.75, 0.7, 0.45, 0.15, 0.0),
        cold=(1.0, 0.7, 0.25, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.05, 0.35, 0.85),
        humid_months=(6, 7),
    ),
    "south": Climate(
        heat=(0.15, 0.25, 0.55, 0.8, 1.0, 0.85, 0.6, 0.55, 0.6, 0.5, 0.3, 0.15),
        cold=(0.1, 0.05, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.05, 0.1),
        humid_months=(5, 6, 7, 8, 9, 10),
    ),
    "west": Climate(
        heat=(0.35, 0.45, 0.65, 0.85, 1.0, 0.8, 0.6, 0.55, 0.65, 0.7, 0.5, 0.4),
        cold=(0.2, 0.1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.05, 0.15),
        humid_months=(5, 6, 7, 8),
    ),
    "east": Climate(
        heat=(0.15, 0.3, 0.6, 0.85, 0.95, 0.85, 0.7, 0.7, 0.7, 0.55, 0.3, 0.15),
        cold=(0.35, 0.15, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.1, 0.3),
        humid_months=(5, 6, 7, 8, 9),
    ),
}
# `holidays.India` subdivision -> climate, drawn uniformly: about each climate's share of India's homes.
STATE_CLIMATE: dict[str, str] = {
    "DL": "north", "UP": "north", "PB": "north", "HR": "north", "RJ": "north", "BR": "north",
    "TN": "south", "KA": "south", "KL": "south", "AP": "south", "TS": "south",
    "MH": "west", "GJ": "west",
    "WB": "east", "OD": "east", "AS": "east",
}

# Chance of owning each thing at wealth 0 (a one-room flat) and at wealth 1 (a large bungalow);
# linear in between (a chance above 1 is certain). Ratings are drawn where the profile is built.
OWNERSHIP: dict[str, tuple[float, float]] = {
    "fridge": (0.5, 1.5),  # above 1: everyone from the middle up
    "second_fridge": (0.0, 0.6),
    "freezer": (0.0, 0.3),
    "inverter_ups": (0.1, 0.85),
    "cctv": (0.0, 0.7),
    "purifier": (0.05, 0.95),
    "aquarium": (0.0, 0.15),
    "always_on_pc": (0.0, 0.3),  # a desktop, NAS or server never switched off
    "left_on": (0.1, 0.7),  # a TV, set-top box or speaker left on for days at a time
    "dehumidifier": (0.0, 0.25),
    "cooler": (0.35, 0.3),  # a desert cooler, in hot dry climates (north, west)
    "geyser": (0.3, 1.0),  # a water heater of any kind (WATER_HEATERS)
    "room_heater": (0.1, 0.9),  # in a cold-winter climate
    "induction": (0.1, 0.6),
    "microwave": (0.0, 0.9),
    "oven": (0.0, 0.6),
    "kettle": (0.05, 0.6),
    "washer": (0.1, 1.0),
    "washer_heater": (0.0, 0.6),
    "pump": (0.2, 0.8),
    "wfh_pc": (0.02, 0.7),
    "e_scooter": (0.0, 0.25),
    "ev_car": (0.0, 0.2),
    "wet_grinder": (0.2, 0.6),  # in the south
}


@dataclass(frozen=True)
class WaterHeater:
    """A kind of water heater: how often it is the one chosen, its rating, and minutes on per bath."""

    chance_poor: float
    chance_rich: float
    power_w: tuple[float, float]
    first_s: tuple[float, float]  # the first bath of the morning (a storage tank heats from cold)
    next_s: tuple[float, float]  # each bath after it

    def chance(self, wealth: float) -> float:
        return self.chance_poor + (self.chance_rich - self.chance_poor) * wealth


WATER_HEATERS: dict[str, WaterHeater] = {
    "storage geyser": WaterHeater(0.2, 0.8, (1_500.0, 3_000.0), (900.0, 2_400.0), (300.0, 900.0)),
    "instant geyser": WaterHeater(0.3, 0.2, (3_000.0, 4_500.0), (300.0, 900.0), (300.0, 900.0)),
    "immersion rod": WaterHeater(0.5, 0.0, (1_000.0, 2_000.0), (900.0, 1_800.0), (900.0, 1_800.0)),
}
SIZE_NAMES = ((0.15, "1-room"), (0.35, "1BHK"), (0.6, "2BHK"), (0.85, "3BHK"), (1.01, "bungalow"))


@dataclass(frozen=True)
class AlwaysOn:
    """A load that runs day and night: steady, or cycling (period_s > 0); months empty = all year."""

    name: str
    power_w: float
    period_s: float = 0.0
    duty: float = 1.0
    months: tuple[int, ...] = ()
    share: float = 1.0  # of days it is on, in runs of several days (a desktop left on, a tank heater)


@dataclass(frozen=True)
class Fridge:
    """A fridge or freezer: compressor power and cycle; a frost-free one heats its coil twice a day or so."""

    power_w: float
    period_s: float
    defrost_w: float = 0.0


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


def _owns(rng: np.random.Generator, thing: str, wealth: float) -> bool:
    poor, rich = OWNERSHIP[thing]
    return bool(rng.random() < poor + (rich - poor) * wealth)


def random_wide_profile(rng: np.random.Generator) -> WideProfile:
    """A random household of the wide family: one-room flat to large bungalow, any of four climates."""
    wealth = float(rng.beta(1.0, 1.3))
    state = str(rng.choice(list(STATE_CLIMATE)))
    climate = STATE_CLIMATE[state]
    occupants = int(np.clip(1 + rng.binomial(6, 0.25 + 0.25 * wealth), 1, 8))
    daytime = int(rng.integers(0, occupants // 2 + 2)) if occupants > 1 else int(rng.random() < 0.3)
    own = {thing: _owns(rng, thing, wealth) for thing in OWNERSHIP}

    # Set-top boxes, chargers, a router, a mosquito repellent: even a one-room flat draws a little.
    always_on = [AlwaysOn("standby", float(rng.uniform(12, 25) + 50 * wealth * rng.uniform(0.3, 1.2)))]
    if own["inverter_ups"]:
        always_on.append(AlwaysOn("inverter losses", float(rng.uniform(20, 40) + 80 * wealth * rng.random())))
    if own["cctv"]:
        always_on.append(AlwaysOn("cctv", float(rng.uniform(15, 70))))
    if own["purifier"]:
        refill_s = float(rng.uniform(5_400, 10_800))  # an RO purifier tops up its tank
        always_on.append(AlwaysOn("purifier", float(rng.uniform(30, 60)), period_s=refill_s, duty=0.12))
    if own["aquarium"]:
        always_on.append(AlwaysOn("aquarium pump", float(rng.uniform(10, 40))))
        always_on.append(AlwaysOn("aquarium heater", float(rng.uniform(50, 200)), 1_800.0, 0.6, (0, 1, 10, 11)))
    if own["always_on_pc"]:
        always_on.append(AlwaysOn("desktop left on", float(rng.uniform(40, 160)), share=float(rng.uniform(0.3, 1.0))))
    if own["left_on"]:
        left_on = float(rng.uniform(15, 80))
        always_on.append(AlwaysOn("a TV, set-top box or speaker left on", left_on, share=float(rng.uniform(0.1, 0.5))))
    if own["dehumidifier"] and climate != "north":
        power, period, duty = float(rng.uniform(200, 400)), float(rng.uniform(1_800, 3_600)), float(rng.uniform(0.3, 0.7))
        always_on.append(AlwaysOn("dehumidifier", power, period, duty, CLIMATES[climate].humid_months))

    fridges = []
    for thing, low_w, high_w in (("fridge", 80 + 90 * wealth, 130 + 90 * wealth), ("second_fridge", 90, 200),
                                 ("freezer", 100, 180)):
        if own[thing]:
            frost_free = rng.random() < 0.2 + 0.6 * wealth
            power, period = float(rng.uniform(low_w, high_w)), float(rng.uniform(1_800, 3_600))
            fridges.append(Fridge(power, period, float(rng.uniform(150, 350)) if frost_free else 0.0))

    rooms = 1 + int(round(3.5 * wealth + rng.uniform(-0.5, 0.5)))
    hot_dry = climate in ("north", "west")
    n_ac = int(rng.binomial(rooms, min(1.0, 0.05 + 0.9 * wealth**1.5)))
    acs = tuple((float(rng.uniform(900, 1_900)), bool(rng.random() < 0.2 + 0.6 * wealth)) for _ in range(n_ac))
    cold_winter = max(CLIMATES[climate].cold) >= 0.5
    n_heaters = int(rng.binomial(rooms, 0.3 + 0.5 * wealth)) if cold_winter and own["room_heater"] else 0
    heaters = tuple(
        (float(rng.choice([800.0, 1_200.0, 1_500.0, 2_000.0, 2_500.0])), bool(rng.random() < 0.5))
        for _ in range(n_heaters)
    )
    chances = np.array([kind.chance(wealth) for kind in WATER_HEATERS.values()])
    water_heater = str(rng.choice(list(WATER_HEATERS), p=chances / chances.sum())) if own["geyser"] else ""
    ev_w = 0.0
    if own["ev_car"]:
        ev_w = float(rng.choice([3_300.0, 3_300.0, 3_300.0, 7_200.0]))
    elif own["e_scooter"]:
        ev_w = float(rng.uniform(250, 700))
    return WideProfile(
        name=next(name for limit, name in SIZE_NAMES if wealth < limit),
        wealth=wealth,
        occupants=occupants,
        daytime_occupants=min(daytime, occupants),
        state=state,
        climate=climate,
        always_on=tuple(always_on),
        fridges=tuple(fridges),
        n_fans=max(1, rooms + int(rng.integers(0, 2))),
        fan_w=float(rng.uniform(45, 80)),
        n_lights=int(np.clip(2 * rooms + rng.integers(1, 5), 2, 24)),
        light_w=float(rng.uniform(9, 40)),
        acs=acs,
        ac_threshold=float(rng.uniform(0.35, 0.8)),
        cooler_w=float(rng.uniform(120, 250)) if hot_dry and own["cooler"] and n_ac < rooms else 0.0,
        water_heater=water_heater,
        water_heater_w=float(rng.uniform(*WATER_HEATERS[water_heater].power_w)) if water_heater else 0.0,
        night_lamp_w=float(rng.uniform(5, 15)) if rng.random() < 0.7 else 0.0,
        heaters=heaters,
        pump_w=float(rng.choice([370.0, 750.0, 1_100.0])) if own["pump"] else 0.0,
        n_tv=int(np.clip(round(rng.uniform(0.3, 1.2) + 2 * wealth), 0, 4)),
        tv_w=float(rng.uniform(50, 180)),
        mixer_w=float(rng.uniform(450, 800)),
        wet_grinder=climate == "south" and own["wet_grinder"],
        induction_w=float(rng.uniform(1_200, 2_000)) if own["induction"] else 0.0,
        induction_share=float(rng.uniform(0.2, 1.0)),
        microwave_w=float(rng.uniform(800, 1_300)) if own["microwave"] else 0.0,
        oven_w=float(rng.uniform(1_200, 2_000)) if own["oven"] else 0.0,
        kettle_w=float(rng.uniform(1_200, 2_000)) if own["kettle"] else 0.0,
        washer_w=float(rng.uniform(300, 500)) if own["washer"] else 0.0,
        washer_heater_w=float(rng.uniform(1_800, 2_200)) if own["washer"] and own["washer_heater"] else 0.0,
        washes_per_week=float(rng.uniform(1, 2.5) + 0.6 * occupants),
        iron_w=float(rng.choice([0.0, 750.0, 1_000.0, 1_200.0])),
        wfh_pc_w=float(rng.uniform(60, 250)) if own["wfh_pc"] else 0.0,
        wfh_share=float(rng.uniform(0.1, 0.9)) if own["wfh_pc"] else 0.0,
        ev_w=ev_w,
        ev_charges_per_week=float(rng.uniform(1.5, 5)),
        ev_hours=float(rng.uniform(2, 6)),
        activity_sd=float(rng.uniform(0.3, 0.65)),
        away_per_year=float(rng.uniform(1, 8)),
        guests_per_year=float(rng.uniform(1, 8)),
        wake_h=float(rng.uniform(5.5, 7.5)),
        bed_h=float(rng.uniform(22.0, 24.0)),
        return_h=float(rng.uniform(17.5, 20.0)),
    )


# --- what spans days: hash noise and episodes ------------------------------------------------

def _stream_key(seed_u: int, stream: int) -> np.uint64:
    key = _splitmix64(np.array([seed_u], dtype=np.uint64))[0] ^ np.uint64(stream * 0x2545F4914F6CDD1D % (1 << 64))
    return _splitmix64(np.array([key], dtype=np.uint64))[0]


def _day_uniforms(seed_u: int, stream: int, ordinals: np.ndarray, k: int) -> np.ndarray:
    """(len(ordinals), k) uniforms in (0, 1), a pure function of (seed, stream, day)."""
    keys = (np.asarray(ordinals, dtype=np.uint64)[:, None] << np.uint64(8)) | np.arange(k, dtype=np.uint64)
    return _uniform(keys ^ _stream_key(seed_u, stream))


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
    home = _h(p.return_h) + rng.normal(0, 2_700) if day_people == 0 else _h(16.5) + rng.normal(0, 1_800)
    if rng.random() < (0.2 if off_day else 0.07) * min(1.5, activity):  # dinner out, a wedding, visiting
        home = _h(21) + rng.uniform(0, 2 * 3_600)
    late = 0.75 if off_day else 0.0
    wake = _h(p.wake_h + late) + rng.normal(0, 1_500)
    bed = max(_h(p.bed_h + late / 2) + rng.normal(0, 1_800), home + rng.uniform(1_800, 5_400))
    month = date.month - 1
    standing_on = tuple(
        (not load.months or month in load.months)
        and (load.share >= 1 or _smooth_normal(seed_u, 100 + i, ordinal, 4) < NormalDist().inv_cdf(load.share))
        for i, load in enumerate(p.always_on)
    )
    return _WideDay(date, month, off_day, holiday, float(np.clip(heat, 0, 1.4)), float(max(0.0, cold)),
                    people, day_people, wfh, activity, standing_on, home, wake, bed)


# --- the appliance rules ----------------------------------------------------------------------

def _always_on(p: WideProfile, d: _WideDay, rng: np.random.Generator) -> list[tuple]:
    events = []
    for load, on in zip(p.always_on, d.standing_on):
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
        return [(_h(19), _h(23), p.light_w, 0.0, 1.0)] if rng.random() < 0.3 else []
    sunset = _h(SUNSET_H_BY_MONTH[d.month]) + _h(0.6) * (p.climate == "north") * (d.month in (4, 5, 6))
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
        events.append((sunset, DAY_S + _h(6), p.light_w * rng.uniform(1, 3), 0.0, 1.0))
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
        events.append((max(_h(17.5), d.home_s) + rng.uniform(0, 3_600), d.bed_s, p.fan_w, 0.0, 1.0))
    if p.cooler_w > 0 and d.heat > 0.55 and rng.random() < min(1.0, 2 * (d.heat - 0.55) + 0.3):
        # A desert cooler runs through the hot afternoon and, most nights, until morning.
        start = _h(11) + rng.uniform(0, 3 * 3_600) if d.day_people else _h(19) + rng.uniform(0, 3_600)
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
            start = _h(12) + rng.uniform(0, 3 * 3_600)
            events.extend(_ac_run(power, inverter, start, start + rng.uniform(5_400, 5 * 3_600), d.heat, rng))
    return events


def _ac_run(power: float, inverter: bool, start: float, end: float, heat: float, rng: np.random.Generator) -> list[tuple]:
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
            start = _h(18) + rng.uniform(0, 3 * 3_600)
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
        start = _h(18) + rng.uniform(0, 3 * 3_600)
        events.append((start, start + rng.uniform(*kind.first_s) / 2, p.water_heater_w, 0.0, 1.0))
    return events


def _pump(p: WideProfile, d: _WideDay, rng: np.random.Generator) -> list[tuple]:
    if p.pump_w <= 0 or d.people == 0:
        return []
    events = []
    for _ in range(1 + int(rng.poisson(0.3 * d.people * d.activity))):
        start = rng.choice([d.wake_s - rng.uniform(0, 1_800), _h(17) + rng.uniform(0, 4 * 3_600)])
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
            start = max(_h(18.5), d.home_s) + rng.uniform(-3_600, 3 * 3_600)
            events.append((start, d.bed_s - rng.uniform(-1_800, 2_400), p.tv_w, 0.0, 1.0))
        if d.day_people > 0 and rng.random() < (0.6 if d.off_day else 0.3) * d.activity:
            start = _h(10) + rng.uniform(0, 6 * 3_600)
            events.append((start, start + rng.uniform(1_800, 4 * 3_600), p.tv_w, 0.0, 1.0))
    if p.wfh_pc_w > 0 and d.wfh:
        start = _h(9) + rng.uniform(-1_800, 3_600)
        events.append((start, start + rng.uniform(6, 10) * 3_600, p.wfh_pc_w, 0.0, 1.0))
    elif p.wfh_pc_w > 0 and rng.random() < 0.3 * d.activity:  # an evening on the computer
        start = max(_h(20), d.home_s) + rng.uniform(0, 2 * 3_600)
        events.append((start, start + rng.uniform(3_600, 3 * 3_600), p.wfh_pc_w, 0.0, 1.0))
    for _ in range(d.people):  # phones and laptops charging
        start = d.bed_s - rng.uniform(-1_800, 5_400)
        events.append((start, start + rng.uniform(3_600, 3 * 3_600), rng.uniform(5, 45), 0.0, 1.0))
    return events


@dataclass(frozen=True)
class Meal:
    """A meal that may be cooked on induction: when, and how often relative to the household's habit."""

    hour: float
    share: float  # of the household's induction share
    needs_day_people: bool
    after_home: bool  # cooked once the family is back


MEALS = (Meal(7.5, 0.8, False, False), Meal(13.0, 0.5, True, False), Meal(20.0, 0.8, False, True))


@dataclass(frozen=True)
class SmallUse:
    """A short use of a small appliance while someone is at home."""

    power_w: tuple[float, float]
    minutes: tuple[float, float]
    weight: float


SMALL_USES: dict[str, SmallUse] = {
    "hair dryer": SmallUse((800.0, 1_800.0), (3.0, 12.0), 1.0),
    "vacuum cleaner": SmallUse((900.0, 1_500.0), (10.0, 30.0), 0.6),
    "laptop": SmallUse((30.0, 65.0), (60.0, 240.0), 1.5),
    "a fan or light in another room": SmallUse((40.0, 100.0), (30.0, 180.0), 2.0),
    "toaster or sandwich maker": SmallUse((700.0, 1_000.0), (3.0, 10.0), 0.8),
    "a charger or trimmer": SmallUse((5.0, 20.0), (60.0, 180.0), 1.0),
    "sewing machine or drill": SmallUse((100.0, 600.0), (10.0, 60.0), 0.3),
}
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
            start = _h(meal.hour) + rng.uniform(-3_600, 3_600)
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
        start = rng.choice([_h(11), _h(16), _h(19)]) + rng.uniform(0, 2 * 3_600)
        events.append((start, start + rng.uniform(1_800, 4_500), p.oven_w, rng.uniform(120, 300), 0.6))
    if p.kettle_w > 0:
        for _ in range(int(rng.poisson(2.0 * size))):
            start = rng.choice([d.wake_s + 1_800, _h(16.5)]) + rng.uniform(-1_800, 3_600)
            events.append((start, start + rng.uniform(120, 300), p.kettle_w, 0.0, 1.0))
    if p.wet_grinder and rng.random() < (0.5 if d.off_day else 0.15):
        start = _h(16) + rng.uniform(0, 3 * 3_600)
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
        start = rng.choice([d.wake_s + rng.uniform(1_800, 5_400), _h(19) + rng.uniform(0, 7_200)])
        events.append((start, start + rng.uniform(600, 2_400), p.iron_w, 60.0, 0.5))
    return events


def _ev(p: WideProfile, d: _WideDay, rng: np.random.Generator) -> list[tuple]:
    if p.ev_w <= 0 or d.people == 0 or rng.random() >= p.ev_charges_per_week / 7:
        return []
    start = _h(20) + rng.uniform(0, 4 * 3_600)
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
