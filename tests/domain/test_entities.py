"""Customers, orders, shipments, returns and communication events check themselves."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from custdata import (
    ORDER_TRANSITIONS,
    ActivityEvent,
    Address,
    Channel,
    CommunicationEvent,
    CommunicationStatus,
    Company,
    CompanyMembership,
    ConsentPurpose,
    ConsentRecord,
    ConsentState,
    Customer,
    CustomerId,
    EmailAddress,
    InvalidTransitionError,
    Money,
    Order,
    OrderLine,
    OrderStatus,
    PhoneNumber,
    Preferences,
    Return,
    ReturnLine,
    ReturnReason,
    ReturnStatus,
    Shipment,
    Topic,
    TrackingEvent,
    TrackingStatus,
    ValidationError,
)

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
BERLIN = Address(
    first_name="Ada",
    last_name="Lovelace",
    street_address_1="Hauptstr. 1",
    city="Berlin",
    postal_code="10115",
    country_code="DE",
)


def paths(exc: pytest.ExceptionInfo[ValidationError]) -> set[str]:
    return {p.path for p in exc.value.problems}


class TestCustomer:
    def test_a_full_customer(self) -> None:
        c = Customer(
            id=CustomerId.new(),
            created_at=NOW,
            given_name="Ada",
            family_name="Lovelace",
            email=EmailAddress.parse("ada@example.com"),
            other_emails=(EmailAddress.parse("a.l@example.org"),),
            phone=PhoneNumber.parse("+49 30 1234567"),
            addresses=(BERLIN,),
            default_shipping_address=0,
            default_billing_address=0,
            company=CompanyMembership(Company("com_1", "Analytical Engines Ltd", vat_id="de 123.456.789")),
            tags=frozenset({"vip"}),
            locale="de_at",
            timezone="Europe/Vienna",
            preferences=Preferences(
                channels=(Channel.SMS, Channel.EMAIL), quiet_hours_start=time(22), quiet_hours_end=time(7)
            ),
            consents=(
                ConsentRecord(ConsentPurpose.MARKETING, Channel.EMAIL, ConsentState.SUBSCRIBED, NOW, source="checkout"),
            ),
        )
        assert c.id.startswith("cus_") and isinstance(c.id, CustomerId)
        assert c.name == "Ada Lovelace" and c.shipping_address == BERLIN and c.locale == "de-AT"
        assert c.company is not None and c.company.company.vat_id == "DE123456789"
        assert c.updated_at == c.created_at and c.version == 0
        assert c.consent(ConsentPurpose.MARKETING, Channel.EMAIL).state == ConsentState.SUBSCRIBED  # type: ignore[union-attr]
        assert c.consent(ConsentPurpose.MARKETING, Channel.SMS) is None
        assert len(c.emails) == 2

    def test_every_problem_is_listed(self) -> None:
        with pytest.raises(ValidationError) as info:
            Customer(
                id="",
                created_at=datetime(2024, 1, 1),
                given_name="x" * 300,
                addresses=(BERLIN,),
                default_shipping_address=3,
                locale="xx-YY",
                timezone="Mars/Olympus",
                version=-1,
                metadata={"a": object()},
                tags=frozenset({""}),
            )
        assert paths(info) == {
            "id",
            "created_at",
            "given_name",
            "default_shipping_address",
            "locale",
            "timezone",
            "version",
            "metadata['a']",
            "tags",
        }

    def test_duplicate_contact_points(self) -> None:
        email = EmailAddress.parse("Ada@example.com")
        with pytest.raises(ValidationError, match="other_emails: lists an address twice"):
            Customer(id="c1", created_at=NOW, email=email, other_emails=(EmailAddress.parse("ada@EXAMPLE.com"),))

    def test_updated_before_created(self) -> None:
        with pytest.raises(ValidationError, match="updated_at: is earlier than created_at"):
            Customer(id="c1", created_at=NOW, updated_at=NOW - timedelta(seconds=1))

    def test_repr_hides_personal_data(self) -> None:
        c = Customer(
            id="c1",
            created_at=NOW,
            given_name="Ada",
            family_name="Lovelace",
            email=EmailAddress.parse("ada@example.com"),
        )
        assert "Lovelace" not in repr(c) and "ada@" not in repr(c)

    def test_verification_needs_the_contact_point(self) -> None:
        with pytest.raises(ValidationError) as exc:
            Customer(id="c1", created_at=NOW, email_verified_at=NOW, phone_verified_at=NOW)
        assert paths(exc) == {"email_verified_at", "phone_verified_at"}
        verified = Customer(id="c1", created_at=NOW, email=EmailAddress.parse("a@example.com"), email_verified_at=NOW)
        assert verified.email_verified_at == NOW

    def test_merged_into_another_customer(self) -> None:
        with pytest.raises(ValidationError, match="merged_into: names the customer itself"):
            Customer(id="c1", created_at=NOW, merged_into="c1")
        with pytest.raises(ValidationError, match="merged_into: must be 1 to 128"):
            Customer(id="c1", created_at=NOW, merged_into="no spaces")
        merged = Customer(id="c1", created_at=NOW, given_name="Ada", merged_into="c2", redacted_at=NOW)
        assert isinstance(merged.merged_into, CustomerId)
        assert (
            repr(merged)
            == "Customer(id=CustomerId('c1'), name='A***', registered, redacted, merged into c2, version=0)"
        )

    def test_quiet_hours_need_both_ends(self) -> None:
        with pytest.raises(ValidationError, match="quiet_hours_end"):
            Preferences(quiet_hours_start=time(22))

    def test_company_vat_id(self) -> None:
        with pytest.raises(ValidationError, match="vat_id"):
            Company("com_1", "X", vat_id="123")


def line(line_id: str = "1", qty: int = 2, price: str = "19.99", currency: str = "EUR") -> OrderLine:
    return OrderLine(line_id, "SHOE-42", "Runner", qty, Money(price, currency), {"size": "42"})


class TestOrder:
    def test_totals_are_computed(self) -> None:
        o = Order(
            "o1",
            "c1",
            "EUR",
            (line(), line("2", 1, "5.00")),
            NOW,
            shipping=Money("4.90", "EUR"),
            tax=Money("8.50", "EUR"),
            discount=Money("5", "EUR"),
        )
        assert o.subtotal == Money("44.98", "EUR")
        assert o.total == Money("53.38", "EUR")
        assert o.item_count == 3

    def test_taxes_included(self) -> None:
        o = Order("o1", "c1", "EUR", (line(),), NOW, tax=Money("6.38", "EUR"), taxes_included=True)
        assert o.total == Money("39.98", "EUR")

    def test_given_totals_must_add_up(self) -> None:
        with pytest.raises(ValidationError, match="total: does not equal"):
            Order("o1", "c1", "EUR", (line(),), NOW, total=Money("1", "EUR"))
        with pytest.raises(ValidationError, match="subtotal: does not equal"):
            Order("o1", "c1", "EUR", (line(),), NOW, subtotal=Money("1", "EUR"))

    def test_one_currency(self) -> None:
        with pytest.raises(ValidationError) as info:
            Order("o1", "c1", "EUR", (line(currency="USD"),), NOW, shipping=Money("1", "GBP"))
        assert paths(info) == {"lines[0].unit_price.currency", "shipping.currency"}

    def test_needs_lines_with_unique_ids(self) -> None:
        with pytest.raises(ValidationError, match="lines: must hold at least one line"):
            Order("o1", "c1", "EUR", (), NOW)
        with pytest.raises(ValidationError, match="two lines share an id"):
            Order("o1", "c1", "EUR", (line(), line()), NOW)

    def test_line_checks(self) -> None:
        with pytest.raises(ValidationError) as info:
            OrderLine("", "", "x", 0, Money("-1", "EUR"))
        assert paths(info) == {"id", "sku", "quantity", "unit_price"}

    def test_transitions_follow_the_table(self) -> None:
        o = Order("o1", "c1", "EUR", (line(),), NOW)
        for status in (
            OrderStatus.PAID,
            OrderStatus.PACKED,
            OrderStatus.SHIPPED,
            OrderStatus.OUT_FOR_DELIVERY,
            OrderStatus.DELIVERED,
        ):
            o.transition(status, NOW + timedelta(hours=1))
        assert [h.status for h in o.history][-1] == OrderStatus.DELIVERED
        assert o.updated_at == NOW + timedelta(hours=1)
        with pytest.raises(InvalidTransitionError, match="cannot go from delivered to paid"):
            o.transition("paid", NOW)

    def test_every_disallowed_transition_raises(self) -> None:
        for start, allowed in ORDER_TRANSITIONS.items():
            for target in OrderStatus:
                o = Order("o1", "c1", "EUR", (line(),), NOW, status=start)
                if target in allowed:
                    o.transition(target, NOW)
                    assert o.status == target
                else:
                    with pytest.raises(InvalidTransitionError):
                        o.transition(target, NOW)
                    assert o.status == start

    def test_shipments_and_returns_respect_quantities(self) -> None:
        with pytest.raises(ValidationError) as info:
            Order(
                "o1",
                "c1",
                "EUR",
                (line(qty=2),),
                NOW,
                shipments=(Shipment("s1", "DHL", {"1": 3, "9": 1}),),
                returns=(Return("r1", NOW, (ReturnLine("1", 3, ReturnReason.WRONG_SIZE),)),),
            )
        assert paths(info) == {"shipments", "shipments[0].lines", "returns"}
        with pytest.raises(ValidationError, match="tracking_url"):
            Shipment("s1", "DHL", {"1": 1}, tracking_url="ftp://x")

    def test_declined_returns_do_not_count(self) -> None:
        o = Order(
            "o1",
            "c1",
            "EUR",
            (line(qty=1),),
            NOW,
            returns=(
                Return("r1", NOW, (ReturnLine("1", 1, ReturnReason.WRONG_SIZE),), status=ReturnStatus.DECLINED),
                Return("r2", NOW, (ReturnLine("1", 1, ReturnReason.DAMAGED),)),
            ),
        )
        assert o.returned_quantities() == {"1": 1}

    def test_latest_tracking_event_is_by_time_not_arrival(self) -> None:
        late = TrackingEvent(
            TrackingStatus.IN_TRANSIT, NOW + timedelta(days=1), estimated_delivery_at=NOW + timedelta(days=3)
        )
        early = TrackingEvent(TrackingStatus.CONFIRMED, NOW)
        s = Shipment("s1", "DHL", {"1": 1}, events=(late, early))
        assert s.latest_event == late
        assert s.estimated_delivery_at == NOW + timedelta(days=3)


class TestCommunication:
    def test_suppressed_needs_a_reason(self) -> None:
        with pytest.raises(ValidationError, match="suppression_reason: is required"):
            CommunicationEvent(
                "m1", "c1", Channel.EMAIL, Topic.RE_ENGAGEMENT, NOW, status=CommunicationStatus.SUPPRESSED
            )
        event = CommunicationEvent(
            "m1",
            "c1",
            Channel.EMAIL,
            Topic.RE_ENGAGEMENT,
            NOW,
            status=CommunicationStatus.SUPPRESSED,
            suppression_reason="no marketing consent",
        )
        assert event.updated_at == NOW
        with pytest.raises(ValidationError, match="only for suppressed"):
            CommunicationEvent("m1", "c1", Channel.EMAIL, Topic.SUPPORT, NOW, suppression_reason="x")

    def test_marketing_topics(self) -> None:
        assert Topic.REVIEW_REQUEST.is_marketing and not Topic.ORDER_SHIPPED.is_marketing

    def test_activity_needs_someone(self) -> None:
        with pytest.raises(ValidationError, match="either customer_id or anonymous_id"):
            ActivityEvent("a1", "Product Viewed", NOW)
        with pytest.raises(ValidationError, match="event: must be a name"):
            ActivityEvent("a1", "<script>", NOW, anonymous_id="x")
        assert ActivityEvent("a1", "Cart Abandoned", NOW, customer_id="c1").customer_id == "c1"


class TestAssignedIds:
    """Assignments store what they are given; validate(), which every store runs, checks ids and types them."""

    def test_a_customer_types_assigned_ids_when_checked(self) -> None:
        customer = Customer(id="c1", created_at=NOW)
        customer.id, customer.merged_into = "c2", "c3"  # type: ignore[assignment]
        assert type(customer.id) is str
        customer.validate()
        assert type(customer.id) is CustomerId and type(customer.merged_into) is CustomerId
        assert customer == Customer(id="c2", created_at=NOW, merged_into="c3")
        customer.id = "not an id"  # type: ignore[assignment]
        with pytest.raises(ValidationError, match="id: must be 1 to 128"):
            customer.validate()

    def test_orders_and_events_type_assigned_ids_when_checked(self) -> None:
        order = Order("o1", "c1", "EUR", (line(),), NOW)
        order.id, order.customer_id = "o2", "c2"  # type: ignore[assignment]
        order.validate()
        assert (type(order.id).__name__, type(order.customer_id)) == ("OrderId", CustomerId)
        message = CommunicationEvent("m1", "c1", Channel.EMAIL, Topic.SUPPORT, NOW)
        message.customer_id, message.order_id = "c2", "o2"  # type: ignore[assignment]
        message.validate()
        assert (type(message.customer_id), type(message.order_id).__name__) == (CustomerId, "OrderId")
        activity = ActivityEvent("a1", "Cart Abandoned", NOW, customer_id="c1")
        activity.customer_id = "c2"  # type: ignore[assignment]
        activity.validate()
        assert type(activity.customer_id) is CustomerId
