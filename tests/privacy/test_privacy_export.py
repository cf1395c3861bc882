"""Right of access: the export holds everything about one customer, in the documented, versioned format."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from privacy_builders import T0, activity, customer, message, order

from custdata import Channel, ConsentPurpose, NotFoundError, ValidationError
from custdata.privacy import consent
from custdata.privacy.export import EXPORT_VERSION, FORMAT, export_customer, export_customer_json
from custdata.serialization import SCHEMA_VERSION
from custdata.storage import Store, open_store

NOW = T0 + timedelta(days=30)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[Store]:
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path}/shop.db"
    with open_store(url) as s:
        c = customer()
        consent.request_confirmation(c, ConsentPurpose.MARKETING, Channel.EMAIL, at=T0, source="form")
        consent.confirm(c, ConsentPurpose.MARKETING, Channel.EMAIL, at=T0 + timedelta(minutes=1), source="link")
        with s.unit_of_work() as uow:
            uow.customers.add(c)
            uow.customers.add(customer("cus_other", email="other@example.org", phone="+4930901829"))
            uow.orders.add(order("ord_2", c.id, placed=T0 + timedelta(days=2), address=c.addresses[0]))
            uow.orders.add(order("ord_1", c.id, placed=T0 + timedelta(days=1)))
            uow.orders.add(order("ord_x", "cus_other"))
            uow.communications.add(message("msg_1", c.id, "Your parcel left"))
            uow.activity.add(activity("act_1", c.id, query="trail shoes"))
            uow.commit()
        yield s


def test_export_holds_everything_about_the_customer_and_nothing_else(store: Store) -> None:
    doc = export_customer(store, "cus_ada", clock=lambda: NOW)
    assert (doc["format"], doc["format_version"], doc["model_schema_version"]) == (
        FORMAT,
        EXPORT_VERSION,
        SCHEMA_VERSION,
    )
    assert doc["exported_at"] == NOW.isoformat() and doc["customer_id"] == "cus_ada"
    assert doc["profile"]["given_name"] == "Adelheid" and doc["profile"]["email"] == "adelheid.quenstedt@example.org"
    assert "addresses" not in doc["profile"] and "consents" not in doc["profile"]
    assert doc["profile"]["private_metadata"] == {"support": "called from +4930901820"}
    assert doc["addresses"][0]["street_address_1"] == "Kastanienallee 17"
    assert doc["addresses"][0]["default_shipping"] is True and doc["addresses"][0]["default_billing"] is False
    assert [o["id"] for o in doc["orders"]] == ["ord_1", "ord_2"]
    assert doc["orders"][1]["shipping_address"]["last_name"] == "Quenstedt"
    assert doc["orders"][0]["total"] == {"amount": "108.35", "currency": "EUR"}
    assert [m["body"] for m in doc["communications"]] == ["Your parcel left"]
    assert doc["activity"][0]["properties"]["search"] == "trail shoes"
    assert [r["state"] for r in doc["consent"]["history"]] == ["pending", "subscribed"]
    assert doc["consent"]["current"] == [doc["consent"]["history"][1]]
    assert doc["consent"]["current"][0]["opt_in_level"] == "confirmed"
    assert doc["counts"] == {"addresses": 1, "consent_records": 2, "orders": 2, "communications": 1, "activity": 1}
    assert "ord_x" not in json.dumps(doc)


def test_json_text_round_trips_and_private_metadata_can_be_left_out(store: Store) -> None:
    text = export_customer_json(store, "cus_ada", include_private_metadata=False, clock=lambda: NOW)
    doc = json.loads(text)
    assert "private_metadata" not in doc["profile"] and doc["profile"]["metadata"]
    assert doc == export_customer(store, "cus_ada", include_private_metadata=False, clock=lambda: NOW)


def test_bad_arguments(store: Store) -> None:
    with pytest.raises(NotFoundError):
        export_customer(store, "cus_nobody")
    with pytest.raises(ValidationError, match="clock"):
        export_customer(store, "cus_ada", clock=lambda: NOW.replace(tzinfo=None))
    with pytest.raises(ValidationError, match="include_private_metadata"):
        export_customer(store, "cus_ada", include_private_metadata="yes")  # type: ignore[arg-type]


def test_a_merged_id_exports_the_customer_it_ended_up_in(store: Store) -> None:
    with store.unit_of_work() as uow:
        other = uow.customers.get("cus_other")
        other.merged_into = "cus_ada"  # type: ignore[assignment]
        uow.customers.update(other)
        uow.commit()
    doc = export_customer(store, "cus_other", clock=lambda: NOW)
    assert doc["customer_id"] == "cus_ada" and doc["counts"]["orders"] == 2
