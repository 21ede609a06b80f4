"""The commitment state machine: active → fulfilled / breached / cancelled, late fulfilment, extensions."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import datetime

from covenant.errors import FailedPrecondition, InvalidArgument
from services.commitments.domain.terms import Terms


class State(enum.StrEnum):
    ACTIVE = "ACTIVE"
    FULFILLED = "FULFILLED"
    BREACHED = "BREACHED"
    CANCELLED = "CANCELLED"
    BREACHED_THEN_FULFILLED = "BREACHED_THEN_FULFILLED"


@dataclass(frozen=True)
class Extension:
    previous_deadline: datetime
    new_deadline: datetime
    reason: str
    approver: str
    extended_at: datetime


@dataclass(frozen=True)
class Commitment:
    """A promise and where it stands. Transitions return a new value; illegal ones raise."""

    id: str
    terms: Terms
    terms_hash: str
    state: State = State.ACTIVE
    deadline: datetime | None = None  # effective deadline (after extensions)
    settled_at: datetime | None = None
    fulfilled_at: datetime | None = None
    delay_seconds: int = 0
    fulfilment_event_id: str = ""
    extensions: tuple[Extension, ...] = field(default_factory=tuple)

    @property
    def effective_deadline(self) -> datetime:
        return self.deadline or self.terms.deadline

    def fulfil(self, at: datetime, event_id: str) -> Commitment:
        """Apply the fulfilling fact, judged by when it happened (``at``), not when it arrived.

        On or before the deadline: FULFILLED, even after a final breach (the breach is reversed). After it:
        BREACHED_THEN_FULFILLED with the delay (the breach stands)."""
        if self.state not in (State.ACTIVE, State.BREACHED):
            raise FailedPrecondition(f"commitment {self.id} is {self.state}, it cannot be fulfilled")
        if at <= self.effective_deadline:
            return replace(
                self, state=State.FULFILLED, settled_at=at, fulfilled_at=at, fulfilment_event_id=event_id
            )
        return replace(
            self,
            state=State.BREACHED_THEN_FULFILLED,
            settled_at=self.effective_deadline if self.state is State.ACTIVE else self.settled_at,
            fulfilled_at=at,
            delay_seconds=int((at - self.effective_deadline).total_seconds()),
            fulfilment_event_id=event_id,
        )

    def breach(self, now: datetime) -> Commitment:
        """The deadline passed with no fulfilment."""
        if self.state is not State.ACTIVE:
            raise FailedPrecondition(f"commitment {self.id} is {self.state}, it cannot be breached")
        if now < self.effective_deadline:
            raise FailedPrecondition(
                f"commitment {self.id} is not due until {self.effective_deadline.isoformat()}"
            )
        return replace(self, state=State.BREACHED, settled_at=self.effective_deadline)

    def cancel(self, now: datetime) -> Commitment:
        if self.state is not State.ACTIVE:
            raise FailedPrecondition(f"commitment {self.id} is {self.state}, only ACTIVE can be cancelled")
        return replace(self, state=State.CANCELLED, settled_at=now)

    def extend(self, new_deadline: datetime, reason: str, approver: str, now: datetime) -> Commitment:
        if self.state is not State.ACTIVE:
            raise FailedPrecondition(f"commitment {self.id} is {self.state}, only ACTIVE can be extended")
        if not reason.strip():
            raise InvalidArgument("a reason is required", field="reason")
        if new_deadline <= self.effective_deadline:
            raise InvalidArgument("must be later than the current deadline", field="new_deadline")
        ext = Extension(self.effective_deadline, new_deadline, reason.strip(), approver, now)
        return replace(self, deadline=new_deadline, extensions=(*self.extensions, ext))
