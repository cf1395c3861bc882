"""Stable error codes: the values are public API, every source of a problem sets its specific code, and every
error renders as an RFC 9457 problem document."""

from __future__ import annotations

import pickle
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custdata import (
    Address,
    ConflictError,
    CurrencyMismatchError,
    CustdataError,
    Customer,
    EmailAddress,
    ErrorCode,
    IntegrityError,
    InvalidTransitionError,
    MissingExtraError,
    Money,
    NotFoundError,
    OperationalError,
    PhoneNumber,
    Problem,
    ProgrammingError,
    TokenError,
    ValidationError,
    from_dict,
)
from custdata._errors import PROBLEM_TYPE_BASE, TITLES, join_path, json_pointer
from custdata.commands import CreateGuest, RegisterCustomer
from custdata.storage import Store

#: The codes and their values, as documented: changing one breaks every client that branches on it.
PINNED = {
    "REQUIRED": "required",
    "UNKNOWN_FIELD": "unknown_field",
    "FORBIDDEN_FIELD": "forbidden_field",
    "INVALID_TYPE": "invalid_type",
    "INVALID_CHOICE": "invalid_choice",
    "INVALID_FORMAT": "invalid_format",
    "INVALID_EMAIL": "invalid_email",
    "INVALID_PHONE": "invalid_phone",
    "POSTAL_CODE_FORMAT": "postal_code_format",
    "COUNTRY_CODE": "country_code",
    "CURRENCY_CODE": "currency_code",
    "TOO_LONG": "too_long",
    "OUT_OF_RANGE": "out_of_range",
    "CURRENCY_MISMATCH": "currency_mismatch",
    "INVALID_TRANSITION": "invalid_transition",
    "INVALID_TOKEN": "invalid_token",
    "VERSION_CONFLICT": "version_conflict",
    "NOT_FOUND": "not_found",
    "DUPLICATE": "duplicate",
    "CONSTRAINT": "constraint",
    "UNAVAILABLE": "unavailable",
    "INTERNAL": "internal",
    "INVALID": "invalid",
}


def test_the_codes_are_pinned() -> None:
    assert {code.name: code.value for code in ErrorCode} == PINNED


def test_every_code_has_one_constant_title() -> None:
    assert set(TITLES) == set(ErrorCode)
    assert all(title and title == title.strip() for title in TITLES.values())


# -- problems ------------------------------------------------------------------------------------------------


def test_a_problem_defaults_to_the_generic_code_and_compares_without_it() -> None:
    assert Problem("email", "is bad").code is ErrorCode.INVALID
    assert Problem("email", "is bad", code=ErrorCode.INVALID_EMAIL) == Problem("email", "is bad")
    error = ValidationError.single("email", "is bad", ErrorCode.INVALID_EMAIL)
    assert error.problems[0].code is ErrorCode.INVALID_EMAIL
    assert error.prefixed("addresses[0]").problems[0].code is ErrorCode.INVALID_EMAIL
    assert pickle.loads(pickle.dumps(error)).problems[0].code is ErrorCode.INVALID_EMAIL


def test_an_errors_code_is_its_problems_code_when_they_agree() -> None:
    one = ValidationError([Problem("a", "x", code=ErrorCode.REQUIRED), Problem("b", "y", code=ErrorCode.REQUIRED)])
    assert one.error_code is ErrorCode.REQUIRED
    mixed = ValidationError([Problem("a", "x", code=ErrorCode.REQUIRED), Problem("b", "y")])
    assert mixed.error_code is ErrorCode.INVALID


_segment = st.one_of(
    st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True).map(lambda s: ("name", s)),
    st.integers(0, 999).map(lambda i: ("index", i)),
    st.text(max_size=8).map(lambda s: ("key", s)),
)


@given(st.lists(_segment, max_size=6))
def test_a_path_becomes_the_json_pointer_of_its_segments(segments: list[tuple[str, Any]]) -> None:
    path = ""
    for kind, part in segments:
        if kind == "name":
            path = join_path(path, part)
        elif kind == "index":
            path += f"[{part}]"
        else:
            path += f"[{part!r}]"
    expected = "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for _, part in segments)
    assert json_pointer(path) == expected


