"""The dashboard's error root."""

from gateway import PowerGwError


class UiError(PowerGwError):
    """Root of every error the dashboard raises on purpose."""
