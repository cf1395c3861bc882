"""The classification of the fields that may carry personal data by the way they are used, and erasure following
the marks: a field marked personal or linked is cleared without any change to the erasure functions."""

from __future__ import annotations

from datetime import UTC, datetime

import attrs
import pytest

from custdata import ActivityEvent, CommunicationEvent, Customer, Money, Order, OrderLine, ProgrammingError
from custdata.domain import Personal, classification
from custdata.domain.enums import Channel, CommunicationStatus, Topic
from custdata.domain.order import ExternalRef
from custdata.domain.personal import LINKED, NOT_PERSONAL, PERSONAL, erased_values
from custdata.privacy.erasure import pseudonymise_order, redact_customer, scrub_activity, scrub_communication

T0 = datetime(2024, 5, 1, 12, tzinfo=UTC)


def test_the_decided_marks() -> None:
    # free-text attributes may hold an engraving; groups such as "staff" or "press" say what a person does;
    # a notifier's reason may quote the address; the source of an event may name a device
    assert classification(OrderLine, "variant") is Personal.LINKED
    assert classification(Customer, "groups") is Personal.LINKED
    assert classification(CommunicationEvent, "suppression_reason") is Personal.PERSONAL
    assert classification(ActivityEvent, "source") is Personal.LINKED
    # keys built from ids, topics and times, and a platform's own id, link records but hold nothing else
    assert classification(CommunicationEvent, "idempotency_key") is Personal.IDENTIFIER
    assert classification(ExternalRef, "id") is Personal.IDENTIFIER


def test_erasure_clears_the_newly_marked_fields() -> None:
    line = OrderLine("l1", "RING", "Ring", 1, Money("10", "EUR"), {"engraving": "For Jane, love Tom"})
    order = Order("ord_1", "cus_1", "EUR", (line,), T0)
    assert pseudonymise_order(order).lines[0].variant == {}
    customer = Customer(id="cus_1", created_at=T0, groups=frozenset({"staff"}))
    assert redact_customer(customer, at=T0) and customer.groups == frozenset()
    event = CommunicationEvent(
        id="com_1", customer_id="cus_1", channel=Channel.EMAIL, topic=Topic.ORDER_SHIPPED, created_at=T0,
        status=CommunicationStatus.SUPPRESSED, suppression_reason="not sent: 550 jane@example.com unknown",
    )  # fmt: skip
    scrubbed = scrub_communication(event)
    assert scrubbed.status is CommunicationStatus.SUPPRESSED and "jane" not in (scrubbed.suppression_reason or "")
    activity = ActivityEvent(
        id="act_1", event="Product Viewed", occurred_at=T0, customer_id="cus_1", source="Jane's phone"
    )
    assert scrub_activity(activity).source is None


def test_erasure_follows_the_marks_of_any_model() -> None:
    @attrs.frozen
    class Note:
        id: str = attrs.field(metadata=NOT_PERSONAL)
        author: str | None = attrs.field(default=None, metadata=PERSONAL)
        mood: str = attrs.field(default="fine", metadata=LINKED)

    assert attrs.evolve(Note("n1", "Jane", "sad"), **erased_values(Note("n1", "Jane", "sad"))) == Note("n1")

    @attrs.frozen
    class Careless:
        author: str = attrs.field(metadata=PERSONAL)

    with pytest.raises(ProgrammingError, match=r"Careless\.author"):
        erased_values(Careless("Jane"))
