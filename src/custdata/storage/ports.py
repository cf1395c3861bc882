"""The storage ports: what every custdata store offers, whatever it keeps its data in.

Design
------
A *store* (:class:`Store`) hands out *units of work* (:class:`UnitOfWork`); a unit of work groups the four
repositories (``customers``, ``orders``, ``communications``, ``activity``) in one transaction::

    with store.unit_of_work() as uow:
        customer = uow.customers.get(customer_id)
        customer.tags = customer.tags | {"vip"}
        uow.customers.update(customer)
        uow.commit()            # leaving the block without commit() rolls back

Behaviour every store shares (checked by :class:`custdata.testing.StoreContract`):

- **Isolation.** Reads see committed data plus the unit of work's own writes, never another unit of work's
  uncommitted writes. Objects handed out are copies: changing one changes nothing until ``update``.
- **Writers.** The first write of a unit of work takes the store's write lock (SQLite: ``BEGIN IMMEDIATE``),
  held until commit or rollback; a writer that cannot get it within the store's timeout gets
  :class:`~custdata.OperationalError`. Reads take no lock.
- **Optimistic concurrency.** ``update`` writes only if the stored ``version`` equals the object's; the
  stored version is then one higher and the object's ``version`` is set to it. A stale version raises
  :class:`~custdata.ConflictError` and writes nothing. After a rollback, re-read before retrying.
- **Errors.** Missing ids raise :class:`~custdata.NotFoundError` (a ``LookupError``); duplicate ids, duplicate
  order external references or communication idempotency keys, and references to missing customers raise
  :class:`~custdata.IntegrityError`; bad arguments raise :class:`~custdata.ValidationError`. Driver
  exceptions never escape.
- **References.** Orders, communication events and (identified) activity belong to an existing customer; a
  customer that still has any of them cannot be deleted (:class:`~custdata.IntegrityError`).
- **Pagination.** Listing methods return a :class:`Page`; pass ``page.next_cursor`` back to get the next one.
  Pages follow a stable total order on immutable keys (``id``, or time then ``id``), so walking all pages
  while others insert or delete never repeats a record nor skips one that existed throughout the walk.
- **Search keys.** Emails match on their canonical form, phones on E.164, names by case-insensitive prefix of
  the given, family, display or full name, tags and groups exactly, countries on any address in the book,
  ``merged_into`` exactly (the records merged into a customer).
  Customers have no external reference of their own in the model; orders do (``find_by_external_ref``).

Backends share code: :mod:`custdata.storage.records` turns entities into rows (indexed columns, search keys,
serialized documents) and search arguments into keys, for any backend; :mod:`custdata.storage.sql` holds the
dialect-neutral schema, migrations and repository implementations that the SQLite and PostgreSQL stores run
on their own connections.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from types import TracebackType
from typing import Generic, Protocol, Self, TypeVar, runtime_checkable

import attrs

from custdata._errors import ValidationError
from custdata.domain import (
    ActivityEvent,
    ActivityId,
    CommunicationEvent,
    CommunicationId,
    Customer,
    CustomerId,
    EmailAddress,
    ExternalRef,
    Order,
    OrderId,
    PhoneNumber,
)
from custdata.domain.checks import Checker
from custdata.storage.records import email_terms

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

#: Page size used when none is given, and the largest one allowed.
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000


@attrs.frozen
class Page(Generic[T]):
    """One page of results in the listing's stable order; ``next_cursor`` is None on the last page.

    The cursor is an opaque string; give it back unchanged to the same listing method.
    """

    items: tuple[T, ...]
    next_cursor: str | None = None

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


@attrs.frozen(kw_only=True)
class CustomerQuery:
    """Filters for :meth:`CustomerRepository.search` and ``count``; all given filters must match.

    Ranges include their ``*_from`` bound and exclude their ``*_to`` bound; datetimes must be timezone-aware.
    ``country`` is an ISO 3166 alpha-2 code matched against every address in the customer's book.
    ``merged_into`` finds the records merged (or absorbed) into that customer id directly: follow the links
    found to reach every record that ends up in a customer.
    """

    name_prefix: str | None = None
    tag: str | None = None
    group: str | None = None
    country: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    updated_from: datetime | None = None
    updated_to: datetime | None = None
    merged_into: str | None = None

    def __attrs_post_init__(self) -> None:
        check = Checker()
        for name in ("name_prefix", "tag", "group", "country", "merged_into"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                check.add(name, f"must be a string, not {type(value).__name__}")
            elif value is not None and not value.strip():
                check.add(name, "must not be empty")
        for name in ("created_from", "created_to", "updated_from", "updated_to"):
            check.timestamp(name, getattr(self, name), optional=True)
        check.done()


def walk(fetch: Callable[[str | None], Page[T]]) -> Iterator[T]:
    """Every item of every page, fetching pages lazily: ``walk(lambda c: uow.orders.page(cursor=c))``."""
    cursor: str | None = None
    while True:
        page = fetch(cursor)
        yield from page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def check_limit(limit: object) -> int:
    """``limit`` if it is a page size a store accepts, else a :class:`~custdata.ValidationError`."""
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise ValidationError.single("limit", f"must be an integer from 1 to {MAX_LIMIT}")
    return limit


# -- repositories ---------------------------------------------------------------------------------------


class CustomerRepository(Protocol):
    """Customers, with look-ups by contact point and searches over the indexed fields."""

    def add(self, customer: Customer) -> None:
        """Store a new customer as it is (its ``version`` included); a taken id is an IntegrityError."""

    def add_many(self, customers: Iterable[Customer]) -> int:
        """Add every customer (in batches, in this unit of work); returns how many were added."""

    def get(self, customer_id: str) -> Customer:
        """The customer with this id, or :class:`~custdata.NotFoundError`."""

    def get_many(self, customer_ids: Iterable[str]) -> dict[CustomerId, Customer]:
        """The customers found among these ids, keyed by id; missing ids are simply absent."""

    def update(self, customer: Customer) -> None:
        """Replace the stored customer if its version matches, then bump ``customer.version``."""

    def delete(self, customer_id: str, *, version: int | None = None) -> None:
        """Remove the customer; with ``version``, only if the stored version is that one."""

    def find_by_email(self, email: str | EmailAddress) -> list[Customer]:
        """Customers having this address (primary or other), compared in canonical form, in id order."""

    def find_by_phone(self, phone: str | PhoneNumber, *, region: str | None = None) -> list[Customer]:
        """Customers having this number (primary or other), compared in E.164, in id order.

        A national-format string needs ``region``.
        """

    def search(
        self, query: CustomerQuery | None = None, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None
    ) -> Page[Customer]:
        """Customers matching ``query`` (all when None), in id order, one page at a time."""

    def count(self, query: CustomerQuery | None = None) -> int:
        """How many customers match ``query`` (all when None)."""


@runtime_checkable
class FindsByEmails(Protocol):
    """A customer repository that looks many email addresses up at once (the built-in stores' do); see
    :func:`find_by_emails`."""

    def find_by_emails(self, emails: Iterable[str | EmailAddress]) -> dict[str, list[Customer]]:
        """For each address given, by its canonical form: the customers having it (primary or other), in id
        order, an empty list when none has. The same customers :meth:`CustomerRepository.find_by_email` finds
        for each, in a few queries however many addresses there are."""


@runtime_checkable
class LocksEmails(Protocol):
    """A customer repository of a store that lets many writers in at once (the PostgreSQL store's does): it can
    hold one email address for the rest of the unit of work, so that work which looks an address up and then
    writes (a registration) runs one at a time for that address; see :func:`lock_email`."""

    def lock_email(self, email: str | EmailAddress) -> None:
        """Wait until no other unit of work holds ``email`` (in canonical form), then hold it until this unit of
        work ends (commit or rollback)."""


@runtime_checkable
class KeepsSuppressions(Protocol):
    """A customer repository that keeps a suppression list (the built-in stores' do): digests of the email
    addresses of erased customers, so that a later import does not bring an erased person back. The digests are
    made by :mod:`custdata.privacy.suppression` with a key the store does not hold; the store keeps only the
    digests and when each was added. Nothing else in the store reads them, and a retention sweep leaves them."""

    def suppress(self, digests: Iterable[str]) -> int:
        """Add these digests (64 lower-case hex digits each) to the list; returns how many were new."""

    def suppressed(self, digests: Iterable[str]) -> set[str]:
        """The digests given that are on the list."""

    def unsuppress(self, digests: Iterable[str]) -> int:
        """Take these digests off the list; returns how many were on it."""


def suppression_digests(digests: Iterable[str]) -> list[str]:
    """``digests`` as a list, each checked: 64 lower-case hex digits (a SHA-256 digest), else a
    :class:`~custdata.ValidationError` at ``digests[i]``."""
    if isinstance(digests, str | bytes):
        raise ValidationError.single("digests", "must be a collection of digests, not a single string")
    found = list(digests)
    for i, digest in enumerate(found):
        if not isinstance(digest, str) or len(digest) != 64 or not _HEX.issuperset(digest):
            raise ValidationError.single(f"digests[{i}]", "must be 64 lower-case hex digits (a SHA-256 digest)")
    return found


_HEX = frozenset("0123456789abcdef")


def lock_email(customers: CustomerRepository, email: str | EmailAddress) -> None:
    """:meth:`LocksEmails.lock_email` on ``customers``; nothing for a repository without it (a store with one
    writer at a time needs none: its first write waits for the other writer's commit)."""
    if isinstance(customers, LocksEmails):
        customers.lock_email(email)


def find_by_emails(customers: CustomerRepository, emails: Iterable[str | EmailAddress]) -> dict[str, list[Customer]]:
    """:meth:`FindsByEmails.find_by_emails` on ``customers``; one :meth:`~CustomerRepository.find_by_email` per
    address for a repository without it. A string that is no email address is a ValidationError at ``emails[i]``."""
    if isinstance(customers, FindsByEmails):
        return customers.find_by_emails(emails)
    return {term: customers.find_by_email(term) for term in email_terms(emails)}


class OrderRepository(Protocol):
    """Orders, by id, by external reference and per customer in time order."""

    def add(self, order: Order) -> None: ...
    def add_many(self, orders: Iterable[Order]) -> int: ...
    def get(self, order_id: str) -> Order: ...
    def get_many(self, order_ids: Iterable[str]) -> dict[OrderId, Order]: ...
    def update(self, order: Order) -> None: ...
    def delete(self, order_id: str, *, version: int | None = None) -> None: ...

    def find_by_external_ref(self, ref: ExternalRef) -> Order | None:
        """The order imported with this platform and id (they are unique), if any."""

    def for_customer(self, customer_id: str, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None) -> Page[Order]:
        """The customer's orders by ``placed_at``, then id."""

    def page(self, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None) -> Page[Order]:
        """Every order, in id order."""

    def count(self, *, customer_id: str | None = None) -> int:
        """How many orders there are (of one customer when given)."""


class CommunicationRepository(Protocol):
    """Communication events, by id, by idempotency key and per customer in time order."""

    def add(self, event: CommunicationEvent) -> None: ...
    def add_many(self, events: Iterable[CommunicationEvent]) -> int: ...
    def get(self, event_id: str) -> CommunicationEvent: ...
    def get_many(self, event_ids: Iterable[str]) -> dict[CommunicationId, CommunicationEvent]: ...
    def update(self, event: CommunicationEvent) -> None: ...
    def delete(self, event_id: str, *, version: int | None = None) -> None: ...

    def find_by_idempotency_key(self, key: str) -> CommunicationEvent | None:
        """The event carrying this idempotency key (they are unique), if any."""

    def for_customer(
        self, customer_id: str, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None
    ) -> Page[CommunicationEvent]:
        """The customer's events by ``created_at``, then id."""

    def page(self, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None) -> Page[CommunicationEvent]:
        """Every event, in id order."""

    def count(self, *, customer_id: str | None = None) -> int: ...


class ActivityRepository(Protocol):
    """Activity events. They carry no version: ``update`` simply replaces the stored event."""

    def add(self, event: ActivityEvent) -> None: ...
    def add_many(self, events: Iterable[ActivityEvent]) -> int: ...
    def get(self, event_id: str) -> ActivityEvent: ...
    def get_many(self, event_ids: Iterable[str]) -> dict[ActivityId, ActivityEvent]: ...
    def update(self, event: ActivityEvent) -> None: ...
    def delete(self, event_id: str) -> None: ...

    def for_customer(
        self, customer_id: str, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None
    ) -> Page[ActivityEvent]:
        """The customer's events by ``occurred_at``, then id."""

    def page(self, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None) -> Page[ActivityEvent]: ...
    def count(self, *, customer_id: str | None = None) -> int: ...

    def mentioning(self, event: str, value: str) -> list[ActivityEvent]:
        """The events named ``event``, on any timeline, whose properties hold the string ``value`` (as a value,
        at any depth), in id order: the merge records that name a customer, say."""


# -- unit of work and store ---------------------------------------------------------------------------------


@runtime_checkable
class UnitOfWork(Protocol):
    """One transaction over all repositories; use it as a context manager.

    ``commit()`` makes the writes so far durable and visible; the unit of work stays usable and later writes
    start a new transaction. Leaving the ``with`` block rolls back whatever was not committed, also when an
    exception escapes (the exception is not swallowed). Using it outside its block is a ProgrammingError.
    """

    @property
    def customers(self) -> CustomerRepository: ...
    @property
    def orders(self) -> OrderRepository: ...
    @property
    def communications(self) -> CommunicationRepository: ...
    @property
    def activity(self) -> ActivityRepository: ...

    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


@runtime_checkable
class Store(Protocol):
    """A place that keeps customer data; opened by :func:`custdata.storage.open_store` or a constructor.

    A store may be shared by threads; each thread opens its own units of work. ``close()`` is idempotent;
    using a closed store is a ProgrammingError.
    """

    @property
    def url(self) -> str:
        """Where the data lives, with any password removed."""

    def unit_of_work(self) -> UnitOfWork: ...

    def purge_residue(self) -> None:
        """Make what committed units of work deleted or overwrote unrecoverable from the store's own files.

        Deleting or overwriting a record removes it from every read at once, but databases keep the old bytes
        around (free pages, write-ahead logs, old row versions) until they happen to be reused. After this
        returns, the bytes of records deleted or overwritten before the call are gone from the files the store
        writes (SQLite: the database, ``-wal`` and ``-shm`` files; PostgreSQL: the tables' and indexes' files).
        Live data is untouched. Copies outside the store (backups, replicas, a server's own logs) are not.
        Raises :class:`~custdata.OperationalError` when other connections keep it from finishing; retry then.
        """

    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...
