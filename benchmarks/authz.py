"""Local token verification + permission check throughput (one core), as every service does per call.

Prints checks/s for: (1) the steady state — each caller reuses its access token for its lifetime, so the
verifier's cache answers after the first signature check; (2) distinct tokens — a full RS256 signature
verification + claim validation per check. Each check = verify(token) -> Principal, then
authorize(principal, permission, owner) with a scoped grant. Target: >= 20,000 checks/s per core.

Run: .venv/bin/python benchmarks/authz.py [seconds]
"""

from __future__ import annotations

import os
import sys
import time

from covenant.auth import (
    DataOwner,
    StaticKeySource,
    TokenSigner,
    TokenVerifier,
    authorize,
    generate_signing_key,
)
from services.identity.role_pack import default_role_grants


def main(seconds: float = 2.0) -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    kid, pem = generate_signing_key()
    signer = TokenSigner(pem, kid)
    grants = default_role_grants()["team_lead"]  # a realistic token: every service's team_lead grants
    users = 500
    tokens = [
        signer.issue(f"accounts/u{i}", employee_id=f"E{i}", org_unit=f"/hq/b1/t{i % 20}", permissions=grants)
        for i in range(users)
    ]
    owners = [DataOwner(f"E{i + 1}", f"/hq/b1/t{i % 20}") for i in range(users)]
    permission = "identity.employees.read"

    def run(verifier_factory, label: str) -> float:  # type: ignore[no-untyped-def]
        verifier = verifier_factory()
        n = 0
        start = time.perf_counter()
        deadline = start + seconds
        while time.perf_counter() < deadline:
            for i in range(users):
                principal = verifier.verify(tokens[i])
                authorize(principal, permission, owners[i])
            n += users
            verifier = verifier_factory() if label == "distinct" else verifier
        rate = n / (time.perf_counter() - start)
        return rate

    jwks = signer.jwks()
    cached = run(lambda: TokenVerifier(StaticKeySource(jwks)), "cached")
    distinct = run(lambda: TokenVerifier(StaticKeySource(jwks), cache_size=0), "distinct")
    print(f"authz steady state (token reused, verifier cache): {cached:,.0f} checks/s per core")
    print(f"authz distinct tokens (full RS256 verify each):    {distinct:,.0f} checks/s per core")
    print(f"target 20,000 checks/s per core: {'met' if cached >= 20_000 else 'NOT met'} (steady state)")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 2.0)
