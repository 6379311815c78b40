"""The [cloud] config section: where the cloud API is and how hard the gateway pushes it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gateway.config import setting


@dataclass(frozen=True)
class CloudSection:
    """[cloud]: the cloud API this gateway syncs with (the token comes from `powergw cloud register`)."""

    enabled: bool = setting(True, doc="sync from `powergw run` once the gateway is registered")
    url: str = setting("", doc="base URL of the cloud API, e.g. https://cloud.example.in; set by `cloud register`")
    ca_bundle: str = setting("", doc="extra CA bundle file to trust; TLS verification itself is never off")
    batch_size: int = setting(200, min=1, max=5000, doc="events per POST /v1/events")
    connect_timeout_s: float = setting(5.0, min=0.1, max=120, doc="seconds to wait for a TCP/TLS connection")
    read_timeout_s: float = setting(30.0, min=0.1, max=600, doc="seconds to wait for the server's answer")
    backoff_base_s: float = setting(
        2.0,
        min=0.01,
        max=600,
        doc="wait after the cloud first fails; doubles per failure in a row, jittered in [half, full]",
    )
    backoff_max_s: float = setting(
        900.0,
        min=0.1,
        max=86400,
        doc="longest wait between two tries against a failing cloud (the queue drains within one such "
        "wait of its return)",
    )
    interval_s: int = setting(60, min=5, max=86400, doc="seconds between sync rounds in the daemon")
    models_dir: Path = setting(
        Path("/var/lib/powergw/models"),
        doc="no longer used: cloud models go to the theft registry beside the database (kept so old configs load; "
        "another value logs a warning)",
    )

    def validate(self) -> None:
        if self.url and not self.url.startswith(("https://", "http://")):
            raise ValueError(f"url = {self.url!r}: expected an http(s):// URL")
        if self.backoff_max_s < self.backoff_base_s:
            raise ValueError(f"backoff_max_s = {self.backoff_max_s!r}: expected at least backoff_base_s")
