"""Configuration: one TOML file parsed once at start-up into typed, frozen sections.

Each section is a frozen dataclass; a field's type and metadata (`min`, `max`, `choices`) are
the validation. An unknown section or key, or a bad value, raises ConfigError naming the key,
the value and what would be accepted, and start-up stops there.

Each part of powergw declares its sections in its record (`gateway.parts.Part.sections`: name ->
"module:Class", the class in the part's own module); `gateway.app.SECTIONS` gathers them.
"""

from __future__ import annotations

import dataclasses
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import PowerGwError
from .app import SECTIONS
from .parts import load_object


class ConfigError(PowerGwError):
    """A configuration value that start-up cannot accept."""


def setting(
    default: Any = dataclasses.MISSING,
    *,
    doc: str = "",
    min: float | None = None,
    max: float | None = None,
    choices: tuple | None = None,
    default_factory: Any = dataclasses.MISSING,
) -> Any:
    """A dataclass field with validation metadata and a one-line description for the docs."""
    meta = {"doc": doc, "min": min, "max": max, "choices": choices}
    if default_factory is not dataclasses.MISSING:
        return field(default_factory=default_factory, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class GatewaySection:
    """[gateway]: where data lives and how ingest writes it."""

    db: Path = setting(Path("/var/lib/powergw/powergw.db"), doc="SQLite database file")
    timezone: str = setting("Asia/Kolkata", doc="IANA time zone of the household; days and bills use it")
    commit_interval_s: float = setting(
        30.0,
        min=0.1,
        max=600,
        doc="seconds between commits of raw readings; a power cut loses at most this much raw data, never energy "
        "(30 s keeps SD-card writes under 1 MB per node-hour; live values do not wait for it)",
    )
    rollup_interval_s: float = setting(
        300.0,
        min=1,
        max=3600,
        doc="seconds between rollup commits (minute/hour/day tables, node state); replayed after a crash",
    )
    retention_days: int = setting(30, min=1, max=3650, doc="days of raw 1 s readings kept; rollups are kept forever")
    clock_jump_s: float = setting(2.0, min=0.5, max=3600, doc="a wall-clock step larger than this is a clock jump")
    node_offline_minutes: int = setting(5, min=1, max=1440, doc="no frame for this long marks a node offline")

    def validate(self) -> None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"timezone = {self.timezone!r}: unknown time zone; expected an IANA name like 'Asia/Kolkata'"
            ) from None


@dataclass(frozen=True)
class SerialSection:
    """[serial]: the USB serial ports nodes are wired to."""

    ports: list[str] = setting(default_factory=list, doc="ports such as /dev/ttyUSB0 or /dev/serial/by-id/...")
    baudrate: int = setting(115200, choices=(9600, 57600, 115200, 230400, 460800, 921600), doc="line speed")
    retry_max_s: float = setting(30.0, min=0.1, max=3600, doc="longest wait between attempts to reopen a lost port")


@dataclass(frozen=True)
class UiSection:
    """[ui]: the LAN dashboard."""

    enabled: bool = setting(True, doc="serve the dashboard from `powergw run`")
    host: str = setting("127.0.0.1", doc="address to listen on; 0.0.0.0 for the whole LAN")
    port: int = setting(8080, min=1, max=65535, doc="TCP port")
    allowed_hosts: list[str] = setting(
        default_factory=list,
        doc="names the dashboard answers to besides localhost, this machine's addresses, "
        "its hostname and hostname.local (e.g. a DNS name on your router); any other Host is refused (DNS rebinding)",
    )
    language: str = setting(
        "en",
        choices=("en", "ta", "hi"),
        doc="the dashboard's language in a browser that has not picked one: en (English), ta (Tamil), hi (Hindi)",
    )

    def validate(self) -> None:
        for name in self.allowed_hosts:
            if not name or any(c in name for c in "/:@ ") or name != name.strip():
                raise ValueError(
                    f"allowed_hosts: {name!r}: expected a host name such as 'powergw.home.arpa' (no port, no scheme)"
                )


def _section_class(name: str) -> type:
    return load_object(SECTIONS[name])


