"""Metric intake: metric values recorded through the API or derived from other services' events by the
scoring rule pack, and how they fold into the value of each KPI."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from covenant.auth import DataOwner, Principal, authorize
from covenant.auth.directory import Directory
from covenant.db import idempotency
from covenant.errors import InvalidArgument
from services.scoring.domain.period import parse_period, period_of
from services.scoring.domain.scorecard import Scorecard
from services.scoring.ports import ScoringStore, Stores


def parse_decimal(value: str, field: str) -> Decimal:
    try:
        d = Decimal(value)
    except (InvalidOperation, TypeError):
        raise InvalidArgument(f"must be a decimal number, got {value!r}", field=field) from None
    if not d.is_finite():
        raise InvalidArgument("must be finite", field=field)
    return d


def number_text(value: object) -> str:
    """Canonical decimal text for a metric amount (Struct numbers arrive as floats: -5.0 -> "-5")."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(Decimal(str(value)))


@dataclass(frozen=True)
class MetricInput:
    employee_id: str
    org_unit: str
    role: str
    period: str
    metric: str
    value: Decimal
    mode: str
    source: str


# (employee, metric) -> (last set value or None, sum of the adds after it, sources). Flat, and plain tuples
# throughout: a period's computation holds ~100,000 of these, and the garbage collector stops tracking
# tuples of plain values (tracked containers piling up cost two full collections, ~0.2 s, per compute).
Metrics = dict[tuple[str, str], tuple[Decimal | None, Decimal, tuple[str, ...]]]


def kpi_values(
    card: Scorecard, defaults: Mapping[str, Decimal], metrics: Metrics, employee_id: str
) -> dict[str, Decimal]:
    """The employee's value of each KPI: the last set value (else the scorecard's default, else 0) plus the
    adds after it; the default alone when there is no metric; absent when there is neither."""
    vals: dict[str, Decimal] = {}
    for kpi in card.kpis:
        m = metrics.get((employee_id, kpi.id))
        if m is None:
            if kpi.id in defaults:
                vals[kpi.id] = defaults[kpi.id]
            continue
        setv, add, _ = m
        base = setv if setv is not None else defaults.get(kpi.id, Decimal(0))
        vals[kpi.id] = base + add
    return vals


def kpi_sources(
    card: Scorecard, defaults: Mapping[str, Decimal], metrics: Metrics, employee_id: str
) -> dict[str, Sequence[str]]:
    """Where each KPI value of ``kpi_values`` comes from."""
    srcs: dict[str, Sequence[str]] = {}
    for kpi in card.kpis:
        m = metrics.get((employee_id, kpi.id))
        if m is not None:
            srcs[kpi.id] = m[2]
        elif kpi.id in defaults:
            srcs[kpi.id] = ("default",)
    return srcs


def fold_metrics(rows: Iterable[tuple[Any, ...]]) -> Metrics:
    """(employee, metric) -> (last set value or None, sum of the adds after it, sources), folded from
    metric value rows (employee_id, metric, value, mode, source, rule_id, pack_version) in write order."""
    out: Metrics = {}
    zero = Decimal(0)
    for employee_id, metric, value, mode, source, rule_id, pack_version in rows:
        key = (employee_id, metric)
        setv, add, sources = out.get(key, (None, zero, ()))
        if mode == "set":
            setv, add = Decimal(value), zero
        else:
            add += Decimal(value)
        label = f"{source}:{rule_id}@{pack_version}" if rule_id else source
        if label not in sources:
            sources = (*sources, label)
        out[key] = (setv, add, sources)
    return out


