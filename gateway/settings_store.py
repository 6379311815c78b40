"""Household overrides of a whitelist of config keys, kept in the store and edited from the dashboard.

The config file (/etc/powergw/config.toml) is read-only to the dashboard's service (systemd's
ProtectSystem=strict leaves only /var/lib/powergw writable), so the Settings page writes here.
`effective_config(store, config)` is the file's config with these overrides applied. Every
change is checked with the file's own validators (`Config.replace` -> `parse_section`) on the
merged section, so a value the file would refuse is refused here, and nothing is written.

The budget is not kept in this table: it lives where `PUT /api/v1/budget` has always kept it
(the store's meta key `billing.budget_paise`, read by billing itself), so the two cannot disagree.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlite_utils
from sqlite_utils.migrations import Migrations

from . import PowerGwError
from .config import Config, ConfigError

log = logging.getLogger(__name__)

NEXT_RUN = "next_run"  # the next job run and the next dashboard request use it
RESTART = "restart"  # read once when powergw starts (BLE scanning)

settings_migrations = Migrations("powergw.settings")


@settings_migrations()
def m001_settings(db: sqlite_utils.Database) -> None:
    db.execute(
        """CREATE TABLE settings (
            key TEXT PRIMARY KEY,
            value_json TEXT NOT NULL,
            updated_ms INTEGER NOT NULL,
            updated_by TEXT NOT NULL
        )"""
    )


class SettingsError(PowerGwError):
    """A setting that cannot be accepted; the message names the key, the value and what would be."""


def _tariff_names(config: Config) -> list[str]:
    from .billing.tariff_book import TariffBook

    return TariffBook.load(config.billing.tariff_dir).names()


def _known_tariff(config: Config) -> None:
    section = config.billing
    names = _tariff_names(config)
    if section.tariff not in names:
        raise SettingsError(f"billing.tariff = {section.tariff!r}: unknown tariff; expected one of {', '.join(names)}")


@dataclass(frozen=True)
class Editable:
    """One config key the dashboard may override, and when a change takes effect."""

    section: str
    name: str
    applies: str = NEXT_RUN
    write_only: bool = False  # a secret: accepted, never returned (only whether it is set)
    per_node: bool = False  # one override per BLE address: "<section>.<name>.<address>"
    check: Callable[[Config], None] | None = None  # beyond the file's validators (names the dashboard may pick)
    options: Callable[[Config], list] | None = None  # the values a picker offers, when not the field's `choices`

    @property
    def key(self) -> str:
        return f"{self.section}.{self.name}"


BUDGET_KEY = "billing.budget_inr"

EDITABLE: tuple[Editable, ...] = (
    Editable("billing", "tariff", check=_known_tariff, options=_tariff_names),
    Editable("billing", "meter_reading_date"),
    Editable("billing", "budget_inr"),
    Editable("billing", "budget_period"),
    Editable("email", "enabled"),
    Editable("email", "to"),
    Editable("email", "host"),
    Editable("email", "port"),
    Editable("email", "security"),
    Editable("email", "username"),
    Editable("email", "password", write_only=True),
    Editable("ble", "bindkeys", applies=RESTART, write_only=True, per_node=True),
    Editable("supply", "alerts"),
    Editable("supply", "cut_alert_minutes"),
    Editable("supply", "voltage_alert_minutes"),
)
_BY_KEY = {e.key: e for e in EDITABLE}


def editable_for(key: str) -> tuple[Editable, str | None]:
    """The whitelist row of a key, and the node address for a per-node key."""
    if key in _BY_KEY and not _BY_KEY[key].per_node:
        return _BY_KEY[key], None
    for e in EDITABLE:
        if e.per_node and key.startswith(e.key + ".") and len(key) > len(e.key) + 1:
            return e, key[len(e.key) + 1 :].lower()
    names = [e.key + (".<address>" if e.per_node else "") for e in EDITABLE]
    raise SettingsError(f"unknown setting {key!r}; the dashboard can set {', '.join(names)}")


# ---- reading -----------------------------------------------------------------------------------


def _budget_meta() -> str:
    from .billing.estimate import BUDGET_META_KEY

    return BUDGET_META_KEY


def overrides(store: Any) -> dict[str, Any]:
    """Every stored override by key (the budget included, in whole rupees or a rupee string)."""
    conn: sqlite3.Connection = store.conn
    try:
        rows = conn.execute("SELECT key, value_json FROM settings").fetchall()
    except sqlite3.OperationalError:  # a read-only store opened before the migration ran
        rows = []
    out = {k: json.loads(v) for k, v in rows}
    paise = store.get_meta(_budget_meta())
    if paise is not None:
        out[BUDGET_KEY] = int(paise) // 100 if int(paise) % 100 == 0 else f"{Decimal(int(paise)) / 100:.2f}"
    return out


def _changes(config: Config, values: dict[str, Any], raw: frozenset[str] = frozenset()) -> dict[str, dict[str, Any]]:
    """Overrides grouped into per-section keyword changes for `Config.replace` (`raw`: new values, as sent)."""
    out: dict[str, dict[str, Any]] = {}
    for key, value in values.items():
        e, node = editable_for(key)
        changes = out.setdefault(e.section, {})
        if e.per_node:
            merged = changes.setdefault(e.name, {a.lower(): k for a, k in getattr(config[e.section], e.name).items()})
            merged[node] = value
        elif key == BUDGET_KEY and key not in raw:
            changes[e.name] = int(Decimal(str(value)))  # kept in paise by PUT /budget; the file's key is whole rupees
        else:
            changes[e.name] = value
            if key == "email.password":
                changes["password_file"] = None  # a password set here wins over the file's password_file
    return out


def effective_config(store: Any, config: Config) -> Config:
    """The config file's values with the household's overrides applied.

    A section whose overrides no longer validate against the file (the file changed under them)
    keeps the file's values, with a warning, rather than stopping a job.
    """
    for section, changes in _changes(config, overrides(store)).items():
        try:
            config = config.replace(section, **changes)
        except ConfigError as err:
            log.warning("settings: the dashboard's [%s] overrides are ignored: %s", section, err)
    return config


def _source(default: Any, file_value: Any, overridden: bool) -> str:
    if overridden:
        return "dashboard"
    return "default" if file_value == default else "config"


def describe(store: Any, config: Config) -> list[dict]:
    """Each editable key: its value in force (secrets masked), where it comes from, when a change applies."""
    stored = overrides(store)
    effective = effective_config(store, config)
    out = []
    for e in EDITABLE:
        cls_field = {f.name: f for f in dataclasses.fields(config[e.section])}[e.name]
        default = (
            cls_field.default_factory() if cls_field.default_factory is not dataclasses.MISSING else cls_field.default
        )
        meta = dict(cls_field.metadata)
        base = {
            "section": e.section,
            "name": e.name,
            "applies": e.applies,
            "write_only": e.write_only,
            "doc": meta.get("doc", ""),
            "choices": e.options(config) if e.options else list(meta["choices"]) if meta.get("choices") else None,
        }
        if e.per_node:
            file_keys = {a.lower() for a in getattr(config[e.section], e.name)}
            mine = {k[len(e.key) + 1 :] for k in stored if k.startswith(e.key + ".")}
            for node in sorted(file_keys | mine):
                out.append(
                    base
                    | {
                        "key": f"{e.key}.{node}",
                        "node": node,
                        "value": None,
                        "is_set": True,
                        "source": "dashboard" if node in mine else "config",
                        "file_value": None,
                    }
                )
            continue
        file_value = getattr(config[e.section], e.name)
        if e.key == "email.password":
            file_value = config.email.password or (
                str(config.email.password_file) if config.email.password_file else ""
            )
        value = (
            stored.get(e.key, getattr(effective[e.section], e.name))
            if e.key == BUDGET_KEY
            else getattr(effective[e.section], e.name)
        )
        row = base | {
            "key": e.key,
            "source": _source(default, file_value, e.key in stored),
            "value": value,
            "file_value": file_value,
            "default": default,
        }
        if e.write_only:
            row |= {"value": None, "file_value": None, "default": None, "is_set": bool(value or file_value)}
        out.append(row)
    return out


# ---- writing -----------------------------------------------------------------------------------


def _budget_paise(value: Any) -> int:
    """The budget as PUT /api/v1/budget reads it (billing.money.parse_budget: "1,500", "2500.50", 0 for none)."""
    from .billing import PaymentError
    from .billing.money import parse_budget

    try:
        return parse_budget(value, what=BUDGET_KEY)
    except PaymentError as err:
        raise SettingsError(str(err)) from None


def apply_changes(
    store: Any, config: Config, set_values: dict[str, Any], reset: list[str], *, by: str, now_ms: int
) -> Config:
    """Validate every change against the merged config, then write them all in one transaction.

    Returns the new effective config. Raises SettingsError (nothing written) on the first bad value.
    """
    from .store import transaction

    stored = overrides(store)
    for key in reset:
        editable_for(key)
    normalised: dict[str, Any] = {}
    budget_paise = 0
    for key, value in set_values.items():
        e, node = editable_for(key)
        if value is None:
            raise SettingsError(f"{key}: a value is required; to go back to the config file, reset it")
        if e.key == BUDGET_KEY:
            budget_paise = _budget_paise(value)
            value = budget_paise // 100  # whole rupees, as the file's key is checked; the store keeps the paise
        normalised[f"{e.key}.{node}" if node else e.key] = value
    after = {
        k: v for k, v in stored.items() if k not in {r.lower() if r.startswith("ble.") else r for r in reset}
    } | normalised
    # Only the sections that change are re-validated: the others are exactly as they were.
    touched = {editable_for(k)[0].section for k in [*normalised, *reset]}
    new = config
    merged = {k: v for k, v in after.items() if editable_for(k)[0].section in touched}
    for section, changes in _changes(config, merged, frozenset(normalised)).items():
        try:
            new = new.replace(section, **changes)
        except ConfigError as err:
            raise SettingsError(str(err)) from None
    for key in normalised:
        check = editable_for(key)[0].check
        if check is not None:
            check(new)
    budget_meta = _budget_meta()
    with transaction(store) as conn:
        for key in reset:
            if key == BUDGET_KEY:
                conn.execute("DELETE FROM meta WHERE key IN (?, ?)", (budget_meta, budget_meta + ".by"))
            else:
                conn.execute("DELETE FROM settings WHERE key = ?", (key.lower() if key.startswith("ble.") else key,))
        for key, value in normalised.items():
            if key == BUDGET_KEY:
                for k, v in ((budget_meta, str(budget_paise)), (budget_meta + ".by", f"{by} {now_ms}")):
                    conn.execute(
                        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) "
                        "DO UPDATE SET value = excluded.value",
                        (k, v),
                    )
                continue
            conn.execute(
                "INSERT INTO settings (key, value_json, updated_ms, updated_by) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE "
                "SET value_json = excluded.value_json, updated_ms = excluded.updated_ms, "
                "updated_by = excluded.updated_by",
                (key, json.dumps(value), now_ms, by),
            )
    if normalised or reset:
        log.info("settings changed by %s: %s", by, ", ".join(sorted([*normalised, *(f"{k} (reset)" for k in reset)])))
    return effective_config(store, config)
