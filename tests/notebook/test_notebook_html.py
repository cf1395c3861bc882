"""HTML for notebooks: customers, orders, messages, activity, 360 views and analytics results render with
personal data masked unless revealed, and every value escaped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import attrs
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from jupyter_display import jupyter_html

from custdata import (
    ActivityEvent,
    Address,
    Channel,
    CommunicationEvent,
    Customer,
    Direction,
    EmailAddress,
    Money,
    Order,
    OrderLine,
    OrderStatus,
    PhoneNumber,
    Return,
    ReturnLine,
    ReturnReason,
    Shipment,
    Topic,
    TrackingEvent,
    TrackingStatus,
    ValidationError,
)
from custdata.analytics import estimate_impact, historic_clv, nps, rfm
from custdata.analytics._results import NOT_IN_RECORDS
from custdata.customer360 import customer_360
from custdata.notebook import Html, mask_email, mask_phone, pii_revealed, result_html, reveal_pii, show, to_html
from custdata.storage import open_store
from custdata.testing import strategies as cst

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
HOSTILE = '<script>alert("x")</script>'
TAGS = {"style", "div", "h3", "h4", "table", "thead", "tbody", "tr", "th", "td", "p", "pre"}


class Markup(HTMLParser):
    """Collects the tags and the text of a rendering."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.attributes: list[tuple[str, str | None]] = []
        self.text: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes.extend(attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def only_our_markup(html: str) -> Markup:
    markup = Markup(html)
    assert markup.tags <= TAGS, markup.tags - TAGS
    assert set(markup.attributes) <= {("class", "custdata"), ("class", "muted")}
    return markup


def jane() -> Customer:
    return Customer(
        "cus_jane",
        T0,
        given_name="Jane",
        family_name="Roe",
        email=EmailAddress.parse("jane.roe@example.com"),
        phone=PhoneNumber.parse("+4930123456"),
        addresses=(
            Address(
                first_name="Jane",
                last_name="Roe",
                street_address_1="Geheimweg 7",
                city="Berlin",
                postal_code="10115",
                country_code="DE",
            ),
        ),
        default_shipping_address=0,
        tags=frozenset({"vip"}),
    )


def an_order(name: str = "Trail shoe") -> Order:
    line = OrderLine("l1", "SHOE-42", name, 2, Money("60.00", "EUR"), {"size": "42"})
    return Order(
        "ord_1",
        "cus_jane",
        "EUR",
        (line,),
        T0,
        status=OrderStatus.SHIPPED,
        shipping_address=jane().addresses[0],
        shipments=(
            Shipment(
                "shp_1", "DHL", {"l1": 2}, tracking_number="JD01", events=(TrackingEvent(TrackingStatus.DELAYED, T0),)
            ),
        ),
        returns=(Return("ret_1", T0 + timedelta(days=3), (ReturnLine("l1", 1, ReturnReason.WRONG_SIZE),)),),
    )


def test_a_customer_is_masked_unless_revealed() -> None:
    customer = jane()
    masked = jupyter_html(customer)
    assert masked == to_html(customer) == str(show(customer))
    for secret in ("Jane", "Roe", "jane.roe", "+4930123456", "Geheimweg"):
        assert secret not in masked
    assert "J***" in masked and "j***@example.com" in masked and "+49***56" in masked and "G***" in masked
    assert "Berlin" in masked.upper() or "BERLIN" in masked
    revealed = str(show(customer, reveal=True))
    for secret in ("Jane Roe", "jane.roe@example.com", "+4930123456", "Geheimweg 7"):
        assert secret in revealed
    only_our_markup(masked)
    only_our_markup(revealed)


def test_reveal_pii_is_a_context_that_ends_with_its_block() -> None:
    customer = jane()
    assert not pii_revealed()
    with reveal_pii():
        assert pii_revealed()
        assert "Jane Roe" in jupyter_html(customer)
        with reveal_pii(False):
            assert "Jane Roe" not in jupyter_html(customer)
    assert not pii_revealed()
    assert "Jane Roe" not in jupyter_html(customer)


def test_an_order_shows_lines_shipments_and_returns_with_the_address_masked() -> None:
    order = an_order()
    html = jupyter_html(order)
    markup = only_our_markup(html)
    text = " ".join(markup.text)
    for shown in (
        "ord_1",
        "SHOE-42",
        "Trail shoe",
        "size: 42",
        "120.00 EUR",
        "J***",
        "delayed",
        "ret_1",
        "l1 x1 (wrong_size)",
    ):
        assert shown in text
    assert "Geheimweg" not in html and "Jane" not in html and "JD01" not in html  # tracking numbers are personal
    assert "Geheimweg 7" in str(show(order, reveal=True)) and "JD01" in str(show(order, reveal=True))


def test_message_subject_and_body_and_activity_properties_only_when_revealed() -> None:
    message = CommunicationEvent(
        "msg_1",
        "cus_jane",
        Channel.EMAIL,
        Topic.SUPPORT,
        T0,
        direction=Direction.INBOUND,
        subject="Jane here",
        body=f"Where is my parcel? {HOSTILE}",
    )
    masked = jupyter_html(message)
    assert "Jane" not in masked and "parcel" not in masked and "(hidden)" in masked
    revealed = str(show(message, reveal=True))
    assert "Jane here" in revealed and "&lt;script&gt;" in revealed and HOSTILE not in revealed
    only_our_markup(revealed)
    event = ActivityEvent("act_1", "Product Viewed", T0, "cus_jane", properties={"email": "jane@example.com"})
    assert "jane@" not in jupyter_html(event) and "email" in jupyter_html(event)
    assert "jane@example.com" in str(show(event, reveal=True))


def test_hostile_values_are_escaped_everywhere() -> None:
    customer = attrs.evolve(jane(), given_name=HOSTILE, display_name=None, tags=frozenset({"a<b>"}))
    order = an_order(name=HOSTILE)
    for obj in (customer, order):
        for reveal in (False, True):
            html = str(show(obj, reveal=reveal))
            assert "<script" not in html and "<b>" not in html
            only_our_markup(html)
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in str(show(order))


@given(st.text(st.sampled_from("<>&\"' /=abc\u00e9\u202e"), min_size=1, max_size=40))
def test_any_text_comes_out_as_text(value: str) -> None:
    try:
        line = OrderLine("l1", "SKU-1", value, 1, Money("1", "EUR"), {"colour": value})
    except ValidationError:
        assume(False)
    order = Order("ord_1", "cus_1", "EUR", (line,), T0)
    markup = only_our_markup(jupyter_html(order))
    assert line.product_name in markup.text
    assert f"colour: {line.variant['colour']}" in markup.text


def test_a_customer_360_view_renders_figures_issues_and_the_timeline(tmp_path: object) -> None:
    with open_store("memory://") as store:
        with store.unit_of_work() as uow:
            uow.customers.add(jane())
            uow.orders.add(an_order())
            uow.commit()
        view = customer_360(store, "cus_jane", now=T0 + timedelta(days=10))
    html = jupyter_html(view)
    markup = only_our_markup(html)
    text = " ".join(markup.text)
    assert "Open issues (2)" in text and "late_delivery" in text and "open_return" in text
    assert "50.0% (1 of 2 items)" in text and "120.00 EUR" in text
    assert "Jane" not in html and "jane.roe" not in html
    assert "Jane Roe" in str(show(view, reveal=True))
    # newest first, cut to max_rows with a note
    short = str(show(view, max_rows=2))
    assert f"2 of {len(view.timeline)} rows shown" in short


def test_analytics_results_render_as_tables() -> None:
    orders = [
        Order(
            f"ord_{i}",
            f"cus_{i % 7}",
            "EUR",
            (OrderLine("l", "S", "P", 1, Money(i + 1, "EUR")),),
            T0 + timedelta(days=i),
        )
        for i in range(30)
    ]
    table = rfm(orders, as_of=T0 + timedelta(days=40))
    html = result_html(table)
    markup = only_our_markup(html)
    assert html.count("<tr>") == 2 + 1 + 7  # caption rows (as_of, currency) + header + 7 customers
    assert "as_of" in markup.text and "segment" in markup.text and "7 rows" in " ".join(markup.text)
    cut = result_html(historic_clv(orders), max_rows=3)
    assert cut.count("<tr>") == 1 + 3 and "3 of 7 rows shown" in cut
    single = str(show(nps([10, 9, 3])))
    assert "<th>score</th>" in single and "<th>promoters</th>" in single
    impact = estimate_impact(
        customers_per_month=100,
        average_order_value=Money("50", "EUR"),
        churn_rate="0.05",
        gross_margin="0.4",
        support_tickets_per_month=30,
        cost_per_ticket=Money("5", "EUR"),
        churn_reduction="0.01",
    )
    steps = result_html(impact)
    assert all(f"<td>{step.name}</td>" in steps for step in impact.rows)
    assert "Table" not in result_html(object()) and "&lt;object object" in result_html(object())


def test_personal_fields_of_any_attrs_result_are_masked() -> None:
    @attrs.frozen
    class Row:
        customer_id: str
        email: str
        note: str = attrs.field(metadata=NOT_IN_RECORDS)
        spent: Money

    @attrs.frozen
    class Result:
        rows: tuple[Row, ...]

    result = Result((Row("cus_1", "ann@example.com", "Ann's birthday", Money("5", "EUR")),))
    masked = result_html(result)
    assert "cus_1" in masked and "5.00 EUR" in masked and "ann@" not in masked and "birthday" not in masked
    revealed = result_html(result, reveal=True)
    assert "ann@example.com" in revealed and "Ann&#x27;s birthday" in revealed


def test_mask_helpers() -> None:
    assert mask_email("jane@example.com") == "j***@example.com"
    assert mask_email("no-at-sign") == "n***"
    assert mask_phone("+4930123456") == "+49***56" and mask_phone("+1") == "***"
    assert repr(show(jane())).startswith("Html(") and "Jane" not in repr(show(jane(), reveal=True))
    assert isinstance(show(jane()), Html) and show(jane())._repr_html_() == str(show(jane()))


@pytest.mark.parametrize("obj", [jane(), an_order()])
def test_repr_stays_free_of_personal_data(obj: object) -> None:
    assert "Jane" not in repr(obj) and "Geheimweg" not in repr(obj)


@settings(max_examples=25)
@given(cst.customers())
def test_no_generated_customer_shows_contact_points_or_streets_unless_revealed(customer: Customer) -> None:
    masked = only_our_markup(jupyter_html(customer))
    text = "\n".join(masked.text)
    for email in customer.emails:
        assert email.value not in text
    for phone in customer.phones:
        assert phone.e164 not in text
    # values shown on purpose (tags, company, city, ...) may happen to equal a generated name: those prove nothing
    public = {*customer.tags, *customer.groups, customer.company.company.name if customer.company else ""}
    for a in customer.addresses:
        public |= {a.company_name, a.city, a.city_area, a.postal_code, a.country_area}
    parts = {part for cell in masked.text for part in cell.split(", ")}
    personal = [customer.given_name, customer.family_name, customer.display_name, customer.name]
    for a in customer.addresses:
        personal += [a.first_name, a.last_name, a.street_address_1, a.street_address_2]
    for value in personal:
        if value and len(value) >= 2 and value not in public:
            assert value not in parts
    revealed = "\n".join(only_our_markup(str(show(customer, reveal=True))).text)
    assert all(email.value in revealed for email in customer.emails)
    assert all(phone.e164 in revealed for phone in customer.phones)


def test_a_page_from_a_query_renders_one_row_per_record(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path / 'shop.db'}") as store:
        with store.unit_of_work() as uow:
            uow.customers.add(jane())
            uow.customers.add_many(Customer(f"cus_{i}", T0, given_name=f"Person {i}") for i in range(3))
            uow.orders.add(an_order())
            uow.commit()
        with store.unit_of_work() as uow:
            first = uow.customers.search(limit=2)
            everyone = uow.customers.search()
            orders = uow.orders.for_customer("cus_jane")
    html = str(show(first))
    markup = only_our_markup(html)
    assert "Customers (2)" in markup.text and "more on the next page" in html
    assert html.count("<tr>") == 3  # header and two customers
    masked = str(show(everyone))
    assert "Jane" not in masked and "jane.roe" not in masked and "j***@example.com" in masked and "DE" in masked
    assert "next page" not in masked and masked.count("<tr>") == 5
    assert "Jane Roe" in str(show(everyone, reveal=True))
    listed = str(show(list(orders)))
    assert "Orders (1)" in listed and "120.00 EUR" in listed and "shipped" in listed
    message = CommunicationEvent("msg_1", "cus_jane", Channel.SMS, Topic.DELIVERED, T0, subject="Jane")
    event = ActivityEvent("act_1", "Cart Abandoned", T0, "cus_jane", properties={"email": "jane@example.com"})
    assert "Messages (1)" in str(show([message])) and "Jane" not in str(show([message], reveal=True))
    assert "Activity (1)" in str(show((event,))) and "jane@" not in str(show((event,), reveal=True))
    mixed = str(show([message, event]))
    assert "Messages" not in mixed and "msg_1" in mixed  # not one kind: shown as escaped text


def test_long_collections_in_a_cell_are_cut_with_a_count() -> None:
    @attrs.frozen
    class Members:
        name: str
        customer_ids: frozenset[str]

    html = result_html(Members("VIP", frozenset(f"cus_{i:03d}" for i in range(500))))
    assert "cus_019" in html and "cus_020" not in html and "... (500 in all)" in html
    assert "cus_001, cus_002" in result_html(Members("few", frozenset({"cus_002", "cus_001"})))
