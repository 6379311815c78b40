"""The wide household family's tables: climates, ownership by wealth, water heaters, standing loads, meals and
small appliances."""

from __future__ import annotations

from dataclasses import dataclass


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
    "DL": "north",
    "UP": "north",
    "PB": "north",
    "HR": "north",
    "RJ": "north",
    "BR": "north",
    "TN": "south",
    "KA": "south",
    "KL": "south",
    "AP": "south",
    "TS": "south",
    "MH": "west",
    "GJ": "west",
    "WB": "east",
    "OD": "east",
    "AS": "east",
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
