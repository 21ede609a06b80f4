from sqlalchemy import Column, MetaData, String, Table, create_engine, insert, select

from covenant.auth.principal import ScopeFilter
from covenant.db.scope import scope_clause, subtree

md = MetaData()
rows = Table("rows", md, Column("employee_id", String), Column("org_unit", String))
DATA = [("e1", "/a"), ("e2", "/a/b"), ("e3", "/ab"), ("e4", "/a%"), ("e5", "/c")]


def visible(clause) -> list[str]:  # type: ignore[no-untyped-def]
    engine = create_engine("sqlite://")
    md.create_all(engine)
    with engine.begin() as c:
        c.execute(insert(rows), [{"employee_id": e, "org_unit": o} for e, o in DATA])
        q = select(rows.c.employee_id).order_by(rows.c.employee_id)
        return list(c.execute(q if clause is None else q.where(clause)).scalars())


def test_subtree_is_root_and_below_only() -> None:
    assert visible(subtree(rows.c.org_unit, "/a/")) == ["e1", "e2"]
    assert visible(subtree(rows.c.org_unit, "/a%")) == ["e4"]  # wildcards are literal


def test_scope_clause() -> None:
    cols = (rows.c.employee_id, rows.c.org_unit)
    assert scope_clause(ScopeFilter(all=True), *cols) is None
    assert visible(scope_clause(ScopeFilter(), *cols)) == []
    assert visible(scope_clause(ScopeFilter(employee_id="e5", org_unit="/a"), *cols)) == ["e1", "e5"]
    assert visible(scope_clause(ScopeFilter(employee_id="e3", org_unit_prefix="/a"), *cols)) == [
        "e1",
        "e2",
        "e3",
    ]
