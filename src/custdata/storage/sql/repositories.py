"""The repositories of every SQL store, written once against :class:`~custdata.storage.sql.session.SqlSession`.

All SQL is parameterised; table and column names come from :mod:`custdata.storage.sql.tables`, never from
arguments. Writes validate the entity first, so that nothing invalid is ever stored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import lru_cache
from itertools import islice
from typing import Any, Generic, TypeVar

from custdata._errors import ConflictError, NotFoundError, ValidationError
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
from custdata.storage.ports import DEFAULT_LIMIT, CustomerQuery, Page, check_limit, suppression_digests
from custdata.storage.records import (
    ACTIVITY,
    COMMUNICATIONS,
    CUSTOMERS,
    Table,
    check_entity,
    check_id,
    check_mention,
    decode_cursor,
    decode_timed_cursor,
    document,
    email_term,
    email_terms,
    encode_cursor,
    entity_ids,
    holds_value,
    literal_in_json,
    load_documents,
    micros,
    name_key,
    phone_term,
    prefix_range,
    storable,
)
from custdata.storage.sql.schema import SQLITE, Dialect
from custdata.storage.sql.session import SqlSession
from custdata.storage.sql.tables import (
    INSERT_KEY,
    SQL_ORDERS,
    insert_sql,
    key_rows,
    update_sql,
)

E = TypeVar("E", Customer, Order, CommunicationEvent, ActivityEvent)
K = TypeVar("K", bound=str)
T = TypeVar("T")

#: Entities written per statement batch by ``add_many``.
BATCH = 500


def _version(entity: Customer | Order | CommunicationEvent | ActivityEvent) -> int:
    return int(getattr(entity, "version", 0))


def _set_version(entity: Any, version: int) -> None:
    entity.version = version


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _entity_row(table: Table[E], entity: E, version: int | None) -> tuple[Any, ...]:
    head: tuple[Any, ...] = (str(entity.id),)
    if version is not None:
        head += (version,)
    return (*head, *table.values(entity), document(entity, version))


#: A customer's row of the customers table and its rows of ``customer_keys``, as ``add_many`` writes them.
PreparedCustomer = tuple[tuple[Any, ...], list[tuple[str, str, str]]]


def prepare_customer(customer: Customer, *, constructed: bool = False) -> PreparedCustomer:
    """What ``add_many`` writes for ``customer``, checked as ``add_many`` checks it (a ValidationError when it is
    no valid customer), built without a session: a process that converts customers can build the rows and another
    write them with :meth:`SqlCustomerRepository.add_prepared`. ``constructed`` says the caller has just built
    ``customer`` with ``Customer(...)``, whose constructor ran the checks ``add_many`` runs again."""
    checked = check_entity(customer, Customer)
    if not constructed:
        checked.validate()
    version = _version(checked) if CUSTOMERS.versioned else None
    return _entity_row(CUSTOMERS, checked, version), key_rows([checked])


class SqlRepository(Generic[E, K]):
    """Operations shared by the four repositories; ``session`` gives the unit of work's open session."""

    def __init__(self, session: Callable[[], SqlSession], table: Table[E]) -> None:
        self._session = session
        self._table: Table[E] = table

    def _sql(self, template: str) -> str:
        return self._session().dialect.render(template)

    def _row(self, entity: E, version: int | None) -> tuple[Any, ...]:
        return _entity_row(self._table, entity, version)

    def _checked(self, entity: object) -> E:
        checked: E = check_entity(entity, self._table.cls)
        checked.validate()
        return checked

    def _after_insert(self, entities: list[E]) -> None:
        """Hook for side tables (customer search keys)."""

    def _after_update(self, entity: E) -> None:
        """Hook for side tables (customer search keys)."""

    # -- writes -------------------------------------------------------------------------------------------

    def add(self, entity: E) -> None:
        checked = self._checked(entity)
        version = _version(checked) if self._table.versioned else None
        self._session().execute(self._sql(insert_sql(self._table)), self._row(checked, version))
        self._after_insert([checked])

    def add_many(self, entities: Iterable[E]) -> int:
        if isinstance(entities, (str, bytes)) or not isinstance(entities, Iterable):
            raise ValidationError.single("", f"must be an iterable of {self._table.cls.__name__}")
        total = 0
        sql = self._sql(insert_sql(self._table))
        versioned = self._table.versioned
        for chunk in _chunks(entities, BATCH):
            checked = [self._checked(e) for e in chunk]
            rows = [self._row(e, _version(e) if versioned else None) for e in checked]
            self._session().execute_many(sql, rows)
            self._after_insert(checked)
            total += len(checked)
        return total

    def update(self, entity: E) -> None:
        checked: E = self._checked(entity)
        key = str(checked.id)
        if not self._table.versioned:
            if self._session().execute(self._sql(update_sql(self._table)), (*self._row(checked, None)[1:], key)) == 0:
                raise NotFoundError(self._table.kind, key)
            self._after_update(checked)
            return
        old: int = _version(checked)
        new: int = old + 1
        count = self._session().execute(self._sql(update_sql(self._table)), (*self._row(checked, new)[1:], key, old))
        if count == 0:
            raise self._missing_or_conflict(key, old)
        self._after_update(checked)
        _set_version(checked, new)

    def _delete(self, entity_id: object, version: int | None) -> None:
        key = check_id(entity_id)
        if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
            raise ValidationError.single("version", "must be an integer")
        if storable(key) is None:
            raise NotFoundError(self._table.kind, key)
        if version is None:
            count = self._session().execute(self._sql(f"DELETE FROM {self._table.name} WHERE id = ?"), (key,))
        else:
            count = self._session().execute(
                self._sql(f"DELETE FROM {self._table.name} WHERE id = ? AND version = ?"), (key, version)
            )
        if count == 0:
            raise self._missing_or_conflict(key, version)

    def _missing_or_conflict(self, key: str, expected: int | None) -> Exception:
        if expected is None or not self._table.versioned:
            return NotFoundError(self._table.kind, key)
        row = self._session().fetch_one(self._sql(f"SELECT version FROM {self._table.name} WHERE id = ?"), (key,))
        if row is None:
            return NotFoundError(self._table.kind, key)
        return ConflictError(self._table.kind, key, expected, int(row[0]))

    # -- reads ----------------------------------------------------------------------------------------------

    def _load(self, rows: list[tuple[Any, ...]], column: int = 0) -> list[E]:
        return load_documents(self._table.cls, [r[column] for r in rows])

    def get(self, entity_id: str) -> E:
        key = check_id(entity_id)
        row = None
        if storable(key) is not None:
            row = self._session().fetch_one(
                self._sql(f"SELECT {{doc_out}} FROM {self._table.name} WHERE id = ?"), (key,)
            )
        if row is None:
            raise NotFoundError(self._table.kind, key)
        return self._load([row])[0]

    def get_many(self, ids: Iterable[str]) -> dict[K, E]:
        keys = [k for k in entity_ids(ids) if storable(k) is not None]
        session = self._session()
        found: dict[K, E] = {}
        for chunk in _chunks(keys, session.dialect.max_params):
            marks = ", ".join("?" * len(chunk))
            rows = session.fetch_all(
                self._sql(f"SELECT {{doc_out}} FROM {self._table.name} WHERE id IN ({marks})"), chunk
            )
            for entity in self._load(rows):
                found[entity.id] = entity  # type: ignore[index]
        return found

    def page(self, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None) -> Page[E]:
        return self._paged(self._table.name, "", [], limit, cursor)

    def _paged(self, listing: str, where: str, params: list[Any], limit: int, cursor: str | None) -> Page[E]:
        """One page in id order of the rows matching ``where`` (a condition or empty)."""
        size = check_limit(limit)
        conditions = [where] if where else []
        if cursor is not None:
            conditions.append("id > ?")
            params = [*params, decode_cursor(listing, cursor)]
        clause = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        rows = self._session().fetch_all(
            self._sql(f"SELECT id, {{doc_out}} FROM {self._table.name}{clause} ORDER BY id LIMIT ?"),
            [*params, size + 1],
        )
        more = len(rows) > size
        rows = rows[:size]
        next_cursor = encode_cursor(listing, rows[-1][0]) if more else None
        return Page(tuple(self._load(rows, 1)), next_cursor)

    def for_customer(self, customer_id: str, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None) -> Page[E]:
        key = check_id(customer_id, "customer_id")
        size = check_limit(limit)
        time = self._table.time_column
        listing = f"{self._table.name}.for_customer"
        if storable(key) is None:
            if cursor is not None:
                decode_timed_cursor(listing, cursor)
            return Page(())
        params: list[Any] = [key]
        after = ""
        if cursor is not None:
            moment, last = decode_timed_cursor(listing, cursor)
            after = f" AND ({time}, id) > (?, ?)"
            params += [moment, last]
        rows = self._session().fetch_all(
            self._sql(
                f"SELECT {time}, id, {{doc_out}} FROM {self._table.name} WHERE customer_id = ?{after} "
                f"ORDER BY {time}, id LIMIT ?"
            ),
            [*params, size + 1],
        )
        more = len(rows) > size
        rows = rows[:size]
        next_cursor = encode_cursor(listing, (int(rows[-1][0]), rows[-1][1])) if more else None
        return Page(tuple(self._load(rows, 2)), next_cursor)

    def count(self, *, customer_id: str | None = None) -> int:
        if customer_id is None:
            row = self._session().fetch_one(self._sql(f"SELECT count(*) FROM {self._table.name}"))
        else:
            key = check_id(customer_id, "customer_id")
            if storable(key) is None:
                return 0
            row = self._session().fetch_one(
                self._sql(f"SELECT count(*) FROM {self._table.name} WHERE customer_id = ?"), (key,)
            )
        return int(row[0]) if row else 0


