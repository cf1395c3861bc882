"""Guest to registered customer, and earlier guest orders attached, only after the address was verified.

Knowing an email address proves nothing: anyone could type someone else's address and see that person's
orders. So the link is made in two steps:

1. :func:`start_verification` issues a token for one of the customer's addresses; the application sends it
   to that address (a link or a code) - custdata never sends it itself.
2. :func:`complete_verification` takes the token the customer brought back. Only a valid token (signed,
   unexpired, for this customer, address and version) makes the customer registered, marks the primary email
   verified when that is the address proven, and attaches the orders, communication and activity of earlier
   guest records with that address. Those guest records then keep only their id, creation time and
   ``merged_into`` (as merged duplicates do), so their ids still resolve to the customer and no second copy
   of the person's data is left behind.

Both work inside the caller's unit of work; ``complete_verification`` writes, and nothing happens until the
caller commits. Completing bumps the customer's version, which makes the token unusable a second time.
"""

from __future__ import annotations

import logging
from datetime import datetime

import attrs

from custdata._errors import ValidationError
from custdata.domain import Customer, CustomerId, EmailAddress, OrderId
from custdata.domain._checks import Checker
from custdata.privacy.tokens import VerificationTokens
from custdata.storage.ports import UnitOfWork, walk

log = logging.getLogger("custdata.privacy")


@attrs.frozen
class Registration:
    """What :func:`complete_verification` did: which customer, which address it proved, what it attached."""

    customer_id: CustomerId
    address: EmailAddress
    became_registered: bool
    email_verified: bool
    absorbed_guests: tuple[CustomerId, ...] = ()
    attached_orders: tuple[OrderId, ...] = ()
    moved_communications: int = 0
    moved_activity: int = 0


def start_verification(
    uow: UnitOfWork,
    tokens: VerificationTokens,
    customer_id: str,
    *,
    now: datetime,
    address: EmailAddress | str | None = None,
) -> str:
    """A token for ``address`` (the primary email by default) of the customer, for the application to send.

    Raises :class:`custdata.NotFoundError` for an unknown customer and :class:`custdata.ValidationError` when
    the customer was erased or merged, or the address is not the customer's.
    """
    customer = uow.customers.get(customer_id)
    _check_live(customer)
    token = tokens.issue(customer, address, now=now)
    log.info("verification token issued for customer %s", customer.id)
    return token


def complete_verification(
    uow: UnitOfWork, tokens: VerificationTokens, customer_id: str, token: str, *, now: datetime
) -> Registration:
    """Check ``token`` and, when valid, register the customer and attach earlier guest records (see the module).

    Raises :class:`custdata.TokenError` (with a ``reason``) for a malformed, tampered, expired, used or foreign
    token; nothing is written then. Commit the unit of work afterwards.
    """
    check = Checker()
    check.timestamp("now", now)
    check.done()
    customer = uow.customers.get(customer_id)
    _check_live(customer)
    address = tokens.verify(token, customer, now=now)
    became_registered = customer.is_guest
    email_verified = customer.email is not None and customer.email.canonical == address.canonical
    absorbed: list[CustomerId] = []
    orders: list[OrderId] = []
    communications = activity = 0
    for guest in uow.customers.find_by_email(address):
        if (
            guest.id == customer.id
            or not guest.is_guest
            or guest.merged_into is not None
            or guest.redacted_at is not None
        ):
            continue
        moved = _move_records(uow, guest.id, customer.id)
        orders.extend(moved[0])
        communications += moved[1]
        activity += moved[2]
        uow.customers.update(_tombstone(guest, customer.id, now))
        absorbed.append(guest.id)
    customer.is_guest = False
    if email_verified:
        customer.email_verified_at = now
    customer.updated_at = max(customer.updated_at, now)
    uow.customers.update(customer)
    log.info(
        "verification completed for customer %s: %d guest records, %d orders attached",
        customer.id,
        len(absorbed),
        len(orders),
    )
    return Registration(
        customer.id,
        address,
        became_registered,
        email_verified,
        tuple(absorbed),
        tuple(orders),
        communications,
        activity,
    )


def _tombstone(guest: Customer, into: CustomerId, now: datetime) -> Customer:
    """What stays of an absorbed guest record, as of a merged duplicate: its id, creation time and the link."""
    return Customer(
        id=guest.id,
        created_at=guest.created_at,
        updated_at=max(guest.updated_at, now),
        is_guest=guest.is_guest,
        merged_into=into,
        version=guest.version,
    )


def _check_live(customer: Customer) -> None:
    if customer.redacted_at is not None:
        raise ValidationError.single("customer", "was erased; it cannot be verified")
    if customer.merged_into is not None:
        raise ValidationError.single("customer", "was merged into another customer; verify that one instead")


def _move_records(uow: UnitOfWork, source: CustomerId, target: CustomerId) -> tuple[list[OrderId], int, int]:
    orders = list(walk(lambda c: uow.orders.for_customer(source, cursor=c)))
    for order in orders:
        order.customer_id = target
        uow.orders.update(order)
    events = list(walk(lambda c: uow.communications.for_customer(source, cursor=c)))
    for event in events:
        event.customer_id = target
        uow.communications.update(event)
    activity = list(walk(lambda c: uow.activity.for_customer(source, cursor=c)))
    for item in activity:
        item.customer_id = target
        uow.activity.update(item)
    return [o.id for o in orders], len(events), len(activity)
