"""``custdata dedupe`` reads the store the way the library's streaming path does: its pairs are the library's on
the same SQLite file, whatever the engine, and it never loads every customer: only the customers of the groups it
merges are read as ``Customer`` objects, each group again in the unit of work that merges it."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from required_extras import require

from custdata import Address, Customer, EmailAddress, PhoneNumber, ValidationError
from custdata.cli import main
from custdata.matching import CustomerRecord, Decision, Matcher, generate_customers, store_records
from custdata.matching.review import NOT_SAME_KEY, not_same_pairs
from custdata.storage import open_store
from custdata.storage.sql.repositories import SqlCustomerRepository

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def _customer_of(record: CustomerRecord, n: int) -> Customer:
    """A guest holding what a synthetic record says, each part that a Customer accepts."""
    fields: dict[str, Any] = {"given_name": record.given_name, "family_name": record.family_name, "is_guest": True}
    parts: list[tuple[str, Callable[[], Any]]] = [
        ("email", lambda: EmailAddress.parse(record.email or "")),
        ("phone", lambda: PhoneNumber.parse(record.phone or "", record.country)),
        ("birthday", lambda: date.fromisoformat(record.birthday or "")),
        (
            "addresses",
            lambda: (
                Address(
                    street_address_1=record.street or "",
                    postal_code=record.postal_code or "",
                    city=record.city or "",
                    country_code=record.country or "",
                ),
            ),
        ),
    ]
    created = T0 + timedelta(hours=(n * 7919) % 1000)  # creation order unrelated to ids
    for name, make in parts:
        try:
            trial = {**fields, name: make()}
            Customer(f"cus_{record.id}", created_at=created, **trial)
        except (ValidationError, ValueError):
            continue
        fields = trial
    customer = Customer(f"cus_{record.id}", created_at=created, **fields)
    if n % 11 == 3:  # a few registered accounts, never merged automatically
        customer = attrs.evolve(customer, is_guest=False)
    if n % 17 == 5:
        customer = attrs.evolve(customer, redacted_at=created)
    return customer


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dedupe") / "shop.db"
    data = generate_customers(600, seed=5)
    with open_store(f"sqlite:///{path}") as store, store.unit_of_work() as uow:
        uow.customers.add_many(_customer_of(r, n) for n, r in enumerate(data.records))
        uow.commit()
    return path


def _cli(*args: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["dedupe", *args]) == 0
    return out.getvalue()


class _Loads:
    """Counts the customers the SQLite repository turns into ``Customer`` objects."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.ids: list[str] = []
        original = SqlCustomerRepository._load

        def counting(repository: Any, rows: Any, column: int = 0) -> Any:
            loaded = original(repository, rows, column)
            self.ids.extend(c.id for c in loaded)
            return loaded

        monkeypatch.setattr(SqlCustomerRepository, "_load", counting)


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_the_cli_lists_the_librarys_pairs_without_loading_the_customers(
    shop: Path, engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if engine == "duckdb":
        require("duckdb", "scale")
    with open_store(f"sqlite:///{shop}") as store:
        expected = Matcher().find_duplicates(store_records(store))
    assert expected.with_decision(Decision.AUTO_MERGE) and expected.with_decision(Decision.REVIEW)
    loads = _Loads(monkeypatch)
    listed = [json.loads(line) for line in _cli("--json", "--engine", engine, "--store", str(shop)).splitlines()]
    assert [(p["left"], p["right"], p["score"], p["decision"]) for p in listed] == [
        (p.left, p.right, round(p.score, 3), p.decision.value) for p in expected
    ]
    assert loads.ids == []


def test_merging_reads_only_the_customers_it_merges_and_keeps_the_oldest(
    tmp_path: Path, shop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "shop.db"
    path.write_bytes(shop.read_bytes())
    with open_store(f"sqlite:///{path}") as store:
        sure = Matcher().find_duplicates(store_records(store)).with_decision(Decision.AUTO_MERGE)
        with store.unit_of_work() as uow:
            before = uow.customers.get_many({i for p in sure for i in p.ids})
    in_pairs = {i for p in sure for i in p.ids}
    assert sure and all(c.is_guest for c in before.values())
    loads = _Loads(monkeypatch)
    out = _cli("--merge", "--store", str(path))
    assert set(loads.ids) == in_pairs  # the customers of the merged groups (read to merge them), nobody else
    assert "merged" in out
    monkeypatch.undo()
    with open_store(f"sqlite:///{path}") as store, store.unit_of_work() as uow:
        after: dict[str, Customer] = {str(k): v for k, v in uow.customers.get_many(in_pairs).items()}
    for pair in sure:
        left, right = after[pair.left], after[pair.right]
        survivor = left.merged_into or right.merged_into
        assert survivor is not None
        group = [c for c in before.values() if after[c.id].merged_into == survivor or c.id == survivor]
        oldest = min(group, key=lambda c: (c.created_at, c.id))
        assert oldest.id == survivor and after[survivor].merged_into is None


def test_memory_limit_is_for_duckdb_only_and_checked(shop: Path) -> None:
    require("duckdb", "scale")
    for args, said in [
        (["--memory-limit", "1GB"], "--memory-limit applies to --engine duckdb only"),
        (["--engine", "duckdb", "--memory-limit", "lots"], "memory_limit: must be a size such as '1GB'"),
    ]:
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            assert main(["dedupe", *args, "--store", str(shop)]) != 0
        assert said in err.getvalue()
    out = _cli("--engine", "duckdb", "--memory-limit", "128MB", "--json", "--store", str(shop))
    assert out == _cli("--json", "--store", str(shop))


IDS = [f"cus_{n}" for n in range(6)]
MARKS = st.one_of(
    st.lists(st.one_of(st.sampled_from([*IDS, "", "cus_gone"]), st.integers(), st.none()), max_size=4),
    st.text(st.characters(exclude_characters="\x00"), max_size=4),
    st.integers(),
    st.none(),
    st.dictionaries(st.text(st.characters(exclude_characters="\x00"), max_size=2), st.integers(), max_size=1),
)


@st.composite
def marked_customers(draw: st.DrawFn) -> list[Customer]:
    customers = []
    for n, customer_id in enumerate(IDS):
        private = {} if draw(st.booleans()) else {NOT_SAME_KEY: draw(MARKS)}
        customer = Customer(customer_id, created_at=T0, given_name=f"Ana{n}", private_metadata=private)
        fate = draw(st.sampled_from(["kept", "kept", "merged", "erased"]))
        if fate == "merged":
            customer = attrs.evolve(customer, merged_into=draw(st.sampled_from([i for i in IDS if i != customer_id])))
        elif fate == "erased":
            customer = attrs.evolve(customer, redacted_at=T0)
        customers.append(customer)
    return customers


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(customers=marked_customers())
@example(
    customers=[
        Customer("cus_0", created_at=T0, private_metadata={NOT_SAME_KEY: ["", "cus_1", 3, "cus_2"]}),
        Customer("cus_1", created_at=T0, private_metadata={NOT_SAME_KEY: "cus_0"}),
        Customer("cus_2", created_at=T0, merged_into="cus_3"),
        Customer("cus_3", created_at=T0),
        Customer("cus_4", created_at=T0, redacted_at=T0, private_metadata={NOT_SAME_KEY: ["cus_3"]}),
    ]
)
def test_not_same_marks_read_from_documents_equal_those_read_from_customers(
    tmp_path: Path, customers: list[Customer]
) -> None:
    """The SQLite store's marks come from its stored documents, the memory store's from its customers: the same
    pairs, whatever shape the marks have, through merge chains, with erased customers' marks left out."""
    found = []
    for url in ("memory://", f"sqlite:///{tmp_path}/marks{len(list(tmp_path.iterdir()))}.db"):
        with open_store(url) as store:
            with store.unit_of_work() as uow:
                uow.customers.add_many(customers)
                uow.commit()
            found.append(not_same_pairs(store))
    assert found[0] == found[1]
