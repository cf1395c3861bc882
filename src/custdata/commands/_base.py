"""What every input command shares: reading a payload, its JSON Schema, the ids and the clock of the server,
and running the change in one unit of work."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar, Self, TypeVar

import attrs

from custdata._clock import Clock, read
from custdata._errors import ConflictError, NotFoundError, ValidationError
from custdata.commands._fields import Field, Integer, Phone, Problems, Shape, Text
from custdata.domain import Address, Customer, CustomerId, OrderId
from custdata.storage.ports import Store, UnitOfWork

R = TypeVar("R")

#: The JSON Schema dialect of every schema here (the one OpenAPI 3.1 uses).
DIALECT = "https://json-schema.org/draft/2020-12/schema"

#: Why a customer field cannot come in a payload, by field: the library or the shop's staff set them.
SERVER_MANAGED: dict[str, str] = {
    "id": "is assigned by the server",
    "created_at": "is set by the server",
    "updated_at": "is set by the server",
    "version": "is kept by the store (send expected_version to update)",
    "email_verified_at": "is set only by proving the address (the verification flow)",
    "phone_verified_at": "is set only by proving the number",
    "redacted_at": "is set only by erasure",
    "merged_into": "is set only by a merge",
    "is_guest": "follows from the command (registration, guest checkout, verification)",
    "tags": "is set by the shop, not by the customer",
    "groups": "is set by the shop, not by the customer",
    "private_metadata": "is set by the shop, not by the customer",
    "consents": "changes through SetConsent, one decision at a time",
    "company": "is set by the shop, not by the customer",
    "other_emails": "is set by the shop or a merge, not by the customer",
    "other_phones": "is set by the shop or a merge, not by the customer",
    "addresses": "changes through the address book commands",
    "default_shipping_address": "changes through SetDefaultAddress",
    "default_billing_address": "changes through SetDefaultAddress",
}

EXPECTED_VERSION = Field(
    "expected_version",
    Integer(),
    required=True,
    description="the customer's version as last read; a stale one is refused (version_conflict)",
)

#: The address fields a customer may give, with the model's limits (the country's rules are checked too).
ADDRESS = Shape(
    (
        Field("first_name", Text(256, blank=True)),
        Field("last_name", Text(256, blank=True)),
        Field("company_name", Text(256, blank=True)),
        Field("street_address_1", Text(256, blank=True)),
        Field("street_address_2", Text(256, blank=True)),
        Field("city", Text(256, blank=True)),
        Field("city_area", Text(128, blank=True)),
        Field("postal_code", Text(20, blank=True)),
        Field("country_code", Text(2), required=True, description="ISO 3166-1 alpha-2, such as DE"),
        Field("country_area", Text(128, blank=True)),
        Field("phone", Phone(), nullable=True),
    )
)


def build_address(values: dict[str, Any], path: str) -> Address:
    """An :class:`custdata.Address` from the fields read by :data:`ADDRESS`; its problems carry ``path``."""
    try:
        return Address(**values)
    except ValidationError as exc:
        raise exc.prefixed(path) from None


@attrs.frozen
class Ids:
    """Makes the ids of new records; inject your own for tests or for ids of another form."""

    customer: Callable[[], CustomerId] = CustomerId.new
    order: Callable[[], OrderId] = OrderId.new


#: The library's own ids: time-ordered, with the kind's prefix.
DEFAULT_IDS = Ids()


class Command:
    """Base of the input commands: ``from_payload`` reads an untrusted JSON object (every problem at once),
    ``json_schema`` describes the payloads it accepts. Subclasses set ``SHAPE``."""

    SHAPE: ClassVar[Shape]

    @classmethod
    def from_payload(cls, payload: object) -> Self:
        """The command ``payload`` asks for; :class:`custdata.ValidationError` lists every problem with its path
        and code (unknown fields, fields the server manages, wrong types, missing ones, bad values)."""
        problems = Problems()
        partial: dict[str, Any] = {}
        values, bad = cls.SHAPE.read_fields(payload, "", problems, partial)
        if not bad:
            return cls._build(values)
        try:  # the model's own checks of the fields that could be read, so that every problem is told at once
            cls._build({**values, **partial})
        except ValidationError as exc:
            told = [p.path for p in problems.items]
            problems.items.extend(p for p in exc.problems if not any(_within(p.path, t) for t in told))
        except (KeyError, TypeError):  # a required field is missing: reported already
            pass
        problems.done()
        raise AssertionError("unreachable: a field that could not be read is a problem")

    @classmethod
    def _build(cls, values: dict[str, Any]) -> Self:
        return cls(**values)

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """The JSON Schema (draft 2020-12) of the payloads ``from_payload`` accepts; structurally identical:
        a payload with an unknown field, a value of the wrong type or a missing field fails both."""
        return {"$schema": DIALECT, "title": cls.__name__, **cls.SHAPE.schema()}


def _within(path: str, told: str) -> bool:
    """True when ``path`` is ``told`` or lies inside it: a problem already reported there covers it."""
    return path == told or path.startswith((told + ".", told + "["))


def now_from(clock: Clock) -> datetime:
    return read(clock)


def run(store: Store, work: Callable[[UnitOfWork], R]) -> R:
    """``work`` in one unit of work, committed when it returns; nothing is written when it raises."""
    with store.unit_of_work() as uow:
        result = work(uow)
        uow.commit()
        return result


def live_customer(uow: UnitOfWork, customer_id: str, expected_version: int | None) -> Customer:
    """The customer to change: :class:`custdata.NotFoundError` when there is none, or when it was erased or
    merged into another (its record stays only so that its id resolves: nothing is written to it again), and
    :class:`custdata.ConflictError` when ``expected_version`` is stale."""
    customer = uow.customers.get(customer_id)
    if customer.merged_into is not None or customer.redacted_at is not None:
        raise NotFoundError("customer", str(customer_id))
    if expected_version is not None and customer.version != expected_version:
        raise ConflictError("customer", str(customer.id), expected_version, customer.version)
    return customer


def touch(customer: Customer, now: datetime) -> None:
    customer.updated_at = max(customer.updated_at, now)


__all__ = ["DEFAULT_IDS", "DIALECT", "Command", "Ids"]
