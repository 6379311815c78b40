"""The utility meter's readings and a real bill's units, entered by hand and compared with the sensors."""

from __future__ import annotations

from flask import jsonify

from gateway.billing.reconcile import KWH_PATTERN

from ..context import UiContext
from ..services import MeterReadings
from .endpoint import LIMIT, ApiError, Endpoint, principal


def _meter(ctx: UiContext) -> MeterReadings:
    """Meter readings on this request's store and the household's settings in force."""
    return MeterReadings(ctx.store(), ctx.effective_config(), ctx.now_ms)


def meter_readings_list(ctx, args, body):
    meter = _meter(ctx)
    return jsonify(readings=meter.list(limit=args["limit"] or 100), audit=meter.audit())


def meter_reading_put(ctx, args, body, reading_id: int):
    note = (body.get("note") or "").strip()
    return jsonify(_meter(ctx).correct(reading_id, body["value"], by=principal().username, note=note))


def meter_reading_delete(ctx, args, body, reading_id: int):
    return jsonify(_meter(ctx).delete(reading_id, by=principal().username))


def meter_readings_create(ctx, args, body):
    has_reading, has_units = body.get("reading") is not None, body.get("billed_units") is not None
    if has_reading == has_units:
        raise ApiError(400, "send either reading (the meter's register in kWh) or billed_units with from and to")
    if has_reading and (body.get("from") or body.get("to")):
        raise ApiError(400, "from/to go with billed_units; a register reading is taken now")
    row = _meter(ctx).record(
        reading=body.get("reading"),
        billed_units=body.get("billed_units"),
        date_from=body.get("from"),
        date_to=body.get("to"),
        note=(body.get("note") or "").strip(),
    )
    return jsonify(row), 201


_KWH = {"type": "string", "maxLength": 20, "pattern": KWH_PATTERN}
_BILL_DAY = {"type": "string", "format": "date", "maxLength": 10}
_NOTE = {"type": "string", "maxLength": 200}
_NEW_READING = {
    "type": "object",
    "properties": {
        "reading": _KWH
        | {"description": 'meter register in kWh as the meter shows it: up to 6 digits and 3 decimals, e.g. "12345.6"'},
        "billed_units": _KWH | {"description": "units on the utility's bill for from..to (same form)"},
        "from": _BILL_DAY | {"description": "first day of the billed period (YYYY-MM-DD, 2000 or later)"},
        "to": _BILL_DAY
        | {
            "description": "the next meter-reading day, exclusive (YYYY-MM-DD): after from, not after "
            "today, at most 100 days after from"
        },
        "note": _NOTE,
    },
}
_CORRECTION = {
    "type": "object",
    "required": ["value"],
    "properties": {"value": _KWH | {"description": 'the right kWh, e.g. "12345.6"'}, "note": _NOTE},
}

ROWS: tuple[Endpoint, ...] = (
    Endpoint(
        "GET",
        "/meter-readings",
        meter_readings_list,
        "Meter readings and billed units entered, each with its gap to the sensors and any meter_mismatch alert",
        "billing",
        params=(LIMIT,),
        errors=(503,),
    ),
    Endpoint(
        "POST",
        "/meter-readings",
        meter_readings_create,
        "Enter the meter's register reading (taken now) or a real bill's units for a period; compared with the sensors",
        "billing",
        role="admin",
        body=_NEW_READING,
        status=(201,),
    ),
    Endpoint(
        "PUT",
        "/meter-readings/<id:reading_id>",
        meter_reading_put,
        "Correct a meter reading's or billed units' "
        "kWh (a typo); compared with the sensors again, the old value kept in the audit list",
        "billing",
        role="admin",
        body=_CORRECTION,
        errors=(503,),
    ),
    Endpoint(
        "DELETE",
        "/meter-readings/<id:reading_id>",
        meter_reading_delete,
        "Delete a meter reading or billed "
        "units entered by mistake; the next reading is compared again, an audit line keeps what it was",
        "billing",
        role="admin",
        errors=(503,),
    ),
)
