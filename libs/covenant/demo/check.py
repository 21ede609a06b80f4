"""What the demo found, held against what the generator planted: found of planted, and anything unexpected.

Pure functions over the generated world and the observed keys; ``covenant.demo.cli`` gathers the
observations through the public gRPC APIs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from covenant.demo.generator import World

EmployeeDay = tuple[str, date]


@dataclass(frozen=True)
class Check:
    """One kind of finding: how many of the planted ones were found, and how many were found unplanted."""

    label: str
    planted: int
    found: int
    unexpected: int
    examples: tuple[str, ...] = ()  # a few planted-but-missed (-) and unplanted-but-found (+) keys

    @property
    def ok(self) -> bool:
        return self.found == self.planted and self.unexpected == 0

    def line(self) -> str:
        mark = "ok" if self.ok else "MISMATCH"
        counts = f"{self.found:>4} of {self.planted:<4} planted, {self.unexpected} unexpected"
        shown = f"  e.g. {' '.join(self.examples)}" if self.examples and not self.ok else ""
        return f"  {self.label:<38} {counts}  {mark}{shown}"


def compare(label: str, planted: Iterable[object], observed: Iterable[object]) -> Check:
    """Check ``observed`` keys against ``planted`` keys."""
    p, o = set(planted), set(observed)
    examples = [f"-{k}" for k in sorted(map(str, p - o))[:3]] + [f"+{k}" for k in sorted(map(str, o - p))[:3]]
    return Check(label, len(p), len(p & o), len(o - p), tuple(examples))


def text_id(employee_id: str, at: datetime) -> str:
    """The id the demo scans a transcript under (and finds again in a case's evidence)."""
    return f"call:{employee_id}:{at.isoformat()}"


def attendance_checks(world: World, flagged: Mapping[str, set[EmployeeDay]]) -> list[Check]:
    """Dwell anomalies, teleports and location mismatches per employee-day; ``flagged`` maps
    ``dwell``/``spoofing``/``mismatch`` to the employee-days the service flagged."""
    dwell = {(e, d.date) for d in world.days for e, _ in d.planted_dwell}
    teleports = {(e, d.date) for d in world.days for e in d.planted_teleports}
    mismatches = {(e, d.date) for d in world.days for e in d.planted_mismatches}
    return [
        compare("dwell anomalies (employee-days)", dwell, flagged["dwell"]),
        compare("spoofing: teleports (employee-days)", teleports, flagged["spoofing"]),
        compare("location mismatches (employee-days)", mismatches, flagged["mismatch"]),
    ]


def compliance_check(world: World, flagged_text_ids: Iterable[str]) -> Check:
    """Banned promises: every planted transcript in a case, no disclosure or clean call in one."""
    bad = {text_id(t.employee_id, t.at) for d in world.days for t in d.transcripts if t.planted_violation}
    return compare("banned promises (transcripts)", bad, flagged_text_ids)


def expected_commitment_states(
    world: World, deadlines: Mapping[str, datetime], fulfilled: set[str], now: datetime
) -> dict[str, str]:
    """loan id -> the state each planted commitment must be in at ``now``: FULFILLED when its disbursal was
    recorded by the deadline, BREACHED when the deadline passed without one, ACTIVE otherwise."""
    out = {}
    for d in world.days:
        for cm in d.commitments:
            deadline = deadlines[cm.loan_id]
            if cm.loan_id in fulfilled and cm.disbursed_at is not None and cm.disbursed_at <= deadline:
                out[cm.loan_id] = "FULFILLED"
            elif deadline <= now:
                out[cm.loan_id] = "BREACHED"
            else:
                out[cm.loan_id] = "ACTIVE"
    return out


def commitment_checks(expected: Mapping[str, str], actual: Mapping[str, str]) -> list[Check]:
    """Per state: the planted commitments in it, how many are, and how many others are in it."""
    return [
        compare(
            f"commitments {state}",
            {k for k, v in expected.items() if v == state},
            {k for k, v in actual.items() if v == state},
        )
        for state in ("FULFILLED", "BREACHED", "ACTIVE")
    ]
