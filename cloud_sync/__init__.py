"""Cloud sync: the gateway's durable outbox and the sync client (the reference cloud API: cloud_sync/server/).

Money travels through here, so the rule is "nothing lost, nothing doubled": an event leaves the
outbox only after the server acknowledged its idempotency key, and the server stores each key
once (a UNIQUE constraint, not a check-then-insert).
"""

from gateway import PowerGwError


class SyncError(PowerGwError):
    """Root of every error cloud sync raises on purpose."""


class OutboxError(SyncError):
    """An event that cannot be queued: unknown kind, bad key, payload that is not JSON."""


class TransientError(SyncError):
    """The cloud could not take the request now (network, 5xx, 429); try again later."""

    def __init__(self, reason: str, retry_after_s: float | None = None, status: int | None = None):
        super().__init__(reason)
        self.retry_after_s = retry_after_s
        self.status = status


class PermanentError(SyncError):
    """The cloud refused the request for good (a 4xx other than 401/403/408/429)."""

    def __init__(self, reason: str, status: int):
        super().__init__(reason)
        self.status = status


class AuthError(SyncError):
    """The cloud does not accept this gateway's token (401/403): it must be registered again."""

    def __init__(self, reason: str, status: int):
        super().__init__(reason)
        self.status = status


class ModelRejected(SyncError):
    """A theft model from the cloud that this gateway will not use: its announcement, metadata,
    features version, checksum or file is wrong. Recorded as `rejected`; never retried."""


class ChecksumError(ModelRejected):
    """A downloaded theft model whose SHA-256 is not the one the cloud announced."""


class MetadataError(ModelRejected):
    """A model's metadata that lacks or misstates what the registry needs; `field` names it."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
