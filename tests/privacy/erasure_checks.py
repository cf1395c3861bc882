"""Data for the erasure tests: a customer to erase and one to keep, and the personal data to look for."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
from privacy_builders import T0, activity, customer, message, order

from custdata import Channel, ConsentPurpose, Customer, EmailAddress, NotFoundError
from custdata.privacy import consent
from custdata.serialization import to_dict
from custdata.storage import Store, walk

#: Personal data of the customer to erase, as it may be written anywhere (any case).
ERASED = ("Adelheid", "Quenstedt", "adelheid.quenstedt", "4930901820", "Kastanienallee", "ada.work@example.net")
#: The same kinds of data of a customer who stays: the scans must find these.
KEPT = ("Bartholomew", "Vandersloot", "bart.vandersloot", "4930901899", "Ebereschenweg")


def seed(store: Store) -> None:
    """Both customers with orders, messages and activity; the one to erase edited a few times and with a guest
    record merged into it, so that old versions of its data are scattered over pages and the log."""
    ada = customer()
    ada.other_emails = (EmailAddress.parse("ada.work@example.net"),)
    consent.grant(ada, ConsentPurpose.MARKETING, Channel.EMAIL, at=T0, source="checkout by Adelheid Quenstedt")
    bart = customer(
        "cus_bart",
        given="Bartholomew",
        family="Vandersloot",
        email="bart.vandersloot@example.org",
        phone="+4930901899",
        street="Ebereschenweg 3",
    )
    guest = customer("cus_ada_guest", guest=True, phone="+4930901820")
    guest.merged_into = ada.id
    with store.unit_of_work() as uow:
        for c in (ada, bart, guest):
            uow.customers.add(c)
        for i, owner in enumerate((ada, bart, guest, ada)):
            placed = T0 + timedelta(days=i)
            uow.orders.add(order(f"ord_{i}", owner.id, placed=placed, address=owner.addresses[0]))
            uow.communications.add(message(f"msg_{i}", owner.id, f"Dear {owner.given_name} {owner.family_name}"))
            uow.activity.add(activity(f"act_{i}", owner.id, occurred=placed, query=str(owner.email)))
        uow.commit()
    for n in range(3):
        with store.unit_of_work() as uow:
            c = uow.customers.get("cus_ada")
            c.display_name = f"Adelheid Q. {n}"
            c.tags = frozenset({f"quenstedt-{n}"})
            uow.customers.update(c)
            uow.commit()


def found(text: str, needles: tuple[str, ...]) -> set[str]:
    """The needles that occur in ``text``, compared case-insensitively."""
    low = text.lower()
    return {n for n in needles if n.lower() in low}


def found_bytes(data: bytes, needles: tuple[str, ...]) -> set[str]:
    """The needles whose UTF-8 bytes occur in ``data``, compared case-insensitively (ASCII)."""
    low = data.lower()
    return {n for n in needles if n.lower().encode("utf-8") in low}


def check_financials(store: Store) -> Customer:
    """The erased customer's orders still add up and name their SKUs; returns the erased customer."""
    with store.unit_of_work() as uow:
        for oid in ("ord_0", "ord_3", "ord_2"):
            o = uow.orders.get(oid)
            assert str(o.total) == "108.35 EUR" and [line.sku for line in o.lines] == ["SKU-SHOE-42", "SKU-SOCK"]
            assert o.shipping_address is None and o.shipments[0].tracking_number is None
        assert uow.orders.get("ord_1").shipping_address is not None
        return uow.customers.get("cus_ada")


# -- where an erased person's data could still be: every other customer's export and timeline, the outbox, the files


def person(cid: str, tag: str, *, guest: bool = False) -> tuple[Customer, tuple[str, ...]]:
    """A customer whose every value carries ``tag`` (letters only), and the needles to look for."""
    digits = "".join(str(ord(ch) % 10) for ch in tag)[:4].ljust(4, "7")
    c = customer(
        cid,
        given=f"Given{tag}",
        family=f"Family{tag}",
        email=f"mail.{tag.lower()}@example.org",
        phone=f"+49309{digits}11",
        street=f"Street{tag} 5",
        guest=guest,
    )
    return c, (f"Given{tag}", f"Family{tag}", f"mail.{tag.lower()}", f"49309{digits}11", f"Street{tag}")


