"""Household settings: what is in force and where it comes from, and changing them."""

from __future__ import annotations

import dataclasses
from typing import Any

from flask import jsonify

from gateway.config import SECTIONS

from ..context import UiContext
from ..errors import UiError
from ..services import HouseholdSettings
from .endpoint import ApiError, Endpoint, principal


def settings_get(ctx: UiContext, args, body):
    """The keys the household may set (value in force, source, when a change applies), the config file, the
    accounts."""
    sections: dict[str, Any] = {}
    if ctx.config is not None:
        for name in SECTIONS:
            section = ctx.config[name]
            values = {}
            for f in dataclasses.fields(section):
                v = getattr(section, f.name)
                if any(word in f.name for word in ("password", "secret", "token", "key")) and v:
                    v = "(set)"
                values[f.name] = str(v) if not isinstance(v, (int, float, bool, list, dict, type(None))) else v
            sections[name] = values
    p = principal()
    out: dict[str, Any] = {
        "editable": HouseholdSettings(ctx.store(), ctx.config).describe(),
        "timezone": ctx.timezone,
        "config_source": getattr(ctx.config, "source", None),
        "sections": sections,
        "me": {"username": p.username, "role": p.role},
        "offline_after_s": ctx.offline_ms // 1000,
    }
    if p.can("admin") and p.token_id is None:
        out["users"] = ctx.accounts().users()
        out["tokens"] = ctx.accounts().tokens()
    return jsonify(out)


def _cycle_months(ctx: UiContext) -> int | None:
    """Months per billing cycle under the tariff in force now (None while the tariff cannot be loaded)."""
    from .billing import billing_service

    try:
        return billing_service(ctx).cycle()[1]
    except (ApiError, UiError):
        return None


def changed_settings(ctx: UiContext, set_values: dict, reset: list) -> list[dict]:
    """Write household settings (all validated first, or none) and say at once what the change means: a tariff
    with another cycle length (`{key, params}` notices), and a budget checked now, its alerts raised."""
    from .billing import budget_check

    months_before = _cycle_months(ctx)
    HouseholdSettings(ctx.store(), ctx.config).change(set_values, reset, by=principal().username, now_ms=ctx.now_ms())
    ctx.wrote()
    notices = []
    months_after = _cycle_months(ctx)
    if months_before and months_after and months_before != months_after:
        notices.append({"key": "notice_cycle_changed", "params": {"before": months_before, "after": months_after}})
    touched = {*set_values, *reset}
    if touched & {"billing.budget_inr", "billing.budget_period", "billing.tariff", "billing.meter_reading_date"}:
        try:
            check = budget_check(ctx)
        except UiError:  # the settings are saved; the budget job says what stops the estimate
            check = None
        if check is not None:
            notices.append({"key": "notice_budget_checked", "params": check})
    return notices


def settings_patch(ctx: UiContext, args, body):
    """Set or reset household settings: all validated first, then written together, or none."""
    set_values = {} if body.get("set") is None else body["set"]
    reset = [] if body.get("reset") is None else body["reset"]
    if not isinstance(set_values, dict) or not isinstance(reset, list) or not all(isinstance(k, str) for k in reset):
        raise ApiError(400, 'expected {"set": {key: value, ...}, "reset": [key, ...]}')
    if not set_values and not reset:
        raise ApiError(400, 'nothing to change: send "set" and/or "reset"')
    notices = changed_settings(ctx, set_values, reset)
    return jsonify(editable=HouseholdSettings(ctx.store(), ctx.config).describe(), notices=notices)


# ---- setup in a minute: the household's answers in one form -----------------------------------------

# What the setup form asks, as the settings key each answer is kept under.
SETUP_KEYS = {
    "holiday_state": "billing.holiday_state",
    "tariff": "billing.tariff",
    "meter_reading_date": "billing.meter_reading_date",
    "budget": "billing.budget_inr",
    "upi_vpa": "billing.upi_vpa",
    "upi_payee_name": "billing.upi_payee_name",
    "email_to": "email.to",
}


def household_get(ctx: UiContext, args, body):
    """The setup form's answers in force, each saying whether it is still the built-in default; the nodes with
    their names and which are the mains; whether a meter reading was ever entered."""
    from gateway import house
    from gateway.billing.estimate import BUDGET_META_KEY

    store = ctx.store()
    rows = {e["key"]: e for e in HouseholdSettings(store, ctx.config).describe()}
    answers = {}
    for name, key in SETUP_KEYS.items():
        e = rows[key]
        default = e["source"] == "default" and not (key == "billing.budget_inr" and store.get_meta(BUDGET_META_KEY))
        answers[name] = {"value": e["value"], "default": default, "choices": e.get("choices"), "labels": e["labels"]}
    metering_set = store.conn.execute("SELECT count(*) FROM metering_changes").fetchone()[0] > 0
    readings = store.conn.execute("SELECT count(*) FROM meter_readings WHERE kind = 'register'").fetchone()[0]
    mains = house.current_mains(store.conn)
    nodes = [
        {"node_id": n["node_id"], "name": n["name"] or n["node_id"], "reported_name": n["reported_name"]}
        for n in store.nodes()
    ]
    named = {r[0] for r in store.conn.execute("SELECT node_id FROM node_names")}
    defaults = [name for name, a in answers.items() if a["default"]]
    if not readings:
        defaults.append("meter_reading")
    if nodes and not named:
        defaults.append("node_names")
    if len(nodes) > 1 and not metering_set:
        defaults.append("mains")
    if answers["email_to"]["value"] and rows["email.host"]["source"] == "default":
        defaults.append("mail_server")  # alert e-mails go nowhere until a mail server is named (Advanced)
    return jsonify(
        answers=answers,
        nodes=nodes,
        mains=mains,
        meter_readings=readings,
        today=store.calendar.day(ctx.now_ms()),
        defaults=defaults,
        complete=not defaults,
    )


