"""Generate the richardsonpy evaluation households kept in edge_model/eval_data/richardson_households.npz.

richardsonpy (GPL-3.0, RWTH Aachen E.ON ERC) is the Python version of the Richardson/CREST
domestic electricity demand model: a Markov chain of active occupants every 10 minutes drives
appliance switch-ons and lighting (from solar irradiance) at 1-minute resolution. Each household
is one year simulated from fixed seeds (1-5 occupants, a random appliance set of the model's UK
ownership rates, one of its 100 lighting configurations), of which 120 days starting on a day
drawn from the seed are kept. Electric space heating, instantaneous water heaters and electric
showers are left out (prev_heat_dev): British storage heaters and 9 kW showers are not what these
households run; the model's 3 kW storage water heater (DESWH, like a geyser, 17 % of homes) stays,
as prev_heat_dev's list of indices misses it. A held-out
source: nothing is chosen on it. Run with the evaluation extra:

    .venv/bin/pip install -e '.[evaluation]'
    .venv/bin/python scripts/make_richardson_households.py

The output is ours to keep; the tests and the evaluation read it and never need richardsonpy.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import random
import sys
import warnings
from importlib.metadata import version
from pathlib import Path

import numpy as np

from edge_model.minute_recording import Recording
from edge_model.recordings import EVAL_DATA, RICHARDSON_FILE, save_households

HOUSEHOLDS = 16
DAYS = 120
FIRST_SEED = 30_000
YEAR_START = dt.date(2018, 1, 1)  # a Monday, as the model's day 1 (initial_day=1)


def appliance_names() -> list[str]:
    """The model's appliances, in the order of its Appliances.csv (its data rows carry no names)."""
    import richardsonpy

    lines = (Path(richardsonpy.__file__).parent / "inputs" / "Appliances.csv").read_text(encoding="utf-8").splitlines()
    return [line.split(";")[1] for line in lines[1:] if line.strip()]


def household(index: int) -> tuple[Recording, dict]:
    import richardsonpy.classes.electric_load as eload
    import richardsonpy.classes.occupancy as occ
    import richardsonpy.functions.change_resolution as cr
    import richardsonpy.functions.load_radiation as loadrad

    seed = FIRST_SEED + index
    rng = np.random.default_rng([seed, 0x41C])
    occupants = 1 + index % 5
    light_config = int(rng.integers(0, 100))
    is_sfh = bool(rng.random() < 0.5)
    start = int(rng.integers(0, 365 - DAYS + 1))
    random.seed(seed)  # the model draws only from Python's random
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        occupancy = occ.Occupancy(number_occupants=occupants, initial_day=1, nb_days=365)
        q_direct, q_diffuse = loadrad.get_rad_from_try_path()
        q_direct = cr.change_resolution(q_direct, old_res=3600, new_res=60)
        q_diffuse = cr.change_resolution(q_diffuse, old_res=3600, new_res=60)
        load = eload.ElectricLoad(
            occ_profile=occupancy.occupancy,
            total_nb_occ=occupants,
            q_direct=q_direct,
            q_diffuse=q_diffuse,
            is_sfh=is_sfh,
            randomize_appliances=True,
            prev_heat_dev=True,
            light_config=light_config,
            timestep=60,
            initial_day=1,
        )
    year = np.asarray(load.loadcurve, dtype=np.float64)
    power = year[start * 1_440 : (start + DAYS) * 1_440]
    owned = [name for name, row in zip(appliance_names(), load.appliances.data, strict=False) if row[0]]
    first = YEAR_START + dt.timedelta(days=start)
    name = f"richardson-{index:02d}"
    dwelling = "single-family house" if is_sfh else "flat"
    note = (
        f"richardsonpy household {index} (seed {seed}): {occupants} occupants, {dwelling}, lighting configuration "
        f"{light_config}, days {start}..{start + DAYS - 1} of its simulated year"
    )
    about = {
        "name": name,
        "seed": seed,
        "occupants": occupants,
        "sfh": is_sfh,
        "light_config": light_config,
        "start_day": start,
        "appliances": owned,
    }
    return Recording(name, "richardson", first, power, note), about


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=EVAL_DATA / RICHARDSON_FILE)
    parser.add_argument("--households", type=int, default=HOUSEHOLDS)
    args = parser.parse_args(argv)
    recordings, described = [], []
    for index in range(args.households):
        recording, about = household(index)
        recordings.append(recording)
        described.append(about)
        kwh = recording.power_w.astype(np.float64).reshape(-1, 1_440).mean(axis=1) * 24 / 1_000
        print(f"{recording.name} {about['occupants']} occupants {np.median(kwh):5.1f} kWh/day", flush=True)
    meta = {
        "source": "richardson",
        "note": (
            "Households generated with richardsonpy (GPL-3.0; Richardson et al., Energy and Buildings 2010, the "
            "CREST model) at 1-minute resolution, without electric space heating, instantaneous water heaters or "
            "electric showers (a 3 kW storage water heater stays), rounded to whole W."
        ),
        "command": ".venv/bin/python scripts/make_richardson_households.py",
        "richardsonpy": version("richardsonpy"),
        "days": DAYS,
        "splits": {"holdout": [0, len(recordings)]},
        "households": described,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_households(args.out, recordings, meta)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
