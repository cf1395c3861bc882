"""docs/commands.md lists every error code, in the enum's order, with the HTTP status its errors carry."""

from __future__ import annotations

import re
from pathlib import Path

from custdata import (
    ConflictError,
    CurrencyMismatchError,
    CustdataError,
    ErrorCode,
    IntegrityError,
    InvalidTransitionError,
    NotFoundError,
    OperationalError,
    ProgrammingError,
    TokenError,
    ValidationError,
)

PAGE = Path(__file__).resolve().parents[2] / "docs" / "commands.md"
ROW = re.compile(r"^\| `(?P<code>[a-z_]+)` \| (?P<meaning>[^|]+) \| (?P<status>\d{3}) \|$", re.MULTILINE)

#: An error of each code: the ones a class of error carries, and a validation problem for the rest.
ERRORS: dict[ErrorCode, CustdataError] = {
    ErrorCode.CURRENCY_MISMATCH: CurrencyMismatchError("EUR", "USD"),
    ErrorCode.INVALID_TRANSITION: InvalidTransitionError("cancelled", "paid", ()),
    ErrorCode.INVALID_TOKEN: TokenError("expired", "has expired"),
    ErrorCode.VERSION_CONFLICT: ConflictError("customer", "cus_1", 0, 1),
    ErrorCode.NOT_FOUND: NotFoundError("customer", "cus_1"),
    ErrorCode.DUPLICATE: IntegrityError("exists", code=ErrorCode.DUPLICATE),
    ErrorCode.CONSTRAINT: IntegrityError("a loop"),
    ErrorCode.UNAVAILABLE: OperationalError("locked"),
    ErrorCode.INTERNAL: ProgrammingError("closed"),
}


def _error(code: ErrorCode) -> CustdataError:
    return ERRORS.get(code) or ValidationError.single("field", "is wrong", code)


def test_the_table_lists_every_code_in_order_with_its_status() -> None:
    section = PAGE.read_text(encoding="utf-8").split("## Error codes", 1)[1].split("\n## ", 1)[0]
    rows = [(m["code"], int(m["status"])) for m in ROW.finditer(section)]
    assert [code for code, _ in rows] == [code.value for code in ErrorCode]
    for code, status in rows:
        error = _error(ErrorCode(code))
        assert error.error_code == code
        assert error.to_problem_details()["status"] == status, code
