"""Data for the erasure tests: a customer to erase and one to keep, and the personal data to look for."""

from __future__ import annotations

from datetime import timedelta

from privacy_builders import T0, activity, customer, message, order

from custdata import Channel, ConsentPurpose, Customer, EmailAddress
from custdata.privacy import consent
from custdata.storage import Store

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
