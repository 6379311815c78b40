"""UPI payment links (`upi://pay?...`, NPCI's deep-link format) and their QR codes."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

from . import PaymentError
from .money import paise_str

VPA_RE = re.compile(r"^[A-Za-z0-9.\-_]{2,256}@[A-Za-z][A-Za-z0-9]{1,63}$")


def upi_link(vpa: str, payee_name: str, amount_paise: int, note: str, ref: str | None = None) -> str:
    """upi://pay?pa=VPA&pn=NAME&am=AMOUNT&cu=INR&tn=NOTE[&tr=REF], each value percent-encoded."""
    if not VPA_RE.match(vpa or ""):
        raise PaymentError(f"UPI address {vpa!r}: expected a VPA like 'tnpdcl@sbi' ([billing] upi_vpa)")
    if not payee_name or not payee_name.strip():
        raise PaymentError("UPI payee name is empty ([billing] upi_payee_name)")
    if amount_paise <= 0:
        raise PaymentError(f"UPI amount {paise_str(amount_paise)}: must be more than 0")
    params = [
        ("pa", vpa),
        ("pn", payee_name.strip()),
        ("am", paise_str(amount_paise)),
        ("cu", "INR"),
        ("tn", note[:80]),
    ]
    if ref:
        params.append(("tr", ref[:35]))
    return "upi://pay?" + "&".join(f"{k}={quote(v, safe='@.-_')}" for k, v in params)


def write_qr(link: str, path: Path | str) -> Path:
    """Save the link as a QR code (PNG or SVG by the file's suffix)."""
    import segno

    path = Path(path)
    segno.make(link, error="m").save(str(path), scale=6, border=4)
    return path


def terminal_qr(link: str) -> str:
    """The QR code drawn with block characters, for `powergw pay --upi` in a terminal."""
    import io

    import segno

    out = io.StringIO()
    segno.make(link, error="m").terminal(out=out, compact=True)
    return out.getvalue()
