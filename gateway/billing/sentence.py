"""Sentences the billing code writes for people, in English for the CLI and as {key, params, formats} for the
dashboard, which words them in the reader's language (local_ui/static/strings/<lang>.js). Pure."""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def plain(d: Decimal | float | int) -> str:
    """A number of units without trailing zeros (Decimal("12.50") -> "12.5")."""
    return format(d.normalize(), "f") if isinstance(d, Decimal) else f"{d:g}"


class Note(str):
    """An English sentence (it is the str) that also carries its dashboard key and parameters. `formats`
    names the parameters the page formats itself: {"units": "units"} (a number of units), "inr" (rupees,
    a decimal string), "days" (a number of days, one decimal), "iso" (a local date) or "tariff_method"."""

    key: str
    params: dict[str, Any]
    formats: dict[str, str]

    def __new__(
        cls, text: str, key: str = "bill_note_text", params: dict[str, Any] | None = None, formats: dict | None = None
    ):
        obj = super().__new__(cls, text)
        obj.key = key
        obj.params = dict(params or {})
        obj.formats = dict(formats or {})
        return obj

    def as_json(self) -> dict:
        """The shape alerts' summaries have: `formats` {name: [kind, raw value]} for the page to word."""
        formats = {name: [kind, self.params[name]] for name, kind in self.formats.items()}
        return {"key": self.key, "params": self.params, "formats": formats}


def sentence_of(text: str) -> dict:
    """{key, params, formats} of a Note; any other text (a note written before it carried a key, a tariff
    file's own words) as the sentence "bill_note_text" with that text as its only parameter."""
    if isinstance(text, Note):
        return text.as_json()
    return {"key": "bill_note_text", "params": {"text": str(text)}, "formats": {}}


def units_note(text: str, key: str, **units: Decimal) -> Note:
    """A Note whose parameters are all numbers of units (sent as plain decimal strings)."""
    return Note(text, key, {k: plain(v) for k, v in units.items()}, {k: "units" for k in units})
