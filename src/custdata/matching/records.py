"""The raw input of duplicate detection: a flat record of strings, built from dirty rows or from customers.

Imported rows are exactly the data that would fail :class:`custdata.Customer`'s checks (a phone without a
country, a misspelt street, a postal code in the wrong format), so a record only insists on what matching
needs: text fields that are strings of a sane length.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeAlias

import attrs

from custdata._errors import Problem, ValidationError, join_path
from custdata.domain.contact import mask

if TYPE_CHECKING:
    from custdata.domain.customer import Customer

#: Longest text accepted in one field; longer values are not names or addresses and would only slow matching.
MAX_FIELD_LENGTH = 512

TEXT_FIELDS = (
    "given_name",
    "family_name",
    "email",
    "phone",
    "street",
    "postal_code",
    "city",
    "country",
    "birthday",
)

#: Column names that common exports use, mapped to record fields (Saleor, Shopify, spreadsheets).
COLUMN_ALIASES: Mapping[str, str] = {
    "customer_id": "id",
    "first_name": "given_name",
    "firstname": "given_name",
    "last_name": "family_name",
    "lastname": "family_name",
    "surname": "family_name",
    "email_address": "email",
    "phone_number": "phone",
    "street_address": "street",
    "street_address_1": "street",
    "address1": "street",
    "zip": "postal_code",
    "zip_code": "postal_code",
    "postcode": "postal_code",
    "country_code": "country",
    "date_of_birth": "birthday",
    "birth_date": "birthday",
}


@attrs.frozen(repr=False)
class CustomerRecord:
    """One customer as imported, every field an unvalidated string (or ``None`` when absent).

    ``country`` is an ISO 3166 alpha-2 code or a country name; ``birthday`` is ISO (``1984-03-07``) or a
    common day-first or month-first spelling. ``other_emails`` and ``other_phones`` hold further contact
    points. ``is_guest`` says whether the record is a guest (``True``) or a registered account (``False``);
    ``None`` means not known, as for most imported rows. A pair with a registered account is never merged
    automatically (see :class:`custdata.matching.Matcher`). Use :meth:`from_mapping` for rows and
    :meth:`from_customer` for stored customers, which always says which of the two a customer is.

    >>> CustomerRecord("r1", given_name="Jane", family_name="Doe")
    CustomerRecord(id='r1', given_name='J***', family_name='D***')
    """

    id: str
    given_name: str | None = None
    family_name: str | None = None
    email: str | None = None
    phone: str | None = None
    street: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country: str | None = None
    birthday: str | None = None
    other_emails: tuple[str, ...] = ()
    other_phones: tuple[str, ...] = ()
    is_guest: bool | None = None

    def __attrs_post_init__(self) -> None:
        problems = list(_check_record(self))
        if problems:
            raise ValidationError(problems)

    @classmethod
    def from_mapping(
        cls,
        row: Mapping[str, Any],
        *,
        default_id: str | None = None,
        columns: Mapping[str, str] | None = None,
    ) -> CustomerRecord:
        """Build a record from a row such as a CSV line or a JSON object.

        Keys are matched case-insensitively, ``first_name``/``zip``/... are understood (see
        :data:`COLUMN_ALIASES`), ``columns`` maps further names, and other keys are ignored. Numbers
        become strings, dates become ISO dates, empty strings become ``None``. ``is_guest`` takes a boolean
        or ``true``/``false``, ``yes``/``no``, ``1``/``0``. ``default_id`` is used
        when the row has no ``id``. Raises :class:`custdata.ValidationError` naming each bad field.

        >>> r = CustomerRecord.from_mapping({"First Name": "Ana", "ZIP": 28013, "Notes": "vip"}, default_id="7")
        >>> r.id, r.postal_code
        ('7', '28013')
        """
        if not isinstance(row, Mapping):
            raise ValidationError.single("", f"must be a mapping of column names to values, not {type(row).__name__}")
        aliases = {**COLUMN_ALIASES, **{k.lower(): v for k, v in (columns or {}).items()}}
        values: dict[str, Any] = {}
        problems: list[Problem] = []
        for key, raw in row.items():
            if not isinstance(key, str):
                problems.append(Problem("", "column names must be strings"))
                continue
            slug = "_".join(key.strip().lower().replace("-", " ").split())
            name = aliases.get(slug, slug)
            if name not in _FIELDS:
                continue
            if name in values and values[name] is not None:
                problems.append(Problem(name, f"is given twice (column {key!r})"))
                continue
            try:
                values[name] = _coerce(name, raw)
            except ValidationError as exc:
                problems.extend(Problem(join_path(name, p.path), p.message) for p in exc.problems)
        if "id" not in values or values["id"] is None:
            if default_id is None:
                problems.append(Problem("id", "is required (or pass default_id)"))
            values["id"] = default_id
        if problems:
            raise ValidationError(problems)
        return cls(**values)

    @classmethod
    def from_customer(cls, customer: Customer) -> CustomerRecord:
        """The matching view of a stored :class:`custdata.Customer`: names, every email and phone, birthday,
        and the default shipping address (else the billing address, else the first one)."""
        address = customer.shipping_address or customer.billing_address
        if address is None and customer.addresses:
            address = customer.addresses[0]
        emails = [e.value for e in customer.emails]
        phones = [p.e164 for p in customer.phones]
        street = None
        if address is not None:
            street = " ".join(s for s in (address.street_address_1, address.street_address_2) if s) or None
        return cls(
            id=str(customer.id),
            given_name=customer.given_name or (address.first_name if address else None) or None,
            family_name=customer.family_name or (address.last_name if address else None) or None,
            email=emails[0] if emails else None,
            phone=phones[0] if phones else None,
            street=street,
            postal_code=(address.postal_code or None) if address else None,
            city=(address.city or None) if address else None,
            country=(address.country_code or None) if address else None,
            birthday=customer.birthday.isoformat() if customer.birthday else None,
            other_emails=tuple(emails[1:]),
            other_phones=tuple(phones[1:]),
            is_guest=customer.is_guest,
        )

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={mask(getattr(self, name))!r}" for name in ("given_name", "family_name") if getattr(self, name)
        )
        return f"CustomerRecord(id={self.id!r}{', ' if shown else ''}{shown})"


RecordLike: TypeAlias = "CustomerRecord | Mapping[str, Any] | Customer"

_FIELDS = frozenset(("id", *TEXT_FIELDS, "other_emails", "other_phones", "is_guest"))
_TRUE = frozenset(("true", "yes", "1", "t", "y"))
_FALSE = frozenset(("false", "no", "0", "f", "n"))


def _coerce(name: str, raw: object) -> Any:
    """Turn one cell into what the record holds, or raise naming the reason (never the value)."""
    if name == "is_guest":
        return _flag(raw)
    if name in ("other_emails", "other_phones"):
        if raw is None or raw == "":
            return ()
        if isinstance(raw, str):
            raw = raw.replace(";", ",").split(",")
        if not isinstance(raw, (list, tuple)):
            raise ValidationError.single("", f"must be a list of strings, not {type(raw).__name__}")
        items = []
        for i, item in enumerate(raw):
            try:
                value = _coerce(name[len("other_") : -1], item)
            except ValidationError as exc:
                raise exc.prefixed(f"[{i}]") from None
            if value is not None:
                items.append(value)
        return tuple(items)
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise ValidationError.single("", "must be text, not a boolean")
    if isinstance(raw, datetime):
        if name != "birthday":
            raise ValidationError.single("", "must be text, not a datetime")
        raw = raw.date().isoformat()
    elif isinstance(raw, date):
        if name != "birthday":
            raise ValidationError.single("", "must be text, not a date")
        raw = raw.isoformat()
    elif isinstance(raw, int) and name in ("id", "phone", "postal_code"):
        raw = str(raw)
    elif not isinstance(raw, str):
        raise ValidationError.single("", f"must be text, not {type(raw).__name__}")
    text = raw.strip()
    return text or None


def _flag(raw: object) -> bool | None:
    if raw is None or isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str):
        text = raw.strip().lower()
        if not text:
            return None
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
    raise ValidationError.single("", "must be true or false (or yes/no, 1/0)")


def _check_record(record: CustomerRecord) -> Iterable[Problem]:
    if not isinstance(record.id, str) or not record.id.strip():
        yield Problem("id", "must be a non-empty string")
    elif len(record.id) > MAX_FIELD_LENGTH:
        yield Problem("id", f"is longer than {MAX_FIELD_LENGTH} characters")
    for name in TEXT_FIELDS:
        yield from _check_text(name, getattr(record, name))
    if record.is_guest is not None and not isinstance(record.is_guest, bool):
        yield Problem("is_guest", f"must be True, False or None, not {type(record.is_guest).__name__}")
    for name in ("other_emails", "other_phones"):
        items = getattr(record, name)
        if not isinstance(items, tuple):
            yield Problem(name, f"must be a tuple of strings, not {type(items).__name__}")
            continue
        for i, item in enumerate(items):
            if item is None:
                yield Problem(f"{name}[{i}]", "must be a string, not None")
            else:
                yield from _check_text(f"{name}[{i}]", item)


def _check_text(path: str, value: object) -> Iterable[Problem]:
    if value is None:
        return
    if not isinstance(value, str):
        yield Problem(path, f"must be a string or None, not {type(value).__name__}")
    elif len(value) > MAX_FIELD_LENGTH:
        yield Problem(path, f"is longer than {MAX_FIELD_LENGTH} characters")
    elif "\x00" in value:
        yield Problem(path, "contains a NUL character")


def to_record(item: object, position: int | None = None) -> CustomerRecord:
    """Accept a :class:`CustomerRecord`, a row mapping or a :class:`custdata.Customer`; errors are prefixed
    with ``[position]`` so that a bad row in a batch is easy to find."""
    from custdata.domain.customer import Customer

    try:
        if isinstance(item, CustomerRecord):
            return item
        if isinstance(item, Customer):
            return CustomerRecord.from_customer(item)
        if isinstance(item, Mapping):
            return CustomerRecord.from_mapping(item, default_id=None if position is None else str(position))
        raise ValidationError.single(
            "", f"must be a CustomerRecord, a mapping or a Customer, not {type(item).__name__}"
        )
    except ValidationError as exc:
        raise exc.prefixed(f"[{position}]") if position is not None else exc from None
