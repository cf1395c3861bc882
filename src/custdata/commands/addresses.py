"""Commands on the customer's address book. Addresses are named by their place in the book (``index``, from 0);
``expected_version`` makes sure the book is the one the client saw, so an index never names another address."""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from custdata._clock import Clock, utc_now
from custdata._errors import ErrorCode, ValidationError
from custdata.commands._base import (
    ADDRESS,
    EXPECTED_VERSION,
    Command,
    build_address,
    live_customer,
    now_from,
    run,
    touch,
)
from custdata.commands._fields import Boolean, Field, Integer, Shape
from custdata.domain import Address, Customer
from custdata.domain.personal import NESTED, NOT_PERSONAL, PERSONAL, masked_repr
from custdata.storage.ports import Store, UnitOfWork

#: The most addresses one customer's address book holds.
MAX_ADDRESSES = 50

_INDEX = Field("index", Integer(0, MAX_ADDRESSES - 1), required=True, description="the address's place in the book")
_ADDRESS_PATCH = Shape(
    tuple(attrs.evolve(f, required=False, nullable=f.name != "country_code") for f in ADDRESS.fields)
)
_TEXT_FIELDS = tuple(f.name for f in ADDRESS.fields if f.name != "phone")


def _in_book(customer: Customer, index: int, path: str = "index") -> int:
    if index >= len(customer.addresses):
        raise ValidationError.single(
            path, f"names no address: the address book has {len(customer.addresses)}", ErrorCode.OUT_OF_RANGE
        )
    return index


def _change(store: Store, customer_id: str, version: int, clock: Clock, edit: Any) -> Customer:
    now = now_from(clock)

    def work(uow: UnitOfWork) -> Customer:
        customer = live_customer(uow, customer_id, version)
        edit(customer)
        touch(customer, now)
        customer.validate()
        uow.customers.update(customer)
        return customer

    return run(store, work)


@attrs.frozen
class AddAddress(Command):
    """Add an address to the book, optionally as the default for shipping or billing (or both)."""

    SHAPE: ClassVar[Shape] = Shape(
        (
            EXPECTED_VERSION,
            Field("address", ADDRESS, required=True),
            Field("default_shipping", Boolean()),
            Field("default_billing", Boolean()),
        )
    )

    expected_version: int = attrs.field(metadata=NOT_PERSONAL)
    address: Address = attrs.field(metadata=NESTED)
    default_shipping: bool = attrs.field(default=False, metadata=NOT_PERSONAL)
    default_billing: bool = attrs.field(default=False, metadata=NOT_PERSONAL)

    @classmethod
    def _build(cls, values: dict[str, Any]) -> AddAddress:
        values["address"] = build_address(values["address"], "address")
        return cls(**values)

    def apply(self, store: Store, customer_id: str, *, clock: Clock = utc_now) -> Customer:
        def edit(customer: Customer) -> None:
            if len(customer.addresses) >= MAX_ADDRESSES:
                raise ValidationError.single(
                    "address", f"the address book holds {MAX_ADDRESSES} addresses already", ErrorCode.TOO_LONG
                )
            customer.addresses = (*customer.addresses, self.address)
            index = len(customer.addresses) - 1
            if self.default_shipping:
                customer.default_shipping_address = index
            if self.default_billing:
                customer.default_billing_address = index

        return _change(store, customer_id, self.expected_version, clock, edit)


@attrs.frozen
class UpdateAddress(Command):
    """Change fields of one address (JSON Merge Patch: a field left out stays, null clears it; the country cannot
    be cleared). The result must still be a valid address for its country."""

    SHAPE: ClassVar[Shape] = Shape((EXPECTED_VERSION, _INDEX, Field("address", _ADDRESS_PATCH, required=True)))

    expected_version: int = attrs.field(metadata=NOT_PERSONAL)
    index: int = attrs.field(metadata=NOT_PERSONAL)
    changes: dict[str, Any] = attrs.field(metadata=PERSONAL)

    __repr__ = masked_repr

    @classmethod
    def _build(cls, values: dict[str, Any]) -> UpdateAddress:
        return cls(values["expected_version"], values["index"], values["address"])

    def apply(self, store: Store, customer_id: str, *, clock: Clock = utc_now) -> Customer:
        def edit(customer: Customer) -> None:
            index = _in_book(customer, self.index)
            current = customer.addresses[index]
            values = {name: getattr(current, name) for name in (*_TEXT_FIELDS, "phone")}
            for name, value in self.changes.items():
                values[name] = ("" if name in _TEXT_FIELDS else None) if value is None else value
            book = list(customer.addresses)
            book[index] = build_address(values, "address")
            customer.addresses = tuple(book)

        return _change(store, customer_id, self.expected_version, clock, edit)


@attrs.frozen
class RemoveAddress(Command):
    """Remove one address; a default that named it is cleared, the later addresses move up by one."""

    SHAPE: ClassVar[Shape] = Shape((EXPECTED_VERSION, _INDEX))

    expected_version: int = attrs.field(metadata=NOT_PERSONAL)
    index: int = attrs.field(metadata=NOT_PERSONAL)

    def apply(self, store: Store, customer_id: str, *, clock: Clock = utc_now) -> Customer:
        def edit(customer: Customer) -> None:
            index = _in_book(customer, self.index)
            customer.addresses = customer.addresses[:index] + customer.addresses[index + 1 :]
            customer.default_shipping_address = _shifted(customer.default_shipping_address, index)
            customer.default_billing_address = _shifted(customer.default_billing_address, index)

        return _change(store, customer_id, self.expected_version, clock, edit)


def _shifted(default: int | None, removed: int) -> int | None:
    if default is None or default == removed:
        return None
    return default - 1 if default > removed else default


@attrs.frozen
class SetDefaultAddress(Command):
    """Choose the default shipping and/or billing address by index; null clears a default, a field left out
    keeps it."""

    SHAPE: ClassVar[Shape] = Shape(
        (
            EXPECTED_VERSION,
            Field("shipping", Integer(0, MAX_ADDRESSES - 1), nullable=True),
            Field("billing", Integer(0, MAX_ADDRESSES - 1), nullable=True),
        )
    )

    expected_version: int = attrs.field(metadata=NOT_PERSONAL)
    changes: dict[str, int | None] = attrs.field(metadata=NOT_PERSONAL)

    @classmethod
    def _build(cls, values: dict[str, Any]) -> SetDefaultAddress:
        version = values.pop("expected_version")
        return cls(version, values)

    def apply(self, store: Store, customer_id: str, *, clock: Clock = utc_now) -> Customer:
        def edit(customer: Customer) -> None:
            for name, index in self.changes.items():
                if index is not None:
                    _in_book(customer, index, name)
                setattr(customer, f"default_{name}_address", index)

        return _change(store, customer_id, self.expected_version, clock, edit)


__all__ = ["MAX_ADDRESSES", "AddAddress", "RemoveAddress", "SetDefaultAddress", "UpdateAddress"]
