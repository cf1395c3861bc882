"""Random mixtures of customer files (registered and guest rows, with and without ids, shared addresses) and guest
order files, imported in random order into a real SQLite store: identities stay apart, re-runs change nothing,
ids hold no address, and erasure leaves no address nor hash of one in the database files."""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custdata import Customer
from custdata.domain import EmailAddress
from custdata.importing import (
    ImportOptions,
    RejectsList,
    has_email_derived_id,
    import_customers,
    import_orders,
    read_rows,
)
from custdata.importing.convert import legacy_email_id, source_customer_id
from custdata.privacy.erasure import erase_customer
from custdata.storage import Store, open_store, walk

NOW = datetime(2026, 1, 15, 12, tzinfo=UTC)
OPTIONS = ImportOptions(now=NOW)
#: Local parts without hex digits, so that finding one inside an id cannot be a coincidence.
EMAILS = ("ulrike.worm@example.com", "Ulrike.Worm@Example.com", "quinn@example.org", "sly@example.net")
CUSTOMER_HEADER = ["id", "email", "given_name", "is_guest"]
ORDER_HEADER = ["order_id", "customer_email", "currency", "placed_at", "sku", "quantity", "unit_price"]

customer_rows = st.lists(
    st.tuples(
        st.sampled_from([None, "r1", "r2", "r3"]),  # the id column's value, None: left empty
        st.sampled_from(EMAILS),
        st.sampled_from(["Ana", "Ben", "Cleo"]),
        st.booleans(),  # guest
    ),
    min_size=1,
    max_size=6,
)
order_rows = st.lists(st.tuples(st.integers(1, 8), st.sampled_from(EMAILS)), min_size=1, max_size=5)
runs = st.lists(
    st.one_of(st.tuples(st.just("customers"), customer_rows), st.tuples(st.just("orders"), order_rows)),
    min_size=1,
    max_size=4,
)


def write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def files(folder: Path, plan: Sequence[tuple[str, list[tuple[object, ...]]]]) -> list[tuple[str, Path]]:
    out = []
    for n, (kind, rows) in enumerate(plan):
        if kind == "customers":
            cells = [[str(i or ""), str(e), str(g), "yes" if guest else "no"] for i, e, g, guest in rows]
            out.append((kind, write(folder / f"c{n}.csv", CUSTOMER_HEADER, cells)))
        else:
            cells = [[f"o{ref}", str(e), "EUR", "2025-06-01T10:00:00Z", "SKU", "1", "9.99"] for ref, e in rows]
            out.append((kind, write(folder / f"o{n}.csv", ORDER_HEADER, cells)))
    return out


def everyone(store: Store) -> list[Customer]:
    with store.unit_of_work() as uow:
        return list(walk(lambda c: uow.customers.search(cursor=c)))


def import_all(store: Store, plan: list[tuple[str, Path]]) -> list[tuple[int, int, int, int]]:
    reports = []
    for kind, path in plan:
        rejects = RejectsList()
        importer = import_customers if kind == "customers" else import_orders
        report = importer(store, read_rows(path, "csv"), options=OPTIONS, rejects=rejects)
        assert report.imported + report.skipped + report.rejected == report.read or kind == "orders"
        # the only refusals: a second record of the same customer (same id, or same address and kind) or order
        expected = ("the same", "rows of one order must follow each other")
        assert all(reason.startswith(expected) for _, _, reason in rejects.items), rejects.items
        reports.append((report.imported, report.skipped, report.rejected, report.customers_added))
    return reports


def traces(email: str) -> list[bytes]:
    canonical = email.lower()
    out = [canonical.encode(), canonical.split("@")[0].encode()]
    for name in ("sha256", "sha1", "md5", "blake2b"):
        digest = hashlib.new(name, canonical.encode())
        out += [digest.hexdigest()[:16].encode(), digest.digest()[:12]]
    return out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=runs, erase=st.sampled_from(EMAILS))
def test_imports_keep_identities_apart_and_leave_nothing_after_erasure(
    tmp_path_factory: pytest.TempPathFactory, plan: list[tuple[str, list[tuple[object, ...]]]], erase: str
) -> None:
    folder = tmp_path_factory.mktemp("mix")
    db = folder / "shop.db"
    inputs = files(folder, plan)
    with open_store(f"sqlite:///{db}") as store:
        import_all(store, inputs)
        stored = everyone(store)
        by_id = {c.id: c for c in stored}
        with store.unit_of_work() as uow:
            orders = list(walk(lambda c: uow.orders.page(cursor=c)))

        # every registered row is stored, as its own row says (the first row of a customer in its file)
        for kind, rows in plan:
            if kind != "customers":
                continue
            first: dict[object, tuple[object, ...]] = {}
            for row in rows:
                ref, email, _, guest = row
                key = ref or (str(email).lower(), guest)
                first.setdefault(key, row)
            for ref, email, name, guest in first.values():
                if guest:
                    continue
                canonical = EmailAddress.parse(str(email)).canonical
                if ref is not None:
                    # a later file may carry the same id: the first import of it is the one kept
                    assert source_customer_id("import", str(ref)) in by_id
                else:
                    assert any(
                        not c.is_guest
                        and c.email
                        and c.email.canonical == canonical
                        and c.metadata.get("imported_from")
                        for c in stored
                    ), (email, name)

        # no registered customer has an order (all orders here are guest checkouts); every guest order's record
        # is a guest record with the order's address
        refs: dict[str, object] = {}
        for kind, rows in plan:
            for ref, email in rows if kind == "orders" else ():
                refs.setdefault(f"o{ref}", email)  # an order's first record names its customer
        for order in orders:
            owner = by_id[order.customer_id]
            assert owner.is_guest and owner.email is not None
            assert owner.email.canonical == EmailAddress.parse(str(refs[order.external_ref.id])).canonical  # type: ignore[union-attr]

        # no id holds an address or is computable from one without a secret
        for c in stored:
            assert not has_email_derived_id(c)
            for email in c.emails:
                assert c.id != legacy_email_id("import", email)
                assert email.canonical.split("@")[0] not in c.id.lower()
                assert hashlib.sha256(email.canonical.encode()).hexdigest()[:16] not in c.id

        # a second run of every file changes nothing
        again = import_all(store, inputs)
        assert all(imported == 0 and added == 0 for imported, _, _, added in again), again
        assert everyone(store) == stored

        # erasing every record with one address leaves neither it nor a hash of it in the files
        with store.unit_of_work() as uow:
            targets = [c.id for c in uow.customers.find_by_email(erase)]
        for customer_id in targets:
            erase_customer(store, customer_id)
        raw = b"".join(p.read_bytes() for p in folder.glob("shop.db*"))
        data = raw + raw.lower()
        assert [t for t in traces(erase) if t in data] == []
