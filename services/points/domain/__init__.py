"""Pure points domain (no gRPC, no SQLAlchemy): periods, awards and caps, leaderboard order, goals and
nudges, reward redemptions."""

from services.points.domain.awards import (
    EARNING_KINDS,
    KINDS,
    Award,
    EventIn,
    Reversal,
    apply_caps,
    cap_keys,
    plan,
    reversal_amount,
    split_points,
)
from services.points.domain.goals import Nudge, Share, nudge, reached, split_pool
from services.points.domain.leaderboard import Standing, leaderboard_order, my_place, reached_at
from services.points.domain.periods import (
    CAP_PERIODS,
    TOTAL_PERIODS,
    key_for_date,
    local_date,
    period_bounds,
    period_key,
)
from services.points.domain.rewards import REFUNDING, check_transition, eligible, expirable

__all__ = [
    "CAP_PERIODS",
    "EARNING_KINDS",
    "KINDS",
    "REFUNDING",
    "TOTAL_PERIODS",
    "Award",
    "EventIn",
    "Nudge",
    "Reversal",
    "Share",
    "Standing",
    "apply_caps",
    "cap_keys",
    "check_transition",
    "eligible",
    "expirable",
    "key_for_date",
    "leaderboard_order",
    "local_date",
    "my_place",
    "nudge",
    "period_bounds",
    "period_key",
    "plan",
    "reached",
    "reached_at",
    "reversal_amount",
    "split_points",
    "split_pool",
]
