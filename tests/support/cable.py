"""Two pseudo-terminals joined back to back, a USB cable between a host-built node and the gateway."""

from __future__ import annotations

import os
import select
import threading
import tty


class Cable(threading.Thread):
    """Two pseudo-terminals joined back to back: the node opens one end, the gateway the other."""

    def __init__(self):
        super().__init__(daemon=True)
        self.fds = []
        for _ in range(2):
            master, slave = os.openpty()
            tty.setraw(master)
            tty.setraw(slave)
            self.fds.append((master, slave))
        self.node_path = os.ttyname(self.fds[0][1])
        self.gateway_path = os.ttyname(self.fds[1][1])
        self.done = threading.Event()

    def run(self) -> None:
        a, b = self.fds[0][0], self.fds[1][0]
        peer = {a: b, b: a}
        while not self.done.is_set():
            ready, _, _ = select.select([a, b], [], [], 0.05)
            for fd in ready:
                try:
                    data = os.read(fd, 4096)
                except OSError:
                    continue
                view = memoryview(data)
                while view:
                    view = view[os.write(peer[fd], view) :]

    def close(self) -> None:
        self.done.set()
        self.join(2)
        for master, slave in self.fds:
            os.close(master)
            os.close(slave)
