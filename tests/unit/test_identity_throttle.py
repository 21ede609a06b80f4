"""Login throttling by source (pure domain, injected clock): budgets, the sliding window, client addresses."""

from __future__ import annotations

from services.identity.domain.throttle import (
    LoginThrottle,
    ThrottlePolicy,
    client_address,
    peer_address,
    source_key,
)

POLICY = ThrottlePolicy(per_source=4, per_account_and_source=2, window_seconds=60, max_tracked=100)


def test_the_pair_budget_throttles_one_account_from_one_source_only() -> None:
    t = LoginThrottle(POLICY)
    t.failed("10.0.0.1", "admin", 0)
    assert t.retry_after("10.0.0.1", "admin", 1) == 0
    t.failed("10.0.0.1", "admin", 5)
    assert t.retry_after("10.0.0.1", "admin", 10) == 50  # until the first failure leaves the window
    assert t.retry_after("10.0.0.2", "admin", 10) == 0  # the owner elsewhere is not affected
    assert t.retry_after("10.0.0.1", "rep1", 10) == 0  # nor another account from the same source
    assert t.retry_after("10.0.0.1", "admin", 59) == 1 and t.retry_after("10.0.0.1", "admin", 60) == 0


def test_the_source_budget_throttles_spraying_across_accounts() -> None:
    t = LoginThrottle(POLICY)
    for i, name in enumerate(["a1", "a2", "a3", "a4"]):
        t.failed("10.0.0.1", name, i)
    assert t.retry_after("10.0.0.1", "never-tried", 10) == 50
    assert t.retry_after("10.0.0.9", "never-tried", 10) == 0


def test_success_clears_the_pair_but_not_the_source() -> None:
    t = LoginThrottle(POLICY)
    t.failed("s", "u", 0)
    t.succeeded("s", "u")
    t.failed("s", "u", 1)
    assert t.retry_after("s", "u", 2) == 0
    for i in range(3):
        t.failed("s", f"x{i}", 2)
    assert t.retry_after("s", "u", 3) > 0  # four failures from s in the window


def test_memory_stays_bounded() -> None:
    t = LoginThrottle(POLICY)
    for i in range(1000):
        t.failed(f"10.0.{i // 250}.{i % 250}", "admin", i * 0.001)
    assert len(t._failures) <= POLICY.max_tracked


def test_client_addresses() -> None:
    assert peer_address("ipv4:203.0.113.5:51234") == "203.0.113.5"
    assert peer_address("ipv6:[2001:db8::1]:443") == "2001:db8::1"
    assert source_key("2001:db8:0:0:1::7") == source_key("2001:db8::ffff") == "2001:db8::/64"
    assert source_key("::ffff:10.1.2.3") == "10.1.2.3"
    # x-forwarded-for counts only when the peer is a trusted proxy, and then only its own last hop.
    assert client_address("ipv4:10.0.0.5:1", "1.1.1.1, 198.51.100.7", ["10.0.0.0/24"]) == "198.51.100.7"
    assert client_address("ipv4:203.0.113.5:1", "198.51.100.7", ["10.0.0.0/24"]) == "203.0.113.5"
    assert client_address("ipv4:203.0.113.5:1", "198.51.100.7", []) == "203.0.113.5"