@dataclass
class MetricIntake:
    stores: Stores
    store_of: Callable[[Session], ScoringStore]  # the store over a session the caller opened (deliveries)
    rules: Any
    # Org unit and role of the employees written about come from the directory, not the request (None: the
    # request is trusted; only for in-process tools that construct the service directly).
    directory: Directory | None
    tz: ZoneInfo
    clock: Callable[[], datetime]

    def record(self, principal: Principal, values: Sequence[MetricInput], request_id: str) -> int:
        authorize(principal, "scoring.metrics.write")
        if not values:
            raise InvalidArgument("at least one value is required", field="values")
        resolved: list[MetricInput] = []
        for i, v in enumerate(values):
            for name in ("employee_id", "metric", "source"):
                if not getattr(v, name):
                    raise InvalidArgument("is required", field=f"values[{i}].{name}")
            parse_period(v.period, f"values[{i}].period")
            if v.mode not in ("set", "add"):
                raise InvalidArgument("must be set or add", field=f"values[{i}].mode")
            if self.directory is not None:  # who the employee is: the directory's word, never the request's
                e = self.directory.resolve(
                    v.employee_id, org_unit=v.org_unit, role=v.role, field=f"values[{i}]"
                )
                v = replace(v, org_unit=e.org_unit, role=v.role or e.role)
            if not v.org_unit:
                raise InvalidArgument("is required", field=f"values[{i}].org_unit")
            authorize(principal, "scoring.metrics.write", DataOwner(v.employee_id, v.org_unit))
            resolved.append(v)
        values = resolved
        now = self.clock()
        fp = idempotency.fingerprint(values) if request_id else None
        with self.stores() as store:
            done = store.replayed("RecordMetrics", request_id, fp)
            if done is not None:
                return int(done)
            store.remember("RecordMetrics", request_id, str(len(values)), now, fp)
            store.add_metric_values(
                [
                    {
                        "employee_id": v.employee_id,
                        "period": v.period,
                        "metric": v.metric,
                        "value": str(v.value),
                        "mode": v.mode,
                        "source": v.source,
                        "source_ref": request_id,
                        "rule_id": "",
                        "pack_version": "",
                        "recorded_at": now,
                    }
                    for v in values
                ]
            )
            wanted: dict[str, tuple[str, str]] = {}
            for v in values:  # a later value's empty org unit or role keeps an earlier one, as one by one
                unit, role = wanted.get(v.employee_id, ("", ""))
                wanted[v.employee_id] = (v.org_unit or unit, v.role or role)
            store.upsert_profiles(wanted)
        return len(values)

    def apply_event(self, session: Session, event: Any) -> int:
        """Turn another service's event into metric values, as the scoring rule pack says."""
        return self.apply_events(session, [event])

    def apply_events(self, session: Session, events: Sequence[Any]) -> int:
        """A delivered batch as one unit (the caller's session)."""
        return self.of_events(self.store_of(session), events)

    def of_events(self, store: ScoringStore, events: Sequence[Any]) -> int:
        """A delivered batch as one unit: every event judged on one pack snapshot, one insert of the
        metric values, one profile upsert per employee."""
        rows: list[dict[str, Any]] = []
        profiles: dict[str, tuple[str, str]] = {}
        with self.rules.evaluator() as evaluate:  # one pack snapshot, one evaluation per distinct decision
            for event in events:
                data = dict(event.data)
                employee = str(data.get("employee_id") or event.subject.removeprefix("employees/"))
                if not employee:
                    continue
                fired = evaluate({"type": event.type, "source": event.source, **data})
                day = event.occurred_at.ToDatetime(tzinfo=UTC).astimezone(self.tz).date()
                added = 0
                for action in fired:
                    if action.action not in ("add_metric", "set_metric"):
                        continue
                    added += 1
                    rows.append(
                        {
                            "employee_id": employee,
                            "period": period_of(day),
                            "metric": str(action.params["metric"]),
                            "value": number_text(action.params.get("amount", action.params.get("value", 1))),
                            "mode": "add" if action.action == "add_metric" else "set",
                            "source": event.source or "event",
                            "source_ref": event.id,
                            "rule_id": action.rule_id,
                            "pack_version": action.pack_version,
                            "recorded_at": self.clock(),
                        }
                    )
                if added:  # the latest org unit and role a batch names win, as event by event
                    org_unit, role = profiles.get(employee, ("", ""))
                    profiles[employee] = (event.org_unit or org_unit, str(data.get("role", "")) or role)
        if rows:
            store.add_metric_values(rows)
            store.upsert_profiles(profiles)
        return len(rows)
