"""The alert kinds: one row each, with default severity, whether it emails and how it dedups.

Tables, not if-chains: a new kind is one row here. `dedup` says which earlier alert with the
same dedup key absorbs a new one: "open" (only an alert still open: the condition can come back
after it was resolved) or "ever" (any alert: once per key, e.g. once per threshold per cycle).
`repeat` says what a repeat does to the open alert's text: "latest" (the message and data become
the repeat's: "silent 54 min") or "first" (the message the household read and answers stays, with
the data it was raised with; the repeat's message and data go under data["latest"]).
"""

from __future__ import annotations

from dataclasses import dataclass

SEVERITIES = ("info", "warning", "critical")


@dataclass(frozen=True)
class AlertKind:
    """How one kind of alert behaves."""

    name: str
    title: str
    severity: str
    emails: bool
    dedup: str = "open"
    advice: str = ""  # what the household can do, in its e-mail (empty: the message says enough)
    repeat: str = "latest"  # "first": a repeat keeps the message (see the module's docstring)
    # What the household may answer: Ignore ("this is mine") and Raise ("this is not mine") teach the
    # theft model and mean nothing on a budget or a bill; those are dealt with (Resolve) or close themselves.
    actions: tuple[str, ...] = ("resolve",)


THEFT_ADVICE = (  # lines under 76 characters: the e-mail's quoted-printable body keeps them whole
    "What it means: your connection drew that much more than usual in those\n"
    "hours on those days. It may be someone drawing power through your line,\n"
    "or something new of your own: a new AC, an EV charger, guests, a pump.\n"
    "What to do, on the gateway's dashboard (Alerts):\n"
    '  - "This is mine" (Ignore if it is yours): the gateway treats this\n'
    "    pattern as your home's usual load from then on, while a larger load\n"
    "    on top of it still alerts. Stop ignoring takes that back.\n"
    '  - "This is not mine" (Raise if it is not): the alert stays and the\n'
    "    gateway keeps watching. Look at the meter and the wire from the pole\n"
    "    for a second wire or a broken seal (never touch a live wire), and\n"
    "    complain to your electricity board's vigilance wing (in Tamil Nadu,\n"
    "    TNPDCL's) with the dates and hours and the readings of those days\n"
    "    (the Alerts card on the dashboard links them as a CSV file)."
)


ANSWERED = ("ignore", "unignore", "raise", "resolve")  # the theft model's feedback, and Resolve

KINDS: dict[str, AlertKind] = {
    k.name: k
    for k in (
        AlertKind("budget_threshold", "Budget threshold reached", "warning", emails=True, dedup="ever"),
        AlertKind("budget_projection", "Projected bill exceeds budget", "warning", emails=True, dedup="ever"),
        AlertKind("slab_ahead", "Slab crossing ahead", "info", emails=True, dedup="ever"),
        AlertKind("node_offline", "Node offline", "warning", emails=True),
        AlertKind("sensor_fault", "Sensor fault", "warning", emails=True),
        AlertKind("meter_mismatch", "Utility meter and sensors disagree", "critical", emails=True),
        AlertKind("sync_failing", "Cloud sync failing", "warning", emails=True),
        AlertKind("cloud_reregister", "Cloud refused this gateway: register it again", "critical", emails=True),
        AlertKind("sync_dead_letter", "An event the cloud will never accept", "warning", emails=True),
        AlertKind(
            "model_rejected",
            "A theft model from the cloud was refused (checksum, features version, metadata or it cannot be scored)",
            "warning",
            emails=False,
        ),
        # A theft alert's text is the evidence as first seen ("+298 W from 01:00 to 04:00"); a later run, once
        # the usual load has taken the tap in, would read "+2 W": its numbers go under data["latest"].
        AlertKind(
            "theft",
            "Possible theft or tapping",
            "critical",
            emails=True,
            advice=THEFT_ADVICE,
            repeat="first",
            actions=ANSWERED,
        ),
        AlertKind("bill_closed", "Bill for the cycle closed", "info", emails=True, dedup="ever"),
        AlertKind("bill_due", "Bill due soon", "info", emails=True, dedup="ever"),
        AlertKind(
            "bill_overdue",
            "Bill overdue",
            "warning",
            emails=True,
            dedup="ever",
            advice="Pay the bill to the electricity board (the dashboard's Bill page has a UPI link), then record\n"
            "the payment there or with `powergw pay`: the alert closes once the balance is paid.",
        ),
        AlertKind(
            "metered_node_unknown",
            "A whole-house node in [billing] metered_nodes has never reported",
            "warning",
            emails=True,
        ),
        AlertKind("email_failing", "Alert email cannot be sent", "warning", emails=False),
        AlertKind("clock_jump", "Gateway clock jumped", "info", emails=False),
        AlertKind("power_cut", "Power cut", "warning", emails=True),
        AlertKind("voltage_out_of_band", "Mains voltage outside the band", "warning", emails=True, dedup="ever"),
    )
}

STATES = ("open", "ignored", "raised", "resolved")

# action -> (states it may start from, state it leads to)
# "unignore" (Stop ignoring) takes back an Ignore pressed by mistake without calling the alert real:
# the alert is open again, and for theft the hourly job drops the Ignore's rule and normal examples.
# From "resolved" only when the household's last answer on the alert was Ignore (AlertStore.act checks
# its history): a resolved, ignored pattern is still ignored and listed on the dashboard as such.
ACTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "ignore": (("open",), "ignored"),
    "unignore": (("ignored", "resolved"), "open"),
    "raise": (("open", "ignored"), "raised"),
    "resolve": (("open", "ignored", "raised"), "resolved"),
}


def available_actions(alert: dict) -> list[str]:
    """The actions that fit the alert's kind and can start from its state now, in ACTIONS' order.
    Stop ignoring is offered here only on an ignored alert; a resolved, ignored pattern is taken back
    from the list of ignored patterns (AlertStore.act checks the alert's history)."""
    spec = KINDS.get(alert["kind"])
    fits = spec.actions if spec else ()
    state = alert["state"]
    return [
        a
        for a, (starts, _) in ACTIONS.items()
        if a in fits and state in starts and (a != "unignore" or state == "ignored")
    ]
