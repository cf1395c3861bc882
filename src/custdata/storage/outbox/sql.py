"""The outbox and timers of the SQL stores, on the shared :class:`~custdata.storage.sql.SqlSession`.

Tables (created by :data:`SCHEMA`, the ``custdata_outbox`` schema, which the SQL stores migrate when they open):

- ``outbox``: one row per entry; the delivery state in columns (so leasing and settling are plain UPDATEs)
  and the rendered message as a document. The idempotency key is unique; a partial index over pending rows
  keeps leasing fast however many sent rows pile up.
- ``timers``: one row per key; the triggering event as a document.

Leasing is one ``UPDATE ... WHERE id IN (SELECT ... LIMIT n) RETURNING``: atomic under SQLite's write lock,
and with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so that concurrent dispatchers take different rows. It runs in
the unit of work's write transaction (committed with it) and returns the leased rows itself, so a lease is one
round trip and the commit.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import cattrs

from custdata._errors import IntegrityError, NotFoundError, OperationalError, ValidationError
from custdata.domain import Channel, CommunicationEvent, Customer, Topic
from custdata.domain.checks import trusting
from custdata.notify import Message
from custdata.serialization import make_converter
from custdata.storage.outbox import _args
from custdata.storage.outbox.model import OutboxEntry, OutboxState, Timer, TimerState
from custdata.storage.outbox.status import PendingSummary
from custdata.storage.ports import DEFAULT_LIMIT, Page, check_limit
from custdata.storage.records import (
    COMMUNICATIONS,
    CUSTOMERS,
    EPOCH,
    check_entity,
    decode_cursor,
    document,
    encode_cursor,
    load_documents,
    micros,
    storable,
)
from custdata.storage.sql.schema import Migration, Schema
from custdata.storage.sql.tables import insert_sql, update_sql

if TYPE_CHECKING:
    from custdata.storage.sql.session import SqlSession

MIGRATION_STEPS: tuple[str, ...] = (
    """CREATE TABLE outbox (
        id {key} PRIMARY KEY,
        idempotency_key {key} NOT NULL,
        customer_id {key} NOT NULL,
        order_id {key},
        topic {key} NOT NULL,
        channel {key} NOT NULL,
        state {key} NOT NULL,
        created_us {bigint} NOT NULL,
        available_us {bigint} NOT NULL,
        updated_us {bigint} NOT NULL,
        attempts {bigint} NOT NULL,
        lease_owner {key},
        lease_us {bigint},
        lease_token {key},
        last_error {key},
        reason {key},
        provider_id {key},
        message {doc})""",
    "CREATE UNIQUE INDEX outbox_idempotency ON outbox (idempotency_key)",
    "CREATE INDEX outbox_ready ON outbox (available_us, id) WHERE state = 'pending'",
    "CREATE INDEX outbox_lease ON outbox (lease_token) WHERE state = 'pending'",
    "CREATE INDEX outbox_customer ON outbox (customer_id, created_us)",
    "CREATE INDEX outbox_state ON outbox (state, id)",
    """CREATE TABLE timers (
        key {key} PRIMARY KEY,
        rule {key} NOT NULL,
        topic {key} NOT NULL,
        customer_id {key} NOT NULL,
        order_id {key},
        state {key} NOT NULL,
        due_us {bigint} NOT NULL,
        created_us {bigint} NOT NULL,
        reason {key},
        trigger {doc} NOT NULL)""",
    "CREATE INDEX timers_due ON timers (due_us, key) WHERE state = 'pending'",
    "CREATE INDEX timers_customer ON timers (customer_id, state)",
)

#: The outbox's own schema, migrated by the SQL stores when they open (its versions count apart from the core's).
SCHEMA = Schema("custdata_outbox", (Migration(1, "outbox entries and timers", MIGRATION_STEPS),))

_COLUMNS = (
    "id, idempotency_key, customer_id, order_id, topic, channel, state, created_us, available_us, updated_us, "
    "attempts, lease_owner, lease_us, last_error, reason, provider_id"
)
_SELECT = f"SELECT {_COLUMNS}, {{message_out}} FROM outbox"
_INSERT = (
    f"INSERT INTO outbox ({_COLUMNS}, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, {{doc_in}}) "
    "ON CONFLICT (idempotency_key) DO NOTHING"
)
_LIVE = ("pending", "sent")


def _time(us: int | None) -> datetime | None:
    return None if us is None else EPOCH + timedelta(microseconds=us)


@lru_cache(maxsize=1)
def _converter() -> cattrs.Converter:
    return make_converter(trusted=True)


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


@lru_cache(maxsize=1)
def _unstructure_message() -> Callable[[Message], dict[str, Any]]:
    hook: Callable[[Message], dict[str, Any]] = _converter().get_unstructure_hook(Message)
    return hook


def _message_doc(message: Message | None) -> str | None:
    if message is None:
        return None
    return _dumps(_unstructure_message()(message))


_TOPICS = {t.value: t for t in Topic}
_CHANNELS = {c.value: c for c in Channel}
_STATES = {s.value: s for s in OutboxState}


def _load_entries(rows: list[tuple[Any, ...]]) -> list[OutboxEntry]:
    structure = _converter().get_structure_hook(Message)
    out = []
    with trusting():
        for row in rows:
            doc = row[16]
            message = None if doc is None else structure(json.loads(doc), Message)
            out.append(
                OutboxEntry(
                    id=row[0],
                    idempotency_key=row[1],
                    customer_id=row[2],
                    order_id=row[3],
                    topic=_TOPICS[row[4]],
                    channel=_CHANNELS[row[5]],
                    state=_STATES[row[6]],
                    created_at=_time(row[7]),  # type: ignore[arg-type]
                    available_at=_time(row[8]),  # type: ignore[arg-type]
                    updated_at=_time(row[9]),  # type: ignore[arg-type]
                    attempts=int(row[10]),
                    lease_owner=row[11],
                    lease_expires_at=_time(row[12]),
                    last_error=row[13],
                    reason=row[14],
                    provider_id=row[15],
                    message=message,
                )
            )
    return out


def _entry_row(e: OutboxEntry) -> tuple[Any, ...]:
    return (
        str(e.id),
        e.idempotency_key,
        str(e.customer_id),
        None if e.order_id is None else str(e.order_id),
        e.topic.value,
        e.channel.value,
        e.state.value,
        micros(e.created_at),
        micros(e.available_at),
        micros(e.updated_at),
        e.attempts,
        e.lease_owner,
        None if e.lease_expires_at is None else micros(e.lease_expires_at),
        e.last_error,
        e.reason,
        e.provider_id,
        _message_doc(e.message),
    )


def _event_row(event: CommunicationEvent, version: int | None = None) -> tuple[Any, ...]:
    """The row of the communications table for ``event`` (with ``version`` instead of its own when given), as the
    communications repository writes it."""
    version = int(event.version) if version is None else version
    return (str(event.id), version, *COMMUNICATIONS.values(event), document(event, version))


class SqlOutboxRepository:
    """The outbox of an SQL unit of work (see :class:`custdata.outbox.OutboxRepository`)."""

    def __init__(self, session: Callable[[], SqlSession]) -> None:
        self._session = session

    def _sql(self, template: str) -> str:
        dialect = self._session().dialect
        out = dict(dialect.tokens)["doc_out"].replace("doc", "message")
        return dialect.render(template.replace("{message_out}", out))

    def _rows(self, where: str, params: Iterable[Any] = ()) -> list[OutboxEntry]:
        return _load_entries(self._session().fetch_all(self._sql(f"{_SELECT} {where}"), list(params)))

    def add(self, entry: OutboxEntry) -> bool:
        e = _args.entry(entry)
        row = _entry_row(e)
        session = self._session()
        if session.execute(self._sql(_INSERT), row) == 1:
            return True
        if self.find(e.idempotency_key) is None:
            raise IntegrityError("an outbox entry with this id already exists")
        return False

    def add_with_event(self, entry: OutboxEntry, event: CommunicationEvent) -> bool:
        """:func:`custdata.storage.outbox.ports.add_with_event` in one round trip: both inserts go to the database
        together, all or none. A taken idempotency key fails the event's insert as well (the events' keys are
        unique too), or, when no event holds the key any more, the event is taken out again."""
        e = _args.entry(entry)
        checked = check_entity(event, CommunicationEvent, "event")
        checked.validate()
        if str(checked.id) != str(e.id):
            raise ValidationError.single("event", "must have the entry's id")
        session = self._session()
        if session.dialect.name == "postgresql":
            return self._add_with_event_in_one_statement(session, e, checked)
        each = getattr(session, "execute_each", None)
        if each is None:
            if not self.add(e):
                return False
            session.execute(self._sql(insert_sql(COMMUNICATIONS)), _event_row(checked))
            return True
        try:
            added, _ = each(
                [(self._sql(_INSERT), _entry_row(e)), (self._sql(insert_sql(COMMUNICATIONS)), _event_row(checked))]
            )
        except IntegrityError:
            if self.find(e.idempotency_key) is None:
                raise
            return False
        if added == 1:
            return True
        # the key is taken by an entry whose event is gone: the event just written goes again
        session.execute(self._sql(f"DELETE FROM {COMMUNICATIONS.name} WHERE id = ?"), (str(checked.id),))
        return False

    def _add_with_event_in_one_statement(self, session: SqlSession, e: OutboxEntry, event: CommunicationEvent) -> bool:
        """:meth:`add_with_event` on PostgreSQL: one statement inserts the entry and, when the entry went in (its
        idempotency key was free), the event; a failure of either undoes both."""
        head, _, values = insert_sql(COMMUNICATIONS).partition(" VALUES (")
        sql = self._sql(
            f"WITH added AS ({_INSERT} RETURNING 1) {head} SELECT {values[:-1]} WHERE EXISTS (SELECT 1 FROM added)"
        )
        from custdata.storage._pg_values import _safe_params  # here: that module imports this one's package

        # the session checks the statement's first document (the message); the event's is checked here
        event_row = _safe_params(self._sql(insert_sql(COMMUNICATIONS)), _event_row(event))
        try:
            added = session.execute(sql, (*_entry_row(e), *event_row))
        except IntegrityError:
            if self.find(e.idempotency_key) is None:
                raise
            return False
        return added == 1

    def get(self, entry_id: str) -> OutboxEntry:
        key = _args.text("entry_id", entry_id)
        found = self._rows("WHERE id = ?", [key]) if storable(key) else []
        if not found:
            raise NotFoundError("outbox entry", key)
        return found[0]

    def with_customer_and_event(self, entry_id: str) -> tuple[OutboxEntry, Customer | None, CommunicationEvent | None]:
        """:func:`custdata.storage.outbox.ports.read_before_sending` in one statement: the entry joined with the
        customer filed under its ``customer_id`` and with its communication event (which has the entry's id)."""
        key = _args.text("entry_id", entry_id)
        rows: list[tuple[Any, ...]] = []
        if storable(key):
            out = dict(self._session().dialect.tokens)["doc_out"]
            columns = ", ".join(f"o.{c.strip()}" for c in _COLUMNS.split(","))
            rows = self._session().fetch_all(
                self._sql(
                    f"SELECT {columns}, {out.replace('doc', 'o.message')}, {out.replace('doc', 'c.doc')}, "
                    f"{out.replace('doc', 'e.doc')} FROM outbox o "
                    f"LEFT JOIN {CUSTOMERS.name} c ON c.id = o.customer_id "
                    f"LEFT JOIN {COMMUNICATIONS.name} e ON e.id = o.id WHERE o.id = ?"
                ),
                [key],
            )
        if not rows:
            raise NotFoundError("outbox entry", key)
        row = rows[0]
        entry = _load_entries([row[:17]])[0]
        customer = None if row[17] is None else load_documents(Customer, [row[17]])[0]
        event = None if row[18] is None else load_documents(CommunicationEvent, [row[18]])[0]
        return entry, customer, event

    def find(self, idempotency_key: str) -> OutboxEntry | None:
        if not isinstance(idempotency_key, str):
            raise ValidationError.single("idempotency_key", f"must be a string, not {type(idempotency_key).__name__}")
        if storable(idempotency_key) is None:
            return None
        found = self._rows("WHERE idempotency_key = ?", [idempotency_key])
        return found[0] if found else None

    def _leasing(self, owner: str, now: datetime, limit: int, duration: timedelta) -> tuple[str, tuple[Any, ...]]:
        """The lease's ``UPDATE`` (a template, without ``RETURNING``) and its parameters, the lease token third."""
        who = _args.text("owner", owner, 128)
        at = micros(_args.moment("now", now))
        size = check_limit(limit)
        until = at + _args.duration("duration", duration) // timedelta(microseconds=1)
        skip = " FOR UPDATE SKIP LOCKED" if self._session().dialect.name == "postgresql" else ""
        token = os.urandom(12).hex()
        update = (
            "UPDATE outbox SET lease_owner = ?, lease_us = ?, lease_token = ?, attempts = attempts + 1, "
            "updated_us = ? WHERE id IN (SELECT id FROM outbox WHERE state = 'pending' AND available_us <= ? "
            f"AND (lease_us IS NULL OR lease_us <= ?) ORDER BY available_us, id LIMIT ?{skip})"
        )
        return update, (who, until, token, at, at, at, size)

    def lease(self, owner: str, *, now: datetime, limit: int, duration: timedelta) -> list[OutboxEntry]:
        update, params = self._leasing(owner, now, limit, duration)
        session = self._session()
        returning = getattr(session, "execute_returning", None)
        if returning is not None:  # the write and the read of what it leased in one statement
            found = _load_entries(returning(self._sql(f"{update} RETURNING {_COLUMNS}, {{message_out}}"), params))
        elif session.execute(self._sql(update), params) == 0:
            return []
        else:
            found = self._rows("WHERE state = 'pending' AND lease_token = ?", [params[2]])
        return sorted(found, key=lambda e: (e.available_at, str(e.id)))

    def lease_and_commit(self, owner: str, *, now: datetime, limit: int, duration: timedelta) -> list[OutboxEntry]:
        """:func:`custdata.storage.outbox.ports.lease_and_commit`: on a session with ``execute_committed``
        (PostgreSQL's), a unit of work that has written nothing leases in one statement that is its own
        transaction, without ``BEGIN`` and ``COMMIT``."""
        session = self._session()
        committed = getattr(session, "execute_committed", None)
        if committed is None:
            found = self.lease(owner, now=now, limit=limit, duration=duration)
            session.commit()
            return found
        update, params = self._leasing(owner, now, limit, duration)
        found = _load_entries(committed(self._sql(f"{update} RETURNING {_COLUMNS}, {{message_out}}"), params))
        return sorted(found, key=lambda e: (e.available_at, str(e.id)))

    def settle(
        self,
        entry_id: str,
        owner: str,
        *,
        state: OutboxState,
        now: datetime,
        available_at: datetime | None = None,
        provider_id: str | None = None,
        error: str | None = None,
        reason: str | None = None,
    ) -> bool:
        sql, params = self._settling(entry_id, owner, state, now, available_at, provider_id, error, reason)
        return self._session().execute(sql, params) == 1

    def settle_with_event(
        self,
        entry_id: str,
        owner: str,
        *,
        state: OutboxState,
        now: datetime,
        event: CommunicationEvent,
        available_at: datetime | None = None,
        provider_id: str | None = None,
        error: str | None = None,
        reason: str | None = None,
    ) -> tuple[bool, bool]:
        """:func:`custdata.storage.outbox.ports.settle_with_event` in one round trip: the settle and the event's
        update go to the database together; the update writes only when the settle did and the stored event still
        has ``event``'s version (its version then goes up by one)."""
        settling = self._settling(entry_id, owner, state, now, available_at, provider_id, error, reason)
        checked = check_entity(event, CommunicationEvent, "event")
        checked.validate()
        old = int(checked.version)
        key = str(checked.id)
        update = self._sql(
            f"{update_sql(COMMUNICATIONS)} AND EXISTS (SELECT 1 FROM outbox WHERE id = ? AND state = ? "
            "AND updated_us = ? AND lease_token IS NULL)"
        )
        row = (*_event_row(checked, old + 1)[1:], key, old)
        params = (*row, settling[1][6], settling[1][0], settling[1][5])
        session = self._session()
        each = getattr(session, "execute_each", None)
        returning = getattr(session, "execute_returning", None)
        if session.dialect.name == "postgresql" and returning is not None:
            # one statement: the event's update sees the settle through the settle's own result
            both = self._sql(
                f"WITH settled AS ({settling[0]} RETURNING 1), written AS ({update_sql(COMMUNICATIONS)} "
                "AND EXISTS (SELECT 1 FROM settled) RETURNING 1) "
                "SELECT (SELECT count(*) FROM settled), (SELECT count(*) FROM written)"
            )
            settled, written = returning(both, (*settling[1], *row))[0]
        elif each is not None:
            settled, written = each([settling, (update, params)])
        else:
            settled = session.execute(*settling)
            written = session.execute(update, params) if settled == 1 else 0
        if written == 1:
            checked.version = old + 1
        return settled == 1, settled == 1 and written == 1

    def _settling(
        self,
        entry_id: str,
        owner: str,
        state: OutboxState,
        now: datetime,
        available_at: datetime | None,
        provider_id: str | None,
        error: str | None,
        reason: str | None,
    ) -> tuple[str, tuple[Any, ...]]:
        """The settle's statement and its parameters: the new state first, the time sixth, the entry's id seventh."""
        key = _args.text("entry_id", entry_id)
        who = _args.text("owner", owner, 128)
        chosen = _args.settle_state(state)
        at = micros(_args.moment("now", now))
        when = None if available_at is None else micros(_args.moment("available_at", available_at))
        if chosen == OutboxState.PENDING and when is None:
            when = at
        sql = self._sql(
            "UPDATE outbox SET state = ?, available_us = COALESCE(?, available_us), provider_id = ?, "
            "last_error = ?, reason = ?, lease_owner = NULL, lease_us = NULL, lease_token = NULL, updated_us = ? "
            "WHERE id = ? AND lease_owner = ? AND state = 'pending'"
        )
        params = (
            chosen.value,
            when,
            _args.optional_text("provider_id", provider_id, 1024),
            _args.optional_text("error", error, 4000),
            _args.optional_text("reason", reason, 512),
            at,
            key,
            who,
        )
        return sql, params

    def cancel(
        self, *, customer_id: str, topics: Iterable[Topic], now: datetime, reason: str, order_id: str | None = None
    ) -> list[OutboxEntry]:
        customer = _args.text("customer_id", customer_id, 128)
        wanted = [t.value for t in _args.topics(topics)]
        at = micros(_args.moment("now", now))
        why = _args.text("reason", reason)
        if not wanted or storable(customer) is None:
            return []
        marks = ", ".join("?" * len(wanted))
        scope = "order_id IS NULL" if order_id is None else "(order_id IS NULL OR order_id = ?)"
        where = (
            f"WHERE customer_id = ? AND state = 'pending' AND topic IN ({marks}) AND {scope} "
            "AND (lease_us IS NULL OR lease_us <= ?)"
        )
        params: list[Any] = [customer, *wanted, *([] if order_id is None else [str(order_id)]), at]
        found = self._rows(where, params)
        if found:
            self._session().execute(
                self._sql(f"UPDATE outbox SET state = 'cancelled', reason = ?, updated_us = ? {where}"),
                [why, at, *params],
            )
        return sorted(found, key=lambda e: str(e.id))

    def requeue(self, entry_id: str, *, now: datetime) -> OutboxEntry:
        entry = self.get(entry_id)
        at = _args.moment("now", now)
        if entry.state not in (OutboxState.DEAD, OutboxState.FAILED):
            raise ValidationError.single("entry_id", f"names a {entry.state.value} entry; only dead or failed ones")
        if entry.message is None:
            raise ValidationError.single("entry_id", "names an entry whose message was erased")
        self._session().execute(
            self._sql(
                "UPDATE outbox SET state = 'pending', attempts = 0, available_us = ?, last_error = NULL, "
                "lease_owner = NULL, lease_us = NULL, lease_token = NULL, updated_us = ? WHERE id = ? AND state = ?"
            ),
            (micros(at), micros(at), str(entry.id), entry.state.value),
        )
        return self.get(entry_id)

    def with_state(
        self, state: OutboxState, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None
    ) -> Page[OutboxEntry]:
        chosen = _args.outbox_state(state)
        size = check_limit(limit)
        params: list[Any] = [chosen.value]
        after = ""
        if cursor is not None:
            after = " AND id > ?"
            params.append(decode_cursor("outbox", cursor))
        found = self._rows(f"WHERE state = ?{after} ORDER BY id LIMIT ?", [*params, size + 1])
        more = len(found) > size
        page = found[:size]
        return Page(tuple(page), encode_cursor("outbox", str(page[-1].id)) if more else None)

    def count(self, state: OutboxState | None = None) -> int:
        if state is None:
            row = self._session().fetch_one(self._sql("SELECT count(*) FROM outbox"))
        else:
            chosen = _args.outbox_state(state)
            row = self._session().fetch_one(self._sql("SELECT count(*) FROM outbox WHERE state = ?"), (chosen.value,))
        return int(row[0]) if row else 0

    def pending_summary(self, now: datetime) -> PendingSummary:
        """The pending entries and timers at ``now`` (see :mod:`custdata.storage.outbox.status`) in one statement:
        one pass over the pending rows (the ``outbox_ready`` index) and one over the pending timers."""
        return self._summary(now, dead=False)[0]

    def pending_summary_and_dead(self, now: datetime) -> tuple[PendingSummary, int]:
        """:meth:`pending_summary` and the number of dead entries, in the same one statement (a dispatcher's
        look at what waits)."""
        return self._summary(now, dead=True)

    def _summary(self, now: datetime, *, dead: bool) -> tuple[PendingSummary, int]:
        at = micros(_args.moment("now", now))
        free = "(lease_us IS NULL OR lease_us <= ?)"
        dead_count = ", (SELECT count(*) FROM outbox WHERE state = 'dead') AS dead" if dead else ""
        row = self._session().fetch_one(
            self._sql(
                f"SELECT o.due, o.scheduled, o.retrying, o.leased, o.oldest, o.upcoming, t.waiting, t.due, t.next"
                f"{dead_count} FROM (SELECT "
                f"sum(CASE WHEN {free} AND available_us <= ? THEN 1 ELSE 0 END) AS due, "
                f"sum(CASE WHEN {free} AND available_us > ? AND attempts = 0 THEN 1 ELSE 0 END) AS scheduled, "
                f"sum(CASE WHEN {free} AND available_us > ? AND attempts > 0 THEN 1 ELSE 0 END) AS retrying, "
                "sum(CASE WHEN lease_us > ? THEN 1 ELSE 0 END) AS leased, "
                f"min(CASE WHEN {free} AND available_us <= ? THEN available_us END) AS oldest, "
                f"min(CASE WHEN {free} AND available_us > ? THEN available_us END) AS upcoming "
                "FROM outbox WHERE state = 'pending') AS o CROSS JOIN (SELECT count(*) AS waiting, "
                "sum(CASE WHEN due_us <= ? THEN 1 ELSE 0 END) AS due, min(due_us) AS next "
                "FROM timers WHERE state = 'pending') AS t"
            ),
            (at,) * 12,
        )
        values = tuple(row) if row else (None,) * 10
        due, scheduled, retrying, leased, oldest, upcoming, waiting, timers_due, next_timer = values[:9]
        summary = PendingSummary(
            due=int(due or 0),
            scheduled=int(scheduled or 0),
            retrying=int(retrying or 0),
            leased=int(leased or 0),
            oldest_due_at=_time(None if oldest is None else int(oldest)),
            next_due_at=_time(None if upcoming is None else int(upcoming)),
            timers=int(waiting or 0),
            timers_due=int(timers_due or 0),
            next_timer_at=_time(None if next_timer is None else int(next_timer)),
        )
        return summary, int(values[9] or 0) if dead else 0

    def count_recent(self, customer_id: str, *, since: datetime, topics: Iterable[Topic]) -> int:
        customer = _args.text("customer_id", customer_id, 128)
        start = micros(_args.moment("since", since))
        wanted = [t.value for t in _args.topics(topics)]
        if not wanted or storable(customer) is None:
            return 0
        marks = ", ".join("?" * len(wanted))
        row = self._session().fetch_one(
            self._sql(
                f"SELECT count(*) FROM outbox WHERE customer_id = ? AND created_us >= ? AND topic IN ({marks}) "
                "AND state IN (?, ?)"
            ),
            [customer, start, *wanted, *_LIVE],
        )
        return int(row[0]) if row else 0

    def erase(self, customer_id: str, *, now: datetime) -> int:
        customer = _args.text("customer_id", customer_id, 128)
        at = micros(_args.moment("now", now))
        if storable(customer) is None:
            return 0
        return self._session().execute(
            self._sql(
                "UPDATE outbox SET message = NULL, last_error = NULL, provider_id = NULL, updated_us = ? "
                "WHERE customer_id = ? AND state <> 'pending' "
                "AND (message IS NOT NULL OR last_error IS NOT NULL OR provider_id IS NOT NULL)"
            ),
            (at, customer),
        )

    def for_customer(self, customer_id: str) -> list[OutboxEntry]:
        customer = _args.text("customer_id", customer_id, 128)
        if storable(customer) is None:
            return []
        return self._rows("WHERE customer_id = ? ORDER BY id", [customer])

    def for_orders(self, order_ids: Iterable[str]) -> list[OutboxEntry]:
        wanted = sorted({o for o in _args.identifiers("order_ids", order_ids) if storable(o) is not None})
        found: list[OutboxEntry] = []
        size = max(1, self._session().dialect.max_params - 10)
        for start in range(0, len(wanted), size):
            chunk = wanted[start : start + size]
            found += self._rows(f"WHERE order_id IN ({', '.join('?' * len(chunk))})", chunk)
        return sorted(found, key=lambda e: str(e.id))

    def forget(self, entry_id: str, *, now: datetime, reason: str) -> OutboxEntry | None:
        key = _args.text("entry_id", entry_id)
        at = micros(_args.moment("now", now))
        why = _args.text("reason", reason)
        for _ in range(20):  # a dispatcher may settle it meanwhile: write only over the state that was read
            entry = self.get(key)
            kept: str | None
            if entry.state == OutboxState.PENDING:
                state, kept = OutboxState.CANCELLED.value, why
            elif entry.message is not None or entry.last_error is not None or entry.provider_id is not None:
                state, kept = entry.state.value, entry.reason
            else:
                return None
            count = self._session().execute(
                self._sql(
                    "UPDATE outbox SET state = ?, reason = ?, message = NULL, last_error = NULL, provider_id = NULL, "
                    "lease_owner = NULL, lease_us = NULL, lease_token = NULL, updated_us = ? "
                    "WHERE id = ? AND state = ? AND attempts = ?"
                ),
                (state, kept, at, key, entry.state.value, entry.attempts),
            )
            if count == 1:
                return entry
        raise OperationalError(f"outbox entry {key!r} kept changing while it was being erased; try again")

    def reassign(self, customer_id: str, to: str, *, now: datetime) -> int:
        old, new = _args.moved_ids(customer_id, to)
        at = _args.moment("now", now)
        if storable(old) is None:
            return 0
        entries = self.for_customer(old)
        session = self._session()
        for before in entries:
            after = _args.reassigned_entry(before, old, new, at)
            if after.idempotency_key != before.idempotency_key and self.find(after.idempotency_key) is not None:
                raise IntegrityError("another outbox entry has the same idempotency key")
            session.execute(
                self._sql(
                    "UPDATE outbox SET customer_id = ?, idempotency_key = ?, message = {doc_in}, updated_us = ? "
                    "WHERE id = ?"
                ),
                (new, after.idempotency_key, _message_doc(after.message), micros(after.updated_at), str(before.id)),
            )
        return len(entries)


_REPLACE = (
    "DO UPDATE SET rule = excluded.rule, topic = excluded.topic, customer_id = excluded.customer_id, "
    "order_id = excluded.order_id, state = excluded.state, due_us = excluded.due_us, "
    "created_us = excluded.created_us, reason = excluded.reason, trigger = excluded.trigger"
)
_TIMER_COLUMNS = "key, rule, topic, customer_id, order_id, state, due_us, created_us, reason"


def _load_timers(rows: list[tuple[Any, ...]]) -> list[Timer]:
    out = []
    with trusting():
        for row in rows:
            out.append(
                Timer(
                    key=row[0],
                    rule=row[1],
                    topic=Topic(row[2]),
                    customer_id=row[3],
                    order_id=row[4],
                    state=TimerState(row[5]),
                    due_at=_time(row[6]),  # type: ignore[arg-type]
                    created_at=_time(row[7]),  # type: ignore[arg-type]
                    reason=row[8],
                    trigger=json.loads(row[9]),
                )
            )
    return out


class SqlTimerRepository:
    """The timers of an SQL unit of work (see :class:`custdata.outbox.TimerRepository`)."""

    def __init__(self, session: Callable[[], SqlSession]) -> None:
        self._session = session

    def _sql(self, template: str) -> str:
        dialect = self._session().dialect
        out = dict(dialect.tokens)["doc_out"].replace("doc", "trigger")
        return dialect.render(template.replace("{trigger_out}", out))

    def _rows(self, where: str, params: Iterable[Any] = ()) -> list[Timer]:
        sql = self._sql(f"SELECT {_TIMER_COLUMNS}, {{trigger_out}} FROM timers {where}")
        return _load_timers(self._session().fetch_all(sql, list(params)))

    def schedule(self, timer: Timer, *, replace: bool = False) -> bool:
        return self._upsert(timer, _REPLACE if replace else "DO NOTHING")

    def reschedule(self, timer: Timer) -> bool:
        """:func:`custdata.storage.outbox.ports.reschedule` in one statement: the stored timer is replaced only
        when it falls due earlier than ``timer``."""
        return self._upsert(timer, f"{_REPLACE} WHERE timers.due_us < excluded.due_us")

    def _upsert(self, timer: Timer, conflict: str) -> bool:
        t = _args.timer(timer)
        count = self._session().execute(
            self._sql(
                f"INSERT INTO timers ({_TIMER_COLUMNS}, trigger) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, {{doc_in}}) "
                f"ON CONFLICT (key) {conflict}"
            ),
            (
                t.key,
                t.rule,
                t.topic.value,
                str(t.customer_id),
                None if t.order_id is None else str(t.order_id),
                t.state.value,
                micros(t.due_at),
                micros(t.created_at),
                t.reason,
                json.dumps(t.trigger, ensure_ascii=False, separators=(",", ":")),
            ),
        )
        return count == 1

    def get(self, key: str) -> Timer | None:
        name = _args.text("key", key)
        found = self._rows("WHERE key = ?", [name]) if storable(name) else []
        return found[0] if found else None

    def due(self, now: datetime, *, limit: int = DEFAULT_LIMIT) -> list[Timer]:
        at = micros(_args.moment("now", now))
        size = check_limit(limit)
        return self._rows("WHERE state = 'pending' AND due_us <= ? ORDER BY due_us, key LIMIT ?", [at, size])

    def finish(self, key: str, state: TimerState, *, reason: str | None = None) -> bool:
        name = _args.text("key", key)
        chosen = _args.finish_state(state)
        count = self._session().execute(
            self._sql("UPDATE timers SET state = ?, reason = ? WHERE key = ? AND state = 'pending'"),
            (chosen.value, _args.optional_text("reason", reason, 512), name),
        )
        return count == 1

    def cancel(self, *, customer_id: str, topics: Iterable[Topic], reason: str, order_id: str | None = None) -> int:
        customer = _args.text("customer_id", customer_id, 128)
        wanted = [t.value for t in _args.topics(topics)]
        why = _args.text("reason", reason)
        if not wanted or storable(customer) is None:
            return 0
        marks = ", ".join("?" * len(wanted))
        scope = "order_id IS NULL" if order_id is None else "(order_id IS NULL OR order_id = ?)"
        return self._session().execute(
            self._sql(
                f"UPDATE timers SET state = 'cancelled', reason = ? WHERE customer_id = ? AND state = 'pending' "
                f"AND topic IN ({marks}) AND {scope}"
            ),
            [why, customer, *wanted, *([] if order_id is None else [str(order_id)])],
        )

    def cancellable(
        self, *, customer_id: str, topics: Iterable[Topic], now: datetime, order_id: str | None = None
    ) -> tuple[list[Timer], int]:
        """The pending timers a cancel of ``topics`` would take, and how many outbox entries: one query."""
        customer = _args.text("customer_id", customer_id, 128)
        wanted = [t.value for t in _args.topics(topics)]
        at = micros(_args.moment("now", now))
        if not wanted or storable(customer) is None:
            return [], 0
        marks = ", ".join("?" * len(wanted))
        scope: list[Any] = [] if order_id is None else [str(order_id)]
        timer_scope = "t.order_id IS NULL" if order_id is None else "(t.order_id IS NULL OR t.order_id = ?)"
        entry_scope = "order_id IS NULL" if order_id is None else "(order_id IS NULL OR order_id = ?)"
        columns = ", ".join(f"t.{c.strip()}" for c in _TIMER_COLUMNS.split(","))
        trigger = dict(self._session().dialect.tokens)["doc_out"].replace("doc", "t.trigger")
        rows = self._session().fetch_all(
            self._sql(
                f"SELECT (SELECT count(*) FROM outbox WHERE customer_id = ? AND state = 'pending' "
                f"AND topic IN ({marks}) AND {entry_scope} AND (lease_us IS NULL OR lease_us <= ?)), "
                f"{columns}, {trigger} FROM (SELECT 1 AS one) AS one LEFT JOIN timers t ON t.customer_id = ? "
                f"AND t.state = 'pending' AND t.topic IN ({marks}) AND {timer_scope} ORDER BY t.due_us, t.key"
            ),
            [customer, *wanted, *scope, at, customer, *wanted, *scope],
        )
        entries = int(rows[0][0]) if rows else 0
        return _load_timers([row[1:] for row in rows if row[1] is not None]), entries

    def pending(self, customer_id: str) -> list[Timer]:
        customer = _args.text("customer_id", customer_id, 128)
        if storable(customer) is None:
            return []
        return self._rows("WHERE customer_id = ? AND state = 'pending' ORDER BY due_us, key", [customer])

    def erase(self, customer_id: str) -> int:
        customer = _args.text("customer_id", customer_id, 128)
        if storable(customer) is None:
            return 0
        return self._session().execute(
            self._sql(
                "UPDATE timers SET trigger = {doc_in} "
                "WHERE customer_id = ? AND state <> 'pending' AND trigger <> {doc_in}"
            ),
            ("{}", customer, "{}"),
        )

    def for_customer(self, customer_id: str) -> list[Timer]:
        customer = _args.text("customer_id", customer_id, 128)
        if storable(customer) is None:
            return []
        return self._rows("WHERE customer_id = ? ORDER BY key", [customer])

    def for_orders(self, order_ids: Iterable[str]) -> list[Timer]:
        wanted = sorted({o for o in _args.identifiers("order_ids", order_ids) if storable(o) is not None})
        found: list[Timer] = []
        size = max(1, self._session().dialect.max_params - 10)
        for start in range(0, len(wanted), size):
            chunk = wanted[start : start + size]
            found += self._rows(f"WHERE order_id IN ({', '.join('?' * len(chunk))})", chunk)
        return sorted(found, key=lambda t: t.key)

    def forget(self, key: str, *, reason: str) -> bool:
        name = _args.text("key", key)
        why = _args.text("reason", reason)
        if self.get(name) is None:
            raise NotFoundError("timer", name)
        count = self._session().execute(
            self._sql(
                "UPDATE timers SET reason = CASE WHEN state = 'pending' THEN ? ELSE reason END, "
                "state = CASE WHEN state = 'pending' THEN 'cancelled' ELSE state END, trigger = {doc_in} "
                "WHERE key = ? AND (state = 'pending' OR trigger <> {doc_in})"
            ),
            (why, "{}", name, "{}"),
        )
        return count == 1

    def reassign(self, customer_id: str, to: str) -> int:
        old, new = _args.moved_ids(customer_id, to)
        if storable(old) is None:
            return 0
        timers = self.for_customer(old)
        session = self._session()
        for before in timers:
            after = _args.reassigned_timer(before, old, new)
            if after.key != before.key and self.get(after.key) is not None:
                raise IntegrityError("another timer has the same key")
            session.execute(
                self._sql("UPDATE timers SET key = ?, customer_id = ?, trigger = {doc_in} WHERE key = ?"),
                (after.key, new, json.dumps(after.trigger, ensure_ascii=False, separators=(",", ":")), before.key),
            )
        return len(timers)

    def page(self, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None) -> Page[Timer]:
        size = check_limit(limit)
        params: list[Any] = []
        after = ""
        if cursor is not None:
            after = "WHERE key > ? "
            params.append(decode_cursor("timers", cursor))
        found = self._rows(f"{after}ORDER BY key LIMIT ?", [*params, size + 1])
        page = found[:size]
        return Page(tuple(page), encode_cursor("timers", page[-1].key) if len(found) > size else None)
