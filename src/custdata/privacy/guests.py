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

A merge brings other records' data into a customer without anyone proving those records' addresses, so the
proof is held to the records it can speak for (the merges are read from the merge records on the customer's
timeline, see :mod:`custdata.merge`):

- an address that came into the customer with another record of a merge, unverified on that record, cannot be
  verified for this customer (both functions refuse it, naming ``address``). In a merge with a registered
  account, every guest's address is such a record's, even when the guest survived; among guests, the merged
  ones' are. A registered account's primary email can always be verified;
- a guest holding, through merges, records whose own primary email was not the proven address is not
  registered by that proof (refused, naming ``customer``): their orders would join an account nobody proved;
- only guest records whose own primary email is the proven address are attached (not one a merge brought
  in), and only when every record merged into them had that address too; registered accounts, merged and
  erased records never are.

When a merge record on the timeline cannot be read (its data was erased), the customer's history is unknown
and the strict reading applies: only a registered account's primary email can be verified, and no guest
holding such a record is registered or attached.
"""

from __future__ import annotations

import logging
from datetime import datetime

import attrs

from custdata._errors import ValidationError
from custdata.domain import Customer, CustomerId, EmailAddress, OrderId
from custdata.domain.checks import Checker
from custdata.merge.model import MERGE_EVENT, MergeRecord
from custdata.privacy.tokens import VerificationTokens, own_address
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
    the customer was erased or merged, the address is not the customer's or came with a merged customer
    without proof, or the customer is a guest holding merged records with other addresses (see the module).
    """
    customer = uow.customers.get(customer_id)
    _check_live(customer)
    token = tokens.issue(customer, address, now=now)
    _check_provable(customer, own_address(customer, address), _History.read(uow, customer.id))
    log.info("verification token issued for customer %s", customer.id)
    return token


def complete_verification(
    uow: UnitOfWork, tokens: VerificationTokens, customer_id: str, token: str, *, now: datetime
) -> Registration:
    """Check ``token`` and, when valid, register the customer and attach earlier guest records (see the module).

    Raises :class:`custdata.TokenError` (with a ``reason``) for a malformed, tampered, expired, used or foreign
    token, and :class:`custdata.ValidationError` as :func:`start_verification` does for an address or customer
    that the proof cannot speak for; nothing is written then. Commit the unit of work afterwards.
    """
    check = Checker()
    check.timestamp("now", now)
    check.done()
    customer = uow.customers.get(customer_id)
    _check_live(customer)
    address = tokens.verify(token, customer, now=now)
    _check_provable(customer, address, _History.read(uow, customer.id))
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
            or guest.email is None
            or guest.email.canonical != address.canonical
            or not _attachable(_History.read(uow, guest.id), guest.id, address)
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


@attrs.frozen
class _History:
    """The merges a customer absorbed (not undone), from the merge records on its timeline; ``complete`` is
    False when a merge record there cannot be read any more."""

    records: tuple[MergeRecord, ...]
    complete: bool

    @classmethod
    def read(cls, uow: UnitOfWork, customer_id: CustomerId) -> _History:
        records: list[MergeRecord] = []
        complete = True
        for event in walk(lambda c: uow.activity.for_customer(customer_id, cursor=c)):
            if event.event != MERGE_EVENT:
                continue
            try:
                record = MergeRecord.from_event(event)
            except ValidationError:
                complete = False
                continue
            if record.undone_at is None:
                records.append(record)
        records.sort(key=lambda r: r.merged_at)
        return cls(tuple(records), complete)

    def obtained(self) -> set[str]:
        """Canonical addresses that came with another record, unverified there. In each merge the identity is
        the registered customers' (or, when all were guests, the survivor's): the other records' addresses are
        obtained unless an identity holder had them too, or they were verified on their own record."""
        found: set[str] = set()
        for record in self.records:
            registered = [c.id for c in record.before if not c.is_guest]
            owners = set(registered) or {record.before[0].id}
            had = {e.canonical for c in record.before if c.id in owners for e in c.emails}
            for other in record.before:
                if other.id in owners:
                    continue
                for email in other.emails:
                    proven = other.email_verified_at is not None and other.email == email
                    if not proven and email.canonical not in had:
                        found.add(email.canonical)
        return found

    def only(self, customer_id: CustomerId, address: EmailAddress) -> bool:
        """Whether every other record that took part in these merges had ``address`` as its own primary email
        (true with no merges)."""
        return self.complete and all(
            other.email is not None and other.email.canonical == address.canonical
            for record in self.records
            for other in record.before
            if other.id != customer_id
        )


def _attachable(history: _History, guest_id: CustomerId, address: EmailAddress) -> bool:
    """Whether a guest record with ``address`` as its primary may be attached: the address is its own, not one
    a merge brought in, and every record merged into it had that address too."""
    return history.only(guest_id, address) and address.canonical not in history.obtained()


def _check_provable(customer: Customer, address: EmailAddress, history: _History) -> None:
    """Refuse an address or a customer that proving ``address`` cannot speak for (see the module)."""
    account_primary = (
        not customer.is_guest and customer.email is not None and customer.email.canonical == address.canonical
    )
    if not history.complete and not account_primary:
        raise ValidationError.single(
            "address",
            "cannot be verified for this customer: a merge record on its timeline can no longer be read, so it is "
            "unknown what the merge brought in (only a registered account's primary email can be verified)",
        )
    if address.canonical in history.obtained() and not account_primary:
        raise ValidationError.single(
            "address",
            "came with a customer merged into this one and was never proven there; it cannot be verified for "
            "this customer",
        )
    if customer.is_guest and not history.only(customer.id, address):
        raise ValidationError.single(
            "customer",
            "is a guest holding records merged into it with other addresses; proving this one cannot register "
            "them all (undo the merge, or have a person merge it into an account)",
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
