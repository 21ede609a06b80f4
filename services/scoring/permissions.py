"""Permissions the scoring service checks, and the default grants per role."""

from covenant.auth.matrix import About, RpcCheck

PERMISSIONS: dict[str, str] = {
    "scoring.scorecards.read": "Read scorecard templates",
    "scoring.scorecards.write": "Create scorecard template versions",
    "scoring.metrics.write": "Record metric values from external systems",
    "scoring.scores.compute": "Score a period for an org unit",
    "scoring.scores.read": "Read scores and their explanations",
    "scoring.scores.calibrate": "Calibrate a computed score (with a reason)",
    "scoring.signals.read": "Read trend signals (attrition risk, coaching needed)",
    "scoring.analyses.run": "Run a KPI driver analysis (a regression over a role's person-periods)",
    "scoring.analyses.read": "Read driver analyses and the scorecard drafts made from them",
    "scoring.scorecards.approve": "Approve a draft scorecard version someone else made (maker-checker)",
    "scoring.insights.read": "Read high-performer profiles, the org-unit heat map and unit trends",
}

ROLE_GRANTS: dict[str, dict[str, str]] = {
    "sales_rep": {"scoring.scores.read": "self", "scoring.scorecards.read": "all"},
    "team_lead": {
        "scoring.scores.read": "team",
        "scoring.scores.calibrate": "team",
        "scoring.signals.read": "team",
        "scoring.scorecards.read": "all",
    },
    "branch_manager": {
        "scoring.scores.read": "subtree",
        "scoring.scores.calibrate": "subtree",
        "scoring.scores.compute": "subtree",
        "scoring.signals.read": "subtree",
        "scoring.insights.read": "subtree",
        "scoring.scorecards.read": "all",
    },
    "hr": {
        "scoring.scores.read": "all",
        "scoring.signals.read": "all",
        "scoring.insights.read": "all",
        "scoring.scores.compute": "all",
        "scoring.scorecards.read": "all",
        "scoring.scorecards.write": "all",
        "scoring.scorecards.approve": "all",
        "scoring.analyses.run": "all",
        "scoring.analyses.read": "all",
    },
    "auditor": {
        "scoring.scores.read": "all",
        "scoring.scorecards.read": "all",
        "scoring.analyses.read": "all",
    },
    "service": {
        "scoring.metrics.write": "all",
        "scoring.scores.compute": "all",
        "scoring.scores.read": "all",
    },
}


# What each RPC of the service checks (the authorization matrix, docs/authorization.md, is built from this).
RPCS: dict[str, RpcCheck] = {
    "CreateScorecardVersion": RpcCheck("scoring.scorecards.write"),
    "ListScorecards": RpcCheck("scoring.scorecards.read", About.LIST),
    "RecordMetrics": RpcCheck("scoring.metrics.write"),
    "ComputeScores": RpcCheck("scoring.scores.compute", About.UNIT),
    "GetScore": RpcCheck("scoring.scores.read", About.EMPLOYEE),
    "ListScores": RpcCheck("scoring.scores.read", About.LIST),
    "CalibrateScore": RpcCheck("scoring.scores.calibrate", About.EMPLOYEE, own="deny", line="require"),
    "ListSignals": RpcCheck("scoring.signals.read", About.LIST),
    "CreateDriverAnalysis": RpcCheck("scoring.analyses.run"),
    "GetDriverAnalysis": RpcCheck("scoring.analyses.read"),
    "ListDriverAnalyses": RpcCheck("scoring.analyses.read"),
    "DraftScorecardFromAnalysis": RpcCheck("scoring.scorecards.write"),
    "GetScorecardDraft": RpcCheck("scoring.analyses.read"),
    "ApproveScorecardDraft": RpcCheck("scoring.scorecards.approve"),
    "ActivateScorecardDraft": RpcCheck("scoring.scorecards.write"),
    "RefreshPerformerProfile": RpcCheck("scoring.scores.compute", About.UNIT),
    "GetPerformerProfile": RpcCheck("scoring.insights.read", About.UNIT),
    "ListCoachingGaps": RpcCheck("scoring.scores.read", About.LIST),
    "GetHeatMap": RpcCheck("scoring.insights.read", About.LIST),
    "GetUnitTrends": RpcCheck("scoring.insights.read", About.LIST),
}
