"""Alerts and what the household does about them, and the theft model's status."""

from __future__ import annotations

from flask import jsonify

from gateway.alerts.chart import theft_view
from gateway.alerts.kinds import available_actions
from gateway.alerts.texts import history, summary

from ..context import UiContext
from ..services import Alerts, model_status
from .endpoint import LIMIT, ApiError, Endpoint, Param, principal


def _alerts(ctx: UiContext) -> Alerts:
    """Alerts on this request's store, with the listeners the settings in force ask for."""
    return Alerts(ctx.store(), ctx.effective_config(), ctx.now_ms)


def _plain(ctx: UiContext, alert: dict) -> dict:
    """The alert as the household reads it: one sentence (`summary`), the answers that fit it now
    (`actions`), for theft the small chart, the power graph's span and the evidence's days
    (`view`), and with its history, each action as a sentence (`history`)."""
    out = {**alert, "summary": summary(alert, ctx.timezone), "available": available_actions(alert)}
    out["view"] = theft_view(ctx.store(), alert, ctx.timezone, ctx.now_ms()) if alert["kind"] == "theft" else None
    if "actions" in alert:
        out["history"] = history(alert["actions"], principal().username, ctx.timezone)
    else:
        out["actions"] = out["available"]
    return out


def alerts_list(ctx, args, body):
    a = _alerts(ctx)
    states = None
    if args["state"]:
        states = tuple(s for s in args["state"].split(",") if s)
        bad = [s for s in states if s not in a.states]
        if bad:
            raise ApiError(400, f"state {bad[0]!r}: expected one of {', '.join(a.states)} (comma-separated)")
    if args["kind"] and args["kind"] not in a.kinds:
        raise ApiError(400, f"kind {args['kind']!r}: expected one of {', '.join(sorted(a.kinds))}")
    since = ctx.calendar.day_start_ms(args["since"]) if args["since"] else None
    items = a.list(state=states, kind=args["kind"], since_ms=since, limit=args["limit"] or 100, node_id=args["node"])
    return jsonify(
        alerts=[_plain(ctx, item) for item in items],
        counts=a.counts(),
        kinds=a.kinds,
        actions={k: v[0] for k, v in a.actions.items()},
    )


def alert_get(ctx, args, body, alert_id: int):
    return jsonify(_plain(ctx, _alerts(ctx).get(alert_id)))


def _act(action: str):
    """POST /alerts/ID/ACTION: the household's answer to an alert, with an optional comment."""

    def handler(ctx, args, body, alert_id: int):
        comment = (body.get("comment") or "").strip()
        return jsonify(_plain(ctx, _alerts(ctx).act(alert_id, action, principal().username, comment)))

    handler.__name__ = f"alert_{action}"
    return handler


def model_get(ctx, args, body):
    return jsonify(model_status(ctx.store(), ctx.now_ms(), ctx.registry_root, ctx.timezone))


_COMMENT = {"type": "object", "properties": {"comment": {"type": "string", "maxLength": 500}}}
_ACTIONS = (  # (action, the endpoint's summary), in the OpenAPI document's order
    ("ignore", 'Ignore, "this is mine": teaches the theft model this pattern is normal (theft alerts only; 409 else)'),
    (
        "unignore",
        "Stop ignoring: take back an Ignore (the alert is open again; for theft the next hourly check drops the "
        "Ignore's rule and what it taught the model)",
    ),
    ("raise", 'Raise, "this is not mine": escalate and keep watching (theft alerts only; 409 else)'),
    ("resolve", "Resolve: dealt with"),
)

ROWS: tuple[Endpoint, ...] = (
    Endpoint(
        "GET",
        "/alerts",
        alerts_list,
        "Alerts newest first, with counts per state; each with `summary` {key, params}, `actions` (the answers "
        "that fit it now) and for theft `view` (the chart, the power graph's span, the evidence's days)",
        "alerts",
        params=(
            Param("state", doc="one or more of open, ignored, raised, resolved (comma-separated)"),
            Param("kind", doc="one alert kind"),
            Param("node", doc="one node's id"),
            Param("since", "date", "only alerts seen on or after this local date"),
            LIMIT,
        ),
        errors=(503,),
    ),
    Endpoint(
        "GET",
        "/alerts/<id:alert_id>",
        alert_get,
        "One alert with its history of actions (records in `actions`, sentences in `history`) and what fits it "
        "now (`available`)",
        "alerts",
        errors=(503,),
    ),
    *(
        Endpoint(
            "POST",
            f"/alerts/<id:alert_id>/{action}",
            _act(action),
            summary,
            "alerts",
            role="admin",
            body=_COMMENT,
            errors=(409,),
        )
        for action, summary in _ACTIONS
    ),
    Endpoint(
        "GET",
        "/model",
        model_get,
        "Theft model: version, check-set figures, whether this household is still "
        "being learned, and the Ignore rules in force in words (ignore_rules: alert_id, text, expires_ms, "
        "renewing, alert_state)",
        "data",
        errors=(503,),
    ),
)
