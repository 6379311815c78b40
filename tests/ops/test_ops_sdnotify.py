"""sd_notify against a real AF_UNIX datagram socket, as systemd would listen on it."""

from __future__ import annotations

import os
import socket

from gateway.sdnotify import Notifier


def _listener(path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(2)
    return sock


def test_ready_watchdog_status_stopping_reach_the_socket(tmp_path):
    path = str(tmp_path / "notify")
    with _listener(path) as sock:
        n = Notifier(environ={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "30000000"})
        assert n.enabled and n.watchdog_interval_s() == 15
        assert n.ready("2 ports")
        assert sock.recv(4096) == b"READY=1\nSTATUS=2 ports"
        assert n.watchdog()
        assert sock.recv(4096) == b"WATCHDOG=1"
        n.status("ingesting")
        assert sock.recv(4096) == b"STATUS=ingesting"
        n.stopping()
        assert sock.recv(4096) == b"STOPPING=1"
        n.close()


def test_abstract_namespace_socket():
    name = f"powergw-test-{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(2)
    with sock:
        assert Notifier(environ={"NOTIFY_SOCKET": "@" + name}).ready()
        assert sock.recv(64) == b"READY=1"


def test_without_systemd_everything_is_a_quiet_no_op():
    n = Notifier(environ={})
    assert not n.enabled
    assert n.watchdog_interval_s() is None
    assert n.ready() is False and n.watchdog() is False


def test_a_vanished_socket_never_raises(tmp_path, caplog):
    n = Notifier(environ={"NOTIFY_SOCKET": str(tmp_path / "gone")})
    assert n.ready() is False
    assert n.watchdog() is False
    assert sum("sd_notify" in r.message for r in caplog.records) == 1


def test_watchdog_meant_for_another_process_is_ignored():
    n = Notifier(environ={"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"})
    assert n.watchdog_interval_s() is None