class SqlCustomerRepository(SqlRepository[Customer, CustomerId]):
    """Customers, with their search keys kept in ``customer_keys``."""

    def __init__(self, session: Callable[[], SqlSession]) -> None:
        super().__init__(session, CUSTOMERS)

    def _after_insert(self, entities: list[Customer]) -> None:
        self._session().execute_many(self._sql(INSERT_KEY), key_rows(entities))

    def _insert_keys(self, rows: list[tuple[str, str, str]]) -> list[tuple[str, Sequence[Any]]]:
        """The statements inserting these search keys: as few multi-row ``INSERT`` statements as the dialect's
        parameter limit allows (one for any customer but one with hundreds of keys)."""
        dialect = self._session().dialect
        per_statement = max(1, dialect.max_params // 3)
        return [
            (_insert_keys_sql(dialect, len(chunk)), [value for row in chunk for value in row])
            for chunk in ([rows] if len(rows) <= per_statement else _chunks(rows, per_statement))
        ]

    def add(self, entity: Customer) -> None:
        """Insert the customer's row and its search keys as one write, all or none: a failed key insert leaves
        no row behind, and the unit of work goes on as if ``add`` had not been called.

        On PostgreSQL the row and the keys are one statement (the keys take the customer's id from the row's
        ``RETURNING``). Another session with ``execute_each`` is sent the row and the keys (one multi-row
        ``INSERT``) as one write. SQLite's statements cost no round trip and a failed one is undone alone, the
        transaction going on; there, and on a session without ``execute_each``, the keys follow the row, and a
        failure of theirs takes the row out again before the error goes on (cheaper than a savepoint around
        both)."""
        checked = self._checked(entity)
        key = str(checked.id)
        session = self._session()
        row = (self._sql(insert_sql(CUSTOMERS)), self._row(checked, _version(checked)))
        keys = key_rows([checked])
        each = getattr(session, "execute_each", None)
        if not keys:
            session.execute(*row)
        elif session.dialect.name == "postgresql" and len(keys) <= session.dialect.max_params // 2 - 100:
            session.execute(*_with_keys(session.dialect, row, keys))
        elif each is not None and session.dialect.name != "sqlite":
            each([row, *self._insert_keys(keys)])
        else:
            session.execute(*row)
            try:
                session.execute_many(self._sql(INSERT_KEY), keys)
            except BaseException:
                self._undo_add(key)
                raise

    def _undo_add(self, key: str) -> None:
        session = self._session()
        session.execute(self._sql("DELETE FROM customer_keys WHERE customer_id = ?"), (key,))
        session.execute(self._sql("DELETE FROM customers WHERE id = ?"), (key,))

    def add_prepared(self, prepared: Sequence[PreparedCustomer]) -> int:
        """Add customers by the rows :func:`prepare_customer` built for them: the same rows ``add_many`` would
        write, in one statement for the table and one for the search keys."""
        for row, keys in prepared:
            if any(customer_id != row[0] for _, _, customer_id in keys):
                raise ValidationError.single("prepared", f"holds search keys of another customer than {row[0]}")
        session = self._session()
        session.execute_many(self._sql(insert_sql(CUSTOMERS)), [row for row, _ in prepared])
        keys = [key for _, keys in prepared for key in keys]
        if session.dialect.name == SQLITE.name:
            # a table WITHOUT ROWID is kept in key order, so the order of its inserts shows in no read; in key
            # order each insert lands next to the last one, in a page that is in the cache already
            keys.sort()
        session.execute_many(self._sql(INSERT_KEY), keys)
        return len(prepared)

    def _after_update(self, entity: Customer) -> None:
        session = self._session()
        session.execute(self._sql("DELETE FROM customer_keys WHERE customer_id = ?"), (str(entity.id),))
        session.execute_many(self._sql(INSERT_KEY), key_rows([entity]))

    def delete(self, customer_id: str, *, version: int | None = None) -> None:
        self._delete(customer_id, version)

    def _by_key(self, field: str, value: str | None) -> list[Customer]:
        if value is None:
            return []
        rows = self._session().fetch_all(
            self._sql(
                "SELECT {doc_out} FROM customers WHERE id IN "
                "(SELECT customer_id FROM customer_keys WHERE field = ? AND value = ?) ORDER BY id"
            ),
            (field, value),
        )
        return self._load(rows)

    def find_by_email(self, email: str | EmailAddress) -> list[Customer]:
        return self._by_key("email", email_term(email))

    def find_by_emails(self, emails: Iterable[str | EmailAddress]) -> dict[str, list[Customer]]:
        found: dict[str, list[Customer]] = {term: [] for term in email_terms(emails)}
        session = self._session()
        for chunk in _chunks(found, session.dialect.max_params - 1):
            marks = ", ".join("?" * len(chunk))
            rows = session.fetch_all(
                self._sql(
                    "SELECT k.value, {doc_out} FROM customers JOIN (SELECT DISTINCT customer_id, value "
                    f"FROM customer_keys WHERE field = ? AND value IN ({marks})) k "
                    "ON k.customer_id = customers.id ORDER BY customers.id"
                ),
                ["email", *chunk],
            )
            for row, customer in zip(rows, self._load(rows, 1), strict=True):
                found[row[0]].append(customer)
        return found

    def suppress(self, digests: Iterable[str]) -> int:
        checked = set(suppression_digests(digests))
        new = sorted(checked - self.suppressed(checked))
        if new:
            sql = "INSERT INTO suppressions (digest) VALUES (?) ON CONFLICT (digest) DO NOTHING"
            self._session().execute_many(self._sql(sql), [(digest,) for digest in new])
        return len(new)

    def suppressed(self, digests: Iterable[str]) -> set[str]:
        wanted = sorted(set(suppression_digests(digests)))
        session = self._session()
        found: set[str] = set()
        for chunk in _chunks(wanted, session.dialect.max_params):
            marks = ", ".join("?" * len(chunk))
            sql = f"SELECT digest FROM suppressions WHERE digest IN ({marks})"
            found.update(row[0] for row in session.fetch_all(self._sql(sql), chunk))
        return found

    def unsuppress(self, digests: Iterable[str]) -> int:
        found = sorted(self.suppressed(set(suppression_digests(digests))))
        if found:
            self._session().execute_many(self._sql("DELETE FROM suppressions WHERE digest = ?"), [(d,) for d in found])
        return len(found)

    def lock_email(self, email: str | EmailAddress) -> None:
        """On PostgreSQL, a transaction-level advisory lock on the address's canonical form (waiting for the unit
        of work that holds it to end); nothing on SQLite, whose first write waits for the other writer's commit."""
        term = email_term(email)
        session = self._session()
        if term is not None and session.dialect.name == "postgresql":
            # run as a write: that opens the unit of work's transaction, which the lock lasts for
            session.execute(self._sql("SELECT pg_advisory_xact_lock(?)"), (_email_lock_key(term),))

    def find_by_phone(self, phone: str | PhoneNumber, *, region: str | None = None) -> list[Customer]:
        return self._by_key("phone", phone_term(phone, region))

    def search(
        self, query: CustomerQuery | None = None, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None
    ) -> Page[Customer]:
        check_limit(limit)
        where = customer_filter(query)
        if where is None:
            if cursor is not None:
                decode_cursor("customers", cursor)
            return Page(())
        return self._paged("customers", where[0], where[1], limit, cursor)

    def count(self, query: CustomerQuery | None = None) -> int:  # type: ignore[override]
        where = customer_filter(query)
        if where is None:
            return 0
        clause = f" WHERE {where[0]}" if where[0] else ""
        row = self._session().fetch_one(self._sql(f"SELECT count(*) FROM customers{clause}"), where[1])
        return int(row[0]) if row else 0


def customer_filter(query: CustomerQuery | None) -> tuple[str, list[Any]] | None:
    """A condition on ``customers`` and its parameters for ``query``; None when nothing can match."""
    if query is None:
        return "", []
    if not isinstance(query, CustomerQuery):
        raise ValidationError.single("query", f"must be a CustomerQuery, not {type(query).__name__}")
    conditions: list[str] = []
    params: list[Any] = []
    subquery = "id IN (SELECT customer_id FROM customer_keys WHERE field = ? AND value"
    if query.name_prefix is not None:
        prefix = storable(name_key(query.name_prefix))
        if not prefix:
            return None
        low, high = prefix_range(prefix)
        if high is None:
            conditions.append(f"{subquery} >= ?)")
            params += ["name", low]
        else:
            conditions.append(f"{subquery} >= ? AND value < ?)")
            params += ["name", low, high]
    for field, raw in _exact_keys(query):
        if raw is None:
            continue
        value = storable(raw.strip().upper() if field == "country" else raw)
        if value is None:
            return None
        conditions.append(f"{subquery} = ?)")
        params += [field, value]
    for column, low_bound, high_bound in (
        ("created_us", query.created_from, query.created_to),
        ("updated_us", query.updated_from, query.updated_to),
    ):
        if low_bound is not None:
            conditions.append(f"{column} >= ?")
            params.append(micros(low_bound))
        if high_bound is not None:
            conditions.append(f"{column} < ?")
            params.append(micros(high_bound))
    return " AND ".join(conditions), params


def _exact_keys(query: CustomerQuery) -> tuple[tuple[str, str | None], ...]:
    return (
        ("tag", query.tag),
        ("group", query.group),
        ("country", query.country),
        ("merged_into", query.merged_into),
    )


class SqlOrderRepository(SqlRepository[Order, OrderId]):
    """Orders; the external reference is a unique indexed pair, and the figures analytics reads are columns."""

    def __init__(self, session: Callable[[], SqlSession]) -> None:
        super().__init__(session, SQL_ORDERS)

    def delete(self, order_id: str, *, version: int | None = None) -> None:
        self._delete(order_id, version)

    def find_by_external_ref(self, ref: ExternalRef) -> Order | None:
        check_entity(ref, ExternalRef, "ref")
        platform, ref_id = storable(ref.platform), storable(ref.id)
        if platform is None or ref_id is None:
            return None
        rows = self._session().fetch_all(
            self._sql("SELECT {doc_out} FROM orders WHERE ext_platform = ? AND ext_id = ?"), (platform, ref_id)
        )
        return self._load(rows)[0] if rows else None


class SqlCommunicationRepository(SqlRepository[CommunicationEvent, CommunicationId]):
    """Communication events; the idempotency key is unique."""

    def __init__(self, session: Callable[[], SqlSession]) -> None:
        super().__init__(session, COMMUNICATIONS)

    def delete(self, event_id: str, *, version: int | None = None) -> None:
        self._delete(event_id, version)

    def find_by_idempotency_key(self, key: str) -> CommunicationEvent | None:
        if not isinstance(key, str):
            raise ValidationError.single("key", f"must be a string, not {type(key).__name__}")
        term = storable(key)
        if term is None:
            return None
        rows = self._session().fetch_all(
            self._sql("SELECT {doc_out} FROM communications WHERE idempotency_key = ?"), (term,)
        )
        return self._load(rows)[0] if rows else None


class SqlActivityRepository(SqlRepository[ActivityEvent, ActivityId]):
    """Activity events: no version, so ``update`` replaces the stored event."""

    def __init__(self, session: Callable[[], SqlSession]) -> None:
        super().__init__(session, ACTIVITY)

    def delete(self, event_id: str) -> None:
        self._delete(event_id, None)

    def mentioning(self, event: str, value: str) -> list[ActivityEvent]:
        name, wanted = check_mention(event, value)
        if storable(name) is None or storable(wanted) is None:
            return []
        # the documents are searched for the value's text first (a scan the database does without decoding them),
        # and the events found are then checked exactly; a value that JSON would escape is not searched by text
        text = next((t for t in (wanted, name) if literal_in_json(t)), "")
        pattern = "%" + "".join("\\" + c if c in "\\%_" else c for c in text) + "%"
        rows = self._session().fetch_all(
            self._sql("SELECT {doc_out} FROM activity WHERE {doc_out} LIKE ? ESCAPE '\\' ORDER BY id"), (pattern,)
        )
        return [e for e in self._load(rows) if e.event == name and holds_value(e.properties, wanted)]


def _with_keys(
    dialect: Dialect, row: tuple[str, Sequence[Any]], keys: list[tuple[str, str, str]]
) -> tuple[str, list[Any]]:
    """One statement inserting a customer's row and its search keys (PostgreSQL): the keys take the customer's id
    from the row's ``RETURNING``, so they go in with the row or not at all."""
    sql, params = row
    return _with_keys_sql(dialect, sql, len(keys)), [
        *params,
        *(value for field, value, _ in keys for value in (field, value)),
    ]


@lru_cache(maxsize=64)
def _with_keys_sql(dialect: Dialect, insert: str, keys: int) -> str:
    values = ", ".join(["(?, ?)"] * keys)
    return dialect.render(
        f"WITH customer AS ({insert} RETURNING id) INSERT INTO customer_keys (field, value, customer_id) "
        f"SELECT k.field, k.value, customer.id FROM customer, (VALUES {values}) AS k (field, value)"
    )


@lru_cache(maxsize=64)
def _insert_keys_sql(dialect: Dialect, rows: int) -> str:
    """The ``INSERT`` of ``rows`` search keys in one statement, rendered for ``dialect``."""
    values = ", ".join(["(?, ?, ?)"] * rows)
    return dialect.render(f"INSERT INTO customer_keys (field, value, customer_id) VALUES {values}")


def _email_lock_key(term: str) -> int:
    """The advisory lock key of an address's canonical form: a signed 64-bit hash (two addresses sharing one only
    wait for each other)."""
    digest = hashlib.blake2b(b"custdata email\x00" + term.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)
