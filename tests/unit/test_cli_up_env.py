"""What ``covenant up`` gives each service it starts: loopback only, unless told otherwise."""

from __future__ import annotations

from covenant.cli import local_env


def test_a_service_listens_on_loopback_at_its_default_port() -> None:
    env = local_env("attendance", {"COVENANT_AUTH_MODE": "dev"})
    assert env["COVENANT_LISTEN"] == "127.0.0.1:50052"
    assert env["COVENANT_AUTH_MODE"] == "dev"


def test_a_moved_target_moves_the_loopback_listener() -> None:
    env = local_env("points", {"COVENANT_POINTS_TARGET": "127.0.0.1:23456"})
    assert env["COVENANT_LISTEN"] == "127.0.0.1:23456"


def test_an_explicit_listen_address_gives_its_host_and_each_service_keeps_its_port() -> None:
    given = {"COVENANT_LISTEN": "0.0.0.0:50051", "COVENANT_SCORING_TARGET": "127.0.0.1:23457"}
    assert local_env("identity", given)["COVENANT_LISTEN"] == "0.0.0.0:50051"
    assert local_env("attendance", given)["COVENANT_LISTEN"] == "0.0.0.0:50052"  # not identity's port
    assert local_env("scoring", given)["COVENANT_LISTEN"] == "0.0.0.0:23457"
    assert local_env("points", {"COVENANT_LISTEN": "[::]:9"})["COVENANT_LISTEN"] == "[::]:50054"
    assert local_env("points", {"COVENANT_LISTEN": ":9"})["COVENANT_LISTEN"] == "127.0.0.1:50054"


def test_the_console_keeps_its_own_setting() -> None:
    assert "COVENANT_LISTEN" not in local_env("console", {"COVENANT_CONSOLE_LISTEN": "127.0.0.1:8080"})
