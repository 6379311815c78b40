"""The tariffs a gateway knows: shipped files plus the user's folder, every file validated at load.

A tariff name can have several versions (one file each, with its `effective_from`); the version
in force on a day is the latest that took effect on or before it, and a cycle that spans a new
version is split by days (`parts_for_cycle`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from . import TariffError
from .tariff import Tariff
from .tariff_file import load_tariff_file

SHIPPED_DIR = Path(__file__).parent / "tariffs"


class TariffBook:
    """Every tariff version by name, oldest first."""

    def __init__(self, tariffs: list[Tariff]):
        self.versions: dict[str, list[Tariff]] = {}
        for t in tariffs:
            same = self.versions.setdefault(t.name, [])
            clash = next((o for o in same if o.effective_from == t.effective_from), None)
            if clash is not None:
                raise TariffError(
                    f"{t.path}: tariff {t.name} effective {t.effective_from} is already defined in {clash.path}"
                )
            same.append(t)
        for same in self.versions.values():
            same.sort(key=lambda t: t.effective_from)

    @classmethod
    def load(cls, *dirs: Path | None) -> TariffBook:
        """Shipped tariffs plus every *.toml in `dirs` (a user's own tariffs)."""
        files: list[Path] = sorted(SHIPPED_DIR.glob("*.toml"))
        for d in dirs:
            if d is None:
                continue
            d = Path(d)
            if not d.is_dir():
                raise TariffError(f"tariff folder {d} does not exist")
            files.extend(sorted(d.glob("*.toml")))
        return cls([load_tariff_file(f) for f in files])

    def names(self) -> list[str]:
        return sorted(self.versions)

    def resolve(self, name_or_path: str) -> list[Tariff]:
        """The versions of a tariff given by name, or the one in a file given by path."""
        if name_or_path in self.versions:
            return self.versions[name_or_path]
        if name_or_path.endswith(".toml") or "/" in name_or_path:
            return [load_tariff_file(name_or_path)]
        raise TariffError(
            f"unknown tariff {name_or_path!r}: give one of {', '.join(self.names())} or the path of a .toml file"
        )

    def in_force(self, name_or_path: str, day: dt.date) -> Tariff:
        """The version in force on `day` (the oldest one if `day` predates them all)."""
        versions = self.resolve(name_or_path)
        current = versions[0]
        for t in versions:
            if t.effective_from <= day:
                current = t
        return current

    def parts_for_cycle(self, name_or_path: str, start: dt.date, end: dt.date) -> list[tuple[Tariff, int]]:
        """(version, days under it) for the cycle [start, end): one part unless a version takes effect inside."""
        versions = self.resolve(name_or_path)
        cuts = [start] + [t.effective_from for t in versions if start < t.effective_from < end] + [end]
        parts = []
        for a, b in zip(cuts, cuts[1:], strict=False):
            parts.append((self.in_force(name_or_path, a), (b - a).days))
        return parts
