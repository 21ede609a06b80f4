"""Permissions the attendance service checks, and the default grants per role."""

from covenant.auth.matrix import About, RpcCheck

PERMISSIONS: dict[str, str] = {
    "attendance.places.write": "Import client places (CRM)",
    "attendance.places.read": "Find client places near a point",
    "attendance.visits.write": "Check in at a client",
    "attendance.pings.write": "Send location pings",
    "attendance.routes.read": "Read daily route reports and team summaries",
    "attendance.days.close": "Summarise a past day now (publishes attendance.daily_summary)",
}

ROLE_GRANTS: dict[str, dict[str, str]] = {
    "sales_rep": {
        "attendance.visits.write": "self",
        "attendance.pings.write": "self",
        "attendance.routes.read": "self",
        "attendance.places.read": "all",
    },
    "team_lead": {"attendance.routes.read": "team", "attendance.places.read": "all"},
    "branch_manager": {"attendance.routes.read": "subtree", "attendance.places.read": "all"},
    "hr": {"attendance.routes.read": "all"},
    "compliance_officer": {"attendance.routes.read": "all"},
    "auditor": {"attendance.routes.read": "all"},
    "service": {
        "attendance.places.write": "all",
        "attendance.places.read": "all",
        "attendance.pings.write": "all",
        "attendance.visits.write": "all",
        "attendance.routes.read": "all",
        "attendance.days.close": "all",
    },
}


# What each RPC of the service checks (the authorization matrix, docs/authorization.md, is built from this).
RPCS: dict[str, RpcCheck] = {
    "ImportClientPlaces": RpcCheck("attendance.places.write"),
    "StreamClientPlaces": RpcCheck("attendance.places.write"),
    "FindNearbyPlaces": RpcCheck("attendance.places.read"),
    "CheckIn": RpcCheck("attendance.visits.write", About.EMPLOYEE),
    "BatchCheckIns": RpcCheck("attendance.visits.write", About.EMPLOYEE),
    "IngestPings": RpcCheck("attendance.pings.write", About.EMPLOYEE),
    "StreamPings": RpcCheck("attendance.pings.write", About.EMPLOYEE),
    "GetRouteReport": RpcCheck("attendance.routes.read", About.EMPLOYEE),
    "GetTeamSummary": RpcCheck("attendance.routes.read", About.UNIT),
    "CloseDay": RpcCheck("attendance.days.close"),
}
