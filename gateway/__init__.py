"""powergw: an edge-first home energy gateway for Indian households."""

__version__ = "0.1.0"


class PowerGwError(Exception):
    """Root of every error powergw raises on purpose."""
