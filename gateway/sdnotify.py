"""systemd's sd_notify protocol in pure Python: READY=1, WATCHDOG=1, STATUS=, STOPPING=1.

A service with `Type=notify` tells systemd it has started by sending "READY=1" as one datagram
to the AF_UNIX socket named in $NOTIFY_SOCKET; with `WatchdogSec=` it must then send
"WATCHDOG=1" more often than that, or systemd restarts it. Outside systemd (no $NOTIFY_SOCKET)
every call is a no-op, so the daemon calls it unconditionally.

    notifier = Notifier()          # reads $NOTIFY_SOCKET once
    notifier.ready()               # after sources, ingest and jobs are started
    notifier.watchdog()            # from the main loop, only while ingest is alive
    notifier.status("3 nodes, 1 port")
    notifier.stopping()            # on SIGTERM, before a slow shutdown
"""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger(__name__)


class Notifier:
    """Sends sd_notify messages to `socket_path` (default: $NOTIFY_SOCKET); never raises."""

    def __init__(self, socket_path: str | None = None, environ: dict[str, str] | None = None):
        env = os.environ if environ is None else environ
        path = socket_path if socket_path is not None else env.get("NOTIFY_SOCKET", "")
        # "@name" is a socket in the abstract namespace: its real name starts with a NUL byte.
        self.address = "\0" + path[1:] if path.startswith("@") else path
        self.watchdog_usec = _watchdog_usec(env)
        self._sock: socket.socket | None = None
        self._warned = False

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    def watchdog_interval_s(self) -> float | None:
        """Half of WatchdogSec (systemd's advice for the ping period), or None without a watchdog."""
        return self.watchdog_usec / 2_000_000 if self.watchdog_usec else None

    def notify(self, message: str) -> bool:
        """Send one raw message ("KEY=value" lines); True if it was sent."""
        if not self.address:
            return False
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.sendto(message.encode("utf-8"), self.address)
            return True
        except OSError as err:
            # systemd gone or the socket not ours: log once; the service keeps running.
            if not self._warned:
                log.warning("sd_notify to %r failed: %s", self.address, err)
                self._warned = True
            return False

    def ready(self, status: str | None = None) -> bool:
        return self.notify("READY=1" + (f"\nSTATUS={status}" if status else ""))

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    def status(self, text: str) -> bool:
        return self.notify(f"STATUS={text}")

    def stopping(self) -> bool:
        return self.notify("STOPPING=1")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def _watchdog_usec(env) -> int | None:
    """WATCHDOG_USEC if it is meant for this process (WATCHDOG_PID absent or ours)."""
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    pid = env.get("WATCHDOG_PID")
    if pid and pid != str(os.getpid()):
        return None
    return usec if usec > 0 else None
