"""CSV downloads of readings, daily energy, bills and payments, as `powergw export` writes them."""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import sqlite3
from collections.abc import Callable

from flask import Response

from gateway.ops import OpsError
from gateway.ops.export import EXPORTS, ExportRange
from gateway.ops.health import connect_readonly
from gateway.store import StoreError

from ..context import UiContext
from ..services import Unavailable
from .endpoint import ApiError, Endpoint, Param

log = logging.getLogger(__name__)


_EXPORT_LAST_30_DAYS = ("readings", "daily")  # by default, as the CLI; bills and payments: all of them
_EXPORT_FROM = Param("from", "date", "first local day (default: 30 days before `to`)")
_EXPORT_TO = Param("to", "date", "last local day, included (default: today)")
_EXPORT_NODE = Param("node", doc="one node's id (default: every node)")
_EXPORT_PARAMS = {
    "readings": (_EXPORT_FROM, _EXPORT_TO, _EXPORT_NODE),
    "daily": (_EXPORT_FROM, _EXPORT_TO, _EXPORT_NODE),
    "bills": (Param("from", "date", "first local day a bill was closed on (default: the first bill)"), _EXPORT_TO),
    "payments": (
        Param("from", "date", "first local day a payment was recorded on (default: the first payment)"),
        _EXPORT_TO,
    ),
}


def _export(kind: str) -> Callable:
    """GET /export/KIND.csv: the rows `powergw export KIND` writes (gateway.ops.export), streamed as read."""

    def handler(ctx: UiContext, args, body):
        cal = ctx.calendar
        last = args["to"] or dt.date.fromisoformat(cal.today(ctx.now_ms()))
        first = args["from"]
        if first is None and kind in _EXPORT_LAST_30_DAYS:
            first = last - dt.timedelta(days=30)  # the CLI's default range
        if first is not None and last < first:
            raise ApiError(400, f"to {last} is before from {first}")
        node = args.get("node")
        if node is not None:
            try:
                ctx.store().node_keys(node)
            except StoreError as err:
                raise ApiError(404, str(err)) from None
        rng = ExportRange(
            cal.day_start_ms(first) if first else 0, cal.day_start_ms(last + dt.timedelta(days=1)), cal, node
        )
        # Its own read-only connection, as the CLI's: a long download holds nothing of this thread's store.
        try:
            conn = connect_readonly(ctx.db_path)
        except OpsError as err:
            raise Unavailable(str(err)) from err
        rows = EXPORTS[kind][1](conn, rng)
        try:
            header = next(rows)  # a missing table is refused here, before any byte is sent
        except (OpsError, sqlite3.Error) as err:
            conn.close()
            raise Unavailable(f"cannot export {kind}: {err}") from err

        def chunks():
            buf = io.StringIO()
            writer = csv.writer(buf, lineterminator="\n")  # as gateway.ops.export.write_csv writes it
            writer.writerow(header)
            try:
                for row in rows:
                    writer.writerow(row)
                    if buf.tell() >= 65_536:
                        yield buf.getvalue()
                        buf.seek(0)
                        buf.truncate()
                yield buf.getvalue()
            except sqlite3.Error:
                # Headers are gone; dropping the connection mid-body is how the client learns
                # the file is incomplete (a clean end would look like a whole export).
                log.exception("export %s: database error after the download started", kind)
                raise

        name = f"powergw-{kind}-{first.isoformat() if first else 'all'}-to-{last.isoformat()}.csv"
        resp = Response(
            chunks(), mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'}
        )
        resp.call_on_close(conn.close)  # also when the client goes away mid-download
        return resp

    handler.__name__ = f"export_{kind}"
    return handler


ROWS: tuple[Endpoint, ...] = tuple(
    Endpoint(
        "GET",
        f"/export/{kind}.csv",
        _export(kind),
        f"CSV of {EXPORTS[kind][0]}, as `powergw export {kind}` "
        "writes it (local ISO 8601 times, exact Wh and rupees); a download (Content-Disposition: attachment)",
        "export",
        params=params,
        produces=("text/csv",),
    )
    for kind, params in _EXPORT_PARAMS.items()
)
