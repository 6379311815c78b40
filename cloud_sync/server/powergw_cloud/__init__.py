"""The reference cloud API that powergw gateways sync with: households, events, bills, payments, models.

Installed on its own (`pip install ./cloud_sync/server`, console script `powergw-cloud`), so a
gateway carries neither this server nor its PostgreSQL driver. It shares only the wire contract
with the gateway (powergw_cloud.contract), never its code.
"""

__version__ = "0.1.0"


class CloudError(Exception):
    """Root of every error the reference cloud raises on purpose."""
