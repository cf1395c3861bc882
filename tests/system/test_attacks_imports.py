"""Orders imported after an erasure: a Shopify order export read again, or one with orders placed since, names the
erased customer's account (or a record merged into it). The orders join the books, pseudonymised: no shipping
address, tracking or note of the erased person comes back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custdata import Customer
from custdata.importing import RejectsList, import_orders, read_rows
from custdata.merge import merge, preview
from custdata.privacy import erase_customer
from custdata.serialization import to_json
from custdata.storage import Store, open_store, walk


def shopify_order(number: int, customer: int, tag: str) -> dict[str, Any]:
    address = {
        "first_name": f"Given{tag}",
        "last_name": f"Family{tag}",
        "address1": f"Street{tag} 17",
        "city": "Berlin",
        "zip": "10435",
        "country_code": "DE",
    }
    return {
        "id": number,
        "email": f"mail.{tag.lower()}@example.com",
        "created_at": "2025-03-13T16:09:54Z",
        "currency": "EUR",
        "line_items": [{"id": 1, "sku": "A", "title": "A", "quantity": 1, "price": "5.00"}],
        "customer": {"id": customer, "first_name": f"Given{tag}", "state": "enabled"},
        "shipping_address": address,
    }


def run(store: Store, path: Path, orders: list[dict[str, Any]]) -> tuple[Any, RejectsList]:
    path.write_text(json.dumps({"orders": orders}), encoding="utf-8")
    rejects = RejectsList()
    return import_orders(store, read_rows(path, "shopify-json"), shopify=True, rejects=rejects), rejects


def orders_text(store: Store, *customer_ids: str) -> str:
    with store.unit_of_work() as uow:
        return "\n".join(
            to_json(o)
            for cid in customer_ids
            for o in walk(lambda c: uow.orders.for_customer(cid, cursor=c))  # noqa: B023 (walked at once)
        )


def test_orders_imported_after_an_erasure_keep_no_personal_data(store: Store, tmp_path: Path) -> None:
    tag = "Quenstedt"
    run(store, tmp_path / "o.json", [shopify_order(9001, 777, tag)])
    assert tag in orders_text(store, "cus_shopify_777")
    erase_customer(store, "cus_shopify_777")
    report, rejects = run(store, tmp_path / "o.json", [shopify_order(9001, 777, tag), shopify_order(9002, 777, tag)])
    assert (report.imported, report.skipped, report.customers_added, rejects.items) == (1, 1, 0, [])
    text = orders_text(store, "cus_shopify_777")
    assert tag not in text and '"ord_shopify_9002"' in text
    with store.unit_of_work() as uow:
        assert str(uow.orders.get("ord_shopify_9002").total) == "5.00 EUR"
        assert uow.customers.get("cus_shopify_777").given_name is None


def test_orders_of_a_record_merged_into_an_erased_customer_keep_no_personal_data(store: Store, tmp_path: Path) -> None:
    tag = "Vandersloot"
    run(store, tmp_path / "o.json", [shopify_order(9001, 777, tag), shopify_order(9002, 778, tag)])
    with store.unit_of_work() as uow:
        merge(uow, preview(uow, "cus_shopify_777", ["cus_shopify_778"]))
        uow.commit()
    erase_customer(store, "cus_shopify_777")
    report, _ = run(store, tmp_path / "o.json", [shopify_order(9003, 778, tag)])
    assert report.imported == 1
    assert tag not in orders_text(store, "cus_shopify_777", "cus_shopify_778")


def test_orders_of_a_customer_who_was_not_erased_keep_their_address(store: Store, tmp_path: Path) -> None:
    run(store, tmp_path / "o.json", [shopify_order(9001, 777, "Ebereschen"), shopify_order(9002, 778, "Linden")])
    erase_customer(store, "cus_shopify_777")
    report, _ = run(store, tmp_path / "o.json", [shopify_order(9003, 778, "Linden")])
    assert report.imported == 1 and orders_text(store, "cus_shopify_778").count("StreetLinden 17") == 2


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    tag=st.text(alphabet="BCDFGHJKLMNPQRSTVWXZ", min_size=8, max_size=12),
    orders=st.lists(st.tuples(st.integers(1, 40), st.sampled_from([777, 778, 779])), min_size=1, max_size=6),
)
def test_no_order_import_brings_an_erased_customer_back(tmp_path_factory: Any, tag: str, orders: list[Any]) -> None:
    tag = f"Xq{tag}"
    folder = tmp_path_factory.mktemp("imports")
    with open_store("memory://") as store:
        run(store, folder / "first.json", [shopify_order(1000 + c, c, tag) for c in (777, 778, 779)])
        with store.unit_of_work() as uow:
            merge(uow, preview(uow, "cus_shopify_777", ["cus_shopify_778"]))
            uow.commit()
        erase_customer(store, "cus_shopify_777")
        run(store, folder / "later.json", [shopify_order(number, customer, tag) for number, customer in orders])
        gone = orders_text(store, "cus_shopify_777", "cus_shopify_778")
        assert tag.lower() not in gone.lower()
        with store.unit_of_work() as uow:
            kept: Customer = uow.customers.get("cus_shopify_779")
        assert kept.given_name == f"Given{tag}"


def test_an_order_twice_in_a_one_line_shopify_file_is_rejected_not_a_failed_batch(store: Store, tmp_path: Path) -> None:
    """``json.dumps`` writes the whole export on one line, so both copies of the order start on line 1."""
    copies = [shopify_order(9001, 777, "Ada"), shopify_order(9002, 777, "Ada"), shopify_order(9001, 777, "Ada")]
    report, rejects = run(store, tmp_path / "o.json", copies)
    assert (report.imported, report.rejected) == (2, 1)
    assert [(field, reason) for _, field, reason in rejects.items] == [("id", "the same order as line 1")]
    again, rejects = run(store, tmp_path / "o.json", copies)
    assert (again.imported, again.skipped, again.rejected) == (0, 2, 1)
