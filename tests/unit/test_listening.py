"""``covenant.listening``: a port another program holds, or an address that is not this machine's, is a
``ListenError`` naming the address and the setting that moves it; a free port is bound."""

from __future__ import annotations

import socket

import pytest

from covenant.listening import ListenError, bind_tcp
from tests.support.ports import held_port


def test_a_held_port_names_the_address_and_the_setting() -> None:
    with held_port() as port, pytest.raises(ListenError) as caught:
        bind_tcp("127.0.0.1", port, "COVENANT_CONSOLE_LISTEN", "`covenant up` takes it too")
    said = str(caught.value)
    assert f"cannot listen on 127.0.0.1:{port}" in said
    assert "set COVENANT_CONSOLE_LISTEN to a free port (`covenant up` takes it too)" in said
    assert caught.value.setting == "COVENANT_CONSOLE_LISTEN"


def test_an_address_that_is_not_this_machines_is_a_listen_error() -> None:
    with pytest.raises(ListenError, match="cannot listen on 198.51.100.7:8080"):  # TEST-NET-2, not ours
        bind_tcp("198.51.100.7", 8080, "COVENANT_CONSOLE_LISTEN", "")
    with pytest.raises(ListenError, match="no-such-host.invalid"):
        bind_tcp("no-such-host.invalid", 8080, "COVENANT_CONSOLE_LISTEN", "")


def test_a_free_port_is_bound_and_not_yet_listening() -> None:
    sock = bind_tcp("127.0.0.1", 0, "COVENANT_CONSOLE_LISTEN", "")
    try:
        host, port = sock.getsockname()
        assert host == "127.0.0.1" and port > 0
        with socket.socket() as probe:  # bound only: nothing accepts yet
            assert probe.connect_ex(("127.0.0.1", port)) != 0
    finally:
        sock.close()
