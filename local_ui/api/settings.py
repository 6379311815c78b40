"""Household settings: what is in force and where it comes from, and changing them."""

from __future__ import annotations

import dataclasses
from typing import Any

from flask import jsonify

from gateway.config import SECTIONS

from ..context import UiContext
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


def settings_patch(ctx: UiContext, args, body):
    """Set or reset household settings: all validated first, then written together, or none."""
    set_values = {} if body.get("set") is None else body["set"]
    reset = [] if body.get("reset") is None else body["reset"]
    if not isinstance(set_values, dict) or not isinstance(reset, list) or not all(isinstance(k, str) for k in reset):
        raise ApiError(400, 'expected {"set": {key: value, ...}, "reset": [key, ...]}')
    if not set_values and not reset:
        raise ApiError(400, 'nothing to change: send "set" and/or "reset"')
    editable = HouseholdSettings(ctx.store(), ctx.config).change(
        set_values, reset, by=principal().username, now_ms=ctx.now_ms()
    )
    return jsonify(editable=editable)


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
)