def household_post(ctx: UiContext, args, body):
    """Save the setup form: every answer checked before anything is written (a meter reading, the settings,
    the node names and the mains), then written; the budget checked at once."""
    import re

    from gateway import settings_store
    from gateway.billing.reconcile import KWH_PATTERN

    from ..services import InputError, MeterReadings
    from .nodes import change_nodes, check_nodes

    set_values = {key: body[name] for name, key in SETUP_KEYS.items() if body.get(name) is not None}
    if isinstance(set_values.get("email.to"), str):
        set_values["email.to"] = [a.strip() for a in set_values["email.to"].split(",") if a.strip()]
    if set_values.get("email.to"):
        set_values["email.enabled"] = True
    store = ctx.store()
    reading, names, mains = body.get("meter_reading"), body.get("names"), body.get("mains")
    try:
        settings_store.check_changes(store, ctx.config, set_values, [])
    except settings_store.SettingsError as err:
        raise InputError(str(err)) from err
    check_nodes(ctx, names, mains)
    if reading not in (None, "") and not re.fullmatch(KWH_PATTERN, str(reading)):
        raise InputError(
            f"meter reading {str(reading)[:40]!r}: expected kWh as the meter shows them, up to 6 digits and 3 "
            "decimals, e.g. 12345.6"
        )
    if reading not in (None, ""):
        MeterReadings(store, ctx.effective_config(), ctx.now_ms).record(reading=str(reading), note="first-time setup")
    notices = changed_settings(ctx, set_values, []) if set_values else []
    if names is not None or mains is not None:
        change_nodes(ctx, names, mains, by=principal().username)
    return household_get(ctx, args, body).get_json() | {"notices": notices}


_SETUP_BODY = {
    "type": "object",
    "properties": {
        "holiday_state": {"type": "string", "maxLength": 8, "description": "state code for holidays, e.g. TN"},
        "tariff": {"type": "string", "maxLength": 200, "description": "tariff name, e.g. tn-domestic"},
        "meter_reading_date": {"type": "string", "maxLength": 10, "description": "the last bill's reading day"},
        "meter_reading": {"type": "string", "maxLength": 20, "description": 'the meter now, kWh, e.g. "12345.6"'},
        "budget": {"type": "string", "maxLength": 40, "description": 'rupees per cycle, e.g. "1,500"; "0" for none'},
        "upi_vpa": {"type": "string", "maxLength": 100, "description": "the utility's UPI ID, e.g. tnpdcl@sbi"},
        "upi_payee_name": {"type": "string", "maxLength": 100, "description": "the payee name on the bill"},
        "email_to": {"type": "string", "maxLength": 500, "description": "alert e-mails to (comma-separated)"},
        "names": {"type": "object", "description": '{"<node id>": "Kitchen", ...}'},
        "mains": {"type": "array", "items": {"type": "string"}, "description": "node ids on the mains"},
    },
}


_CHANGES = {
    "type": "object",
    "properties": {
        "set": {
            "type": "object",
            "description": 'e.g. {"billing.tariff": "delhi-domestic", '
            '"ble.bindkeys.A4:CF:12:34:56:7A": "<32 hex>"}; secrets (email.password, ble.bindkeys.*) are '
            "write-only",
        },
        "reset": {
            "type": "array",
            "items": {"type": "string"},
            "description": "keys to take from the config file again",
        },
    },
}

ROWS: tuple[Endpoint, ...] = (
    Endpoint(
        "GET",
        "/settings",
        settings_get,
        "Household settings in force and where each comes from; the config file; users and tokens for admins",
        "settings",
    ),
    Endpoint(
        "PATCH",
        "/settings",
        settings_patch,
        'Set ("set": {key: value}) or reset to the config file '
        '("reset": [key]) household settings; validated like the config file, all or nothing',
        "settings",
        role="admin",
        body=_CHANGES,
        errors=(503,),
    ),
    Endpoint(
        "GET",
        "/household",
        household_get,
        "Setup in a minute: state, tariff, meter-reading date, budget, UPI ID, e-mail, node names, the mains; "
        "which answers are still the built-in defaults",
        "settings",
    ),
    Endpoint(
        "POST",
        "/household",
        household_post,
        "Save the setup form: every answer checked before any is written; the budget checked at once",
        "settings",
        role="admin",
        body=_SETUP_BODY,
        errors=(503,),
    ),
)
