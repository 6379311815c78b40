"""An Ignore rule's saved fields, checked and typed, without numpy.

The one reading of a saved rule, wherever it comes from: a `theft_rules` row
(edge_model.feedback_store), a row of the meta key the upgrade moves into that table, and
`SuppressionRule.from_dict`. A row that would fail at scoring (a cap that is not a number, 3 usual
values instead of 24, hour 24) is refused here, with what is wrong, instead of failing the theft
job every hour.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

REQUIRED = ("first_hour", "last_hour", "weekdays", "max_power_w", "expires_s")
# Fields a rule may lack (rules saved before them), and what they are then.
OPTIONAL = {
    "excess_cap_w": 0.0,
    "usual_w": (),
    "start_s": 0.0,
    "usual_floor_w": (),
    "floor_cap_w": None,
    "renew_days": 0.0,
    "hours": (),
    "steady_cap_w": None,
}
FIELDS = REQUIRED + tuple(OPTIONAL)


def fields(row: Mapping) -> dict:
    """The rule's fields from a saved row, typed: hours and weekdays as ints, watts and times as
    finite floats, per-hour values as tuples of 24 floats (or none), caps that may be missing as
    None. Fields this version does not know are left aside (a row from a newer gateway).
    Raises ValueError ("not an Ignore rule (...)") for anything else."""
    try:
        out = {name: row[name] for name in REQUIRED} | {
            name: row.get(name, default) for name, default in OPTIONAL.items()
        }
        for name in ("first_hour", "last_hour"):
            out[name] = _hour(out[name])
        out["weekdays"] = tuple(sorted({_whole(d, 0, 6, "weekday") for d in _sequence(out["weekdays"], "weekdays")}))
        out["hours"] = tuple(_hour(h) for h in _sequence(out["hours"] or (), "hours"))
        for name in ("max_power_w", "expires_s", "excess_cap_w", "start_s", "renew_days"):
            out[name] = _number(out[name], name)
        for name in ("floor_cap_w", "steady_cap_w"):
            out[name] = None if out[name] is None else _number(out[name], name)
        for name in ("usual_w", "usual_floor_w"):
            values = tuple(_number(v, name) for v in _sequence(out[name] or (), name))
            if len(values) not in (0, 24):
                raise ValueError(f"{name}: expected 24 values (one per hour of day) or none, got {len(values)}")
            out[name] = values
    except (KeyError, TypeError, ValueError, OverflowError, AttributeError) as err:
        raise ValueError(f"not an Ignore rule ({type(err).__name__}: {err})") from None
    return out


def _sequence(value, name: str):
    if isinstance(value, (str, bytes, Mapping)) or not hasattr(value, "__iter__"):
        raise TypeError(f"{name}: expected a list, got {value!r:.40}")
    return value


def _number(value, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a number, got {value!r:.40}") from None
    if not math.isfinite(number):
        raise ValueError(f"{name}: expected a finite number, got {value!r}")
    return number


def _whole(value, low: int, high: int, what: str) -> int:
    number = _number(value, what)
    if not number.is_integer() or not low <= number <= high:
        raise ValueError(f"{what} {value!r}: expected a whole number {low}-{high}")
    return int(number)


def _hour(value) -> int:
    return _whole(value, 0, 23, "hour")
