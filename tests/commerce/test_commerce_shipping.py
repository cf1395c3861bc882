"""Shipping options by customer: every cart to a usable address gets an option, the same input the same offer,
money in the cart's currency, reasons free of personal data; an address flagged invalid gets none."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from custdata import Address, Customer, Money, Order, OrderLine, ValidationError
from custdata.analytics import RfmSegment, rfm
from custdata.commerce import (
    EXPRESS,
    STANDARD,
    Cart,
    CartLine,
    InvalidAddresses,
    ShippingCustomer,
    ShippingLookup,
    ShippingPolicy,
)
from custdata.lifecycle import FlagAddressInvalid, apply
from custdata.storage.memory import MemoryStore

CURRENCIES = ("EUR", "JPY", "USD")
POLICY = ShippingPolicy(
    standard=[Money("4.90", "EUR"), Money("700", "JPY"), Money("5.50", "USD")],
    express=[Money("9.90", "EUR"), Money("12.00", "USD")],
    free_standard_from=[Money("50.00", "EUR"), Money("8000", "JPY")],
    free_express_segments={"Champions", "Loyal"},
    free_express_from=[Money("1000.00", "EUR")],
)
#: Personal text: distinctive enough never to occur in a sentence of the policy by chance.
SECRET = st.text("bcdfghjklmnpqrstvwxz", min_size=6, max_size=12).map(lambda t: "Qx" + t)


@st.composite
def destinations(draw: st.DrawFn) -> Address:
    country = draw(st.sampled_from(["DE", "GB", "FR"]))
    postal = {"DE": "10115", "GB": "SW1A 2AA", "FR": "75001"}[country]
    return Address(
        first_name=draw(SECRET),
        last_name=draw(SECRET),
        street_address_1=draw(SECRET) + " 7",
        city=draw(SECRET),
        postal_code=postal,
        country_code=country,
    )


@st.composite
def carts(draw: st.DrawFn) -> Cart:
    currency = draw(st.sampled_from(CURRENCIES))
    places = 0 if currency == "JPY" else 2
    lines = [
        CartLine(
            draw(st.sampled_from(["TEA", "MUG", "Kaffee"])),
            draw(st.integers(1, 5)),
            Money(draw(st.decimals(0, 200, places=places)), currency),
        )
        for _ in range(draw(st.integers(1, 4)))
    ]
    return Cart(lines, draw(destinations()), address_flagged_invalid=draw(st.booleans()))


CUSTOMERS = st.builds(
    ShippingCustomer,
    segment=st.none() | st.sampled_from([s.value for s in RfmSegment]) | SECRET,
    value=st.none()
    | st.builds(Money, st.decimals(0, 5000, places=2), st.sampled_from(["EUR", "USD"]))
    | st.builds(Money, st.integers(0, 10**6), st.just("JPY")),
)


@given(customer=CUSTOMERS, cart=carts(), order=st.randoms(use_true_random=False))
def test_every_usable_cart_gets_an_option_in_its_currency_the_same_way_every_time(
    customer: ShippingCustomer, cart: Cart, order: object
) -> None:
    offer = POLICY.options(customer, cart)
    if cart.address_flagged_invalid:
        assert offer.options == ()
        assert offer.reason
    else:
        assert offer.codes()[0] == STANDARD
        assert set(offer.codes()) <= {STANDARD, EXPRESS}
    for option in offer.options:
        assert option.price.currency == cart.currency
        assert option.price.amount >= 0
    lines = list(cart.lines)
    order.shuffle(lines)  # type: ignore[attr-defined]
    assert POLICY.options(customer, attrs.evolve(cart, lines=tuple(lines))) == offer
    assert POLICY.options(attrs.evolve(customer), attrs.evolve(cart)) == offer


@given(customer=CUSTOMERS, cart=carts())
def test_reasons_never_quote_personal_data(customer: ShippingCustomer, cart: Cart) -> None:
    offer = POLICY.options(customer, cart)
    address = cart.destination
    personal = [address.first_name, address.last_name, address.street_address_1, address.city, address.postal_code]
    if customer.segment is not None and customer.segment not in POLICY.free_express_segments:
        personal.append(customer.segment)
    settings = {
        str(m.amount)
        for prices in (POLICY.standard, POLICY.express, POLICY.free_standard_from, POLICY.free_express_from)
        for m in prices.values()
    }
    if customer.value is not None and customer.value.amount and str(customer.value.amount) not in settings:
        personal.append(str(customer.value.amount))  # a value the policy itself does not quote
    reasons = [offer.reason or "", *(o.reason for o in offer.options)]
    for reason in reasons:
        for text in personal:
            assert text.casefold() not in reason.casefold()


def _cart(amount: str, country: str = "DE", flagged: bool = False) -> Cart:
    destination = Address(
        last_name="Doe", street_address_1="Main 1", city="Berlin", postal_code="10115", country_code=country
    )
    if country == "FR":
        destination = attrs.evolve(destination, postal_code="75001", city="PARIS", country_code="FR")
    return Cart([CartLine("TEA", 1, Money(amount, "EUR"))], destination, address_flagged_invalid=flagged)


def test_the_rules_in_order() -> None:
    anyone = ShippingCustomer()
    plain = POLICY.options(anyone, _cart("20.00"))
    assert [(o.code, o.price) for o in plain.options] == [
        (STANDARD, Money("4.90", "EUR")),
        (EXPRESS, Money("9.90", "EUR")),
    ]
    assert POLICY.options(anyone, _cart("50.00")).options[0].price == Money("0.00", "EUR")
    champion = POLICY.options(ShippingCustomer(segment="Champions"), _cart("20.00")).options[1]
    assert champion.price == Money("0.00", "EUR") and "Champions" in champion.reason
    valued = POLICY.options(ShippingCustomer(value=Money("1000.00", "EUR")), _cart("20.00")).options[1]
    assert valued.price == Money("0.00", "EUR")
    below = POLICY.options(ShippingCustomer(value=Money("999.99", "EUR")), _cart("20.00")).options[1]
    assert below.price == Money("9.90", "EUR")
    other_currency = POLICY.options(ShippingCustomer(value=Money("5000.00", "USD")), _cart("20.00")).options[1]
    assert other_currency.price == Money("9.90", "EUR")  # no threshold in USD: no free express
    domestic = attrs.evolve(POLICY, express_countries={"DE"})
    assert domestic.options(anyone, _cart("20.00", "FR")).codes() == (STANDARD,)
    assert POLICY.options(ShippingCustomer(segment="Champions"), _cart("20.00", flagged=True)).options == ()


def test_bad_input_is_named() -> None:
    with pytest.raises(ValidationError) as caught:
        Cart(
            [CartLine("A", 1, Money("1.00", "EUR")), CartLine("B", 1, Money("1.00", "USD"))], _cart("1.00").destination
        )
    assert caught.value.problems[0].path == "lines[0].unit_price"
    with pytest.raises(ValidationError) as caught:
        Cart([], _cart("1.00").destination)
    assert caught.value.problems[0].path == "lines"
    with pytest.raises(ValidationError) as caught:
        ShippingPolicy(standard={"EUR": Money("1.00", "USD")})
    assert caught.value.problems[0].path == "standard['EUR']"
    with pytest.raises(ValidationError) as caught:
        ShippingPolicy(express_countries="DE")
    assert caught.value.problems[0].path == "express_countries"
    chf = Cart([CartLine("A", 1, Money("1.00", "CHF"))], _cart("1.00").destination)
    with pytest.raises(ValidationError) as caught:
        POLICY.options(ShippingCustomer(), chf)
    assert caught.value.problems[0].path == "cart.currency"


T0 = datetime(2024, 1, 1, tzinfo=UTC)


def test_an_address_flagged_invalid_by_the_order_lifecycle_gets_no_option() -> None:
    cart = _cart("20.00")
    order = Order(
        "o1",
        "cus_a",
        "EUR",
        (OrderLine("l", "TEA", "Tea", 1, Money("20.00", "EUR")),),
        T0,
        shipping_address=cart.destination,
    )
    flags = InvalidAddresses()
    flags.observe(apply(order, FlagAddressInvalid(T0 + timedelta(hours=1))), {"o1": order})
    assert cart.destination in flags
    moved = attrs.evolve(cart.destination, first_name="Other")  # the same place, another recipient
    assert moved in flags
    elsewhere = attrs.evolve(cart.destination, street_address_1="Main 2")
    assert elsewhere not in flags
    offer = POLICY.options(ShippingCustomer(), attrs.evolve(cart, address_flagged_invalid=cart.destination in flags))
    assert offer.options == ()


def test_the_lookup_reads_segments_through_merges_and_not_for_erased_customers() -> None:
    store = MemoryStore()
    orders = [
        Order(
            f"o{c}{i}",
            f"cus_{c}",
            "EUR",
            (OrderLine("l", "TEA", "Tea", 1, Money(str(10 * n), "EUR")),),
            T0 + timedelta(days=i),
        )
        for n, c in enumerate("abcde", start=1)
        for i in range(n)
    ]
    with store.unit_of_work() as uow:
        uow.customers.add_many(Customer(f"cus_{c}", T0 - timedelta(days=1)) for c in "abcdef")
        uow.orders.add_many(orders)
        uow.customers.update(attrs.evolve(uow.customers.get("cus_f"), merged_into="cus_e"))
        uow.customers.update(attrs.evolve(uow.customers.get("cus_a"), redacted_at=T0))
        uow.commit()
    as_of = T0 + timedelta(days=10)
    table = {str(s.customer_id): s for s in rfm(orders, as_of=as_of, currency="EUR")}
    lookup = ShippingLookup(store, as_of=as_of, currency="EUR", values={"cus_d": Money("2000.00", "EUR")})
    assert lookup.customer("cus_e") == ShippingCustomer(table["cus_e"].segment.value, table["cus_e"].monetary)
    assert lookup.customer("cus_f") == lookup.customer("cus_e")
    assert lookup.customer("cus_d").value == Money("2000.00", "EUR")
    assert lookup.customer("cus_a") == ShippingCustomer()
    assert lookup.customer("cus_nobody") == ShippingCustomer()
    assert table["cus_e"].monetary.amount == Decimal("250.00")
