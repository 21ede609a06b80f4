"""Permissions the points service checks, and the default grants per role."""

from covenant.auth.matrix import About, RpcCheck

PERMISSIONS: dict[str, str] = {
    "points.events.write": "Post business events (source systems, service accounts)",
    "points.ledger.read": "Read balances, ledger entries and personal goals",
    "points.ledger.adjust": "Manual adjustments and reversals, with a reason, audited (managers, services)",
    "points.ledger.expire": "Run points expiry (scheduler service account)",
    "points.leaderboards.read": "Read leaderboards",
    "points.goals.read": "Read team goals and their contribution split",
    "points.goals.manage": "Create team goals and set others' personal goals",
    "points.nudges.send": "Emit the weekly points.nudge events (scheduler service account)",
    "points.rewards.read": "Read the reward catalogue",
    "points.rewards.redeem": "Redeem rewards and cancel one's own redemptions",
    "points.rewards.approve": "Approve, fulfil, reject or cancel redemptions",
    "points.rewards.manage": "Maintain the reward catalogue",
}

ROLE_GRANTS: dict[str, dict[str, str]] = {
    "sales_rep": {
        "points.ledger.read": "self",
        "points.leaderboards.read": "team",
        "points.goals.read": "team",
        "points.rewards.read": "all",
        "points.rewards.redeem": "self",
    },
    "team_lead": {
        "points.ledger.read": "team",
        "points.ledger.adjust": "team",
        "points.leaderboards.read": "subtree",
        "points.goals.read": "subtree",
        "points.goals.manage": "team",
        "points.rewards.read": "all",
        "points.rewards.redeem": "self",
        "points.rewards.approve": "team",
    },
    "branch_manager": {
        "points.ledger.read": "subtree",
        "points.ledger.adjust": "subtree",
        "points.leaderboards.read": "subtree",
        "points.goals.read": "subtree",
        "points.goals.manage": "subtree",
        "points.rewards.read": "all",
        "points.rewards.redeem": "self",
        "points.rewards.approve": "subtree",
    },
    "hr": {
        "points.ledger.read": "all",
        "points.leaderboards.read": "all",
        "points.goals.read": "all",
        "points.goals.manage": "all",
        "points.rewards.read": "all",
        "points.rewards.manage": "all",
        "points.rewards.approve": "all",
    },
    "auditor": {
        "points.ledger.read": "all",
        "points.leaderboards.read": "all",
        "points.goals.read": "all",
        "points.rewards.read": "all",
    },
    "service": {
        "points.events.write": "all",
        "points.ledger.adjust": "all",
        "points.ledger.read": "all",
        "points.ledger.expire": "all",
        "points.nudges.send": "all",
        "points.leaderboards.read": "all",
    },
}


# What each RPC of the service checks (the authorization matrix, docs/authorization.md, is built from this).
RPCS: dict[str, RpcCheck] = {
    "RecordEvent": RpcCheck("points.events.write", About.EMPLOYEE, sources_only=True),
    "RecordEvents": RpcCheck("points.events.write", About.EMPLOYEE, sources_only=True),
    "ReverseEvent": RpcCheck("points.ledger.adjust", About.EMPLOYEE, own="deny", line="require"),
    "AdjustPoints": RpcCheck("points.ledger.adjust", About.EMPLOYEE, own="deny", line="require"),
    "GetBalance": RpcCheck("points.ledger.read", About.EMPLOYEE),
    "ListLedgerEntries": RpcCheck("points.ledger.read", About.EMPLOYEE),
    "GetLeaderboard": RpcCheck("points.leaderboards.read", About.LIST),
    "CreateTeamGoal": RpcCheck("points.goals.manage", About.UNIT),
    "GetTeamGoal": RpcCheck("points.goals.read", About.UNIT),
    "ListTeamGoals": RpcCheck("points.goals.read", About.LIST),
    "SetPersonalGoal": RpcCheck("points.goals.manage", About.EMPLOYEE, own="free"),
    "GetPersonalGoal": RpcCheck("points.ledger.read", About.EMPLOYEE),
    "SendNudges": RpcCheck("points.nudges.send"),
    "ExpirePoints": RpcCheck("points.ledger.expire"),
    "CreateRewardItem": RpcCheck("points.rewards.manage"),
    "ListRewardItems": RpcCheck("points.rewards.read", About.LIST),
    "RedeemReward": RpcCheck("points.rewards.redeem", About.EMPLOYEE),
    "ApproveRedemption": RpcCheck("points.rewards.approve", About.EMPLOYEE, own="deny", line="require"),
    "FulfilRedemption": RpcCheck("points.rewards.approve", About.EMPLOYEE, own="deny", line="require"),
    "RejectRedemption": RpcCheck("points.rewards.approve", About.EMPLOYEE, own="deny", line="require"),
    "CancelRedemption": RpcCheck(
        "points.rewards.approve", About.EMPLOYEE, own="points.rewards.redeem", line="require"
    ),
}
