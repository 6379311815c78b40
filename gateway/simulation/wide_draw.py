"""Drawing a random household of the wide family: one-room flat to large bungalow, any of four climates."""

from __future__ import annotations

import numpy as np

from .wide_household import WideProfile
from .wide_tables import CLIMATES, OWNERSHIP, SIZE_NAMES, STATE_CLIMATE, WATER_HEATERS, AlwaysOn, Fridge


def _owns(rng: np.random.Generator, thing: str, wealth: float) -> bool:
    poor, rich = OWNERSHIP[thing]
    return bool(rng.random() < poor + (rich - poor) * wealth)


def _standing_loads(rng: np.random.Generator, own: dict[str, bool], wealth: float, climate: str) -> list[AlwaysOn]:
    """The loads that run day and night in a household owning `own`."""
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
        power, period, duty = (
            float(rng.uniform(200, 400)),
            float(rng.uniform(1_800, 3_600)),
            float(rng.uniform(0.3, 0.7)),
        )
        always_on.append(AlwaysOn("dehumidifier", power, period, duty, CLIMATES[climate].humid_months))
    return always_on


def _fridges_owned(rng: np.random.Generator, own: dict[str, bool], wealth: float) -> list[Fridge]:
    """The fridges and freezers of a household owning `own`; frost-free ones more likely the wealthier it is."""
    fridges = []
    for thing, low_w, high_w in (
        ("fridge", 80 + 90 * wealth, 130 + 90 * wealth),
        ("second_fridge", 90, 200),
        ("freezer", 100, 180),
    ):
        if own[thing]:
            frost_free = rng.random() < 0.2 + 0.6 * wealth
            power, period = float(rng.uniform(low_w, high_w)), float(rng.uniform(1_800, 3_600))
            fridges.append(Fridge(power, period, float(rng.uniform(150, 350)) if frost_free else 0.0))
    return fridges


def random_wide_profile(rng: np.random.Generator) -> WideProfile:
    """A random household of the wide family: one-room flat to large bungalow, any of four climates."""
    wealth = float(rng.beta(1.0, 1.3))
    state = str(rng.choice(list(STATE_CLIMATE)))
    climate = STATE_CLIMATE[state]
    occupants = int(np.clip(1 + rng.binomial(6, 0.25 + 0.25 * wealth), 1, 8))
    daytime = int(rng.integers(0, occupants // 2 + 2)) if occupants > 1 else int(rng.random() < 0.3)
    own = {thing: _owns(rng, thing, wealth) for thing in OWNERSHIP}

    always_on = _standing_loads(rng, own, wealth, climate)
    fridges = _fridges_owned(rng, own, wealth)

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
