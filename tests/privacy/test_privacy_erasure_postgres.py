"""Export and erasure on a real PostgreSQL server: after erasure, no trace of the customer in any table's text."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from erasure_checks import ERASED, KEPT, check_financials, found, seed
from privacy_builders import T0

from custdata.privacy.erasure import erase_customer
from custdata.privacy.export import export_customer

NOW = T0 + timedelta(days=400)


def _table_texts(pg_url: str, schema: str) -> dict[str, str]:
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


def test_postgres_tables_hold_no_trace_of_the_erased_customer(pg_url: str, new_store: Callable[..., Any]) -> None:
    store = new_store()
    seed(store)
    exported = export_customer(store, "cus_ada", clock=lambda: NOW)
    assert exported["counts"] == {"addresses": 1, "consent_records": 1, "orders": 2, "communications": 2, "activity": 2}
    assert exported["profile"]["other_emails"] == ["ada.work@example.net"]
    before = _table_texts(pg_url, store.schema)
    assert {"customers", "customer_keys", "orders", "communications", "activity"} <= set(before)
    assert found("\n".join(before.values()), ERASED) == set(ERASED)
    report = erase_customer(store, "cus_ada", clock=lambda: NOW)
    assert report.purged and report.customers == ("cus_ada", "cus_ada_guest")
    after = _table_texts(pg_url, store.schema)
    for table, text in after.items():
        assert found(text, ERASED) == set(), table
    assert found("\n".join(after.values()), KEPT) == set(KEPT)
    check_financials(store)
    again = erase_customer(store, "cus_ada", clock=lambda: NOW + timedelta(days=1))
    assert not again.changed and again.erased_at == NOW


def test_postgres_retention_sweep(pg_url: str, new_store: Callable[..., Any]) -> None:
    from custdata.privacy import RetentionPolicy, sweep

    store = new_store()
    seed(store)
    policy = RetentionPolicy(activity=timedelta(days=30), communications=timedelta(days=30))
    report = sweep(store, policy, clock=lambda: NOW, page_size=3)
    assert (report.activity_deleted, report.communications_scrubbed, report.purged) == (4, 4, True)
    texts = _table_texts(pg_url, store.schema)
    assert "Dear Adelheid" not in texts["communications"] and texts["activity"] == ""
    assert sweep(store, policy, clock=lambda: NOW).changed == 0
