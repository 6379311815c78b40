"""Serial ports (pyserial): read bytes from a node's USB-UART and hand them to a sink.

The source knows nothing of frames: it moves bytes. A port that cannot be opened or that
disappears (USB unplugged) is logged once per outage and reopened with exponential backoff;
the thread never dies of it, and other ports keep working.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import serial

from ..backoff import Backoff

log = logging.getLogger(__name__)

Sink = Callable[[str, bytes], None]


class SerialSource:
    """One port, read on its own thread until `stop()`; bytes go to `sink(name, data)`."""

    def __init__(
        self,
        url: str,
        sink: Sink,
        *,
        baudrate: int = 115200,
        backoff: Backoff = Backoff(),
        open_port: Callable[..., serial.SerialBase] = serial.serial_for_url,
    ):
        self.url = url
        self.sink = sink
        self.baudrate = baudrate
        self.backoff = backoff
        self._open_port = open_port
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.port: serial.SerialBase | None = None
        self.connected = threading.Event()
        self.opens = 0
        self.failures = 0
        self.restarts = 0
        self.bytes_read = 0
        self.last_error: str | None = None

    @property
    def name(self) -> str:
        return self.url

    def start(self) -> None:
        self._thread = threading.Thread(target=self._supervise, name=f"serial:{self.url}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        port = self.port
        if port is not None:
            try:
                port.cancel_read()
            except Exception:  # noqa: BLE001 - not every port type can cancel
                pass
        if self._thread:
            self._thread.join(timeout)

    def _supervise(self) -> None:
        """Keep the reader alive: any unexpected error restarts it (and is counted)."""
        while not self._stop.is_set():
            try:
                self._run()
            except Exception:  # noqa: BLE001 - a supervisor's job is to survive anything
                self.restarts += 1
                log.exception("serial reader for %s crashed; restarting (%d)", self.url, self.restarts)
                self._stop.wait(self.backoff.delay(1))

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                port = self._open_port(self.url, baudrate=self.baudrate, timeout=0.2)
            except (serial.SerialException, OSError, ValueError) as err:
                failures += 1
                self.failures += 1
                self.last_error = str(err)
                if failures == 1:
                    log.warning("cannot open %s (%s); retrying with backoff", self.url, err)
                self._stop.wait(self.backoff.delay(failures))
                continue
            if failures:
                log.info("opened %s after %d failed attempts", self.url, failures)
            failures = 0
            self.opens += 1
            self.port = port
            self.connected.set()
            try:
                self._read(port)
            except (serial.SerialException, OSError) as err:
                self.last_error = str(err)
                failures = 1
                self.failures += 1
                log.warning("lost %s (%s); will reopen", self.url, err)
                self._stop.wait(self.backoff.delay(failures))
            finally:
                self.connected.clear()
                self.port = None
                try:
                    port.close()
                except Exception:  # noqa: BLE001 - closing a vanished device may fail; it's gone
                    pass

    def _read(self, port: serial.SerialBase) -> None:
        while not self._stop.is_set():
            data = port.read(max(1, min(port.in_waiting, 4096)))
            if data:
                self.bytes_read += len(data)
                self.sink(self.url, data)
            elif not port.is_open:
                raise serial.SerialException("port closed")
