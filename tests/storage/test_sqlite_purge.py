"""``SQLiteStore.purge_residue``: deleted and overwritten personal data is gone from the raw bytes of the
database, ``-wal`` and ``-shm`` files, while live data stays.

Ids and emails are fixed so that the pages come out the same in every run: with this layout ``secure_delete``
and a checkpoint alone leave stale copies of erased search keys in the unused gaps of rebuilt index pages.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from custdata import Address, Customer, CustomerId, EmailAddress, Money, OperationalError, OrderLine, PhoneNumber
from custdata.storage.sqlite import SQLiteStore
from custdata.testing.store_contract import make_activity, make_customer, make_message, make_order

#: Distinctive fragments of the erased customers' name, email, phone and street (compared case-insensitively).
SECRETS = ("zebulonqx", "quillfeatherby", "zq.erase.me", "3098765", "yarrowstrasse")
KEEPER = "keeperinaxx"


def secret_customer(i: int, *, big: bool) -> Customer:
    return make_customer(
        id=CustomerId(f"cus_{i * 5 + 2:05d}"),  # fixed ids, between the keepers': the same pages every run
        given_name=f"Zebulonqx{i}",
        family_name="Quillfeatherby",
        email=EmailAddress(f"zq.erase.me{i}@example.com"),
        phone=PhoneNumber.parse(f"+49 30 98765{i:03d}"),
        addresses=(
            Address(
                first_name="Zebulonqx",
                last_name="Quillfeatherby",
                street_address_1=f"Yarrowstrasse {i + 1}",
                city="BERLIN",
                postal_code="10115",
                country_code="DE",
            ),
        ),
        # a long note makes the document spill into overflow pages
        metadata={"note": "Yarrowstrasse Zebulonqx " * (2000 if big else 1)},
    )


def keeper(i: int) -> Customer:
    return make_customer(
        id=CustomerId(f"cus_{i * 5:05d}"), given_name=f"Keeperinaxx{i}", email=EmailAddress(f"keeper{i}@example.com")
    )


def residue(folder: Path) -> dict[str, dict[str, int]]:
    """How often each secret (and the keeper's name) occurs in each of the store's files."""
    found = {}
    for file in sorted(folder.glob("shop.db*")):
        data = file.read_bytes().lower()
        found[file.name] = {s: data.count(s.encode()) for s in (*SECRETS, KEEPER)}
    return found


def secrets_in(found: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    return {name: {s: n for s, n in counts.items() if n and s != KEEPER} for name, counts in found.items()}


def erase(store: SQLiteStore, victims: list[Customer]) -> None:
    """Delete half of the victims and overwrite the other half with harmless data, in one unit of work."""
    with store.unit_of_work() as uow:
        for i, victim in enumerate(victims):
            if i % 2:
                uow.customers.delete(victim.id)
                continue
            victim.given_name, victim.family_name = "Plain", "Person"
            victim.email, victim.phone = EmailAddress(f"plain{i}@example.com"), None
            victim.addresses, victim.default_shipping_address, victim.metadata = (), None, {}
            uow.customers.update(victim)
        uow.commit()


def test_erased_customers_leave_no_bytes_in_any_file(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "shop.db")
    try:
        keepers = [keeper(i) for i in range(200)]
        in_main_file = [secret_customer(i, big=i % 4 == 0) for i in range(0, 40)]
        in_log_only = [secret_customer(i, big=i % 4 == 0) for i in range(40, 60)]
        with store.unit_of_work() as uow:
            uow.customers.add_many(keepers[:100])
            uow.customers.add_many(in_main_file)
            uow.customers.add_many(keepers[100:])
            uow.orders.add(make_order(keepers[0].id))
            uow.commit()
        store.checkpoint()
        with store.unit_of_work() as uow:
            uow.customers.add_many(in_log_only)
            uow.commit()
        before = residue(tmp_path)
        assert all(before["shop.db"][s] for s in SECRETS), "the scan must see the secrets while they are stored"
        assert all(before["shop.db-wal"][s] for s in SECRETS)

        erase(store, in_main_file + in_log_only)
        assert any(secrets_in(residue(tmp_path)).values()), "without a purge the old bytes are still there"
        store.purge_residue()

        after = residue(tmp_path)
        assert secrets_in(after) == {"shop.db": {}, "shop.db-shm": {}, "shop.db-wal": {}}
        assert (tmp_path / "shop.db-wal").stat().st_size == 0
        assert after["shop.db"][KEEPER] >= 200, "live data must stay"
        assert store.integrity_check() == ["ok"]
        with store.unit_of_work() as uow:
            assert uow.customers.get_many(c.id for c in keepers) == {c.id: c for c in keepers}
            assert uow.customers.count() == 200 + 30
            assert uow.customers.find_by_email("zq.erase.me2@example.com") == []
    finally:
        store.close()
    with SQLiteStore(tmp_path / "shop.db") as reopened, reopened.unit_of_work() as uow:
        assert uow.customers.count() == 230


def test_a_reader_holding_the_log_makes_the_purge_fail_loudly_then_it_succeeds(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "shop.db", timeout=0.2)
    try:
        victims = [secret_customer(i, big=False) for i in range(6)]
        with store.unit_of_work() as uow:
            uow.customers.add_many(victims)
            uow.commit()
        erase(store, victims)
        reader = sqlite3.connect(tmp_path / "shop.db", isolation_level=None)
        try:
            reader.execute("BEGIN")
            reader.execute("SELECT count(*) FROM customers").fetchone()
            with pytest.raises(OperationalError, match="write-ahead log"):
                store.purge_residue()
        finally:
            reader.close()
        store.purge_residue()
        assert secrets_in(residue(tmp_path)) == {"shop.db": {}, "shop.db-shm": {}, "shop.db-wal": {}}
    finally:
        store.close()


def test_an_erased_customers_orders_messages_and_activity_leave_no_bytes(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "shop.db")
    try:
        kept = keeper(0)
        victim = secret_customer(1, big=False)
        line = OrderLine(
            id="l1", sku="SKU-1", product_name="Yarrowstrasse lamp", quantity=1, unit_price=Money("5", "EUR")
        )
        order = make_order(victim.id, lines=(line,), currency="EUR", metadata={"gift_note": "for Zebulonqx"})
        message = make_message(victim.id, subject="Hello Zebulonqx", body="Quillfeatherby, your order is on its way")
        activity = make_activity(victim.id, properties={"search": "zq.erase.me"})
        with store.unit_of_work() as uow:
            uow.customers.add_many([kept, victim])
            uow.orders.add(order)
            uow.orders.add(make_order(kept.id))
            uow.communications.add(message)
            uow.activity.add(activity)
            uow.commit()
        store.checkpoint()
        assert all(residue(tmp_path)["shop.db"][s] for s in ("zebulonqx", "quillfeatherby", "yarrowstrasse"))
        with store.unit_of_work() as uow:
            uow.activity.delete(activity.id)
            uow.communications.delete(message.id)
            uow.orders.delete(order.id)
            uow.customers.delete(victim.id)
            uow.commit()
        store.purge_residue()
        assert secrets_in(residue(tmp_path)) == {"shop.db": {}, "shop.db-shm": {}, "shop.db-wal": {}}
        with store.unit_of_work() as uow:
            assert uow.customers.count() == 1 and uow.orders.count() == 1
    finally:
        store.close()