def shipped_message(key: str, recipient: str, name: str, *, order_id: str | None = None) -> Any:
    """An order confirmation for ``recipient`` that names the person, as a workflow would render it."""
    from custdata.notify import Message

    return Message(
        idempotency_key=key,
        channel="email",
        topic="order_shipped" if order_id else "support",
        recipient=recipient,
        subject=f"Your parcel, {name}",
        text=f"Dear {name}, your parcel is on its way.",
        order_id=order_id,
    )


def outbox_text(store: Store) -> str:
    """Every outbox entry (in every state) and every timer, as text."""
    from custdata.outbox import OutboxState
    from custdata.outbox.ports import has_outbox

    parts: list[str] = []
    with store.unit_of_work() as uow:
        assert has_outbox(uow)
        for state in OutboxState:
            for e in walk(lambda c, s=state: uow.outbox.with_state(s, cursor=c)):  # type: ignore[misc]
                parts.append(json.dumps(to_dict(e), default=str))
        for t in walk(lambda c: uow.timers.page(cursor=c)):
            parts.append(json.dumps(to_dict(t), default=str))
    return "\n".join(parts)


def views_of_others(store: Store, erased: str) -> str:
    """The data export and the customer-360 records (the timeline's records included) of every customer that
    does not end up in ``erased``'s survivor, as text."""
    from custdata.customer360 import customer_360
    from custdata.merge import resolve
    from custdata.privacy.export import export_customer_json

    with store.unit_of_work() as uow:
        try:
            gone = str(resolve(uow, erased).id)
        except NotFoundError:
            gone = erased
        ids = [str(c.id) for c in walk(lambda c: uow.customers.search(cursor=c))]
        others = [i for i in ids if str(resolve(uow, i).id) != gone]
    parts = []
    for cid in others:
        parts.append(export_customer_json(store, cid))
        view = customer_360(store, cid)
        parts += [json.dumps(to_dict(e.record), default=str) for e in view.timeline if attrs.has(type(e.record))]
    return "\n".join(parts)


def table_texts(pg_url: str, schema: str) -> dict[str, str]:
    """Every row of every table in ``schema``, as PostgreSQL renders the whole row as text."""
    import psycopg
    from psycopg import sql

    out: dict[str, str] = {}
    with psycopg.connect(pg_url, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'm', 'p')",
            (schema,),
        ).fetchall()
        for (table,) in tables:
            query = sql.SQL("SELECT t::text FROM {}.{} AS t").format(sql.Identifier(schema), sql.Identifier(table))
            out[table] = "\n".join(row[0] for row in conn.execute(query).fetchall())
    return out


def relation_bytes(server: Any, pg_url: str, schema: str) -> bytes:
    """The bytes of the files of every relation of ``schema`` (tables, indexes, TOAST), after a checkpoint."""
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")
        paths = [
            path
            for (path,) in conn.execute(
                """SELECT pg_relation_filepath(c.oid) FROM pg_class c
                   WHERE c.relnamespace = to_regnamespace(%(s)s)
                      OR c.oid IN (SELECT reltoastrelid FROM pg_class WHERE relnamespace = to_regnamespace(%(s)s))
                      OR c.oid IN (SELECT i.indexrelid FROM pg_index i JOIN pg_class t ON t.reltoastrelid = i.indrelid
                                   WHERE t.relnamespace = to_regnamespace(%(s)s))""",
                {"s": schema},
            ).fetchall()
            if path is not None
        ]
    assert len(paths) > 10
    return b"".join(f.read_bytes() for path in paths for f in sorted(Path(server.data_dir).glob(f"{path}*")))


def store_bytes(store: Store, server: Any = None) -> bytes:
    """What the store keeps on disk: the SQLite files, or the PostgreSQL relation files; b"" for memory."""
    from custdata.storage.postgres import PostgresStore
    from custdata.storage.sqlite import SQLiteStore

    if isinstance(store, SQLiteStore):
        path = Path(store.path)
        return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    if isinstance(store, PostgresStore):
        return relation_bytes(server, server.url("postgres"), store.schema)
    return b""
