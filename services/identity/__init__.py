"""Identity and RBAC service: org units, employees, accounts, tokens, roles, audit."""

SERVICE = "identity"  # the service column of its idempotency records
