"""Which local dates are public holidays for a state: `holidays.India` plus a small override file.

The `holidays` package's state lists differ from the states' official ones (its Tamil Nadu list
has Holi and Maha Shivaratri, which are not Tamil Nadu holidays, and misses Thai Poosam and
Telugu New Year); data/holiday_overrides.toml corrects them. Used by billing's projection and
by the theft model's features.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
import threading
import tomllib
import types
from dataclasses import dataclass, field
from pathlib import Path

from . import PowerGwError

DEFAULT_OVERRIDES = Path(__file__).parent / "data" / "holiday_overrides.toml"


class HolidayDataError(PowerGwError):
    """The override file cannot be used; names the state and key."""


@dataclass(frozen=True)
class StateOverrides:
    """Names to drop and dated holidays to add for one state."""

    remove: frozenset[str] = frozenset()
    add: tuple[tuple[dt.date, str], ...] = ()


def parse_overrides(text: str) -> dict[str, StateOverrides]:
    """Parse the override TOML; an unknown key or a bad date names itself."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise HolidayDataError(f"holiday overrides: {err}") from err
    result = {}
    for state, table in raw.items():
        unknown = set(table) - {"remove", "add"}
        if unknown:
            raise HolidayDataError(
                f"holiday overrides [{state}]: unknown key(s) {sorted(unknown)}; accepted: add, remove"
            )
        added = []
        for row in table.get("add", []):
            if not isinstance(row.get("date"), dt.date) or not isinstance(row.get("name"), str):
                raise HolidayDataError(
                    f'holiday overrides [{state}].add: {row!r} needs date = YYYY-MM-DD and name = "..."'
                )
            added.append((row["date"], row["name"]))
        result[state] = StateOverrides(frozenset(table.get("remove", [])), tuple(added))
    return result


def load_overrides(path: Path = DEFAULT_OVERRIDES) -> dict[str, StateOverrides]:
    return parse_overrides(Path(path).read_text(encoding="utf-8"))


_INDIA_MODULE = "holidays.countries.india"
_india_import = threading.Lock()


def india_holidays() -> type:
    """`holidays.India`, imported without the package's other 250 countries.

    `holidays.India` (or `from holidays.countries import India`) runs holidays/countries/__init__,
    which imports every country: about 8 MB resident in the daemon and the dashboard, for the one
    they use. India's module needs only the package's core, so it is imported under a bare stand-in
    for `holidays.countries`, removed again at once: a later `import holidays.countries` anywhere
    is the real package, and it reuses the India module. Should a holidays release move India, the
    whole package is imported as before.
    """
    with _india_import:
        module = sys.modules.get(_INDIA_MODULE)
        if module is None:
            import holidays  # the core only: constants, HolidayBase, calendars, lazy country loaders

            parent = "holidays.countries"
            spec = importlib.util.find_spec(parent) if parent not in sys.modules else None
            if spec is None or not spec.submodule_search_locations:
                return holidays.India
            stand_in = types.ModuleType(parent)
            stand_in.__path__ = list(spec.submodule_search_locations)
            sys.modules[parent] = stand_in
            try:
                module = importlib.import_module(_INDIA_MODULE)
            except ImportError:
                return holidays.India
            finally:
                if sys.modules.get(parent) is stand_in:
                    del sys.modules[parent]
        return module.India


@dataclass
class HolidayCalendar:
    """Holiday names per local date for one state, built per year on first use; state "" has none
    (a household that sets `[billing] holiday_state = ""`)."""

    state: str = "TN"
    overrides: dict[str, StateOverrides] = field(default_factory=load_overrides)
    _years: dict[int, dict[dt.date, str]] = field(default_factory=dict, repr=False)

    def name(self, date: dt.date) -> str:
        year = self._years.get(date.year)
        if year is None:
            year = self._build(date.year)
            self._years[date.year] = year
        return year.get(date, "")

    def is_holiday(self, date: dt.date) -> bool:
        return bool(self.name(date))

    def dates(self, year: int) -> set[dt.date]:
        """Every public holiday of the state in `year`."""
        if year not in self._years:
            self._years[year] = self._build(year)
        return set(self._years[year])

    def _build(self, year: int) -> dict[dt.date, str]:
        if not self.state:
            return {}
        rules = self.overrides.get(self.state, StateOverrides())
        days = {}
        for date, name in india_holidays()(subdiv=self.state, years=year).items():
            kept = [part.strip() for part in name.split(";") if part.strip() not in rules.remove]
            if kept:
                days[date] = "; ".join(kept)
        for date, name in rules.add:
            if date.year == year:
                days[date] = f"{days[date]}; {name}" if date in days else name
        return days