# -- problem documents ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (ValidationError.single("email", "is bad", ErrorCode.INVALID_EMAIL), 422, "invalid_email"),
        (CurrencyMismatchError("EUR", "USD"), 422, "currency_mismatch"),
        (InvalidTransitionError("cancelled", "shipped", ()), 409, "invalid_transition"),
        (TokenError("expired", "has expired"), 400, "invalid_token"),
        (ConflictError("customer", "cus_1", 1, 2), 409, "version_conflict"),
        (NotFoundError("customer", "cus_1"), 404, "not_found"),
        (IntegrityError("a customer with this id already exists", code=ErrorCode.DUPLICATE), 409, "duplicate"),
        (IntegrityError("a loop"), 409, "constraint"),
        (OperationalError("locked"), 503, "unavailable"),
        (ProgrammingError("closed"), 500, "internal"),
        (MissingExtraError("psycopg", "postgres"), 500, "internal"),
    ],
)
def test_every_error_renders_as_a_problem_document(error: CustdataError, status: int, code: str) -> None:
    document = error.to_problem_details(instance="/customers/cus_1")
    assert document["type"] == PROBLEM_TYPE_BASE + code
    assert document["title"] == TITLES[ErrorCode(code)]
    assert document["status"] == status
    assert document["code"] == code
    assert document["instance"] == "/customers/cus_1"
    assert isinstance(document["detail"], str) and document["detail"]
    assert document["errors"] and all(set(e) == {"code", "path", "message"} for e in document["errors"])
    assert "instance" not in error.to_problem_details()
    assert error.to_problem_details(type_base="urn:shop:")["type"] == "urn:shop:" + code


def test_a_document_lists_every_problem_with_a_pointer_and_its_code() -> None:
    error = ValidationError(
        [
            Problem("addresses[0].postal_code", "does not match", code=ErrorCode.POSTAL_CODE_FORMAT),
            Problem("metadata['a/b']", "is too deep", code=ErrorCode.TOO_LONG),
        ]
    )
    document = error.to_problem_details()
    assert document["status"] == 422 and document["code"] == "invalid"
    assert document["errors"] == [
        {"code": "postal_code_format", "path": "/addresses/0/postal_code", "message": "does not match"},
        {"code": "too_long", "path": "/metadata/a~1b", "message": "is too deep"},
    ]


def test_a_document_quotes_no_personal_data() -> None:
    secret = "jane.secret@example.com"
    documents = [NotFoundError("customer", secret).to_problem_details()]
    try:
        RegisterCustomer.from_payload({"email": "jane.secret@@example.com", "given_name": 5, "nickname": "x"})
    except ValidationError as exc:
        documents.append(exc.to_problem_details())
    assert len(documents) == 2
    assert all("jane" not in str(d) and "secret" not in str(d) for d in documents)


# -- the sources set their codes -----------------------------------------------------------------------------


def _codes(call: Any) -> set[ErrorCode]:
    with pytest.raises(ValidationError) as caught:
        call()
    return {p.code for p in caught.value.problems}


@settings(max_examples=80)
@given(st.text(max_size=40) | st.from_regex(r"[a-z.@ ]{1,20}@[a-z.\-]{0,12}", fullmatch=True))
def test_every_bad_email_is_invalid_email(text: str) -> None:
    try:
        EmailAddress.parse(text)
    except ValidationError as exc:
        assert {p.code for p in exc.problems} == {ErrorCode.INVALID_EMAIL}
    else:
        return
    for command in (RegisterCustomer, CreateGuest):
        with pytest.raises(ValidationError) as caught:
            command.from_payload({"email": text})
        assert [(p.path, p.code) for p in caught.value.problems] == [("email", ErrorCode.INVALID_EMAIL)]


