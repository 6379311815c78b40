"""Households: the operator adds them, their registration codes and tariffs; their gateways read bills and feedback."""

from __future__ import annotations

from flask import Response, jsonify

from .context import CloudApi
from .errors import fail


def no_household(household_id: int) -> Response:
    return fail(404, f"no household {household_id}")


def add_household(api: CloudApi, body: dict) -> Response:
    hid, code = api.store.add_household(body["name"], api.clock())
    return jsonify(household_id=hid, registration_code=code), 201


def add_code(api: CloudApi, household_id: int) -> Response:
    if not api.store.household_exists(household_id):
        return no_household(household_id)
    return jsonify(registration_code=api.store.new_registration_code(household_id, api.clock())), 201


def bills(api: CloudApi, household_id: int, after: int, limit: int) -> Response:
    return jsonify(bills=api.store.events(household_id, "bill_closed", limit, after))


def feedback(api: CloudApi, household_id: int, after: int, limit: int) -> Response:
    return jsonify(feedback=api.store.events(household_id, "feedback", limit, after))


def publish_tariff(api: CloudApi, body: dict) -> Response:
    hid = body["household_id"]
    if hid is not None and not api.store.household_exists(hid):
        return no_household(hid)  # a tariff for nobody would sit in the change feed for ever
    return jsonify(seq=api.store.publish_tariff(hid, body["tariff"], api.clock())), 201
