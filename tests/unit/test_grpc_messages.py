from decimal import Decimal
from types import SimpleNamespace

from sqlalchemy import create_engine, text

from covenant.grpc.messages import fields_of


def test_fields_of_reads_mappings_objects_and_rows_and_converts_the_named_ints() -> None:
    want = {"employee_id": "E1", "state": "OPEN", "points": 7}
    assert (
        fields_of({"employee_id": "E1", "state": "OPEN", "points": Decimal(7)}, "employee_id state", "points")
        == want
    )
    assert (
        fields_of(SimpleNamespace(employee_id="E1", state="OPEN", points=7.0), "employee_id state", "points")
        == want
    )
    with create_engine("sqlite://").connect() as c:
        row = c.execute(text("SELECT 'E1' AS employee_id, 'OPEN' AS state, '7' AS points")).one()
    assert fields_of(row, "employee_id state", "points") == want
    assert isinstance(fields_of(row, "", "points")["points"], int)
