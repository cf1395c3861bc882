"""PostgreSQL-specific behaviour: URLs and options, the pool, row locks, savepoints, JSONB documents, indexes."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pg_test_server import PostgresServer, free_port

from custdata import (
    ConflictError,
    EmailAddress,
    ExternalRef,
    IntegrityError,
    OperationalError,
    PhoneNumber,
    ProgrammingError,
    ValidationError,
)
from custdata.storage import CustomerQuery, open_store
from custdata.storage.postgres import PostgresSession, PostgresStore, jsonb_safe, public_url, split_url
from custdata.testing.store_contract import T0, make_activity, make_customer, make_message, make_order

NewStore = Callable[..., PostgresStore]


# -- URLs and options -------------------------------------------------------------------------------------------


def test_open_store_url_reaches_postgres_and_hides_the_password(pg_server: PostgresServer) -> None:
    url = (
        f"postgresql://postgres:s3cret-pw@127.0.0.1:{pg_server.port}/postgres"
        "?schema=url_options&application_name=shop-api&timeout=3&pool_max_size=3"
    )
    store = open_store(url)
    try:
        assert isinstance(store, PostgresStore)
        assert "s3cret-pw" not in store.url and "s3cret-pw" not in repr(store)
        assert store.url.startswith("postgresql://postgres@127.0.0.1:")
        assert (store.schema, store.timeout) == ("url_options", 3.0)
        with store.unit_of_work() as uow:
            session = uow.session
            assert isinstance(session, PostgresSession)
            row = session.fetch_one(
                "SELECT current_setting('application_name'), current_schema(), current_setting('lock_timeout')"
            )
        assert row == ("shop-api", "url_options", "3s")
    finally:
        store.close()


def test_split_and_public_url_keep_libpq_options_and_drop_secrets() -> None:
    conninfo, ours = split_url("postgres://u:p@h:5/db?sslmode=require&schema=s&timeout=2&options=-c%20x%3Dy")
    assert conninfo == "postgres://u:p@h:5/db?sslmode=require&options=-c%20x%3Dy"
    assert ours == {"schema": "s", "timeout": "2"}
    assert public_url("postgresql://u:p@h/db?password=q&schema=s") == "postgresql://u@h/db?schema=s"
    assert public_url("postgresql://:p@h/db") == "postgresql://h/db"


@pytest.mark.parametrize(
    ("query", "options"),
    [
        ("?pool_max_size=0", {}),
        ("?pool_min_size=x", {}),
        ("?timeout=abc", {}),
        ("?timeout=-1", {}),
        ("", {"timeout": 0}),
        ("", {"schema": ""}),
        ("", {"schema": "s" * 64}),
        ("", {"pool_min_size": 5, "pool_max_size": 2}),
    ],
)
def test_bad_options_are_programming_errors(pg_url: str, query: str, options: dict[str, Any]) -> None:
    with pytest.raises(ProgrammingError):
        PostgresStore(pg_url + query, **options)


def test_a_url_of_another_scheme_is_refused() -> None:
    with pytest.raises(ProgrammingError, match="postgresql://"):
        PostgresStore("mysql://root@127.0.0.1/shop")


def test_unreachable_server_or_missing_database_is_an_operational_error(pg_server: PostgresServer) -> None:
    started = time.monotonic()
    with pytest.raises(OperationalError, match="connection"):
        PostgresStore(f"postgresql://postgres@127.0.0.1:{free_port()}/postgres?connect_timeout=2")
    with pytest.raises(OperationalError, match="connection"):
        PostgresStore(pg_server.url("no_such_database"))
    assert time.monotonic() - started < 10


def test_import_custdata_does_not_import_psycopg_and_a_missing_extra_names_the_install() -> None:
    script = (
        "import sys\n"
        "import custdata, custdata.storage\n"
        "assert 'psycopg' not in sys.modules, 'import custdata pulled in psycopg'\n"
        "sys.modules['psycopg'] = None\n"
        "try:\n"
        "    custdata.storage.open_store('postgresql://u@127.0.0.1:1/db')\n"
        "except custdata.MissingExtraError as exc:\n"
        "    print(exc)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "pip install 'custdata[postgres]'" in result.stdout


# -- pool, locks and transactions -----------------------------------------------------------------------------


def test_an_exhausted_pool_is_an_operational_error_after_the_timeout(new_store: NewStore) -> None:
    store = new_store(pool_max_size=1, timeout=0.3)
    with store.unit_of_work():
        started = time.monotonic()
        with pytest.raises(OperationalError, match="connection"), store.unit_of_work():
            pass
        assert 0.25 < time.monotonic() - started < 5
    with store.unit_of_work() as uow:
        assert uow.customers.count() == 0


def test_a_writer_waiting_too_long_for_a_row_lock_gets_an_operational_error(new_store: NewStore) -> None:
    store = new_store(timeout=0.5)
    customer = make_customer()
    with store.unit_of_work() as uow:
        uow.customers.add(customer)
        uow.commit()
    with store.unit_of_work() as first:
        mine = first.customers.get(customer.id)
        mine.display_name = "first"
        first.customers.update(mine)
        with store.unit_of_work() as second:
            theirs = second.customers.get(customer.id)
            theirs.display_name = "second"
            started = time.monotonic()
            with pytest.raises(OperationalError, match="lock"):
                second.customers.update(theirs)
            assert time.monotonic() - started >= 0.4
            assert theirs.version == 0
        first.commit()
    with store.unit_of_work() as uow:
        stored = uow.customers.get(customer.id)
        assert (stored.display_name, stored.version) == ("first", 1)


def test_a_failed_write_is_undone_alone_and_the_unit_of_work_goes_on(new_store: NewStore) -> None:
    store = new_store()
    first, second = make_customer(), make_customer()
    with store.unit_of_work() as uow:
        uow.customers.add(first)
        with pytest.raises(IntegrityError):
            uow.customers.add(make_customer(id=first.id))
        with pytest.raises(IntegrityError):
            uow.orders.add(make_order("nobody"))
        uow.customers.add(second)
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.customers.get_many([first.id, second.id]) == {first.id: first, second.id: second}
        assert uow.orders.count() == 0


def test_a_failed_read_inside_a_transaction_never_lets_commit_pretend(new_store: NewStore) -> None:
    store = new_store()
    lost, kept = make_customer(), make_customer()
    with store.unit_of_work() as uow:
        uow.customers.add(lost)
        with pytest.raises(ProgrammingError):
            uow.session.fetch_all("SELECT * FROM no_such_table")
        with pytest.raises(OperationalError, match="earlier statement"):
            uow.customers.count()
        with pytest.raises(OperationalError, match="rolled back"):
            uow.commit()
        uow.customers.add(kept)
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.customers.get_many([lost.id, kept.id]) == {kept.id: kept}


def test_a_statement_timeout_is_an_operational_error(new_store: NewStore) -> None:
    store = new_store()
    with store.unit_of_work() as uow:
        uow.session.fetch_all("SELECT set_config('statement_timeout', '50ms', false)")
        try:
            with pytest.raises(OperationalError, match="cancelled"):
                uow.session.fetch_all("SELECT pg_sleep(2)")
        finally:
            uow.session.fetch_all("SELECT set_config('statement_timeout', '0', false)")


def test_a_connection_killed_by_the_server_fails_one_unit_of_work_then_the_store_recovers(
    new_store: NewStore,
) -> None:
    store = new_store(pool_max_size=1)
    with store.unit_of_work() as uow:
        row = uow.session.fetch_one("SELECT pg_backend_pid()")
        assert row is not None
        pid = row[0]
    with store.unit_of_work() as uow:  # a second connection, outside the store's pool, does the killing
        import psycopg

        with psycopg.connect(store._conninfo, autocommit=True) as killer:
            killer.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with pytest.raises(OperationalError):
            uow.customers.count()
    with store.unit_of_work() as uow:
        assert uow.customers.count() == 0


def test_a_real_deadlock_is_reported_to_one_writer_and_the_other_commits(new_store: NewStore) -> None:
    import threading

    store = new_store(timeout=10)
    a, b = make_customer(), make_customer()
    with store.unit_of_work() as uow:
        uow.customers.add_many([a, b])
        uow.commit()
    barrier = threading.Barrier(2)
    outcome: dict[str, object] = {}

    def writer(name: str, order: tuple[str, str]) -> None:
        try:
            with store.unit_of_work() as uow:
                for n, key in enumerate(order):
                    current = uow.customers.get(key)
                    current.display_name = name
                    uow.customers.update(current)
                    if n == 0:
                        barrier.wait(timeout=10)
                uow.commit()
            outcome[name] = "committed"
        except OperationalError as exc:
            outcome[name] = exc

    threads = [
        threading.Thread(target=writer, args=("one", (a.id, b.id))),
        threading.Thread(target=writer, args=("two", (b.id, a.id))),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    results = sorted(outcome.values(), key=str)
    assert results[-1] == "committed"
    assert isinstance(results[0], OperationalError) and "retry" in str(results[0])
    with store.unit_of_work() as uow:
        winner = next(k for k, v in outcome.items() if v == "committed")
        assert {c.display_name for c in uow.customers.get_many([a.id, b.id]).values()} == {winner}


# -- documents ----------------------------------------------------------------------------------------------------


def test_documents_are_jsonb_and_keys_sort_in_code_point_order(new_store: NewStore) -> None:
    store = new_store()
    with store.unit_of_work() as uow:
        types = dict(
            uow.session.fetch_all(
                "SELECT table_name, data_type FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND column_name = 'doc'"
            )
        )
        collations = uow.session.fetch_all(
            "SELECT DISTINCT collation_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND data_type = 'text' AND column_name <> 'description'"
        )
    assert types == dict.fromkeys(("customers", "orders", "communications", "activity"), "jsonb")
    assert collations == [("C",)]


_FLOATS = st.floats(allow_nan=False, allow_infinity=False)


@pytest.fixture(scope="module")
def shared_store(pg_url: str) -> Any:
    store = PostgresStore(pg_url, schema="shared_documents")
    yield store
    store.close()


@given(value=_FLOATS, others=st.lists(_FLOATS | st.integers(), max_size=4))
@example(value=1.2345678901234567e20, others=[1.7976931348623157e308, 5e-324, 1e16, -1.5e300])
@example(value=-0.0, others=[2**63, -(2**70), 1e-7])
@settings(max_examples=40, deadline=None)
def test_numbers_in_metadata_read_back_equal_and_of_the_same_type(
    shared_store: PostgresStore, value: float, others: list[float | int]
) -> None:
    customer = make_customer(metadata={"x": value, "list": others, "text": "1e+16 \\u0000 e+5", "1e+9": [value]})
    with shared_store.unit_of_work() as uow:
        uow.customers.add(customer)
        uow.commit()
    with shared_store.unit_of_work() as uow:
        stored = uow.customers.get(customer.id)
    assert stored == customer
    assert [type(v) for v in stored.metadata["list"]] == [type(v) for v in others]
    assert type(stored.metadata["x"]) is float and stored.metadata["text"] == "1e+16 \\u0000 e+5"


def test_jsonb_safe_leaves_strings_and_small_numbers_alone() -> None:
    doc = '{"a":"x\\"1e+16","b":1e+16,"c":[-2.5e+300],"d":1e-05,"e":12}'
    assert jsonb_safe(doc) == (
        '{"a":"x\\"1e+16","b":10000000000000000.0,"c":[-25' + "0" * 299 + '.0],"d":1e-05,"e":12}'
    )


def test_nul_characters_are_refused_before_they_reach_the_database(new_store: NewStore) -> None:
    store = new_store()
    with store.unit_of_work() as uow:
        with pytest.raises(ValidationError):
            uow.customers.add(make_customer(metadata={"key\x00": 1}))
        uow.customers.add(make_customer(metadata={"escaped": "\\u0000"}))
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.customers.count() == 1


def test_values_the_database_cannot_hold_are_validation_errors_without_the_value(new_store: NewStore) -> None:
    store = new_store()
    customer = make_customer(display_name="Very Private Person")
    customer.version = 2**70
    with store.unit_of_work() as uow:
        with pytest.raises(ValidationError) as caught:
            uow.customers.add(customer)
        assert str(2**70) not in str(caught.value) and "Private" not in str(caught.value)
        uow.customers.add(make_customer(id=customer.id))
        customer.version = 0
        with pytest.raises(IntegrityError) as duplicate:
            uow.customers.add(customer)
        assert customer.id not in str(duplicate.value) and "Private" not in str(duplicate.value)


# -- indexes ---------------------------------------------------------------------------------------------------------


def test_every_query_the_repositories_issue_can_use_an_index(
    new_store: NewStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = new_store()
    customer = make_customer(
        tags=frozenset({"vip"}), groups=frozenset({"b2b"}), phone=PhoneNumber.parse("+49 30 1234567")
    )
    order = make_order(customer.id, external_ref=ExternalRef("shopify", "1"))
    message = make_message(customer.id, idempotency_key="k-1")
    event = make_activity(customer.id)
    with store.unit_of_work() as uow:
        uow.customers.add(customer)
        uow.orders.add(order)
        uow.communications.add(message)
        uow.activity.add(event)
        uow.commit()

    issued: list[tuple[str, Any]] = []
    original_all, original_one = PostgresSession.fetch_all, PostgresSession.fetch_one

    def record_all(self: PostgresSession, sql: str, params: Any = ()) -> Any:
        issued.append((sql, params))
        return original_all(self, sql, params)

    def record_one(self: PostgresSession, sql: str, params: Any = ()) -> Any:
        issued.append((sql, params))
        return original_one(self, sql, params)

    monkeypatch.setattr(PostgresSession, "fetch_all", record_all)
    monkeypatch.setattr(PostgresSession, "fetch_one", record_one)
    with store.unit_of_work() as uow:
        uow.customers.get(customer.id)
        uow.customers.get_many([customer.id, "other"])
        uow.customers.find_by_email(customer.email or EmailAddress("x@example.com"))
        uow.customers.find_by_phone("+49 30 1234567")
        queries = [
            CustomerQuery(name_prefix="ad"),
            CustomerQuery(tag="vip"),
            CustomerQuery(group="b2b"),
            CustomerQuery(country="DE"),
            CustomerQuery(created_from=T0, created_to=T0 + timedelta(days=1)),
            CustomerQuery(updated_from=T0),
        ]
        for query in queries:
            uow.customers.search(query, limit=1)
            uow.customers.count(query)
        uow.customers.search(cursor=uow.customers.search(limit=1).next_cursor or None)
        uow.orders.find_by_external_ref(ExternalRef("shopify", "1"))
        uow.communications.find_by_idempotency_key("k-1")
        for repository in (uow.orders, uow.communications, uow.activity):
            repository.for_customer(customer.id, limit=1)
            repository.count(customer_id=customer.id)
            repository.page(limit=1)
        stale = uow.orders.get(order.id)
        stale.version = 5
        with pytest.raises(ConflictError):
            uow.orders.update(stale)
    monkeypatch.undo()
    assert len(issued) > 30

    with store.unit_of_work() as uow:
        uow.session.fetch_all("SELECT set_config('enable_seqscan', 'off', false)")
        try:
            for sql, params in issued:
                plan = "\n".join(row[0] for row in uow.session.fetch_all("EXPLAIN " + sql, params))
                assert "Seq Scan" not in plan, f"no index serves:\n{sql}\n{plan}"
        finally:
            uow.session.fetch_all("SELECT set_config('enable_seqscan', 'on', false)")
