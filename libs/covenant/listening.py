"""What a process says when it cannot listen where it was told to. The gRPC services
(``covenant.grpc.server``) and the web console (``covenant.console.server``) alike name the address and the
setting that moves it, so ``covenant serve`` prints one line and ``covenant up`` repeats it (docs/console.md,
"Settings")."""

from __future__ import annotations

import socket

#: How ``covenant up`` moves a gRPC service (the console follows COVENANT_CONSOLE_LISTEN itself).
SERVICE_HINT = "`covenant up` moves a service with its COVENANT_<SERVICE>_TARGET"


class ListenError(RuntimeError):
    """A process cannot listen where it was told to."""

    def __init__(self, address: str, setting: str, hint: str = SERVICE_HINT) -> None:
        super().__init__(
            f"cannot listen on {address}: another program holds the port, or the address is not this "
            f"machine's; set {setting} to a free port ({hint})"
        )
        self.address = address
        self.setting = setting


def bind_tcp(host: str, port: int, setting: str, hint: str) -> socket.socket:
    """A TCP socket bound to ``host:port`` (IPv4 or IPv6, address reuse as servers set it), not yet
    listening; ``ListenError`` when the port is held or the address is not this machine's."""
    address = f"{host}:{port}"
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ListenError(address, setting, hint) from exc
    family, kind, proto, _, where = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(where)
    except OSError as exc:
        sock.close()
        raise ListenError(address, setting, hint) from exc
    return sock
