"""Matching customers streamed from a store (memory and a real SQLite file)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from custdata import Address, Customer, EmailAddress, PhoneNumber, ValidationError
from custdata.matching import REGISTERED_REASON, Decision, Matcher, store_records
from custdata.storage import Store, open_store

T0 = datetime(2025, 3, 1, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path}/shop.db"
    with open_store(url) as opened:
        yield opened


def _customer(customer_id: str, given: str, **extra: object) -> Customer:
    home = Address(street_address_1="Hauptstraße 5", city="Berlin", postal_code="10115", country_code="DE")
    return Customer(
        customer_id,
        created_at=T0,
        given_name=given,
        family_name="Schneider",
        addresses=(home,),
        default_shipping_address=0,
        **extra,  # type: ignore[arg-type]
    )


def test_duplicates_in_a_store_are_found_and_merged_or_redacted_ones_skipped(store: Store) -> None:
    email = EmailAddress("k.schneider@example.de")
    with store.unit_of_work() as uow:
        uow.customers.add_many(
            [
                _customer("cus_1", "Katharina", email=email, phone=PhoneNumber.parse("+49 30 2345678")),
                _customer("cus_2", "Kathi", other_emails=(EmailAddress("K.Schneider@example.de"),), is_guest=True),
                _customer("cus_3", "Katharina", merged_into="cus_1"),
                _customer("cus_4", "Katharina", redacted_at=T0),
                _customer("cus_5", "Otto"),
            ]
        )
        uow.commit()
    assert [r.id for r in store_records(store, page_size=2)] == ["cus_1", "cus_2", "cus_5"]
    with store.unit_of_work() as uow:
        assert [r.id for r in store_records(uow, include_merged=True)] == ["cus_1", "cus_2", "cus_3", "cus_5"]
    result = Matcher().find_duplicates(store_records(store))
    assert [(p.left, p.right) for p in result] == [("cus_1", "cus_2")]
    # cus_1 is a registered account: however sure the evidence, the pair goes to a person
    assert result.pairs[0].decision is Decision.REVIEW and result.pairs[0].reason == REGISTERED_REASON
    assert result.pairs[0].score >= Matcher().auto_merge
    assert result.pairs[0].field("email").level == "exact"


def test_bad_sources_are_refused() -> None:
    with pytest.raises(ValidationError, match="source"):
        list(store_records("sqlite:///shop.db"))  # type: ignore[arg-type]
    with open_store("memory://") as store, pytest.raises(ValidationError, match="limit"):
        list(store_records(store, page_size=0))
