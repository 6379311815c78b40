"""What a gateway syncs: its batches of events up, its household's change feed down."""

from __future__ import annotations

from flask import Response, g, jsonify

from .context import CloudApi
from .contract import parse_event


def post_events(api: CloudApi, body: dict) -> Response:
    rows = [parse_event(item, i, api.settings.max_payload_bytes) for i, item in enumerate(body["events"])]
    new, dup = api.store.add_events(g.caller, rows, api.clock())
    return jsonify(new=new, duplicate=dup)


def get_changes(api: CloudApi, cursor: int, limit: int) -> Response:
    changes = api.store.changes(g.caller.household_id, cursor, limit + 1)
    more = len(changes) > limit
    changes = changes[:limit]
    return jsonify(changes=changes, cursor=changes[-1]["seq"] if changes else cursor, more=more)