@settings(max_examples=60)
@given(st.text(alphabet="+0123456789 -()abc", max_size=20))
def test_every_bad_phone_is_invalid_phone(text: str) -> None:
    try:
        PhoneNumber.parse(text)
    except ValidationError as exc:
        assert {p.code for p in exc.problems} == {ErrorCode.INVALID_PHONE}
    else:
        return
    with pytest.raises(ValidationError) as caught:
        RegisterCustomer.from_payload({"email": "jane@example.com", "phone": text})
    assert [(p.path, p.code) for p in caught.value.problems] == [("phone", ErrorCode.INVALID_PHONE)]


def test_the_domain_checks_name_their_kind() -> None:
    base: dict[str, Any] = {
        "last_name": "Doe",
        "street_address_1": "Hauptstr. 1",
        "city": "Berlin",
        "country_code": "DE",
    }
    assert _codes(lambda: Address(**base, postal_code="1")) == {ErrorCode.POSTAL_CODE_FORMAT}
    assert _codes(lambda: Address(**{**base, "country_code": "QQ"})) == {ErrorCode.COUNTRY_CODE}
    assert _codes(lambda: Address(**{**base, "country_code": ""})) == {ErrorCode.REQUIRED}
    assert _codes(lambda: Address(**base, postal_code="10115", city_area="x" * 200)) == {ErrorCode.TOO_LONG}
    assert _codes(lambda: Money("1", "XYZ")) == {ErrorCode.CURRENCY_CODE}
    assert _codes(lambda: Money("1.001", "EUR")) == {ErrorCode.OUT_OF_RANGE}
    assert _codes(lambda: Money(Decimal(1), "EUR") + Money(Decimal(1), "USD")) == {ErrorCode.CURRENCY_MISMATCH}
    assert _codes(lambda: Customer(id="c 1", created_at="now")) == {  # type: ignore[arg-type]
        ErrorCode.INVALID_FORMAT,
        ErrorCode.INVALID_TYPE,
    }
    assert _codes(lambda: Customer(id="c1", created_at=None)) == {ErrorCode.REQUIRED}  # type: ignore[arg-type]


def test_serialization_names_unknown_missing_and_mistyped_fields() -> None:
    with pytest.raises(ValidationError) as caught:
        from_dict(Customer, {"id": "cus_1", "created_at": "2024-05-01T12:00:00+00:00", "emial": "x", "version": "1"})
    assert {(p.path, p.code) for p in caught.value.problems} == {
        ("emial", ErrorCode.UNKNOWN_FIELD),
        ("version", ErrorCode.INVALID_TYPE),
    }
    with pytest.raises(ValidationError) as caught:
        from_dict(Customer, {"created_at": "2024-05-01T12:00:00+00:00"})
    assert [(p.path, p.code) for p in caught.value.problems] == [("id", ErrorCode.REQUIRED)]
    with pytest.raises(ValidationError) as caught:
        from_dict(Customer, {"id": "cus_1", "created_at": "2024-05-01T12:00:00+00:00", "email": "nope"})
    assert [(p.path, p.code) for p in caught.value.problems] == [("email", ErrorCode.INVALID_EMAIL)]


def test_stores_report_duplicates_conflicts_and_missing_records_by_code(store: Store) -> None:
    from datetime import UTC, datetime

    customer = Customer(id="cus_1", created_at=datetime(2024, 5, 1, tzinfo=UTC))
    with store.unit_of_work() as uow:
        uow.customers.add(customer)
        uow.commit()
    with store.unit_of_work() as uow, pytest.raises(IntegrityError) as duplicate:
        uow.customers.add(attrs.evolve(customer))
    assert duplicate.value.error_code is ErrorCode.DUPLICATE
    assert duplicate.value.to_problem_details()["status"] == 409
    with store.unit_of_work() as uow, pytest.raises(ConflictError) as stale:
        uow.customers.update(attrs.evolve(customer, version=5))
    assert stale.value.error_code is ErrorCode.VERSION_CONFLICT
    with store.unit_of_work() as uow, pytest.raises(NotFoundError) as missing:
        uow.customers.get("cus_2")
    assert missing.value.error_code is ErrorCode.NOT_FOUND
