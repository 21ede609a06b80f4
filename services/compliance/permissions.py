"""Permissions the compliance service checks, and the default grants per role."""

from covenant.auth.matrix import About, RpcCheck

PERMISSIONS: dict[str, str] = {
    "compliance.texts.scan": "Submit transcripts, chats and notes for scanning",
    "compliance.watchlists.write": "Load watchlist entries",
    "compliance.names.screen": "Screen counterparty names",
    "compliance.screening.read": "Read stored screening hits (client contacts that matched a watchlist)",
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
        "compliance.screening.read": "subtree",
        "compliance.rules.evaluate": "all",
        "compliance.audit.read": "all",
    },
    "auditor": {
        "compliance.cases.read": "all",
        "compliance.screening.read": "all",
        "compliance.audit.read": "all",
    },
    "service": {
        "compliance.texts.scan": "all",
        "compliance.activity.write": "all",
        "compliance.names.screen": "all",
        "compliance.rules.evaluate": "all",
    },
}


# What each RPC of the service checks (the authorization matrix, docs/authorization.md, is built from this).
RPCS: dict[str, RpcCheck] = {
    "ScanText": RpcCheck("compliance.texts.scan", About.EMPLOYEE),
    "ScanTexts": RpcCheck("compliance.texts.scan", About.EMPLOYEE),
    "StreamScan": RpcCheck("compliance.texts.scan", About.EMPLOYEE),
    "LoadWatchlist": RpcCheck("compliance.watchlists.write"),
    "ScreenNames": RpcCheck("compliance.names.screen"),
    "ListScreeningHits": RpcCheck("compliance.screening.read", About.LIST),
    "RecordClientActivity": RpcCheck("compliance.activity.write", About.EMPLOYEE),
    "EvaluateBehaviour": RpcCheck("compliance.rules.evaluate"),
    "GetCase": RpcCheck("compliance.cases.read", About.EMPLOYEE),
    "ListCases": RpcCheck("compliance.cases.read", About.LIST),
    "TransitionCase": RpcCheck("compliance.cases.manage", About.EMPLOYEE, own="deny", line="forbid"),
    "AddCaseComment": RpcCheck("compliance.cases.manage", About.EMPLOYEE, own="deny", line="forbid"),
    "VerifyAuditChain": RpcCheck("compliance.audit.read"),
    "GetPhraseFeedback": RpcCheck("rules.packs.read"),
}