class Config:
    """All sections, typed: `config.gateway.db`, `config["billing"]`."""

    def __init__(self, sections: dict[str, Any], source: str = "<defaults>"):
        self._sections = sections
        self.source = source

    def __getitem__(self, name: str) -> Any:
        if name not in self._sections:
            self._sections[name] = _section_class(name)()
        return self._sections[name]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in SECTIONS:
            raise AttributeError(f"no config section [{name}]")
        return self[name]

    def replace(self, name: str, **changes: Any) -> Config:
        """A copy with some keys of one section changed (validated like the file)."""
        section = self[name]
        merged = {f.name: getattr(section, f.name) for f in dataclasses.fields(section)} | changes
        sections = dict(self._sections)
        sections[name] = parse_section(name, merged)
        return Config(sections, self.source)


def _describe(tp: Any, meta: dict) -> str:
    if meta.get("choices"):
        return "one of " + ", ".join(repr(c) for c in meta["choices"])
    base = {str: "a string", int: "a whole number", float: "a number", bool: "true or false", Path: "a path"}.get(tp)
    if base is None and typing.get_origin(tp) is list:
        base = "a list of strings"
    if base is None and typing.get_origin(tp) is dict:
        base = "a table of strings"
    lo, hi = meta.get("min"), meta.get("max")
    if lo is not None and hi is not None:
        base += f" from {lo:g} to {hi:g}"
    elif lo is not None:
        base += f" of at least {lo:g}"
    return base or str(tp)


def _coerce(section: str, key: str, value: Any, tp: Any, meta: dict) -> Any:
    def bad() -> ConfigError:
        return ConfigError(f"[{section}] {key} = {value!r}: expected {_describe(tp, meta)}")

    origin = typing.get_origin(tp)
    if origin is typing.Union or str(origin) == "<class 'types.UnionType'>":
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        tp = args[0]
        origin = typing.get_origin(tp)
    if tp is bool:
        if not isinstance(value, bool):
            raise bad()
        out: Any = value
    elif tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad()
        out = value
    elif tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad()
        out = float(value)
    elif tp is str:
        if not isinstance(value, str):
            raise bad()
        out = value
    elif tp is Path:
        if not isinstance(value, (str, Path)) or not str(value):
            raise bad()
        out = Path(value).expanduser()
    elif origin is list:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad()
        out = list(value)
    elif origin is dict:
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise bad()
        out = dict(value)
    else:  # pragma: no cover - a section declared a type this parser does not know
        raise TypeError(f"[{section}] {key}: unsupported setting type {tp!r}")
    if meta.get("choices") and out not in meta["choices"]:
        raise bad()
    if meta.get("min") is not None and out < meta["min"]:
        raise bad()
    if meta.get("max") is not None and out > meta["max"]:
        raise bad()
    return out


def parse_section(name: str, values: dict[str, Any]) -> Any:
    cls = _section_class(name)
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(f"[{name}] unknown key {unknown[0]!r}; known keys: {', '.join(sorted(fields))}")
    kwargs = {k: _coerce(name, k, v, hints[k], dict(fields[k].metadata)) for k, v in values.items()}
    try:
        section = cls(**kwargs)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"[{name}] {err}") from err
    check = getattr(section, "validate", None)
    if check is not None:
        try:
            check()
        except ValueError as err:
            raise ConfigError(f"[{name}] {err}") from err
    return section


def parse_config(data: dict[str, Any], source: str = "<dict>") -> Config:
    sections: dict[str, Any] = {}
    for name, values in data.items():
        if name not in SECTIONS:
            raise ConfigError(f"{source}: unknown section [{name}]; known sections: {', '.join(sorted(SECTIONS))}")
        if not isinstance(values, dict):
            raise ConfigError(f"{source}: [{name}] must be a table of keys")
        try:
            sections[name] = parse_section(name, values)
        except ConfigError as err:
            raise ConfigError(f"{source}: {err}") from None
    return Config(sections, source)


def load_config(path: Path | str | None) -> Config:
    """Read and validate a TOML config file; None gives the defaults."""
    if path is None:
        return Config({})
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from None
    return parse_config(data, str(path))


def documented_keys() -> list[tuple[str, str, Any, str]]:
    """(section, key, default, doc) for every setting: the example config and docs use it."""
    rows = []
    for name in SECTIONS:
        cls = _section_class(name)
        for f in dataclasses.fields(cls):
            default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
            rows.append((name, f.name, default, f.metadata.get("doc", "")))
    return rows
