"""The [backup] and [mqtt] config sections (declared in the ops part's record, gateway.ops.part)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gateway.config import setting


@dataclass(frozen=True)
class BackupSection:
    """[backup]: nightly online copies of the database."""

    enabled: bool = setting(True, doc="take a backup every night from `powergw run`")
    dir: Path = setting(
        Path("/var/lib/powergw/backups"),
        doc="where backups go; a USB stick or another disk survives the SD card dying, the same card does not",
    )
    keep: int = setting(7, min=1, max=365, doc="backups kept; older ones are deleted after a new one is complete")
    at_hour: int = setting(
        2, min=0, max=23, doc="local hour of the nightly backup; missed ones (power off) are caught up within two days"
    )
    kind: str = setting(
        "compact",
        choices=("compact", "full"),
        doc="compact: every table but only recent raw readings (their energy is in the rollups), a few MiB a night; "
        "full: every page, as big as the database",
    )
    raw_hours: int = setting(
        24,
        min=0,
        max=24 * 3650,
        doc="hours of raw 1 s readings a compact backup keeps (readings not yet rolled up are always kept)",
    )


@dataclass(frozen=True)
class MqttSection:
    """[mqtt]: publishing to Home Assistant (or any MQTT broker) from `powergw mqtt`."""

    enabled: bool = setting(False, doc="publish live power, energy and bills to an MQTT broker")
    host: str = setting("127.0.0.1", doc="broker host name or address")
    port: int = setting(1883, min=1, max=65535, doc="broker TCP port (8883 with tls = true)")
    tls: bool = setting(False, doc="connect with TLS, verifying the broker's certificate")
    username: str = setting("", doc="user name at the broker; empty for none")
    password_file: Path = setting(
        Path("/etc/powergw/mqtt-password"),
        doc="file holding the broker password (kept out of this file); read if username is set",
    )
    client_id: str = setting("", doc="MQTT client id; empty means powergw-<host name>")
    topic_prefix: str = setting("powergw", doc="state topics are <topic_prefix>/<gateway>/...")
    discovery_prefix: str = setting("homeassistant", doc="Home Assistant's MQTT discovery prefix")
    interval_s: float = setting(10.0, min=1, max=3600, doc="seconds between state publications")
    retain: bool = setting(True, doc="retain state messages so Home Assistant shows values right after a restart")

    def validate(self) -> None:
        for name in ("topic_prefix", "discovery_prefix"):
            value = getattr(self, name)
            if not value or any(c in value for c in "+#") or value.startswith("/") or value.endswith("/"):
                raise ValueError(
                    f"{name} = {value!r}: expected topic levels like 'powergw' (no +, #, leading or trailing /)"
                )
