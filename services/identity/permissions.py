"""Identity's permissions and the grants each default role gets (folded into rules/identity/roles.yaml)."""

from __future__ import annotations

from covenant.auth.matrix import About, RpcCheck

PERMISSIONS: dict[str, str] = {
    "identity.org_units.read": "Read org units (the tree is not personal data).",
    "identity.org_units.write": "Create org units.",
    "identity.employees.read": "Read employee profiles within the grant's data scope.",
    "identity.employees.write": "Create and update employee profiles.",
    "identity.employees.unmask": "See national ID, phone and bank card numbers in full.",
    "identity.directory.import": "Bulk-import org units and employees.",
    "identity.accounts.read": "Read login accounts (never passwords).",
    "identity.accounts.write": "Create accounts, unlock them, reset passwords.",
    "identity.roles.read": "Read the role -> permission table.",
    "identity.roles.assign": "Assign roles to accounts.",
    "identity.service_accounts.write": "Create service accounts (client credentials).",
    "identity.tokens.read": "List revoked tokens.",
    "identity.tokens.revoke": "Revoke other people's tokens.",
    "identity.keys.rotate": "Rotate the token-signing key.",
    "identity.audit.read": "Read and verify the identity audit trail.",
}

ROLE_GRANTS: dict[str, dict[str, str]] = {
    "sales_rep": {"identity.employees.read": "self", "identity.org_units.read": "all"},
    "team_lead": {"identity.employees.read": "team", "identity.org_units.read": "all"},
    "branch_manager": {"identity.employees.read": "subtree", "identity.org_units.read": "all"},
    "hr": {
        "identity.employees.read": "all",
        "identity.employees.write": "all",
        "identity.employees.unmask": "all",
        "identity.directory.import": "all",
        "identity.org_units.read": "all",
        "identity.org_units.write": "all",
        "identity.accounts.read": "all",
        "identity.accounts.write": "all",
        "identity.roles.read": "all",
    },
    "compliance_officer": {
        "identity.employees.read": "all",
        "identity.org_units.read": "all",
        "identity.audit.read": "all",
    },
    "rules_admin": {"identity.roles.read": "all", "identity.org_units.read": "all"},
    "auditor": {
        "identity.employees.read": "all",
        "identity.org_units.read": "all",
        "identity.accounts.read": "all",
        "identity.roles.read": "all",
        "identity.tokens.read": "all",
        "identity.audit.read": "all",
    },
    "platform_admin": {"*": "all"},
    "service": {  # no service reads the role table (tokens carry the grants)
        "identity.employees.read": "all",
        "identity.org_units.read": "all",
    },
}


# What each RPC of the service checks (the authorization matrix, docs/authorization.md, is built from this).
RPCS: dict[str, RpcCheck] = {
    "GetJwks": RpcCheck("", About.PUBLIC),
    "IssueServiceToken": RpcCheck("", About.PUBLIC),
    "Login": RpcCheck("", About.PUBLIC),
    "RefreshToken": RpcCheck("", About.PUBLIC),
    "RevokeToken": RpcCheck("identity.tokens.revoke", own="free"),  # own: the caller's own tokens
    "ListRevokedTokens": RpcCheck("identity.tokens.read"),
    "RotateSigningKey": RpcCheck("identity.keys.rotate"),
    "CreateOrgUnit": RpcCheck("identity.org_units.write"),
    "GetOrgUnit": RpcCheck("identity.org_units.read"),
    "ListOrgUnits": RpcCheck("identity.org_units.read", About.LIST),
    "CreateEmployee": RpcCheck("identity.employees.write", About.UNIT),
    "GetEmployee": RpcCheck("identity.employees.read", About.EMPLOYEE),
    "ListEmployees": RpcCheck("identity.employees.read", About.LIST),
    "UpdateEmployee": RpcCheck("identity.employees.write", About.EMPLOYEE),
    "ImportDirectory": RpcCheck("identity.directory.import"),
    "CreateAccount": RpcCheck("identity.accounts.write"),
    "GetAccount": RpcCheck("identity.accounts.read"),
    "UnlockAccount": RpcCheck("identity.accounts.write"),
    "SetPassword": RpcCheck("identity.accounts.write"),
    "SetRoleAssignments": RpcCheck("identity.roles.assign"),
    "CreateServiceAccount": RpcCheck("identity.service_accounts.write"),
    "ListRoles": RpcCheck("identity.roles.read"),
    "CheckPermission": RpcCheck("", About.AUTHENTICATED),
    "ListAuditEntries": RpcCheck("identity.audit.read", About.LIST),
    "VerifyAuditChain": RpcCheck("identity.audit.read"),
}
