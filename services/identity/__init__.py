"""Identity and RBAC service: org units, employees, accounts, tokens, roles, audit."""
