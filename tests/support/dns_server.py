"""A tiny authoritative DNS server on UDP loopback, for replica tests: one name → a changeable set of IPv4
addresses, as a Kubernetes headless Service resolves to its ready pods. Answers A queries (TTL 0); every
other query type gets an empty NOERROR answer. A test double for cluster DNS, nothing more.

    with DnsServer({"points.test": ["127.0.0.2", "127.0.0.3"]}) as dns:
        channel target: f"dns://127.0.0.1:{dns.port}/points.test:{port}"
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterable, Mapping


def _parse_question(packet: bytes) -> tuple[str, int, int]:
    """(name, qtype, offset after the question)."""
    labels, i = [], 12
    while packet[i]:
        length = packet[i]
        labels.append(packet[i + 1 : i + 1 + length].decode("ascii"))
        i += 1 + length
    qtype, _qclass = struct.unpack("!HH", packet[i + 1 : i + 5])
    return ".".join(labels).lower(), qtype, i + 5


class DnsServer:
    """See module docstring. ``set(name, ips)`` changes the answer for later queries."""

    def __init__(self, records: Mapping[str, Iterable[str]]) -> None:
        self._records = {k.lower(): list(v) for k, v in records.items()}
        self._lock = threading.Lock()
        self.queries = 0
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="test-dns", daemon=True)

    def set(self, name: str, ips: Iterable[str]) -> None:
        with self._lock:
            self._records[name.lower()] = list(ips)

    def _answer(self, packet: bytes) -> bytes:
        (query_id,) = struct.unpack("!H", packet[:2])
        name, qtype, end = _parse_question(packet)
        with self._lock:
            ips = list(self._records.get(name, [])) if qtype == 1 else []
            known = name in self._records
            self.queries += 1
        rcode = 0 if known else 3  # NXDOMAIN for unknown names
        header = struct.pack("!HHHHHH", query_id, 0x8400 | rcode, 1, len(ips), 0, 0)
        answers = b"".join(struct.pack("!HHHIH", 0xC00C, 1, 1, 0, 4) + socket.inet_aton(ip) for ip in ips)
        return header + packet[12:end] + answers

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                packet, addr = self._sock.recvfrom(512)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                self._sock.sendto(self._answer(packet), addr)
            except (IndexError, struct.error, UnicodeDecodeError):
                continue

    def __enter__(self) -> DnsServer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(2)
        self._sock.close()
