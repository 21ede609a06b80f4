"""Which gRPC peers count as this machine for ``dev`` auth (covenant.grpc.interceptors.is_local_peer)."""

from __future__ import annotations

import pytest

from covenant.grpc.interceptors import is_local_peer


@pytest.mark.parametrize(
    "peer",
    [
        "ipv4:127.0.0.1:40000",
        "ipv4:127.3.2.1:1",
        "ipv6:[::1]:40000",
        "ipv6:%5B::1%5D:40000",
        "ipv6:[::ffff:127.0.0.1]:40000",
        "unix:/tmp/covenant.sock",
        "unix-abstract:covenant",
    ],
)
def test_loopback_and_unix_sockets_are_this_machine(peer: str) -> None:
    assert is_local_peer(peer)


@pytest.mark.parametrize(
    "peer",
    [
        "ipv4:192.0.2.2:40000",
        "ipv4:10.0.0.7:1",
        "ipv6:[fd00::2]:40000",
        "ipv6:%5Bfe80::1%5D:40000",
        "ipv6:[::ffff:10.0.0.7]:40000",
        "ipv4:0.0.0.0:1",
        "",
        "garbage",
        "ipv4:localhost:1",
    ],
)
def test_every_other_peer_is_not(peer: str) -> None:
    assert not is_local_peer(peer)
