"""Login throttling by source: failed logins slow down whoever guesses, never the account they guess at.

A failed login counts against its source (the client address) and against the pair (source, username).
Past a budget within a sliding window, further attempts from that source (or at that username from that
source) are refused before any password is checked, until the oldest counted failure leaves the window.
Nothing locks the account itself, so nobody can lock someone else out (docs/security.md, "Login").

Pure Python; the clock is passed in. State is per process (per identity replica), bounded in size.
"""

from __future__ import annotations

import ipaddress
import threading
from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class ThrottlePolicy:
    """Budgets of failed logins per ``window_seconds``: per source, and per (source, username)."""

    per_source: int = 20
    per_account_and_source: int = 5
    window_seconds: float = 900.0
    max_tracked: int = 100_000  # keys kept in memory; the least recently used go first


def source_key(address: str) -> str:
    """A stable key for a client address: the IP, with IPv6 reduced to its /64 (one site's prefix)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def peer_address(peer: str) -> str:
    """The IP of a gRPC peer string (``ipv4:10.0.0.1:5000``, ``ipv6:[::1]:5000``, ``unix:...``)."""
    kind, _, rest = peer.partition(":")
    if kind == "ipv4":
        return rest.rsplit(":", 1)[0]
    if kind == "ipv6":
        return rest.rsplit(":", 1)[0].strip("[]")
    return peer or "unknown"


def client_address(peer: str, forwarded_for: str, trusted_proxies: Iterable[str]) -> str:
    """The address to throttle: the peer's, or, when the peer is a trusted proxy (e.g. the console), the
    last address it appended to ``x-forwarded-for``. A client cannot pick its own source otherwise."""
    address = peer_address(peer)
    if not forwarded_for or not _trusted(address, trusted_proxies):
        return address
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    return hops[-1] if hops else address


def _trusted(address: str, networks: Iterable[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for net in networks:
        try:
            if ip in ipaddress.ip_network(net.strip(), strict=False):
                return True
        except ValueError:
            continue
    return False


class LoginThrottle:
    """Sliding-window failure counts per source and per (source, username). Thread-safe."""

    def __init__(self, policy: ThrottlePolicy = ThrottlePolicy()) -> None:
        self.policy = policy
        self._failures: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _window(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.policy.window_seconds:
            times.popleft()
        return times

    def retry_after(self, source: str, username: str, now: float) -> float:
        """Seconds until ``source`` may try ``username`` again; 0 when it may try now."""
        checks = (
            ((source, ""), self.policy.per_source),
            ((source, username), self.policy.per_account_and_source),
        )
        wait = 0.0
        with self._lock:
            for key, budget in checks:
                times = self._window(key, now)
                if len(times) >= budget:
                    wait = max(wait, times[-budget] + self.policy.window_seconds - now)
        return wait

    def failed(self, source: str, username: str, now: float) -> None:
        """Count one failed login."""
        with self._lock:
            for key in ((source, ""), (source, username)):
                times = self._window(key, now)
                times.append(now)
                self._failures[key] = times
                self._failures.move_to_end(key)
            while len(self._failures) > self.policy.max_tracked:
                self._failures.popitem(last=False)

    def succeeded(self, source: str, username: str) -> None:
        """A correct password from ``source`` clears that pair's failures (not the source's)."""
        with self._lock:
            self._failures.pop((source, username), None)
