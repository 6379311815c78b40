"""The [email] config section: the SMTP server alert emails go through, and the retry policy."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..config import setting


@dataclass(frozen=True)
class EmailSection:
    """[email]: SMTP delivery of alerts, from a persistent outbox."""

    enabled: bool = setting(False, doc="queue an email for every alert whose kind emails")
    host: str = setting("localhost", doc="SMTP server")
    port: int = setting(587, min=1, max=65535, doc="SMTP port (587 STARTTLS, 465 TLS, 25 plain)")
    security: str = setting("starttls", choices=("starttls", "tls", "none"), doc="how the connection is encrypted")
    username: str = setting("", doc="SMTP login; empty = no login")
    password: str = setting("", doc="SMTP password (prefer password_file)")
    password_file: Path | None = setting(None, doc="file holding the SMTP password (mode 600)")
    ca_file: Path | None = setting(
        None, doc="extra CA certificate to trust (a LAN relay with its own certificate); verification is never off"
    )
    from_addr: str = setting("powergw@localhost", doc="From: address")
    to: list[str] = setting(default_factory=list, doc="recipients of alert emails")
    subject_prefix: str = setting("[powergw]", doc="put before every subject")
    timeout_s: float = setting(15.0, min=1, max=300, doc="seconds to wait for the SMTP server")
    retry_base_s: float = setting(
        60.0, min=1, max=86400, doc="first retry delay after a failed send; doubles per attempt"
    )
    retry_max_s: float = setting(
        3600.0, min=1, max=86400, doc="longest delay between attempts (mail is retried until sent)"
    )
    batch: int = setting(20, min=1, max=1000, doc="emails sent per run of the email job")

    def validate(self) -> None:
        if self.enabled and not self.to:
            raise ValueError("to = []: expected at least one recipient when enabled = true")
        for addr in (self.from_addr, *self.to):
            if "@" not in addr or any(c in addr for c in "\r\n"):
                raise ValueError(f"{addr!r}: expected an email address like asha@example.in")
        if self.retry_max_s < self.retry_base_s:
            raise ValueError(f"retry_max_s = {self.retry_max_s!r}: expected at least retry_base_s")

    def secret(self) -> str:
        """The password, read from password_file when given."""
        if self.password_file is not None:
            return self.password_file.read_text(encoding="utf-8").strip()
        return self.password
