"""Permissions the compliance service checks, and the default grants per role."""

PERMISSIONS: dict[str, str] = {
    "compliance.texts.scan": "Submit transcripts, chats and notes for scanning",
    "compliance.watchlists.write": "Load watchlist entries",
    "compliance.names.screen": "Screen counterparty names",
    "compliance.activity.write": "Record client lifecycle facts",
    "compliance.rules.evaluate": "Run behaviour rules",
    "compliance.cases.read": "Read cases",
    "compliance.cases.manage": "Acknowledge, escalate and resolve cases",
    "compliance.audit.read": "Verify the audit chain",
}

ROLE_GRANTS: dict[str, dict[str, str]] = {
    "sales_rep": {"compliance.cases.read": "self", "compliance.names.screen": "all"},
    "team_lead": {"compliance.cases.read": "team", "compliance.names.screen": "all"},
    "branch_manager": {"compliance.cases.read": "subtree"},
    "compliance_officer": {
        "compliance.cases.read": "subtree",
        "compliance.cases.manage": "subtree",
        "compliance.watchlists.write": "all",
        "compliance.names.screen": "all",
        "compliance.rules.evaluate": "all",
        "compliance.audit.read": "all",
    },
    "auditor": {"compliance.cases.read": "all", "compliance.audit.read": "all"},
    "service": {
        "compliance.texts.scan": "all",
        "compliance.activity.write": "all",
        "compliance.names.screen": "all",
        "compliance.rules.evaluate": "all",
    },
}
