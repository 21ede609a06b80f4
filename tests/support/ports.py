"""Loopback ports for the servers and processes a test or benchmark starts.

A port asked of the kernel with port 0 comes from the ephemeral range (``ip_local_port_range``, 32768–60999 on
Linux), the range every outgoing connection's local port and every other test's port-0 server also come
from; the platform's default ports (50051–50056) lie in it too. On a busy test run any socket may hold
such a port by the time a process binds it: the demo, started on the default ports, once failed CI because
one of them was some other test's socket. ``free_port`` picks below the ephemeral range, where only an
explicit bind can take a port, and checks that it binds now.
"""

from __future__ import annotations

import random
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_LOWEST = 20000  # above the registered ports most local daemons take


def ephemeral_start() -> int:
    """The first port of the kernel's ephemeral range (Linux's default when it cannot be read)."""
    try:
        return int(_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _binds(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A loopback port nothing holds, outside the ephemeral range where the range leaves room."""
    top = ephemeral_start()
    if top - _LOWEST >= 1000:
        for _ in range(100):
            port = random.randrange(_LOWEST, top)
            if _binds(port):
                return port
    with socket.socket() as s:  # no room below the range: the kernel's pick
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def held_port() -> Iterator[int]:
    """A loopback port another program holds (bound and listening) until the block ends."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        yield int(held.getsockname()[1])
