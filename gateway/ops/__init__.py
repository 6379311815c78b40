"""Operations: backup and restore, doctor, Prometheus metrics, Home Assistant via MQTT, CSV export.

Each module is an adapter over the store (and the files the daemon leaves in its runtime
directory); none of them writes to the ingest tables. `commands.py` is their CLI.
"""

from __future__ import annotations

from gateway import PowerGwError


class OpsError(PowerGwError):
    """An operations command cannot do what was asked (missing backup, database in use, ...)."""
