"""Permissions the commitments service checks, and the default grants per role."""

from covenant.auth.matrix import About, RpcCheck

PERMISSIONS: dict[str, str] = {
    "commitments.commitments.create": "Record a promise made to a client",
    "commitments.commitments.read": "Read commitments and verify their terms hash",
    "commitments.commitments.extend": "Approve a deadline extension (team lead or above)",
    "commitments.commitments.cancel": "Cancel an active commitment",
    "commitments.fulfilments.write": "Report a fulfilling business fact (systems, e.g. loan origination)",
    "commitments.reports.read": "Team fulfilment rates",
}

ROLE_GRANTS: dict[str, dict[str, str]] = {
    "sales_rep": {
        "commitments.commitments.create": "self",
        "commitments.commitments.read": "self",
    },
    "team_lead": {
        "commitments.commitments.create": "team",
        "commitments.commitments.read": "team",
        "commitments.commitments.extend": "team",
        "commitments.commitments.cancel": "team",
        "commitments.reports.read": "team",
    },
    "branch_manager": {
        "commitments.commitments.read": "subtree",
        "commitments.commitments.extend": "subtree",
        "commitments.commitments.cancel": "subtree",
        "commitments.reports.read": "subtree",
    },
    "hr": {"commitments.commitments.read": "all", "commitments.reports.read": "all"},
    "compliance_officer": {"commitments.commitments.read": "all", "commitments.reports.read": "all"},
    "auditor": {"commitments.commitments.read": "all", "commitments.reports.read": "all"},
    "service": {
        "commitments.commitments.create": "all",
        "commitments.commitments.read": "all",
        "commitments.fulfilments.write": "all",
    },
}


# What each RPC of the service checks (the authorization matrix, docs/authorization.md, is built from this).
RPCS: dict[str, RpcCheck] = {
    "CreateCommitment": RpcCheck("commitments.commitments.create", About.EMPLOYEE),
    "GetCommitment": RpcCheck("commitments.commitments.read", About.EMPLOYEE),
    "ListCommitments": RpcCheck("commitments.commitments.read", About.LIST),
    "VerifyCommitment": RpcCheck("commitments.commitments.read", About.EMPLOYEE),
    "ExtendCommitment": RpcCheck(
        "commitments.commitments.extend", About.EMPLOYEE, own="deny", line="require"
    ),
    "CancelCommitment": RpcCheck(
        "commitments.commitments.cancel", About.EMPLOYEE, own="deny", line="require"
    ),
    "RecordFulfilment": RpcCheck("commitments.fulfilments.write", sources_only=True),
    "GetFulfilmentRate": RpcCheck("commitments.reports.read", About.UNIT),
    "ListTemplates": RpcCheck("commitments.commitments.read"),
}
